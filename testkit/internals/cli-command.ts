/**
 * How to start the streamtx CLI again in a child process (the detached
 * `kafka up` server, chaos workers), in the form this module itself runs in:
 * the compiled dist/cli.js with plain node in an installed package, or cli.ts
 * through tsx in a checkout, where development and the tests run the sources.
 */
import { fileURLToPath } from 'node:url';

export interface CliCommand {
  /** The node executable. */
  command: string;
  args: string[];
}

const fromSources = import.meta.url.endsWith('.ts');

/** `node [--import <tsx>] <cli> ...cliArgs`, independent of the current directory. */
export function cliCommand(...cliArgs: string[]): CliCommand {
  const cli = fileURLToPath(
    new URL(fromSources ? '../../cli.ts' : '../../cli.js', import.meta.url),
  );
  // A bare `--import tsx` resolves tsx from the child's working directory, which
  // need not be this checkout; the resolved URL does not depend on it.
  const loader = fromSources ? ['--import', import.meta.resolve('tsx')] : [];
  return { command: process.execPath, args: [...loader, cli, ...cliArgs] };
}

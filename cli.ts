/**
 * The streamtx command line (bin/streamtx.js starts it: the compiled
 * dist/cli.js in an installed package, this file through tsx in a checkout):
 *   streamtx run <app-module>                                      one worker of an app
 *   streamtx kafka up|status|kill|restart|stop|pause|resume|down   a local Apache Kafka cluster
 *   streamtx kafka topic create|list                               topics on that cluster
 *   streamtx chaos list|run                                        the chaos harness
 * `--help` and `--version` work on every command.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MissingToolError } from './testkit/kafka-install.ts';
import { RUN_USAGE, runCommand } from './framework/runtime/worker-cli.ts';
import { UsageError, kafkaCommand, kafkaUsage } from './testkit/kafka-cli.ts';
import { CHAOS_USAGE, chaosCommand } from './chaos/cli.ts';

const USAGE = `usage: streamtx <command> [--help] [--version]
  run <app-module>   run one worker of a streams app (the module exports topology and options)
  kafka ...          run a local Apache Kafka cluster and its topics (streamtx kafka --help)
  chaos ...          fault-inject a running app and verify exactly-once (streamtx chaos --help)`;

/** The version in streamtx's own package.json (beside cli.ts, or one level above dist/). */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'streamtx' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

function helpFor(words: string[]): string {
  const [area, command] = words;
  switch (area) {
    case 'run':
      return RUN_USAGE;
    case 'kafka':
      return kafkaUsage(command);
    case 'chaos':
      return CHAOS_USAGE;
    default:
      return USAGE;
  }
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);

/**
 * Makes `import()` of the user's .ts app module work. From the sources the CLI
 * already runs under tsx; compiled, it registers the user's tsx (an optional
 * peer dependency), or relies on Node's own type stripping
 * (`process.features.typescript`, Node 22.18+/23.6+) when tsx is not there.
 */
async function enableTypeScript(modulePath: string): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return;
  const from = [resolve(modulePath), join(process.cwd(), 'package.json'), import.meta.url];
  for (const parent of from) {
    let loader: string;
    try {
      loader = createRequire(parent).resolve('tsx');
    } catch {
      continue;
    }
    // tsx's main entry is what `node --import tsx` loads: it registers both its ESM and its
    // CommonJS hooks. tsx/esm/api's register() alone leaves a .ts file of a CommonJS-type
    // package to Node's CommonJS loader, which cannot parse it.
    await import(pathToFileURL(loader).href);
    return;
  }
  if ((process.features as { typescript?: unknown }).typescript) return;
  throw new UsageError(
    `${modulePath} is TypeScript, which Node.js ${process.version} does not run by itself, ` +
      `and tsx was not found from ${dirname(resolve(modulePath))}. Either install tsx in your ` +
      `project ('npm install --save-dev tsx'; streamtx run then loads .ts modules through it), ` +
      `or compile the module and run the .js file.`,
  );
}

async function main(argv: string[]): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpFor(words) + '\n');
    return 0;
  }
  const v = argv.findIndex((a) => a === '--version' || a.startsWith('--version='));
  if (v >= 0) {
    const next = argv[v + 1];
    // `kafka up --version 4.4.0` meant the broker version before 0.1.0's --kafka-version.
    if (
      argv[v]!.includes('=') ||
      (next !== undefined && !next.startsWith('-') && argv[0] === 'kafka')
    )
      throw new UsageError(
        `--version prints streamtx's version and takes no value; the broker version is --kafka-version V`,
      );
    process.stdout.write(`streamtx ${version()}\n`);
    return 0;
  }
  const [area, ...rest] = argv;
  switch (area) {
    case 'run': {
      const [modulePath] = rest;
      if (
        modulePath !== undefined &&
        TYPESCRIPT.has(extname(modulePath)) &&
        existsSync(resolve(modulePath))
      )
        await enableTypeScript(modulePath);
      return runCommand(rest);
    }
    case 'kafka':
      return kafkaCommand(rest);
    case 'chaos':
      return chaosCommand(rest);
    case undefined:
    case 'help':
      process.stdout.write(USAGE + '\n');
      return 0;
    case 'version':
      process.stdout.write(`streamtx ${version()}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command '${area}'\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof MissingToolError || err instanceof UsageError) {
      process.stderr.write(`streamtx: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `streamtx: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);

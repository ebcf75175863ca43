/**
 * `npm run build`: the package's compiled form in dist/ — ESM JavaScript,
 * declarations and source maps from tsconfig.build.json — plus the files the
 * compiled modules read next to themselves. dist/ is emptied first, so a
 * deleted source never leaves a stale module in the tarball.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

/** Non-TypeScript files a compiled module opens by a path relative to itself. */
const ASSETS = ['testkit/pom.xml']; // testkit/kafka-install.ts: the Maven resolution of the broker jars

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);
for (const asset of ASSETS) copyFileSync(join(root, asset), join(dist, asset));

// rewriteRelativeImportExtensions rewrites only static specifiers it can see; a
// `.ts` path left in the JavaScript would fail in an installed package.
const leftovers: string[] = [];
for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.js')) continue;
  const text = readFileSync(join(dist, file), 'utf8');
  // Statement starts only (`import`, `export`, the `} from` of a multi-line import): the
  // doc comments' examples may name .ts files.
  const specifiers =
    /^(?:import|export|\})[^\n]*?['"](\.{1,2}\/[^'"\n]+\.ts)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"\n]+\.ts)['"]\s*\)/gm;
  for (const m of text.matchAll(specifiers))
    leftovers.push(`${relative(root, join(dist, file))}: ${m[1] ?? m[2]}`);
}
if (leftovers.length > 0) {
  process.stderr.write(`build: .ts specifiers left in the JavaScript:\n${leftovers.join('\n')}\n`);
  process.exit(1);
}

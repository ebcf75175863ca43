#!/usr/bin/env node
// The `streamtx` command. An installed package runs the compiled CLI,
// dist/cli.js, with plain node. In a checkout of the repository, where cli.ts
// sits beside dist/ and tsx is installed, it runs the TypeScript sources
// through tsx instead, as development and the tests do, so a stale dist/ never
// answers for the code being edited.
import { existsSync } from 'node:fs';

const sources = new URL('../cli.ts', import.meta.url);
const compiled = new URL('../dist/cli.js', import.meta.url);
const tsx = existsSync(sources) ? await import('tsx/esm/api').catch(() => undefined) : undefined;
if (tsx) {
  tsx.register();
  await import(sources.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write(
    "streamtx: dist/cli.js is missing: in a checkout, run 'npm install' (tsx) or 'npm run build'\n",
  );
  process.exitCode = 1;
}

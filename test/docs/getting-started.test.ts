// docs/getting-started.md, run as written: its shell blocks in order as one bash script, its
// files written where their first line says, in a fresh directory outside the repository.
// Only the two install lines are replaced — by an offline install of the packed tarball and
// links to this repository's dev tools (test/support/packed-project.ts) — so the page's app,
// its driver test (`npm test`), `tsc`, and three workers on a local cluster with one killed
// mid-stream are what a reader gets.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import {
  buildAndPack,
  installPacked,
  linkTool,
  output,
  repo,
  run,
  userEnv,
} from '../support/packed-project.ts';

const page = readFileSync(join(repo, 'docs', 'getting-started.md'), 'utf8');
const INSTALL = 'npm install streamtx';
const INSTALL_DEV = 'npm install --save-dev tap tsx typescript@5 @types/node';

interface Block {
  lang: string;
  body: string;
}

const blocks: Block[] = [...page.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
  lang: m[1]!,
  body: m[2]!,
}));

/** The bash that writes a file block, from its `// <path>` first line. */
function writeFile(block: Block): string {
  const path = /^\/\/ (\S+)\n/.exec(block.body)?.[1];
  if (path === undefined) throw new Error(`a ${block.lang} block without a '// <path>' line`);
  if (block.body.includes('STREAMTX_DOC_EOF')) throw new Error('the heredoc marker is in the file');
  return `mkdir -p ${JSON.stringify(dirname(path))}\ncat > ${JSON.stringify(path)} <<'STREAMTX_DOC_EOF'\n${block.body}STREAMTX_DOC_EOF\n`;
}

t.test('the page runs as written', async (t) => {
  const sh = blocks.filter((b) => b.lang === 'sh');
  const first = sh[0]?.body.split('\n') ?? [];
  const made = /^mkdir (\S+) && cd \1$/.exec(first[0] ?? '');
  t.ok(made, 'the first block makes and enters the project directory');
  t.ok(first.includes(INSTALL), `it installs the library: ${INSTALL}`);
  t.ok(first.includes(INSTALL_DEV), `and the dev tools: ${INSTALL_DEV}`);
  if (!made || !first.includes(INSTALL) || !first.includes(INSTALL_DEV)) return;

  const work = mkdtempSync(join(tmpdir(), 'streamtx-getting-started-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const packed = buildAndPack(work);
  const dir = join(work, made[1]!);
  const env = userEnv({ STREAMTX_STATE_DIR: join(work, 'cli-state') });
  mkdirSync(dir);

  // Before the installs: the rest of the first block, in the project directory.
  const before = first.slice(1, first.indexOf(INSTALL)).join('\n');
  const setup = run('bash', ['-euo', 'pipefail', '-c', before], dir, env);
  t.equal(setup.status, 0, setup.status === 0 ? 'npm init and npm pkg set' : output(setup));
  installPacked(dir, packed);
  linkTool(dir, 'tap', { tap: 'dist/esm/run.mjs' });
  linkTool(dir, 'tsx', { tsx: 'dist/cli.mjs' });
  linkTool(dir, 'typescript', { tsc: 'bin/tsc' });
  linkTool(dir, '@types/node');
  linkTool(dir, 'undici-types'); // @types/node's dependency
  const after = first.slice(first.indexOf(INSTALL_DEV) + 1).join('\n');

  // Everything else, in page order, as one script: files where the page puts them, commands
  // as the page gives them (cd and exported variables carry over, as in a reader's shell).
  let script = after + '\n';
  let files = 0;
  for (const block of blocks.slice(blocks.indexOf(sh[0]!) + 1)) {
    if (block.lang === 'sh') script += block.body;
    else if (block.lang === 'ts' || block.lang === 'jsonc') {
      script += writeFile(block);
      files++;
    } else throw new Error(`a \`\`\`${block.lang} block the test does not know how to run`);
  }
  t.ok(files >= 5, `${files} files: tsconfig, the app, its test, the two scripts`);
  t.teardown(() => {
    // A failed run may leave workers and the cluster behind: stop what the page started.
    for (const file of existsSync(dir) ? readdirSync(dir) : [])
      if (/^worker-\d+\.pid$/.test(file)) {
        try {
          process.kill(Number(readFileSync(join(dir, file), 'utf8')), 'SIGKILL');
        } catch {
          // gone already
        }
      }
    run(join(dir, 'node_modules', '.bin', 'streamtx'), ['kafka', 'down'], dir, env);
  });
  const started = Date.now();
  const r = run('bash', ['-euo', 'pipefail', '-c', script], dir, env, 900_000);
  const logs = readdirSync(dir)
    .filter((f) => /^worker-\d+\.log$/.test(f))
    .map((f) => `--- ${f} ---\n${readFileSync(join(dir, f), 'utf8').slice(-3000)}`)
    .join('\n');
  t.equal(r.status, 0, r.status === 0 ? "the page's commands exit 0" : `${output(r)}\n${logs}`);
  t.comment(`the page's commands ran in ${Date.now() - started} ms`);

  const summary = /`(# \{ total: \d+, pass: \d+ \})`/.exec(page)?.[1];
  t.ok(summary, 'the page says what npm test prints');
  if (summary) t.ok(r.stdout.includes(summary), `npm test printed ${summary}`);
  const verdict = /It prints `([^`]+)`/.exec(page)?.[1];
  t.ok(verdict, 'the page says what the check prints');
  if (verdict) t.ok(r.stdout.includes(verdict), `the check printed: ${verdict}`);
  const worker2 = readFileSync(join(dir, 'worker-2.log'), 'utf8');
  t.notMatch(worker2, /streamtx state NOT_RUNNING/, 'worker 2 died without closing');
  for (const n of [1, 3])
    t.match(
      readFileSync(join(dir, `worker-${n}.log`), 'utf8'),
      /streamtx state NOT_RUNNING/,
      `worker ${n} closed cleanly on SIGTERM`,
    );
});

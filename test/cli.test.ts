// The command line's own contract, without a broker: --help and --version on
// every command (none of them starts anything), and usage errors that say what
// is wrong. The kafka commands on a real cluster are in
// test/testkit/kafka-cli.test.ts; the compiled CLI of the installed package,
// `run` of .js and .ts modules included, in test/packaging.test.ts.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { childEnv } from './support/ids.ts';

const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

// A state directory of its own: should a command wrongly act, it acts on nothing shared.
const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-cli-usage-'));
t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));

interface Result {
  code: number;
  out: string;
  err: string;
}

function streamtx(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cli, ...args],
      { env: childEnv({ STREAMTX_STATE_DIR: stateDir }), timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : -1) : 0,
          out: stdout,
          err: stderr,
        }),
    );
  });
}

/** Runs the invocations two at a time (this machine has 2 cores). */
async function all(invocations: string[][]): Promise<Result[]> {
  const results: Result[] = [];
  for (let i = 0; i < invocations.length; i += 2)
    results.push(...(await Promise.all(invocations.slice(i, i + 2).map(streamtx))));
  return results;
}

const HELP: [string[], RegExp][] = [
  [[], /^usage: streamtx <command>/],
  [['run'], /^usage: streamtx run <app-module>/],
  [['kafka'], /^usage: streamtx kafka <command>/],
  [['kafka', 'install'], /^usage: streamtx kafka install \[--kafka-version V\]/],
  [['kafka', 'up'], /^usage: streamtx kafka up \[--brokers N\]/],
  [['kafka', 'status'], /^usage: streamtx kafka <command>[\s\S]*^ {2}status /m],
  [['kafka', 'kill'], /^usage: streamtx kafka <command>[\s\S]*^ {2}kill <id> /m],
  [['kafka', 'restart'], /^ {2}restart <id> /m],
  [['kafka', 'stop'], /^ {2}stop <id> /m],
  [['kafka', 'pause'], /^ {2}pause <id> \| resume <id> /m],
  [['kafka', 'resume'], /^ {2}pause <id> \| resume <id> /m],
  [['kafka', 'down'], /^ {2}down /m],
  [['kafka', 'topic'], /^usage: streamtx kafka topic create <topic> --partitions N/],
  [['kafka', 'topic', 'create'], /^usage: streamtx kafka topic create/],
  [['kafka', 'topic', 'list'], /^ {7}streamtx kafka topic list \[--all\]/m],
  [['chaos'], /^usage: streamtx chaos <command>/],
  [['chaos', 'list'], /^usage: streamtx chaos <command>/],
  [['chaos', 'run'], /^usage: streamtx chaos <command>[\s\S]*--scenario/],
];

t.test('--help on every command prints its usage and runs nothing', async (t) => {
  const results = await all(HELP.map(([words]) => [...words, '--help']));
  HELP.forEach(([words, usage], i) => {
    const r = results[i]!;
    t.equal(r.code, 0, `streamtx ${words.join(' ')} --help: exit 0\n${r.err}`);
    t.match(r.out, usage, `streamtx ${words.join(' ')} --help`);
  });
  // -h and help work too; --help after other arguments wins over them.
  const [short, word, late] = await all([
    ['kafka', 'up', '-h'],
    ['help'],
    ['kafka', 'up', '--brokers', '3', '--help'],
  ]);
  t.match(short!.out, /^usage: streamtx kafka up/);
  t.match(word!.out, /^usage: streamtx <command>/);
  t.match(late!.out, /^usage: streamtx kafka up/, 'kafka up --brokers 3 --help starts no cluster');
});

t.test('--version prints the package version, whatever the command', async (t) => {
  // main() answers --version before it dispatches, so a few commands stand for all.
  const invocations = [
    ['--version'],
    ['version'],
    ['run', '--version'],
    ['run', 'app.js', '--version'],
    ['kafka', 'up', '--version'],
    ['kafka', 'topic', 'create', '--version'],
    ['chaos', 'run', '--version'],
  ];
  const results = await all(invocations);
  results.forEach((r, i) => {
    t.equal(r.code, 0, r.err);
    t.equal(r.out, `streamtx ${version}\n`, `streamtx ${invocations[i]!.join(' ')}`);
  });
});

t.test('usage errors exit 2 and say what is wrong', async (t) => {
  const cases: [string[], RegExp][] = [
    [['bogus'], /unknown command 'bogus'/],
    [['run'], /^usage: streamtx run <app-module>/],
    [['run', 'a.js', 'b.js'], /unexpected argument 'b.js'/],
    [['run', 'no-such-app.js'], /no module at \/\S+\/no-such-app\.js/],
    [['run', '--inspect'], /unexpected argument '--inspect'/],
    [['run', 'app.js', '--health-port', 'x'], /--health-port must be an integer from 0 to 65535/],
    [['run', 'app.js', '--health-port'], /--health-port/],
    [['run', 'app.js', '--health-host', '::'], /--health-host needs --health-port/],
    [['run', 'app.js', '--restore-progress-ms', '0'], /--restore-progress-ms must be an integer/],
    [['kafka', 'up', '--version', '4.4.0'], /--version .* takes no value; .* --kafka-version V/],
    [['kafka', 'install', '--version=4.4.0'], /--kafka-version V/],
    [['kafka', 'up', '--brokers', '9'], /--brokers must be an integer from 1 to 5, got '9'/],
    [['kafka', 'up', 'extra'], /unexpected argument 'extra' for 'streamtx kafka up'/],
    [['kafka', 'up', '--name', 'no spaces'], /--name must be 1-64 letters/],
    [
      ['kafka', 'status', '--partitions', '3'],
      /'streamtx kafka status' takes no --partitions option/,
    ],
    [['kafka', 'kill'], /'streamtx kafka kill' needs a broker id/],
    [['kafka', 'frobnicate'], /unknown kafka command 'frobnicate'/],
    [['kafka', 'topic'], /needs 'create' or 'list'/],
    [['kafka', 'topic', 'create', 'orders'], /needs --partitions N/],
    [
      ['kafka', 'topic', 'create', 'orders', '--partitions', '0'],
      /--partitions must be an integer from 1/,
    ],
    [['kafka', 'topic', 'list', '--rf', '3'], /--rf is for 'topic create'/],
    [['chaos', 'run'], /--scenario is required/],
  ];
  const results = await all(cases.map(([args]) => args));
  cases.forEach(([args, message], i) => {
    const r = results[i]!;
    t.equal(r.code, 2, `streamtx ${args.join(' ')}: exit 2\n${r.out}${r.err}`);
    t.match(r.err, message, `streamtx ${args.join(' ')}`);
  });
});

t.test('run: brokers that cannot be reached are reported once, exit 1', async (t) => {
  const dir = t.testdir({
    'app.ts': `
      import { Serdes, Topology } from ${JSON.stringify(fileURLToPath(new URL('../index.ts', import.meta.url)))};
      export const topology = new Topology()
        .addSource('in', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
        .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'in');
      export const options = { applicationId: 'unreachable', brokers: ['127.0.0.1:1'] };
    `,
  });
  const r = await streamtx(['run', join(dir, 'app.ts')]);
  t.equal(r.code, 1);
  const mentions = r.err.split('\n').filter((line) => /cannot reach|ECONNREFUSED/i.test(line));
  t.equal(mentions.length, 1, `one line says so: ${r.err}`);
  t.match(mentions[0], /Cannot reach the Kafka brokers 127\.0\.0\.1:1/);
});

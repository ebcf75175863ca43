// The package as a user gets it: `npm pack`, the tarball installed into fresh
// plain-JavaScript ESM, CommonJS and strict-TypeScript projects outside the
// repository, offline, and used there with plain node, tsc, tap and npx —
// including `streamtx kafka up`, `topic create/list` and `run` of a .js app on
// a real 1-broker cluster.
//
// Offline and quick: see test/support/packed-project.ts.
import { spawn, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { produceRecords, waitFor, waitForRecords } from '../testkit/index.ts';
import { alive } from './support/cluster.ts';
import { uniqueName } from './support/ids.ts';
import {
  buildAndPack,
  linkTool,
  output,
  packedProject,
  repo,
  repoModules,
  repoPackage as pkg,
  run,
  userEnv,
  type PackageJson,
  type Packed,
} from './support/packed-project.ts';

/** The package's entries (package.json exports). */
const ENTRIES = ['.', './framework', './stores', './dsl', './testkit', './chaos', './otel'];
/** Entries that load without the optional peer @opentelemetry/api. */
const CORE_ENTRIES = ENTRIES.filter((e) => e !== './otel');

/**
 * The module specifiers of a compiled file: static imports and re-exports (at a statement's
 * start, so doc comments' examples do not count), `import()`, `require()` and
 * `require.resolve()` / `import.meta.resolve()` of a string literal.
 */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    // `.resolve(`: require.resolve / import.meta.resolve, not any function named resolve.
    /(?:\bimport|\brequire|\.resolve)\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!);
  return found;
}

const work = mkdtempSync(join(tmpdir(), 'streamtx-packaging-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

let packedInfo: Packed | undefined;
let packedFiles: string[] = [];
let packed: PackageJson = pkg;

t.before(() => {
  const started = Date.now();
  packedInfo = buildAndPack(work);
  packedFiles = packedInfo.files;
  packed = packedInfo.manifest;
  t.comment(`built and packed in ${Date.now() - started} ms: ${packedFiles.length} files`);
});

/** A fresh project with the tarball installed: package.json, then `npm install <tarball>`. */
function project(name: string, manifest: object, files: Record<string, string>): string {
  if (!packedInfo) throw new Error('not packed yet');
  return packedProject(work, packedInfo, name, manifest, files);
}

t.test('the tarball holds the compiled package and nothing else', async (t) => {
  const allowed =
    /^(dist\/.+\.(js|d\.ts|js\.map)|dist\/testkit\/pom\.xml|bin\/streamtx\.js|docs\/[^/]+\.(md|json)|README\.md|LICENSE|package\.json)$/;
  t.same(
    packedFiles.filter((f) => !allowed.test(f)),
    [],
    'no tests, benches, examples, CI files, scripts or TypeScript sources',
  );
  t.ok(packedFiles.includes('LICENSE'), 'LICENSE');
  t.match(
    readFileSync(join(repo, 'LICENSE'), 'utf8'),
    /Apache License\s+Version 2\.0, January 2004/,
  );
  for (const entry of ENTRIES) {
    const target = packed.exports?.[entry];
    t.ok(typeof target === 'object', `exports['${entry}'] has conditions`);
    if (typeof target !== 'object') continue;
    t.same(Object.keys(target), ['types', 'default'], `'${entry}': types first, then default`);
    for (const file of [target.types, target.default])
      t.ok(packedFiles.includes(file.replace(/^\.\//, '')), `${entry} → ${file} is in the tarball`);
  }
  t.same(Object.keys(packed.exports ?? {}).sort(), [...ENTRIES, './package.json'].sort());
  t.ok(packedFiles.includes(packed.bin?.streamtx ?? ''), 'the bin is in the tarball');
});

t.test('dependencies are what the compiled code imports, optional peers aside', async (t) => {
  const imported = new Set<string>();
  for (const file of packedFiles.filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(work, 'unpacked', 'package', file), 'utf8');
    for (const spec of specifiers(text)) {
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      imported.add(
        spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!,
      );
    }
  }
  const dependencies = Object.keys(packed.dependencies ?? {}).sort();
  const peers = Object.keys(packed.peerDependencies ?? {}).sort();
  t.same(dependencies, ['better-sqlite3', 'kafkajs']);
  t.same(peers, ['@opentelemetry/api', 'tsx']);
  for (const peer of peers)
    t.equal(packed.peerDependenciesMeta?.[peer]?.optional, true, `${peer} is an optional peer`);
  t.same(
    [...imported].sort(),
    [...dependencies, ...peers].sort(),
    'imports = dependencies + peers',
  );
});

t.test('no declaration the core entries reach imports @opentelemetry/api', async (t) => {
  // tsc loads every declaration file an import reaches; one naming the optional peer would
  // make a TypeScript user without it fail to compile even without streamtx/otel.
  const root = join(work, 'unpacked', 'package');
  const seen = new Set<string>();
  const peers: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.(ts|js)$/, '.d.ts')));
      else if (spec.startsWith('@opentelemetry/')) peers.push(`${relative(root, file)}: ${spec}`);
    }
  };
  for (const entry of CORE_ENTRIES) {
    const target = packed.exports?.[entry];
    if (typeof target === 'object') visit(join(root, target.types));
  }
  t.ok(seen.size > 20, `${seen.size} declaration files reached`);
  t.same(peers, []);
});

t.test('a plain-JavaScript ESM project', async (t) => {
  const dir = project(
    'esm-project',
    { type: 'module' },
    {
      'driver.test.js': DRIVER_TEST_ESM,
      'app.js': RUN_APP_JS,
      'entries.js': `
const loaded = [];
for (const entry of ${JSON.stringify(CORE_ENTRIES)})
  loaded.push(Object.keys(await import(entry === '.' ? 'streamtx' : 'streamtx' + entry.slice(1))).length);
let otel = 'loaded';
try { await import('streamtx/otel'); } catch (err) { otel = err.code + ' ' + err.message; }
console.log(JSON.stringify({ loaded, otel }));
`,
      'app.ts': 'export const topology: unknown = undefined;\n',
    },
  );

  t.test('runs a TopologyTestDriver test with plain node', async (t) => {
    const r = run(process.execPath, ['driver.test.js'], dir);
    t.equal(r.status, 0, output(r));
    t.equal(r.stdout.trim(), 'driver test passed');
  });

  t.test('every entry but streamtx/otel loads without @opentelemetry/api', async (t) => {
    const r = run(process.execPath, ['entries.js'], dir);
    t.equal(r.status, 0, output(r));
    const { loaded, otel } = JSON.parse(r.stdout) as { loaded: number[]; otel: string };
    t.ok(loaded.length === CORE_ENTRIES.length && loaded.every((n) => n > 0), 'exports found');
    t.match(otel, /^ERR_MODULE_NOT_FOUND .*'@opentelemetry\/api'/, 'otel names the missing peer');
  });

  t.test('npx streamtx --version and --help work outside the repository', async (t) => {
    const version = run('npx', ['streamtx', '--version'], dir);
    t.equal(version.status, 0, output(version));
    t.equal(version.stdout.trim(), `streamtx ${pkg.version}`);
    const help = run('npx', ['streamtx', 'kafka', 'topic', '--help'], dir);
    t.equal(help.status, 0, output(help));
    t.match(help.stdout, /usage: streamtx kafka topic create <topic> --partitions N/);
    const chaos = run(join(dir, 'node_modules', '.bin', 'streamtx'), ['chaos', 'list'], dir);
    t.equal(chaos.status, 0, output(chaos));
    t.match(chaos.stdout, /^mixed /m, 'chaos list');
  });

  t.test('chaos workers of the installed package run the compiled CLI and app', async (t) => {
    const r = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { cliCommand } = await import('streamtx/testkit'); const { aggregateApp } = await import('streamtx/chaos');" +
          "const fs = await import('node:fs'); const c = cliCommand('run', aggregateApp.module);" +
          'console.log(JSON.stringify({ args: c.args, app: aggregateApp.module, exists: fs.existsSync(aggregateApp.module) }));',
      ],
      dir,
    );
    t.equal(r.status, 0, output(r));
    const { args, app, exists } = JSON.parse(r.stdout) as {
      args: string[];
      app: string;
      exists: boolean;
    };
    t.match(args[0], /node_modules\/streamtx\/dist\/cli\.js$/, 'plain node on dist/cli.js, no tsx');
    t.match(app, /dist\/chaos\/apps\/aggregate-app\.js$/);
    t.ok(exists, 'the compiled chaos app is in the package');
  });

  t.test('run of a .ts module without tsx says how to get it', async (t) => {
    const r = run(join(dir, 'node_modules', '.bin', 'streamtx'), ['run', 'app.ts'], dir);
    t.equal(r.status, 2, output(r));
    t.match(r.stderr, /app\.ts is TypeScript/);
    t.match(r.stderr, /npm install --save-dev tsx/);
    t.match(r.stderr, /or compile the module and run the \.js file/);
  });

  t.test('kafka up, topic create/list and run of a .js app on a real broker', async (t) => {
    await clusterScenario(t, dir);
  });
});

t.test('a CommonJS project', async (t) => {
  const dir = project(
    'cjs-project',
    { type: 'commonjs' },
    {
      'driver.test.js': DRIVER_TEST_CJS,
      'entries.js': `
const loaded = ${JSON.stringify(ENTRIES)}.map((entry) =>
  Object.keys(require(entry === '.' ? 'streamtx' : 'streamtx' + entry.slice(1))).length);
console.log(JSON.stringify(loaded));
`,
    },
  );
  // A user who wants streamtx/otel installs the optional peer.
  linkTool(dir, '@opentelemetry/api');

  t.test('runs a TopologyTestDriver test with plain node through require()', async (t) => {
    const r = run(process.execPath, ['driver.test.js'], dir);
    t.equal(r.status, 0, output(r));
    t.equal(r.stdout.trim(), 'driver test passed');
  });

  t.test('require() loads every entry: no top-level await in the package graph', async (t) => {
    // Node 20.19+ and 22.12+ load ES modules with require(); a module with
    // top-level await would throw ERR_REQUIRE_ASYNC_MODULE.
    const r = run(process.execPath, ['entries.js'], dir);
    t.equal(r.status, 0, output(r));
    const loaded = JSON.parse(r.stdout) as number[];
    t.ok(loaded.length === ENTRIES.length && loaded.every((n) => n > 0), r.stdout);
  });
});

t.test('a strict TypeScript project (nodenext, skipLibCheck false)', async (t) => {
  const docs = readFileSync(join(repo, 'docs', 'testing.md'), 'utf8');
  const example = /## A complete example[\s\S]*?```ts\n([\s\S]*?)```/.exec(docs)?.[1];
  const command = /`(npx tap [^`]*test\/spend-alerts\.test\.ts)`/.exec(docs)?.[1];
  if (example === undefined || command === undefined)
    throw new Error(
      'docs/testing.md lost its example or its `npx tap ... test/spend-alerts.test.ts` command',
    );
  const dir = project(
    'ts-project',
    { type: 'module' },
    {
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['ES2022'],
          types: ['node'],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          noEmit: true,
        },
        include: ['src', 'app.ts'],
      }),
      'src/uses-the-api.ts': TS_CONSUMER,
      'app.ts': TS_APP,
      'test/spend-alerts.test.ts': example,
    },
  );
  // The user's dev tools and, as the fixture imports streamtx/otel, the optional peer.
  linkTool(dir, '@types/node');
  linkTool(dir, 'undici-types'); // @types/node's dependency
  linkTool(dir, '@opentelemetry/api');

  t.test('type-checks against the declarations', async (t) => {
    const tsc = join(repoModules, 'typescript', 'bin', 'tsc');
    const r = run(process.execPath, [tsc, '-p', '.'], dir);
    t.equal(r.status, 0, output(r));
  });

  t.test('run of a .ts module goes through the project’s tsx', async (t) => {
    linkTool(dir, 'tsx');
    const r = run(join(dir, 'node_modules', '.bin', 'streamtx'), ['run', 'app.ts'], dir);
    // The module loaded (an enum: only a TypeScript loader runs it) and reached the app's
    // option check, which names the misspelt option.
    t.equal(r.status, 1, output(r));
    t.match(
      r.stderr,
      /Invalid option comitIntervalMs: unknown option \(did you mean commitIntervalMs\?\)/,
    );
  });

  t.test(`docs/testing.md's command passes: ${command}`, async (t) => {
    linkTool(dir, 'tap', { tap: 'dist/esm/run.mjs' });
    const [npx, ...args] = command.split(' ');
    const r = run(npx!, args, dir);
    t.equal(r.status, 0, output(r));
    t.match(r.stdout, /# \{ total: 11, pass: 11 \}/);
  });
});

/**
 * In the ESM project: a cluster scoped to it, topics made with the CLI, an app
 * module run by the installed CLI with plain node; and a second scope (the
 * CommonJS project's directory, a named cluster) that sees none of it.
 */
async function clusterScenario(t: Test, dir: string): Promise<void> {
  const env = userEnv({ STREAMTX_STATE_DIR: join(work, 'cli-state') });
  // The installed bin itself (what npx runs, without npm's start-up per call).
  const bin = join(dir, 'node_modules', '.bin', 'streamtx');
  const streamtx = (args: string[], cwd = dir): SpawnSyncReturns<string> =>
    run(bin, args, cwd, env);
  const started = Date.now();
  const up = run('npx', ['streamtx', 'kafka', 'up'], dir, env);
  t.teardown(() => void streamtx(['kafka', 'down']));
  t.equal(up.status, 0, output(up));
  const brokers = up.stdout.trim().split(',');
  t.match(brokers[0], /^127\.0\.0\.1:\d+$/);
  t.comment(`kafka up: ${Date.now() - started} ms`);

  const input = uniqueName('pack-in');
  const out = uniqueName('pack-out');
  for (const topic of [input, out]) {
    const create = streamtx(['kafka', 'topic', 'create', topic, '--partitions', '2']);
    t.equal(create.status, 0, output(create));
    t.equal(create.stdout.trim(), `${topic} 2`);
  }
  const list = streamtx(['kafka', 'topic', 'list']);
  t.equal(list.status, 0, output(list));
  t.match(list.stdout, new RegExp(`^${input} 2$`, 'm'));
  t.match(list.stdout, new RegExp(`^${out} 2$`, 'm'));
  const again = streamtx(['kafka', 'topic', 'create', input, '--partitions', '3']);
  t.equal(again.status, 1, 'a topic that exists with another partition count is an error');
  t.match(again.stderr, new RegExp(`'${input}' already exists with 2 partition\\(s\\), not 3`));

  // Another project's directory and a named cluster are other scopes.
  const other = join(work, 'another-project');
  mkdirSync(other);
  writeFileSync(join(other, 'package.json'), '{}');
  const elsewhere = streamtx(['kafka', 'status'], other);
  t.equal(elsewhere.status, 1, output(elsewhere));
  t.match(elsewhere.stderr, `no cluster is up for project ${realpathSync(other)}`);
  const downElsewhere = streamtx(['kafka', 'down'], other);
  t.equal(downElsewhere.status, 0, output(downElsewhere));
  const named = streamtx(['kafka', 'status', '--name', 'not-this-one']);
  t.equal(named.status, 1, output(named));
  t.match(named.stderr, /no cluster is up for cluster 'not-this-one'/);
  const status = streamtx(['kafka', 'status']);
  t.equal(status.status, 0, 'the project’s own cluster is still up');
  const pid = Number(/broker 1: running \(pid (\d+)\)/.exec(status.stdout)?.[1]);
  t.ok(alive(pid), output(status));

  const worker = spawn(join(dir, 'node_modules', '.bin', 'streamtx'), ['run', 'app.js'], {
    cwd: dir,
    env: {
      ...env,
      INPUT: input,
      OUTPUT: out,
      APP_ID: uniqueName('pack-app'),
      BROKERS: brokers.join(','),
      STATE_DIR: join(work, 'app-state'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  worker.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    worker.once('exit', (code) => resolve(code)),
  );
  t.teardown(() => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  });
  await waitFor(() => /streamtx state RUNNING/.test(stdout) || worker.exitCode !== null, {
    timeoutMs: 60_000,
    what: 'the worker to run',
  });
  t.equal(worker.exitCode, null, `the worker runs\n${stdout}\n${stderr}`);
  const records = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `value ${i}` }));
  await produceRecords(brokers, input, records);
  const received = await waitForRecords(brokers, out, records.length);
  t.same(
    received.map((r) => r.value?.toString()).sort(),
    records.map((r) => r.value.toUpperCase()).sort(),
    'the app processed every record once',
  );
  worker.kill('SIGTERM');
  t.equal(await exited, 0, `SIGTERM closes the worker cleanly\n${stderr}`);

  const down = streamtx(['kafka', 'down']);
  t.equal(down.status, 0, output(down));
  t.notOk(alive(pid), 'down stopped the broker');
  t.comment(`cluster scenario: ${Date.now() - started} ms`);
}

const DRIVER_TEST_BODY = `
class CountWords {
  init(context) {
    this.context = context;
    this.counts = context.getStateStore('counts');
  }
  async process(record) {
    for (const word of record.value.toLowerCase().split(/\\W+/).filter(Boolean)) {
      const count = (this.counts.get(word) ?? 0) + 1;
      this.counts.put(word, count);
      await this.context.forward({ ...record, key: word, value: count });
    }
  }
}
const topology = new Topology()
  .addSource('lines', { topics: ['lines'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addProcessor('count', () => new CountWords(), 'lines')
  .addStateStore(Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }), 'count')
  .addSink('counts', { topic: 'counts', keySerde: Serdes.string(), valueSerde: Serdes.int32() }, 'count');
const driver = new TopologyTestDriver(topology);
try {
  const lines = driver.createInputTopic('lines', Serdes.string(), Serdes.string());
  const counts = driver.createOutputTopic('counts', Serdes.string(), Serdes.int32());
  await lines.pipeInput(null, 'to be or not');
  await lines.pipeInput(null, 'to be');
  assert.deepEqual(counts.readKeyValuesToList(), [
    { key: 'to', value: 1 }, { key: 'be', value: 1 }, { key: 'or', value: 1 }, { key: 'not', value: 1 },
    { key: 'to', value: 2 }, { key: 'be', value: 2 },
  ]);
  assert.equal(driver.getKeyValueStore('counts').get('be'), 2);
} finally {
  await driver.close();
}
console.log('driver test passed');
`;

const DRIVER_TEST_ESM = `import assert from 'node:assert/strict';
import { Serdes, Topology } from 'streamtx';
import { Stores } from 'streamtx/stores';
import { TopologyTestDriver } from 'streamtx/testkit';
${DRIVER_TEST_BODY}`;

const DRIVER_TEST_CJS = `const assert = require('node:assert/strict');
const { Serdes, Topology } = require('streamtx');
const { Stores } = require('streamtx/stores');
const { TopologyTestDriver } = require('streamtx/testkit');
(async () => {
${DRIVER_TEST_BODY}
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});`;

const RUN_APP_JS = `// An app module for 'streamtx run': upper-cases values from INPUT to OUTPUT.
import { Serdes, Topology } from 'streamtx';

class Upper {
  init(context) {
    this.context = context;
  }
  async process(record) {
    await this.context.forward({ ...record, value: record.value.toUpperCase() });
  }
}

export const topology = new Topology()
  .addSource('in', { topics: [process.env.INPUT], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addProcessor('upper', () => new Upper(), 'in')
  .addSink('out', { topic: process.env.OUTPUT, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'upper');

export const options = {
  applicationId: process.env.APP_ID,
  brokers: process.env.BROKERS.split(','),
  stateDir: process.env.STATE_DIR,
};
`;

const TS_CONSUMER = `import {
  Serdes,
  StreamsApp,
  StreamsConfigError,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record,
  type StreamsAppOptions,
} from 'streamtx';
import { KafkaCluster, TopologyTestDriver, waitFor } from 'streamtx/testkit';
import { Stores, type KeyValueStore } from 'streamtx/stores';
import { openTelemetry, type OpenTelemetryOptions } from 'streamtx/otel';
import { runChaos, type ChaosOptions } from 'streamtx/chaos';

class Count implements Processor<string, string, string, number> {
  #context!: ProcessorContext<string, number>;
  #counts!: KeyValueStore<string, number>;
  init(context: ProcessorContext<string, number>): void {
    this.#context = context;
    this.#counts = context.getStateStore<KeyValueStore<string, number>>('counts');
  }
  async process(record: Record<string, string>): Promise<void> {
    const count = (this.#counts.get(record.key) ?? 0) + 1;
    this.#counts.put(record.key, count);
    await this.#context.forward({ ...record, value: count });
  }
}

export const topology = new Topology()
  .addSource('words', { topics: ['words'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addProcessor('count', () => new Count(), 'words')
  .addStateStore(Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }), 'count')
  .addSink('counts', { topic: 'counts', keySerde: Serdes.string(), valueSerde: Serdes.int32() }, 'count');

const otel: OpenTelemetryOptions = { processParent: 'none' };
const options: StreamsAppOptions = {
  applicationId: 'counter',
  brokers: ['localhost:9092'],
  telemetry: openTelemetry(otel),
};
export const app = new StreamsApp(topology, options);

export async function check(): Promise<number | undefined> {
  const driver = new TopologyTestDriver(topology, { initialWallClockTime: 0 });
  await driver.createInputTopic('words', Serdes.string(), Serdes.string()).pipeInput('a', 'x');
  const value: number | undefined = driver.getKeyValueStore<string, number>('counts').get('a');
  await driver.close();
  await waitFor(() => true, { timeoutMs: 10 });
  const cluster: KafkaCluster = await KafkaCluster.start({ brokers: 1 });
  await cluster.stop();
  const chaos: Pick<ChaosOptions, 'scenario'> = { scenario: 'mixed' };
  void chaos;
  void runChaos;
  return value;
}

// The declarations are real types, not any: each misuse below must be an error.
// @ts-expect-error applicationId is a string
export const wrong: StreamsAppOptions = { applicationId: 1, brokers: [] };
// @ts-expect-error Topology has no such method
new Topology().addStream('x');
export const field: string = new StreamsConfigError('x', 'y').field;
`;

const TS_APP = `import { Serdes, Topology, type StreamsAppOptions } from 'streamtx';

enum Topic {
  In = 'ts-in',
  Out = 'ts-out',
}

export const topology: Topology = new Topology()
  .addSource('in', { topics: [Topic.In], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addSink('out', { topic: Topic.Out, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'in');

// Misspelt on purpose: the app's option check reports it before anything connects.
export const options = {
  applicationId: 'ts-app',
  brokers: ['127.0.0.1:9'],
  comitIntervalMs: 100,
} as unknown as StreamsAppOptions;
`;

// A StreamsApp on a secured cluster (testkit's secured mode: SASL_SSL only, SCRAM-SHA-256/512,
// certificates from a CA made at start): exactly-once output read back with read_committed,
// a restore and an at_least_once producer over the same settings, and the failures a
// misconfigured app must report clearly and at once — a wrong password, an untrusted CA,
// plaintext to a TLS listener.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  Serdes,
  StreamsApp,
  Topology,
  type LogFields,
  type Logger,
  type Processor,
  type ProcessorContext,
  type RestoreEvent,
  type StreamsAppOptions,
} from '../../../framework/index.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';
import { KafkaCluster, produceRecords, waitFor, waitForRecords } from '../../../testkit/index.ts';
import { createTestCa } from '../../../testkit/internals/tls.ts';
import { readCommitted } from '../../support/kafka.ts';
import { uniqueName } from '../../support/ids.ts';

/** Counts records per key in a changelogged store; emits `<count>` per record. */
function counting(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'count',
      (): Processor<string, string, string, string> => {
        let context!: ProcessorContext<string, string>;
        let counts!: KeyValueStore<string, number>;
        return {
          init: (c) => {
            context = c;
            counts = c.getStateStore<KeyValueStore<string, number>>('counts');
          },
          process: async (r) => {
            const n = (counts.get(r.key) ?? 0) + 1;
            counts.put(r.key, n);
            await context.forward({ ...r, value: String(n) });
          },
        };
      },
      'in',
    )
    .addStateStore(
      Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }),
      'count',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'count',
    );
}

function echo(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'in',
    );
}

/** A logger keeping every line, to check what was (not) logged. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (fields: LogFields, message: string): void =>
    void lines.push(`${message} ${JSON.stringify(fields)}`);
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}

const SECRET = 'Sesame-open-for-streamtx-4711';

t.test('on a SASL_SSL cluster with SCRAM users', async (t) => {
  const started = Date.now();
  const cluster = await KafkaCluster.start({
    brokers: 1,
    secured: { users: [{ username: 'app', password: SECRET }] },
  });
  t.teardown(() => cluster.stop());
  t.comment(`secured broker up in ${Date.now() - started} ms`);
  const stateRoot = mkdtempSync(join(tmpdir(), 'streamtx-secured-'));
  t.teardown(() => rmSync(stateRoot, { recursive: true, force: true }));
  const appOptions = (
    applicationId: string,
    extra: Partial<StreamsAppOptions> = {},
  ): StreamsAppOptions => ({
    ...cluster.clientOptions(),
    applicationId,
    stateDir: join(stateRoot, applicationId),
    ...extra,
  });

  t.test('clientOptions() hands out the CA and a SCRAM user', async (t) => {
    t.equal(cluster.security?.users[0]?.username, 'app');
    t.match(cluster.security?.caPem, /^-----BEGIN CERTIFICATE-----/);
    const { ssl, sasl } = cluster.clientOptions({ mechanism: 'scram-sha-256' });
    t.same(ssl, { ca: [cluster.security?.caPem] });
    t.same(sasl, { mechanism: 'scram-sha-256', username: 'app', password: SECRET });
    t.throws(() => cluster.clientOptions({ username: 'nobody' }), /no user nobody/);
  });

  t.test('an exactly-once app runs: every count once, read back with read_committed', async (t) => {
    const input = uniqueName('sec-in');
    const output = uniqueName('sec-out');
    await cluster.createTopic(input, { partitions: 2 });
    await cluster.createTopic(output, { partitions: 2 });
    const keys = 8;
    const n = 1_000;
    const records = Array.from({ length: n }, (_, i) => ({
      key: `k${i % keys}`,
      value: String(i),
    }));
    await produceRecords(cluster.clientOptions(), input, records);
    const applicationId = uniqueName('sec-count');
    const restores: RestoreEvent[] = [];
    const log = recorder();
    // SCRAM-SHA-256 for the app; the testkit's own clients use SCRAM-SHA-512.
    const app = new StreamsApp(
      counting(input, output),
      appOptions(applicationId, {
        ...cluster.clientOptions({ mechanism: 'scram-sha-256' }),
        logger: log,
        logLevel: 'debug',
      }),
    );
    app.onRestore((e) => void restores.push(e));
    await app.start();
    await waitForRecords(cluster.clientOptions(), output, n, { timeoutMs: 120_000 });
    await app.close();
    t.equal(app.state, 'NOT_RUNNING');

    const out = await readCommitted(cluster.clientOptions(), output);
    const perKey = new Map<string, string[]>();
    for (const r of out) perKey.set(r.key, [...(perKey.get(r.key) ?? []), r.value]);
    t.equal(out.length, n, 'as many outputs as inputs');
    for (let k = 0; k < keys; k++)
      t.same(
        perKey.get(`k${k}`),
        Array.from({ length: n / keys }, (_, i) => String(i + 1)),
        `k${k} counted 1..${n / keys}, no gap, no duplicate`,
      );
    t.notOk(
      log.lines.some((l) => l.includes(SECRET)),
      `the password is in none of the ${log.lines.length} log lines (debug included)`,
    );
    t.notMatch(JSON.stringify(app.options), SECRET, 'nor in the printed options');

    // The restore reader: a new worker without local state replays the changelog.
    rmSync(join(stateRoot, applicationId), { recursive: true, force: true });
    const again = new StreamsApp(
      counting(input, output),
      appOptions(applicationId, { logLevel: 'warn' }),
    );
    const replayed: RestoreEvent[] = [];
    again.onRestore((e) => void replayed.push(e));
    await again.start();
    await waitFor(() => replayed.filter((e) => e.done).length === 2, {
      timeoutMs: 60_000,
      what: 'both tasks to restore their store',
    });
    await again.close();
    const restored = replayed.filter((e) => e.done).reduce((sum, e) => sum + e.restored, 0);
    t.ok(restored >= keys, `${restored} changelog records replayed over SASL_SSL`);
  });

  t.test('an at_least_once app runs (its plain producer and offset commits)', async (t) => {
    const input = uniqueName('sec-alo-in');
    const output = uniqueName('sec-alo-out');
    await cluster.createTopic(input, { partitions: 1 });
    await cluster.createTopic(output, { partitions: 1 });
    const records = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await produceRecords(cluster.clientOptions(), input, records);
    const app = new StreamsApp(
      echo(input, output),
      appOptions(uniqueName('sec-alo'), {
        processingGuarantee: 'at_least_once',
        commitIntervalMs: 200, // its sends flush with each commit (30 s by default)
        logLevel: 'warn',
      }),
    );
    await app.start();
    const got = await waitForRecords(cluster.clientOptions(), output, records.length);
    await app.close();
    t.same(got.map((r) => r.value?.toString()).sort(), records.map((r) => r.value).sort());
  });

  t.test(
    'a wrong password fails start() at once: SASL authentication failed, no password shown',
    async (t) => {
      const wrong = 'not-the-password-0815';
      const log = recorder();
      const app = new StreamsApp(
        echo('a', 'b'),
        appOptions(uniqueName('sec-wrong'), {
          sasl: { mechanism: 'scram-sha-512', username: 'app', password: wrong },
          logger: log,
        }),
      );
      const errors: string[] = [];
      app.onError((e) => void errors.push(e.message));
      const before = Date.now();
      const error = (await app.start().then(
        () => undefined,
        (e: unknown) => e,
      )) as Error | undefined;
      const took = Date.now() - before;
      t.equal(error?.name, 'StreamsFatalError');
      t.match(
        error?.message,
        /^SASL authentication failed at the Kafka brokers 127\.0\.0\.1:\d+ as user app with mechanism scram-sha-512: .*invalid credentials/,
      );
      t.ok(took < 10_000, `within seconds, not a retry loop (${took} ms)`);
      t.equal(app.state, 'ERROR');
      t.same(errors, [error?.message], 'the error handler is told once');
      const all = [error?.message ?? '', ...log.lines].join('\n');
      t.notMatch(all, wrong, 'the wrong password is not printed');
      t.notMatch(all, SECRET);
      t.equal(
        log.lines.filter((l) => l.includes('SASL authentication failed')).length,
        1,
        'logged once',
      );
    },
  );

  t.test('a CA that did not sign the brokers’ certificate fails start() at once', async (t) => {
    const other = createTestCa(join(stateRoot, 'other-ca'), 'some other CA');
    const app = new StreamsApp(
      echo('a', 'b'),
      appOptions(uniqueName('sec-ca'), { ssl: { ca: other.certPem }, logLevel: 'none' }),
    );
    const before = Date.now();
    await t.rejects(app.start(), {
      name: 'StreamsFatalError',
      message:
        /^TLS handshake with the Kafka brokers 127\.0\.0\.1:\d+ failed: .*self-signed certificate in certificate chain \(ssl\.ca must hold the CA/,
    });
    t.ok(Date.now() - before < 10_000, `within seconds (${Date.now() - before} ms)`);
  });

  t.test('plaintext to the SASL_SSL listener says to set ssl', async (t) => {
    const { sasl } = cluster.clientOptions();
    const app = new StreamsApp(echo('a', 'b'), {
      applicationId: uniqueName('sec-plain'),
      brokers: cluster.bootstrapServers,
      ...(sasl ? { sasl } : {}),
      stateDir: join(stateRoot, 'plain'),
      retry: { retries: 1, initialRetryTime: 100 },
      logLevel: 'none',
    });
    await t.rejects(app.start(), {
      name: 'StreamsFatalError',
      message: /closed the connection: if their listener uses TLS, set ssl/,
    });
  });
});

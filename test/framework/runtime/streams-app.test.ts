import t from 'tap';
import {
  Serdes,
  StreamsApp,
  StreamsConfigError,
  Topology,
  type Processor,
  type ProcessorContext,
  type StreamsAppState,
} from '../../../framework/index.ts';
import { createKafkaClient } from '../../../framework/client/index.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';
import { produceRecords, waitFor, waitForRecords } from '../../../testkit/index.ts';
import { clusterFor } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';

function echo(input: string | string[], output: string): Topology {
  return new Topology()
    .addSource('in', {
      topics: Array.isArray(input) ? input : [input],
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
    })
    .addProcessor(
      'echo',
      (): Processor<string, string, string, string> => {
        let context!: ProcessorContext<string, string>;
        return { init: (c) => void (context = c), process: (r) => context.forward(r) };
      },
      'in',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'echo',
    );
}

t.test('configuration errors are rejected at construction, naming the field', async (t) => {
  const topology = echo('a', 'b');
  const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['missing applicationId', { brokers: base.brokers }, /applicationId/],
    [
      'isolation overridden',
      { ...base, consumer: { readUncommitted: true } },
      /consumer\.readUncommitted/,
    ],
    [
      'transactional id overridden',
      { ...base, producer: { transactionalId: 'mine' } },
      /producer\.transactionalId/,
    ],
    [
      'transaction timeout below the commit interval',
      { ...base, commitIntervalMs: 5000, transactionTimeoutMs: 1000 },
      /transactionTimeoutMs.*commitIntervalMs|commitIntervalMs.*transactionTimeoutMs/,
    ],
    ['a misspelt option', { ...base, comitIntervalMs: 10 }, /comitIntervalMs/],
  ];
  for (const [what, options, field] of cases) {
    t.throws(() => new StreamsApp(topology, options as never), StreamsConfigError, what);
    t.throws(
      () => new StreamsApp(topology, options as never),
      { message: field },
      `${what}: the message names the field`,
    );
  }
});

t.test('client settings: unsupported ones are rejected, owned ones in any case', async (t) => {
  const topology = echo('a', 'b');
  const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
  t.throws(() => new StreamsApp(topology, { ...base, consumer: { fetchMaxWait: 10 } as never }), {
    field: 'consumer.fetchMaxWait',
    message:
      /unknown consumer setting.*supported: maxWaitTimeMs, minBytes, maxBytes, maxBytesPerPartition/,
  });
  t.throws(
    () =>
      new StreamsApp(topology, {
        ...base,
        consumer: { 'ISOLATION.LEVEL': 'read_uncommitted' } as never,
      }),
    { field: 'consumer.ISOLATION.LEVEL', message: /owned by streamtx/ },
  );
  t.throws(() => new StreamsApp(topology, { ...base, producer: { Acks: 1 } as never }), {
    field: 'producer.Acks',
    message: /owned by streamtx/,
  });
  t.throws(
    () => new StreamsApp(topology, { ...base, producer: { compression: 'zstd' } as never }),
    { field: 'producer.compression', message: /expected 'none' or 'gzip'/ },
  );
});

t.test('unreachable brokers fail start() once, saying so', async (t) => {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  t.teardown(() => void (process.stderr.write = write));
  const app = new StreamsApp(echo('a', 'b'), {
    applicationId: uniqueName('nowhere'),
    brokers: ['127.0.0.1:1'],
  });
  const errors: string[] = [];
  app.onError((e) => void errors.push(e.message));
  await t.rejects(app.start(), {
    name: 'StreamsFatalError',
    message: /^Cannot reach the Kafka brokers 127\.0\.0\.1:1: .*ECONNREFUSED/,
  });
  t.equal(app.state, 'ERROR');
  t.equal(errors.length, 1, 'the error handler is told once');
  const lines = written
    .join('')
    .split('\n')
    .filter((l) => l.includes('Cannot reach'));
  t.equal(lines.length, 1, `logged once: ${lines.join(' | ')}`);
  t.notMatch(written.join(''), /Source or sink topics are missing/);
});

t.test('on a real broker', async (t) => {
  const cluster = await clusterFor(t, { brokers: 1 });
  const brokers = cluster.bootstrapServers;

  t.test(
    'source topics with different partition counts fail start() with a clear error naming both',
    async (t) => {
      const left = uniqueName('left');
      const right = uniqueName('right');
      const out = uniqueName('out');
      await cluster.createTopic(left, { partitions: 2 });
      await cluster.createTopic(right, { partitions: 3 });
      await cluster.createTopic(out, { partitions: 1 });
      const app = new StreamsApp(echo([left, right], out), {
        applicationId: uniqueName('copart'),
        brokers,
        replicationFactor: 1,
      });
      const states: StreamsAppState[] = [];
      app.onStateChange((s) => void states.push(s));
      await t.rejects(app.start(), {
        message: new RegExp(`not co-partitioned: .*${left} \\(2\\).*${right} \\(3\\)`),
      });
      t.equal(app.state, 'ERROR');
      t.same(states, ['REBALANCING', 'ERROR']);
    },
  );

  t.test('a missing source topic fails start() naming it', async (t) => {
    const missing = uniqueName('missing');
    const out = uniqueName('out');
    await cluster.createTopic(out, { partitions: 1 });
    const app = new StreamsApp(echo(missing, out), {
      applicationId: uniqueName('missing-app'),
      brokers,
    });
    await t.rejects(app.start(), { message: new RegExp(missing) });
  });

  t.test(
    'at_least_once runs the same topology without transactions: every input is output',
    async (t) => {
      const input = uniqueName('alos-in');
      const output = uniqueName('alos-out');
      await cluster.createTopic(input, { partitions: 3 });
      await cluster.createTopic(output, { partitions: 3 });
      const app = new StreamsApp(echo(input, output), {
        applicationId: uniqueName('alos'),
        brokers,
        processingGuarantee: 'at_least_once',
        commitIntervalMs: 200,
      });
      const states: StreamsAppState[] = [];
      app.onStateChange((s) => void states.push(s));
      t.teardown(() => app.close());
      await app.start();
      await produceRecords(
        brokers,
        input,
        Array.from({ length: 500 }, (_, i) => ({ key: `k${i % 5}`, value: String(i) })),
      );
      const received = await waitForRecords(brokers, output, 500);
      const values = new Set(received.map((r) => r.value!.toString()));
      t.equal(values.size, 500, 'every input value arrived');
      await waitFor(() => app.state === 'RUNNING', { what: 'the app to be RUNNING' });
      await app.close();
      t.same(
        states,
        ['REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'NOT_RUNNING'],
        'state listener saw the lifecycle',
      );
    },
  );

  t.test(
    "a transaction timeout above the brokers' transaction.max.timeout.ms fails start() naming both values",
    async (t) => {
      const input = uniqueName('ttl-in');
      const output = uniqueName('ttl-out');
      await cluster.createTopic(input, { partitions: 1 });
      await cluster.createTopic(output, { partitions: 1 });
      const app = new StreamsApp(echo(input, output), {
        applicationId: uniqueName('ttl'),
        brokers,
        transactionTimeoutMs: 1_000_000,
      });
      await t.rejects(app.start(), {
        name: 'StreamsConfigError',
        field: 'transactionTimeoutMs',
        message: /1000000 is above the brokers' transaction\.max\.timeout\.ms \(900000\)/,
      });
    },
  );

  t.test(
    'a count whose processor never awaits forward() over a backlog runs to the end exactly (the crash a new user hit)',
    async (t) => {
      const input = uniqueName('noawait-in');
      const output = uniqueName('noawait-out');
      await cluster.createTopic(input, { partitions: 2 });
      await cluster.createTopic(output, { partitions: 2 });
      const total = 20_000;
      await produceRecords(
        brokers,
        input,
        Array.from({ length: total }, (_, i) => ({ key: `k${i % 50}`, value: String(i) })),
      );
      const topology = new Topology()
        .addSource('in', {
          topics: [input],
          keySerde: Serdes.string(),
          valueSerde: Serdes.string(),
        })
        .addProcessor(
          'count',
          (): Processor<string, string, string, string> => {
            let ctx!: ProcessorContext<string, string>;
            let counts!: KeyValueStore<string, number>;
            return {
              init(c) {
                ctx = c;
                counts = c.getStateStore('counts');
              },
              process(r) {
                const n = (counts.get(r.key) ?? 0) + 1;
                counts.put(r.key, n);
                void ctx.forward({ ...r, value: String(n) }); // no await, as a new user writes it
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
      const app = new StreamsApp(topology, {
        applicationId: uniqueName('noawait'),
        brokers,
        replicationFactor: 1,
        stateDir: t.testdir(),
      });
      const errors: string[] = [];
      app.onError((e) => void errors.push(e.message));
      t.teardown(() => app.close());
      await app.start();
      const received = await waitForRecords(brokers, output, total, { timeoutMs: 120_000 });
      t.same(errors, [], 'the app never failed');
      t.equal(app.state, 'RUNNING');
      const last = new Map<string, number>();
      for (const r of received) {
        const key = r.key!.toString();
        last.set(key, Math.max(last.get(key) ?? 0, Number(r.value!.toString())));
      }
      t.equal(received.length, total, 'one output per input');
      t.ok(
        [...last.values()].every((n) => n === total / 50),
        'every key counted to its input count',
      );
    },
  );

  t.test(
    'a repartition topic between two sub-topologies: created by the app, counts exact, purged below the committed offset',
    async (t) => {
      const input = uniqueName('rekey-in');
      const output = uniqueName('rekey-out');
      await cluster.createTopic(input, { partitions: 3 });
      await cluster.createTopic(output, { partitions: 2 });
      const applicationId = uniqueName('rekey');
      const byFirstLetter = (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init: (c) => void (ctx = c),
          process: (r) => ctx.forward({ ...r, key: r.value.slice(0, 1) }),
        };
      };
      const topology = new Topology()
        .addRepartitionTopic('by-letter')
        .addSource('in', {
          topics: [input],
          keySerde: Serdes.string(),
          valueSerde: Serdes.string(),
        })
        .addProcessor('rekey', byFirstLetter, 'in')
        .addSink(
          'to-repartition',
          { topic: 'by-letter', keySerde: Serdes.string(), valueSerde: Serdes.string() },
          'rekey',
        )
        .addSource('grouped', {
          topics: ['by-letter'],
          keySerde: Serdes.string(),
          valueSerde: Serdes.string(),
        })
        .addProcessor(
          'count',
          (): Processor<string, string, string, number> => {
            let ctx!: ProcessorContext<string, number>;
            let counts!: KeyValueStore<string, number>;
            return {
              init(c) {
                ctx = c;
                counts = c.getStateStore('letter-counts');
              },
              process(r) {
                const n = (counts.get(r.key) ?? 0) + 1;
                counts.put(r.key, n);
                return ctx.forward({ ...r, value: n });
              },
            };
          },
          'grouped',
        )
        .addStateStore(
          Stores.keyValue('letter-counts', {
            keySerde: Serdes.string(),
            valueSerde: Serdes.int32(),
          }),
          'count',
        )
        .addSink(
          'out',
          { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.int32() },
          'count',
        );
      t.match(
        topology.describe().toString(),
        /Sink: to-repartition \(topic: by-letter-repartition\)/,
      );
      const app = new StreamsApp(topology, {
        applicationId,
        brokers,
        replicationFactor: 1,
        stateDir: t.testdir(),
        repartitionPurgeIntervalMs: 200,
      });
      t.teardown(() => app.close());
      await app.start();
      const words = Array.from({ length: 600 }, (_, i) => `${'abcdef'[i % 6]}${i}`);
      await produceRecords(
        brokers,
        input,
        words.map((w, i) => ({ key: String(i), value: w })),
      );
      const received = await waitForRecords(brokers, output, words.length, { timeoutMs: 120_000 });
      const finalCount = new Map<string, number>();
      for (const r of received)
        finalCount.set(
          r.key!.toString(),
          Math.max(finalCount.get(r.key!.toString()) ?? 0, r.value!.readInt32BE()),
        );
      t.same(Object.fromEntries(finalCount), { a: 100, b: 100, c: 100, d: 100, e: 100, f: 100 });
      t.equal(received.length, words.length, 'one count update per input');

      const client = await createKafkaClient({
        brokers,
        clientId: 'rekey-check',
        logLevel: 'nothing',
      });
      t.teardown(() => client.close());
      const repartition = `${applicationId}-by-letter-repartition`;
      const counts = await client.admin.partitionCounts([repartition]);
      t.equal(counts.get(repartition), 3, 'as many partitions as the source of its writer');
      await waitFor(
        async () => {
          const start = await client.admin.beginningOffsets(repartition);
          return [...start.values()].reduce((a, b) => a + b, 0n) > 0n;
        },
        { timeoutMs: 30_000, what: `records of ${repartition} purged below the committed offsets` },
      );
      t.pass('the repartition topic is purged');
    },
  );
});

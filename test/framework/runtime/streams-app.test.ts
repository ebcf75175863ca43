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
});

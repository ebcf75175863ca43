// The OpenTelemetry adapter on the production task code (TopologyTestDriver and
// StreamTask on in-memory Kafka), with the SDK's in-memory exporter.
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import t from 'tap';
import { ProducerFencedError } from '../../../framework/client/errors.ts';
import {
  Serdes,
  Topology,
  setDefaultTelemetry,
  type Processor,
  type ProcessorContext,
} from '../../../framework/index.ts';
import { openTelemetry } from '../../../otel.ts';
import { compileStreamsAppOptions } from '../../../framework/options.ts';
import { StreamTask } from '../../../framework/runtime/stream-task.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';
import { TopologyTestDriver } from '../../../testkit/index.ts';
import { MemoryOutput } from '../../support/memory-output.ts';
import { memorySdk, one, produceWithTrace, traceIdOf } from './support.ts';

// Global: the first producer and openTelemetry() without options use it, as an app with sdk-node does.
const sdk = memorySdk({ global: true });
t.beforeEach(() => sdk.exporter.reset());
t.afterEach(() => setDefaultTelemetry(undefined));

/** An app reading `from`, upper-casing values, writing `to`. */
function upperCase(from: string, to: string): Topology {
  return new Topology()
    .addSource('src', { topics: [from], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'upper',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init: (c) => void (ctx = c),
          process: async (r) => {
            if (r.value === 'boom') throw new Error('cannot process boom');
            await ctx.forward({ ...r, value: r.value.toUpperCase() });
          },
        };
      },
      'src',
    )
    .addSink('out', { topic: to, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'upper');
}

t.test(
  'one trace runs from the first producer through two chained apps to the last topic',
  async (t) => {
    setDefaultTelemetry(openTelemetry());
    const first = new TopologyTestDriver(upperCase('orders', 'enriched'), {
      applicationId: 'enricher',
    });
    const second = new TopologyTestDriver(upperCase('enriched', 'shipped'), {
      applicationId: 'shipper',
    });
    t.teardown(() => Promise.all([first.close(), second.close()]));
    const producer = produceWithTrace('orders');
    const traceId = producer.span.spanContext().traceId;

    await first
      .createInputTopic('orders', Serdes.string(), Serdes.string())
      .pipeInput('order-1', 'book', 5, producer.headers);
    const enriched = first
      .createOutputTopic('enriched', Serdes.string(), Serdes.string())
      .readRecord();
    t.equal(traceIdOf(enriched.headers['traceparent']), traceId, 'the output carries the trace');
    await second
      .createInputTopic('enriched', Serdes.string(), Serdes.string())
      .pipeInput(enriched.key, enriched.value, enriched.timestamp, enriched.headers);
    const shipped = second
      .createOutputTopic('shipped', Serdes.string(), Serdes.string())
      .readRecord();
    t.equal(shipped.value, 'BOOK');
    t.equal(traceIdOf(shipped.headers['traceparent']), traceId, 'and so does the last topic');

    const spans = sdk.spans();
    const process1 = one(spans, 'process orders');
    const send1 = one(spans, 'send enriched');
    const process2 = one(spans, 'process enriched');
    const send2 = one(spans, 'send shipped');
    for (const s of [process1, send1, process2, send2])
      t.equal(s.spanContext().traceId, traceId, `${s.name} is in the producer's trace`);

    t.equal(process1.kind, SpanKind.CONSUMER);
    t.equal(process1.parentSpanId, producer.span.spanContext().spanId, 'child of the producer');
    t.same(
      process1.links.map((l) => l.context.spanId),
      [producer.span.spanContext().spanId],
      'and linked to it',
    );
    t.match(process1.attributes, {
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '0',
      'messaging.kafka.offset': 0,
      'messaging.kafka.message.key': 'order-1',
      'messaging.consumer.group.name': 'enricher',
      'streamtx.task.id': '0_0',
    });

    t.equal(send1.kind, SpanKind.PRODUCER);
    t.equal(send1.parentSpanId, process1.spanContext().spanId, 'a send is a child of its process');
    t.match(send1.attributes, {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'enriched',
      'streamtx.transaction.outcome': 'committed',
    });
    t.equal(
      enriched.headers['traceparent']?.toString().split('-')[2],
      send1.spanContext().spanId,
      'the output header is the send span',
    );
    t.equal(process2.parentSpanId, send1.spanContext().spanId, 'the next app continues there');
    t.same(
      process2.links.map((l) => l.context.spanId),
      [send1.spanContext().spanId],
    );
    t.equal(process2.attributes['messaging.consumer.group.name'], 'shipper');
    t.equal(send2.parentSpanId, process2.spanContext().spanId);

    const commit = one(spans, 'commit', { 'streamtx.application.id': 'enricher' });
    t.equal(commit.kind, SpanKind.INTERNAL);
    t.match(commit.attributes, {
      'streamtx.task.id': '0_0',
      'streamtx.transaction.outcome': 'committed',
      'streamtx.commit.records': 1,
      'streamtx.commit.offsets': ['orders-0@1'],
    });
    t.equal(commit.status.code, SpanStatusCode.UNSET);
  },
);

t.test(
  'an aborted transaction marks its spans: failed process, aborted commit and sends',
  async (t) => {
    setDefaultTelemetry(openTelemetry());
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addProcessor(
        'twice',
        (): Processor<string, string, string, string> => {
          let ctx!: ProcessorContext<string, string>;
          return {
            init: (c) => void (ctx = c),
            process: async (r) => {
              await ctx.forward(r); // sent into the transaction first, then the failure
              if (r.value === 'boom') throw new Error('cannot process boom');
            },
          };
        },
        'src',
      )
      .addSink(
        'out',
        { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'twice',
      );
    const driver = new TopologyTestDriver(topology);
    t.teardown(() => driver.close());
    await t.rejects(
      driver.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('k', 'boom'),
      { name: 'ProcessorError' },
    );
    const spans = sdk.spans();
    const process = one(spans, 'process in');
    t.equal(process.status.code, SpanStatusCode.ERROR);
    t.match(process.status.message, /cannot process boom/);
    t.equal(process.events[0]?.name, 'exception', 'the exception is recorded');
    const commit = one(spans, 'commit');
    t.equal(commit.attributes['streamtx.transaction.outcome'], 'aborted');
    t.equal(commit.status.code, SpanStatusCode.ERROR);
    t.equal(commit.attributes['streamtx.commit.records'], 0);
    const send = one(spans, 'send out');
    t.equal(send.attributes['streamtx.transaction.outcome'], 'aborted');
    t.equal(send.status.code, SpanStatusCode.ERROR, 'the output record was never delivered');
    t.equal(driver.createOutputTopic('out', Serdes.string(), Serdes.string()).getQueueSize(), 0);
  },
);

t.test('a fenced transaction marks its commit and sends as fenced', async (t) => {
  const output = new MemoryOutput();
  const env = output.environment(
    '0_0',
    compileStreamsAppOptions({
      applicationId: 'app',
      brokers: ['127.0.0.1:1'],
      telemetry: openTelemetry({ meterProvider: sdk.meterProvider }),
    }),
    { partitionCount: 1 },
  );
  const task = new StreamTask('0_0', 0, upperCase('in', 'out').build().subtopologies[0]!, env);
  await task.init();
  const producer = produceWithTrace('in');
  // Fenced from the first send on: the task sends its output ahead, right after the batch.
  output.failSendWith = new ProducerFencedError('app-0_0');
  await task.process([
    {
      topic: 'in',
      partition: 0,
      offset: 0n,
      key: Buffer.from('k'),
      value: Buffer.from('v'),
      timestamp: 1,
      headers: { traceparent: Buffer.from(producer.headers['traceparent']!) },
    },
  ]);
  await t.rejects(task.commit(), { name: 'TaskMigratedError' });
  const spans = sdk.spans();
  const commit = one(spans, 'commit');
  t.equal(commit.attributes['streamtx.transaction.outcome'], 'fenced');
  t.equal(commit.status.code, SpanStatusCode.ERROR);
  t.match(commit.status.message, /fenced/);
  const send = one(spans, 'send out');
  t.equal(send.attributes['streamtx.transaction.outcome'], 'fenced');
  t.equal(send.status.code, SpanStatusCode.ERROR);
  t.equal(one(spans, 'process in').status.code, SpanStatusCode.UNSET, 'processing itself worked');

  await sdk.refresh();
  const fenced = sdk
    .points('streamtx.transactions')
    .find((p) => p.attributes['streamtx.transaction.outcome'] === 'fenced');
  t.equal(fenced?.value, 1, 'the fencing is counted');
  t.equal(sdk.points('streamtx.send.errors')[0]?.value, 1, 'and the failed send');
});

t.test('punctuator and restore spans; sends in a punctuator are its children', async (t) => {
  setDefaultTelemetry(openTelemetry());
  const topology = new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'count',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        let store!: KeyValueStore<string, number>;
        return {
          init: (c) => {
            ctx = c;
            store = c.getStateStore('counts');
            c.schedule(1000, 'wall-clock', async () => {
              for (const { key, value } of store.all())
                await ctx.forward({ key, value: String(value), timestamp: 0, headers: {} });
            });
          },
          process: (r) => {
            if (r.value === 'boom') throw new Error('boom');
            store.put(r.key, (store.get(r.key) ?? 0) + 1);
          },
        };
      },
      'src',
    )
    .addStateStore(
      Stores.keyValue('counts', {
        keySerde: Serdes.string(),
        valueSerde: Serdes.int32(),
        persistent: false,
      }),
      'count',
    )
    .addSink(
      'out',
      { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'count',
    );
  const driver = new TopologyTestDriver(topology);
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  await input.pipeKeyValueList([
    { key: 'a', value: '1' },
    { key: 'b', value: '1' },
  ]);
  await driver.advanceWallClockTime(1000);
  let spans = sdk.spans();
  const punctuate = one(spans, 'punctuate count');
  t.match(punctuate.attributes, {
    'streamtx.processor.name': 'count',
    'streamtx.punctuation.type': 'wall-clock',
    'streamtx.punctuation.time': 1000,
  });
  const sends = spans.filter((s) => s.name === 'send out');
  t.equal(sends.length, 2);
  for (const s of sends) t.equal(s.parentSpanId, punctuate.spanContext().spanId);

  // A failure rebuilds the task, which restores the in-memory store from its changelog.
  sdk.exporter.reset();
  await t.rejects(input.pipeInput('c', 'boom'));
  spans = sdk.spans();
  const restore = one(spans, 'restore counts');
  t.match(restore.attributes, {
    'streamtx.store.name': 'counts',
    'messaging.destination.name': 'topology-test-driver-counts-changelog',
    'streamtx.restore.records': 2,
    'streamtx.restore.total': 2,
  });
});

t.test('sampling is honoured: a sampled-out producer yields no spans downstream', async (t) => {
  const sampled = memorySdk({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }) });
  setDefaultTelemetry(openTelemetry({ tracerProvider: sampled.tracerProvider }));
  const driver = new TopologyTestDriver(upperCase('in', 'out'));
  t.teardown(() => driver.close());
  const producer = produceWithTrace('in');
  const notSampled = producer.headers['traceparent']!.replace(/-01$/, '-00');
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
  await input.pipeInput('k', 'v', 1, { traceparent: notSampled });
  t.same(
    sampled.spans().map((s) => s.name),
    ['commit'],
    'no process or send span for a record whose producer was not sampled (the commit is a root)',
  );
  t.equal(
    output.readRecord().headers['traceparent']?.toString(),
    notSampled,
    'the unsampled context passes through, so the next app does not sample either',
  );
  sampled.exporter.reset();
  await input.pipeInput('k', 'v', 2, producer.headers);
  t.same(
    sampled
      .spans()
      .map((s) => s.name)
      .sort(),
    ['commit', 'process in', 'send out'],
    'a sampled producer: process, send and commit',
  );
  t.equal(
    one(sampled.spans(), 'process in').spanContext().traceFlags & TraceFlags.SAMPLED,
    TraceFlags.SAMPLED,
  );

  const never = memorySdk({ sampler: new AlwaysOffSampler() });
  setDefaultTelemetry(openTelemetry({ tracerProvider: never.tracerProvider }));
  const off = new TopologyTestDriver(upperCase('in', 'out'));
  t.teardown(() => off.close());
  await off.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('k', 'v');
  t.same(never.spans(), [], 'sampling off: nothing recorded');

  const ratio = memorySdk({ sampler: new TraceIdRatioBasedSampler(0.5) });
  setDefaultTelemetry(
    openTelemetry({ tracerProvider: ratio.tracerProvider, processParent: 'none' }),
  );
  const half = new TopologyTestDriver(upperCase('in', 'out'));
  t.teardown(() => half.close());
  const halfInput = half.createInputTopic('in', Serdes.string(), Serdes.string());
  for (let i = 0; i < 200; i++) await halfInput.pipeInput(`k${i}`, 'v');
  const processed = ratio.spans().filter((s) => s.name === 'process in').length;
  t.ok(processed > 50 && processed < 150, `about half the records sampled (${processed}/200)`);
});

t.test('without a registered SDK nothing is recorded and no header is added', async (t) => {
  // A provider that is not the global one and not passed: openTelemetry() looks up a
  // global that, in a process without an SDK, is the API's no-op.
  const telemetry = openTelemetry({ tracerProvider: undefined, traces: false, metrics: false });
  setDefaultTelemetry(telemetry);
  const driver = new TopologyTestDriver(upperCase('in', 'out'));
  t.teardown(() => driver.close());
  await driver.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('k', 'v');
  t.same(sdk.spans(), []);
  t.same(
    driver.createOutputTopic('out', Serdes.string(), Serdes.string()).readRecord().headers,
    {},
  );
});

t.test('metrics: records processed, latencies, transactions', async (t) => {
  const metrics = memorySdk();
  setDefaultTelemetry(openTelemetry({ meterProvider: metrics.meterProvider }));
  const driver = new TopologyTestDriver(upperCase('in', 'out'), { applicationId: 'metered' });
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  for (const v of ['a', 'b', 'c']) await input.pipeInput('k', v);
  await t.rejects(input.pipeInput('k', 'boom'));
  await metrics.refresh();
  const labels = { 'streamtx.application.id': 'metered', 'streamtx.task.id': '0_0' };
  t.match(metrics.points('streamtx.process.records'), [{ attributes: labels, value: 4 }]);
  const latency = metrics.points('streamtx.process.duration')[0]?.value as { count: number };
  t.equal(latency.count, 4);
  const outcomes = Object.fromEntries(
    metrics
      .points('streamtx.transactions')
      .map((p) => [p.attributes['streamtx.transaction.outcome'], p.value]),
  );
  t.same(outcomes, { committed: 3, aborted: 1 });
  const commitLatency = metrics
    .points('streamtx.commit.duration')
    .find((p) => p.attributes['streamtx.transaction.outcome'] === 'committed');
  t.equal((commitLatency?.value as { count: number }).count, 3);
});

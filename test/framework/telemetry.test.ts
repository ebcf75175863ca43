// The telemetry interface: the option, the process default, and the cost of
// OpenTelemetry when no SDK is registered (this file registers none).
import t from 'tap';
import {
  Serdes,
  StreamsConfigError,
  Topology,
  getDefaultTelemetry,
  noopTelemetry,
  setDefaultTelemetry,
  type Telemetry,
} from '../../framework/index.ts';
import { openTelemetry } from '../../otel.ts';
import { compileStreamsAppOptions } from '../../framework/options.ts';
import { TopologyTestDriver } from '../../testkit/index.ts';

const base = { applicationId: 'app', brokers: ['localhost:9092'] };

t.test('the telemetry option takes a Telemetry and is absent by default', async (t) => {
  t.notOk('telemetry' in compileStreamsAppOptions(base), 'resolved when a task starts');
  const telemetry = openTelemetry();
  t.equal(compileStreamsAppOptions({ ...base, telemetry }).telemetry, telemetry);
  for (const bad of [{}, 'otel', { task: () => undefined }]) {
    const error = t.throws(() =>
      compileStreamsAppOptions({ ...base, telemetry: bad as unknown as Telemetry }),
    ) as unknown;
    t.ok(error instanceof StreamsConfigError);
    t.equal((error as StreamsConfigError).field, 'telemetry');
  }
});

t.test('the process default is no-op until set, and resets', async (t) => {
  t.equal(getDefaultTelemetry(), noopTelemetry);
  const telemetry = openTelemetry();
  setDefaultTelemetry(telemetry);
  t.equal(getDefaultTelemetry(), telemetry);
  setDefaultTelemetry(undefined);
  t.equal(getDefaultTelemetry(), noopTelemetry);
});

t.test(
  'without a registered SDK, openTelemetry() records nothing and adds no header',
  async (t) => {
    const telemetry = openTelemetry();
    const task = telemetry.task({ applicationId: 'a', groupId: 'a', taskId: '0_0', partition: 0 });
    const record = {
      topic: 'in',
      partition: 0,
      offset: 0n,
      key: null,
      value: null,
      timestamp: 0,
      headers: {},
    };
    t.equal(task.process(record), undefined, 'no scope: the task does no per-record work');
    t.equal(task.commit(), undefined);
    t.equal(task.punctuate('p', 'wall-clock', 0), undefined);

    setDefaultTelemetry(telemetry);
    t.teardown(() => setDefaultTelemetry(undefined));
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addSink(
        'out',
        { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'src',
      );
    const driver = new TopologyTestDriver(topology);
    t.teardown(() => driver.close());
    await driver.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('k', 'v');
    t.same(
      driver.createOutputTopic('out', Serdes.string(), Serdes.string()).readRecord().headers,
      {},
    );
  },
);

// A worker app for the joins' real-cluster test (test/dsl/joins.int.test.ts), configured by env.
// Every input value is a decimal sequence number v with event time BASE_TIME + v × TICK_MS.
//   SCENARIO=stream-table   INPUT ⋈ TABLE (KStream–KTable join): OUTPUT value `${v}:${row}`
//   SCENARIO=stream-stream  INPUT ⋈ OTHER within WINDOW_MS (grace GRACE_MS): OUTPUT `${l}:${r}`
import { Serdes, type StreamsAppOptions } from '../../../framework/index.ts';
import { JoinWindows, StreamsBuilder } from '../../../dsl/index.ts';

const env = process.env;
const required = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`join-app needs ${name}`);
  return v;
};

function buildTopology() {
  const S = Serdes.string();
  const base = Number(required('BASE_TIME'));
  const tick = Number(required('TICK_MS'));
  const consumed = {
    keySerde: S,
    valueSerde: S,
    timestampExtractor: (record: { value: unknown }) =>
      base + Number(String(record.value).split(':')[0]) * tick,
  };
  const builder = new StreamsBuilder();
  const input = builder.stream(required('INPUT'), consumed);
  const scenario = required('SCENARIO');
  if (scenario === 'stream-table') {
    // Table rows are `${v}:${row}`: v places the row in event time, row is what joins.
    const table = builder.table(required('TABLE'), consumed);
    input
      .join(table, (v, row) => `${v}:${row.split(':')[1]}`)
      .to(required('OUTPUT'), { valueSerde: S });
  } else if (scenario === 'stream-stream') {
    const other = builder.stream(required('OTHER'), consumed);
    input
      .join(
        other,
        (l, r) => `${l}:${r}`,
        JoinWindows.ofTimeDifference(Number(required('WINDOW_MS'))).grace(
          Number(required('GRACE_MS')),
        ),
      )
      .to(required('OUTPUT'), { valueSerde: S });
  } else {
    throw new Error(`join-app: unknown SCENARIO ${scenario}`);
  }
  return builder.build();
}

export const topology = buildTopology();

export const options: StreamsAppOptions = {
  applicationId: required('APP_ID'),
  brokers: required('BROKERS').split(','),
  stateDir: required('STATE_DIR'),
  commitIntervalMs: 100,
  sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS ?? 6000),
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 20_000,
  logLevel: 'info',
};

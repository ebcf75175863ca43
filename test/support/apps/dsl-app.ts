// A worker app for the DSL's real-cluster tests, configured by env:
//   SCENARIO=groupby-count     keys change through a repartition topic, then count():
//                              group `g${value % GROUPS}`, counts to OUTPUT as decimal strings
//   SCENARIO=hopping-suppress  per key, hopping windows of WINDOW_MS advancing by ADVANCE_MS
//                              (grace GRACE_MS) of {count, sum}, one final result per window
//                              via suppress(untilWindowCloses), to OUTPUT as JSON
// The hopping scenario's event time is the value: timestamp = BASE_TIME + value × TICK_MS.
import { Serdes, type StreamsAppOptions } from '../../../framework/index.ts';
import { StreamsBuilder, TimeWindows, untilWindowCloses } from '../../../dsl/index.ts';

const env = process.env;
const required = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`dsl-app needs ${name}`);
  return v;
};

export const GROUPS = 5;
export interface WindowResult {
  key: string;
  start: number;
  end: number;
  count: number;
  sum: number;
}

export function buildTopology(scenario: string, input: string, output: string) {
  const builder = new StreamsBuilder();
  if (scenario === 'groupby-count') {
    builder
      .stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      // The selected key's serde: a key change forgets the stream's (the values keep theirs).
      .groupBy((_key, value) => `g${Number(value) % GROUPS}`, {
        name: 'by-group',
        keySerde: Serdes.string(),
      })
      .count({ storeName: 'group-counts' })
      .toStream()
      // Decimal strings, so the test's text reader sees them as they are.
      .mapValues((count) => String(count))
      .to(output, { valueSerde: Serdes.string() });
  } else if (scenario === 'hopping-suppress') {
    const base = Number(required('BASE_TIME'));
    const tick = Number(required('TICK_MS'));
    const windowMs = Number(required('WINDOW_MS'));
    builder
      .stream(input, {
        keySerde: Serdes.string(),
        valueSerde: Serdes.string(),
        timestampExtractor: (record) => base + Number(record.value) * tick,
      })
      .groupByKey()
      .windowedBy(
        TimeWindows.ofSize(windowMs)
          .advanceBy(Number(required('ADVANCE_MS')))
          .grace(Number(required('GRACE_MS'))),
      )
      .aggregate(
        () => ({ count: 0, sum: 0 }),
        (_key, value, agg) => ({ count: agg.count + 1, sum: agg.sum + Number(value) }),
        { storeName: 'hopping-sums', valueSerde: Serdes.json<{ count: number; sum: number }>() },
      )
      .suppress(untilWindowCloses)
      .toStream()
      .map((key, agg) => ({
        key: key.key,
        value: {
          key: key.key,
          start: key.window.start,
          end: key.window.end,
          ...agg,
        } as WindowResult,
      }))
      .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.json<WindowResult>() });
  } else {
    throw new Error(`dsl-app: unknown SCENARIO ${scenario}`);
  }
  return builder.build();
}

export const topology = buildTopology(required('SCENARIO'), required('INPUT'), required('OUTPUT'));

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

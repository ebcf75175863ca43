// The chaos harness's default app, also used by the state tests: for each input record
// (key, integer value) it echoes the value to ECHO and emits the key's running
// count/sum/min/max to AGGREGATES, keeping them in the logged store
// `aggregates`. FAIL_ON=<value> throws after the store write for that value.
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../../framework/index.ts';
import { Stores, type KeyValueStore } from '../../stores/index.ts';

export interface Aggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
}

const env = process.env;
const required = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`aggregate-app needs ${name}`);
  return v;
};

class Aggregator implements Processor<string, string, string, string> {
  private context!: ProcessorContext<string, string>;
  private store!: KeyValueStore<string, Aggregate>;
  init(context: ProcessorContext<string, string>): void {
    this.context = context;
    this.store = context.getStateStore<KeyValueStore<string, Aggregate>>('aggregates');
  }
  async process(record: StreamRecord<string, string>): Promise<void> {
    const v = Number(record.value);
    const old = this.store.get(record.key);
    const next: Aggregate = old
      ? {
          count: old.count + 1,
          sum: old.sum + v,
          min: Math.min(old.min, v),
          max: Math.max(old.max, v),
        }
      : { count: 1, sum: v, min: v, max: v };
    this.store.put(record.key, next);
    if (env.FAIL_ON !== undefined && record.value === env.FAIL_ON)
      throw new Error(`refusing record ${record.value}`);
    await this.context.forward({ ...record, headers: {} }, 'echo');
    await this.context.forward(
      { ...record, value: JSON.stringify(next), headers: {} },
      'aggregates',
    );
  }
}

export const topology = new Topology()
  .addSource('input', {
    topics: [required('INPUT')],
    keySerde: Serdes.string(),
    valueSerde: Serdes.string(),
  })
  .addProcessor('aggregate', () => new Aggregator(), 'input')
  .addStateStore(
    Stores.keyValue('aggregates', {
      keySerde: Serdes.string(),
      valueSerde: Serdes.json<Aggregate>(),
      persistent: env.IN_MEMORY !== '1',
    }),
    'aggregate',
  )
  .addSink(
    'echo',
    { topic: required('ECHO'), keySerde: Serdes.string(), valueSerde: Serdes.string() },
    'aggregate',
  )
  .addSink(
    'aggregates',
    { topic: required('AGGREGATES'), keySerde: Serdes.string(), valueSerde: Serdes.string() },
    'aggregate',
  );

export const options = {
  applicationId: required('APP_ID'),
  brokers: required('BROKERS').split(','),
  stateDir: required('STATE_DIR'),
  commitIntervalMs: Number(env.COMMIT_INTERVAL_MS ?? 100),
  maxBatchRecords: Number(env.MAX_BATCH ?? 1000),
  sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS ?? 6000),
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 20_000,
  replicationFactor: Number(env.REPLICATION_FACTOR ?? -1),
  logLevel: 'warn' as const,
};

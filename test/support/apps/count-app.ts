// A worker app for the runtime tests: counts records per key of INPUT in the changelogged
// store `counts` and writes each new count (as text) to OUTPUT. Configured by env.
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../../../framework/index.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';

const env = process.env;
const required = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`count-app needs ${name}`);
  return v;
};

class Count implements Processor<string, string, string, string> {
  private context!: ProcessorContext<string, string>;
  private counts!: KeyValueStore<string, number>;
  init(context: ProcessorContext<string, string>): void {
    this.context = context;
    this.counts = context.getStateStore<KeyValueStore<string, number>>('counts');
  }
  async process(record: StreamRecord<string, string>): Promise<void> {
    const n = (this.counts.get(record.key) ?? 0) + 1;
    this.counts.put(record.key, n);
    await this.context.forward({ ...record, value: String(n) });
  }
}

export const topology = new Topology()
  .addSource('input', {
    topics: [required('INPUT')],
    keySerde: Serdes.string(),
    valueSerde: Serdes.string(),
  })
  .addProcessor('count', () => new Count(), 'input')
  .addStateStore(
    Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }),
    'count',
  )
  .addSink(
    'output',
    { topic: required('OUTPUT'), keySerde: Serdes.string(), valueSerde: Serdes.string() },
    'count',
  );

export const options = {
  applicationId: required('APP_ID'),
  brokers: required('BROKERS').split(','),
  stateDir: required('STATE_DIR'),
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  logLevel: 'info' as const,
};

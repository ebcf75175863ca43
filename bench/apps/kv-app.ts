// Worker app for bench/recovery.ts and bench/failover.ts (STANDBYS): puts every input record into the logged
// SQLite store `state` and echoes it. Configured by env.
import { Serdes, Topology, type Processor, type ProcessorContext } from '../../framework/index.ts';
import { Stores, type KeyValueStore } from '../../stores/index.ts';

const env = process.env;

class Put implements Processor<string, string, string, string> {
  private context!: ProcessorContext<string, string>;
  private store!: KeyValueStore<string, string>;
  init(context: ProcessorContext<string, string>): void {
    this.context = context;
    this.store = context.getStateStore<KeyValueStore<string, string>>('state');
  }
  async process(record: {
    key: string;
    value: string;
    timestamp: number;
    headers: Record<string, never>;
  }): Promise<void> {
    this.store.put(record.key, record.value);
    await this.context.forward(record);
  }
}

export const topology = new Topology()
  .addSource('in', { topics: [env.INPUT!], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addProcessor('put', () => new Put(), 'in')
  .addStateStore(
    Stores.keyValue('state', { keySerde: Serdes.string(), valueSerde: Serdes.string() }),
    'put',
  )
  .addSink(
    'out',
    { topic: env.OUTPUT!, keySerde: Serdes.string(), valueSerde: Serdes.string() },
    'put',
  );

export const options = {
  applicationId: env.APP_ID!,
  brokers: env.BROKERS!.split(','),
  stateDir: env.STATE_DIR!,
  replicationFactor: 1,
  numStandbyReplicas: Number(env.STANDBYS ?? 0),
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  logLevel: 'warn' as const,
};

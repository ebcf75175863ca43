// A worker app for the runtime tests: echoes INPUT to OUTPUT (key and value),
// and throws on the record whose value is FAIL_ON, if set. Configured by env.
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../../../framework/index.ts';

const env = process.env;
const required = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`echo-app needs ${name}`);
  return v;
};

class Echo implements Processor<string, string, string, string> {
  private context!: ProcessorContext<string, string>;
  init(context: ProcessorContext<string, string>): void {
    this.context = context;
  }
  async process(record: StreamRecord<string, string>): Promise<void> {
    if (env.FAIL_ON !== undefined && record.value === env.FAIL_ON)
      throw new Error(`refusing record ${record.value}`);
    await this.context.forward({ ...record, headers: {} });
  }
}

export const topology = new Topology()
  .addSource('input', {
    topics: [required('INPUT')],
    keySerde: Serdes.string(),
    valueSerde: Serdes.string(),
  })
  .addProcessor('echo', () => new Echo(), 'input')
  .addSink(
    'output',
    { topic: required('OUTPUT'), keySerde: Serdes.string(), valueSerde: Serdes.string() },
    'echo',
  );

export const options = {
  applicationId: required('APP_ID'),
  brokers: required('BROKERS').split(','),
  processingGuarantee: (env.GUARANTEE ?? 'exactly_once') as 'exactly_once' | 'at_least_once',
  commitIntervalMs: Number(env.COMMIT_INTERVAL_MS ?? 100),
  sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS ?? 6000),
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 20_000,
  logLevel: 'info' as const,
};

/**
 * streamtx peer of Kafka Streams' `groupByKey().count()` with caching off: a
 * count processor over a changelogged SQLite key-value store, forwarding every
 * update (int64, byte-compatible with Java's LongSerializer). Run by
 * bench/peers/run.ts as `streamtx run` (options in env.ts).
 */
import {
  Serdes,
  Stores,
  Topology,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type Record,
} from '../../../index.ts';
import { peerEnv } from './env.ts';

class Count implements Processor<string, string, string, bigint> {
  #context!: ProcessorContext<string, bigint>;
  #counts!: KeyValueStore<string, bigint>;
  init(context: ProcessorContext<string, bigint>): void {
    this.#context = context;
    this.#counts = context.getStateStore<KeyValueStore<string, bigint>>('counts');
  }
  async process(record: Record<string, string>): Promise<void> {
    const count = (this.#counts.get(record.key) ?? 0n) + 1n;
    this.#counts.put(record.key, count);
    await this.#context.forward({ ...record, value: count });
  }
}

const env = peerEnv();

export const topology = new Topology()
  .addSource('in', { topics: [env.input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addProcessor('count', () => new Count(), 'in')
  .addStateStore(
    Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int64() }),
    'count',
  )
  .addSink(
    'out',
    { topic: env.output, keySerde: Serdes.string(), valueSerde: Serdes.int64() },
    'count',
  );

export const options = env.options;

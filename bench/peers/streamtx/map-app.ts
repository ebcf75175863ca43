/**
 * streamtx peer of Kafka Streams' `mapValues(String::toUpperCase)`: a stateless
 * map processor. Run by bench/peers/run.ts as `streamtx run` (options in env.ts).
 */
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record,
} from '../../../index.ts';
import { peerEnv } from './env.ts';

class UpperCase implements Processor<string, string, string, string> {
  #context!: ProcessorContext<string, string>;
  init(context: ProcessorContext<string, string>): void {
    this.#context = context;
  }
  async process(record: Record<string, string>): Promise<void> {
    await this.#context.forward({ ...record, value: record.value.toUpperCase() });
  }
}

const env = peerEnv();

export const topology = new Topology()
  .addSource('in', { topics: [env.input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addProcessor('map', () => new UpperCase(), 'in')
  .addSink(
    'out',
    { topic: env.output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
    'map',
  );

export const options = env.options;

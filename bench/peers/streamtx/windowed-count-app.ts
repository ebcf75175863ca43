/**
 * streamtx peer of Kafka Streams' `groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(60 s))
 * .count()` with caching off, in the streamtx DSL: every update, keyed `<key>@<window start>`
 * (int64 counts, as Java's LongSerializer writes them). Store "wcounts", as the Java peer.
 */
import { Serdes } from '../../../index.ts';
import { StreamsBuilder, TimeWindows } from '../../../dsl/index.ts';
import { peerEnv } from './env.ts';

const env = peerEnv();
const builder = new StreamsBuilder();
builder
  .stream(env.input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .groupByKey()
  .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
  .count({ storeName: 'wcounts' })
  .toStream()
  .map((windowed, count) => ({ key: `${windowed.key}@${windowed.window.start}`, value: count }))
  .to(env.output, { keySerde: Serdes.string(), valueSerde: Serdes.long() });

export const topology = builder.build();
export const options = env.options;

/**
 * streamtx peer of Kafka Streams' `groupBy(key without its last character, Grouped "regroup")
 * .count()` with caching off, in the streamtx DSL: a repartition topic
 * `${applicationId}-regroup-repartition` between two sub-topologies, store "rcounts".
 */
import { Serdes } from '../../../index.ts';
import { StreamsBuilder } from '../../../dsl/index.ts';
import { regroupKey } from '../workload.ts';
import { peerEnv } from './env.ts';

const env = peerEnv();
const builder = new StreamsBuilder();
builder
  .stream(env.input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .groupBy((key) => regroupKey(key), {
    name: 'regroup',
    keySerde: Serdes.string(),
    valueSerde: Serdes.string(),
  })
  .count({ storeName: 'rcounts' })
  .toStream()
  .to(env.output, { keySerde: Serdes.string(), valueSerde: Serdes.long() });

export const topology = builder.build();
export const options = env.options;

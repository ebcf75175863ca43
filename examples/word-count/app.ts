/**
 * Word count, the canonical first streams app, with the DSL: lines in, and per word its
 * running count out — lines → words → groupBy(word) → count → word-counts.
 *
 * groupBy changes the key (line key → word), so the DSL routes the words through the
 * repartition topic `${applicationId}-words-repartition`: every count for a word is made by
 * the one task that owns the word, and written exactly once.
 *
 * Run a worker: `npx streamtx run examples/word-count/app.ts` (BROKERS, LINES, COUNTS,
 * APP_ID, STATE_DIR from the environment).
 */
import { Serdes, type StreamsAppOptions, type Topology } from '../../framework/index.ts';
import { StreamsBuilder } from '../../dsl/index.ts';

export interface WordCountOptions {
  linesTopic: string;
  countsTopic: string;
}

export function buildWordCountTopology(options: WordCountOptions): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(options.linesTopic, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .flatMapValues((line) =>
      line
        .toLowerCase()
        .split(/[^\p{L}\p{N}']+/u)
        .filter(Boolean),
    )
    .groupBy((_key, word) => word, {
      name: 'words',
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
    })
    .count({ storeName: 'word-counts' })
    .toStream()
    .to(options.countsTopic); // string keys, Serdes.long() counts (Java's LongDeserializer reads them)
  return builder.build();
}

// `streamtx run examples/word-count/app.ts`: the worker module form.
const env = process.env;
export const topology = buildWordCountTopology({
  linesTopic: env.LINES ?? 'text-lines',
  countsTopic: env.COUNTS ?? 'word-counts',
});
export const options: StreamsAppOptions = {
  applicationId: env.APP_ID ?? 'word-count',
  brokers: (env.BROKERS ?? env.STREAMTX_BOOTSTRAP ?? '127.0.0.1:9092').split(','),
  ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
};

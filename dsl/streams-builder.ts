/**
 * StreamsBuilder: the DSL's entry point (Kafka Streams' StreamsBuilder). `stream()` and
 * `table()` start a graph, the operators extend it, and `build()` compiles it into a
 * Topology — the same Processor API graph a user could write by hand — for StreamsApp or
 * the TopologyTestDriver.
 */
import { TopologyError } from '../framework/errors.ts';
import type { ProcessorSupplier, StoreBuilder } from '../framework/processor.ts';
import type { Topology } from '../framework/topology.ts';
import { Stores } from '../stores/stores.ts';
import { GlobalKTable, globalTableSource } from './global-ktable.ts';
import { KStream } from './kstream.ts';
import { KTable } from './ktable.ts';
import type { Consumed, Materialized } from './options.ts';
import { checkStoreKind, keyValueStoreFor } from './internals/common.ts';
import { InternalStreamsBuilder } from './internals/graph.ts';
import { storeValueGetter, tableSource } from './internals/table.ts';

export interface TableConsumed<K, V> extends Consumed<K, V> {
  /** The table's store (always materialized: a table keeps its rows). */
  materialized?: Omit<Materialized<K, V>, 'keySerde' | 'valueSerde' | 'retentionMs'>;
}

export interface GlobalTableConsumed<K, V> extends Omit<Consumed<K, V>, 'offsetReset'> {
  /** The table's store, on every worker; never changelogged (its topic is its log). */
  materialized?: Pick<Materialized<K, V>, 'storeName' | 'storeKind'>;
}

function topicList(topics: string | readonly string[], operator: string): string[] {
  const list = typeof topics === 'string' ? [topics] : [...topics];
  if (list.length === 0 || list.some((t) => typeof t !== 'string' || t === '')) {
    throw new TopologyError(`${operator}: needs one or more non-empty topic names`);
  }
  return list;
}

export class StreamsBuilder {
  readonly #builder = new InternalStreamsBuilder();

  /** A stream of the records of one or more topics. */
  stream<K, V>(topics: string | readonly string[], consumed: Consumed<K, V>): KStream<K, V> {
    const list = topicList(topics, 'stream()');
    const operator = `stream(${list.join(', ')})`;
    checkConsumed(operator, consumed);
    const name = this.#builder.claim(
      consumed.name ?? this.#builder.newProcessorName('KSTREAM-SOURCE-'),
      operator,
    );
    const node = this.#builder.addSource(name, {
      topics: list,
      keySerde: consumed.keySerde,
      valueSerde: consumed.valueSerde,
      timestampExtractor: consumed.timestampExtractor,
      offsetReset: consumed.offsetReset,
    });
    return new KStream<K, V>({
      builder: this.#builder,
      node,
      serdes: { keySerde: consumed.keySerde, valueSerde: consumed.valueSerde },
      repartitionRequired: false,
    });
  }

  /**
   * A table of a topic: each record upserts its key, a null value deletes it. Kept in a
   * timestamped key-value store (`${topic}-STATE-STORE-<index>` unless named), changelogged
   * like every store (Kafka Streams can reuse the source topic as the changelog; this does not).
   */
  table<K, V>(topic: string, consumed: TableConsumed<K, V>): KTable<K, V> {
    const [only] = topicList(topic, 'table()');
    const operator = `table(${String(only)})`;
    checkConsumed(operator, consumed);
    const sourceName = this.#builder.claim(
      consumed.name ?? this.#builder.newProcessorName('KSTREAM-SOURCE-'),
      operator,
    );
    const source = this.#builder.addSource(sourceName, {
      topics: [topic],
      keySerde: consumed.keySerde,
      valueSerde: consumed.valueSerde,
      timestampExtractor: consumed.timestampExtractor,
      offsetReset: consumed.offsetReset,
    });
    const storeName = consumed.materialized?.storeName ?? this.#builder.newStoreName(`${topic}-`);
    const name = this.#builder.claim(this.#builder.newProcessorName('KTABLE-SOURCE-'), operator);
    const store = keyValueStoreFor(
      operator,
      storeName,
      consumed.materialized,
      consumed.keySerde,
      consumed.valueSerde,
    );
    const node = this.#builder.addProcessor(
      name,
      tableSource<K, V>(storeName) as ProcessorSupplier<never, never>,
      [source],
      [store],
    );
    return new KTable<K, V>({
      builder: this.#builder,
      node,
      serdes: { keySerde: consumed.keySerde, valueSerde: consumed.valueSerde },
      repartitionRequired: false,
      valueGetter: storeValueGetter(storeName),
      windowClose: undefined,
    });
  }

  /**
   * A table every worker holds in full (Kafka Streams' globalTable): filled from every
   * partition of `topic` (read_committed), restored before the worker's tasks start, kept
   * current by the worker's global loop. Join a stream to it with
   * `stream.join(globalTable, (key, value) => tableKey, joiner)`. Its store,
   * `${topic}-STATE-STORE-<index>` unless named, has no changelog: the topic is its log.
   */
  globalTable<K, V>(topic: string, consumed: GlobalTableConsumed<K, V>): GlobalKTable<K, V> {
    const [only] = topicList(topic, 'globalTable()');
    const operator = `globalTable(${String(only)})`;
    checkConsumed(operator, consumed);
    checkStoreKind(operator, consumed.materialized?.storeKind);
    if ((consumed as { offsetReset?: unknown }).offsetReset !== undefined) {
      throw new TopologyError(
        `${operator}: a global table is always read from the start of its topic; offsetReset does not apply`,
      );
    }
    const sourceName = this.#builder.claim(
      consumed.name ?? this.#builder.newProcessorName('KSTREAM-SOURCE-'),
      operator,
    );
    const storeName = consumed.materialized?.storeName ?? this.#builder.newStoreName(`${topic}-`);
    const processorName = this.#builder.claim(
      this.#builder.newProcessorName('KTABLE-SOURCE-'),
      operator,
    );
    const store = Stores.timestampedKeyValue(storeName, {
      keySerde: consumed.keySerde,
      valueSerde: consumed.valueSerde,
      persistent: (consumed.materialized?.storeKind ?? 'sqlite') === 'sqlite',
      logging: false,
    });
    this.#builder.addGlobalStore(sourceName, processorName, store, {
      topic,
      keySerde: consumed.keySerde,
      valueSerde: consumed.valueSerde,
      timestampExtractor: consumed.timestampExtractor,
      processor: globalTableSource<K, V>(storeName) as ProcessorSupplier<K, V, never, never>,
    });
    return new GlobalKTable<K, V>({
      builder: this.#builder,
      storeName,
      keySerde: consumed.keySerde,
      valueSerde: consumed.valueSerde,
    });
  }

  /** A store for `KStream.process(supplier, storeName)` (Kafka Streams' addStateStore). */
  addStateStore(storeBuilder: StoreBuilder): this {
    this.#builder.addUserStore(storeBuilder);
    return this;
  }

  /** A new Topology of everything built so far (each call compiles afresh). */
  build(): Topology {
    return this.#builder.build();
  }
}

function checkConsumed(operator: string, consumed: unknown): void {
  const c = consumed as Partial<Consumed<unknown, unknown>> | undefined;
  for (const field of ['keySerde', 'valueSerde'] as const) {
    const serde = c?.[field];
    if (typeof serde?.serialize !== 'function' || typeof serde.deserialize !== 'function') {
      throw new TopologyError(`${operator}: ${field} must be a Serde (e.g. Serdes.string())`);
    }
  }
}

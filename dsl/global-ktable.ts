/**
 * GlobalKTable: a table every worker holds in full, filled from every partition of its topic
 * (Kafka Streams' GlobalKTable). It is read by `KStream.join/leftJoin(globalTable, keySelector,
 * joiner)`: no co-partitioning is needed, and the stream keeps its key. It is not
 * time-synchronized with the stream: a record meets whatever the worker's copy holds when the
 * record is processed. See framework/runtime/global-state.ts for how it is kept.
 */
import type { ProcessorSupplier } from '../framework/processor.ts';
import type { Serde } from '../framework/serdes.ts';
import type { TimestampedKeyValueStore } from '../stores/timestamped-key-value-store.ts';
import type { InternalStreamsBuilder } from './internals/graph.ts';
import type { ValueGetterSupplier } from './internals/table.ts';

export interface GlobalTableState<K, V> {
  readonly builder: InternalStreamsBuilder;
  readonly storeName: string;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
}

export class GlobalKTable<K, V> {
  /** @internal */
  readonly state: GlobalTableState<K, V>;

  /** @internal Built by StreamsBuilder.globalTable; not for users. */
  constructor(state: GlobalTableState<K, V>) {
    this.state = state;
  }

  /** The store holding the table: `context.getStateStore(name)` reads it from any processor. */
  get queryableStoreName(): string {
    return this.state.storeName;
  }

  /** @internal How a join reads the table: its global store, connected to no processor. */
  valueGetterSupplier(): ValueGetterSupplier<K, V> {
    const { storeName } = this.state;
    return {
      storeNames: [],
      get() {
        let store!: TimestampedKeyValueStore<K, V>;
        return {
          init(context) {
            store = context.getStateStore<TimestampedKeyValueStore<K, V>>(storeName);
          },
          get: (key) => store.get(key),
        };
      },
    };
  }
}

/** Upserts each record of a global table's topic into its store; a null value deletes. */
export function globalTableSource<K, V>(
  storeName: string,
): ProcessorSupplier<K, V | null, never, never> {
  return () => {
    let store!: TimestampedKeyValueStore<K, V>;
    return {
      init(context) {
        store = context.getStateStore<TimestampedKeyValueStore<K, V>>(storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined) return;
        if (record.value === null || record.value === undefined) store.delete(record.key);
        else store.put(record.key, { value: record.value, timestamp: record.timestamp });
      },
    };
  };
}

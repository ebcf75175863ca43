/**
 * KTable processors, after Kafka Streams' KTableSource, KTableFilter, KTableMapValues,
 * KTableRepartitionMap, KTableAggregate and KTableReduce. Table updates travel as `Change`
 * (new and old value), always: a grouped table's aggregation needs the old value to subtract
 * it from the old group.
 *
 * Value getters (KTableValueGetterSupplier): how a later join reads a table's current value
 * for a key — from its store when it is materialized, or through its parent's getter and
 * its own filter or mapper when it is not.
 */
import type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  Record as StreamRecord,
} from '../../framework/processor.ts';
import type { KeyValue } from '../../stores/key-value-store.ts';
import type { TimestampedKeyValueStore } from '../../stores/timestamped-key-value-store.ts';
import type { ValueAndTimestamp } from '../../stores/internals/value-and-timestamp.ts';
import type { Aggregator, Initializer, Reducer } from './aggregate.ts';
import type { Change } from './change.ts';

export interface ValueGetter<K, V> {
  init(context: ProcessorContext<unknown, unknown>): void;
  get(key: K): ValueAndTimestamp<V> | undefined;
}

/** What a join connects to: the stores it must be connected to, and a getter per task. */
export interface ValueGetterSupplier<K, V> {
  readonly storeNames: readonly string[];
  get(): ValueGetter<K, V>;
}

export function storeValueGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return {
    storeNames: [storeName],
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

export function mappedValueGetter<K, V, VR>(
  parent: ValueGetterSupplier<K, V>,
  map: (key: K, value: V) => VR | null,
): ValueGetterSupplier<K, VR> {
  return {
    storeNames: parent.storeNames,
    get() {
      const inner = parent.get();
      return {
        init: (context) => inner.init(context),
        get(key) {
          const found = inner.get(key);
          if (found === undefined) return undefined;
          const value = map(key, found.value);
          return value === null ? undefined : { value, timestamp: found.timestamp };
        },
      };
    },
  };
}

type ChangeContext<K, V> = ProcessorContext<K, Change<V>>;

function forward<K, V>(
  context: ChangeContext<K, V>,
  record: StreamRecord<unknown, unknown>,
  key: K,
  newValue: V | null,
  oldValue: V | null,
  timestamp = record.timestamp,
): void {
  void context.forward({ key, value: { newValue, oldValue }, timestamp, headers: record.headers });
}

/**
 * A table from a topic or a stream (KTableSource): each record upserts its key (a null value
 * deletes it) in a timestamped store and forwards the change with the previous value.
 */
export function tableSource<K, V>(storeName: string): ProcessorSupplier<K, V | null, K, Change<V>> {
  return () => {
    let context!: ChangeContext<K, V>;
    let store!: TimestampedKeyValueStore<K, V>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<TimestampedKeyValueStore<K, V>>(storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined) {
          context.droppedRecord('null key');
          return;
        }
        const old = store.get(record.key);
        const value = record.value ?? null;
        if (value === null) store.delete(record.key);
        else store.put(record.key, { value, timestamp: record.timestamp });
        forward(context, record, record.key, value, old?.value ?? null);
      },
    } satisfies Processor<K, V | null, K, Change<V>>;
  };
}

/**
 * Applies `map` (null = "not in the result") to a table's new and old values (KTableFilter,
 * KTableMapValues); an update that is absent before and after is not forwarded. When the
 * result is materialized it is kept in `storeName`.
 */
export function tableTransform<K, V, VR>(
  map: (key: K, value: V) => VR | null,
  storeName: string | undefined,
): ProcessorSupplier<K, Change<V>, K, Change<VR>> {
  return () => {
    let context!: ChangeContext<K, VR>;
    let store: TimestampedKeyValueStore<K, VR> | undefined;
    return {
      init(ctx) {
        context = ctx;
        if (storeName !== undefined)
          store = ctx.getStateStore<TimestampedKeyValueStore<K, VR>>(storeName);
      },
      process(record) {
        const { newValue, oldValue } = record.value;
        const next = newValue === null ? null : map(record.key, newValue);
        const old = oldValue === null ? null : map(record.key, oldValue);
        if (next === null && old === null) return;
        if (store !== undefined) {
          if (next === null) store.delete(record.key);
          else store.put(record.key, { value: next, timestamp: record.timestamp });
        }
        forward(context, record, record.key, next, old);
      },
    } satisfies Processor<K, Change<V>, K, Change<VR>>;
  };
}

/** A table's change as a stream of its new values (KTable#toStream); deletions are null values. */
export function changeToValue<K, V>(): ProcessorSupplier<K, Change<V>, K, V | null> {
  return () => {
    let context!: ProcessorContext<K, V | null>;
    return {
      init(ctx) {
        context = ctx;
      },
      process(record) {
        void context.forward({
          key: record.key,
          value: record.value.newValue,
          timestamp: record.timestamp,
          headers: record.headers,
        });
      },
    } satisfies Processor<K, Change<V>, K, V | null>;
  };
}

/**
 * KTableRepartitionMap: re-keys a table update for its new group. The old value goes to its
 * old group (to be subtracted), the new value to its new group (to be added); when both land
 * on the same key they travel as one change (KIP-904), so the aggregate never shows the
 * intermediate "subtracted, not yet added" state.
 */
export function tableRepartitionMap<K, V, KR, VR>(
  selector: (key: K, value: V) => KeyValue<KR, VR>,
): ProcessorSupplier<K, Change<V>, KR, Change<VR>> {
  return () => {
    let context!: ChangeContext<KR, VR>;
    return {
      init(ctx) {
        context = ctx;
      },
      process(record) {
        const { newValue, oldValue } = record.value;
        const next = newValue === null ? undefined : selector(record.key, newValue);
        const old = oldValue === null ? undefined : selector(record.key, oldValue);
        if (next !== undefined && old !== undefined && next.key === old.key) {
          forward(context, record, next.key, next.value, old.value);
          return;
        }
        if (old !== undefined) forward(context, record, old.key, null, old.value);
        if (next !== undefined) forward(context, record, next.key, next.value, null);
      },
    } satisfies Processor<K, Change<V>, KR, Change<VR>>;
  };
}

/**
 * KTableAggregate / KTableReduce: subtracts a change's old value from the key's aggregate,
 * then adds its new value, in a timestamped store; forwards the new and old aggregate.
 */
export function tableAggregate<K, V, VA>(
  storeName: string,
  step:
    | {
        kind: 'aggregate';
        initializer: Initializer<VA>;
        adder: Aggregator<K, V, VA>;
        subtractor: Aggregator<K, V, VA>;
      }
    | { kind: 'reduce'; adder: Reducer<VA>; subtractor: Reducer<VA> },
): ProcessorSupplier<K, Change<V>, K, Change<VA>> {
  return () => {
    let context!: ChangeContext<K, VA>;
    let store!: TimestampedKeyValueStore<K, VA>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<TimestampedKeyValueStore<K, VA>>(storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined) {
          context.droppedRecord('null key');
          return;
        }
        const { newValue, oldValue } = record.value;
        const stored = store.get(record.key);
        const before = stored?.value ?? null;
        let agg: VA | null = before;
        if (oldValue !== null && agg !== null) {
          agg =
            step.kind === 'aggregate'
              ? step.subtractor(record.key, oldValue, agg)
              : step.subtractor(agg, oldValue as unknown as VA);
        }
        if (newValue !== null) {
          if (step.kind === 'aggregate')
            agg = step.adder(record.key, newValue, agg ?? step.initializer());
          else
            agg =
              agg === null
                ? (newValue as unknown as VA)
                : step.adder(agg, newValue as unknown as VA);
        }
        const timestamp =
          stored === undefined ? record.timestamp : Math.max(stored.timestamp, record.timestamp);
        if (agg === null) store.delete(record.key);
        else store.put(record.key, { value: agg, timestamp });
        forward(context, record, record.key, agg, before, timestamp);
      },
    } satisfies Processor<K, Change<V>, K, Change<VA>>;
  };
}

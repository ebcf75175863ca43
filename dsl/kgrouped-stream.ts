/**
 * Grouped streams and their aggregations (Kafka Streams' KGroupedStream,
 * TimeWindowedKStream, SessionWindowedKStream). The aggregation is where a repartition is
 * inserted when a key may have changed: sink → `${applicationId}-${name}-repartition` →
 * source, `name` being the Grouped name or else the aggregation's store name (as Kafka
 * Streams names it). Results are KTables: every update by default; windowed results can be
 * `suppress(untilWindowCloses)`-ed or use `emitStrategy(EmitStrategy.onWindowClose())`.
 */
import { TopologyError } from '../framework/errors.ts';
import type { ProcessorSupplier, StoreBuilder } from '../framework/processor.ts';
import { Serdes, type Serde } from '../framework/serdes.ts';
import { Stores } from '../stores/stores.ts';
import { KTable } from './ktable.ts';
import { Suppressed, type EmitStrategy, type Materialized } from './options.ts';
import {
  checkFunction,
  checkStoreKind,
  keyValueStoreFor,
  requireSerde,
  type StreamState,
  type WindowClose,
} from './internals/common.ts';
import {
  sessionWindowAggregate,
  slidingWindowAggregate,
  streamAggregate,
  timeWindowAggregate,
  type Aggregator,
  type Initializer,
  type Merger,
  type Reducer,
} from './internals/aggregate.ts';
import type { GraphNode } from './internals/graph.ts';
import { storeValueGetter } from './internals/table.ts';
import {
  SessionWindows,
  SlidingWindows,
  TimeWindows,
  WindowedSerdes,
  type Windowed,
} from './windows.ts';

export type { Aggregator, Initializer, Merger, Reducer };

const count =
  <K>(): Aggregator<K, unknown, number> =>
  (_key, _value, n) =>
    n + 1;

/** The upstream node an aggregation reads: the stream itself, or its repartition. */
function aggregationInput<K, V>(
  state: StreamState<K, V>,
  groupedName: string | undefined,
  storeName: string,
  operator: string,
): { node: GraphNode; keySerde: Serde<K> } {
  const keySerde = requireSerde(
    state.serdes.keySerde,
    operator,
    'keySerde',
    'Grouped (groupBy/groupByKey) or Materialized',
  );
  if (!state.repartitionRequired) return { node: state.node, keySerde };
  const valueSerde = requireSerde(
    state.serdes.valueSerde,
    `${operator} (repartition after a key change)`,
    'valueSerde',
    'Grouped (groupBy/groupByKey)',
  );
  const node = state.builder.addRepartition(
    groupedName ?? storeName,
    { keySerde, valueSerde },
    state.node,
  );
  return { node, keySerde };
}

function withKeySerde<K, V>(
  state: StreamState<K, V>,
  keySerde: Serde<K> | undefined,
): StreamState<K, V> {
  return keySerde === undefined || state.serdes.keySerde !== undefined
    ? state
    : { ...state, serdes: { keySerde, valueSerde: state.serdes.valueSerde } };
}

export class KGroupedStream<K, V> {
  readonly #state: StreamState<K, V>;
  readonly #groupedName: string | undefined;

  /** @internal */
  constructor(state: StreamState<K, V>, groupedName: string | undefined) {
    this.#state = state;
    this.#groupedName = groupedName;
  }

  /** Records per key (Kafka Streams' count): a KTable of safe-integer counts, stored with Serdes.long(). */
  count(materialized?: Materialized<K, number>): KTable<K, number> {
    return this.#aggregate('count()', () => 0, count<K>(), {
      valueSerde: Serdes.long(),
      ...materialized,
    });
  }

  /** Combines each key's values with `reducer(aggregate, value)`; the first value starts it. */
  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>): KTable<K, V> {
    checkFunction('reduce()', 'the reducer', reducer);
    return this.#build(
      'reduce()',
      { kind: 'reduce', reducer },
      {
        valueSerde: this.#state.serdes.valueSerde,
        ...materialized,
      },
    );
  }

  /** Folds each key's values into an aggregate: `initializer()` then `aggregator(key, value, aggregate)`. */
  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
  ): KTable<K, VA> {
    return this.#aggregate('aggregate()', initializer, aggregator, materialized);
  }

  /** Windowed aggregations over tumbling/hopping, sliding or session windows. */
  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SlidingWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows instanceof SessionWindows) {
      return new SessionWindowedKStream(this.#state, this.#groupedName, windows, undefined);
    }
    if (windows instanceof TimeWindows || windows instanceof SlidingWindows) {
      return new TimeWindowedKStream(this.#state, this.#groupedName, windows, undefined);
    }
    throw new TopologyError(
      'windowedBy(): expected TimeWindows, SlidingWindows or SessionWindows (e.g. TimeWindows.ofSize(60_000))',
    );
  }

  #aggregate<VA>(
    operator: string,
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized: Materialized<K, VA> | undefined,
  ): KTable<K, VA> {
    checkFunction(operator, 'the initializer', initializer);
    checkFunction(operator, 'the aggregator', aggregator);
    return this.#build(operator, { kind: 'aggregate', initializer, aggregator }, materialized);
  }

  #build<VA>(
    operator: string,
    step: Parameters<typeof streamAggregate<K, V, VA>>[1],
    materialized: Materialized<K, VA> | undefined,
  ): KTable<K, VA> {
    const { builder } = this.#state;
    const storeName = materialized?.storeName ?? builder.newStoreName('KSTREAM-AGGREGATE-');
    const name = builder.claim(builder.newProcessorName('KSTREAM-AGGREGATE-'), operator);
    const state = withKeySerde(this.#state, materialized?.keySerde);
    const { node: input, keySerde } = aggregationInput(
      state,
      this.#groupedName,
      storeName,
      operator,
    );
    const valueSerde = requireSerde(
      materialized?.valueSerde,
      operator,
      'valueSerde',
      'Materialized { valueSerde } (the aggregate type)',
    );
    const store = keyValueStoreFor(operator, storeName, materialized, keySerde, valueSerde);
    const node = builder.addProcessor(
      name,
      streamAggregate<K, V, VA>(storeName, step) as ProcessorSupplier<never, never>,
      [input],
      [store],
    );
    return new KTable<K, VA>({
      builder,
      node,
      serdes: { keySerde, valueSerde },
      repartitionRequired: false,
      valueGetter: storeValueGetter(storeName),
      windowClose: undefined,
    });
  }
}

interface WindowedStoreSpec {
  windowSizeMs: number;
  retentionMs: number;
}

function windowedStore<K, VA>(
  operator: string,
  storeName: string,
  materialized: Materialized<K, VA> | undefined,
  keySerde: Serde<K>,
  valueSerde: Serde<VA>,
  spec: WindowedStoreSpec & { minRetentionMs: number; what: string },
): StoreBuilder {
  checkStoreKind(operator, materialized?.storeKind);
  const retentionMs = materialized?.retentionMs ?? spec.retentionMs;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < spec.minRetentionMs) {
    throw new TopologyError(
      `${operator}: Materialized.retentionMs (${String(retentionMs)}) must be ≥ ${spec.what} (${spec.minRetentionMs} ms), or windows would expire before they close`,
    );
  }
  return Stores.timestampedWindow(storeName, {
    keySerde,
    valueSerde,
    windowSizeMs: spec.windowSizeMs,
    retentionMs,
    persistent: (materialized?.storeKind ?? 'sqlite') === 'sqlite',
    logging: materialized?.logging ?? true,
  });
}

/** A grouped stream over tumbling, hopping or sliding windows. */
export class TimeWindowedKStream<K, V> {
  readonly #state: StreamState<K, V>;
  readonly #groupedName: string | undefined;
  readonly #windows: TimeWindows | SlidingWindows;
  readonly #emit: EmitStrategy | undefined;

  /** @internal */
  constructor(
    state: StreamState<K, V>,
    groupedName: string | undefined,
    windows: TimeWindows | SlidingWindows,
    emit: EmitStrategy | undefined,
  ) {
    this.#state = state;
    this.#groupedName = groupedName;
    this.#windows = windows;
    this.#emit = emit;
  }

  /** When results are emitted: every update (default) or once per window when it closes (KIP-825). */
  emitStrategy(strategy: EmitStrategy): TimeWindowedKStream<K, V> {
    return new TimeWindowedKStream(this.#state, this.#groupedName, this.#windows, strategy);
  }

  count(materialized?: Materialized<K, number>): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, count<K>(), { valueSerde: Serdes.long(), ...materialized });
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>): KTable<Windowed<K>, V> {
    checkFunction('reduce()', 'the reducer', reducer);
    // As Kafka Streams' reduceInitializer: null until the first value, which starts the window.
    return this.#build<V>(
      'reduce()',
      () => null as unknown as V,
      (_key, value, agg) => (agg === null ? value : reducer(agg, value)),
      { valueSerde: this.#state.serdes.valueSerde, ...materialized },
    );
  }

  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
  ): KTable<Windowed<K>, VA> {
    checkFunction('aggregate()', 'the initializer', initializer);
    checkFunction('aggregate()', 'the aggregator', aggregator);
    return this.#build('aggregate()', initializer, aggregator, materialized);
  }

  #build<VA>(
    operator: string,
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized: Materialized<K, VA> | undefined,
  ): KTable<Windowed<K>, VA> {
    const { builder } = this.#state;
    const windows = this.#windows;
    const storeName = materialized?.storeName ?? builder.newStoreName('KSTREAM-AGGREGATE-');
    const name = builder.claim(builder.newProcessorName('KSTREAM-AGGREGATE-'), operator);
    const state = withKeySerde(this.#state, materialized?.keySerde);
    const { node: input, keySerde } = aggregationInput(
      state,
      this.#groupedName,
      storeName,
      operator,
    );
    const valueSerde = requireSerde(
      materialized?.valueSerde,
      operator,
      'valueSerde',
      'Materialized { valueSerde } (the aggregate type)',
    );
    let supplier: ProcessorSupplier<K, V, Windowed<K>, unknown>;
    let store: StoreBuilder;
    let windowKeySerde: Serde<Windowed<K>>;
    let windowClose: WindowClose;
    if (windows instanceof TimeWindows) {
      supplier = timeWindowAggregate(windows, { storeName, initializer, aggregator });
      store = windowedStore(operator, storeName, materialized, keySerde, valueSerde, {
        windowSizeMs: windows.sizeMs,
        retentionMs: windows.sizeMs + windows.graceMs,
        minRetentionMs: windows.sizeMs + windows.graceMs,
        what: 'window size + grace',
      });
      windowKeySerde = WindowedSerdes.timeWindowed(keySerde, windows.sizeMs);
      windowClose = { durationMs: windows.graceMs };
    } else {
      const d = windows.timeDifferenceMs;
      supplier = slidingWindowAggregate(windows, { storeName, initializer, aggregator });
      // Kafka Streams keeps sliding windows for 2 × time difference + grace: a record looks back that far.
      store = windowedStore(operator, storeName, materialized, keySerde, valueSerde, {
        windowSizeMs: d,
        retentionMs: 2 * d + windows.graceMs,
        minRetentionMs: 2 * d + windows.graceMs,
        what: '2 × time difference + grace',
      });
      windowKeySerde = WindowedSerdes.timeWindowed(keySerde, d);
      // Sliding window ends are inclusive and still take records at end = stream time − grace.
      windowClose = { durationMs: windows.graceMs + 1 };
    }
    const node = builder.addProcessor(
      name,
      supplier as ProcessorSupplier<never, never>,
      [input],
      [store],
    );
    const table = new KTable<Windowed<K>, VA>({
      builder,
      node,
      serdes: { keySerde: windowKeySerde, valueSerde },
      repartitionRequired: false,
      valueGetter: undefined,
      windowClose,
    });
    return this.#emit?.kind === 'on-window-close'
      ? table.suppress(Suppressed.untilWindowCloses())
      : table;
  }
}

/** A grouped stream over session windows. */
export class SessionWindowedKStream<K, V> {
  readonly #state: StreamState<K, V>;
  readonly #groupedName: string | undefined;
  readonly #windows: SessionWindows;
  readonly #emit: EmitStrategy | undefined;

  /** @internal */
  constructor(
    state: StreamState<K, V>,
    groupedName: string | undefined,
    windows: SessionWindows,
    emit: EmitStrategy | undefined,
  ) {
    this.#state = state;
    this.#groupedName = groupedName;
    this.#windows = windows;
    this.#emit = emit;
  }

  emitStrategy(strategy: EmitStrategy): SessionWindowedKStream<K, V> {
    return new SessionWindowedKStream(this.#state, this.#groupedName, this.#windows, strategy);
  }

  count(materialized?: Materialized<K, number>): KTable<Windowed<K>, number> {
    return this.aggregate(
      () => 0,
      count<K>(),
      (_k, a, b) => a + b,
      {
        valueSerde: Serdes.long(),
        ...materialized,
      },
    );
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>): KTable<Windowed<K>, V> {
    checkFunction('reduce()', 'the reducer', reducer);
    const combine = (agg: V, value: V): V =>
      agg === null ? value : value === null ? agg : reducer(agg, value);
    return this.#build<V>(
      'reduce()',
      () => null as unknown as V,
      (_key, value, agg) => combine(agg, value),
      (_key, left, right) => combine(left, right),
      { valueSerde: this.#state.serdes.valueSerde, ...materialized },
    );
  }

  /** `merger(key, left, right)` combines two sessions' aggregates when a record bridges them. */
  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    merger: Merger<K, VA>,
    materialized?: Materialized<K, VA>,
  ): KTable<Windowed<K>, VA> {
    checkFunction('aggregate()', 'the initializer', initializer);
    checkFunction('aggregate()', 'the aggregator', aggregator);
    checkFunction('aggregate()', 'the session merger', merger);
    return this.#build('aggregate()', initializer, aggregator, merger, materialized);
  }

  #build<VA>(
    operator: string,
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    merger: Merger<K, VA>,
    materialized: Materialized<K, VA> | undefined,
  ): KTable<Windowed<K>, VA> {
    const { builder } = this.#state;
    const windows = this.#windows;
    const storeName = materialized?.storeName ?? builder.newStoreName('KSTREAM-AGGREGATE-');
    const name = builder.claim(builder.newProcessorName('KSTREAM-AGGREGATE-'), operator);
    const state = withKeySerde(this.#state, materialized?.keySerde);
    const { node: input, keySerde } = aggregationInput(
      state,
      this.#groupedName,
      storeName,
      operator,
    );
    const valueSerde = requireSerde(
      materialized?.valueSerde,
      operator,
      'valueSerde',
      'Materialized { valueSerde } (the aggregate type)',
    );
    checkStoreKind(operator, materialized?.storeKind);
    const minRetentionMs = windows.inactivityGapMs + windows.graceMs;
    const retentionMs = materialized?.retentionMs ?? minRetentionMs;
    if (!Number.isSafeInteger(retentionMs) || retentionMs < minRetentionMs) {
      throw new TopologyError(
        `${operator}: Materialized.retentionMs (${String(retentionMs)}) must be ≥ inactivity gap + grace (${minRetentionMs} ms)`,
      );
    }
    const store = Stores.session(storeName, {
      keySerde,
      valueSerde,
      retentionMs,
      persistent: (materialized?.storeKind ?? 'sqlite') === 'sqlite',
      logging: materialized?.logging ?? true,
    });
    const supplier = sessionWindowAggregate(windows, {
      storeName,
      initializer,
      aggregator,
      merger,
    });
    const node = builder.addProcessor(
      name,
      supplier as ProcessorSupplier<never, never>,
      [input],
      [store],
    );
    const table = new KTable<Windowed<K>, VA>({
      builder,
      node,
      serdes: { keySerde: WindowedSerdes.sessionWindowed(keySerde), valueSerde },
      repartitionRequired: false,
      valueGetter: undefined,
      // Session ends are inclusive and a session still merges at end = stream time − grace − gap.
      windowClose: { durationMs: windows.graceMs + windows.inactivityGapMs + 1 },
    });
    return this.#emit?.kind === 'on-window-close'
      ? table.suppress(Suppressed.untilWindowCloses())
      : table;
  }
}

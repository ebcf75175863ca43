/**
 * KTable: a changelog stream read as a table, one current value per key (Kafka Streams'
 * KTable). Its processors pass each update on with the key's previous value, so a
 * `groupBy(...).aggregate(initializer, adder, subtractor)` subtracts a re-keyed row from its
 * old group and adds it to the new one. Updates are emitted as they happen (no record cache).
 */
import { TopologyError } from '../framework/errors.ts';
import type { ProcessorSupplier } from '../framework/processor.ts';
import { Serdes } from '../framework/serdes.ts';
import type { KeyValue } from '../stores/key-value-store.ts';
import { Stores } from '../stores/stores.ts';
import { KStream } from './kstream.ts';
import type { Grouped, Materialized, Named, Suppressed, TableJoined } from './options.ts';
import { foreignKeyJoin, tableTableJoin } from './internals/join-graph.ts';
import type { Joiner } from './internals/joins.ts';
import { changeSerde } from './internals/change.ts';
import {
  checkFunction,
  checkStoreKind,
  keyValueStoreFor,
  requireSerde,
  type TableState,
} from './internals/common.ts';
import { bufferValueSerde, suppressProcessor } from './internals/suppress.ts';
import type { Aggregator, Initializer, Reducer } from './internals/aggregate.ts';
import {
  changeToValue,
  mappedValueGetter,
  storeValueGetter,
  tableAggregate,
  tableRepartitionMap,
  tableTransform,
  type ValueGetterSupplier,
} from './internals/table.ts';
import type { Windowed } from './windows.ts';

export class KTable<K, V> {
  /** @internal */
  readonly state: TableState<K, V>;

  /** @internal Built by StreamsBuilder and the operators; not for users. */
  constructor(state: TableState<K, V>) {
    this.state = state;
  }

  /**
   * @internal How a join reads this table's current value for a key (Kafka Streams'
   * KTableValueGetterSupplier): its store, or its parent's through its own filter/mapper.
   */
  valueGetterSupplier(): ValueGetterSupplier<K, V> | undefined {
    return this.state.valueGetter;
  }

  /** Rows the predicate holds for; a row that stops matching is deleted downstream. */
  filter(
    predicate: (key: K, value: V) => boolean,
    named?: Named,
    materialized?: Materialized<K, V>,
  ): KTable<K, V> {
    checkFunction('KTable.filter()', 'the predicate', predicate);
    return this.#transform<V>(
      'KTABLE-FILTER-',
      'KTable.filter()',
      (k, v) => (predicate(k, v) ? v : null),
      named,
      materialized,
      this.state.serdes.valueSerde,
    );
  }

  filterNot(
    predicate: (key: K, value: V) => boolean,
    named?: Named,
    materialized?: Materialized<K, V>,
  ): KTable<K, V> {
    checkFunction('KTable.filterNot()', 'the predicate', predicate);
    return this.#transform<V>(
      'KTABLE-FILTER-',
      'KTable.filterNot()',
      (k, v) => (predicate(k, v) ? null : v),
      named,
      materialized,
      this.state.serdes.valueSerde,
    );
  }

  /** A new value per row, from the value (and the key). */
  mapValues<VR>(
    mapper: (value: V, key: K) => VR,
    named?: Named,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    checkFunction('KTable.mapValues()', 'the mapper', mapper);
    return this.#transform<VR>(
      'KTABLE-MAPVALUES-',
      'KTable.mapValues()',
      (k, v) => mapper(v, k),
      named,
      materialized,
      undefined,
    );
  }

  /** The table's updates as a stream; a deleted row is a null value (a tombstone). */
  toStream(named?: Named): KStream<K, V> {
    const { builder } = this.state;
    const name = builder.claim(
      named?.name ?? builder.newProcessorName('KTABLE-TOSTREAM-'),
      'toStream()',
    );
    const node = builder.addProcessor(
      name,
      changeToValue<K, V>() as ProcessorSupplier<never, never>,
      [this.state.node],
    );
    return new KStream<K, V>({
      builder,
      node,
      serdes: this.state.serdes,
      repartitionRequired: false,
    });
  }

  /**
   * Re-keys rows for an aggregation (Kafka Streams' KTable#groupBy): always through a
   * repartition topic, carrying each update's old and new value.
   */
  groupBy<KR, VR>(
    selector: (key: K, value: V) => KeyValue<KR, VR>,
    grouped: Grouped<KR, VR> = {},
  ): KGroupedTable<KR, VR> {
    checkFunction('KTable.groupBy()', 'the selector', selector);
    const { builder } = this.state;
    const name = builder.claim(builder.newProcessorName('KTABLE-SELECT-'), 'KTable.groupBy()');
    const node = builder.addProcessor(
      name,
      tableRepartitionMap(selector) as ProcessorSupplier<never, never>,
      [this.state.node],
    );
    return new KGroupedTable<KR, VR>(
      {
        builder,
        node,
        serdes: { keySerde: grouped.keySerde, valueSerde: grouped.valueSerde },
        repartitionRequired: true,
        valueGetter: undefined,
        windowClose: undefined,
      },
      grouped.name,
    );
  }

  /**
   * Inner join with another table.
   *
   * - By key (Kafka Streams' KTable#join): both tables co-partitioned; an update of either
   *   side meets the other side's current row, and the result row exists while both do.
   * - By foreign key (KIP-213), when a `foreignKeyExtractor` comes second: each row of this
   *   table joins the other table's row whose key the extractor returns; the tables need not
   *   be co-partitioned (two internal topics connect them). The result is kept in a store, so
   *   `materialized.valueSerde` (the joined type) is required.
   *
   * Results carry old values, so a downstream `groupBy().aggregate()` stays correct.
   */
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    tableJoined?: TableJoined<KO>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    named?: Named,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  join(other: unknown, a: unknown, b?: unknown, c?: unknown, d?: unknown): KTable<K, unknown> {
    return this.#join('inner', other, a, b, c, d);
  }

  /**
   * Left join with another table, by key or by foreign key (see `join`): every row of this
   * table is in the result, with a null partner while it has none.
   */
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    tableJoined?: TableJoined<KO>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    named?: Named,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  leftJoin(other: unknown, a: unknown, b?: unknown, c?: unknown, d?: unknown): KTable<K, unknown> {
    return this.#join('left', other, a, b, c, d);
  }

  /** Outer join with another table by key: a row exists while either side has one. */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    named?: Named,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    return this.#join('outer', other, joiner, named, materialized, undefined) as KTable<K, VR>;
  }

  #join(
    kind: 'inner' | 'left' | 'outer',
    other: unknown,
    a: unknown,
    b: unknown,
    c: unknown,
    d: unknown,
  ): KTable<K, unknown> {
    const method = kind === 'inner' ? 'join' : `${kind}Join`;
    if (!(other instanceof KTable)) {
      throw new TopologyError(`KTable.${method}(): the other side must be a KTable`);
    }
    const self = this.state as TableState<unknown, unknown>;
    const that = other.state as TableState<unknown, unknown>;
    if (typeof b === 'function') {
      if (kind === 'outer') {
        throw new TopologyError('KTable.outerJoin(): a foreign-key join is inner or left only');
      }
      checkFunction(`KTable.${method}(foreign key)`, 'the foreign key extractor', a);
      const state = foreignKeyJoin(
        self,
        that,
        a as (value: unknown, key: unknown) => unknown,
        b as Joiner,
        kind === 'left',
        (c ?? {}) as TableJoined<unknown>,
        d as Materialized<unknown, unknown> | undefined,
      );
      return new KTable<K, unknown>(state as TableState<K, unknown>);
    }
    checkFunction(`KTable.${method}()`, 'the joiner', a);
    const state = tableTableJoin(
      self,
      that,
      a as Joiner,
      kind,
      (b as Named | undefined)?.name,
      c as Materialized<unknown, unknown> | undefined,
    );
    return new KTable<K, unknown>(state as TableState<K, unknown>);
  }

  /**
   * `suppress(untilWindowCloses)`: one final result per window, when stream time passes the
   * window's end plus its grace period; only for windowed tables (Kafka Streams' suppress()).
   */
  suppress<KW>(this: KTable<Windowed<KW>, V>, suppressed: Suppressed): KTable<Windowed<KW>, V> {
    const operator = 'suppress(untilWindowCloses)';
    if (suppressed?.kind !== 'until-window-closes') {
      throw new TopologyError(
        `suppress(): expected Suppressed.untilWindowCloses(), got ${JSON.stringify(suppressed)}`,
      );
    }
    const { builder, windowClose } = this.state;
    if (windowClose === undefined) {
      throw new TopologyError(
        `${operator} needs a windowed table: groupByKey().windowedBy(...).aggregate/count/reduce(), directly before it`,
      );
    }
    checkStoreKind(operator, suppressed.storeKind);
    const name = builder.claim(
      suppressed.name ?? builder.newProcessorName('KTABLE-SUPPRESS-'),
      operator,
    );
    const storeName =
      suppressed.name === undefined
        ? builder.newStoreName('KTABLE-SUPPRESS-')
        : `${suppressed.name}-store`;
    const keySerde = requireSerde(this.state.serdes.keySerde, operator, 'keySerde', 'Materialized');
    const valueSerde = requireSerde(
      this.state.serdes.valueSerde,
      operator,
      'valueSerde',
      'Materialized',
    );
    const store = Stores.keyValue(storeName, {
      keySerde: Serdes.bytes(),
      valueSerde: bufferValueSerde(valueSerde),
      persistent: suppressed.storeKind === 'sqlite',
      logging: true,
    });
    const node = builder.addProcessor(
      name,
      suppressProcessor<KW, V>({
        storeName,
        keySerde,
        durationMs: windowClose.durationMs,
      }) as ProcessorSupplier<never, never>,
      [this.state.node],
      [store],
    );
    return new KTable<Windowed<KW>, V>({
      ...this.state,
      node,
      windowClose: undefined,
      valueGetter: undefined,
    });
  }

  #transform<VR>(
    prefix: string,
    operator: string,
    map: (key: K, value: V) => VR | null,
    named: Named | undefined,
    materialized: Materialized<K, VR> | undefined,
    valueSerde: TableState<K, VR>['serdes']['valueSerde'],
  ): KTable<K, VR> {
    const { builder } = this.state;
    const name = builder.claim(named?.name ?? builder.newProcessorName(prefix), operator);
    const serdes = {
      keySerde: materialized?.keySerde ?? this.state.serdes.keySerde,
      valueSerde: materialized?.valueSerde ?? valueSerde,
    };
    let storeName: string | undefined;
    const stores = [];
    if (materialized !== undefined) {
      storeName = materialized.storeName ?? builder.newStoreName(prefix);
      stores.push(
        keyValueStoreFor(
          operator,
          storeName,
          materialized,
          requireSerde(serdes.keySerde, operator, 'keySerde', 'Materialized'),
          requireSerde(serdes.valueSerde, operator, 'valueSerde', 'Materialized'),
        ),
      );
    }
    const node = builder.addProcessor(
      name,
      tableTransform(map, storeName) as ProcessorSupplier<never, never>,
      [this.state.node],
      stores,
    );
    const parent = this.state.valueGetter;
    return new KTable<K, VR>({
      builder,
      node,
      serdes,
      repartitionRequired: false,
      valueGetter:
        storeName !== undefined
          ? storeValueGetter(storeName)
          : parent === undefined
            ? undefined
            : mappedValueGetter(parent, map),
      // A filtered or mapped windowed table still closes its windows the same way (Kafka Streams finds the grace upstream).
      windowClose: this.state.windowClose,
    });
  }
}

/** A re-keyed table awaiting its aggregation (Kafka Streams' KGroupedTable). */
export class KGroupedTable<K, V> {
  readonly #state: TableState<K, V>;
  readonly #groupedName: string | undefined;

  /** @internal */
  constructor(state: TableState<K, V>, groupedName: string | undefined) {
    this.#state = state;
    this.#groupedName = groupedName;
  }

  /** Rows per group; a row that moves to another group is subtracted from its old one. */
  count(materialized?: Materialized<K, number>): KTable<K, number> {
    return this.#build<number>(
      'KGroupedTable.count()',
      {
        kind: 'aggregate',
        initializer: () => 0,
        adder: (_k, _v, n) => n + 1,
        subtractor: (_k, _v, n) => n - 1,
      },
      { valueSerde: Serdes.long(), ...materialized },
    );
  }

  /** `adder(aggregate, value)` for new rows, `subtractor(aggregate, value)` for removed ones. */
  reduce(
    adder: Reducer<V>,
    subtractor: Reducer<V>,
    materialized?: Materialized<K, V>,
  ): KTable<K, V> {
    checkFunction('KGroupedTable.reduce()', 'the adder', adder);
    checkFunction('KGroupedTable.reduce()', 'the subtractor', subtractor);
    return this.#build<V>(
      'KGroupedTable.reduce()',
      { kind: 'reduce', adder, subtractor },
      {
        valueSerde: this.#state.serdes.valueSerde,
        ...materialized,
      },
    );
  }

  aggregate<VA>(
    initializer: Initializer<VA>,
    adder: Aggregator<K, V, VA>,
    subtractor: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
  ): KTable<K, VA> {
    const operator = 'KGroupedTable.aggregate()';
    checkFunction(operator, 'the initializer', initializer);
    checkFunction(operator, 'the adder', adder);
    checkFunction(operator, 'the subtractor', subtractor);
    return this.#build(
      operator,
      { kind: 'aggregate', initializer, adder, subtractor },
      materialized,
    );
  }

  #build<VA>(
    operator: string,
    step: Parameters<typeof tableAggregate<K, V, VA>>[1],
    materialized: Materialized<K, VA> | undefined,
  ): KTable<K, VA> {
    const { builder } = this.#state;
    const storeName = materialized?.storeName ?? builder.newStoreName('KTABLE-AGGREGATE-');
    const name = builder.claim(builder.newProcessorName('KTABLE-AGGREGATE-'), operator);
    const keySerde = requireSerde(
      materialized?.keySerde ?? this.#state.serdes.keySerde,
      operator,
      'keySerde',
      'Grouped (KTable.groupBy) or Materialized',
    );
    const rowSerde = requireSerde(
      this.#state.serdes.valueSerde,
      `${operator} (repartition)`,
      'valueSerde',
      'Grouped (KTable.groupBy)',
    );
    const input = builder.addRepartition(
      this.#groupedName ?? storeName,
      { keySerde, valueSerde: changeSerde(rowSerde) },
      this.#state.node,
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
      tableAggregate<K, V, VA>(storeName, step) as ProcessorSupplier<never, never>,
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

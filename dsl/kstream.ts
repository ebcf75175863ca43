/**
 * KStream: a record stream (Kafka Streams' KStream). Every operator only adds a node to the
 * builder's graph and returns a new, immutable KStream; nothing runs until the Topology from
 * `StreamsBuilder.build()` runs in StreamsApp or the TopologyTestDriver.
 *
 * Callbacks that see key and value take `(key, value)`, as Kafka Streams' do (filter, map,
 * flatMap, selectKey, peek, foreach, branch, groupBy); `mapValues` and `flatMapValues` take
 * `(value, key)`, so the common `mapValues((v) => ...)` needs no unused key.
 */
import { TopologyError } from '../framework/errors.ts';
import type { ProcessorSupplier } from '../framework/processor.ts';
import type { StreamPartitioner, TopicNameExtractor } from '../framework/topology.ts';
import type { KeyValue } from '../stores/key-value-store.ts';
import { GlobalKTable } from './global-ktable.ts';
import { KGroupedStream } from './kgrouped-stream.ts';
import { KTable } from './ktable.ts';
import type {
  Grouped,
  Joined,
  Materialized,
  Named,
  Produced,
  Repartitioned,
  StreamJoined,
} from './options.ts';
import type { JoinWindows } from './windows.ts';
import {
  streamStreamJoin,
  streamTableJoinNode,
  type StreamJoinKind,
} from './internals/join-graph.ts';
import type { Joiner } from './internals/joins.ts';
import {
  checkFunction,
  keyValueStoreFor,
  requireSerde,
  type StreamState,
} from './internals/common.ts';
import type { GraphNode } from './internals/graph.ts';
import {
  branchProcessor,
  filterProcessor,
  passThrough,
  stateless,
  withKeyValue,
  withValue,
} from './internals/processors.ts';
import { storeValueGetter, tableSource } from './internals/table.ts';

export type Predicate<K, V> = (key: K, value: V) => boolean;
export type KeyValueMapper<K, V, R> = (key: K, value: V) => R;
export type ValueMapper<V, K, VR> = (value: V, key: K) => VR;
export type ForeachAction<K, V> = (key: K, value: V) => void;
/**
 * Joins two values (Kafka Streams' ValueJoiner and ValueJoinerWithKey in one): this side's
 * value, the other side's, and the key; in a left or outer join a side without a partner is null.
 */
export type ValueJoiner<V, VO, K, VR> = (value: V, otherValue: VO, key: K) => VR;

export class KStream<K, V> {
  /** @internal */
  readonly state: StreamState<K, V>;

  /** @internal Built by StreamsBuilder and the operators; not for users. */
  constructor(state: StreamState<K, V>) {
    this.state = state;
  }

  /** Keeps the records the predicate holds for (Kafka Streams' filter). */
  filter(predicate: Predicate<K, V>, named?: Named): KStream<K, V> {
    checkFunction('filter()', 'the predicate', predicate);
    return this.#derive(
      'KSTREAM-FILTER-',
      named,
      filterProcessor((r) => predicate(r.key as K, r.value as V)),
    );
  }

  /** Drops the records the predicate holds for. */
  filterNot(predicate: Predicate<K, V>, named?: Named): KStream<K, V> {
    checkFunction('filterNot()', 'the predicate', predicate);
    return this.#derive(
      'KSTREAM-FILTER-',
      named,
      filterProcessor((r) => !predicate(r.key as K, r.value as V)),
    );
  }

  /** A new key and value per record; a later grouping repartitions. */
  map<KR, VR>(mapper: KeyValueMapper<K, V, KeyValue<KR, VR>>, named?: Named): KStream<KR, VR> {
    checkFunction('map()', 'the mapper', mapper);
    const supplier = stateless((record, context) => {
      const out = mapper(record.key as K, record.value as V);
      void context.forward(withKeyValue(record, out.key, out.value));
    });
    return this.#derive<KR, VR>(
      'KSTREAM-MAP-',
      named,
      supplier,
      { keySerde: undefined, valueSerde: undefined },
      true,
    );
  }

  /** A new value per record, from the value (and the key); the key is unchanged. */
  mapValues<VR>(mapper: ValueMapper<V, K, VR>, named?: Named): KStream<K, VR> {
    checkFunction('mapValues()', 'the mapper', mapper);
    const supplier = stateless((record, context) => {
      void context.forward(withValue(record, mapper(record.value as V, record.key as K)));
    });
    return this.#derive<K, VR>('KSTREAM-MAPVALUES-', named, supplier, {
      keySerde: this.state.serdes.keySerde,
      valueSerde: undefined,
    });
  }

  /** Zero or more records per record, with new keys; a later grouping repartitions. */
  flatMap<KR, VR>(
    mapper: KeyValueMapper<K, V, Iterable<KeyValue<KR, VR>>>,
    named?: Named,
  ): KStream<KR, VR> {
    checkFunction('flatMap()', 'the mapper', mapper);
    const supplier = stateless((record, context) => {
      for (const out of mapper(record.key as K, record.value as V)) {
        void context.forward(withKeyValue(record, out.key, out.value));
      }
    });
    return this.#derive<KR, VR>(
      'KSTREAM-FLATMAP-',
      named,
      supplier,
      { keySerde: undefined, valueSerde: undefined },
      true,
    );
  }

  /** Zero or more values per record, each with the record's key. */
  flatMapValues<VR>(mapper: ValueMapper<V, K, Iterable<VR>>, named?: Named): KStream<K, VR> {
    checkFunction('flatMapValues()', 'the mapper', mapper);
    const supplier = stateless((record, context) => {
      for (const value of mapper(record.value as V, record.key as K)) {
        void context.forward(withValue(record, value));
      }
    });
    return this.#derive<K, VR>('KSTREAM-FLATMAPVALUES-', named, supplier, {
      keySerde: this.state.serdes.keySerde,
      valueSerde: undefined,
    });
  }

  /** A new key per record, the value unchanged; a later grouping repartitions. */
  selectKey<KR>(mapper: KeyValueMapper<K, V, KR>, named?: Named): KStream<KR, V> {
    checkFunction('selectKey()', 'the mapper', mapper);
    const supplier = stateless((record, context) => {
      void context.forward(
        withKeyValue(record, mapper(record.key as K, record.value as V), record.value),
      );
    });
    return this.#derive<KR, V>(
      'KSTREAM-KEY-SELECT-',
      named,
      supplier,
      { keySerde: undefined, valueSerde: this.state.serdes.valueSerde },
      true,
    );
  }

  /** Calls `action` for each record and passes it on unchanged. */
  peek(action: ForeachAction<K, V>, named?: Named): KStream<K, V> {
    checkFunction('peek()', 'the action', action);
    const supplier = stateless((record, context) => {
      action(record.key as K, record.value as V);
      void context.forward(record);
    });
    return this.#derive('KSTREAM-PEEK-', named, supplier);
  }

  /** Calls `action` for each record; a terminal operation. */
  foreach(action: ForeachAction<K, V>, named?: Named): void {
    checkFunction('foreach()', 'the action', action);
    this.#derive(
      'KSTREAM-FOREACH-',
      named,
      stateless((record) => action(record.key as K, record.value as V)),
    );
  }

  /**
   * Splits the stream: each record goes to the first branch whose predicate holds
   * (Kafka Streams' split() / BranchedKStream). Branch names are prefixed with
   * `named.name` when given, as Kafka Streams' `split(Named.as(prefix))`.
   */
  split(named?: Named): BranchedKStream<K, V, never> {
    return new BranchedKStream<K, V, never>(this, named?.name ?? '', []);
  }

  /** One stream of both streams' records (Kafka Streams' merge). */
  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    if (!(other instanceof KStream) || other.state.builder !== this.state.builder) {
      throw new TopologyError('merge(): the other stream must come from the same StreamsBuilder');
    }
    const name = this.#name('KSTREAM-MERGE-', named, 'merge()');
    const node = this.state.builder.addProcessor(name, passThrough, [
      this.state.node,
      other.state.node,
    ]);
    const { keySerde, valueSerde } = this.state.serdes;
    return new KStream({
      builder: this.state.builder,
      node,
      serdes: {
        keySerde: keySerde ?? other.state.serdes.keySerde,
        valueSerde: valueSerde ?? other.state.serdes.valueSerde,
      },
      repartitionRequired: this.state.repartitionRequired || other.state.repartitionRequired,
    });
  }

  /**
   * Writes the stream through the internal topic `${applicationId}-${name}-repartition` and
   * reads it back, partitioned by the current key (Kafka Streams' repartition()).
   */
  repartition(options: Repartitioned<K, V> = {}): KStream<K, V> {
    const operator = 'repartition()';
    const keySerde = requireSerde(
      options.keySerde ?? this.state.serdes.keySerde,
      operator,
      'keySerde',
      'repartition({ keySerde })',
    );
    const valueSerde = requireSerde(
      options.valueSerde ?? this.state.serdes.valueSerde,
      operator,
      'valueSerde',
      'repartition({ valueSerde })',
    );
    const name = options.name ?? this.state.builder.newProcessorName('KSTREAM-REPARTITION-');
    const node = this.state.builder.addRepartition(
      name,
      { keySerde, valueSerde, partitions: options.partitions, partitioner: options.partitioner },
      this.state.node,
    );
    return new KStream({
      builder: this.state.builder,
      node,
      serdes: { keySerde, valueSerde },
      repartitionRequired: false,
    });
  }

  /**
   * The Processor API escape hatch (Kafka Streams' process()): `supplier` must return a new
   * processor per call; `storeNames` are stores added with `builder.addStateStore()`. Its
   * output may have any key, so a later grouping repartitions.
   */
  process<KOut, VOut>(
    supplier: ProcessorSupplier<K, V, KOut, VOut>,
    ...storeNames: string[]
  ): KStream<KOut, VOut> {
    checkFunction('process()', 'the supplier', supplier);
    const name = this.state.builder.claim(
      this.state.builder.newProcessorName('KSTREAM-PROCESSOR-'),
      'process()',
    );
    const node = this.state.builder.addProcessor(
      name,
      supplier as ProcessorSupplier<never, never>,
      [this.state.node],
      [],
      storeNames,
    );
    return new KStream<KOut, VOut>({
      builder: this.state.builder,
      node,
      serdes: { keySerde: undefined, valueSerde: undefined },
      repartitionRequired: true,
    });
  }

  /** Writes the stream to a topic, or to the topic a function of the record names. */
  to(topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> = {}): void {
    const operator = `to(${typeof topic === 'string' ? JSON.stringify(topic) : 'topic extractor'})`;
    if (typeof topic !== 'function' && (typeof topic !== 'string' || topic === '')) {
      throw new TopologyError(
        'to(): the topic must be a non-empty string or a function of the record',
      );
    }
    const keySerde = requireSerde(
      produced.keySerde ?? this.state.serdes.keySerde,
      operator,
      'keySerde',
      `to(topic, { keySerde })`,
    );
    const valueSerde = requireSerde(
      produced.valueSerde ?? this.state.serdes.valueSerde,
      operator,
      'valueSerde',
      `to(topic, { valueSerde })`,
    );
    const name = this.#name(
      'KSTREAM-SINK-',
      produced.name === undefined ? undefined : { name: produced.name },
      operator,
    );
    this.state.builder.addSink(
      name,
      {
        topic,
        keySerde,
        valueSerde,
        partitioner: produced.partitioner as StreamPartitioner<K, V> | undefined,
      },
      this.state.node,
    );
  }

  /**
   * The stream as a table: each record upserts its key, a null value deletes it
   * (Kafka Streams' toTable()). After a key change the stream is repartitioned first.
   */
  toTable(named?: Named, materialized?: Materialized<K, V>): KTable<K, V> {
    const operator = 'toTable()';
    const keySerde = requireSerde(
      materialized?.keySerde ?? this.state.serdes.keySerde,
      operator,
      'keySerde',
      'Materialized',
    );
    const valueSerde = requireSerde(
      materialized?.valueSerde ?? this.state.serdes.valueSerde,
      operator,
      'valueSerde',
      'Materialized',
    );
    const storeName =
      materialized?.storeName ?? this.state.builder.newStoreName('KSTREAM-TOTABLE-');
    const name = this.#name('KSTREAM-TOTABLE-', named, operator);
    let parent = this.state.node;
    if (this.state.repartitionRequired) {
      parent = this.state.builder.addRepartition(`${name}`, { keySerde, valueSerde }, parent);
    }
    const store = keyValueStoreFor(operator, storeName, materialized, keySerde, valueSerde);
    const node = this.state.builder.addProcessor(
      name,
      tableSource<K, V>(storeName) as ProcessorSupplier<never, never>,
      [parent],
      [store],
    );
    return new KTable<K, V>({
      builder: this.state.builder,
      node,
      serdes: { keySerde, valueSerde },
      repartitionRequired: false,
      valueGetter: storeValueGetter(storeName),
      windowClose: undefined,
    });
  }

  /**
   * Inner join (Kafka Streams' join), by the other argument:
   *
   * - a **KStream** within `JoinWindows`: each pair of records with equal keys at most the
   *   window apart, as records of either side arrive; the output's time is the later one's.
   * - a **KTable**: each record meets the table's current value for its key (a record whose
   *   key has no row emits nothing); table updates emit nothing.
   * - a **GlobalKTable**: as a table, by `keySelector(key, value)`; no co-partitioning, and the
   *   output keeps the stream's key.
   *
   * Records with a null key or value are dropped. A side whose key may have changed is
   * repartitioned first (`${name}-left` / `-right`), co-partitioned with the other side.
   */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO, K, VR>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: ValueJoiner<V, VT, K, VR>,
    joined?: Joined<K, V>,
  ): KStream<K, VR>;
  join<KG, VG, VR>(
    globalTable: GlobalKTable<KG, VG>,
    keySelector: KeyValueMapper<K, V, KG>,
    joiner: ValueJoiner<V, VG, K, VR>,
    named?: Named,
  ): KStream<K, VR>;
  join(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, unknown> {
    return this.#join('inner', other, a, b, c);
  }

  /**
   * Left join: as `join`, but every record of this stream is emitted, with a null partner when
   * it found none — against a stream, only once its window has closed (window end + grace
   * passed in stream time), never early (Kafka Streams ≥ 3.1).
   */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO | null, K, VR>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: ValueJoiner<V, VT | null, K, VR>,
    joined?: Joined<K, V>,
  ): KStream<K, VR>;
  leftJoin<KG, VG, VR>(
    globalTable: GlobalKTable<KG, VG>,
    keySelector: KeyValueMapper<K, V, KG>,
    joiner: ValueJoiner<V, VG | null, K, VR>,
    named?: Named,
  ): KStream<K, VR>;
  leftJoin(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, unknown> {
    return this.#join('left', other, a, b, c);
  }

  /**
   * Outer join of two streams: as `leftJoin`, and records of the other stream that found no
   * partner are emitted too, as `(null, otherValue)`, once their window has closed.
   */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, K, VR>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    if (!(other instanceof KStream)) {
      throw new TopologyError(
        'outerJoin(): only two streams have an outer join (a table or global table: use leftJoin)',
      );
    }
    return this.#join('outer', other, joiner, windows, streamJoined) as KStream<K, VR>;
  }

  #join(
    kind: StreamJoinKind,
    other: unknown,
    a: unknown,
    b: unknown,
    c: unknown,
  ): KStream<K, unknown> {
    const method = kind === 'inner' ? 'join' : `${kind}Join`;
    if (other instanceof KStream) {
      checkFunction(`${method}(stream)`, 'the joiner', a);
      const state = streamStreamJoin(
        this.state as StreamState<unknown, unknown>,
        other.state as StreamState<unknown, unknown>,
        a as Joiner,
        b as JoinWindows,
        kind,
        (c ?? {}) as StreamJoined<unknown, unknown, unknown>,
      );
      return new KStream<K, unknown>(state as StreamState<K, unknown>);
    }
    if (other instanceof KTable) {
      const operator = `${method}(table)`;
      checkFunction(operator, 'the joiner', a);
      if (other.state.builder !== this.state.builder) {
        throw new TopologyError(`${operator}: the table must come from the same StreamsBuilder`);
      }
      const getter = other.valueGetterSupplier();
      if (getter === undefined) {
        throw new TopologyError(
          `${operator}: the table cannot be looked up by key (a suppressed table keeps no current value); join before suppress()`,
        );
      }
      const joined = (b ?? {}) as Joined<unknown, unknown>;
      const state = streamTableJoinNode(this.state as StreamState<unknown, unknown>, {
        operator,
        name: joined.name,
        leftJoin: kind === 'left',
        joiner: a as Joiner,
        getter: getter as never,
        // The table's keys are this stream's key type: its serde serves the repartition too.
        repartition: {
          keySerde: joined.keySerde ?? this.state.serdes.keySerde ?? other.state.serdes.keySerde,
          valueSerde: joined.valueSerde,
        },
      });
      return new KStream<K, unknown>(state as StreamState<K, unknown>);
    }
    if (other instanceof GlobalKTable) {
      const operator = `${method}(globalTable)`;
      checkFunction(operator, 'the key selector', a);
      checkFunction(operator, 'the joiner', b);
      if (other.state.builder !== this.state.builder) {
        throw new TopologyError(
          `${operator}: the global table must come from the same StreamsBuilder`,
        );
      }
      const state = streamTableJoinNode(this.state as StreamState<unknown, unknown>, {
        operator,
        name: (c as Named | undefined)?.name,
        leftJoin: kind === 'left',
        joiner: b as Joiner,
        getter: other.valueGetterSupplier() as never,
        keySelector: a as (key: unknown, value: unknown) => unknown,
      });
      return new KStream<K, unknown>(state as StreamState<K, unknown>);
    }
    throw new TopologyError(
      `${method}(): the other side must be a KStream, KTable or GlobalKTable of the same StreamsBuilder`,
    );
  }

  /** Groups by the current key; repartitions first if an operator before may have changed it. */
  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(
      {
        builder: this.state.builder,
        node: this.state.node,
        serdes: {
          keySerde: grouped.keySerde ?? this.state.serdes.keySerde,
          valueSerde: grouped.valueSerde ?? this.state.serdes.valueSerde,
        },
        repartitionRequired: this.state.repartitionRequired,
      },
      grouped.name,
    );
  }

  /** Groups by a new key (Kafka Streams' groupBy = selectKey + groupByKey): always repartitions. */
  groupBy<KR>(
    selector: KeyValueMapper<K, V, KR>,
    grouped: Grouped<KR, V> = {},
  ): KGroupedStream<KR, V> {
    const selected = this.selectKey(selector);
    return selected.groupByKey(grouped);
  }

  #name(prefix: string, named: Named | undefined, operator: string): string {
    return this.state.builder.claim(
      named?.name ?? this.state.builder.newProcessorName(prefix),
      operator,
    );
  }

  #derive<KR = K, VR = V>(
    prefix: string,
    named: Named | undefined,
    supplier: ProcessorSupplier,
    serdes: StreamState<KR, VR>['serdes'] = this.state.serdes as unknown as StreamState<
      KR,
      VR
    >['serdes'],
    keyChanged = false,
  ): KStream<KR, VR> {
    const name = this.#name(prefix, named, prefix.replace(/^KSTREAM-|-$/g, '').toLowerCase());
    const node: GraphNode = this.state.builder.addProcessor(
      name,
      supplier as ProcessorSupplier<never, never>,
      [this.state.node],
    );
    return new KStream<KR, VR>({
      builder: this.state.builder,
      node,
      serdes,
      repartitionRequired: this.state.repartitionRequired || keyChanged,
    });
  }
}

/**
 * The branches of `split()`: `.branch(predicate, name)` as often as needed, then
 * `.defaultBranch(name)` or `.noDefaultBranch()` returns the branches by name, typed.
 */
export class BranchedKStream<K, V, Names extends string> {
  readonly #source: KStream<K, V>;
  readonly #prefix: string;
  readonly #branches: readonly { name: string; predicate: Predicate<K, V> }[];

  /** @internal */
  constructor(
    source: KStream<K, V>,
    prefix: string,
    branches: readonly { name: string; predicate: Predicate<K, V> }[],
  ) {
    this.#source = source;
    this.#prefix = prefix;
    this.#branches = branches;
  }

  branch<N extends string>(predicate: Predicate<K, V>, name: N): BranchedKStream<K, V, Names | N> {
    checkFunction('split().branch()', 'the predicate', predicate);
    if (typeof name !== 'string' || name === '') {
      throw new TopologyError('split().branch(): a branch needs a non-empty name');
    }
    if (this.#branches.some((b) => b.name === name)) {
      throw new TopologyError(`split().branch(): a branch named "${name}" already exists`);
    }
    return new BranchedKStream(this.#source, this.#prefix, [
      ...this.#branches,
      { name, predicate },
    ]);
  }

  /** Records no predicate held for go to the default branch `name`. */
  defaultBranch<N extends string>(name: N): { [P in Names | N as `${P}`]: KStream<K, V> } {
    return this.#build(name) as { [P in Names | N as `${P}`]: KStream<K, V> };
  }

  /** Records no predicate held for are dropped. */
  noDefaultBranch(): { [P in Names as `${P}`]: KStream<K, V> } {
    return this.#build(undefined) as { [P in Names as `${P}`]: KStream<K, V> };
  }

  #build(defaultName: string | undefined): Record<string, KStream<K, V>> {
    const { builder, node, serdes, repartitionRequired } = this.#source.state;
    const all =
      defaultName === undefined
        ? this.#branches
        : [...this.#branches, { name: defaultName, predicate: () => true }];
    if (all.length === 0) throw new TopologyError('split(): add at least one branch');
    const branchName = builder.claim(
      this.#prefix === '' ? builder.newProcessorName('KSTREAM-BRANCH-') : this.#prefix,
      'split()',
    );
    const children = all.map(({ name, predicate }) => ({
      name: builder.claim(
        `${this.#prefix === '' ? branchName + '-' : this.#prefix}${name}`,
        'split().branch()',
      ),
      key: name,
      predicate,
    }));
    const branchNode = builder.addProcessor(
      branchName,
      branchProcessor(
        children.map(({ name, predicate }) => ({
          child: name,
          predicate: (r) => predicate(r.key as K, r.value as V),
        })),
      ) as ProcessorSupplier<never, never>,
      [node],
    );
    const result: Record<string, KStream<K, V>> = {};
    for (const child of children) {
      const childNode = builder.addProcessor(
        child.name,
        passThrough as ProcessorSupplier<never, never>,
        [branchNode],
      );
      result[child.key] = new KStream<K, V>({
        builder,
        node: childNode,
        serdes,
        repartitionRequired,
      });
    }
    return result;
  }
}

/**
 * The DSL's option objects, named after Kafka Streams' Consumed, Produced, Grouped,
 * Materialized, Repartitioned and Suppressed. TypeScript idiom: plain objects, every field
 * optional where Kafka Streams has a default, rather than builder classes.
 */
import type { Serde } from '../framework/serdes.ts';
import type { OffsetReset, StreamPartitioner, TimestampExtractor } from '../framework/topology.ts';

/** How `builder.stream()` / `builder.table()` read a topic (Kafka Streams' Consumed). */
export interface Consumed<K, V> {
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  /** @default the record's Kafka timestamp */
  timestampExtractor?: TimestampExtractor<K, V>;
  /** @default 'earliest' */
  offsetReset?: OffsetReset;
  /** The source node's name. @default KSTREAM-SOURCE-<index> */
  name?: string;
}

/** How `to()` writes a topic (Kafka Streams' Produced). Serdes default to the stream's own. */
export interface Produced<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** @default Kafka's default partitioner (murmur2 of the serialized key) */
  partitioner?: StreamPartitioner<K, V>;
  /** The sink node's name. @default KSTREAM-SINK-<index> */
  name?: string;
}

/** A grouping's repartition topic (Kafka Streams' Grouped). Serdes default to the stream's own. */
export interface Grouped<K, V> {
  /**
   * Names the repartition topic `${applicationId}-${name}-repartition` (when one is needed).
   * @default the aggregation's store name
   */
  name?: string;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

/** An explicit `repartition()` (Kafka Streams' Repartitioned). */
export interface Repartitioned<K, V> {
  /** The topic is `${applicationId}-${name}-repartition`. @default KSTREAM-REPARTITION-<index> */
  name?: string;
  /** @default the largest partition count of the sub-topology's source topics */
  partitions?: number;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** Picks the repartition topic's partition. @default Kafka's default partitioner */
  partitioner?: StreamPartitioner<K, V>;
}

/** Where and how an aggregation or table keeps its state (Kafka Streams' Materialized). */
export interface Materialized<K, V> {
  /**
   * The store's name; its changelog is `${applicationId}-${storeName}-changelog`.
   * @default e.g. KSTREAM-AGGREGATE-STATE-STORE-<index>
   */
  storeName?: string;
  /** @default 'sqlite' */
  storeKind?: 'sqlite' | 'memory';
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** Changelog the store (restored after a failover). @default true */
  logging?: boolean;
  /**
   * Windowed stores only: how long windows are kept, ≥ window size + grace (Kafka Streams
   * requires the same). @default window size + grace (session: gap + grace)
   */
  retentionMs?: number;
}

/** A processor's name (Kafka Streams' Named). */
export interface Named {
  name?: string;
}

/** How a windowed table's updates are emitted (Kafka Streams' Suppressed). */
export interface Suppressed {
  readonly kind: 'until-window-closes';
  /** Names the suppress processor; its buffer store is `${name}-store`. */
  readonly name: string | undefined;
  /** @default 'sqlite' */
  readonly storeKind: 'sqlite' | 'memory';
}

export const Suppressed = {
  /**
   * One final result per window, emitted when stream time passes the window's end plus its
   * grace period. The buffer is a changelogged store, so it survives a failover. Unbounded,
   * as Kafka Streams' `BufferConfig.unbounded()`.
   */
  untilWindowCloses(options: { name?: string; storeKind?: 'sqlite' | 'memory' } = {}): Suppressed {
    return {
      kind: 'until-window-closes',
      name: options.name,
      storeKind: options.storeKind ?? 'sqlite',
    };
  },
} as const;

/** Shorthand: `suppress(untilWindowCloses)`. */
export const untilWindowCloses: Suppressed = Suppressed.untilWindowCloses();

/** When a windowed aggregation emits (KIP-825's EmitStrategy). */
export interface EmitStrategy {
  readonly kind: 'on-window-update' | 'on-window-close';
}

export const EmitStrategy = {
  /** Every update of a window (the default). */
  onWindowUpdate(): EmitStrategy {
    return { kind: 'on-window-update' };
  },
  /** Only the final result, when the window closes: the same as `suppress(untilWindowCloses)`. */
  onWindowClose(): EmitStrategy {
    return { kind: 'on-window-close' };
  },
} as const;

/**
 * A stream–stream join's names, serdes and stores (Kafka Streams' StreamJoined). Serdes default
 * to the streams' own; a store needs them.
 */
export interface StreamJoined<K, V, VO> {
  /**
   * Names the join processors (`${name}-this-join`, `${name}-other-join`, `${name}-merge`)
   * and, after a key change, the repartition topics (`${name}-left`, `${name}-right`).
   * @default KSTREAM-JOINTHIS-<index>, ... and the streams' node names
   */
  name?: string;
  /**
   * Base name of the stores: `${storeName}-this-join-store`, `${storeName}-other-join-store`
   * and, for left and outer joins, `${storeName}-outer-shared-join-store`.
   * @default the join processors' names
   */
  storeName?: string;
  /** @default 'sqlite' */
  storeKind?: 'sqlite' | 'memory';
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  otherValueSerde?: Serde<VO>;
  /** Changelog the join's stores. @default true */
  logging?: boolean;
}

/** A stream–table join's name and serdes (Kafka Streams' Joined). */
export interface Joined<K, V> {
  /**
   * Names the join processor and, after a key change, the stream's repartition topic
   * (`${name}-left`). @default KSTREAM-JOIN-<index> / KSTREAM-LEFTJOIN-<index>
   */
  name?: string;
  /** For the repartition after a key change. @default the stream's */
  keySerde?: Serde<K>;
  /** For the repartition after a key change. @default the stream's */
  valueSerde?: Serde<V>;
}

/** A foreign-key table join's name and partitioning (Kafka Streams' TableJoined). */
export interface TableJoined<KO> {
  /**
   * Names the join's processors, stores and its two internal topics,
   * `${applicationId}-${name}-subscription-registration-repartition` and
   * `…-subscription-response-repartition`. @default KTABLE-FK-JOIN-<index>
   */
  name?: string;
  /**
   * How the other (foreign) table's topic is partitioned, if not by Kafka's default
   * partitioner: subscriptions must reach the task that owns the foreign key.
   */
  otherPartitioner?: StreamPartitioner<KO, unknown>;
}

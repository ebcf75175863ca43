import { TopologyError } from '../../framework/errors.ts';
import type { Serde } from '../../framework/serdes.ts';
import { Stores } from '../../stores/stores.ts';
import type { Materialized } from '../options.ts';
import type { InternalStreamsBuilder, GraphNode, KnownSerdes } from './graph.ts';
import type { ValueGetterSupplier } from './table.ts';

/** What every stream-like DSL object carries: its builder, its graph node and what it knows. */
export interface StreamState<K, V> {
  readonly builder: InternalStreamsBuilder;
  readonly node: GraphNode;
  readonly serdes: KnownSerdes<K, V>;
  /** A key may have changed since the last partitioning (Kafka Streams' repartitionRequired). */
  readonly repartitionRequired: boolean;
}

/** How a windowed table's windows close, for suppress(untilWindowCloses). */
export interface WindowClose {
  /** A window is final once its end <= stream time − durationMs. */
  readonly durationMs: number;
}

export interface TableState<K, V> extends StreamState<K, V> {
  readonly valueGetter: ValueGetterSupplier<K, V> | undefined;
  readonly windowClose: WindowClose | undefined;
}

/** A serde an operator cannot do without: a clear error naming the operator and the option. */
export function requireSerde<T>(
  serde: Serde<T> | undefined,
  operator: string,
  what: 'keySerde' | 'valueSerde',
  hint: string,
): Serde<T> {
  if (serde === undefined) {
    throw new TopologyError(
      `${operator}: no ${what} is known here (an operator before it changed the ${what === 'keySerde' ? 'key' : 'value'} type); pass ${what} in ${hint}`,
    );
  }
  return serde;
}

export function checkStoreKind(operator: string, kind: unknown): void {
  if (kind !== undefined && kind !== 'sqlite' && kind !== 'memory') {
    throw new TopologyError(
      `${operator}: storeKind must be 'sqlite' or 'memory', got ${JSON.stringify(kind)}`,
    );
  }
}

/** A timestamped key-value store from Materialized options and the serdes found for it. */
export function keyValueStoreFor<K, V>(
  operator: string,
  name: string,
  materialized: Materialized<K, V> | undefined,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
) {
  checkStoreKind(operator, materialized?.storeKind);
  if (materialized?.retentionMs !== undefined) {
    throw new TopologyError(
      `${operator}: Materialized.retentionMs applies to windowed stores only; this store keeps every key`,
    );
  }
  return Stores.timestampedKeyValue(name, {
    keySerde,
    valueSerde,
    persistent: (materialized?.storeKind ?? 'sqlite') === 'sqlite',
    logging: materialized?.logging ?? true,
  });
}

export function checkFunction(operator: string, what: string, fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new TopologyError(`${operator}: ${what} must be a function, got ${typeof fn}`);
  }
}

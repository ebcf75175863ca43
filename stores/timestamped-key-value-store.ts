/**
 * The timestamped key-value store: Kafka Streams' TimestampedKeyValueStore, a key-value store
 * whose values carry the time they were last updated at (`ValueAndTimestamp`), as the DSL's
 * KTables keep them to stamp their output. It is a `KeyValueStore<K, ValueAndTimestamp<V>>`,
 * so entries read `{ key, value: { value, timestamp } }` and code written for key-value stores
 * works on it unchanged.
 *
 * Stored and changelogged value: the timestamp as an 8-byte big-endian signed integer followed
 * by the serialized value (see `encodeTimestampedValue`); changelog key: the serialized key.
 */
import type { StateStore } from '../framework/processor.ts';
import type { ChangelogRecord } from './internals/bytes-store.ts';
import {
  checkRestoredTimestampedValues,
  type ValueAndTimestamp,
} from './internals/value-and-timestamp.ts';
import { SerdeKeyValueStore, type KeyValueStore } from './key-value-store.ts';

export type { ValueAndTimestamp } from './internals/value-and-timestamp.ts';

export interface TimestampedKeyValueStore<K, V> extends KeyValueStore<K, ValueAndTimestamp<V>> {
  /** Marks the value layout: values are `{ value, timestamp }`. */
  readonly timestamped: true;
}

export class SerdeTimestampedKeyValueStore<K, V>
  extends SerdeKeyValueStore<K, ValueAndTimestamp<V>>
  implements TimestampedKeyValueStore<K, V>
{
  readonly timestamped = true as const;

  override restoreBatch(records: ChangelogRecord[], nextOffset: bigint): void {
    checkRestoredTimestampedValues(this.name, records);
    super.restoreBatch(records, nextOffset);
  }
}

/** Whether a store is a timestamped key-value store (for `getStateStore` callers and tools). */
export function isTimestampedKeyValueStore(
  store: StateStore,
): store is TimestampedKeyValueStore<unknown, unknown> {
  const s = store as Partial<TimestampedKeyValueStore<unknown, unknown>>;
  return s.timestamped === true && typeof s.get === 'function' && typeof s.range === 'function';
}

/**
 * The timestamped window store: Kafka Streams' TimestampedWindowStore, a window store whose
 * values carry the time they were last updated at, as windowed aggregations keep them to stamp
 * each result with its latest record's time. It is a `WindowStore<K, ValueAndTimestamp<V>>`.
 *
 * Changelog key as the window store's (key bytes ‖ window start); value: the timestamp as an
 * 8-byte big-endian signed integer followed by the serialized value.
 */
import type { StateStore } from '../framework/processor.ts';
import type { ChangelogRecord } from './internals/bytes-store.ts';
import {
  checkRestoredTimestampedValues,
  type ValueAndTimestamp,
} from './internals/value-and-timestamp.ts';
import { SerdeWindowStore, type WindowStore } from './window-store.ts';

export interface TimestampedWindowStore<K, V> extends WindowStore<K, ValueAndTimestamp<V>> {
  /** Marks the value layout: values are `{ value, timestamp }`. */
  readonly timestamped: true;
}

export class SerdeTimestampedWindowStore<K, V>
  extends SerdeWindowStore<K, ValueAndTimestamp<V>>
  implements TimestampedWindowStore<K, V>
{
  readonly timestamped = true as const;

  override restoreBatch(records: ChangelogRecord[], nextOffset: bigint): void {
    checkRestoredTimestampedValues(this.name, records);
    super.restoreBatch(records, nextOffset);
  }
}

/** Whether a store is a timestamped window store. */
export function isTimestampedWindowStore(
  store: StateStore,
): store is TimestampedWindowStore<unknown, unknown> {
  const s = store as Partial<TimestampedWindowStore<unknown, unknown>>;
  return s.timestamped === true && typeof s.fetchAll === 'function';
}

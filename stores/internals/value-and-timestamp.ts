/**
 * The stored and changelogged value of a timestamped store, Kafka Streams'
 * ValueAndTimestampSerializer layout: the timestamp as an 8-byte big-endian signed integer
 * (ms) followed by the serialized value:
 *
 *   | timestamp int64 BE (8) | value bytes (n) |
 *
 * Kafka Streams stores this layout but changelogs only the value bytes, with the timestamp in
 * the changelog record's timestamp (RecordConverters.rawValueToTimestampedValue rebuilds it
 * on restore). Here the changelog carries the whole layout: `restoreBatch` receives keys and
 * values only, and the runtime stamps changelog records with the current record's time.
 */
import { SerializationError } from '../../framework/errors.ts';
import type { Serde } from '../../framework/serdes.ts';
import { checkTime, type ChangelogRecord } from './bytes-store.ts';

export const TIMESTAMP_BYTES = 8;

/** A value with the time it was last updated at (Kafka Streams' ValueAndTimestamp). */
export interface ValueAndTimestamp<V> {
  readonly value: V;
  /** Milliseconds (an integer), usually the timestamp of the record that produced the value. */
  readonly timestamp: number;
}

export function encodeTimestampedValue(value: Buffer, timestamp: number): Buffer {
  const out = Buffer.allocUnsafe(TIMESTAMP_BYTES + value.length);
  out.writeBigInt64BE(BigInt(timestamp), 0);
  value.copy(out, TIMESTAMP_BYTES);
  return out;
}

export function decodeTimestampedValue(bytes: Buffer): { value: Buffer; timestamp: number } {
  checkTimestampedValue(bytes);
  return {
    value: Buffer.from(bytes.subarray(TIMESTAMP_BYTES)),
    timestamp: Number(bytes.readBigInt64BE(0)),
  };
}

/** Throws unless `bytes` can be a timestamped value. */
export function checkTimestampedValue(bytes: Buffer): void {
  if (bytes.length < TIMESTAMP_BYTES) {
    throw new RangeError(
      `A timestamped value has at least ${TIMESTAMP_BYTES} bytes (the timestamp), got ${bytes.length}`,
    );
  }
}

/**
 * Checks a restore batch of a timestamped store before any of it is applied, so a changelog
 * written in another layout (e.g. by a plain key-value store of the same name) fails clearly.
 */
export function checkRestoredTimestampedValues(
  storeName: string,
  records: readonly ChangelogRecord[],
): void {
  records.forEach(({ key, value }, i) => {
    if (value !== null && value.length < TIMESTAMP_BYTES) {
      throw new RangeError(
        `State store "${storeName}": changelog record ${i} of the batch (key 0x${key.toString('hex')}) ` +
          `has a ${value.length}-byte value; a timestamped value has at least ${TIMESTAMP_BYTES} (the timestamp, then the value)`,
      );
    }
  });
}

/** The timestamp of an encoded timestamped value. */
export function timestampOf(bytes: Buffer): number {
  return Number(bytes.readBigInt64BE(0));
}

/**
 * Wraps a value serde into the timestamped layout. A null `ValueAndTimestamp`, or a value the
 * inner serde turns into null, serializes to null (a delete), as in Kafka Streams.
 */
export function valueAndTimestampSerde<V>(
  storeName: string,
  valueSerde: Serde<V>,
): Serde<ValueAndTimestamp<V>> {
  return {
    serialize(topic, data) {
      if (data === null) return null;
      if (typeof data !== 'object') {
        throw new SerializationError(
          `State store "${storeName}" expects { value, timestamp } or null, got ${typeof data}`,
          { topic },
        );
      }
      try {
        checkTime('timestamp', data.timestamp);
      } catch (error) {
        throw new SerializationError(`State store "${storeName}": ${(error as Error).message}`, {
          topic,
          cause: error,
        });
      }
      const raw = valueSerde.serialize(topic, data.value);
      return raw === null ? null : encodeTimestampedValue(raw, data.timestamp);
    },
    deserialize(topic, bytes) {
      if (bytes === null) return null;
      checkTimestampedValue(bytes);
      const raw = bytes.subarray(TIMESTAMP_BYTES);
      const value = valueSerde.deserialize(topic, raw);
      // A serde that hands back its input (Serdes.bytes) must not expose the stored buffer.
      return {
        value: (value === (raw as unknown) ? Buffer.from(raw) : value) as V,
        timestamp: timestampOf(bytes),
      };
    },
  };
}

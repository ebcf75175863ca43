import { DeserializationError, SerializationError, StreamsError } from './errors.ts';
import type { RecordHeaders } from './processor.ts';

/**
 * Converts keys or values to and from bytes. Kafka keys and values may be null (null keys,
 * tombstones), so null is part of both directions; the built-in serdes pass it through.
 * Failures throw `SerializationError` / `DeserializationError` naming the topic.
 */
export interface Serde<T> {
  serialize(topic: string, value: T | null, headers?: RecordHeaders): Buffer | null;
  deserialize(topic: string, data: Buffer | null, headers?: RecordHeaders): T | null;
}

/**
 * Builds a serde from functions that only ever see non-null values; null passes through.
 * Anything they throw is wrapped in a (De)SerializationError naming the topic, with `cause`.
 */
function custom<T>(
  serialize: (value: T, topic: string, headers?: RecordHeaders) => Buffer,
  deserialize: (data: Buffer, topic: string, headers?: RecordHeaders) => T,
): Serde<T> {
  return {
    serialize(topic, value, headers) {
      if (value === null) return null;
      try {
        return serialize(value, topic, headers);
      } catch (error) {
        throw wrap(SerializationError, 'Cannot serialize', error, topic);
      }
    },
    deserialize(topic, data, headers) {
      if (data === null) return null;
      try {
        return deserialize(data, topic, headers);
      } catch (error) {
        throw wrap(DeserializationError, 'Cannot deserialize', error, topic);
      }
    },
  };
}

function wrap(
  ErrorClass: typeof SerializationError | typeof DeserializationError,
  what: string,
  error: unknown,
  topic: string,
): StreamsError {
  if (error instanceof StreamsError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ErrorClass(`${what}: ${reason}`, { topic, cause: error });
}

function fixedWidth<T>(
  type: string,
  bytes: number,
  write: (value: T, buffer: Buffer) => void,
  read: (buffer: Buffer) => T,
): Serde<T> {
  return custom(
    (value) => {
      const buffer = Buffer.alloc(bytes);
      write(value, buffer);
      return buffer;
    },
    (data) => {
      if (data.length !== bytes) {
        throw new Error(`${type} expected ${bytes} bytes, got ${data.length}`);
      }
      return read(data);
    },
  );
}

function int32(): Serde<number> {
  return fixedWidth(
    'int32',
    4,
    (value, buffer) => {
      if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
        throw new Error(`int32 expected an integer in [-2^31, 2^31), got ${String(value)}`);
      }
      buffer.writeInt32BE(value);
    },
    (buffer) => buffer.readInt32BE(),
  );
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Big-endian 8 bytes, byte-compatible with Java's LongSerializer. */
function int64(): Serde<bigint> {
  return fixedWidth(
    'int64',
    8,
    (value, buffer) => {
      if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) {
        throw new Error(`int64 expected a bigint in [-2^63, 2^63), got ${String(value)}`);
      }
      buffer.writeBigInt64BE(value);
    },
    (buffer) => buffer.readBigInt64BE(),
  );
}

/**
 * A safe integer as 8 bytes big-endian, byte-compatible with Java's LongSerializer: what
 * the DSL's `count()` stores and emits, so a Kafka Streams app reads its counts as Longs.
 */
function long(): Serde<number> {
  return fixedWidth(
    'long',
    8,
    (value, buffer) => {
      if (!Number.isSafeInteger(value)) {
        throw new Error(`long expected a safe integer, got ${String(value)}`);
      }
      buffer.writeBigInt64BE(BigInt(value));
    },
    (buffer) => {
      const value = buffer.readBigInt64BE();
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new Error(`long ${value} is outside the safe integer range: use Serdes.int64()`);
      }
      return Number(value);
    },
  );
}

/** Big-endian IEEE 754, byte-compatible with Java's DoubleSerializer. */
function float64(): Serde<number> {
  return fixedWidth(
    'float64',
    8,
    (value, buffer) => {
      if (typeof value !== 'number') {
        throw new Error(`float64 expected a number, got ${typeof value}`);
      }
      buffer.writeDoubleBE(value);
    },
    (buffer) => buffer.readDoubleBE(),
  );
}

function string(): Serde<string> {
  return custom(
    (value) => {
      if (typeof value !== 'string') {
        throw new Error(`string expected a string, got ${typeof value}`);
      }
      return Buffer.from(value, 'utf8');
    },
    (data) => data.toString('utf8'),
  );
}

/** UTF-8 JSON. The type parameter is trusted, not checked: validate in a processor if needed. */
function json<T>(): Serde<T> {
  return custom(
    (value) => {
      const text = JSON.stringify(value) as string | undefined;
      if (text === undefined) throw new Error(`JSON cannot represent a ${typeof value}`);
      return Buffer.from(text, 'utf8');
    },
    (data) => {
      try {
        return JSON.parse(data.toString('utf8')) as T;
      } catch (error) {
        throw new Error(`invalid JSON: ${(error as Error).message}`, { cause: error });
      }
    },
  );
}

function bytes(): Serde<Buffer> {
  return custom(
    (value) => {
      if (!Buffer.isBuffer(value)) throw new Error(`bytes expected a Buffer, got ${typeof value}`);
      return value;
    },
    (data) => data,
  );
}

export const Serdes = { string, json, bytes, int32, int64, long, float64, custom } as const;

/**
 * The changelog key of a window store: the serialized key followed by the window start as an
 * 8-byte big-endian signed integer (ms), i.e. Kafka Streams' WindowKeySchema without its 4-byte
 * sequence number (we keep no duplicates):
 *
 *   | key bytes (n) | windowStart int64 BE (8) |
 *
 * The key's length is implied (total − 8), so any key bytes round-trip.
 */
export const WINDOW_START_BYTES = 8;

export function encodeWindowKey(key: Buffer, windowStart: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + WINDOW_START_BYTES);
  key.copy(out, 0);
  out.writeBigInt64BE(BigInt(windowStart), key.length);
  return out;
}

export function decodeWindowKey(bytes: Buffer): { key: Buffer; windowStart: number } {
  if (bytes.length < WINDOW_START_BYTES) {
    throw new RangeError(`A window changelog key has at least 8 bytes, got ${bytes.length}`);
  }
  const at = bytes.length - WINDOW_START_BYTES;
  return {
    key: Buffer.from(bytes.subarray(0, at)),
    windowStart: Number(bytes.readBigInt64BE(at)),
  };
}

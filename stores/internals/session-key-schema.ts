/**
 * The changelog key of a session store, Kafka Streams' SessionKeySchema: the serialized key
 * followed by the session end and then its start, each an 8-byte big-endian signed integer
 * (ms):
 *
 *   | key bytes (n) | end int64 BE (8) | start int64 BE (8) |
 *
 * End before start is Kafka's choice: a range scan from (key, earliestSessionEndTime) finds
 * every session that can overlap a time, whatever its length. The key's length is implied
 * (total − 16), so any key bytes round-trip.
 */
export const SESSION_TIMES_BYTES = 16;

export function encodeSessionKey(key: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + SESSION_TIMES_BYTES);
  key.copy(out, 0);
  out.writeBigInt64BE(BigInt(end), key.length);
  out.writeBigInt64BE(BigInt(start), key.length + 8);
  return out;
}

export function decodeSessionKey(bytes: Buffer): { key: Buffer; start: number; end: number } {
  if (bytes.length < SESSION_TIMES_BYTES) {
    throw new RangeError(`A session changelog key has at least 16 bytes, got ${bytes.length}`);
  }
  const at = bytes.length - SESSION_TIMES_BYTES;
  return {
    key: Buffer.from(bytes.subarray(0, at)),
    end: Number(bytes.readBigInt64BE(at)),
    start: Number(bytes.readBigInt64BE(at + 8)),
  };
}

/**
 * Kafka's default partitioner for keyed records, as the Java client computes it
 * (`Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions`): which partition — hence
 * which task — a key lives in, for `metadataForKey`. The kafkajs backend partitions sends
 * with kafkajs's own copy of the same function; test/framework/client/kafkajs checks they agree.
 */

/** Kafka's murmur2 (Utils.murmur2): seed 0x9747b28c, 32-bit arithmetic. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The Java switch falls through from 3 to 1: the tail bytes, then one multiply.
  const tail = length & 3;
  if (tail === 3) h ^= data[length4 + 2]! << 16;
  if (tail >= 2) h ^= data[length4 + 1]! << 8;
  if (tail >= 1) {
    h ^= data[length4]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a serialized key among `partitions` (Kafka's default partitioner). */
export function defaultPartition(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

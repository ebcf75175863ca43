/**
 * A table update with its previous value (Kafka Streams' Change): what KTable processors
 * forward to each other, so a downstream aggregation can subtract the old value from the old
 * group and add the new one to the new group (KTableRepartitionMap + KTableAggregate).
 */
import type { Serde } from '../../framework/serdes.ts';

export interface Change<V> {
  readonly newValue: V | null;
  readonly oldValue: V | null;
}

const HAS_NEW = 1;
const HAS_OLD = 2;

/**
 * Serializes a Change for a repartition topic (Kafka Streams' ChangedSerializer idea):
 * `flags (1) | new length int32 BE (4) | new bytes | old bytes`. A grouped table's update
 * travels as one record when the key is unchanged (KIP-904), so subtract and add stay atomic.
 */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    serialize(topic, change, headers) {
      if (change === null) return null;
      const next =
        change.newValue === null ? null : inner.serialize(topic, change.newValue, headers);
      const old =
        change.oldValue === null ? null : inner.serialize(topic, change.oldValue, headers);
      const flags = (next === null ? 0 : HAS_NEW) | (old === null ? 0 : HAS_OLD);
      const out = Buffer.allocUnsafe(5 + (next?.length ?? 0) + (old?.length ?? 0));
      out.writeUInt8(flags, 0);
      out.writeInt32BE(next?.length ?? 0, 1);
      next?.copy(out, 5);
      old?.copy(out, 5 + (next?.length ?? 0));
      return out;
    },
    deserialize(topic, data, headers) {
      if (data === null) return null;
      if (data.length < 5) throw new Error(`a table change needs ≥ 5 bytes, got ${data.length}`);
      const flags = data.readUInt8(0);
      const length = data.readInt32BE(1);
      const newValue =
        flags & HAS_NEW ? inner.deserialize(topic, data.subarray(5, 5 + length), headers) : null;
      const oldValue =
        flags & HAS_OLD ? inner.deserialize(topic, data.subarray(5 + length), headers) : null;
      return { newValue, oldValue };
    },
  };
}

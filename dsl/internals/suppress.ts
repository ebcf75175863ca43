/**
 * suppress(untilWindowCloses): Kafka Streams' KTableSuppressProcessor with a final-results
 * buffer (FinalResultsSuppressionBuilder + InMemoryTimeOrderedKeyValueBuffer). Each window's
 * latest update waits in a changelogged key-value store, keyed by window end then windowed
 * key so the closed windows are one range scan; when stream time passes a window's end plus
 * the suppress duration (the windows' grace; for sessions gap + grace) the window's last
 * value is forwarded once and its entry deleted, in the same transaction. Tombstones (a
 * session merged away) are dropped, as Kafka Streams drops them for final results.
 *
 * Durable across failover: the buffer is restored from its changelog, so a window buffered
 * before a crash is emitted once after it, by whichever worker owns the task then.
 */
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../framework/processor.ts';
import { Serdes, type Serde } from '../../framework/serdes.ts';
import type { KeyValueStore } from '../../stores/key-value-store.ts';
import type { Windowed } from '../windows.ts';
import { changeSerde, type Change } from './change.ts';

interface BufferedValue<V> {
  timestamp: number;
  change: Change<V>;
}

/** The buffer's value: the record's timestamp (int64 BE) then the serialized change. */
export function bufferValueSerde<V>(valueSerde: Serde<V>): Serde<BufferedValue<V>> {
  const changes = changeSerde(valueSerde);
  return Serdes.custom<BufferedValue<V>>(
    (entry, topic) => {
      const change = changes.serialize(topic, entry.change) ?? Buffer.alloc(0);
      const out = Buffer.allocUnsafe(8 + change.length);
      out.writeBigInt64BE(BigInt(entry.timestamp), 0);
      change.copy(out, 8);
      return out;
    },
    (data, topic) => ({
      timestamp: Number(data.readBigInt64BE(0)),
      change: changes.deserialize(topic, data.subarray(8)) as Change<V>,
    }),
  );
}

function timePrefix(time: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(BigInt(time), 0);
  return out;
}

export interface SuppressOptions<K, V> {
  storeName: string;
  keySerde: Serde<Windowed<K>>;
  /** A window is final once its end <= stream time − durationMs. */
  durationMs: number;
}

export function suppressProcessor<K, V>(
  options: SuppressOptions<K, V>,
): ProcessorSupplier<Windowed<K>, Change<V>, Windowed<K>, Change<V>> {
  const { storeName, keySerde, durationMs } = options;
  return () => {
    let context!: ProcessorContext<Windowed<K>, Change<V>>;
    let buffer!: KeyValueStore<Buffer, BufferedValue<V>>;
    let observedStreamTime = -1;
    /** Window ends in the buffer (a superset: an end whose entries were deleted may linger). */
    const ends = new Set<number>();
    let minEnd = Infinity;

    const recomputeMin = (): void => {
      minEnd = Infinity;
      for (const end of ends) if (end < minEnd) minEnd = end;
    };

    const evict = (): void => {
      const expiry = observedStreamTime - durationMs;
      if (minEnd > expiry) return;
      for (const { key, value } of buffer.range(undefined, timePrefix(expiry + 1))) {
        const end = Number(key.readBigInt64BE(0));
        if (end > expiry) continue; // the bound itself (an empty windowed key) is not yet due
        buffer.delete(key);
        const windowed = keySerde.deserialize(storeName, key.subarray(8)) as Windowed<K>;
        void context.forward({
          key: windowed,
          value: value.change,
          timestamp: value.timestamp,
          headers: {},
        });
      }
      for (const end of ends) if (end <= expiry) ends.delete(end);
      recomputeMin();
    };

    return {
      init(ctx) {
        context = ctx;
        buffer = ctx.getStateStore<KeyValueStore<Buffer, BufferedValue<V>>>(storeName);
        for (const { key, value } of buffer.all()) {
          ends.add(Number(key.readBigInt64BE(0)));
          // A lower bound of the stream time reached before a restart: emission may wait for the next record, never repeat.
          if (value.timestamp > observedStreamTime) observedStreamTime = value.timestamp;
        }
        recomputeMin();
      },
      process(record) {
        if (record.timestamp > observedStreamTime) observedStreamTime = record.timestamp;
        const end = record.key.window.end;
        const windowKey = keySerde.serialize(storeName, record.key) ?? Buffer.alloc(0);
        const key = Buffer.concat([timePrefix(end), windowKey]);
        if (record.value.newValue === null) {
          buffer.delete(key);
        } else {
          const previous = buffer.get(key);
          // Keep the value the window had before it was buffered as the old value (Kafka Streams' priorValue).
          const oldValue =
            previous === undefined ? record.value.oldValue : previous.change.oldValue;
          buffer.put(key, {
            timestamp: record.timestamp,
            change: { newValue: record.value.newValue, oldValue },
          });
          ends.add(end);
          if (end < minEnd) minEnd = end;
        }
        evict();
      },
    } satisfies Processor<Windowed<K>, Change<V>, Windowed<K>, Change<V>>;
  };
}

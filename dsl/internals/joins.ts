/**
 * The DSL's join processors, after Kafka Streams' KStreamKStreamJoin (with the outer-join
 * store of KAFKA-10847), KStreamKTableJoinProcessor, KStreamGlobalKTableJoin and the
 * KTableKTable{Inner,Left,Right,Outer}Join processors and value getters. All synchronous.
 *
 * Joiners always take `(leftValue, rightValue, key)`; a side that found no partner passes null.
 */
import type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  Record as StreamRecord,
} from '../../framework/processor.ts';
import { Serdes, type Serde } from '../../framework/serdes.ts';
import type { KeyValueStore } from '../../stores/key-value-store.ts';
import type { WindowStore } from '../../stores/window-store.ts';
import type { Change } from './change.ts';
import type { ValueGetter, ValueGetterSupplier } from './table.ts';

export type Joiner = (left: unknown, right: unknown, key: unknown) => unknown;

type Context = ProcessorContext<unknown, unknown>;
type AnyRecord = StreamRecord<unknown, unknown>;

/**
 * `count int32 BE | (length int32 BE | bytes)*`: every value a join window store keeps for one
 * key at one timestamp (Kafka Streams' join stores retain duplicates; here they are one list,
 * written whole, so a changelog replay stays idempotent).
 */
export function listSerde<T>(inner: Serde<T>): Serde<T[]> {
  return Serdes.custom<T[]>(
    (values, topic) => {
      const parts = values.map((v) => inner.serialize(topic, v) ?? Buffer.alloc(0));
      const out = Buffer.allocUnsafe(4 + parts.reduce((n, p) => n + 4 + p.length, 0));
      out.writeInt32BE(parts.length, 0);
      let at = 4;
      for (const part of parts) {
        out.writeInt32BE(part.length, at);
        part.copy(out, at + 4);
        at += 4 + part.length;
      }
      return out;
    },
    (data, topic) => {
      const count = data.readInt32BE(0);
      const values: T[] = [];
      let at = 4;
      for (let i = 0; i < count; i++) {
        const length = data.readInt32BE(at);
        values.push(inner.deserialize(topic, data.subarray(at + 4, at + 4 + length)) as T);
        at += 4 + length;
      }
      return values;
    },
  );
}

// --- stream–stream ---

const LEFT = 1;
const RIGHT = 0;

/** Outer-join store key: `timestamp int64 BE | side (1 left, 0 right) | key bytes`, as Kafka Streams' TimestampedKeyAndJoinSide. */
function outerKey(timestamp: number, side: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + key.length);
  out.writeBigInt64BE(BigInt(timestamp), 0);
  out.writeUInt8(side, 8);
  key.copy(out, 9);
  return out;
}

function timestampPrefix(timestamp: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(BigInt(timestamp), 0);
  return out;
}

export interface StreamJoinSideSpec {
  side: 'left' | 'right';
  /** This side's window store (written) and the other side's (read). */
  thisStore: string;
  otherStore: string;
  /** Records of either side that found no partner yet (left and outer joins). */
  outerStore: string | undefined;
  /** This side's unmatched records are emitted with a null partner (left side of a left join, both of an outer join). */
  outer: boolean;
  beforeMs: number;
  afterMs: number;
  graceMs: number;
  keySerde: Serde<unknown>;
  leftValueSerde: Serde<unknown>;
  rightValueSerde: Serde<unknown>;
  joiner: Joiner;
}

/**
 * One side of a stream–stream join (KStreamKStreamJoinLeftSide / RightSide). Stream time is the
 * highest timestamp either side's window store holds, so it is shared by the two sides, kept
 * in committed state and re-learned after a failover. A record:
 *
 * - later than its window's end plus grace (`t + after + grace < stream time`) is dropped and
 *   counted — it could join nothing that is still kept (KAFKA-16123);
 * - joins every record of the other side's window store within [t − before, t + after];
 * - if it found none and its side is outer, waits in the outer store until its window closes,
 *   and only then is emitted with a null partner (no spurious early results, KAFKA-10847);
 * - is added to its side's window store, where later records of the other side find it.
 *
 * When a record moves stream time, the outer store's records whose windows have closed are
 * emitted, in timestamp order, then deleted.
 */
export function streamJoinSide(spec: StreamJoinSideSpec): ProcessorSupplier {
  const thisSide = spec.side === 'left' ? LEFT : RIGHT;
  const otherSide = spec.side === 'left' ? RIGHT : LEFT;
  // Looking from the right side, the window is mirrored: a left record l joins r when l ∈ [r − after, r + before].
  const lookBefore = spec.side === 'left' ? spec.beforeMs : spec.afterMs;
  const lookAfter = spec.side === 'left' ? spec.afterMs : spec.beforeMs;
  const join =
    spec.side === 'left'
      ? spec.joiner
      : (value: unknown, other: unknown, key: unknown) => spec.joiner(other, value, key);
  const thisValueSerde = spec.side === 'left' ? spec.leftValueSerde : spec.rightValueSerde;
  return () => {
    let context!: Context;
    let thisStore!: WindowStore<unknown, unknown[]>;
    let otherStore!: WindowStore<unknown, unknown[]>;
    let outer: KeyValueStore<Buffer, Buffer[]> | undefined;
    let topic = '';

    const emitClosed = (streamTime: number, record: AnyRecord): void => {
      if (outer === undefined) return;
      // Entries older than this may have closed; each side's own look-back decides.
      const bound = streamTime - Math.min(spec.beforeMs, spec.afterMs) - spec.graceMs;
      if (bound <= 0) return;
      for (const { key, value } of outer.range(undefined, timestampPrefix(bound))) {
        const timestamp = Number(key.readBigInt64BE(0));
        const side = key.readUInt8(8);
        const lookBack = side === LEFT ? spec.afterMs : spec.beforeMs;
        if (timestamp + lookBack + spec.graceMs >= streamTime) continue; // still open
        const userKey = spec.keySerde.deserialize(topic, key.subarray(9));
        const serde = side === LEFT ? spec.leftValueSerde : spec.rightValueSerde;
        for (const bytes of value) {
          const v = serde.deserialize(topic, bytes);
          void context.forward({
            key: userKey,
            value: side === LEFT ? spec.joiner(v, null, userKey) : spec.joiner(null, v, userKey),
            timestamp,
            headers: record.headers,
          });
        }
        outer.delete(key);
      }
    };

    return {
      init(ctx) {
        context = ctx as Context;
        thisStore = ctx.getStateStore<WindowStore<unknown, unknown[]>>(spec.thisStore);
        otherStore = ctx.getStateStore<WindowStore<unknown, unknown[]>>(spec.otherStore);
        if (spec.outerStore !== undefined)
          outer = ctx.getStateStore<KeyValueStore<Buffer, Buffer[]>>(spec.outerStore);
        topic = spec.outerStore ?? spec.thisStore;
      },
      process(record: AnyRecord) {
        const { key, value, timestamp } = record;
        // KIP-962: a left (outer) join passes a null-key record on, with no partner.
        if (spec.outer && (key === null || key === undefined) && value !== null) {
          void context.forward({ ...record, value: join(value, null, key) });
          return;
        }
        if (key === null || key === undefined || value === null || value === undefined) {
          context.droppedRecord(key === null || key === undefined ? 'null key' : 'null value');
          return;
        }
        const streamTime = Math.max(thisStore.observedStreamTime, otherStore.observedStreamTime);
        if (timestamp + lookAfter + spec.graceMs < streamTime) {
          context.droppedRecord(
            `late record: its join window ended at ${timestamp + lookAfter}, grace ${spec.graceMs} ms, stream time ${streamTime}`,
          );
          return;
        }
        if (timestamp >= streamTime) emitClosed(timestamp, record);
        const keyBytes =
          outer === undefined
            ? undefined
            : (spec.keySerde.serialize(topic, key) ?? Buffer.alloc(0));
        const matches = otherStore.fetch(
          key,
          Math.max(0, timestamp - lookBefore),
          Math.max(0, timestamp + lookAfter),
        );
        let matched = false;
        for (const match of matches) {
          for (const other of match.value) {
            matched = true;
            void context.forward({
              key,
              value: join(value, other, key),
              timestamp: Math.max(timestamp, match.windowStart),
              headers: record.headers,
            });
          }
          if (outer !== undefined && keyBytes !== undefined) {
            // The other side's records at that time have a partner now: never null-joined.
            const waiting = outerKey(match.windowStart, otherSide, keyBytes);
            if (outer.get(waiting) !== undefined) outer.delete(waiting);
          }
        }
        if (!matched && spec.outer && outer !== undefined && keyBytes !== undefined) {
          const waitingKey = outerKey(timestamp, thisSide, keyBytes);
          const bytes = thisValueSerde.serialize(topic, value) ?? Buffer.alloc(0);
          outer.put(waitingKey, [...(outer.get(waitingKey) ?? []), bytes]);
        }
        thisStore.put(key, [...(thisStore.get(key, timestamp) ?? []), value], timestamp);
      },
    } satisfies Processor;
  };
}

// --- stream–table and stream–global table ---

export interface StreamTableJoinSpec {
  getter: ValueGetterSupplier<unknown, unknown>;
  leftJoin: boolean;
  /** Global tables: the table key of a record; tables: the record's key. */
  keySelector?: (key: unknown, value: unknown) => unknown;
  joiner: Joiner;
}

/**
 * KStreamKTableJoinProcessor: a stream record meets the table's current value for its key.
 * The table is read, never written: table updates emit nothing. A record with a null value
 * (or a null join key) is dropped, except that a left join passes a null-key record on with no
 * partner (KIP-962).
 */
export function streamTableJoin(spec: StreamTableJoinSpec): ProcessorSupplier {
  return () => {
    let context!: Context;
    let getter!: ValueGetter<unknown, unknown>;
    return {
      init(ctx) {
        context = ctx as Context;
        getter = spec.getter.get();
        getter.init(context);
      },
      process(record: AnyRecord) {
        const { key, value } = record;
        const joinKey = spec.keySelector ? spec.keySelector(key, value) : key;
        const nullKey = key === null || key === undefined;
        const relaxed = spec.leftJoin && nullKey && value !== null && value !== undefined;
        if (!relaxed && (joinKey === null || joinKey === undefined || value === null)) {
          context.droppedRecord(value === null ? 'null value' : 'null join key');
          return;
        }
        const found = joinKey === null || joinKey === undefined ? undefined : getter.get(joinKey);
        if (found === undefined && !spec.leftJoin) return;
        void context.forward({ ...record, value: spec.joiner(value, found?.value ?? null, key) });
      },
    } satisfies Processor;
  };
}

// --- table–table ---

/** Which Kafka Streams processor one side of a table–table join is. */
export type TableJoinKind = 'inner' | 'left' | 'right' | 'outer';

/**
 * One side of a table–table join (KTableKTable{Inner,Left,Right,Outer}Join): an update of this
 * side meets the other side's current value and forwards the joined new and old values (old
 * values always, so downstream aggregations stay correct). `right` is the right side of a
 * left join: it emits only while the left side has a row. The result's time is the later of
 * the two rows'. `joiner` is oriented (this value, other value).
 */
export function tableJoinSide(
  kind: TableJoinKind,
  other: ValueGetterSupplier<unknown, unknown>,
  joiner: (thisValue: unknown, otherValue: unknown, key: unknown) => unknown,
): ProcessorSupplier {
  return () => {
    let context!: ProcessorContext<unknown, Change<unknown>>;
    let getter!: ValueGetter<unknown, unknown>;
    return {
      init(ctx) {
        context = ctx as ProcessorContext<unknown, Change<unknown>>;
        getter = other.get();
        getter.init(ctx as Context);
      },
      process(record: StreamRecord<unknown, Change<unknown>>) {
        const { key } = record;
        if (key === null || key === undefined) {
          context.droppedRecord('null key');
          return;
        }
        const { newValue, oldValue } = record.value;
        const found = getter.get(key);
        const otherValue = found?.value ?? null;
        let next: unknown = null;
        let old: unknown = null;
        switch (kind) {
          case 'inner':
            if (found === undefined) return;
            if (newValue !== null) next = joiner(newValue, otherValue, key);
            if (oldValue !== null) old = joiner(oldValue, otherValue, key);
            break;
          case 'left':
            if (found === undefined && newValue === null && oldValue === null) return;
            if (newValue !== null) next = joiner(newValue, otherValue, key);
            if (oldValue !== null) old = joiner(oldValue, otherValue, key);
            break;
          case 'right':
            if (found === undefined) return;
            next = joiner(newValue, otherValue, key);
            old = joiner(oldValue, otherValue, key);
            break;
          case 'outer':
            if (found === undefined && newValue === null && oldValue === null) return;
            if (found !== undefined || newValue !== null) next = joiner(newValue, otherValue, key);
            if (found !== undefined || oldValue !== null) old = joiner(oldValue, otherValue, key);
            break;
        }
        const timestamp =
          found === undefined ? record.timestamp : Math.max(record.timestamp, found.timestamp);
        void context.forward({
          key,
          value: { newValue: next, oldValue: old },
          timestamp,
          headers: record.headers,
        });
      },
    } satisfies Processor<unknown, Change<unknown>, unknown, Change<unknown>>;
  };
}

/** The joined table's value getter (KTableKTable*JoinValueGetter): both sides' getters and the joiner. */
export function tableJoinValueGetter(
  kind: 'inner' | 'left' | 'outer',
  left: ValueGetterSupplier<unknown, unknown>,
  right: ValueGetterSupplier<unknown, unknown>,
  joiner: Joiner,
): ValueGetterSupplier<unknown, unknown> {
  return {
    storeNames: [...new Set([...left.storeNames, ...right.storeNames])],
    get() {
      const l = left.get();
      const r = right.get();
      return {
        init(context) {
          l.init(context);
          r.init(context);
        },
        get(key) {
          const a = l.get(key);
          if (a === undefined && kind !== 'outer') return undefined;
          const b = r.get(key);
          if (b === undefined && kind === 'inner') return undefined;
          if (a === undefined && b === undefined) return undefined;
          return {
            value: joiner(a?.value ?? null, b?.value ?? null, key),
            timestamp: Math.max(a?.timestamp ?? -1, b?.timestamp ?? -1),
          };
        },
      };
    },
  };
}

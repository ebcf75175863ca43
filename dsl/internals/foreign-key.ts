/**
 * The foreign-key table join of KIP-213, after Kafka Streams' foreignkeyjoin package. A row of
 * the left table (key K) refers to a row of the right table by a foreign key (KO) extracted
 * from its value; the two tables are partitioned differently, so they meet through two
 * internal topics, inside the exactly-once cycle:
 *
 *   left table ─▶ subscription-send ─▶ «subscription-registration» (keyed by KO)
 *        ▲                │ (no foreign key: resolved here)      │
 *        │                ▼                                       ▼
 *   response-join ◀── «subscription-response» (keyed by K) ◀── subscription-join ◀─ right table
 *        │                                                        foreign-table-join ◀┘
 *        ▼
 *   result (a table: store + old values)
 *
 * - The right side keeps every subscription in a store keyed `length(KO) ‖ KO ‖ K`, so a
 *   right-table update finds its subscribers with one prefix scan.
 * - Every subscription carries a hash of the left value that sent it, and the response
 *   carries it back: a response whose hash is not the hash of the left row's current value is
 *   stale (the row changed, or moved to another foreign key, while it travelled) and dropped.
 * - The response goes to the partition the left row was read from (KIP-775's primary
 *   partition), however the left topic is partitioned.
 */
import { createHash } from 'node:crypto';
import type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  Record as StreamRecord,
} from '../../framework/processor.ts';
import { Serdes, type Serde } from '../../framework/serdes.ts';
import { parseTaskId } from '../../framework/topology.ts';
import type { TimestampedKeyValueStore } from '../../stores/timestamped-key-value-store.ts';
import type { Change } from './change.ts';
import type { Joiner } from './joins.ts';
import type { ValueGetter, ValueGetterSupplier } from './table.ts';

/** What a subscription asks of the right side (Kafka Streams' SubscriptionWrapper.Instruction). */
export const Instruction = {
  /** Forget the subscription; send nothing (the row moved to another foreign key). */
  DELETE_KEY_NO_PROPAGATE: 0,
  /** Forget the subscription; send a null value (the row was deleted). */
  DELETE_KEY_AND_PROPAGATE: 1,
  /** Subscribe; send the foreign value, or null when there is none (an update: unset the old result). */
  PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE: 2,
  /** Subscribe; send the foreign value only if there is one (a new row of an inner join). */
  PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE: 3,
} as const;
type InstructionCode = (typeof Instruction)[keyof typeof Instruction];

export interface Subscription {
  readonly instruction: InstructionCode;
  /** Hash of the serialized left value that sent it; null for a deleted row. */
  readonly hash: Buffer | null;
  /** The left row's partition, where the response must go. */
  readonly primaryPartition: number;
  /** The left row's key, serialized (the right side never needs it typed). */
  readonly primaryKey: Buffer;
}

export interface SubscriptionResponse<VO> {
  readonly hash: Buffer | null;
  readonly foreignValue: VO | null;
  readonly primaryPartition: number;
}

const VERSION = 0;
const HASH_BYTES = 16;

/** A 16-byte digest of a serialized left value (Kafka Streams uses murmur3-128; any stable hash does). */
export function valueHash(bytes: Buffer | null): Buffer | null {
  return bytes === null
    ? null
    : createHash('sha256').update(bytes).digest().subarray(0, HASH_BYTES);
}

function sameHash(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function readVersion(data: Buffer, what: string): void {
  const version = data.readUInt8(0);
  if (version !== VERSION) {
    throw new Error(`${what} of version ${version}; this streamtx reads version ${VERSION}`);
  }
}

/** `version | instruction | hash length (0 or 16) | hash | primary partition int32 | primary key`. */
export const subscriptionSerde: Serde<Subscription> = Serdes.custom<Subscription>(
  (s) => {
    const hashLength = s.hash?.length ?? 0;
    const out = Buffer.allocUnsafe(3 + hashLength + 4 + s.primaryKey.length);
    out.writeUInt8(VERSION, 0);
    out.writeUInt8(s.instruction, 1);
    out.writeUInt8(hashLength, 2);
    s.hash?.copy(out, 3);
    out.writeInt32BE(s.primaryPartition, 3 + hashLength);
    s.primaryKey.copy(out, 7 + hashLength);
    return out;
  },
  (data) => {
    readVersion(data, 'a foreign-key join subscription');
    const hashLength = data.readUInt8(2);
    return {
      instruction: data.readUInt8(1) as InstructionCode,
      hash: hashLength === 0 ? null : Buffer.from(data.subarray(3, 3 + hashLength)),
      primaryPartition: data.readInt32BE(3 + hashLength),
      primaryKey: Buffer.from(data.subarray(7 + hashLength)),
    };
  },
);

/** `version | hash length | hash | primary partition int32 | has value (0/1) | foreign value`. */
export function responseSerde<VO>(foreign: Serde<VO>): Serde<SubscriptionResponse<VO>> {
  return Serdes.custom<SubscriptionResponse<VO>>(
    (r, topic) => {
      const hashLength = r.hash?.length ?? 0;
      const value = r.foreignValue === null ? null : foreign.serialize(topic, r.foreignValue);
      const out = Buffer.allocUnsafe(2 + hashLength + 5 + (value?.length ?? 0));
      out.writeUInt8(VERSION, 0);
      out.writeUInt8(hashLength, 1);
      r.hash?.copy(out, 2);
      out.writeInt32BE(r.primaryPartition, 2 + hashLength);
      out.writeUInt8(value === null ? 0 : 1, 6 + hashLength);
      value?.copy(out, 7 + hashLength);
      return out;
    },
    (data, topic) => {
      readVersion(data, 'a foreign-key join response');
      const hashLength = data.readUInt8(1);
      const hasValue = data.readUInt8(6 + hashLength) === 1;
      return {
        hash: hashLength === 0 ? null : Buffer.from(data.subarray(2, 2 + hashLength)),
        primaryPartition: data.readInt32BE(2 + hashLength),
        foreignValue: hasValue ? foreign.deserialize(topic, data.subarray(7 + hashLength)) : null,
      };
    },
  );
}

/** The subscription store's key: `length(KO) int32 BE ‖ KO ‖ K`, so one prefix holds a foreign key's subscribers. */
function foreignKeyPrefix(foreignKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + foreignKey.length);
  out.writeInt32BE(foreignKey.length, 0);
  foreignKey.copy(out, 4);
  return out;
}

function combinedKey(foreignKey: Buffer, primaryKey: Buffer): Buffer {
  return Buffer.concat([foreignKeyPrefix(foreignKey), primaryKey]);
}

type AnyContext = ProcessorContext<unknown, unknown>;

export interface SubscriptionSendSpec {
  extractor: (value: unknown, key: unknown) => unknown;
  leftJoin: boolean;
  primaryKeySerde: Serde<unknown>;
  primaryValueSerde: Serde<unknown>;
  foreignKeySerde: Serde<unknown>;
  /** The subscription sink, and the response-join processor for rows resolved without a round trip. */
  sinkChild: string;
  localChild: string;
  /** Topic names the serdes see. */
  topic: string;
}

/**
 * SubscriptionSendProcessorSupplier: turns each left-table change into subscription
 * instructions for the old and new foreign keys. Rows that need no round trip — no foreign
 * key, or deleted without a subscription — are answered here, through the same hash check.
 */
export function subscriptionSend(spec: SubscriptionSendSpec): ProcessorSupplier {
  return () => {
    let context!: AnyContext;
    let partition = 0;
    const foreignKeyOf = (value: unknown, key: unknown): unknown => {
      if (value === null) return null;
      return spec.extractor(value, key) ?? null;
    };
    return {
      init(ctx) {
        context = ctx as AnyContext;
        partition = parseTaskId(ctx.taskId).partition;
      },
      process(record: StreamRecord<unknown, Change<unknown>>) {
        const { key } = record;
        if (key === null || key === undefined) {
          context.droppedRecord('null key');
          return;
        }
        const { newValue, oldValue } = record.value;
        const oldForeignKey = foreignKeyOf(oldValue, key);
        const newForeignKey = foreignKeyOf(newValue, key);
        const oldBytes =
          oldForeignKey === null ? null : spec.foreignKeySerde.serialize(spec.topic, oldForeignKey);
        const newBytes =
          newForeignKey === null ? null : spec.foreignKeySerde.serialize(spec.topic, newForeignKey);
        const hash =
          newValue === null
            ? null
            : valueHash(spec.primaryValueSerde.serialize(spec.topic, newValue));
        const primaryKey = spec.primaryKeySerde.serialize(spec.topic, key) ?? Buffer.alloc(0);
        const send = (foreignKey: unknown, instruction: InstructionCode): void => {
          const subscription: Subscription = {
            instruction,
            hash,
            primaryPartition: context.partition ?? partition,
            primaryKey,
          };
          void context.forward({ ...record, key: foreignKey, value: subscription }, spec.sinkChild);
        };
        const resolveHere = (): void => {
          const response: SubscriptionResponse<unknown> = {
            hash,
            foreignValue: null,
            primaryPartition: context.partition ?? partition,
          };
          void context.forward({ ...record, value: response }, spec.localChild);
        };
        if (newValue === null) {
          if (oldValue === null) return; // a tombstone for a row that never was
          if (oldBytes !== null) send(oldForeignKey, Instruction.DELETE_KEY_AND_PROPAGATE);
          else resolveHere(); // never subscribed: its (left join) result is deleted here
          return;
        }
        if (oldBytes !== null && (newBytes === null || !oldBytes.equals(newBytes))) {
          send(oldForeignKey, Instruction.DELETE_KEY_NO_PROPAGATE);
        }
        if (newBytes === null) {
          // No foreign key: a left join emits (value, null); an inner join unsets its old result.
          if (spec.leftJoin || oldValue !== null) resolveHere();
          else context.droppedRecord('null foreign key');
          return;
        }
        send(
          newForeignKey,
          oldValue === null && !spec.leftJoin
            ? Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE
            : Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE,
        );
      },
    } satisfies Processor;
  };
}

export interface SubscriptionJoinSpec {
  storeName: string;
  foreign: ValueGetterSupplier<unknown, unknown>;
  foreignKeySerde: Serde<unknown>;
  topic: string;
}

/**
 * SubscriptionReceiveProcessorSupplier + SubscriptionJoinProcessorSupplier: records (or
 * forgets) a subscription, then answers it with the foreign row's current value as its
 * instruction says.
 */
export function subscriptionJoin(spec: SubscriptionJoinSpec): ProcessorSupplier {
  return () => {
    let context!: AnyContext;
    let store!: TimestampedKeyValueStore<Buffer, Subscription>;
    let foreign!: ValueGetter<unknown, unknown>;
    return {
      init(ctx) {
        context = ctx as AnyContext;
        store = ctx.getStateStore<TimestampedKeyValueStore<Buffer, Subscription>>(spec.storeName);
        foreign = spec.foreign.get();
        foreign.init(context);
      },
      process(record: StreamRecord<Buffer, Subscription>) {
        const { key: foreignKeyBytes, value: subscription } = record;
        if (foreignKeyBytes === null || subscription === null) {
          context.droppedRecord('null foreign key');
          return;
        }
        const key = combinedKey(foreignKeyBytes, subscription.primaryKey);
        const { instruction } = subscription;
        if (
          instruction === Instruction.DELETE_KEY_AND_PROPAGATE ||
          instruction === Instruction.DELETE_KEY_NO_PROPAGATE
        ) {
          store.delete(key);
        } else {
          store.put(key, { value: subscription, timestamp: record.timestamp });
        }
        const found = foreign.get(spec.foreignKeySerde.deserialize(spec.topic, foreignKeyBytes));
        const respond = (foreignValue: unknown): void => {
          const response: SubscriptionResponse<unknown> = {
            hash: subscription.hash,
            foreignValue,
            primaryPartition: subscription.primaryPartition,
          };
          void context.forward({
            key: subscription.primaryKey,
            value: response,
            timestamp: found ? Math.max(record.timestamp, found.timestamp) : record.timestamp,
            headers: record.headers,
          });
        };
        switch (instruction) {
          case Instruction.DELETE_KEY_AND_PROPAGATE:
            respond(null);
            break;
          case Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE:
            respond(found?.value ?? null);
            break;
          case Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE:
            if (found !== undefined) respond(found.value);
            break;
          case Instruction.DELETE_KEY_NO_PROPAGATE:
            break;
        }
      },
    } satisfies Processor;
  };
}

/**
 * ForeignTableJoinProcessorSupplier: a change of a right-table row is sent to every left row
 * subscribed to its key (one prefix scan of the subscription store).
 */
export function foreignTableJoin(spec: {
  storeName: string;
  foreignKeySerde: Serde<unknown>;
  topic: string;
}): ProcessorSupplier {
  return () => {
    let context!: AnyContext;
    let store!: TimestampedKeyValueStore<Buffer, Subscription>;
    return {
      init(ctx) {
        context = ctx as AnyContext;
        store = ctx.getStateStore<TimestampedKeyValueStore<Buffer, Subscription>>(spec.storeName);
      },
      process(record: StreamRecord<unknown, Change<unknown>>) {
        if (record.key === null || record.key === undefined) {
          context.droppedRecord('null key');
          return;
        }
        const bytes = spec.foreignKeySerde.serialize(spec.topic, record.key) ?? Buffer.alloc(0);
        for (const { value } of store.prefixScan(foreignKeyPrefix(bytes), Serdes.bytes())) {
          const subscription = value.value;
          const response: SubscriptionResponse<unknown> = {
            hash: subscription.hash,
            foreignValue: record.value.newValue,
            primaryPartition: subscription.primaryPartition,
          };
          void context.forward({ ...record, key: subscription.primaryKey, value: response });
        }
      },
    } satisfies Processor;
  };
}

/**
 * ResponseJoinProcessorSupplier: joins a response with the left row's current value — if the
 * response was sent for that value (same hash); a stale one is dropped. Inner joins turn a
 * missing foreign row into a deletion; left joins into (value, null).
 */
export function responseJoin(spec: {
  primary: ValueGetterSupplier<unknown, unknown>;
  primaryValueSerde: Serde<unknown>;
  leftJoin: boolean;
  joiner: Joiner;
  topic: string;
}): ProcessorSupplier {
  return () => {
    let context!: AnyContext;
    let primary!: ValueGetter<unknown, unknown>;
    return {
      init(ctx) {
        context = ctx as AnyContext;
        primary = spec.primary.get();
        primary.init(context);
      },
      process(record: StreamRecord<unknown, SubscriptionResponse<unknown>>) {
        const current = primary.get(record.key);
        const currentHash =
          current === undefined
            ? null
            : valueHash(spec.primaryValueSerde.serialize(spec.topic, current.value));
        if (!sameHash(record.value.hash, currentHash)) {
          context.droppedRecord('stale foreign-key join response (the row changed since)');
          return;
        }
        const { foreignValue } = record.value;
        const result =
          foreignValue === null && (!spec.leftJoin || current === undefined)
            ? null
            : spec.joiner(current?.value ?? null, foreignValue, record.key);
        void context.forward({ ...record, value: result });
      },
    } satisfies Processor;
  };
}

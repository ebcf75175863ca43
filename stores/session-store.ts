/**
 * The session store: Kafka Streams' SessionStore over serdes. A session is (key, start, end),
 * both times inclusive, mapped to an aggregate; a session-window aggregation finds the
 * sessions a new record merges with (`findSessions`), removes them and puts the merged one.
 *
 * Expiry follows Kafka Streams' InMemorySessionStore (and the reads of RocksDBSessionStore):
 * observed stream time is the highest session end put (or removed) so far; a session whose
 * end <= observed stream time − retention is expired: it is dropped, no longer returned, and
 * a put or removal for it is ignored (not logged).
 *
 * Changelog key: the serialized key, then the end, then the start, each an 8-byte big-endian
 * signed integer (Kafka Streams' SessionKeySchema, see `encodeSessionKey`); timestamp: the
 * session end; a removal is a tombstone. Results are arrays, materialized when called.
 */
import { changelogTopic } from '../framework/names.ts';
import { SerializationError } from '../framework/errors.ts';
import type { StateStore, StateStoreContext } from '../framework/processor.ts';
import type { Serde } from '../framework/serdes.ts';
import type { SessionBytesEntry, SessionBytesStore } from './internals/bytes-store.ts';
import { checkSession, checkTime } from './internals/bytes-store.ts';
import { committedSessionView } from './internals/committed-view.ts';
import type { ReadOnlySessionStore } from './queryable.ts';
import type { TransactionalStateStore } from './transactional-store.ts';

/** One session of one key: [start, end], both inclusive (ms). */
export interface Session<K> {
  readonly key: K;
  readonly start: number;
  readonly end: number;
}

/**
 * A stored session and its aggregate. Flat rather than `{ session, value }`: an entry is a
 * `Session` itself, so `store.remove(entry)` or `store.put(entry, merged)` take it as it is.
 */
export interface SessionEntry<K, V> extends Session<K> {
  readonly value: V;
}

export interface SessionStore<K, V> extends TransactionalStateStore {
  readonly retentionMs: number;
  /** Highest session end put, removed or restored so far (-Infinity before the first). */
  readonly observedStreamTime: number;
  /** Writes the session's aggregate; `null` removes the session. Expired: ignored. */
  put(session: Session<K>, value: V | null): void;
  /** Removes the session (`put(session, null)`). */
  remove(session: Session<K>): void;
  /** The aggregate of exactly this session, or undefined. */
  fetchSession(key: K, start: number, end: number): V | undefined;
  /**
   * The key's live sessions with end >= earliestSessionEndTime and
   * start <= latestSessionStartTime — every session that overlaps
   * [earliestSessionEndTime, latestSessionStartTime] — by start, then end.
   */
  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): SessionEntry<K, V>[];
  /**
   * The same over the keys keyFrom <= key <= keyTo by serialized bytes (inclusive; undefined
   * = open, so `findSessions(undefined, undefined, …)` is every key), by key bytes, then start,
   * then end; empty when keyFrom > keyTo.
   */
  findSessions(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): SessionEntry<K, V>[];
  /**
   * Live sessions of every key with earliestSessionEndTime <= end <= latestSessionEndTime, by
   * end, then key bytes, then start: the sessions that closed in a stream-time interval (Kafka
   * Streams' `findSessions(earliestSessionEndTime, latestSessionEndTime)`, KIP-825).
   */
  findSessionsByEnd(
    earliestSessionEndTime: number,
    latestSessionEndTime: number,
  ): SessionEntry<K, V>[];
  /** The key's live sessions, by start, then end. */
  fetch(key: K): SessionEntry<K, V>[];
  /** Live sessions of keyFrom <= key <= keyTo (undefined = open), by key bytes, start, end. */
  fetch(keyFrom: K | undefined, keyTo: K | undefined): SessionEntry<K, V>[];
  /** Every live session, by key bytes, then start, then end. */
  all(): SessionEntry<K, V>[];
  /** Number of stored sessions (SQLite counts, so O(n)). */
  approximateNumEntries(): number;
}

const MIN = Number.MIN_SAFE_INTEGER;
const MAX = Number.MAX_SAFE_INTEGER;

export class SerdeSessionStore<K, V> implements SessionStore<K, V> {
  #topic: string;
  #committed: SerdeSessionStore<K, V> | undefined;

  constructor(
    readonly name: string,
    private readonly inner: SessionBytesStore,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    readonly loggingEnabled: boolean,
  ) {
    this.#topic = name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }
  get inTransaction(): boolean {
    return this.inner.inTransaction;
  }
  get retentionMs(): number {
    return this.inner.retentionMs;
  }
  get observedStreamTime(): number {
    return this.inner.observedStreamTime;
  }

  init(context: StateStoreContext): void {
    this.#topic = changelogTopic(context.applicationId, this.name);
    this.inner.init(context);
  }
  /**
   * A read-only view of this store's committed state, for interactive queries: it never sees
   * the owning task's open transaction (stores/queryable.ts).
   */
  committedView(): ReadOnlySessionStore<K, V> {
    const view = (this.#committed ??= new SerdeSessionStore(
      this.name,
      committedSessionView(this.name, this.inner),
      this.keySerde,
      this.valueSerde,
      false,
    ));
    view.#topic = this.#topic;
    return view;
  }

  put(session: Session<K>, value: V | null): void {
    const { key, start, end } = this.#session(session);
    const bytes = this.valueSerde.serialize(this.#topic, value);
    const copy = bytes !== null && bytes === (value as unknown) ? Buffer.from(bytes) : bytes;
    this.inner.put(key, start, end, copy);
  }

  remove(session: Session<K>): void {
    const { key, start, end } = this.#session(session);
    this.inner.put(key, start, end, null);
  }

  fetchSession(key: K, start: number, end: number): V | undefined {
    checkSession(start, end);
    const bytes = this.inner.fetchSession(this.#key(key), start, end);
    return bytes === undefined ? undefined : this.#value(bytes);
  }

  findSessions(
    ...args: [K, number, number] | [K | undefined, K | undefined, number, number]
  ): SessionEntry<K, V>[] {
    // Told apart by arity, as Kafka Streams' overloads are: (key, …) or (keyFrom, keyTo, …).
    const [from, to, earliest, latest] =
      args.length === 3 ? [args[0], args[0], args[1], args[2]] : args;
    checkTime('earliestSessionEndTime', earliest);
    checkTime('latestSessionStartTime', latest);
    return this.#find(from, to, earliest, latest, args.length === 3);
  }

  findSessionsByEnd(
    earliestSessionEndTime: number,
    latestSessionEndTime: number,
  ): SessionEntry<K, V>[] {
    checkTime('earliestSessionEndTime', earliestSessionEndTime);
    checkTime('latestSessionEndTime', latestSessionEndTime);
    return this.#entries(
      this.inner.findSessionsByEnd(earliestSessionEndTime, latestSessionEndTime),
    );
  }

  fetch(...args: [K] | [K | undefined, K | undefined]): SessionEntry<K, V>[] {
    if (args.length === 1) return this.#find(args[0], args[0], MIN, MAX, true);
    return this.#find(args[0], args[1], MIN, MAX, false);
  }

  all(): SessionEntry<K, V>[] {
    return this.#find(undefined, undefined, MIN, MAX, false);
  }

  approximateNumEntries(): number {
    return this.inner.count();
  }

  beginTransaction(): void {
    this.inner.beginTransaction();
  }
  commitTransaction(changelogOffset: bigint | undefined): void {
    this.inner.commitTransaction(changelogOffset);
  }
  rollbackTransaction(): void {
    this.inner.rollbackTransaction();
  }
  checkpoint(): bigint | undefined {
    return this.inner.checkpoint();
  }
  restoreBatch(records: { key: Buffer; value: Buffer | null }[], nextOffset: bigint): void {
    this.inner.restoreBatch(records, nextOffset);
  }
  wipe(): void {
    this.inner.wipe();
  }
  close(): void {
    this.inner.close();
  }

  /** `single`: one key asked for, whose sessions are returned with the caller's key object. */
  #find(
    from: K | undefined,
    to: K | undefined,
    earliest: number,
    latest: number,
    single: boolean,
  ): SessionEntry<K, V>[] {
    const fromBytes = from === undefined ? undefined : this.#key(from);
    const toBytes = single ? fromBytes : to === undefined ? undefined : this.#key(to);
    const entries = this.inner.findSessions(fromBytes, toBytes, earliest, latest);
    if (!single) return this.#entries(entries);
    return entries.map(([, start, end, value]) => ({
      key: from as K,
      start,
      end,
      value: this.#value(value),
    }));
  }

  #session(session: Session<K>): { key: Buffer; start: number; end: number } {
    if (session === null || typeof session !== 'object') {
      throw new TypeError(
        `State store "${this.name}": a session is { key, start, end }, got ${String(session)}`,
      );
    }
    const { start, end } = session;
    checkSession(start, end);
    return { key: this.#key(session.key), start, end };
  }

  #key(key: K): Buffer {
    const bytes = this.keySerde.serialize(this.#topic, key);
    if (bytes === null) {
      throw new SerializationError(`State store "${this.name}" cannot hold a null key`, {
        topic: this.#topic,
      });
    }
    return bytes === (key as unknown) ? Buffer.from(bytes) : bytes;
  }

  #value(bytes: Buffer): V {
    const value = this.valueSerde.deserialize(this.#topic, bytes);
    return (value === (bytes as unknown) ? Buffer.from(bytes) : value) as V;
  }

  #entries(entries: SessionBytesEntry[]): SessionEntry<K, V>[] {
    return entries.map(([keyBytes, start, end, value]) => {
      const key = this.keySerde.deserialize(this.#topic, keyBytes);
      return {
        key: (key === (keyBytes as unknown) ? Buffer.from(keyBytes) : key) as K,
        start,
        end,
        value: this.#value(value),
      };
    });
  }
}

/** Whether a store is a session store. */
export function isSessionStore(store: StateStore): store is SessionStore<unknown, unknown> {
  const s = store as Partial<SessionStore<unknown, unknown>>;
  return typeof s.findSessions === 'function' && typeof s.fetchSession === 'function';
}

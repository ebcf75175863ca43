/**
 * The byte-level stores the typed stores are layered on, as in Kafka Streams:
 *
 *   typed store (serdes) → change-logging layer → inner store (SQLite or memory)
 *
 * Keys and values are serialized bytes; ordering is unsigned byte order everywhere.
 */
import type { StateStoreContext } from '../../framework/processor.ts';

export interface ChangelogRecord {
  key: Buffer;
  value: Buffer | null;
}

/** The transaction and restore contract of `StateStore`, made mandatory for the layers. */
export interface BytesStoreLifecycle {
  readonly persistent: boolean;
  readonly inTransaction: boolean;
  init(context: StateStoreContext): void;
  beginTransaction(): void;
  commitTransaction(changelogOffset: bigint | undefined): void;
  rollbackTransaction(): void;
  checkpoint(): bigint | undefined;
  restoreBatch(records: ChangelogRecord[], nextOffset: bigint): void;
  wipe(): void;
  close(): void;
}

/*
 * Committed reads, for interactive queries: `readCommitted(read)` runs `read` (synchronously)
 * on a store that answers from the committed state only — what a rollback of the open
 * transaction would leave — never from the task's uncommitted writes. SQLite reads through a
 * second, read-only connection (WAL: it sees committed transactions only, in one snapshot per
 * call); a memory store reverts the open transaction's writes through its undo log for the
 * duration of the call and reapplies them after. Only read methods may be called on `store`.
 */

/** Key and value, both serialized. */
export type BytesEntry = [key: Buffer, value: Buffer];

export interface KeyValueBytesStore extends BytesStoreLifecycle {
  get(key: Buffer): Buffer | undefined;
  put(key: Buffer, value: Buffer): void;
  /** Writes only when the key is absent; returns the existing value otherwise. */
  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined;
  /** Returns the removed value, undefined when the key was absent. */
  delete(key: Buffer): Buffer | undefined;
  /** Inclusive bounds, undefined = open; ascending byte order. */
  range(from: Buffer | undefined, to: Buffer | undefined): BytesEntry[];
  prefixScan(prefix: Buffer): BytesEntry[];
  count(): number;
  /** Runs `read` against the committed state only (committed reads, above). */
  readCommitted<T>(read: (store: KeyValueBytesStore) => T): T;
}

/** A stored window: key, window start (ms), value. */
export type WindowBytesEntry = [key: Buffer, windowStart: number, value: Buffer];

export interface WindowBytesStore extends BytesStoreLifecycle {
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  /** Highest window start put (or restored) so far; -Infinity before the first. */
  readonly observedStreamTime: number;
  get(key: Buffer, windowStart: number): Buffer | undefined;
  /**
   * Writes (value) or deletes (null) one window. Returns whether the store changed: false for
   * an expired window (ignored, as Kafka Streams does) or a delete of an absent window.
   */
  put(key: Buffer, value: Buffer | null, windowStart: number): boolean;
  /** The key's live windows with timeFrom <= start <= timeTo, by start. */
  fetch(key: Buffer, timeFrom: number, timeTo: number): WindowBytesEntry[];
  /** All live windows with timeFrom <= start <= timeTo, by start, then key bytes. */
  fetchAll(timeFrom: number, timeTo: number): WindowBytesEntry[];
  count(): number;
  /** Runs `read` against the committed state only (committed reads, above). */
  readCommitted<T>(read: (store: WindowBytesStore) => T): T;
}

/** A stored session: key, start and end (ms, inclusive both), value. */
export type SessionBytesEntry = [key: Buffer, start: number, end: number, value: Buffer];

export interface SessionBytesStore extends BytesStoreLifecycle {
  readonly retentionMs: number;
  /** Highest session end put, removed or restored so far; -Infinity before the first. */
  readonly observedStreamTime: number;
  /**
   * Writes (value) or removes (null) one session. Returns whether the store changed: false for
   * an expired session (ignored, as Kafka Streams does) or a removal of an absent one.
   */
  put(key: Buffer, start: number, end: number, value: Buffer | null): boolean;
  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined;
  /**
   * Live sessions of the keys in [keyFrom, keyTo] (inclusive, undefined = open) with
   * end >= earliestEnd and start <= latestStart, by key bytes, then start, then end.
   */
  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestEnd: number,
    latestStart: number,
  ): SessionBytesEntry[];
  /** Live sessions with earliestEnd <= end <= latestEnd, by end, then key bytes, then start. */
  findSessionsByEnd(earliestEnd: number, latestEnd: number): SessionBytesEntry[];
  count(): number;
  /** Runs `read` against the committed state only (committed reads, above). */
  readCommitted<T>(read: (store: SessionBytesStore) => T): T;
}

/** Validates a session's times: safe integers with start <= end. */
export function checkSession(start: number, end: number): void {
  checkTime('session start', start);
  checkTime('session end', end);
  if (end < start) {
    throw new RangeError(`A session cannot end (${end}) before it starts (${start})`);
  }
}

/** Exclusive upper bound of a prefix scan: the prefix with its last non-0xff byte incremented. */
export function prefixUpperBound(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] as number;
    if (byte !== 0xff) {
      const bound = Buffer.from(prefix.subarray(0, i + 1));
      bound[i] = byte + 1;
      return bound;
    }
  }
  return undefined; // empty or all 0xff: every key from the prefix on matches
}

/** Validates a window start / time bound: a safe integer of milliseconds. */
export function checkTime(what: string, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${what} must be an integer number of ms, got ${String(value)}`);
  }
}

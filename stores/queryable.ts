/**
 * Interactive queries over a worker's local stores (Kafka Streams' ReadOnlyKeyValueStore,
 * ReadOnlyWindowStore, ReadOnlySessionStore and their Composite* views): `app.store(name)`
 * returns one of these over every task of the worker that has the store. Reads see committed
 * state only — never a task's open transaction (what Kafka Streams offers only from KIP-892
 * on) — and a key lives in one task, so a key lookup answers from whichever local task has it;
 * a key of a partition this worker does not host is absent here: ask the host that
 * `app.metadataForKey` names.
 *
 * Range results concatenate the tasks' results, each in its own order (serialized key bytes,
 * window start, ...), as Kafka Streams' composite stores iterate store by store.
 */
import type { KeyValue } from './key-value-store.ts';
import type { SessionEntry } from './session-store.ts';
import type { WindowEntry } from './window-store.ts';

export interface ReadOnlyKeyValueStore<K, V> {
  /** The committed value, or undefined when the key is absent (from the tasks asked). */
  get(key: K): V | undefined;
  /** Entries with from <= key <= to by serialized bytes (inclusive; undefined = open). */
  range(from: K | undefined, to: K | undefined): KeyValue<K, V>[];
  /** Entries whose serialized key starts with the serialized prefix. */
  prefixScan(prefix: K): KeyValue<K, V>[];
  all(): KeyValue<K, V>[];
  /** Number of committed entries. */
  approximateNumEntries(): number;
}

export interface ReadOnlyWindowStore<K, V> {
  /** The key's window starting at `windowStart` (Kafka Streams' `fetch(key, time)`). */
  get(key: K, windowStart: number): V | undefined;
  /** The key's live windows with timeFrom <= windowStart <= timeTo, by window start. */
  fetch(key: K, timeFrom: number, timeTo: number): WindowEntry<K, V>[];
  /** Every live window with timeFrom <= windowStart <= timeTo. */
  fetchAll(timeFrom: number, timeTo: number): WindowEntry<K, V>[];
  all(): WindowEntry<K, V>[];
  approximateNumEntries(): number;
}

export interface ReadOnlySessionStore<K, V> {
  /** The aggregate of exactly this session, or undefined. */
  fetchSession(key: K, start: number, end: number): V | undefined;
  /** The key's live sessions overlapping [earliestSessionEndTime, latestSessionStartTime]. */
  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): SessionEntry<K, V>[];
  /** The key's live sessions, by start, then end. */
  fetch(key: K): SessionEntry<K, V>[];
  all(): SessionEntry<K, V>[];
  approximateNumEntries(): number;
}

/** The first defined answer among the views (a key lives in one task). */
function first<S, T>(views: readonly S[], read: (view: S) => T | undefined): T | undefined {
  for (const view of views) {
    const value = read(view);
    if (value !== undefined) return value;
  }
  return undefined;
}

const sum = <S>(views: readonly S[], read: (view: S) => number): number =>
  views.reduce((n, view) => n + read(view), 0);

/** One key-value view over the committed views of every local task's instance of a store. */
export function compositeKeyValueStore<K, V>(
  views: () => readonly ReadOnlyKeyValueStore<K, V>[],
): ReadOnlyKeyValueStore<K, V> {
  return {
    get: (key) => first(views(), (v) => v.get(key)),
    range: (from, to) => views().flatMap((v) => v.range(from, to)),
    prefixScan: (prefix) => views().flatMap((v) => v.prefixScan(prefix)),
    all: () => views().flatMap((v) => v.all()),
    approximateNumEntries: () => sum(views(), (v) => v.approximateNumEntries()),
  };
}

export function compositeWindowStore<K, V>(
  views: () => readonly ReadOnlyWindowStore<K, V>[],
): ReadOnlyWindowStore<K, V> {
  return {
    get: (key, windowStart) => first(views(), (v) => v.get(key, windowStart)),
    fetch: (key, from, to) => views().flatMap((v) => v.fetch(key, from, to)),
    fetchAll: (from, to) => views().flatMap((v) => v.fetchAll(from, to)),
    all: () => views().flatMap((v) => v.all()),
    approximateNumEntries: () => sum(views(), (v) => v.approximateNumEntries()),
  };
}

export function compositeSessionStore<K, V>(
  views: () => readonly ReadOnlySessionStore<K, V>[],
): ReadOnlySessionStore<K, V> {
  return {
    fetchSession: (key, start, end) => first(views(), (v) => v.fetchSession(key, start, end)),
    findSessions: (key, earliest, latest) =>
      views().flatMap((v) => v.findSessions(key, earliest, latest)),
    fetch: (key) => views().flatMap((v) => v.fetch(key)),
    all: () => views().flatMap((v) => v.all()),
    approximateNumEntries: () => sum(views(), (v) => v.approximateNumEntries()),
  };
}

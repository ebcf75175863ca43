/**
 * Session store in memory: one map of sessions and two sorted indexes of string ids, by
 * (key, end, start) for findSessions — Kafka Streams' SessionKeySchema order — and by
 * (end, key, start) for expiry and findSessionsByEnd, as Kafka Streams' InMemorySessionStore
 * keeps its sessions under their end time. Writes and expiries inside a transaction are
 * reverted through the undo log.
 *
 * Ids are strings so that JavaScript's string order is the order wanted: a key is written one
 * UTF-16 unit per byte, shifted up by one, and closed by U+0000, so a key sorts before every
 * longer key it prefixes (unsigned byte order); a time is four 16-bit units of the time plus
 * 2^53, so times sort numerically, negative ones included.
 */
import type { ChangelogRecord, SessionBytesEntry, SessionBytesStore } from './bytes-store.ts';
import { checkSession } from './bytes-store.ts';
import { MemoryBytesStore } from './memory-bytes-store.ts';
import { decodeSessionKey } from './session-key-schema.ts';
import { SortedSet } from './sorted-set.ts';

interface Session {
  readonly key: Buffer;
  readonly start: number;
  readonly end: number;
  readonly value: Buffer;
  /** Its id in `#byKey` (and in `#sessions`). */
  readonly keyId: string;
  /** Its id in `#byEnd`. */
  readonly endId: string;
}

const TWO_32 = 2 ** 32;
/** Added to the high 32 bits so that every safe integer's high part is >= 0. */
const HIGH_OFFSET = 2 ** 21;

/** A fixed-width id of a time (any safe integer) that orders as the time does. */
function timeId(ms: number): string {
  const high = Math.floor(ms / TWO_32) + HIGH_OFFSET;
  const low = ms - (high - HIGH_OFFSET) * TWO_32;
  return String.fromCharCode(high >>> 16, high & 0xffff, low >>> 16, low & 0xffff);
}

/** The id prefix of a key: bytes shifted up by one, then U+0000. */
function keyId(key: Buffer): string {
  let id = '';
  for (const byte of key) id += String.fromCharCode(byte + 1);
  return id + '\u0000';
}

/**
 * An exclusive upper bound of the ids of `key`'s sessions: the id prefix of `key` followed by
 * a 0x00 byte, the smallest key greater than `key`.
 */
function afterKey(key: Buffer): string {
  return keyId(key).slice(0, -1) + '\u0001';
}

const SAFE_MIN = Number.MIN_SAFE_INTEGER;
const SAFE_MAX = Number.MAX_SAFE_INTEGER;

export class MemorySessionBytesStore extends MemoryBytesStore implements SessionBytesStore {
  /** Sessions by their keyId, and by their endId. */
  readonly #sessions = new Map<string, Session>();
  readonly #sessionsByEnd = new Map<string, Session>();
  readonly #byKey = new SortedSet<string>();
  readonly #byEnd = new SortedSet<string>();
  #observedStreamTime = -Infinity;

  constructor(
    storeName: string,
    readonly retentionMs: number,
  ) {
    super(storeName);
  }

  get observedStreamTime(): number {
    return this.#observedStreamTime;
  }

  /** Sessions with end <= this are expired. */
  get #expiredUpTo(): number {
    return this.#observedStreamTime - this.retentionMs;
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    checkSession(start, end);
    this.checkOpen();
    // Kafka Streams advances stream time before the expiry check, for removals too.
    if (end > this.#observedStreamTime) this.#advance(end);
    if (end <= this.#expiredUpTo) return false;
    const id = keyId(key) + timeId(end) + timeId(start);
    const old = this.#sessions.get(id);
    const next: Session | undefined =
      value === null
        ? undefined
        : { key, start, end, value, keyId: id, endId: timeId(end) + keyId(key) + timeId(start) };
    if (next === undefined && old === undefined) return false;
    /** Replaces whatever session is stored under `id` by `session` (or by none). */
    const setTo = (session: Session | undefined): void => {
      const current = this.#sessions.get(id);
      if (current !== undefined) this.#remove(current);
      if (session !== undefined) this.#add(session);
    };
    setTo(next);
    this.onWrite(
      () => setTo(old),
      () => setTo(next),
    );
    return true;
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    this.checkOpen();
    if (end <= this.#expiredUpTo) return undefined;
    return this.#sessions.get(keyId(key) + timeId(end) + timeId(start))?.value;
  }

  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestEnd: number,
    latestStart: number,
  ): SessionBytesEntry[] {
    this.checkOpen();
    if (keyFrom !== undefined && keyTo !== undefined && Buffer.compare(keyFrom, keyTo) > 0) {
      return [];
    }
    const minEnd = Math.max(earliestEnd, this.#expiredUpTo + 1);
    const single = keyFrom !== undefined && keyTo !== undefined && keyFrom.equals(keyTo);
    // One key: seek straight to its first session ending at minEnd or later.
    const from =
      keyFrom === undefined ? undefined : keyId(keyFrom) + (single ? timeId(minEnd) : '');
    const below = keyTo === undefined ? undefined : afterKey(keyTo);
    const out: Session[] = [];
    for (const id of this.#byKey.range(from)) {
      if (below !== undefined && id >= below) break;
      const session = this.#sessions.get(id) as Session;
      if (session.end >= minEnd && session.start <= latestStart) out.push(session);
    }
    // Stored by (key, end, start); returned by (key, start, end).
    out.sort((a, b) => Buffer.compare(a.key, b.key) || a.start - b.start || a.end - b.end);
    return out.map(entryOf);
  }

  findSessionsByEnd(earliestEnd: number, latestEnd: number): SessionBytesEntry[] {
    this.checkOpen();
    const minEnd = Math.max(earliestEnd, this.#expiredUpTo + 1);
    if (minEnd > latestEnd) return [];
    const below = latestEnd >= SAFE_MAX ? undefined : timeId(latestEnd + 1);
    const out: SessionBytesEntry[] = [];
    for (const id of this.#byEnd.range(timeId(minEnd))) {
      if (below !== undefined && id >= below) break;
      out.push(entryOf(this.#sessionsByEnd.get(id) as Session));
    }
    return out;
  }

  count(): number {
    this.checkOpen();
    return this.#sessions.size;
  }

  readCommitted<T>(read: (store: SessionBytesStore) => T): T {
    return this.withCommitted(() => read(this));
  }

  protected clear(): void {
    this.#sessions.clear();
    this.#byKey.clear();
    this.#byEnd.clear();
    this.#sessionsByEnd.clear();
    this.#observedStreamTime = -Infinity;
  }

  protected applyRestored({ key, value }: ChangelogRecord): void {
    const session = decodeSessionKey(key);
    this.put(session.key, session.start, session.end, value);
  }

  #add(session: Session): void {
    this.#sessions.set(session.keyId, session);
    this.#byKey.add(session.keyId);
    this.#byEnd.add(session.endId);
    this.#sessionsByEnd.set(session.endId, session);
  }

  #remove(session: Session): void {
    this.#sessions.delete(session.keyId);
    this.#byKey.delete(session.keyId);
    this.#byEnd.delete(session.endId);
    this.#sessionsByEnd.delete(session.endId);
  }

  /** Moves observed stream time forward and drops the sessions that expire with it. */
  #advance(streamTime: number): void {
    const before = this.#observedStreamTime;
    this.#observedStreamTime = streamTime;
    const expiredUpTo = this.#expiredUpTo;
    const dropped: Session[] = [];
    if (expiredUpTo >= SAFE_MIN) {
      const below = timeId(expiredUpTo + 1);
      for (const endId of this.#byEnd.range()) {
        if (endId >= below) break;
        dropped.push(this.#sessionsByEnd.get(endId) as Session);
      }
      for (const session of dropped) this.#remove(session);
    }
    this.onWrite(
      () => {
        this.#observedStreamTime = before;
        for (const session of dropped) this.#add(session);
      },
      () => {
        this.#observedStreamTime = streamTime;
        for (const session of dropped) this.#remove(session);
      },
    );
  }
}

function entryOf(session: Session): SessionBytesEntry {
  return [session.key, session.start, session.end, session.value];
}

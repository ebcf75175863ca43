/**
 * Session store in SQLite: table `sessions (key BLOB, end_time INTEGER, start_time INTEGER,
 * value BLOB)` keyed by (key, end_time, start_time) — Kafka Streams' SessionKeySchema order —
 * plus an index by (end_time, key, start_time) for expiry and findSessionsByEnd.
 *
 * findSessions(key, earliestEnd, latestStart) is a primary-key range scan from
 * (key, earliestEnd): a session-window aggregation asks for the sessions ending within an
 * inactivity gap of the new record, so the scan starts at the key's latest sessions rather
 * than reading its whole history.
 *
 * Observed stream time (the highest session end put) is kept in memory and recovered at init
 * as the highest end in the table, as the window store recovers its own.
 */
import type Database from 'better-sqlite3';
import type { ChangelogRecord, SessionBytesEntry, SessionBytesStore } from './bytes-store.ts';
import { checkSession } from './bytes-store.ts';
import { decodeSessionKey } from './session-key-schema.ts';
import { SqliteBytesStore } from './sqlite-bytes-store.ts';

type Row = SessionBytesEntry;

interface Statements {
  get: Database.Statement<[Buffer, number, number], Buffer>;
  put: Database.Statement<[Buffer, number, number, Buffer]>;
  delete: Database.Statement<[Buffer, number, number]>;
  /** One key: key = ?, end >= ?, start <= ?. */
  findKey: Database.Statement<[Buffer, number, number], Row>;
  /** key >= ?, end >= ?, start <= ? (an empty blob is the open lower bound). */
  findFrom: Database.Statement<[Buffer, number, number], Row>;
  /** key >= ?, key <= ?, end >= ?, start <= ?. */
  findBetween: Database.Statement<[Buffer, Buffer, number, number], Row>;
  findByEnd: Database.Statement<[number, number], Row>;
  expire: Database.Statement<[number]>;
  maxEnd: Database.Statement<[], number | null>;
  count: Database.Statement<[], number>;
}

const COLUMNS = 'key, start_time, end_time, value';
const NO_KEY = Buffer.alloc(0);

export class SqliteSessionBytesStore extends SqliteBytesStore implements SessionBytesStore {
  protected readonly ddl = `
    CREATE TABLE IF NOT EXISTS sessions (
      key BLOB NOT NULL, end_time INTEGER NOT NULL, start_time INTEGER NOT NULL,
      value BLOB NOT NULL, PRIMARY KEY (key, end_time, start_time)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions (end_time, key, start_time);`;
  protected readonly tables = ['sessions'] as const;
  #s: Statements | undefined;
  #observedStreamTime = -Infinity;
  #observedAtBegin = -Infinity;

  constructor(
    storeName: string,
    logged: boolean,
    readonly retentionMs: number,
  ) {
    super(storeName, 'session', logged);
  }

  get observedStreamTime(): number {
    return this.#observedStreamTime;
  }

  protected prepare(db: Database.Database): void {
    const rows = <P extends unknown[]>(where: string, order: string) =>
      db.prepare<P, Row>(`SELECT ${COLUMNS} FROM sessions WHERE ${where} ORDER BY ${order}`).raw();
    const live = 'end_time >= ? AND start_time <= ?';
    this.#s = {
      get: db
        .prepare<[Buffer, number, number], Buffer>(
          'SELECT value FROM sessions WHERE key = ? AND end_time = ? AND start_time = ?',
        )
        .pluck(),
      put: db.prepare(
        'INSERT INTO sessions (key, start_time, end_time, value) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (key, end_time, start_time) DO UPDATE SET value = excluded.value',
      ),
      delete: db.prepare('DELETE FROM sessions WHERE key = ? AND start_time = ? AND end_time = ?'),
      findKey: rows(`key = ? AND ${live}`, 'start_time, end_time'),
      findFrom: rows(`key >= ? AND ${live}`, 'key, start_time, end_time'),
      findBetween: rows(`key >= ? AND key <= ? AND ${live}`, 'key, start_time, end_time'),
      findByEnd: rows('end_time BETWEEN ? AND ?', 'end_time, key, start_time'),
      expire: db.prepare('DELETE FROM sessions WHERE end_time <= ?'),
      maxEnd: db.prepare<[], number | null>('SELECT max(end_time) FROM sessions').pluck(),
      count: db.prepare<[], number>('SELECT count(*) FROM sessions').pluck(),
    };
    this.#observedStreamTime = this.#s.maxEnd.get() ?? -Infinity;
  }

  protected twin(): SqliteSessionBytesStore {
    return new SqliteSessionBytesStore(this.storeName, this.logged, this.retentionMs);
  }

  /** The committed stream time: expired sessions are deleted in the transaction that expires them. */
  protected override beforeCommittedRead(): void {
    this.#observedStreamTime = this.#statements.maxEnd.get() ?? -Infinity;
  }

  readCommitted<T>(read: (store: SessionBytesStore) => T): T {
    return this.committedRead(read);
  }

  get #statements(): Statements {
    if (this.#s === undefined) throw this.notOpen();
    return this.#s;
  }

  /** Sessions with end <= this are expired. */
  get #expiredUpTo(): number {
    return this.#observedStreamTime - this.retentionMs;
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    checkSession(start, end);
    const s = this.#statements;
    // Kafka Streams advances stream time before the expiry check, for removals too.
    if (end > this.#observedStreamTime) {
      this.#observedStreamTime = end;
      s.expire.run(this.#expiredUpTo);
    }
    if (end <= this.#expiredUpTo) return false;
    if (value === null) return s.delete.run(key, start, end).changes > 0;
    s.put.run(key, start, end, value);
    return true;
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    if (end <= this.#expiredUpTo) return undefined;
    return this.#statements.get.get(key, end, start);
  }

  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestEnd: number,
    latestStart: number,
  ): SessionBytesEntry[] {
    const s = this.#statements;
    const minEnd = Math.max(earliestEnd, this.#expiredUpTo + 1);
    if (keyFrom !== undefined && keyTo !== undefined) {
      const order = Buffer.compare(keyFrom, keyTo);
      if (order > 0) return [];
      if (order === 0) return s.findKey.all(keyFrom, minEnd, latestStart);
      return s.findBetween.all(keyFrom, keyTo, minEnd, latestStart);
    }
    if (keyTo === undefined) return s.findFrom.all(keyFrom ?? NO_KEY, minEnd, latestStart);
    return s.findBetween.all(NO_KEY, keyTo, minEnd, latestStart);
  }

  findSessionsByEnd(earliestEnd: number, latestEnd: number): SessionBytesEntry[] {
    const minEnd = Math.max(earliestEnd, this.#expiredUpTo + 1);
    if (minEnd > latestEnd) return [];
    return this.#statements.findByEnd.all(minEnd, latestEnd);
  }

  count(): number {
    return this.#statements.count.get() ?? 0;
  }

  override beginTransaction(): void {
    super.beginTransaction();
    this.#observedAtBegin = this.#observedStreamTime;
  }

  protected override onRollback(): void {
    this.#observedStreamTime = this.#observedAtBegin;
  }

  override restoreBatch(records: ChangelogRecord[], nextOffset: bigint): void {
    const before = this.#observedStreamTime;
    try {
      super.restoreBatch(records, nextOffset);
    } catch (error) {
      this.#observedStreamTime = before; // the batch rolled back, and its stream time with it
      throw error;
    }
  }

  override wipe(): void {
    super.wipe();
    this.#observedStreamTime = this.#observedAtBegin = -Infinity;
  }

  override close(): void {
    super.close();
    this.#s = undefined;
  }

  protected applyRestored({ key, value }: ChangelogRecord): void {
    const session = decodeSessionKey(key);
    this.put(session.key, session.start, session.end, value);
  }
}

/**
 * Window store in SQLite: table `windows (key BLOB, start INTEGER, value BLOB)` keyed by
 * (key, start), plus an index by (start, key) for fetchAll and expiry.
 *
 * Observed stream time (the highest window start put) is kept in memory and recovered at
 * init as the highest start in the table, as Kafka Streams' segmented stores recover it from
 * their segments.
 */
import type Database from 'better-sqlite3';
import type { ChangelogRecord, WindowBytesEntry, WindowBytesStore } from './bytes-store.ts';
import { checkTime } from './bytes-store.ts';
import { SqliteBytesStore } from './sqlite-bytes-store.ts';
import { decodeWindowKey } from './window-key-schema.ts';

interface Statements {
  get: Database.Statement<[Buffer, number], Buffer>;
  put: Database.Statement<[Buffer, number, Buffer]>;
  delete: Database.Statement<[Buffer, number]>;
  fetch: Database.Statement<[Buffer, number, number], [number, Buffer]>;
  fetchAll: Database.Statement<[number, number], WindowBytesEntry>;
  expire: Database.Statement<[number]>;
  maxStart: Database.Statement<[], number | null>;
  count: Database.Statement<[], number>;
}

export class SqliteWindowBytesStore extends SqliteBytesStore implements WindowBytesStore {
  protected readonly ddl = `
    CREATE TABLE IF NOT EXISTS windows (
      key BLOB NOT NULL, start INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (key, start)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS windows_by_start ON windows (start, key);`;
  protected readonly tables = ['windows'] as const;
  #s: Statements | undefined;
  #observedStreamTime = -Infinity;
  #observedAtBegin = -Infinity;

  constructor(
    storeName: string,
    logged: boolean,
    readonly windowSizeMs: number,
    readonly retentionMs: number,
    kind = 'window', // 'timestamped-window': another value layout, see SqliteKeyValueBytesStore
  ) {
    super(storeName, kind, logged);
  }

  get observedStreamTime(): number {
    return this.#observedStreamTime;
  }

  protected prepare(db: Database.Database): void {
    this.#s = {
      get: db
        .prepare<[Buffer, number], Buffer>('SELECT value FROM windows WHERE key = ? AND start = ?')
        .pluck(),
      put: db.prepare(
        'INSERT INTO windows (key, start, value) VALUES (?, ?, ?) ' +
          'ON CONFLICT (key, start) DO UPDATE SET value = excluded.value',
      ),
      delete: db.prepare('DELETE FROM windows WHERE key = ? AND start = ?'),
      fetch: db
        .prepare<[Buffer, number, number], [number, Buffer]>(
          'SELECT start, value FROM windows WHERE key = ? AND start BETWEEN ? AND ? ORDER BY start',
        )
        .raw(),
      fetchAll: db
        .prepare<[number, number], WindowBytesEntry>(
          'SELECT key, start, value FROM windows WHERE start BETWEEN ? AND ? ORDER BY start, key',
        )
        .raw(),
      expire: db.prepare('DELETE FROM windows WHERE start <= ?'),
      maxStart: db.prepare<[], number | null>('SELECT max(start) FROM windows').pluck(),
      count: db.prepare<[], number>('SELECT count(*) FROM windows').pluck(),
    };
    this.#observedStreamTime = this.#s.maxStart.get() ?? -Infinity;
  }

  protected twin(): SqliteWindowBytesStore {
    return new SqliteWindowBytesStore(
      this.storeName,
      this.logged,
      this.windowSizeMs,
      this.retentionMs,
      this.kind,
    );
  }

  /** The committed stream time: expired windows are deleted in the transaction that expires them. */
  protected override beforeCommittedRead(): void {
    this.#observedStreamTime = this.#statements.maxStart.get() ?? -Infinity;
  }

  readCommitted<T>(read: (store: WindowBytesStore) => T): T {
    return this.committedRead(read);
  }

  get #statements(): Statements {
    if (this.#s === undefined) throw this.notOpen();
    return this.#s;
  }

  /** Windows with start <= this are expired. */
  get #expiredUpTo(): number {
    return this.#observedStreamTime - this.retentionMs;
  }

  get(key: Buffer, windowStart: number): Buffer | undefined {
    if (windowStart <= this.#expiredUpTo) return undefined;
    return this.#statements.get.get(key, windowStart);
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): boolean {
    checkTime('windowStart', windowStart);
    const s = this.#statements;
    if (windowStart <= this.#expiredUpTo) return false;
    if (windowStart > this.#observedStreamTime) {
      this.#observedStreamTime = windowStart;
      s.expire.run(this.#expiredUpTo);
    }
    if (value === null) return s.delete.run(key, windowStart).changes > 0;
    s.put.run(key, windowStart, value);
    return true;
  }

  fetch(key: Buffer, timeFrom: number, timeTo: number): WindowBytesEntry[] {
    const from = Math.max(timeFrom, this.#expiredUpTo + 1);
    if (from > timeTo) return [];
    return this.#statements.fetch
      .all(key, from, timeTo)
      .map(([start, value]) => [key, start, value]);
  }

  fetchAll(timeFrom: number, timeTo: number): WindowBytesEntry[] {
    const from = Math.max(timeFrom, this.#expiredUpTo + 1);
    if (from > timeTo) return [];
    return this.#statements.fetchAll.all(from, timeTo);
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
    const { key: recordKey, windowStart } = decodeWindowKey(key);
    this.put(recordKey, value, windowStart);
  }
}

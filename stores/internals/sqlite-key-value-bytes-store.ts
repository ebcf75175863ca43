/**
 * Key-value store in SQLite: table `kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID`.
 * SQLite compares BLOBs with memcmp (then length), so ORDER BY key is unsigned byte order.
 */
import type Database from 'better-sqlite3';
import type { BytesEntry, ChangelogRecord, KeyValueBytesStore } from './bytes-store.ts';
import { prefixUpperBound } from './bytes-store.ts';
import { SqliteBytesStore } from './sqlite-bytes-store.ts';

interface Statements {
  get: Database.Statement<[Buffer], Buffer>;
  put: Database.Statement<[Buffer, Buffer]>;
  insertIfAbsent: Database.Statement<[Buffer, Buffer]>;
  delete: Database.Statement<[Buffer], Buffer>;
  all: Database.Statement<[], BytesEntry>;
  from: Database.Statement<[Buffer], BytesEntry>;
  to: Database.Statement<[Buffer], BytesEntry>;
  between: Database.Statement<[Buffer, Buffer], BytesEntry>;
  fromBelow: Database.Statement<[Buffer, Buffer], BytesEntry>;
  count: Database.Statement<[], number>;
}

export class SqliteKeyValueBytesStore extends SqliteBytesStore implements KeyValueBytesStore {
  protected readonly ddl =
    'CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID';
  protected readonly tables = ['kv'] as const;
  #s: Statements | undefined;

  /**
   * @param kind the schema name: a timestamped store keeps another value layout in the same
   *   table, so opening one store's file as the other is a schema mismatch, not a misread.
   */
  constructor(storeName: string, logged: boolean, kind = 'key-value') {
    super(storeName, kind, logged);
  }

  protected prepare(db: Database.Database): void {
    const rows = (sql: string) => db.prepare(`SELECT key, value FROM kv ${sql} ORDER BY key`).raw();
    this.#s = {
      get: db.prepare<[Buffer], Buffer>('SELECT value FROM kv WHERE key = ?').pluck(),
      put: db.prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      insertIfAbsent: db.prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
      ),
      delete: db.prepare<[Buffer], Buffer>('DELETE FROM kv WHERE key = ? RETURNING value').pluck(),
      all: rows('') as Database.Statement<[], BytesEntry>,
      from: rows('WHERE key >= ?') as Database.Statement<[Buffer], BytesEntry>,
      to: rows('WHERE key <= ?') as Database.Statement<[Buffer], BytesEntry>,
      between: rows('WHERE key >= ? AND key <= ?') as Database.Statement<
        [Buffer, Buffer],
        BytesEntry
      >,
      fromBelow: rows('WHERE key >= ? AND key < ?') as Database.Statement<
        [Buffer, Buffer],
        BytesEntry
      >,
      count: db.prepare<[], number>('SELECT count(*) FROM kv').pluck(),
    };
  }

  protected twin(): SqliteKeyValueBytesStore {
    return new SqliteKeyValueBytesStore(this.storeName, this.logged, this.kind);
  }

  readCommitted<T>(read: (store: KeyValueBytesStore) => T): T {
    return this.committedRead(read);
  }

  get #statements(): Statements {
    if (this.#s === undefined) throw this.notOpen();
    return this.#s;
  }

  override close(): void {
    super.close();
    this.#s = undefined;
  }

  get(key: Buffer): Buffer | undefined {
    return this.#statements.get.get(key);
  }

  put(key: Buffer, value: Buffer): void {
    this.#statements.put.run(key, value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const s = this.#statements;
    if (s.insertIfAbsent.run(key, value).changes === 1) return undefined;
    return s.get.get(key);
  }

  delete(key: Buffer): Buffer | undefined {
    return this.#statements.delete.get(key);
  }

  range(from: Buffer | undefined, to: Buffer | undefined): BytesEntry[] {
    const s = this.#statements;
    if (from === undefined) return to === undefined ? s.all.all() : s.to.all(to);
    if (to === undefined) return s.from.all(from);
    return Buffer.compare(from, to) > 0 ? [] : s.between.all(from, to);
  }

  prefixScan(prefix: Buffer): BytesEntry[] {
    const s = this.#statements;
    const below = prefixUpperBound(prefix);
    return below === undefined ? s.from.all(prefix) : s.fromBelow.all(prefix, below);
  }

  count(): number {
    return this.#statements.count.get() ?? 0;
  }

  protected applyRestored({ key, value }: ChangelogRecord): void {
    if (value === null) this.delete(key);
    else this.put(key, value);
  }
}

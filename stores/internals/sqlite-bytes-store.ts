/**
 * The SQLite side shared by the persistent stores: one database file per task and store,
 * `${stateDir}/${storeName}.sqlite`, holding the store's table(s) and `streamtx_meta`
 * (schema version, changelog offset). One SQLite transaction spans one Kafka transaction.
 *
 * `journal_mode=WAL` + `synchronous=NORMAL`: a commit is an append to the WAL without fsync,
 * so a process crash loses nothing committed but a power loss can lose the last commits. That
 * is safe here because the changelog, not the file, is the source of truth: the offset is
 * committed in the same SQLite transaction as the data, so a lost commit loses both together
 * and replay from the older recorded offset (idempotent: whole values and tombstones) brings
 * the store back. WAL also lets a commit cost one sequential write.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StreamsFatalError, TaskCorruptedError } from '../../framework/errors.ts';
import type { StateStoreContext } from '../../framework/processor.ts';
import type { BytesStoreLifecycle, ChangelogRecord } from './bytes-store.ts';
import { SCHEMA_VERSION, storeFilePath } from './store-file.ts';

export { SCHEMA_VERSION, storeFilePath };
export const META_TABLE = 'streamtx_meta';

export abstract class SqliteBytesStore implements BytesStoreLifecycle {
  readonly persistent = true;
  #db: Database.Database | undefined;
  #path: string | undefined;
  /** The committed-read twin: this store's class on a read-only connection to the same file. */
  #reader: SqliteBytesStore | undefined;
  #readOnly = false;
  #checkpoint: bigint | undefined;
  #setOffset: Database.Statement<[string]> | undefined;
  #clearOffset: Database.Statement<[]> | undefined;

  /**
   * @param kind names the table layout in the schema row, e.g. `key-value`.
   * @param logged an unlogged store's file is its only copy: it is never rebuilt, and a file
   *   that cannot be trusted fails init instead.
   */
  constructor(
    protected readonly storeName: string,
    protected readonly kind: string,
    protected readonly logged: boolean,
  ) {}

  /** CREATE statements of the store's tables (IF NOT EXISTS). */
  protected abstract readonly ddl: string;
  /** The store's tables, emptied by wipe and dropped on a schema mismatch. */
  protected abstract readonly tables: readonly string[];
  /** Prepares the store's statements once the tables exist. */
  protected abstract prepare(db: Database.Database): void;
  /** Applies one changelog record (inside the restore transaction). */
  protected abstract applyRestored(record: ChangelogRecord): void;
  /** Called after a transaction rolled back, to reset in-memory state derived from the data. */
  protected onRollback(): void {}
  /** A new, unopened instance of the same store (same name, layout and options). */
  protected abstract twin(): SqliteBytesStore;
  /** Called on the read-only twin before each committed read, to refresh derived state. */
  protected beforeCommittedRead(): void {}

  get inTransaction(): boolean {
    return this.#db?.inTransaction ?? false;
  }

  protected get db(): Database.Database {
    if (this.#db === undefined) throw this.notOpen();
    return this.#db;
  }

  protected notOpen(): StreamsFatalError {
    return new StreamsFatalError(`State store "${this.storeName}" is not initialized or closed`);
  }

  init(context: StateStoreContext): void {
    if (this.#db !== undefined) {
      throw new StreamsFatalError(`State store "${this.storeName}" is already initialized`);
    }
    mkdirSync(context.stateDir, { recursive: true });
    const path = storeFilePath(context.stateDir, this.storeName);
    this.#path = path;
    try {
      this.#open(path);
    } catch (error) {
      (this.#db as Database.Database | undefined)?.close();
      this.#db = undefined;
      const code = (error as { code?: unknown }).code;
      if (!this.logged || (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT')) {
        throw new StreamsFatalError(
          `Cannot open state store "${this.storeName}" at ${path}: ${(error as Error).message}`,
          { taskId: context.taskId, cause: error },
        );
      }
      // Not a database any more: the changelog rebuilds it (checkpoint() is undefined).
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
      this.#open(path);
    }
  }

  #open(path: string): void {
    const db = new Database(path);
    this.#db = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS ${META_TABLE} (name TEXT PRIMARY KEY, value TEXT)`);
    const read = db.prepare<[string], string | null>(
      `SELECT value FROM ${META_TABLE} WHERE name = ?`,
    );
    const write = db.prepare(`INSERT OR REPLACE INTO ${META_TABLE} (name, value) VALUES (?, ?)`);
    const expected = `${this.kind} v${SCHEMA_VERSION}`;
    const found = read.pluck().get('schema');
    if (found !== undefined && found !== expected) {
      if (!this.logged) {
        throw new Error(`schema "${String(found)}" where "${expected}" is expected`);
      }
      // Another layout: drop it and rebuild from the changelog (checkpoint() is undefined).
      db.transaction(() => {
        for (const table of this.tables) db.exec(`DROP TABLE IF EXISTS ${table}`);
        db.prepare(`DELETE FROM ${META_TABLE}`).run();
      })();
    }
    db.exec(this.ddl);
    write.run('schema', expected);
    const offset = read.pluck().get('changelog_offset');
    this.#checkpoint = typeof offset === 'string' ? BigInt(offset) : undefined;
    this.#setOffset = db.prepare(
      `INSERT OR REPLACE INTO ${META_TABLE} (name, value) VALUES ('changelog_offset', ?)`,
    );
    this.#clearOffset = db.prepare(`DELETE FROM ${META_TABLE} WHERE name = 'changelog_offset'`);
    this.prepare(db);
  }

  /**
   * Runs `read` on the read-only twin, in one read transaction: a WAL reader sees the last
   * committed state, never the writer's open transaction (committed reads, bytes-store.ts).
   */
  protected committedRead<T>(read: (twin: this) => T): T {
    if (this.#readOnly) return read(this);
    if (this.#db === undefined || this.#path === undefined) throw this.notOpen();
    let reader = this.#reader;
    if (reader === undefined) {
      reader = this.twin();
      reader.#openReadOnly(this.#path);
      this.#reader = reader;
    }
    const twin = reader;
    return twin.db.transaction(() => {
      twin.beforeCommittedRead();
      return read(twin as this);
    })();
  }

  #openReadOnly(path: string): void {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    this.#db = db;
    this.#path = path;
    this.#readOnly = true;
    this.prepare(db); // write statements prepare on a read-only connection; they would fail to run
  }

  beginTransaction(): void {
    if (this.inTransaction) {
      throw new StreamsFatalError(`State store "${this.storeName}": a transaction is already open`);
    }
    this.db.exec('BEGIN');
  }

  commitTransaction(changelogOffset: bigint | undefined): void {
    if (!this.inTransaction) {
      throw new StreamsFatalError(`State store "${this.storeName}": no transaction to commit`);
    }
    try {
      if (changelogOffset !== undefined) this.#setOffset?.run(changelogOffset.toString());
      this.db.exec('COMMIT');
    } catch (error) {
      // The Kafka transaction committed but the local copy did not: restore from the checkpoint.
      if (this.inTransaction) this.db.exec('ROLLBACK');
      this.onRollback();
      throw new TaskCorruptedError(
        `State store "${this.storeName}": SQLite commit failed after the Kafka commit`,
        { cause: error },
      );
    }
    if (changelogOffset !== undefined) this.#checkpoint = changelogOffset;
  }

  rollbackTransaction(): void {
    if (!this.inTransaction) return;
    this.db.exec('ROLLBACK');
    this.onRollback();
  }

  checkpoint(): bigint | undefined {
    return this.#checkpoint;
  }

  restoreBatch(records: ChangelogRecord[], nextOffset: bigint): void {
    if (this.inTransaction) {
      throw new StreamsFatalError(
        `State store "${this.storeName}": restoreBatch inside an open transaction`,
      );
    }
    const db = this.db;
    db.transaction(() => {
      for (const record of records) this.applyRestored(record);
      this.#setOffset?.run(nextOffset.toString());
    })();
    this.#checkpoint = nextOffset;
  }

  wipe(): void {
    this.rollbackTransaction();
    const db = this.db;
    db.transaction(() => {
      for (const table of this.tables) db.prepare(`DELETE FROM ${table}`).run();
      this.#clearOffset?.run();
    })();
    this.#checkpoint = undefined;
  }

  close(): void {
    this.#reader?.close();
    this.#reader = undefined;
    if (this.#db === undefined) return;
    // Closing with an open transaction rolls it back: uncommitted writes never reach the file.
    if (this.#db.inTransaction && !this.#readOnly) this.#db.exec('ROLLBACK');
    this.#db.close();
    this.#db = undefined;
  }
}

/**
 * The changelog offset recorded in a store file, read on a read-only connection without
 * changing the file; undefined when there is no file, no recorded offset, another layout
 * (`kind`) or no readable database. What a worker reports of a task's state it holds but has
 * not opened (state-aware assignment, docs/state.md).
 */
export function readCheckpointFile(path: string, kind: string): bigint | undefined {
  if (!existsSync(path)) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const read = db.prepare<[string], string | null>(
      `SELECT value FROM ${META_TABLE} WHERE name = ?`,
    );
    if (read.pluck().get('schema') !== `${kind} v${SCHEMA_VERSION}`) return undefined;
    const offset = read.pluck().get('changelog_offset');
    return typeof offset === 'string' ? BigInt(offset) : undefined;
  } catch {
    return undefined; // not a database, no meta table: nothing to resume from
  } finally {
    db?.close();
  }
}

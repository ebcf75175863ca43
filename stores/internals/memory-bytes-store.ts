/**
 * The in-memory side shared by the non-persistent stores. A transaction keeps an undo log:
 * every write inside it pushes the closure that reverts it (and the one that redoes it), and
 * a rollback runs the reverts newest first. A committed read (interactive queries) runs the
 * reverts, reads, then the redos oldest first: the reader sees exactly what a rollback would
 * leave, and the transaction goes on unchanged. Nothing survives a restart, so `checkpoint()` is always undefined and the runtime
 * restores the whole changelog (as Kafka Streams does for in-memory stores).
 */
import { StreamsFatalError } from '../../framework/errors.ts';
import type { StateStoreContext } from '../../framework/processor.ts';
import type { BytesStoreLifecycle, ChangelogRecord } from './bytes-store.ts';
import { SortedSet } from './sorted-set.ts';

export abstract class MemoryBytesStore implements BytesStoreLifecycle {
  readonly persistent = false;
  #open = false;
  #undo: { revert: () => void; redo: () => void }[] | undefined;

  constructor(protected readonly storeName: string) {}

  /** Empties the data structures. */
  protected abstract clear(): void;
  protected abstract applyRestored(record: ChangelogRecord): void;

  get inTransaction(): boolean {
    return this.#undo !== undefined;
  }

  /** Throws unless the store is open. */
  protected checkOpen(): void {
    if (!this.#open) {
      throw new StreamsFatalError(`State store "${this.storeName}" is not initialized or closed`);
    }
  }

  /** Records how to revert a write and how to redo it, when a transaction is open. */
  protected onWrite(revert: () => void, redo: () => void): void {
    this.#undo?.push({ revert, redo });
  }

  /** Runs `read` against the committed state: the open transaction's writes reverted meanwhile. */
  protected withCommitted<T>(read: () => T): T {
    this.checkOpen();
    const undo = this.#undo;
    if (undo === undefined || undo.length === 0) return read();
    this.#undo = undefined; // reverts and redos must not record entries of their own
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!.revert();
    try {
      return read();
    } finally {
      for (const entry of undo) entry.redo();
      this.#undo = undo;
    }
  }

  init(context: StateStoreContext): void {
    void context;
    if (this.#open) {
      throw new StreamsFatalError(`State store "${this.storeName}" is already initialized`);
    }
    this.#open = true;
  }

  beginTransaction(): void {
    this.checkOpen();
    if (this.#undo !== undefined) {
      throw new StreamsFatalError(`State store "${this.storeName}": a transaction is already open`);
    }
    this.#undo = [];
  }

  commitTransaction(changelogOffset: bigint | undefined): void {
    void changelogOffset; // nothing survives a restart, so no offset is worth keeping
    if (this.#undo === undefined) {
      throw new StreamsFatalError(`State store "${this.storeName}": no transaction to commit`);
    }
    this.#undo = undefined;
  }

  rollbackTransaction(): void {
    const undo = this.#undo;
    if (undo === undefined) return;
    this.#undo = undefined; // reverts must not record undo entries of their own
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!.revert();
  }

  checkpoint(): bigint | undefined {
    return undefined;
  }

  restoreBatch(records: ChangelogRecord[], nextOffset: bigint): void {
    void nextOffset;
    this.checkOpen();
    if (this.#undo !== undefined) {
      throw new StreamsFatalError(
        `State store "${this.storeName}": restoreBatch inside an open transaction`,
      );
    }
    // Atomic per batch: a record that fails (e.g. a malformed window key) reverts the batch.
    this.#undo = [];
    try {
      for (const record of records) this.applyRestored(record);
      this.#undo = undefined;
    } catch (error) {
      this.rollbackTransaction();
      throw error;
    }
  }

  wipe(): void {
    this.#undo = undefined;
    this.clear();
  }

  close(): void {
    this.#undo = undefined;
    this.#open = false;
    this.clear();
  }
}

/** Byte-ordered map from serialized key to serialized value (keys as latin1 strings). */
export class SortedBytesMap {
  readonly #keys = new SortedSet<string>();
  readonly #entries = new Map<string, [key: Buffer, value: Buffer]>();

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): [key: Buffer, value: Buffer] | undefined {
    return this.#entries.get(id);
  }

  set(id: string, entry: [key: Buffer, value: Buffer]): void {
    if (!this.#entries.has(id)) this.#keys.add(id);
    this.#entries.set(id, entry);
  }

  delete(id: string): void {
    if (this.#entries.delete(id)) this.#keys.delete(id);
  }

  /** Entries with from <= id <= to (undefined = open), ascending; `below` is an exclusive bound. */
  *range(from?: string, to?: string, below?: string): Generator<[key: Buffer, value: Buffer]> {
    for (const id of this.#keys.range(from, to)) {
      if (below !== undefined && id >= below) return;
      yield this.#entries.get(id) as [Buffer, Buffer];
    }
  }

  clear(): void {
    this.#keys.clear();
    this.#entries.clear();
  }
}

/** The map key of a serialized key: latin1 keeps byte order (see SortedSet). */
export const idOf = (key: Buffer): string => key.toString('latin1');

import type { StateStore, StateStoreContext } from '../framework/processor.ts';

/**
 * A `StateStore` whose transaction and restore members (optional in `StateStore`) are all
 * implemented, synchronously: every store built by `Stores`. See `StateStore` for the
 * contract the runtime drives.
 */
export interface TransactionalStateStore extends StateStore {
  /** Whether the store is changelogged (it then calls `context.logChange` on every change). */
  readonly loggingEnabled: boolean;
  /** Whether a transaction is open (between beginTransaction and commit/rollback). */
  readonly inTransaction: boolean;
  init(context: StateStoreContext): void;
  close(): void;
  beginTransaction(): void;
  commitTransaction(changelogOffset: bigint | undefined): void;
  rollbackTransaction(): void;
  checkpoint(): bigint | undefined;
  restoreBatch(records: { key: Buffer; value: Buffer | null }[], nextOffset: bigint): void;
  wipe(): void;
}

/**
 * The change-logging layers (Kafka Streams' ChangeLogging*BytesStore): every change that
 * reaches the inner store is passed to `StateStoreContext.logChange`, which the runtime sends
 * to the store's changelog inside the task's Kafka transaction. Reads, ignored writes (an
 * expired window, a delete of an absent key) and restored records log nothing.
 */
import type { StateStoreContext } from '../../framework/processor.ts';
import type {
  BytesEntry,
  BytesStoreLifecycle,
  ChangelogRecord,
  KeyValueBytesStore,
  SessionBytesEntry,
  SessionBytesStore,
  WindowBytesEntry,
  WindowBytesStore,
} from './bytes-store.ts';
import { encodeSessionKey } from './session-key-schema.ts';
import { timestampOf } from './value-and-timestamp.ts';
import { encodeWindowKey } from './window-key-schema.ts';

type LogChange = NonNullable<StateStoreContext['logChange']>;

abstract class WrappedBytesStore<S extends BytesStoreLifecycle> implements BytesStoreLifecycle {
  protected logChange: LogChange | undefined;

  constructor(
    protected readonly inner: S,
    protected readonly storeName: string,
  ) {}

  get persistent(): boolean {
    return this.inner.persistent;
  }
  get inTransaction(): boolean {
    return this.inner.inTransaction;
  }
  init(context: StateStoreContext): void {
    this.inner.init(context);
    // A runtime that does not changelog (yet) leaves logChange unset: the store logs nothing.
    this.logChange = context.logChange;
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
  restoreBatch(records: ChangelogRecord[], nextOffset: bigint): void {
    this.inner.restoreBatch(records, nextOffset);
  }
  wipe(): void {
    this.inner.wipe();
  }
  close(): void {
    this.inner.close();
  }
}

/** Changelog key = the serialized key; value = the serialized value or null (tombstone). */
export class ChangeLoggingKeyValueBytesStore
  extends WrappedBytesStore<KeyValueBytesStore>
  implements KeyValueBytesStore
{
  /** Reads log nothing: the inner store's committed reads serve them. */
  readCommitted<T>(read: (store: KeyValueBytesStore) => T): T {
    return this.inner.readCommitted(read);
  }
  /** The changelog timestamp of a write: wall-clock time (the runtime may stamp its own). */
  protected timestampOf(value: Buffer): number {
    void value;
    return Date.now();
  }
  get(key: Buffer): Buffer | undefined {
    return this.inner.get(key);
  }
  put(key: Buffer, value: Buffer): void {
    this.inner.put(key, value);
    this.logChange?.(this.storeName, key, value, this.timestampOf(value));
  }
  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const existing = this.inner.putIfAbsent(key, value);
    if (existing === undefined) {
      this.logChange?.(this.storeName, key, value, this.timestampOf(value));
    }
    return existing;
  }
  delete(key: Buffer): Buffer | undefined {
    const old = this.inner.delete(key);
    if (old !== undefined) this.logChange?.(this.storeName, key, null, Date.now());
    return old;
  }
  range(from: Buffer | undefined, to: Buffer | undefined): BytesEntry[] {
    return this.inner.range(from, to);
  }
  prefixScan(prefix: Buffer): BytesEntry[] {
    return this.inner.prefixScan(prefix);
  }
  count(): number {
    return this.inner.count();
  }
}

/**
 * A timestamped key-value store's changes carry the value's own timestamp (the leading 8
 * bytes), as Kafka Streams' ChangeLoggingTimestampedKeyValueBytesStore logs it.
 */
export class ChangeLoggingTimestampedKeyValueBytesStore extends ChangeLoggingKeyValueBytesStore {
  protected override timestampOf(value: Buffer): number {
    return timestampOf(value);
  }
}

/** Changelog key = `encodeWindowKey(key, windowStart)`; timestamp = the window start. */
export class ChangeLoggingWindowBytesStore
  extends WrappedBytesStore<WindowBytesStore>
  implements WindowBytesStore
{
  /** Reads log nothing: the inner store's committed reads serve them. */
  readCommitted<T>(read: (store: WindowBytesStore) => T): T {
    return this.inner.readCommitted(read);
  }
  get windowSizeMs(): number {
    return this.inner.windowSizeMs;
  }
  get retentionMs(): number {
    return this.inner.retentionMs;
  }
  get observedStreamTime(): number {
    return this.inner.observedStreamTime;
  }
  get(key: Buffer, windowStart: number): Buffer | undefined {
    return this.inner.get(key, windowStart);
  }
  put(key: Buffer, value: Buffer | null, windowStart: number): boolean {
    const changed = this.inner.put(key, value, windowStart);
    if (changed) {
      this.logChange?.(this.storeName, encodeWindowKey(key, windowStart), value, windowStart);
    }
    return changed;
  }
  fetch(key: Buffer, timeFrom: number, timeTo: number): WindowBytesEntry[] {
    return this.inner.fetch(key, timeFrom, timeTo);
  }
  fetchAll(timeFrom: number, timeTo: number): WindowBytesEntry[] {
    return this.inner.fetchAll(timeFrom, timeTo);
  }
  count(): number {
    return this.inner.count();
  }
}

/** Changelog key = `encodeSessionKey(key, start, end)`; timestamp = the session end. */
export class ChangeLoggingSessionBytesStore
  extends WrappedBytesStore<SessionBytesStore>
  implements SessionBytesStore
{
  /** Reads log nothing: the inner store's committed reads serve them. */
  readCommitted<T>(read: (store: SessionBytesStore) => T): T {
    return this.inner.readCommitted(read);
  }
  get retentionMs(): number {
    return this.inner.retentionMs;
  }
  get observedStreamTime(): number {
    return this.inner.observedStreamTime;
  }
  put(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    const changed = this.inner.put(key, start, end, value);
    if (changed) this.logChange?.(this.storeName, encodeSessionKey(key, start, end), value, end);
    return changed;
  }
  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    return this.inner.fetchSession(key, start, end);
  }
  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestEnd: number,
    latestStart: number,
  ): SessionBytesEntry[] {
    return this.inner.findSessions(keyFrom, keyTo, earliestEnd, latestStart);
  }
  findSessionsByEnd(earliestEnd: number, latestEnd: number): SessionBytesEntry[] {
    return this.inner.findSessionsByEnd(earliestEnd, latestEnd);
  }
  count(): number {
    return this.inner.count();
  }
}

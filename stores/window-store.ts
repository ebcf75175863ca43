/**
 * The window store: Kafka Streams' WindowStore over serdes, for fixed-size windows (tumbling
 * or hopping — the windowed aggregation decides which windows a record updates; the store
 * keeps windowStart → value per key).
 *
 * Expiry follows Kafka Streams' InMemoryWindowStore: observed stream time is the highest
 * window start put so far; a window whose start <= observed stream time − retention is
 * expired: it is dropped, no longer returned, and a put for it is ignored (not logged).
 * Results are arrays, materialized when called; nothing needs closing.
 *
 * Changelog key: the serialized key followed by the window start as an 8-byte big-endian
 * signed integer (see `encodeWindowKey`); timestamp: the window start.
 */
import { changelogTopic } from '../framework/names.ts';
import { SerializationError } from '../framework/errors.ts';
import type { StateStoreContext } from '../framework/processor.ts';
import type { Serde } from '../framework/serdes.ts';
import type { WindowBytesEntry, WindowBytesStore } from './internals/bytes-store.ts';
import { checkTime } from './internals/bytes-store.ts';
import { committedWindowView } from './internals/committed-view.ts';
import type { ReadOnlyWindowStore } from './queryable.ts';
import type { TransactionalStateStore } from './transactional-store.ts';

/** One window of one key: [windowStart, windowEnd) with windowEnd = windowStart + size. */
export interface WindowEntry<K, V> {
  readonly key: K;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly value: V;
}

export interface WindowStore<K, V> extends TransactionalStateStore {
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  /** Highest window start put or restored so far (-Infinity before the first). */
  readonly observedStreamTime: number;
  /** Writes the key's window starting at `windowStart`; `null` deletes it. Expired: ignored. */
  put(key: K, value: V | null, windowStart: number): void;
  /** The key's window starting at `windowStart` (Kafka Streams' `fetch(key, time)`). */
  get(key: K, windowStart: number): V | undefined;
  /** The key's live windows with timeFrom <= windowStart <= timeTo, by window start. */
  fetch(key: K, timeFrom: number, timeTo: number): WindowEntry<K, V>[];
  /** Every live window with timeFrom <= windowStart <= timeTo, by window start then key bytes. */
  fetchAll(timeFrom: number, timeTo: number): WindowEntry<K, V>[];
  /** Every live window, by window start then key bytes. */
  all(): WindowEntry<K, V>[];
  /** Number of stored windows (SQLite counts, so O(n)). */
  approximateNumEntries(): number;
}

export class SerdeWindowStore<K, V> implements WindowStore<K, V> {
  #topic: string;
  #committed: SerdeWindowStore<K, V> | undefined;

  constructor(
    readonly name: string,
    private readonly inner: WindowBytesStore,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    readonly loggingEnabled: boolean,
  ) {
    this.#topic = name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }
  get inTransaction(): boolean {
    return this.inner.inTransaction;
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

  init(context: StateStoreContext): void {
    this.#topic = changelogTopic(context.applicationId, this.name);
    this.inner.init(context);
  }
  /**
   * A read-only view of this store's committed state, for interactive queries: it never sees
   * the owning task's open transaction (stores/queryable.ts).
   */
  committedView(): ReadOnlyWindowStore<K, V> {
    const view = (this.#committed ??= new SerdeWindowStore(
      this.name,
      committedWindowView(this.name, this.inner),
      this.keySerde,
      this.valueSerde,
      false,
    ));
    view.#topic = this.#topic;
    return view;
  }

  put(key: K, value: V | null, windowStart: number): void {
    const bytes = this.valueSerde.serialize(this.#topic, value);
    const copy = bytes !== null && bytes === (value as unknown) ? Buffer.from(bytes) : bytes;
    this.inner.put(this.#key(key), copy, windowStart);
  }

  get(key: K, windowStart: number): V | undefined {
    checkTime('windowStart', windowStart);
    const bytes = this.inner.get(this.#key(key), windowStart);
    return bytes === undefined ? undefined : this.#value(bytes);
  }

  fetch(key: K, timeFrom: number, timeTo: number): WindowEntry<K, V>[] {
    checkTime('timeFrom', timeFrom);
    checkTime('timeTo', timeTo);
    const keyBytes = this.#key(key);
    return this.inner.fetch(keyBytes, timeFrom, timeTo).map(([, start, value]) => ({
      key,
      windowStart: start,
      windowEnd: start + this.windowSizeMs,
      value: this.#value(value),
    }));
  }

  fetchAll(timeFrom: number, timeTo: number): WindowEntry<K, V>[] {
    checkTime('timeFrom', timeFrom);
    checkTime('timeTo', timeTo);
    return this.#entries(this.inner.fetchAll(timeFrom, timeTo));
  }

  all(): WindowEntry<K, V>[] {
    return this.#entries(this.inner.fetchAll(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  }

  approximateNumEntries(): number {
    return this.inner.count();
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
  restoreBatch(records: { key: Buffer; value: Buffer | null }[], nextOffset: bigint): void {
    this.inner.restoreBatch(records, nextOffset);
  }
  wipe(): void {
    this.inner.wipe();
  }
  close(): void {
    this.inner.close();
  }

  #key(key: K): Buffer {
    const bytes = this.keySerde.serialize(this.#topic, key);
    if (bytes === null) {
      throw new SerializationError(`State store "${this.name}" cannot hold a null key`, {
        topic: this.#topic,
      });
    }
    return bytes === (key as unknown) ? Buffer.from(bytes) : bytes;
  }

  #value(bytes: Buffer): V {
    const value = this.valueSerde.deserialize(this.#topic, bytes);
    return (value === (bytes as unknown) ? Buffer.from(bytes) : value) as V;
  }

  #entries(entries: WindowBytesEntry[]): WindowEntry<K, V>[] {
    return entries.map(([keyBytes, start, value]) => {
      const key = this.keySerde.deserialize(this.#topic, keyBytes);
      return {
        key: (key === (keyBytes as unknown) ? Buffer.from(keyBytes) : key) as K,
        windowStart: start,
        windowEnd: start + this.windowSizeMs,
        value: this.#value(value),
      };
    });
  }
}

/**
 * The key-value store: Kafka Streams' KeyValueStore over serdes. Range results are arrays,
 * materialized when called, in ascending order of the serialized key bytes (so a `string`
 * key orders by UTF-8 bytes, an int32 key by big-endian bytes: non-negative numbers
 * ascending, negative ones after them). Arrays need no closing, unlike Kafka Streams'
 * KeyValueIterator, and stay valid while the store changes; scan a bounded range or prefix
 * when the store is large.
 */
import { changelogTopic } from '../framework/names.ts';
import { SerializationError } from '../framework/errors.ts';
import type { StateStoreContext } from '../framework/processor.ts';
import type { Serde } from '../framework/serdes.ts';
import type { BytesEntry, KeyValueBytesStore } from './internals/bytes-store.ts';
import { committedKeyValueView } from './internals/committed-view.ts';
import type { ReadOnlyKeyValueStore } from './queryable.ts';
import type { TransactionalStateStore } from './transactional-store.ts';

export interface KeyValue<K, V> {
  readonly key: K;
  readonly value: V;
}

export interface KeyValueStore<K, V> extends TransactionalStateStore {
  /** The value, or undefined when the key is absent. */
  get(key: K): V | undefined;
  /** Writes the value; `null` deletes the key (as in Kafka Streams). */
  put(key: K, value: V | null): void;
  /** Writes only when the key is absent: returns the existing value, or undefined if it wrote. */
  putIfAbsent(key: K, value: V): V | undefined;
  /** Removes the key and returns the value it had (undefined when absent). */
  delete(key: K): V | undefined;
  /** `put` for each entry, in order. */
  putAll(entries: Iterable<KeyValue<K, V | null>>): void;
  /**
   * Entries with from <= key <= to by serialized bytes (inclusive; undefined = open), in
   * ascending byte order; empty when from > to.
   */
  range(from: K | undefined, to: K | undefined): KeyValue<K, V>[];
  /** Entries whose serialized key starts with the serialized prefix (key serde by default). */
  prefixScan(prefix: K): KeyValue<K, V>[];
  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValue<K, V>[];
  /** Every entry, in ascending byte order of the key. */
  all(): KeyValue<K, V>[];
  /** Number of entries (exact for the built-in stores; SQLite counts, so O(n)). */
  approximateNumEntries(): number;
}

/** The outer layer: serdes over a byte store, plus the lifecycle passed through. */
export class SerdeKeyValueStore<K, V> implements KeyValueStore<K, V> {
  #topic: string;
  #committed: SerdeKeyValueStore<K, V> | undefined;

  constructor(
    readonly name: string,
    private readonly inner: KeyValueBytesStore,
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

  init(context: StateStoreContext): void {
    // Serdes see the changelog topic, as Kafka Streams passes it to store serdes.
    this.#topic = changelogTopic(context.applicationId, this.name);
    this.inner.init(context);
  }
  /**
   * A read-only view of this store's committed state, for interactive queries: it never sees
   * the owning task's open transaction (stores/queryable.ts).
   */
  committedView(): ReadOnlyKeyValueStore<K, V> {
    const view = (this.#committed ??= new SerdeKeyValueStore(
      this.name,
      committedKeyValueView(this.name, this.inner),
      this.keySerde,
      this.valueSerde,
      false,
    ));
    view.#topic = this.#topic;
    return view;
  }

  get(key: K): V | undefined {
    return this.#value(this.inner.get(this.#key(key)));
  }

  put(key: K, value: V | null): void {
    const keyBytes = this.#key(key);
    const valueBytes = this.#serializeValue(value);
    if (valueBytes === null) this.inner.delete(keyBytes);
    else this.inner.put(keyBytes, valueBytes);
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const keyBytes = this.#key(key);
    const valueBytes = this.#serializeValue(value);
    if (valueBytes === null) return this.#value(this.inner.get(keyBytes));
    return this.#value(this.inner.putIfAbsent(keyBytes, valueBytes));
  }

  delete(key: K): V | undefined {
    return this.#value(this.inner.delete(this.#key(key)));
  }

  putAll(entries: Iterable<KeyValue<K, V | null>>): void {
    for (const { key, value } of entries) this.put(key, value);
  }

  range(from: K | undefined, to: K | undefined): KeyValue<K, V>[] {
    const fromBytes = from === undefined ? undefined : this.#key(from);
    const toBytes = to === undefined ? undefined : this.#key(to);
    return this.#entries(this.inner.range(fromBytes, toBytes));
  }

  prefixScan<P>(prefix: P | K, prefixSerde?: Serde<P>): KeyValue<K, V>[] {
    const bytes =
      prefixSerde === undefined
        ? this.#key(prefix as K)
        : prefixSerde.serialize(this.#topic, prefix as P);
    if (bytes === null) throw new SerializationError('A prefix cannot be null', this.#context());
    return this.#entries(this.inner.prefixScan(bytes));
  }

  all(): KeyValue<K, V>[] {
    return this.#entries(this.inner.range(undefined, undefined));
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

  #context() {
    return { topic: this.#topic };
  }

  #key(key: K): Buffer {
    const bytes = this.keySerde.serialize(this.#topic, key);
    if (bytes === null) {
      throw new SerializationError(
        `State store "${this.name}" cannot hold a null key`,
        this.#context(),
      );
    }
    // A serde that returns the caller's buffer (Serdes.bytes) must not let later mutation in.
    return bytes === (key as unknown) ? Buffer.from(bytes) : bytes;
  }

  #serializeValue(value: V | null): Buffer | null {
    const bytes = this.valueSerde.serialize(this.#topic, value);
    return bytes !== null && bytes === (value as unknown) ? Buffer.from(bytes) : bytes;
  }

  #value(bytes: Buffer | undefined): V | undefined {
    if (bytes === undefined) return undefined;
    const value = this.valueSerde.deserialize(this.#topic, bytes);
    // Nor may the caller mutate the stored buffer through a value it was handed.
    return (value === (bytes as unknown) ? Buffer.from(bytes) : value) as V;
  }

  #entries(entries: BytesEntry[]): KeyValue<K, V>[] {
    return entries.map(([key, value]) => {
      const k = this.keySerde.deserialize(this.#topic, key);
      return {
        key: (k === (key as unknown) ? Buffer.from(key) : k) as K,
        value: this.#value(value) as V,
      };
    });
  }
}

/** Key-value store in memory: a byte-ordered map, reverted through the undo log on rollback. */
import type { BytesEntry, ChangelogRecord, KeyValueBytesStore } from './bytes-store.ts';
import { prefixUpperBound } from './bytes-store.ts';
import { MemoryBytesStore, SortedBytesMap, idOf } from './memory-bytes-store.ts';

export class MemoryKeyValueBytesStore extends MemoryBytesStore implements KeyValueBytesStore {
  readonly #map = new SortedBytesMap();

  get(key: Buffer): Buffer | undefined {
    this.checkOpen();
    return this.#map.get(idOf(key))?.[1];
  }

  put(key: Buffer, value: Buffer): void {
    this.checkOpen();
    this.#write(idOf(key), [key, value]);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    this.checkOpen();
    const id = idOf(key);
    const existing = this.#map.get(id);
    if (existing !== undefined) return existing[1];
    this.#write(id, [key, value]);
    return undefined;
  }

  delete(key: Buffer): Buffer | undefined {
    this.checkOpen();
    const id = idOf(key);
    const old = this.#map.get(id);
    if (old !== undefined) this.#write(id, undefined);
    return old?.[1];
  }

  range(from: Buffer | undefined, to: Buffer | undefined): BytesEntry[] {
    this.checkOpen();
    if (from !== undefined && to !== undefined && Buffer.compare(from, to) > 0) return [];
    const toId = to === undefined ? undefined : idOf(to);
    return [...this.#map.range(from === undefined ? undefined : idOf(from), toId)];
  }

  prefixScan(prefix: Buffer): BytesEntry[] {
    this.checkOpen();
    const below = prefixUpperBound(prefix);
    return [...this.#map.range(idOf(prefix), undefined, below && idOf(below))];
  }

  count(): number {
    this.checkOpen();
    return this.#map.size;
  }

  readCommitted<T>(read: (store: KeyValueBytesStore) => T): T {
    return this.withCommitted(() => read(this));
  }

  protected clear(): void {
    this.#map.clear();
  }

  protected applyRestored({ key, value }: ChangelogRecord): void {
    this.#write(idOf(key), value === null ? undefined : [key, value]);
  }

  /** Sets (entry) or removes (undefined) a key, recording the revert. */
  #write(id: string, entry: BytesEntry | undefined): void {
    const old = this.#map.get(id);
    if (entry === undefined) this.#map.delete(id);
    else this.#map.set(id, entry);
    this.onWrite(
      () => (old === undefined ? this.#map.delete(id) : this.#map.set(id, old)),
      () => (entry === undefined ? this.#map.delete(id) : this.#map.set(id, entry)),
    );
  }
}

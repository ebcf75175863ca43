/**
 * Window store in memory, shaped like Kafka Streams' InMemoryWindowStore: window start →
 * byte-ordered map of key → value, so expiry drops whole windows and fetchAll walks starts
 * in order. Writes and expiries inside a transaction are reverted through the undo log.
 */
import type { ChangelogRecord, WindowBytesEntry, WindowBytesStore } from './bytes-store.ts';
import { checkTime } from './bytes-store.ts';
import { MemoryBytesStore, SortedBytesMap, idOf } from './memory-bytes-store.ts';
import { SortedSet } from './sorted-set.ts';
import { decodeWindowKey } from './window-key-schema.ts';

export class MemoryWindowBytesStore extends MemoryBytesStore implements WindowBytesStore {
  readonly #starts = new SortedSet<number>();
  readonly #windows = new Map<number, SortedBytesMap>();
  #observedStreamTime = -Infinity;

  constructor(
    storeName: string,
    readonly windowSizeMs: number,
    readonly retentionMs: number,
  ) {
    super(storeName);
  }

  get observedStreamTime(): number {
    return this.#observedStreamTime;
  }

  /** Windows with start <= this are expired. */
  get #expiredUpTo(): number {
    return this.#observedStreamTime - this.retentionMs;
  }

  get(key: Buffer, windowStart: number): Buffer | undefined {
    this.checkOpen();
    if (windowStart <= this.#expiredUpTo) return undefined;
    return this.#windows.get(windowStart)?.get(idOf(key))?.[1];
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): boolean {
    checkTime('windowStart', windowStart);
    this.checkOpen();
    if (windowStart <= this.#expiredUpTo) return false;
    if (windowStart > this.#observedStreamTime) this.#advance(windowStart);
    const id = idOf(key);
    const window = this.#windows.get(windowStart);
    const old = window?.get(id);
    if (value === null) {
      if (window === undefined || old === undefined) return false;
      window.delete(id);
      if (window.size === 0) this.#dropWindow(windowStart);
    } else {
      this.#windowAt(windowStart).set(id, [key, value]);
    }
    const removeCurrent = (): void => {
      const current = this.#windows.get(windowStart);
      current?.delete(id);
      if (current?.size === 0) this.#dropWindow(windowStart);
    };
    this.onWrite(
      () => (old === undefined ? removeCurrent() : this.#windowAt(windowStart).set(id, old)),
      () => (value === null ? removeCurrent() : this.#windowAt(windowStart).set(id, [key, value])),
    );
    return true;
  }

  fetch(key: Buffer, timeFrom: number, timeTo: number): WindowBytesEntry[] {
    this.checkOpen();
    const id = idOf(key);
    const out: WindowBytesEntry[] = [];
    for (const start of this.#liveStarts(timeFrom, timeTo)) {
      const entry = this.#windows.get(start)?.get(id);
      if (entry !== undefined) out.push([entry[0], start, entry[1]]);
    }
    return out;
  }

  fetchAll(timeFrom: number, timeTo: number): WindowBytesEntry[] {
    this.checkOpen();
    const out: WindowBytesEntry[] = [];
    for (const start of this.#liveStarts(timeFrom, timeTo)) {
      for (const [key, value] of this.#windows.get(start)?.range() ?? []) {
        out.push([key, start, value]);
      }
    }
    return out;
  }

  count(): number {
    this.checkOpen();
    let n = 0;
    for (const window of this.#windows.values()) n += window.size;
    return n;
  }

  readCommitted<T>(read: (store: WindowBytesStore) => T): T {
    return this.withCommitted(() => read(this));
  }

  protected clear(): void {
    this.#starts.clear();
    this.#windows.clear();
    this.#observedStreamTime = -Infinity;
  }

  protected applyRestored({ key, value }: ChangelogRecord): void {
    const { key: recordKey, windowStart } = decodeWindowKey(key);
    this.put(recordKey, value, windowStart);
  }

  *#liveStarts(timeFrom: number, timeTo: number): Generator<number> {
    const from = Math.max(timeFrom, this.#expiredUpTo + 1);
    if (from > timeTo) return;
    yield* this.#starts.range(from, timeTo);
  }

  /** Moves observed stream time forward and drops the windows that expire with it. */
  #advance(streamTime: number): void {
    const before = this.#observedStreamTime;
    this.#observedStreamTime = streamTime;
    const expired = [...this.#starts.range(undefined, this.#expiredUpTo)];
    const dropped = expired.map((start) => [start, this.#windows.get(start)] as const);
    for (const start of expired) this.#dropWindow(start);
    this.onWrite(
      () => {
        this.#observedStreamTime = before;
        for (const [start, window] of dropped) {
          if (window === undefined) continue;
          this.#windows.set(start, window);
          this.#starts.add(start);
        }
      },
      () => {
        this.#observedStreamTime = streamTime;
        for (const start of expired) this.#dropWindow(start);
      },
    );
  }

  #dropWindow(start: number): void {
    this.#windows.delete(start);
    this.#starts.delete(start);
  }

  /** The window at `start`, created when absent. */
  #windowAt(start: number): SortedBytesMap {
    let window = this.#windows.get(start);
    if (window === undefined) {
      window = new SortedBytesMap();
      this.#windows.set(start, window);
      this.#starts.add(start);
    }
    return window;
  }
}

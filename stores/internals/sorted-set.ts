/**
 * Distinct strings or numbers kept in ascending order, for the in-memory stores. Stored as a
 * list of sorted chunks (the idea of Python's sortedcontainers) so an insert or delete moves
 * at most one chunk, not the whole array: O(√n)-ish instead of O(n) per write.
 *
 * In-memory stores key it with `buffer.toString('latin1')`: latin1 maps each byte to one
 * UTF-16 code unit 0–255, so JavaScript's string order is exactly unsigned byte order.
 */
const MAX_CHUNK = 256;

export class SortedSet<T extends string | number> {
  #chunks: T[][] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(value: T): boolean {
    const chunk = this.#chunks[this.#chunkFor(value)];
    if (chunk === undefined) return false;
    return chunk[lowerBound(chunk, value)] === value;
  }

  /** Returns false when the value was already present. */
  add(value: T): boolean {
    if (this.#chunks.length === 0) {
      this.#chunks.push([value]);
      this.#size = 1;
      return true;
    }
    const c = Math.min(this.#chunkFor(value), this.#chunks.length - 1);
    const chunk = this.#chunks[c] as T[];
    const i = lowerBound(chunk, value);
    if (chunk[i] === value) return false;
    chunk.splice(i, 0, value);
    this.#size++;
    if (chunk.length > MAX_CHUNK) this.#chunks.splice(c + 1, 0, chunk.splice(MAX_CHUNK / 2));
    return true;
  }

  /** Returns false when the value was absent. */
  delete(value: T): boolean {
    const c = this.#chunkFor(value);
    const chunk = this.#chunks[c];
    if (chunk === undefined) return false;
    const i = lowerBound(chunk, value);
    if (chunk[i] !== value) return false;
    chunk.splice(i, 1);
    this.#size--;
    if (chunk.length === 0) this.#chunks.splice(c, 1);
    return true;
  }

  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }

  /** Values in [from, to] ascending; an undefined bound is open. */
  *range(from?: T, to?: T): Generator<T> {
    let c = from === undefined ? 0 : this.#chunkFor(from);
    let i = from === undefined ? 0 : lowerBound(this.#chunks[c] ?? [], from);
    for (; c < this.#chunks.length; c++, i = 0) {
      const chunk = this.#chunks[c] as T[];
      for (; i < chunk.length; i++) {
        const value = chunk[i] as T;
        if (to !== undefined && value > to) return;
        yield value;
      }
    }
  }

  /** Index of the first chunk whose last value is >= value (chunks.length when none is). */
  #chunkFor(value: T): number {
    let lo = 0;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.#chunks[mid] as T[];
      if ((chunk[chunk.length - 1] as T) < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** First index whose value is >= value. */
function lowerBound<T extends string | number>(array: readonly T[], value: T): number {
  let lo = 0;
  let hi = array.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((array[mid] as T) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

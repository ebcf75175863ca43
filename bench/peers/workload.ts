/**
 * The input both systems read, and what each topology must make of it. Input
 * record i has a key from a fixed set, a unique ~100-byte lower-case value
 * (its index first, so the map's output can be checked record by record) and
 * a timestamp 10 ms after record i-1 (so a windowed count spans windows).
 */

export const TOPOLOGIES = ['map', 'count', 'windowed-count', 'repartition-count'] as const;
export type TopologyName = (typeof TOPOLOGIES)[number];

/** Topologies streamtx can run today (the other two wait for its DSL). */
export const STREAMTX_TOPOLOGIES: readonly TopologyName[] = ['map', 'count'];

/** Window size of the windowed count (the Java peer's TimeWindows.ofSizeWithNoGrace(60 s)). */
export const WINDOW_MS = 60_000;
const PAD = 'abcdefghijklmnopqrstuvwxyz'.repeat(4);
export const VALUE_BYTES = 100;

export interface Workload {
  records: number;
  keys: number;
  /** Timestamp of record 0. */
  baseTimestamp: number;
}

export function inputKey(w: Workload, i: number): string {
  const width = String(Math.max(0, w.keys - 1)).length;
  return `k${String(i % w.keys).padStart(width, '0')}`;
}

export function inputValue(i: number): string {
  const head = `${String(i).padStart(8, '0')}:`;
  return head + PAD.slice(0, VALUE_BYTES - head.length);
}

export function inputTimestamp(w: Workload, i: number): number {
  return w.baseTimestamp + i * 10;
}

/** The index an input (or map output) value starts with. */
export function valueIndex(value: string): number {
  return Number.parseInt(value.slice(0, value.indexOf(':')), 10);
}

/** repartition-count's new key: the input key without its last character. */
export function regroupKey(key: string): string {
  return key.slice(0, -1);
}

/** The key a counting topology updates for an input record. */
export function countKey(
  topology: Exclude<TopologyName, 'map'>,
  key: string,
  timestamp: number,
): string {
  switch (topology) {
    case 'count':
      return key;
    case 'windowed-count':
      return `${key}@${Math.floor(timestamp / WINDOW_MS) * WINDOW_MS}`;
    case 'repartition-count':
      return regroupKey(key);
  }
}

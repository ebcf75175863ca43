/**
 * Restore progress for people: from the app's restore events (one per replayed batch), a
 * line per store at most every `intervalMs` — records done/total, rate, time left — so a long
 * restore shows it is moving, not only that it ended.
 */
import type { RestoreEvent } from './state-manager.ts';

export interface RestoreProgressLine {
  taskId: string;
  store: string;
  restored: number;
  total: number;
  /** Records a second since the store's restore began. */
  ratePerSecond: number;
  /** Estimated milliseconds left at that rate; undefined before any record was replayed. */
  etaMs: number | undefined;
}

interface Started {
  at: number;
  lastReport: number;
}

export class RestoreProgress {
  readonly #started = new Map<string, Started>();

  constructor(
    private readonly intervalMs: number,
    private readonly report: (line: RestoreProgressLine) => void,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1)
      throw new RangeError(
        `restore progress interval must be an integer >= 1 ms, got ${intervalMs}`,
      );
  }

  /** Feed every restore event (`app.onRestore(e => progress.event(e))`). */
  event(e: RestoreEvent): void {
    const key = `${e.taskId}/${e.store}`;
    const now = this.now();
    if (e.done) {
      this.#started.delete(key);
      return;
    }
    let started = this.#started.get(key);
    if (started === undefined) {
      started = { at: now, lastReport: now };
      this.#started.set(key, started);
      return;
    }
    // The last batch's event comes right before the done one: the done line says it.
    if (now - started.lastReport < this.intervalMs || e.restored >= e.total) return;
    started.lastReport = now;
    const elapsed = Math.max(1, now - started.at);
    const ratePerSecond = (e.restored * 1000) / elapsed;
    const left = Math.max(0, e.total - e.restored);
    this.report({
      taskId: e.taskId,
      store: e.store,
      restored: e.restored,
      total: e.total,
      ratePerSecond,
      etaMs: e.restored > 0 ? (left / e.restored) * elapsed : undefined,
    });
  }
}

/** `0_1 counts 52000/200000 26% 25000 records/s ETA 6s`. */
export function formatRestoreProgress(line: RestoreProgressLine): string {
  const pct = line.total > 0 ? Math.floor((line.restored * 100) / line.total) : 100;
  const eta = line.etaMs === undefined ? '?' : `${Math.ceil(line.etaMs / 1000)}s`;
  return `${line.taskId} ${line.store} ${line.restored}/${line.total} ${pct}% ${Math.round(line.ratePerSecond)} records/s ETA ${eta}`;
}

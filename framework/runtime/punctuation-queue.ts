/**
 * A task's punctuation schedules (Kafka Streams' PunctuationQueue and
 * PunctuationSchedule). Stream-time schedules are aligned to multiples of
 * their interval and start at time 0, so the first record fires them and
 * later firings fall on interval boundaries; wall-clock schedules first fire
 * one interval after they were made. A schedule that missed several
 * intervals fires once, for the current time, and moves to the next
 * boundary after it (no burst of catch-up calls).
 */
import type { Cancellable, PunctuationType, Punctuator } from '../processor.ts';

export interface Schedule {
  readonly node: string;
  readonly type: PunctuationType;
  readonly intervalMs: number;
  readonly callback: Punctuator;
  /** The time (stream or wall-clock) at or after which it fires next. */
  next: number;
  cancelled: boolean;
}

export class PunctuationQueue {
  private readonly schedules: Schedule[] = [];

  get size(): number {
    return this.schedules.length;
  }

  has(type: PunctuationType): boolean {
    return this.schedules.some((s) => s.type === type && !s.cancelled);
  }

  /** `now` is the wall-clock time; stream-time schedules ignore it. */
  schedule(
    node: string,
    intervalMs: number,
    type: PunctuationType,
    callback: Punctuator,
    now: number,
  ): Cancellable {
    if (!(Number.isSafeInteger(intervalMs) && intervalMs >= 1)) {
      throw new RangeError(
        `schedule(): intervalMs must be an integer of at least 1 ms, got ${intervalMs}`,
      );
    }
    if (type !== 'stream-time' && type !== 'wall-clock') {
      throw new RangeError(
        `schedule(): type must be 'stream-time' or 'wall-clock', got ${String(type)}`,
      );
    }
    if (typeof callback !== 'function') {
      throw new TypeError('schedule(): the punctuator must be a function');
    }
    const s: Schedule = {
      node,
      type,
      intervalMs,
      callback,
      // Kafka Streams' StreamTask.schedule: stream time aligns to 0, wall-clock to now + interval.
      next: type === 'stream-time' ? 0 : now + intervalMs,
      cancelled: false,
    };
    this.schedules.push(s);
    return {
      cancel: () => {
        s.cancelled = true;
        const i = this.schedules.indexOf(s);
        if (i >= 0) this.schedules.splice(i, 1);
      },
    };
  }

  /**
   * The schedules of `type` due at `time`, in the order they fell due, each already moved to
   * its next firing time. Empty when none is due (the common case: no allocation).
   */
  due(type: PunctuationType, time: number): Schedule[] {
    let due: Schedule[] | undefined;
    for (const s of this.schedules) {
      if (s.type !== type || s.cancelled || time < s.next) continue;
      (due ??= []).push(s);
    }
    if (due === undefined) return NONE;
    due.sort((a, b) => a.next - b.next);
    for (const s of due) {
      // PunctuationSchedule.next: skip the intervals missed, keep the alignment.
      const missed = Math.floor((time - s.next) / s.intervalMs);
      s.next += (missed + 1) * s.intervalMs;
    }
    return due;
  }
}

const NONE: Schedule[] = [];

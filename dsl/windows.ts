/**
 * Window specifications for `windowedBy()` and the windowed key type, after Kafka Streams'
 * TimeWindows, SlidingWindows, SessionWindows, Windowed and WindowedSerdes.
 *
 * Times are milliseconds of event time. A window closes when stream time (the highest record
 * timestamp the aggregation has seen) passes its end plus the grace period; records for a
 * closed window are dropped (`streamtx.dropped.records`, logged at debug).
 */
import { TopologyError } from '../framework/errors.ts';
import { Serdes, type Serde } from '../framework/serdes.ts';

/** A window: [start, end) for time windows, [start, end] (both inclusive) for sliding and session windows. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** A key of a windowed aggregation's result: the grouping key and its window (Kafka Streams' Windowed). */
export interface Windowed<K> {
  readonly key: K;
  readonly window: Window;
}

function checkMs(what: string, ms: number, min: number): void {
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw new TopologyError(`${what} must be an integer ≥ ${min} ms, got ${String(ms)}`);
  }
}

/**
 * Fixed-size windows: tumbling (`TimeWindows.ofSize(60_000)`) or hopping
 * (`.advanceBy(10_000)`), aligned to the epoch, [start, end). Immutable: each call returns a
 * new spec.
 */
export class TimeWindows {
  readonly kind = 'time' as const;
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {}

  /**
   * Tumbling windows of `sizeMs` with no grace period (Kafka Streams 3's ofSizeWithNoGrace;
   * the old 24-hour default grace is not copied). Add one with `.grace(ms)`.
   */
  static ofSize(sizeMs: number): TimeWindows {
    checkMs('TimeWindows size', sizeMs, 1);
    return new TimeWindows(sizeMs, sizeMs, 0);
  }
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSize(sizeMs);
  }
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return TimeWindows.ofSize(sizeMs).grace(graceMs);
  }

  /** Hopping windows: a new window every `advanceMs` (0 < advance ≤ size). */
  advanceBy(advanceMs: number): TimeWindows {
    checkMs('TimeWindows advance', advanceMs, 1);
    if (advanceMs > this.sizeMs) {
      throw new TopologyError(
        `TimeWindows advance (${advanceMs} ms) must not exceed the window size (${this.sizeMs} ms)`,
      );
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** How long after a window's end a late record is still counted in it. */
  grace(graceMs: number): TimeWindows {
    checkMs('TimeWindows grace', graceMs, 0);
    return new TimeWindows(this.sizeMs, this.advanceMs, graceMs);
  }

  /** The starts of the windows a record at `timestamp` falls in (Kafka Streams' windowsFor). */
  windowStartsFor(timestamp: number): number[] {
    const starts: number[] = [];
    let start =
      Math.floor(Math.max(0, timestamp - this.sizeMs + this.advanceMs) / this.advanceMs) *
      this.advanceMs;
    for (; start <= timestamp; start += this.advanceMs) starts.push(start);
    return starts;
  }
}

/**
 * Sliding windows (KIP-450): every distinct set of records no more than `timeDifferenceMs`
 * apart, windows [start, start + timeDifference] with both ends inclusive.
 */
export class SlidingWindows {
  readonly kind = 'sliding' as const;
  private constructor(
    readonly timeDifferenceMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    checkMs('SlidingWindows time difference', timeDifferenceMs, 1);
    return new SlidingWindows(timeDifferenceMs, 0);
  }
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    checkMs('SlidingWindows time difference', timeDifferenceMs, 1);
    checkMs('SlidingWindows grace', graceMs, 0);
    return new SlidingWindows(timeDifferenceMs, graceMs);
  }
  grace(graceMs: number): SlidingWindows {
    return SlidingWindows.ofTimeDifferenceAndGrace(this.timeDifferenceMs, graceMs);
  }
}

/**
 * Session windows: a key's records no more than `inactivityGapMs` apart form one session
 * [first, last] (both inclusive); a record that bridges two sessions merges them.
 */
export class SessionWindows {
  readonly kind = 'session' as const;
  private constructor(
    readonly inactivityGapMs: number,
    readonly graceMs: number,
  ) {}

  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows {
    checkMs('SessionWindows inactivity gap', inactivityGapMs, 1);
    return new SessionWindows(inactivityGapMs, 0);
  }
  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows {
    checkMs('SessionWindows inactivity gap', inactivityGapMs, 1);
    checkMs('SessionWindows grace', graceMs, 0);
    return new SessionWindows(inactivityGapMs, graceMs);
  }
  grace(graceMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(this.inactivityGapMs, graceMs);
  }
}

export type Windows = TimeWindows | SlidingWindows | SessionWindows;

const LONG = 8;

/**
 * Serdes for windowed keys, byte-compatible with Kafka Streams' WindowedSerdes: a time window
 * is `key ‖ start (int64 BE)` and its end is start + size (TimeWindowedSerde); a session is
 * `key ‖ end ‖ start` (SessionWindowedSerde, the session store's key layout).
 */
export const WindowedSerdes = {
  timeWindowed<K>(inner: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> {
    checkMs('windowSizeMs', windowSizeMs, 1);
    return Serdes.custom<Windowed<K>>(
      (windowed, topic, headers) => {
        const key = inner.serialize(topic, windowed.key, headers) ?? Buffer.alloc(0);
        const out = Buffer.allocUnsafe(key.length + LONG);
        key.copy(out, 0);
        out.writeBigInt64BE(BigInt(windowed.window.start), key.length);
        return out;
      },
      (data, topic, headers) => {
        if (data.length < LONG)
          throw new Error(`a time-windowed key needs ≥ 8 bytes, got ${data.length}`);
        const start = Number(data.readBigInt64BE(data.length - LONG));
        const key = inner.deserialize(topic, data.subarray(0, data.length - LONG), headers) as K;
        return { key, window: { start, end: start + windowSizeMs } };
      },
    );
  },
  sessionWindowed<K>(inner: Serde<K>): Serde<Windowed<K>> {
    return Serdes.custom<Windowed<K>>(
      (windowed, topic, headers) => {
        const key = inner.serialize(topic, windowed.key, headers) ?? Buffer.alloc(0);
        const out = Buffer.allocUnsafe(key.length + 2 * LONG);
        key.copy(out, 0);
        out.writeBigInt64BE(BigInt(windowed.window.end), key.length);
        out.writeBigInt64BE(BigInt(windowed.window.start), key.length + LONG);
        return out;
      },
      (data, topic, headers) => {
        if (data.length < 2 * LONG)
          throw new Error(`a session-windowed key needs ≥ 16 bytes, got ${data.length}`);
        const at = data.length - 2 * LONG;
        const end = Number(data.readBigInt64BE(at));
        const start = Number(data.readBigInt64BE(at + LONG));
        const key = inner.deserialize(topic, data.subarray(0, at), headers) as K;
        return { key, window: { start, end } };
      },
    );
  },
} as const;

/**
 * The time bound of a stream–stream join (Kafka Streams' JoinWindows): a left record at time
 * t joins right records in [t − before, t + after]. `ofTimeDifference(d)` sets both to d. A
 * window closes when stream time (the highest timestamp the join has seen, either side)
 * passes its end plus the grace period: records later than that are dropped, and a
 * left/outer join emits a record that found no partner then — never earlier (the
 * "spurious result" fix of Kafka Streams 3.1, KAFKA-10847).
 */
export class JoinWindows {
  readonly kind = 'join' as const;
  private constructor(
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly graceMs: number,
  ) {}

  /** Records at most `timeDifferenceMs` apart join; no grace period. */
  static ofTimeDifference(timeDifferenceMs: number): JoinWindows {
    checkMs('JoinWindows time difference', timeDifferenceMs, 0);
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, 0);
  }
  /** Kafka Streams' name for `ofTimeDifference`. */
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifference(timeDifferenceMs);
  }
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifference(timeDifferenceMs).grace(graceMs);
  }

  /** How far before a left record's time a right record may be. */
  before(ms: number): JoinWindows {
    checkMs('JoinWindows before', ms, 0);
    return new JoinWindows(ms, this.afterMs, this.graceMs);
  }

  /** How far after a left record's time a right record may be. */
  after(ms: number): JoinWindows {
    checkMs('JoinWindows after', ms, 0);
    return new JoinWindows(this.beforeMs, ms, this.graceMs);
  }

  /** How long after a window's end a late record is still joined. */
  grace(graceMs: number): JoinWindows {
    checkMs('JoinWindows grace', graceMs, 0);
    return new JoinWindows(this.beforeMs, this.afterMs, graceMs);
  }

  /** before + after, as Kafka Streams' size(). */
  get sizeMs(): number {
    return this.beforeMs + this.afterMs;
  }
}

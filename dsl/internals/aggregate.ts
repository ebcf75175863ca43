/**
 * The DSL's stream aggregations, after Kafka Streams' KStreamAggregate / KStreamReduce,
 * KStreamWindowAggregate, KStreamSlidingWindowAggregate and KStreamSessionWindowAggregate.
 * Each forwards a `Change` (new and old aggregate) per update; results live in timestamped
 * key-value, timestamped window or session stores, changelogged inside the task's
 * transaction.
 *
 * Stream time: as Kafka Streams, each aggregation tracks the highest record timestamp it has
 * seen (`observedStreamTime`). Unlike Kafka Streams, which keeps the task's stream time in
 * the committed offsets' metadata, a task here starts from its stores: a windowed
 * aggregation re-learns its stream time from the newest window's timestamp in `init()`, so a
 * record that was late before a failover is still late after it (no second final result).
 */
import type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  Record as StreamRecord,
} from '../../framework/processor.ts';
import type { SessionStore } from '../../stores/session-store.ts';
import type { TimestampedKeyValueStore } from '../../stores/timestamped-key-value-store.ts';
import type { TimestampedWindowStore } from '../../stores/timestamped-window-store.ts';
import type { ValueAndTimestamp } from '../../stores/internals/value-and-timestamp.ts';
import type { SessionWindows, SlidingWindows, TimeWindows, Windowed } from '../windows.ts';
import type { Change } from './change.ts';
import { dropNull } from './processors.ts';

export type Initializer<VA> = () => VA;
export type Aggregator<K, V, VA> = (key: K, value: V, aggregate: VA) => VA;
export type Reducer<V> = (aggregate: V, value: V) => V;
export type Merger<K, VA> = (key: K, left: VA, right: VA) => VA;

type Ctx<K, VA> = ProcessorContext<K, Change<VA>>;

function forwardChange<K, VA>(
  context: Ctx<K, VA>,
  key: K,
  newValue: VA | null,
  oldValue: VA | null,
  timestamp: number,
  headers: StreamRecord<unknown, unknown>['headers'],
): void {
  void context.forward({ key, value: { newValue, oldValue }, timestamp, headers });
}

/**
 * `aggregate` (initializer + aggregator) or `reduce` (the first value is the aggregate) per
 * key into a timestamped key-value store; the result's timestamp is the latest record's.
 */
export function streamAggregate<K, V, VA>(
  storeName: string,
  step:
    | { kind: 'aggregate'; initializer: Initializer<VA>; aggregator: Aggregator<K, V, VA> }
    | { kind: 'reduce'; reducer: Reducer<VA> },
): ProcessorSupplier<K, V, K, Change<VA>> {
  return () => {
    let context!: Ctx<K, VA>;
    let store!: TimestampedKeyValueStore<K, VA>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<TimestampedKeyValueStore<K, VA>>(storeName);
      },
      process(record) {
        if (dropNull(context as Ctx<unknown, unknown>, record)) return;
        const old = store.get(record.key);
        let next: VA;
        if (step.kind === 'aggregate') {
          next = step.aggregator(
            record.key,
            record.value,
            old === undefined ? step.initializer() : old.value,
          );
        } else {
          next =
            old === undefined
              ? (record.value as unknown as VA)
              : step.reducer(old.value, record.value as unknown as VA);
        }
        const timestamp =
          old === undefined ? record.timestamp : Math.max(old.timestamp, record.timestamp);
        store.put(record.key, { value: next, timestamp });
        forwardChange(context, record.key, next, old?.value ?? null, timestamp, record.headers);
      },
    } satisfies Processor<K, V, K, Change<VA>>;
  };
}

/** The newest windows' latest record time: the stream time a windowed aggregation had reached. */
function streamTimeOf<K, VA>(
  store: TimestampedWindowStore<K, ValueAndTimestamp<VA>> | TimestampedWindowStore<K, VA>,
): number {
  const newest = store.observedStreamTime;
  if (!Number.isFinite(newest)) return -1;
  let time = newest;
  for (const entry of store.fetchAll(newest, newest)) time = Math.max(time, entry.value.timestamp);
  return time;
}

export interface WindowedAggregateOptions<K, V, VA> {
  storeName: string;
  initializer: Initializer<VA>;
  aggregator: Aggregator<K, V, VA>;
}

/**
 * Tumbling and hopping windows (KStreamWindowAggregate): a record updates every window it
 * falls in whose end is after the close time (stream time − grace); a record all of whose
 * windows closed is dropped and counted.
 */
export function timeWindowAggregate<K, V, VA>(
  windows: TimeWindows,
  options: WindowedAggregateOptions<K, V, VA>,
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const { storeName, initializer, aggregator } = options;
  return () => {
    let context!: Ctx<Windowed<K>, VA>;
    let store!: TimestampedWindowStore<K, VA>;
    let observedStreamTime = -1;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<TimestampedWindowStore<K, VA>>(storeName);
        observedStreamTime = streamTimeOf(store);
      },
      process(record) {
        if (dropNull(context as Ctx<unknown, unknown>, record)) return;
        const timestamp = record.timestamp;
        if (timestamp > observedStreamTime) observedStreamTime = timestamp;
        const closeTime = observedStreamTime - windows.graceMs;
        let late = false;
        for (const start of windows.windowStartsFor(timestamp)) {
          const end = start + windows.sizeMs;
          // [start, end): closed once end <= stream time − grace (Kafka Streams' windowEnd > closeTime).
          if (end <= closeTime) {
            late = true;
            continue;
          }
          const old = store.get(record.key, start);
          const next = aggregator(
            record.key,
            record.value,
            old === undefined ? initializer() : old.value,
          );
          const time = old === undefined ? timestamp : Math.max(old.timestamp, timestamp);
          store.put(record.key, { value: next, timestamp: time }, start);
          forwardChange(
            context,
            { key: record.key, window: { start, end } },
            next,
            old?.value ?? null,
            time,
            record.headers,
          );
        }
        if (late) context.droppedRecord('late record: window closed (past its grace period)');
      },
    } satisfies Processor<K, V, Windowed<K>, Change<VA>>;
  };
}

/**
 * Sliding windows, a port of Kafka Streams' KStreamSlidingWindowAggregate (processInOrder,
 * processEarly, createWindows): each record gets a left window [t − d, t] and, when records
 * follow it within d, a right window [t + 1, t + 1 + d]; windows it falls in are updated.
 * Window ends are inclusive: a window is closed when end < stream time − grace.
 */
export function slidingWindowAggregate<K, V, VA>(
  windows: SlidingWindows,
  options: WindowedAggregateOptions<K, V, VA>,
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const { storeName, initializer, aggregator } = options;
  const d = windows.timeDifferenceMs;
  return () => {
    let context!: Ctx<Windowed<K>, VA>;
    let store!: TimestampedWindowStore<K, VA>;
    let observedStreamTime = -1;
    let late = false;

    const update = (
      record: StreamRecord<K, V>,
      start: number,
      current: ValueAndTimestamp<VA> | undefined,
      closeTime: number,
    ): void => {
      const end = start + d;
      if (end < closeTime) {
        late = true;
        return;
      }
      const oldAgg = current?.value;
      const next = aggregator(
        record.key,
        record.value,
        oldAgg === undefined ? initializer() : oldAgg,
      );
      const time =
        oldAgg === undefined || current === undefined
          ? record.timestamp
          : Math.max(record.timestamp, current.timestamp);
      store.put(record.key, { value: next, timestamp: time }, start);
      forwardChange(
        context,
        { key: record.key, window: { start, end } },
        next,
        oldAgg ?? null,
        time,
        record.headers,
      );
    };

    // The right window copies an aggregate that already covers exactly its records.
    const createRightWindow = (record: StreamRecord<K, V>, agg: ValueAndTimestamp<VA>): void => {
      const start = record.timestamp + 1;
      store.put(record.key, agg, start);
      forwardChange(
        context,
        { key: record.key, window: { start, end: start + d } },
        agg.value,
        null,
        agg.timestamp,
        record.headers,
      );
    };

    // A new window seeded from `seed` (a copy of an existing aggregate), or initializer(), then updated.
    const withSeed = (
      seed: ValueAndTimestamp<VA> | undefined,
      timestamp: number,
    ): ValueAndTimestamp<VA> =>
      seed === undefined ? { value: initializer(), timestamp } : { value: seed.value, timestamp };

    const processEarly = (record: StreamRecord<K, V>, closeTime: number): void => {
      const t = record.timestamp;
      let combined: { start: number; value: ValueAndTimestamp<VA> } | undefined;
      let rightAgg: ValueAndTimestamp<VA> | undefined;
      let rightExists = false;
      let previous: number | undefined;
      const starts = new Set<number>();
      for (const w of store.fetch(record.key, 0, t + 1)) {
        starts.add(w.windowStart);
        if (w.windowStart === 0) {
          combined = { start: 0, value: w.value };
          if (w.value.timestamp < t) previous = w.value.timestamp;
        } else if (w.windowStart <= t) {
          rightAgg = w.value;
          update(record, w.windowStart, w.value, closeTime);
        } else if (w.windowStart === t + 1) {
          rightExists = true;
        }
      }
      if (rightAgg === undefined && combined !== undefined && combined.value.timestamp > t) {
        rightAgg = combined.value;
      }
      if (!rightExists && rightAgg !== undefined && rightAgg.timestamp > t)
        createRightWindow(record, rightAgg);
      if (previous !== undefined && !starts.has(previous + 1)) {
        update(record, previous + 1, { value: initializer(), timestamp: t }, closeTime);
      }
      if (combined === undefined)
        update(record, 0, { value: initializer(), timestamp: t }, closeTime);
      else update(record, 0, combined.value, closeTime);
    };

    const processInOrder = (record: StreamRecord<K, V>, closeTime: number): void => {
      const t = record.timestamp;
      const starts = new Set<number>();
      let leftAgg: ValueAndTimestamp<VA> | undefined;
      let rightAgg: ValueAndTimestamp<VA> | undefined;
      let leftExists = false;
      let rightExists = false;
      let previous: number | undefined;
      for (const w of store.fetch(record.key, Math.max(0, t - 2 * d), t + 1)) {
        const start = w.windowStart;
        starts.add(start);
        const end = start + d;
        const maxRecordTime = w.value.timestamp;
        if (end < t) {
          leftAgg = w.value;
          previous = maxRecordTime;
        } else if (end === t) {
          leftExists = true;
          if (maxRecordTime < t) previous = maxRecordTime;
          update(record, start, w.value, closeTime);
        } else if (end > t && start <= t) {
          rightAgg = w.value;
          update(record, start, w.value, closeTime);
        } else if (start === t + 1) {
          rightExists = true;
        }
      }
      // The previous record's right window, if this record falls in it and it is missing.
      if (previous !== undefined) {
        const previousRightStart = previous + 1;
        if (!starts.has(previousRightStart) && previousRightStart + d >= t) {
          update(record, previousRightStart, { value: initializer(), timestamp: t }, closeTime);
        }
      }
      if (!leftExists) {
        const leftNotEmpty = previous !== undefined && t - d <= previous;
        update(record, t - d, withSeed(leftNotEmpty ? leftAgg : undefined, t), closeTime);
      }
      if (!rightExists && rightAgg !== undefined && rightAgg.timestamp > t)
        createRightWindow(record, rightAgg);
    };

    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<TimestampedWindowStore<K, VA>>(storeName);
        observedStreamTime = streamTimeOf(store);
      },
      process(record) {
        if (dropNull(context as Ctx<unknown, unknown>, record)) return;
        const t = record.timestamp;
        if (t > observedStreamTime) observedStreamTime = t;
        const closeTime = observedStreamTime - windows.graceMs;
        late = false;
        if (t + d < closeTime) {
          context.droppedRecord('late record: window closed (past its grace period)');
          return;
        }
        if (t < d) processEarly(record, closeTime);
        else processInOrder(record, closeTime);
        if (late) context.droppedRecord('late record: window closed (past its grace period)');
      },
    } satisfies Processor<K, V, Windowed<K>, Change<VA>>;
  };
}

/**
 * Session windows (KStreamSessionWindowAggregate): a record merges every session of its key
 * that ends no earlier than t − gap and starts no later than t + gap; merged sessions are
 * removed and forwarded as tombstones, the merged one is put and forwarded. A session is
 * closed when its end < stream time − grace − gap.
 */
export function sessionWindowAggregate<K, V, VA>(
  windows: SessionWindows,
  options: WindowedAggregateOptions<K, V, VA> & { merger: Merger<K, VA> },
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const { storeName, initializer, aggregator, merger } = options;
  const gap = windows.inactivityGapMs;
  return () => {
    let context!: Ctx<Windowed<K>, VA>;
    let store!: SessionStore<K, VA>;
    let observedStreamTime = -1;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<SessionStore<K, VA>>(storeName);
        const seen = store.observedStreamTime;
        observedStreamTime = Number.isFinite(seen) ? seen : -1;
      },
      process(record) {
        if (dropNull(context as Ctx<unknown, unknown>, record)) return;
        const t = record.timestamp;
        if (t > observedStreamTime) observedStreamTime = t;
        const closeTime = observedStreamTime - windows.graceMs - gap;
        const merged = store.findSessions(record.key, t - gap, t + gap);
        let agg = initializer();
        let start = t;
        let end = t;
        for (const session of merged) {
          agg = merger(record.key, agg, session.value);
          start = Math.min(start, session.start);
          end = Math.max(end, session.end);
        }
        if (end < closeTime) {
          context.droppedRecord('late record: session closed (past its grace period)');
          return;
        }
        if (start !== t || end !== t) {
          for (const session of merged) {
            store.remove(session);
            forwardChange(
              context,
              { key: record.key, window: { start: session.start, end: session.end } },
              null,
              session.value,
              session.end,
              record.headers,
            );
          }
        }
        agg = aggregator(record.key, record.value, agg);
        store.put({ key: record.key, start, end }, agg);
        forwardChange(
          context,
          { key: record.key, window: { start, end } },
          agg,
          null,
          end,
          record.headers,
        );
      },
    } satisfies Processor<K, V, Windowed<K>, Change<VA>>;
  };
}

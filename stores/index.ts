/**
 * streamtx state stores: key-value, timestamped key-value, window, timestamped window and
 * session stores in SQLite (persistent, the default) or memory, changelogged to Kafka inside
 * the task's transaction and restored from the changelog without wiping
 * (docs/architecture.md, "State and recovery without wiping").
 *
 * @example A per-key running count
 * ```ts
 * import { Serdes, Topology, type Processor, type ProcessorContext, type Record } from 'streamtx/framework';
 * import { Stores, type KeyValueStore } from 'streamtx/stores';
 *
 * class Count implements Processor<string, string, string, number> {
 *   #context!: ProcessorContext<string, number>;
 *   #counts!: KeyValueStore<string, number>;
 *   init(context: ProcessorContext<string, number>) {
 *     this.#context = context;
 *     this.#counts = context.getStateStore<KeyValueStore<string, number>>('counts');
 *   }
 *   async process(record: Record<string, string>) {
 *     const count = (this.#counts.get(record.key) ?? 0) + 1;
 *     this.#counts.put(record.key, count);
 *     await this.#context.forward({ ...record, value: count });
 *   }
 * }
 *
 * const topology = new Topology()
 *   .addSource('words', { topics: ['words'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
 *   .addProcessor('count', () => new Count(), 'words')
 *   .addStateStore(
 *     Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }),
 *     'count',
 *   )
 *   .addSink('counts', { topic: 'word-counts', keySerde: Serdes.string(), valueSerde: Serdes.int32() }, 'count');
 *
 * // A windowed store for 1-minute tumbling windows kept for an hour, in memory:
 * Stores.window('bins', {
 *   keySerde: Serdes.string(),
 *   valueSerde: Serdes.json<{ open: number; close: number }>(),
 *   windowSizeMs: 60_000,
 *   retentionMs: 3_600_000,
 *   persistent: false,
 * });
 *
 * // Sessions of activity per user, kept for a day of stream time:
 * Stores.session('visits', {
 *   keySerde: Serdes.string(),
 *   valueSerde: Serdes.int32(),
 *   retentionMs: 86_400_000,
 * });
 * // in a processor: sessions.findSessions(user, time - gapMs, time + gapMs) to merge with
 * ```
 *
 * @module
 */

export {
  Stores,
  type KeyValueStoreBuilder,
  type KeyValueStoreOptions,
  type SessionStoreBuilder,
  type SessionStoreOptions,
  type TimestampedKeyValueStoreBuilder,
  type TimestampedWindowStoreBuilder,
  type WindowStoreBuilder,
  type WindowStoreOptions,
} from './stores.ts';
export type { KeyValue, KeyValueStore } from './key-value-store.ts';
export {
  isTimestampedKeyValueStore,
  type TimestampedKeyValueStore,
  type ValueAndTimestamp,
} from './timestamped-key-value-store.ts';
export type { WindowEntry, WindowStore } from './window-store.ts';
export {
  isTimestampedWindowStore,
  type TimestampedWindowStore,
} from './timestamped-window-store.ts';
export {
  isSessionStore,
  type Session,
  type SessionEntry,
  type SessionStore,
} from './session-store.ts';
export type { TransactionalStateStore } from './transactional-store.ts';
export type {
  ReadOnlyKeyValueStore,
  ReadOnlySessionStore,
  ReadOnlyWindowStore,
} from './queryable.ts';
export { encodeWindowKey, decodeWindowKey } from './internals/window-key-schema.ts';
export { encodeSessionKey, decodeSessionKey } from './internals/session-key-schema.ts';
export { encodeTimestampedValue, decodeTimestampedValue } from './internals/value-and-timestamp.ts';
export { storeFilePath, SCHEMA_VERSION } from './internals/store-file.ts';

/**
 * The `Stores` factory: builders for `Topology.addStateStore`. Each `build()` returns a new
 * store instance, layered as in Kafka Streams:
 *
 *   Serde*Store (serdes) → ChangeLogging*BytesStore (when logged) → SQLite or memory store
 *
 * The timestamped stores are the key-value and window stacks with a value serde that prefixes
 * the 8-byte timestamp (Kafka Streams' ValueAndTimestampSerde), not copies of them.
 */
import { TopologyError } from '../framework/errors.ts';
import type { StateStore, StoreBuilder } from '../framework/processor.ts';
import type { Serde } from '../framework/serdes.ts';
import type {
  KeyValueBytesStore,
  SessionBytesStore,
  WindowBytesStore,
} from './internals/bytes-store.ts';
import {
  ChangeLoggingKeyValueBytesStore,
  ChangeLoggingSessionBytesStore,
  ChangeLoggingTimestampedKeyValueBytesStore,
  ChangeLoggingWindowBytesStore,
} from './internals/change-logging.ts';
import { MemoryKeyValueBytesStore } from './internals/memory-key-value-bytes-store.ts';
import { MemorySessionBytesStore } from './internals/memory-session-bytes-store.ts';
import { MemoryWindowBytesStore } from './internals/memory-window-bytes-store.ts';
import { readCheckpointFile } from './internals/sqlite-bytes-store.ts';
import { SqliteKeyValueBytesStore } from './internals/sqlite-key-value-bytes-store.ts';
import { SqliteSessionBytesStore } from './internals/sqlite-session-bytes-store.ts';
import { SqliteWindowBytesStore } from './internals/sqlite-window-bytes-store.ts';
import { storeFilePath } from './internals/store-file.ts';
import { valueAndTimestampSerde } from './internals/value-and-timestamp.ts';
import { SerdeKeyValueStore, type KeyValueStore } from './key-value-store.ts';
import { SerdeSessionStore, type SessionStore } from './session-store.ts';
import {
  SerdeTimestampedKeyValueStore,
  type TimestampedKeyValueStore,
  type ValueAndTimestamp,
} from './timestamped-key-value-store.ts';
import {
  SerdeTimestampedWindowStore,
  type TimestampedWindowStore,
} from './timestamped-window-store.ts';
import { SerdeWindowStore, type WindowStore } from './window-store.ts';
import {
  compositeKeyValueStore,
  compositeSessionStore,
  compositeWindowStore,
  type ReadOnlyKeyValueStore,
  type ReadOnlySessionStore,
  type ReadOnlyWindowStore,
} from './queryable.ts';

export interface KeyValueStoreOptions<K, V> {
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  /**
   * SQLite file `${stateDir}/${name}.sqlite` (true) or memory (false, restored in full from
   * the changelog on every task start).
   * @default true
   */
  persistent?: boolean;
  /**
   * Changelog every change to `${applicationId}-${name}-changelog`. Without it a persistent
   * store's file is its only copy, and a memory store starts empty.
   * @default true
   */
  logging?: boolean;
}

export interface WindowStoreOptions<K, V> extends KeyValueStoreOptions<K, V> {
  /** Window size in ms (≥ 1); `windowEnd = windowStart + windowSizeMs`. */
  windowSizeMs: number;
  /**
   * How long windows are kept, in ms of observed stream time (≥ windowSizeMs, as Kafka
   * Streams requires): a window with start <= observed stream time − retention is expired.
   */
  retentionMs: number;
}

export interface SessionStoreOptions<K, V> extends KeyValueStoreOptions<K, V> {
  /**
   * How long sessions are kept, in ms of observed stream time (an integer ≥ 1): a session
   * with end <= observed stream time − retention is expired. A session-window aggregation
   * needs at least its inactivity gap + grace period.
   */
  retentionMs: number;
}

export interface KeyValueStoreBuilder<K, V> extends StoreBuilder<KeyValueStore<K, V>> {
  readonly persistent: boolean;
  queryableView(instances: () => readonly StateStore[]): ReadOnlyKeyValueStore<K, V>;
}

export interface TimestampedKeyValueStoreBuilder<K, V> extends StoreBuilder<
  TimestampedKeyValueStore<K, V>
> {
  readonly persistent: boolean;
  queryableView(
    instances: () => readonly StateStore[],
  ): ReadOnlyKeyValueStore<K, ValueAndTimestamp<V>>;
}

export interface WindowStoreBuilder<K, V> extends StoreBuilder<WindowStore<K, V>> {
  readonly persistent: boolean;
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  queryableView(instances: () => readonly StateStore[]): ReadOnlyWindowStore<K, V>;
}

export interface TimestampedWindowStoreBuilder<K, V> extends StoreBuilder<
  TimestampedWindowStore<K, V>
> {
  readonly persistent: boolean;
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  queryableView(
    instances: () => readonly StateStore[],
  ): ReadOnlyWindowStore<K, ValueAndTimestamp<V>>;
}

export interface SessionStoreBuilder<K, V> extends StoreBuilder<SessionStore<K, V>> {
  readonly persistent: boolean;
  readonly retentionMs: number;
  queryableView(instances: () => readonly StateStore[]): ReadOnlySessionStore<K, V>;
}

/** `readCheckpoint` of a persistent store whose SQLite file has layout `kind`. */
function checkpointReader(
  name: string,
  persistent: boolean,
  kind: string,
): Pick<StoreBuilder, 'readCheckpoint'> {
  return persistent
    ? { readCheckpoint: (stateDir) => readCheckpointFile(storeFilePath(stateDir, name), kind) }
    : {};
}

/** The committed views of the instances a builder built (each a Serde*Store). */
function viewsOf<T>(instances: () => readonly StateStore[], view: (store: never) => T): () => T[] {
  return () => instances().map((store) => view(store as never));
}

/** Store names become file and topic names: the characters Kafka allows in topic names. */
const STORE_NAME = /^[a-zA-Z0-9._-]+$/;

function checkName(name: string): void {
  if (typeof name !== 'string' || !STORE_NAME.test(name) || name === '.' || name === '..') {
    throw new TopologyError(
      `Invalid state store name "${String(name)}": use letters, digits, '.', '_' and '-'`,
    );
  }
}

function checkSerdes(name: string, options: { keySerde?: unknown; valueSerde?: unknown }): void {
  for (const field of ['keySerde', 'valueSerde'] as const) {
    if (options[field] === undefined) {
      throw new TopologyError(`State store "${name}": ${field} is required`);
    }
  }
}

function keyValue<K, V>(
  name: string,
  options: KeyValueStoreOptions<K, V>,
): KeyValueStoreBuilder<K, V> {
  checkName(name);
  checkSerdes(name, options);
  const persistent = options.persistent ?? true;
  const loggingEnabled = options.logging ?? true;
  return {
    name,
    persistent,
    loggingEnabled,
    changelogConfig: Object.freeze({ 'cleanup.policy': 'compact' }),
    ...checkpointReader(name, persistent, 'key-value'),
    queryableView: (instances) =>
      compositeKeyValueStore(
        viewsOf(instances, (s: SerdeKeyValueStore<K, V>) => s.committedView()),
      ),
    build() {
      let inner: KeyValueBytesStore = persistent
        ? new SqliteKeyValueBytesStore(name, loggingEnabled)
        : new MemoryKeyValueBytesStore(name);
      if (loggingEnabled) inner = new ChangeLoggingKeyValueBytesStore(inner, name);
      return new SerdeKeyValueStore(
        name,
        inner,
        options.keySerde,
        options.valueSerde,
        loggingEnabled,
      );
    },
  };
}

/**
 * A key-value store whose values carry a timestamp (Kafka Streams' timestampedKeyValueStore):
 * stored and changelogged as the 8-byte big-endian timestamp followed by the serialized value.
 */
function timestampedKeyValue<K, V>(
  name: string,
  options: KeyValueStoreOptions<K, V>,
): TimestampedKeyValueStoreBuilder<K, V> {
  checkName(name);
  checkSerdes(name, options);
  const persistent = options.persistent ?? true;
  const loggingEnabled = options.logging ?? true;
  return {
    name,
    persistent,
    loggingEnabled,
    changelogConfig: Object.freeze({ 'cleanup.policy': 'compact' }),
    ...checkpointReader(name, persistent, 'timestamped-key-value'),
    queryableView: (instances) =>
      compositeKeyValueStore(
        viewsOf(instances, (s: SerdeTimestampedKeyValueStore<K, V>) => s.committedView()),
      ),
    build() {
      let inner: KeyValueBytesStore = persistent
        ? new SqliteKeyValueBytesStore(name, loggingEnabled, 'timestamped-key-value')
        : new MemoryKeyValueBytesStore(name);
      if (loggingEnabled) inner = new ChangeLoggingTimestampedKeyValueBytesStore(inner, name);
      return new SerdeTimestampedKeyValueStore(
        name,
        inner,
        options.keySerde,
        valueAndTimestampSerde(name, options.valueSerde),
        loggingEnabled,
      );
    },
  };
}

function checkWindowOptions(name: string, windowSizeMs: number, retentionMs: number): void {
  if (!Number.isSafeInteger(windowSizeMs) || windowSizeMs < 1) {
    throw new TopologyError(
      `State store "${name}": windowSizeMs must be an integer ≥ 1, got ${String(windowSizeMs)}`,
    );
  }
  if (!Number.isSafeInteger(retentionMs) || retentionMs < windowSizeMs) {
    throw new TopologyError(
      `State store "${name}": retentionMs must be an integer ≥ windowSizeMs (${windowSizeMs}), got ${String(retentionMs)}`,
    );
  }
}

/** Builds the window byte-store stack; `kind` names a timestamped store's SQLite schema. */
function windowBytesStore(
  name: string,
  persistent: boolean,
  loggingEnabled: boolean,
  windowSizeMs: number,
  retentionMs: number,
  kind: string,
): WindowBytesStore {
  let inner: WindowBytesStore = persistent
    ? new SqliteWindowBytesStore(name, loggingEnabled, windowSizeMs, retentionMs, kind)
    : new MemoryWindowBytesStore(name, windowSizeMs, retentionMs);
  if (loggingEnabled) inner = new ChangeLoggingWindowBytesStore(inner, name);
  return inner;
}

function window<K, V>(name: string, options: WindowStoreOptions<K, V>): WindowStoreBuilder<K, V> {
  checkName(name);
  checkSerdes(name, options);
  const { windowSizeMs, retentionMs } = options;
  checkWindowOptions(name, windowSizeMs, retentionMs);
  const persistent = options.persistent ?? true;
  const loggingEnabled = options.logging ?? true;
  return {
    name,
    persistent,
    loggingEnabled,
    windowSizeMs,
    retentionMs,
    changelogConfig: windowedChangelogConfig(retentionMs),
    ...checkpointReader(name, persistent, 'window'),
    queryableView: (instances) =>
      compositeWindowStore(viewsOf(instances, (s: SerdeWindowStore<K, V>) => s.committedView())),
    build() {
      const inner = windowBytesStore(
        name,
        persistent,
        loggingEnabled,
        windowSizeMs,
        retentionMs,
        'window',
      );
      return new SerdeWindowStore(
        name,
        inner,
        options.keySerde,
        options.valueSerde,
        loggingEnabled,
      );
    },
  };
}

/**
 * A window store whose values carry a timestamp (Kafka Streams' timestampedWindowStore), as
 * windowed aggregations keep their results: the window store's keys, values stored and
 * changelogged as the 8-byte big-endian timestamp followed by the serialized value.
 */
function timestampedWindow<K, V>(
  name: string,
  options: WindowStoreOptions<K, V>,
): TimestampedWindowStoreBuilder<K, V> {
  checkName(name);
  checkSerdes(name, options);
  const { windowSizeMs, retentionMs } = options;
  checkWindowOptions(name, windowSizeMs, retentionMs);
  const persistent = options.persistent ?? true;
  const loggingEnabled = options.logging ?? true;
  return {
    name,
    persistent,
    loggingEnabled,
    windowSizeMs,
    retentionMs,
    changelogConfig: windowedChangelogConfig(retentionMs),
    ...checkpointReader(name, persistent, 'timestamped-window'),
    queryableView: (instances) =>
      compositeWindowStore(
        viewsOf(instances, (s: SerdeTimestampedWindowStore<K, V>) => s.committedView()),
      ),
    build() {
      const inner = windowBytesStore(
        name,
        persistent,
        loggingEnabled,
        windowSizeMs,
        retentionMs,
        'timestamped-window',
      );
      return new SerdeTimestampedWindowStore(
        name,
        inner,
        options.keySerde,
        valueAndTimestampSerde(name, options.valueSerde),
        loggingEnabled,
      );
    },
  };
}

/** A session store (Kafka Streams' SessionStore): (key, start, end) → aggregate. */
function session<K, V>(
  name: string,
  options: SessionStoreOptions<K, V>,
): SessionStoreBuilder<K, V> {
  checkName(name);
  checkSerdes(name, options);
  const { retentionMs } = options;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 1) {
    throw new TopologyError(
      `State store "${name}": retentionMs must be an integer ≥ 1, got ${String(retentionMs)}`,
    );
  }
  const persistent = options.persistent ?? true;
  const loggingEnabled = options.logging ?? true;
  return {
    name,
    persistent,
    loggingEnabled,
    retentionMs,
    changelogConfig: windowedChangelogConfig(retentionMs),
    ...checkpointReader(name, persistent, 'session'),
    queryableView: (instances) =>
      compositeSessionStore(viewsOf(instances, (s: SerdeSessionStore<K, V>) => s.committedView())),
    build() {
      let inner: SessionBytesStore = persistent
        ? new SqliteSessionBytesStore(name, loggingEnabled, retentionMs)
        : new MemorySessionBytesStore(name, retentionMs);
      if (loggingEnabled) inner = new ChangeLoggingSessionBytesStore(inner, name);
      return new SerdeSessionStore(
        name,
        inner,
        options.keySerde,
        options.valueSerde,
        loggingEnabled,
      );
    },
  };
}

/** Kafka Streams' windowstore.changelog.additional.retention.ms default: one day. */
const CHANGELOG_ADDITIONAL_RETENTION_MS = 86_400_000;

/**
 * A windowed (window or session) store's changelog: compacted, and deleted by time past the
 * store's retention.
 */
export function windowedChangelogConfig(retentionMs: number): Readonly<Record<string, string>> {
  return Object.freeze({
    'cleanup.policy': 'compact,delete',
    'retention.ms': String(retentionMs + CHANGELOG_ADDITIONAL_RETENTION_MS),
  });
}

export const Stores = {
  keyValue,
  timestampedKeyValue,
  window,
  timestampedWindow,
  session,
} as const;

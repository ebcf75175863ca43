/**
 * Read-only byte stores over a live store's committed state, for interactive queries: every
 * read runs inside `readCommitted` (bytes-store.ts), so it never sees the owning task's open
 * transaction. Writes and the lifecycle throw: the task owns the store, a query only looks.
 */
import { StreamsFatalError } from '../../framework/errors.ts';
import type {
  BytesStoreLifecycle,
  KeyValueBytesStore,
  SessionBytesStore,
  WindowBytesStore,
} from './bytes-store.ts';

function readOnly(storeName: string): () => never {
  return () => {
    throw new StreamsFatalError(
      `State store "${storeName}": an interactive query view is read-only; only the task that owns the store writes to it`,
    );
  };
}

/** The lifecycle of a view: nothing to open, commit or restore. */
function lifecycle(storeName: string, live: BytesStoreLifecycle): BytesStoreLifecycle {
  const refuse = readOnly(storeName);
  return {
    get persistent() {
      return live.persistent;
    },
    inTransaction: false,
    init: refuse,
    beginTransaction: refuse,
    commitTransaction: refuse,
    rollbackTransaction: refuse,
    checkpoint: () => live.checkpoint(),
    restoreBatch: refuse,
    wipe: refuse,
    close: () => undefined, // the view holds nothing; the live store closes with its task
  };
}

export function committedKeyValueView(
  storeName: string,
  live: KeyValueBytesStore,
): KeyValueBytesStore {
  const refuse = readOnly(storeName);
  return {
    ...lifecycle(storeName, live),
    get: (key) => live.readCommitted((s) => s.get(key)),
    range: (from, to) => live.readCommitted((s) => s.range(from, to)),
    prefixScan: (prefix) => live.readCommitted((s) => s.prefixScan(prefix)),
    count: () => live.readCommitted((s) => s.count()),
    readCommitted: (read) => live.readCommitted(read),
    put: refuse,
    putIfAbsent: refuse,
    delete: refuse,
  };
}

export function committedWindowView(storeName: string, live: WindowBytesStore): WindowBytesStore {
  const refuse = readOnly(storeName);
  return {
    ...lifecycle(storeName, live),
    windowSizeMs: live.windowSizeMs,
    retentionMs: live.retentionMs,
    get observedStreamTime() {
      return live.readCommitted((s) => s.observedStreamTime);
    },
    get: (key, windowStart) => live.readCommitted((s) => s.get(key, windowStart)),
    fetch: (key, from, to) => live.readCommitted((s) => s.fetch(key, from, to)),
    fetchAll: (from, to) => live.readCommitted((s) => s.fetchAll(from, to)),
    count: () => live.readCommitted((s) => s.count()),
    readCommitted: (read) => live.readCommitted(read),
    put: refuse,
  };
}

export function committedSessionView(
  storeName: string,
  live: SessionBytesStore,
): SessionBytesStore {
  const refuse = readOnly(storeName);
  return {
    ...lifecycle(storeName, live),
    retentionMs: live.retentionMs,
    get observedStreamTime() {
      return live.readCommitted((s) => s.observedStreamTime);
    },
    fetchSession: (key, start, end) => live.readCommitted((s) => s.fetchSession(key, start, end)),
    findSessions: (keyFrom, keyTo, earliestEnd, latestStart) =>
      live.readCommitted((s) => s.findSessions(keyFrom, keyTo, earliestEnd, latestStart)),
    findSessionsByEnd: (earliestEnd, latestEnd) =>
      live.readCommitted((s) => s.findSessionsByEnd(earliestEnd, latestEnd)),
    count: () => live.readCommitted((s) => s.count()),
    readCommitted: (read) => live.readCommitted(read),
    put: refuse,
  };
}

/**
 * Store operations per second, SQLite vs memory, through the public store API (serdes and the
 * change-logging layer included, logChange a no-op):
 *
 *   npm run bench:store-ops [-- --ops 200000 --batch 1000]
 *
 * Key-value and timestamped key-value stores — put: `ops` puts of distinct keys in random
 * order, inside transactions committed every `batch` puts (as a task commits per Kafka
 * transaction); get: `ops` gets of present keys in random order; range: 1000 scans of 100 keys.
 *
 * Session store — merge: what a session-window count does per record, `ops` records over 1000
 * keys with stream time advancing 1 ms per record and jittered by up to 2 s, inactivity gap
 * 5 s, retention 1 min: findSessions(key, t − gap, t + gap), remove each found session, put the
 * merged one; committed every `batch` records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Serdes } from '../framework/serdes.ts';
import {
  Stores,
  type KeyValueStore,
  type SessionStore,
  type TransactionalStateStore,
} from '../stores/index.ts';

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
  },
});
const ops = Number(args.ops);
const batch = Number(args.batch);

const keyOf = (i: number): string => `key-${String(i).padStart(8, '0')}`;
const order = Array.from({ length: ops }, (_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [order[i], order[j]] = [order[j] as number, order[i] as number];
}

function rate(count: number, run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return count / seconds;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const storeName = (persistent: boolean) =>
  persistent ? 'SQLite (WAL, synchronous=NORMAL)' : 'memory';

/** Runs `run` on an initialized store in a fresh directory, counting logged changes. */
function withStore<S extends TransactionalStateStore>(
  store: S,
  run: (store: S, changes: () => number) => Record<string, string>,
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'streamtx-store-bench-'));
  try {
    let changes = 0;
    store.init({
      applicationId: 'bench',
      taskId: '0_0',
      stateDir: dir,
      logChange: () => void changes++,
    });
    const result = run(store, () => changes);
    store.close();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** put / get / range over a key-value-shaped store; `wrap` makes the stored value of `i`. */
function keyValueOps<V>(
  store: KeyValueStore<string, V>,
  changes: () => number,
  wrap: (i: number) => V,
  unwrap: (value: V | undefined) => number,
): Record<string, string> {
  const puts = rate(ops, () => {
    let offset = 0n;
    store.beginTransaction();
    for (let n = 0; n < ops; n++) {
      const i = order[n] as number;
      store.put(keyOf(i), wrap(i));
      if ((n + 1) % batch === 0) {
        store.commitTransaction((offset += BigInt(batch)));
        store.beginTransaction();
      }
    }
    store.commitTransaction(offset);
  });
  let sum = 0;
  const gets = rate(ops, () => {
    for (let n = 0; n < ops; n++) sum += unwrap(store.get(keyOf(order[n] as number)));
  });
  const scans = 1000;
  const ranges = rate(scans * 100, () => {
    for (let n = 0; n < scans; n++) {
      const from = order[n] as number;
      if (store.range(keyOf(from), keyOf(from + 99)).length === 0) throw new Error('empty');
    }
  });
  if (changes() !== ops || sum !== (ops * (ops - 1)) / 2) {
    throw new Error('bench self-check failed');
  }
  return {
    'put/s (txn per 1000)': fmt(puts),
    'get/s': fmt(gets),
    'range entries/s': fmt(ranges),
  };
}

function benchKeyValue(persistent: boolean): Record<string, string> {
  const store = Stores.keyValue('bench', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    persistent,
  }).build();
  return withStore(store, (s, changes) => ({
    store: `key-value, ${storeName(persistent)}`,
    ...keyValueOps(
      s,
      changes,
      (i) => i,
      (v) => v ?? 0,
    ),
  }));
}

function benchTimestampedKeyValue(persistent: boolean): Record<string, string> {
  const store = Stores.timestampedKeyValue('bench', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    persistent,
  }).build();
  return withStore(store, (s, changes) => ({
    store: `timestamped key-value, ${storeName(persistent)}`,
    ...keyValueOps(
      s,
      changes,
      (i) => ({ value: i, timestamp: 1_700_000_000_000 + i }),
      (v) => v?.value ?? 0,
    ),
  }));
}

function benchSession(persistent: boolean): Record<string, string> {
  const gapMs = 5000;
  const keys = 1000;
  const store: SessionStore<string, number> = Stores.session('bench', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    retentionMs: 60_000,
    persistent,
  }).build();
  const next = (() => {
    let a = 42;
    return () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32;
  })();
  return withStore(store, (s, changes) => {
    let found = 0;
    const merges = rate(ops, () => {
      let offset = 0n;
      s.beginTransaction();
      for (let n = 0; n < ops; n++) {
        const key = keyOf(Math.floor(next() * keys));
        const time = 1_700_000_000_000 + n + Math.floor(next() * 2000);
        let [start, end, count] = [time, time, 1];
        for (const session of s.findSessions(key, time - gapMs, time + gapMs)) {
          [start, end, count] = [
            Math.min(start, session.start),
            Math.max(end, session.end),
            count + session.value,
          ];
          s.remove(session);
          found++;
        }
        s.put({ key, start, end }, count);
        if ((n + 1) % batch === 0) {
          s.commitTransaction((offset += BigInt(batch)));
          s.beginTransaction();
        }
      }
      s.commitTransaction(offset);
    });
    const total = s.all().reduce((sum, session) => sum + session.value, 0);
    if (changes() !== ops + found || total > ops || total === 0) {
      throw new Error('bench self-check failed');
    }
    return {
      store: `session, ${storeName(persistent)}`,
      'merges/s (find + remove + put)': fmt(merges),
      'sessions found per record': (found / ops).toFixed(2),
      'live sessions at the end': fmt(s.approximateNumEntries()),
    };
  });
}

console.log(
  `${ops.toLocaleString('en-US')} keys / records, commit every ${batch}, Node ${process.version}`,
);
console.table([
  benchKeyValue(true),
  benchKeyValue(false),
  benchTimestampedKeyValue(true),
  benchTimestampedKeyValue(false),
]);
console.table([benchSession(true), benchSession(false)]);

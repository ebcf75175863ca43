/**
 * One conformance suite for every store implementation (SQLite and memory): the sqlite-*.test.ts
 * and memory-*.test.ts files run it. Persistence is asserted per implementation: a SQLite store
 * keeps committed data and its checkpoint across a reopen; a memory store keeps nothing.
 */
import type { Test } from 'tap';
import type { StateStoreContext } from '../../framework/processor.ts';
import { Serdes, type Serde } from '../../framework/serdes.ts';
import {
  Stores,
  encodeSessionKey,
  encodeTimestampedValue,
  encodeWindowKey,
  type KeyValueStore,
  type SessionStore,
  type TimestampedKeyValueStore,
  type TimestampedWindowStore,
  type WindowStore,
} from '../../stores/index.ts';

export interface Implementation {
  /** true: SQLite (Stores' default); false: memory. */
  persistent: boolean;
}

export interface LoggedChange {
  store: string;
  key: Buffer;
  value: Buffer | null;
  timestamp: number;
}

export function contextFor(stateDir: string, log?: LoggedChange[]): StateStoreContext {
  return {
    applicationId: 'app',
    taskId: '0_0',
    stateDir,
    partition: 0,
    logChange:
      log === undefined
        ? undefined
        : (store, key, value, timestamp) => log.push({ store, key, value, timestamp }),
  };
}

interface KvOptions<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  logging?: boolean;
  log?: LoggedChange[];
  name?: string;
}

export function openKeyValue<K = string, V = number>(
  impl: Implementation,
  dir: string,
  options: KvOptions<K, V> = {},
): KeyValueStore<K, V> {
  const store = Stores.keyValue(options.name ?? 'kv', {
    keySerde: options.keySerde ?? (Serdes.string() as unknown as Serde<K>),
    valueSerde: options.valueSerde ?? (Serdes.int32() as unknown as Serde<V>),
    persistent: impl.persistent,
    logging: options.logging ?? true,
  }).build();
  store.init(contextFor(dir, options.log));
  return store;
}

export function openWindow(
  impl: Implementation,
  dir: string,
  options: { log?: LoggedChange[]; windowSizeMs?: number; retentionMs?: number } = {},
): WindowStore<string, number> {
  const store = Stores.window('win', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    windowSizeMs: options.windowSizeMs ?? 10,
    retentionMs: options.retentionMs ?? 100,
    persistent: impl.persistent,
  }).build();
  store.init(contextFor(dir, options.log));
  return store;
}

export function openTimestampedKeyValue(
  impl: Implementation,
  dir: string,
  options: { log?: LoggedChange[]; logging?: boolean; name?: string } = {},
): TimestampedKeyValueStore<string, number> {
  const store = Stores.timestampedKeyValue(options.name ?? 'tkv', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    persistent: impl.persistent,
    logging: options.logging ?? true,
  }).build();
  store.init(contextFor(dir, options.log));
  return store;
}

export function openTimestampedWindow(
  impl: Implementation,
  dir: string,
  options: { log?: LoggedChange[]; windowSizeMs?: number; retentionMs?: number } = {},
): TimestampedWindowStore<string, number> {
  const store = Stores.timestampedWindow('twin', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    windowSizeMs: options.windowSizeMs ?? 10,
    retentionMs: options.retentionMs ?? 100,
    persistent: impl.persistent,
  }).build();
  store.init(contextFor(dir, options.log));
  return store;
}

export function openSession(
  impl: Implementation,
  dir: string,
  options: { log?: LoggedChange[]; retentionMs?: number; logging?: boolean; name?: string } = {},
): SessionStore<string, number> {
  const store = Stores.session(options.name ?? 'sess', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    retentionMs: options.retentionMs ?? 100,
    persistent: impl.persistent,
    logging: options.logging ?? true,
  }).build();
  store.init(contextFor(dir, options.log));
  return store;
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const str = (s: string): Buffer => Buffer.from(s, 'utf8');
const keys = <K, V>(entries: { key: K; value: V }[]): K[] => entries.map((e) => e.key);

export function keyValueConformance(t: Test, impl: Implementation): void {
  const open = <K = string, V = number>(t: Test, options: KvOptions<K, V> = {}) => {
    const store = openKeyValue<K, V>(impl, t.testdir(), options);
    t.teardown(() => store.close());
    return store;
  };

  t.test('get returns undefined for an absent key and the last value put', async (t) => {
    const store = open(t);
    t.equal(store.persistent, impl.persistent);
    t.equal(store.get('a'), undefined);
    store.put('a', 1);
    store.put('a', 2);
    t.equal(store.get('a'), 2);
    t.equal(store.approximateNumEntries(), 1);
  });

  t.test('put with null and delete remove the key; delete returns the old value', async (t) => {
    const store = open(t);
    store.putAll([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ]);
    store.put('a', null);
    t.equal(store.get('a'), undefined);
    t.equal(store.delete('b'), 2);
    t.equal(store.delete('b'), undefined, 'deleting an absent key returns undefined');
    t.equal(store.approximateNumEntries(), 0);
  });

  t.test('putIfAbsent writes only an absent key and returns the existing value', async (t) => {
    const store = open(t);
    t.equal(store.putIfAbsent('a', 1), undefined);
    t.equal(store.putIfAbsent('a', 2), 1);
    t.equal(store.get('a'), 1);
  });

  t.test('putAll applies entries in order, null deleting', async (t) => {
    const store = open(t);
    store.putAll([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'a', value: null },
      { key: 'c', value: 3 },
    ]);
    t.same(store.all(), [
      { key: 'b', value: 2 },
      { key: 'c', value: 3 },
    ]);
  });

  t.test('all() orders string keys by UTF-8 bytes', async (t) => {
    const store = open(t);
    for (const key of ['ba', 'é', 'b', 'z', '', 'a', 'B']) store.put(key, 0);
    t.same(keys(store.all()), ['', 'B', 'a', 'b', 'ba', 'z', 'é']);
  });

  t.test(
    'int32 keys order by big-endian bytes: non-negative ascending, negative after',
    async (t) => {
      const store = open<number, number>(t, { keySerde: Serdes.int32() });
      for (const key of [256, 3, -1, 0, 2 ** 31 - 1, 1, -(2 ** 31)]) store.put(key, key);
      t.same(keys(store.all()), [0, 1, 3, 256, 2 ** 31 - 1, -(2 ** 31), -1]);
      t.same(keys(store.range(1, 256)), [1, 3, 256]);
    },
  );

  t.test('range has inclusive bounds, open when undefined, empty when from > to', async (t) => {
    const store = open(t);
    for (const key of ['a', 'b', 'ba', 'c', 'd']) store.put(key, 0);
    t.same(keys(store.range('b', 'c')), ['b', 'ba', 'c']);
    t.same(keys(store.range('az', 'bz')), ['b', 'ba'], 'bounds need not be keys');
    t.same(keys(store.range(undefined, 'b')), ['a', 'b']);
    t.same(keys(store.range('c', undefined)), ['c', 'd']);
    t.same(keys(store.range(undefined, undefined)), ['a', 'b', 'ba', 'c', 'd']);
    t.same(store.range('d', 'a'), []);
    t.same(keys(store.range('b', 'b')), ['b']);
  });

  t.test('prefixScan returns the keys starting with the serialized prefix', async (t) => {
    const store = open(t);
    for (const key of ['a', 'ab', 'abc', 'abd', 'ac', 'b']) store.put(key, 0);
    t.same(keys(store.prefixScan('ab')), ['ab', 'abc', 'abd']);
    t.same(keys(store.prefixScan('')), ['a', 'ab', 'abc', 'abd', 'ac', 'b']);
    t.same(store.prefixScan('x'), []);
  });

  t.test('prefixScan handles 0xff bytes and a prefix serde of another type', async (t) => {
    const store = open<Buffer, number>(t, { keySerde: Serdes.bytes() });
    const hex = (h: string) => Buffer.from(h, 'hex');
    for (const key of ['01ff', '01ff00', '01ffff', '02', 'ff', 'ffff', 'fe'])
      store.put(hex(key), 0);
    const scan = (prefix: string) =>
      store.prefixScan(hex(prefix)).map((e) => e.key.toString('hex'));
    t.same(scan('01ff'), ['01ff', '01ff00', '01ffff']);
    t.same(scan('ff'), ['ff', 'ffff']);
    t.same(
      store.prefixScan('\u0001', Serdes.string()).map((e) => e.key.toString('hex')),
      ['01ff', '01ff00', '01ffff'],
    );
  });

  t.test('a null key is rejected with a SerializationError', async (t) => {
    const store = open<string | null, number>(t);
    t.throws(() => store.put(null, 1), { name: 'SerializationError' });
  });

  t.test('buffers handed in or out cannot change the stored bytes', async (t) => {
    const store = open<Buffer, Buffer>(t, { keySerde: Serdes.bytes(), valueSerde: Serdes.bytes() });
    const key = Buffer.from('k');
    const value = Buffer.from('v1');
    store.put(key, value);
    key.write('x');
    value.write('zz');
    const read = store.get(Buffer.from('k'));
    t.same(read, Buffer.from('v1'));
    read?.write('yy');
    t.same(store.get(Buffer.from('k')), Buffer.from('v1'));
  });

  t.test('logChange gets the serialized key and value of every change, never reads', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log });
    store.put('a', 1);
    store.putIfAbsent('b', 2);
    store.putIfAbsent('b', 3); // no change
    store.delete('a');
    store.delete('absent'); // no change
    store.put('b', null);
    store.put('c', 4);
    store.get('c');
    store.all();
    store.range('a', 'z');
    store.prefixScan('c');
    store.approximateNumEntries();
    t.same(
      log.map(({ store, key, value }) => [store, key, value]),
      [
        ['kv', str('a'), int32(1)],
        ['kv', str('b'), int32(2)],
        ['kv', str('a'), null],
        ['kv', str('b'), null],
        ['kv', str('c'), int32(4)],
      ],
    );
    t.ok(log.every((change) => Number.isInteger(change.timestamp)));
  });

  t.test('an unlogged store never calls logChange', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log, logging: false });
    t.equal(store.loggingEnabled, false);
    store.put('a', 1);
    store.delete('a');
    t.same(log, []);
  });

  t.test('inside a transaction reads see the transaction’s own writes', async (t) => {
    const store = open(t);
    store.beginTransaction();
    t.ok(store.inTransaction);
    store.put('a', 1);
    store.put('b', 2);
    store.delete('b');
    t.equal(store.get('a'), 1);
    t.equal(store.get('b'), undefined);
    t.same(store.all(), [{ key: 'a', value: 1 }]);
    t.equal(store.approximateNumEntries(), 1);
    store.commitTransaction(1n);
    t.notOk(store.inTransaction);
    t.equal(store.get('a'), 1);
  });

  t.test('a rolled-back transaction leaves none of its writes', async (t) => {
    const store = open(t);
    store.beginTransaction();
    store.putAll([
      { key: 'keep', value: 1 },
      { key: 'gone', value: 2 },
    ]);
    store.commitTransaction(2n);
    store.beginTransaction();
    store.put('keep', 10);
    store.put('keep', 11);
    store.delete('gone');
    store.put('new', 3);
    store.putIfAbsent('new2', 4);
    store.rollbackTransaction();
    t.notOk(store.inTransaction);
    t.same(store.all(), [
      { key: 'gone', value: 2 },
      { key: 'keep', value: 1 },
    ]);
    t.equal(store.approximateNumEntries(), 2);
  });

  t.test('transactions are not nested, and commit needs an open one', async (t) => {
    const store = open(t);
    t.throws(() => store.commitTransaction(1n), /no transaction to commit/);
    store.beginTransaction();
    t.throws(() => store.beginTransaction(), /already open/);
    t.throws(() => store.restoreBatch([], 1n), /inside an open transaction/);
    store.rollbackTransaction();
    t.doesNotThrow(
      () => store.rollbackTransaction(),
      'a rollback without a transaction is a no-op',
    );
  });

  t.test(
    'committed writes and the changelog offset survive a reopen (persistent only)',
    async (t) => {
      const dir = t.testdir();
      const store = openKeyValue(impl, dir);
      store.beginTransaction();
      store.put('a', 1);
      store.commitTransaction(42n);
      t.equal(store.checkpoint(), impl.persistent ? 42n : undefined);
      store.close();

      const reopened = openKeyValue(impl, dir);
      t.teardown(() => reopened.close());
      if (impl.persistent) {
        t.equal(reopened.get('a'), 1);
        t.equal(reopened.checkpoint(), 42n);
      } else {
        t.equal(reopened.get('a'), undefined, 'a memory store starts empty');
        t.equal(reopened.checkpoint(), undefined, 'a memory store has no checkpoint');
      }
    },
  );

  t.test('a write without a commit is gone after a crash (close without commit)', async (t) => {
    const dir = t.testdir();
    const store = openKeyValue(impl, dir);
    store.beginTransaction();
    store.put('committed', 1);
    store.commitTransaction(7n);
    store.beginTransaction();
    store.put('uncommitted', 2);
    store.put('committed', 3);
    store.close();

    const reopened = openKeyValue(impl, dir);
    t.teardown(() => reopened.close());
    t.equal(reopened.get('uncommitted'), undefined);
    t.equal(reopened.get('committed'), impl.persistent ? 1 : undefined);
    t.equal(reopened.checkpoint(), impl.persistent ? 7n : undefined);
  });

  t.test('commitTransaction(undefined) keeps the recorded offset', async (t) => {
    const dir = t.testdir();
    const store = openKeyValue(impl, dir);
    store.beginTransaction();
    store.put('a', 1);
    store.commitTransaction(5n);
    store.beginTransaction();
    store.put('b', 2);
    store.commitTransaction(undefined);
    t.equal(store.checkpoint(), impl.persistent ? 5n : undefined);
    store.close();
    const reopened = openKeyValue(impl, dir);
    t.teardown(() => reopened.close());
    t.equal(reopened.checkpoint(), impl.persistent ? 5n : undefined);
    t.equal(reopened.get('b'), impl.persistent ? 2 : undefined);
  });

  t.test('a new store has no checkpoint, nor one whose commits carried no offset', async (t) => {
    const dir = t.testdir();
    const store = openKeyValue(impl, dir);
    t.equal(store.checkpoint(), undefined);
    store.beginTransaction();
    store.put('a', 1);
    store.commitTransaction(undefined);
    store.put('b', 2); // outside a transaction: applied at once
    store.close();
    const reopened = openKeyValue(impl, dir);
    t.teardown(() => reopened.close());
    t.equal(reopened.checkpoint(), undefined);
    t.equal(reopened.get('b'), impl.persistent ? 2 : undefined);
  });

  t.test(
    'restoreBatch applies values and tombstones, records the offset, logs nothing',
    async (t) => {
      const log: LoggedChange[] = [];
      const dir = t.testdir();
      const store = openKeyValue(impl, dir, { log });
      store.put('stale', 9);
      log.length = 0;
      const batch = [
        { key: str('a'), value: int32(1) },
        { key: str('b'), value: int32(2) },
        { key: str('a'), value: int32(3) },
        { key: str('stale'), value: null },
        { key: str('never'), value: null },
      ];
      store.restoreBatch(batch, 100n);
      const expected = [
        { key: 'a', value: 3 },
        { key: 'b', value: 2 },
      ];
      t.same(store.all(), expected);
      t.equal(store.checkpoint(), impl.persistent ? 100n : undefined);
      store.restoreBatch(batch, 100n);
      t.same(store.all(), expected, 'replaying the same batch again changes nothing (idempotent)');
      t.same(log, []);
      store.close();
      const reopened = openKeyValue(impl, dir);
      t.teardown(() => reopened.close());
      t.same(reopened.all(), impl.persistent ? expected : []);
      t.equal(reopened.checkpoint(), impl.persistent ? 100n : undefined);
    },
  );

  t.test('wipe drops all contents and the checkpoint', async (t) => {
    const dir = t.testdir();
    const store = openKeyValue(impl, dir);
    store.restoreBatch([{ key: str('a'), value: int32(1) }], 10n);
    store.beginTransaction();
    store.put('b', 2);
    store.wipe();
    t.notOk(store.inTransaction, 'wipe rolls back an open transaction');
    t.same(store.all(), []);
    t.equal(store.checkpoint(), undefined);
    store.put('c', 3);
    t.same(store.all(), [{ key: 'c', value: 3 }], 'the store is usable after a wipe');
    store.close();
    const reopened = openKeyValue(impl, dir);
    t.teardown(() => reopened.close());
    t.equal(reopened.checkpoint(), undefined);
    t.equal(reopened.get('a'), undefined);
  });

  t.test('a store is unusable before init and after close', async (t) => {
    const store = Stores.keyValue('kv', {
      keySerde: Serdes.string(),
      valueSerde: Serdes.int32(),
      persistent: impl.persistent,
    }).build();
    t.throws(() => store.get('a'), /not initialized or closed/);
    store.init(contextFor(t.testdir()));
    t.throws(() => store.init(contextFor(t.testdir())), /already initialized/);
    store.close();
    t.throws(() => store.put('a', 1), /not initialized or closed/);
    t.doesNotThrow(() => store.close(), 'close is idempotent');
  });
}

export function windowConformance(t: Test, impl: Implementation): void {
  const open = (t: Test, options: Parameters<typeof openWindow>[2] = {}) => {
    const store = openWindow(impl, t.testdir(), options);
    t.teardown(() => store.close());
    return store;
  };
  const starts = (entries: { windowStart: number }[]) => entries.map((e) => e.windowStart);

  t.test('put and get one window; null deletes it', async (t) => {
    const store = open(t);
    t.equal(store.get('a', 0), undefined);
    store.put('a', 1, 0);
    store.put('a', 2, 0);
    t.equal(store.get('a', 0), 2);
    t.equal(store.get('a', 10), undefined);
    store.put('a', null, 0);
    t.equal(store.get('a', 0), undefined);
    t.equal(store.approximateNumEntries(), 0);
  });

  t.test(
    'fetch returns the key’s windows whose start is in [timeFrom, timeTo], by start',
    async (t) => {
      const store = open(t, { windowSizeMs: 10, retentionMs: 1000 });
      // hopping windows of 10 ms advancing by 5: a record at 12 updates [5,15) and [10,20)
      for (const start of [20, 0, 10, 5, 15]) store.put('a', start, start);
      store.put('b', 99, 10);
      store.put('a\u0000', 98, 10); // a key that extends 'a' must not leak into fetch('a')
      t.same(store.fetch('a', 5, 15), [
        { key: 'a', windowStart: 5, windowEnd: 15, value: 5 },
        { key: 'a', windowStart: 10, windowEnd: 20, value: 10 },
        { key: 'a', windowStart: 15, windowEnd: 25, value: 15 },
      ]);
      t.same(starts(store.fetch('a', 0, 100)), [0, 5, 10, 15, 20]);
      t.same(store.fetch('a', 16, 19), []);
      t.same(store.fetch('a', 20, 10), [], 'empty when timeFrom > timeTo');
      t.same(starts(store.fetch('b', 0, 100)), [10]);
      t.same(store.fetch('c', 0, 100), []);
    },
  );

  t.test('fetchAll orders by window start, then key bytes', async (t) => {
    const store = open(t, { retentionMs: 1000 });
    store.put('b', 1, 10);
    store.put('a', 2, 10);
    store.put('c', 3, 0);
    store.put('a', 4, 20);
    const seen = store.fetchAll(0, 10).map((e) => [e.windowStart, e.key, e.value]);
    t.same(seen, [
      [0, 'c', 3],
      [10, 'a', 2],
      [10, 'b', 1],
    ]);
    t.same(
      store.all().map((e) => [e.windowStart, e.key]),
      [
        [0, 'c'],
        [10, 'a'],
        [10, 'b'],
        [20, 'a'],
      ],
    );
  });

  t.test('windows with start <= observed stream time − retention expire', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { windowSizeMs: 10, retentionMs: 100, log });
    store.put('a', 1, 0);
    store.put('a', 2, 50);
    store.put('a', 3, 99);
    t.same(starts(store.fetch('a', 0, 200)), [0, 50, 99], 'nothing expired at stream time 99');
    store.put('b', 4, 150); // stream time 150: starts <= 50 expire
    t.equal(store.observedStreamTime, 150);
    t.same(starts(store.fetch('a', 0, 200)), [99]);
    t.equal(store.get('a', 50), undefined);
    t.same(starts(store.all()), [99, 150]);
    t.equal(store.approximateNumEntries(), 2, 'expired windows are dropped, not only hidden');
    log.length = 0;
    store.put('a', 5, 50); // expired: ignored, not logged
    store.put('a', null, 40);
    t.equal(store.get('a', 50), undefined);
    t.same(log, []);
    store.put('a', 6, 51);
    t.equal(store.get('a', 51), 6, 'the first live window start is accepted');
  });

  t.test(
    'logChange gets key || 8-byte big-endian window start, and the window start',
    async (t) => {
      const log: LoggedChange[] = [];
      const store = open(t, { log, retentionMs: 1000 });
      store.put('ab', 7, 300);
      store.put('ab', null, 300);
      store.put('ab', null, 300); // absent: no change
      store.get('ab', 300);
      store.fetchAll(0, 1000);
      const key = Buffer.concat([str('ab'), Buffer.from('000000000000012c', 'hex')]);
      t.same(log, [
        { store: 'win', key, value: int32(7), timestamp: 300 },
        { store: 'win', key, value: null, timestamp: 300 },
      ]);
      t.same(encodeWindowKey(str('ab'), 300), key);
    },
  );

  t.test('a rolled-back transaction leaves none of its writes, nor its expiry', async (t) => {
    const store = open(t, { windowSizeMs: 10, retentionMs: 100 });
    store.beginTransaction();
    store.put('a', 1, 0);
    store.put('a', 2, 10);
    store.commitTransaction(3n);
    store.beginTransaction();
    store.put('a', 20, 10);
    store.put('a', null, 0);
    store.put('b', 3, 500); // expires 0 and 10
    t.same(starts(store.all()), [500], 'reads see the transaction’s own writes');
    store.rollbackTransaction();
    t.equal(store.observedStreamTime, 10);
    t.same(
      store.all().map((e) => [e.key, e.windowStart, e.value]),
      [
        ['a', 0, 1],
        ['a', 10, 2],
      ],
    );
  });

  t.test(
    'restoreBatch decodes window keys, applies tombstones and expiry, idempotently',
    async (t) => {
      const log: LoggedChange[] = [];
      const dir = t.testdir();
      const store = openWindow(impl, dir, { log, windowSizeMs: 10, retentionMs: 100 });
      const batch = [
        { key: encodeWindowKey(str('a'), 0), value: int32(1) },
        { key: encodeWindowKey(str('a'), 10), value: int32(2) },
        { key: encodeWindowKey(str('b'), 10), value: int32(3) },
        { key: encodeWindowKey(str('b'), 10), value: null },
        { key: encodeWindowKey(str('c'), 105), value: int32(4) }, // stream time 105: window 0 expires
      ];
      store.restoreBatch(batch, 5n);
      const expected = [
        ['a', 10, 2],
        ['c', 105, 4],
      ];
      t.same(
        store.all().map((e) => [e.key, e.windowStart, e.value]),
        expected,
      );
      store.restoreBatch(batch, 5n);
      t.same(
        store.all().map((e) => [e.key, e.windowStart, e.value]),
        expected,
        'replaying the same batch changes nothing',
      );
      t.equal(store.checkpoint(), impl.persistent ? 5n : undefined);
      t.same(log, []);
      t.throws(
        () => store.restoreBatch([{ key: Buffer.from('short'), value: null }], 6n),
        RangeError,
      );
      t.equal(
        store.checkpoint(),
        impl.persistent ? 5n : undefined,
        'a failed batch records nothing',
      );
      store.close();
    },
  );

  t.test(
    'committed windows, checkpoint and stream time survive a reopen (persistent only)',
    async (t) => {
      const dir = t.testdir();
      const store = openWindow(impl, dir, { windowSizeMs: 10, retentionMs: 100 });
      store.beginTransaction();
      store.put('a', 1, 200);
      store.commitTransaction(9n);
      store.beginTransaction();
      store.put('a', 2, 210);
      store.close(); // crash: the open transaction is lost
      const reopened = openWindow(impl, dir, { windowSizeMs: 10, retentionMs: 100 });
      t.teardown(() => reopened.close());
      if (impl.persistent) {
        t.same(starts(reopened.all()), [200]);
        t.equal(reopened.checkpoint(), 9n);
        t.equal(reopened.observedStreamTime, 200);
        reopened.put('a', 3, 100); // still expired after the reopen
        t.equal(reopened.get('a', 100), undefined);
      } else {
        t.same(reopened.all(), []);
        t.equal(reopened.checkpoint(), undefined);
      }
    },
  );

  t.test('wipe drops all windows, the checkpoint and the stream time', async (t) => {
    const store = open(t);
    store.restoreBatch([{ key: encodeWindowKey(str('a'), 500), value: int32(1) }], 2n);
    store.wipe();
    t.same(store.all(), []);
    t.equal(store.checkpoint(), undefined);
    t.equal(store.observedStreamTime, -Infinity);
    store.put('a', 1, 0);
    t.equal(store.get('a', 0), 1, 'old windows are accepted again');
  });

  t.test('window starts and time bounds must be integers', async (t) => {
    const store = open(t);
    t.throws(() => store.put('a', 1, 1.5), RangeError);
    t.throws(() => store.fetch('a', 0, Infinity), RangeError);
  });
}

/** `{ value, timestamp }`, the value shape of the timestamped stores. */
const vt = (value: number, timestamp: number) => ({ value, timestamp });
/** A timestamped value as stored and changelogged: int64 BE timestamp, then the value. */
const tv = (value: number, timestamp: number): Buffer =>
  encodeTimestampedValue(int32(value), timestamp);

/** A small deterministic PRNG (mulberry32), so a failing random sequence can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function timestampedKeyValueConformance(t: Test, impl: Implementation): void {
  const open = (t: Test, options: Parameters<typeof openTimestampedKeyValue>[2] = {}) => {
    const store = openTimestampedKeyValue(impl, t.testdir(), options);
    t.teardown(() => store.close());
    return store;
  };

  t.test('get returns the last { value, timestamp } put; null and delete remove', async (t) => {
    const store = open(t);
    t.equal(store.persistent, impl.persistent);
    t.equal(store.timestamped, true);
    t.equal(store.get('a'), undefined);
    store.put('a', vt(1, 100));
    store.put('a', vt(2, 50)); // a later put wins, whatever its timestamp
    t.same(store.get('a'), { value: 2, timestamp: 50 });
    store.put('b', vt(3, -7));
    t.same(store.get('b'), { value: 3, timestamp: -7 }, 'negative timestamps round-trip');
    store.put('b', null);
    t.equal(store.get('b'), undefined);
    t.same(store.delete('a'), { value: 2, timestamp: 50 }, 'delete returns the old entry');
    t.equal(store.delete('a'), undefined);
    t.equal(store.approximateNumEntries(), 0);
  });

  t.test('putIfAbsent writes only an absent key and returns the existing entry', async (t) => {
    const store = open(t);
    t.equal(store.putIfAbsent('a', vt(1, 10)), undefined);
    t.same(store.putIfAbsent('a', vt(2, 20)), { value: 1, timestamp: 10 });
    t.same(store.get('a'), { value: 1, timestamp: 10 });
  });

  t.test('range, prefixScan and all return { key, value: { value, timestamp } }', async (t) => {
    const store = open(t);
    store.putAll([
      { key: 'b', value: vt(2, 20) },
      { key: 'ab', value: vt(1, 10) },
      { key: 'c', value: vt(3, 30) },
      { key: 'abc', value: vt(4, 40) },
      { key: 'c', value: null },
    ]);
    t.same(store.all(), [
      { key: 'ab', value: { value: 1, timestamp: 10 } },
      { key: 'abc', value: { value: 4, timestamp: 40 } },
      { key: 'b', value: { value: 2, timestamp: 20 } },
    ]);
    t.same(
      store.range('abc', 'z').map((e) => e.key),
      ['abc', 'b'],
    );
    t.same(
      store.prefixScan('ab').map((e) => [e.key, e.value.timestamp]),
      [
        ['ab', 10],
        ['abc', 40],
      ],
    );
    t.equal(store.approximateNumEntries(), 3);
  });

  t.test('logChange gets the key and timestamp ‖ value, stamped with the timestamp', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log });
    store.put('a', vt(1, 1000));
    store.putIfAbsent('a', vt(9, 9)); // present: no change
    store.putIfAbsent('b', vt(2, 2000));
    store.delete('a');
    store.delete('absent'); // no change
    store.put('b', null);
    store.get('b');
    store.all();
    store.range('a', 'z');
    store.prefixScan('a');
    t.same(
      log.map(({ store, key, value, timestamp }) => [store, key, value, timestamp]).slice(0, 2),
      [
        ['tkv', str('a'), Buffer.from('00000000000003e800000001', 'hex'), 1000],
        ['tkv', str('b'), tv(2, 2000), 2000],
      ],
    );
    t.same(
      log.slice(2).map(({ key, value }) => [key, value]),
      [
        [str('a'), null],
        [str('b'), null],
      ],
      'deletes are tombstones',
    );
    t.equal(log.length, 4, 'reads and writes that change nothing log nothing');
  });

  t.test('an unlogged store never calls logChange', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log, logging: false });
    t.equal(store.loggingEnabled, false);
    store.put('a', vt(1, 1));
    store.delete('a');
    t.same(log, []);
  });

  t.test('bad input: null key, non-integer timestamp, not a { value, timestamp }', async (t) => {
    const store = open(t);
    // What untyped callers (JavaScript, JSON) can hand in.
    const loose = store as unknown as KeyValueStore<unknown, unknown>;
    t.throws(() => loose.put(null, vt(1, 1)), {
      name: 'SerializationError',
      message: /cannot hold a null key/,
    });
    for (const timestamp of [1.5, NaN, Infinity, undefined, '5']) {
      t.throws(
        () => loose.put('a', { value: 1, timestamp }),
        { name: 'SerializationError', message: /"tkv": timestamp must be an integer/ },
        String(timestamp),
      );
    }
    t.throws(() => loose.put('a', 5), { message: /expects \{ value, timestamp \} or null/ });
    t.equal(store.approximateNumEntries(), 0, 'nothing was written');
  });

  t.test('buffers handed in or out cannot change the stored bytes', async (t) => {
    const store = Stores.timestampedKeyValue('tkv', {
      keySerde: Serdes.bytes(),
      valueSerde: Serdes.bytes(),
      persistent: impl.persistent,
    }).build();
    store.init(contextFor(t.testdir()));
    t.teardown(() => store.close());
    const value = Buffer.from('v1');
    store.put(Buffer.from('k'), { value, timestamp: 5 });
    value.write('zz');
    const read = store.get(Buffer.from('k'));
    t.same(read, { value: Buffer.from('v1'), timestamp: 5 });
    read?.value.write('yy');
    t.same(store.get(Buffer.from('k'))?.value, Buffer.from('v1'));
  });

  t.test('transactions: own writes visible, rollback leaves none, commit keeps them', async (t) => {
    const dir = t.testdir();
    const store = openTimestampedKeyValue(impl, dir);
    store.beginTransaction();
    store.put('keep', vt(1, 10));
    store.put('gone', vt(2, 20));
    store.commitTransaction(4n);
    store.beginTransaction();
    store.put('keep', vt(10, 11));
    store.delete('gone');
    store.put('new', vt(3, 30));
    t.same(store.get('keep'), { value: 10, timestamp: 11 }, 'reads see the transaction');
    store.rollbackTransaction();
    const committed = [
      { key: 'gone', value: { value: 2, timestamp: 20 } },
      { key: 'keep', value: { value: 1, timestamp: 10 } },
    ];
    t.same(store.all(), committed);
    t.equal(store.checkpoint(), impl.persistent ? 4n : undefined);
    store.beginTransaction();
    store.put('lost', vt(5, 50));
    store.close(); // a crash with the transaction open
    const reopened = openTimestampedKeyValue(impl, dir);
    t.teardown(() => reopened.close());
    t.same(reopened.all(), impl.persistent ? committed : []);
    t.equal(reopened.checkpoint(), impl.persistent ? 4n : undefined);
  });

  t.test('restoreBatch applies values and tombstones, idempotently, logging nothing', async (t) => {
    const log: LoggedChange[] = [];
    const dir = t.testdir();
    const store = openTimestampedKeyValue(impl, dir, { log });
    const batch = [
      { key: str('a'), value: tv(1, 10) },
      { key: str('b'), value: tv(2, 20) },
      { key: str('a'), value: tv(3, 30) },
      { key: str('b'), value: null },
      { key: str('never'), value: null },
    ];
    store.restoreBatch(batch, 50n);
    store.restoreBatch(batch, 50n);
    const expected = [{ key: 'a', value: { value: 3, timestamp: 30 } }];
    t.same(store.all(), expected, 'replaying the batch twice changes nothing');
    t.equal(store.checkpoint(), impl.persistent ? 50n : undefined);
    t.same(log, []);
    t.throws(
      () =>
        store.restoreBatch(
          [
            { key: str('c'), value: tv(4, 40) },
            { key: str('d'), value: int32(5) }, // a plain key-value store's changelog value
          ],
          60n,
        ),
      { name: 'RangeError', message: /"tkv": changelog record 1 .*key 0x64.* 4-byte value/ },
    );
    t.same(store.all(), expected, 'a failed batch applies nothing');
    t.equal(store.checkpoint(), impl.persistent ? 50n : undefined, 'nor records its offset');
    store.close();
    const reopened = openTimestampedKeyValue(impl, dir);
    t.teardown(() => reopened.close());
    t.same(reopened.all(), impl.persistent ? expected : []);
  });

  t.test('replaying a store’s changelog rebuilds the same contents', async (t) => {
    const log: LoggedChange[] = [];
    const source = open(t, { log });
    const next = random(12);
    for (let i = 0; i < 500; i++) {
      const key = `k${Math.floor(next() * 30)}`;
      const op = next();
      if (op < 0.6) source.put(key, vt(i, Math.floor(next() * 1e6)));
      else if (op < 0.8) source.putIfAbsent(key, vt(i, i));
      else source.delete(key);
    }
    const replica = open(t, { name: 'replica' });
    replica.restoreBatch(log, BigInt(log.length));
    t.same(replica.all(), source.all());
    t.ok(source.approximateNumEntries() > 0);
  });
}

export function timestampedWindowConformance(t: Test, impl: Implementation): void {
  const open = (t: Test, options: Parameters<typeof openTimestampedWindow>[2] = {}) => {
    const store = openTimestampedWindow(impl, t.testdir(), options);
    t.teardown(() => store.close());
    return store;
  };

  t.test('windows hold { value, timestamp }; fetch and fetchAll return them', async (t) => {
    const store = open(t, { retentionMs: 1000 });
    t.equal(store.timestamped, true);
    store.put('a', vt(1, 3), 0);
    store.put('a', vt(2, 17), 10);
    store.put('b', vt(3, 12), 10);
    t.same(store.get('a', 10), { value: 2, timestamp: 17 });
    t.same(store.fetch('a', 0, 10), [
      { key: 'a', windowStart: 0, windowEnd: 10, value: { value: 1, timestamp: 3 } },
      { key: 'a', windowStart: 10, windowEnd: 20, value: { value: 2, timestamp: 17 } },
    ]);
    t.same(
      store.fetchAll(10, 10).map((e) => [e.key, e.value.timestamp]),
      [
        ['a', 17],
        ['b', 12],
      ],
    );
    store.put('a', null, 0);
    t.equal(store.get('a', 0), undefined);
    t.equal(store.approximateNumEntries(), 2);
  });

  t.test('logChange: window key, timestamp ‖ value, window start; expired: nothing', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log, windowSizeMs: 10, retentionMs: 100 });
    store.put('ab', vt(7, 305), 300);
    store.put('ab', null, 300);
    store.put('ab', vt(8, 1), 100); // 100 <= 300 − 100: expired
    store.get('ab', 300);
    t.same(log, [
      { store: 'twin', key: encodeWindowKey(str('ab'), 300), value: tv(7, 305), timestamp: 300 },
      { store: 'twin', key: encodeWindowKey(str('ab'), 300), value: null, timestamp: 300 },
    ]);
  });

  t.test('restoreBatch rebuilds, is idempotent, rejects a value without a timestamp', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log, retentionMs: 1000 });
    const batch = [
      { key: encodeWindowKey(str('a'), 0), value: tv(1, 5) },
      { key: encodeWindowKey(str('a'), 10), value: tv(2, 15) },
      { key: encodeWindowKey(str('a'), 0), value: null },
    ];
    store.restoreBatch(batch, 3n);
    store.restoreBatch(batch, 3n);
    t.same(
      store.all().map((e) => [e.key, e.windowStart, e.value]),
      [['a', 10, { value: 2, timestamp: 15 }]],
    );
    t.same(log, []);
    t.throws(
      () => store.restoreBatch([{ key: encodeWindowKey(str('b'), 20), value: int32(1) }], 4n),
      { name: 'RangeError', message: /"twin": changelog record 0/ },
    );
    t.equal(store.checkpoint(), impl.persistent ? 3n : undefined);
  });

  t.test(
    'a rolled-back transaction leaves none of its writes; a reopen keeps commits',
    async (t) => {
      const dir = t.testdir();
      const store = openTimestampedWindow(impl, dir, { retentionMs: 1000 });
      store.beginTransaction();
      store.put('a', vt(1, 1), 0);
      store.commitTransaction(2n);
      store.beginTransaction();
      store.put('a', vt(2, 2), 0);
      store.put('b', vt(3, 3), 10);
      store.rollbackTransaction();
      t.same(
        store.all().map((e) => [e.key, e.value]),
        [['a', { value: 1, timestamp: 1 }]],
      );
      store.close();
      const reopened = openTimestampedWindow(impl, dir, { retentionMs: 1000 });
      t.teardown(() => reopened.close());
      t.same(reopened.all().length, impl.persistent ? 1 : 0);
      t.equal(reopened.checkpoint(), impl.persistent ? 2n : undefined);
    },
  );

  t.test('bad input: non-integer timestamps and window starts', async (t) => {
    const store = open(t);
    t.throws(() => store.put('a', vt(1, 0.5), 0), { message: /timestamp must be an integer/ });
    t.throws(() => store.put('a', vt(1, 1), 0.5), RangeError);
  });
}

export function sessionConformance(t: Test, impl: Implementation): void {
  const open = (t: Test, options: Parameters<typeof openSession>[2] = {}) => {
    const store = openSession(impl, t.testdir(), options);
    t.teardown(() => store.close());
    return store;
  };
  type Entry = { key: string; start: number; end: number; value: number };
  const spans = (entries: Entry[]) => entries.map((e) => [e.key, e.start, e.end]);

  t.test('put and fetchSession one session; null and remove take it out', async (t) => {
    const store = open(t);
    t.equal(store.persistent, impl.persistent);
    t.equal(store.retentionMs, 100);
    t.equal(store.fetchSession('a', 0, 10), undefined);
    store.put({ key: 'a', start: 0, end: 10 }, 1);
    store.put({ key: 'a', start: 0, end: 10 }, 2);
    store.put({ key: 'a', start: 0, end: 0 }, 3); // a one-record session: start = end
    t.equal(store.fetchSession('a', 0, 10), 2);
    t.equal(store.fetchSession('a', 0, 0), 3);
    t.equal(store.fetchSession('a', 0, 11), undefined, 'both times must match');
    t.equal(store.fetchSession('b', 0, 10), undefined);
    t.equal(store.approximateNumEntries(), 2);
    store.put({ key: 'a', start: 0, end: 10 }, null);
    store.remove({ key: 'a', start: 0, end: 0 });
    t.equal(store.fetchSession('a', 0, 10), undefined);
    t.equal(store.approximateNumEntries(), 0);
  });

  t.test(
    'findSessions(key, earliestEnd, latestStart): every session overlapping, by start',
    async (t) => {
      const store = open(t, { retentionMs: 10_000 });
      for (const [start, end] of [
        [0, 5],
        [10, 20],
        [30, 30],
        [40, 60],
      ] as const) {
        store.put({ key: 'a', start, end }, start);
      }
      store.put({ key: 'b', start: 10, end: 20 }, 99);
      store.put({ key: 'a\u0000', start: 10, end: 20 }, 98); // extends 'a': must not leak in
      store.put({ key: '', start: 10, end: 20 }, 97); // a prefix of 'a': must not leak in
      t.same(store.findSessions('a', 15, 35), [
        { key: 'a', start: 10, end: 20, value: 10 },
        { key: 'a', start: 30, end: 30, value: 30 },
      ]);
      t.same(
        spans(store.findSessions('a', 20, 30)),
        [
          ['a', 10, 20],
          ['a', 30, 30],
        ],
        'both bounds are inclusive',
      );
      t.same(spans(store.findSessions('a', 21, 29)), [], 'a gap between sessions');
      t.same(spans(store.findSessions('a', 61, 100)), []);
      t.same(spans(store.findSessions('a', -1000, 1000)), [
        ['a', 0, 5],
        ['a', 10, 20],
        ['a', 30, 30],
        ['a', 40, 60],
      ]);
      t.same(spans(store.findSessions('c', 0, 100)), []);
      t.same(spans(store.findSessions('', 0, 100)), [['', 10, 20]], 'the empty key is a key');
    },
  );

  t.test('sessions of a key order by start, then end, however they overlap', async (t) => {
    const store = open(t, { retentionMs: 10_000 });
    // Put by hand (an aggregation would have merged them): end order differs from start order.
    for (const [start, end] of [
      [10, 20],
      [0, 100],
      [5, 8],
      [5, 6],
    ] as const) {
      store.put({ key: 'a', start, end }, 0);
    }
    const expected = [
      ['a', 0, 100],
      ['a', 5, 6],
      ['a', 5, 8],
      ['a', 10, 20],
    ];
    t.same(spans(store.findSessions('a', 0, 100)), expected);
    t.same(spans(store.fetch('a')), expected);
    t.same(spans(store.all()), expected);
  });

  t.test('findSessions over a key range or all keys: by key bytes, start, end', async (t) => {
    const store = open(t, { retentionMs: 10_000 });
    for (const key of ['b', 'a', 'ab', 'c', 'é']) {
      store.put({ key, start: 20, end: 30 }, 2);
      store.put({ key, start: 0, end: 10 }, 1);
    }
    t.same(spans(store.findSessions('a', 'b', 5, 25)), [
      ['a', 0, 10],
      ['a', 20, 30],
      ['ab', 0, 10],
      ['ab', 20, 30],
      ['b', 0, 10],
      ['b', 20, 30],
    ]);
    t.same(
      spans(store.findSessions('aa', 'bz', 11, 100)),
      [
        ['ab', 20, 30],
        ['b', 20, 30],
      ],
      'bounds need not be keys',
    );
    t.same(spans(store.findSessions(undefined, 'ab', 0, 5)), [
      ['a', 0, 10],
      ['ab', 0, 10],
    ]);
    t.same(spans(store.findSessions('c', undefined, 0, 5)), [
      ['c', 0, 10],
      ['é', 0, 10],
    ]);
    t.same(store.findSessions(undefined, undefined, 11, 100).length, 5, 'every key');
    t.same(store.findSessions('c', 'a', 0, 100), [], 'empty when keyFrom > keyTo');
    t.same(spans(store.fetch('ab', 'b')), [
      ['ab', 0, 10],
      ['ab', 20, 30],
      ['b', 0, 10],
      ['b', 20, 30],
    ]);
    t.same(spans(store.all()).slice(0, 3), [
      ['a', 0, 10],
      ['a', 20, 30],
      ['ab', 0, 10],
    ]);
    t.equal(store.all().length, 10);
  });

  t.test('times order numerically: negative, zero, past 32 bits, up to 2^53', async (t) => {
    const store = open(t, { retentionMs: Number.MAX_SAFE_INTEGER });
    const times = [2 ** 52, -(2 ** 40), 2 ** 32, -1, 0, 2 ** 32 - 1, -(2 ** 32), 1];
    for (const time of times) store.put({ key: 'a', start: time, end: time }, 0);
    store.put({ key: 'a', start: -(2 ** 50), end: 2 ** 32 + 5 }, 0); // stream time stays 2^52
    const sorted = [...times].sort((a, b) => a - b);
    t.same(
      store.fetch('a').map((e) => e.start),
      [-(2 ** 50), ...sorted],
    );
    t.same(
      store.findSessionsByEnd(-(2 ** 32), 2 ** 32).map((e) => e.end),
      sorted.filter((time) => time >= -(2 ** 32) && time <= 2 ** 32),
    );
    t.equal(store.observedStreamTime, 2 ** 52);
    store.put({ key: 'b', start: 0, end: 2 ** 53 - 1 }, 0); // the largest end: ends <= 0 expire
    t.same(
      store.fetch('a').map((e) => e.end),
      [2 ** 32 + 5, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 52],
    );
    t.same(
      store.findSessions('a', 2 ** 32, 2 ** 32).map((e) => [e.start, e.end]),
      [
        [-(2 ** 50), 2 ** 32 + 5],
        [2 ** 32, 2 ** 32],
      ],
    );
  });

  t.test(
    'findSessionsByEnd: sessions ending in [earliest, latest], by end, key, start',
    async (t) => {
      const store = open(t, { retentionMs: 10_000 });
      store.put({ key: 'b', start: 5, end: 20 }, 0);
      store.put({ key: 'a', start: 15, end: 20 }, 0);
      store.put({ key: 'a', start: 10, end: 20 }, 0);
      store.put({ key: 'c', start: 0, end: 10 }, 0);
      store.put({ key: 'a', start: 25, end: 30 }, 0);
      t.same(spans(store.findSessionsByEnd(10, 20)), [
        ['c', 0, 10],
        ['a', 10, 20],
        ['a', 15, 20],
        ['b', 5, 20],
      ]);
      t.same(spans(store.findSessionsByEnd(21, 30)), [['a', 25, 30]]);
      t.same(store.findSessionsByEnd(30, 21), []);
    },
  );

  t.test(
    'sessions with end <= observed stream time − retention expire (InMemorySessionStore)',
    async (t) => {
      const log: LoggedChange[] = [];
      const store = open(t, { retentionMs: 100, log });
      t.equal(store.observedStreamTime, -Infinity);
      store.put({ key: 'a', start: 0, end: 49 }, 1);
      store.put({ key: 'a', start: 50, end: 50 }, 2);
      store.put({ key: 'a', start: 51, end: 51 }, 3);
      store.put({ key: 'b', start: 0, end: 100 }, 4);
      t.equal(store.observedStreamTime, 100);
      t.same(store.fetch('a').length, 3, 'nothing expired at stream time 100');
      store.put({ key: 'b', start: 140, end: 150 }, 5); // stream time 150: ends <= 50 expire
      t.equal(store.observedStreamTime, 150);
      t.same(spans(store.fetch('a')), [['a', 51, 51]], 'end = stream time − retention is expired');
      t.equal(store.fetchSession('a', 50, 50), undefined);
      t.same(spans(store.findSessions('a', 0, 1000)), [['a', 51, 51]]);
      t.same(spans(store.findSessionsByEnd(0, 1000)).length, 3);
      t.equal(store.approximateNumEntries(), 3, 'expired sessions are dropped, not only hidden');
      log.length = 0;
      store.put({ key: 'a', start: 10, end: 50 }, 6); // expired: ignored, not logged
      store.remove({ key: 'a', start: 51, end: 51 }); // live: logged
      store.remove({ key: 'b', start: 0, end: 20 }); // expired and absent: nothing
      t.equal(store.fetchSession('a', 10, 50), undefined);
      t.same(
        log.map((c) => c.value),
        [null],
        'only the live removal is logged',
      );
      store.put({ key: 'a', start: 40, end: 51 }, 7);
      t.equal(store.fetchSession('a', 40, 51), 7, 'the first live end is accepted');
      store.remove({ key: 'x', start: 0, end: 400 });
      t.equal(store.observedStreamTime, 400, 'a removal advances stream time too, as in Kafka');
      t.same(spans(store.all()), [], 'and expires what it passes');
    },
  );

  t.test('logChange gets key ‖ end ‖ start (int64 BE) and the session end', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log, retentionMs: 1000 });
    store.put({ key: 'ab', start: 256, end: 300 }, 7);
    store.put({ key: 'ab', start: 256, end: 300 }, 8);
    store.remove({ key: 'ab', start: 256, end: 300 });
    store.remove({ key: 'ab', start: 256, end: 300 }); // absent: no change
    store.put({ key: 'ab', start: 0, end: 5 }, null); // absent: no change
    store.fetchSession('ab', 256, 300);
    store.findSessions('ab', 0, 1000);
    store.findSessionsByEnd(0, 1000);
    store.fetch('ab');
    store.all();
    const key = Buffer.concat([str('ab'), Buffer.from('000000000000012c0000000000000100', 'hex')]);
    t.same(log, [
      { store: 'sess', key, value: int32(7), timestamp: 300 },
      { store: 'sess', key, value: int32(8), timestamp: 300 },
      { store: 'sess', key, value: null, timestamp: 300 },
    ]);
    t.same(encodeSessionKey(str('ab'), 256, 300), key);
  });

  t.test('an unlogged store never calls logChange', async (t) => {
    const log: LoggedChange[] = [];
    const store = open(t, { log, logging: false });
    t.equal(store.loggingEnabled, false);
    store.put({ key: 'a', start: 0, end: 1 }, 1);
    store.remove({ key: 'a', start: 0, end: 1 });
    t.same(log, []);
  });

  t.test(
    'inside a transaction reads see its writes; a rollback leaves none of them, nor its expiry',
    async (t) => {
      const store = open(t, { retentionMs: 100 });
      store.beginTransaction();
      store.put({ key: 'a', start: 0, end: 10 }, 1);
      store.put({ key: 'a', start: 20, end: 30 }, 2);
      store.commitTransaction(3n);
      store.beginTransaction();
      store.put({ key: 'a', start: 20, end: 30 }, 20);
      store.remove({ key: 'a', start: 0, end: 10 });
      store.put({ key: 'a', start: 35, end: 40 }, 3);
      t.same(spans(store.fetch('a')), [
        ['a', 20, 30],
        ['a', 35, 40],
      ]);
      store.put({ key: 'b', start: 400, end: 500 }, 4); // expires everything of 'a'
      t.same(spans(store.all()), [['b', 400, 500]], 'reads see the transaction’s own writes');
      store.rollbackTransaction();
      t.equal(store.observedStreamTime, 30);
      t.same(store.all(), [
        { key: 'a', start: 0, end: 10, value: 1 },
        { key: 'a', start: 20, end: 30, value: 2 },
      ]);
      t.equal(store.approximateNumEntries(), 2);
      t.equal(store.checkpoint(), impl.persistent ? 3n : undefined);
    },
  );

  t.test('transactions are not nested, and commit needs an open one', async (t) => {
    const store = open(t);
    t.throws(() => store.commitTransaction(1n), /no transaction to commit/);
    store.beginTransaction();
    t.throws(() => store.beginTransaction(), /already open/);
    t.throws(() => store.restoreBatch([], 1n), /inside an open transaction/);
    store.rollbackTransaction();
  });

  t.test(
    'committed sessions, checkpoint and stream time survive a reopen (persistent only)',
    async (t) => {
      const dir = t.testdir();
      const store = openSession(impl, dir, { retentionMs: 100 });
      store.beginTransaction();
      store.put({ key: 'a', start: 150, end: 200 }, 1);
      store.commitTransaction(9n);
      store.beginTransaction();
      store.put({ key: 'a', start: 205, end: 210 }, 2);
      store.close(); // crash: the open transaction is lost
      const reopened = openSession(impl, dir, { retentionMs: 100 });
      t.teardown(() => reopened.close());
      if (impl.persistent) {
        t.same(reopened.all(), [{ key: 'a', start: 150, end: 200, value: 1 }]);
        t.equal(reopened.checkpoint(), 9n);
        t.equal(reopened.observedStreamTime, 200);
        reopened.put({ key: 'a', start: 50, end: 100 }, 3); // still expired after the reopen
        t.equal(reopened.fetchSession('a', 50, 100), undefined);
      } else {
        t.same(reopened.all(), [], 'a memory store starts empty');
        t.equal(reopened.checkpoint(), undefined);
        t.equal(reopened.observedStreamTime, -Infinity);
      }
    },
  );

  t.test(
    'restoreBatch decodes session keys, applies tombstones and expiry, idempotently',
    async (t) => {
      const log: LoggedChange[] = [];
      const dir = t.testdir();
      const store = openSession(impl, dir, { log, retentionMs: 100 });
      const key = (k: string, start: number, end: number) => encodeSessionKey(str(k), start, end);
      const batch = [
        { key: key('a', 0, 10), value: int32(1) },
        { key: key('a', 20, 30), value: int32(2) },
        { key: key('a', 0, 10), value: null }, // merged away
        { key: key('a', 0, 30), value: int32(3) },
        { key: key('b', 5, 5), value: int32(4) },
        { key: key('b', 5, 5), value: null },
        { key: key('never', 1, 2), value: null },
        { key: key('c', 120, 130), value: int32(5) }, // stream time 130: end 30 expires
      ];
      store.restoreBatch(batch, 8n);
      const expected = [{ key: 'c', start: 120, end: 130, value: 5 }];
      t.same(store.all(), expected);
      t.equal(store.observedStreamTime, 130);
      store.restoreBatch(batch, 8n);
      t.same(store.all(), expected, 'replaying the same batch changes nothing');
      t.equal(store.checkpoint(), impl.persistent ? 8n : undefined);
      t.same(log, [], 'restored records are not logged');
      t.throws(
        () =>
          store.restoreBatch(
            [
              { key: key('d', 200, 210), value: int32(6) },
              { key: Buffer.from('short key'), value: null },
            ],
            9n,
          ),
        { name: 'RangeError', message: /at least 16 bytes, got 9/ },
      );
      t.throws(() => store.restoreBatch([{ key: key('d', 210, 200), value: int32(6) }], 9n), {
        name: 'RangeError',
        message: /cannot end \(200\) before it starts \(210\)/,
      });
      t.same(store.all(), expected, 'a failed batch applies nothing');
      t.equal(store.observedStreamTime, 130, 'nor moves stream time');
      t.equal(store.checkpoint(), impl.persistent ? 8n : undefined, 'nor records its offset');
      store.close();
      const reopened = openSession(impl, dir, { retentionMs: 100 });
      t.teardown(() => reopened.close());
      t.same(reopened.all(), impl.persistent ? expected : []);
      t.equal(reopened.checkpoint(), impl.persistent ? 8n : undefined);
    },
  );

  t.test('replaying a store’s changelog rebuilds the same contents and stream time', async (t) => {
    const log: LoggedChange[] = [];
    const source = open(t, { log, retentionMs: 200 });
    const next = random(7);
    // A session-window aggregation's pattern: find overlapping sessions, remove, put merged.
    for (let i = 0; i < 600; i++) {
      const key = `k${Math.floor(next() * 12)}`;
      const time = i * 2 + Math.floor(next() * 120) - 60; // out of order by up to a minute
      const gap = 15;
      const found = source.findSessions(key, time - gap, time + gap);
      let start = time;
      let end = time;
      let sum = 1;
      for (const session of found) {
        start = Math.min(start, session.start);
        end = Math.max(end, session.end);
        sum += session.value;
        source.remove(session);
      }
      if (next() < 0.05) continue; // now and then a session is dropped, not replaced
      source.put({ key, start, end }, sum);
    }
    const replica = open(t, { name: 'replica', retentionMs: 200 });
    replica.restoreBatch(log, BigInt(log.length));
    t.ok(source.approximateNumEntries() > 10, `${source.approximateNumEntries()} sessions`);
    t.same(replica.all(), source.all());
    t.equal(replica.observedStreamTime, source.observedStreamTime);
  });

  t.test('wipe drops all sessions, the checkpoint and the stream time', async (t) => {
    const store = open(t);
    store.restoreBatch([{ key: encodeSessionKey(str('a'), 400, 500), value: int32(1) }], 2n);
    store.beginTransaction();
    store.put({ key: 'b', start: 500, end: 600 }, 2);
    store.wipe();
    t.notOk(store.inTransaction, 'wipe rolls back an open transaction');
    t.same(store.all(), []);
    t.equal(store.checkpoint(), undefined);
    t.equal(store.observedStreamTime, -Infinity);
    store.put({ key: 'a', start: 0, end: 1 }, 1);
    t.equal(store.fetchSession('a', 0, 1), 1, 'old sessions are accepted again');
  });

  t.test('bad input: null keys, non-integer times, end before start', async (t) => {
    const store = open(t);
    const loose = store as unknown as SessionStore<unknown, number>;
    t.throws(() => loose.put({ key: null, start: 0, end: 1 }, 1), {
      name: 'SerializationError',
      message: /"sess" cannot hold a null key/,
    });
    t.throws(() => loose.findSessions(null, 0, 1), { name: 'SerializationError' });
    t.throws(() => store.put({ key: 'a', start: 0.5, end: 1 }, 1), {
      name: 'RangeError',
      message: /session start must be an integer number of ms, got 0.5/,
    });
    t.throws(
      () => store.put({ key: 'a', start: 0, end: NaN }, 1),
      /session end must be an integer/,
    );
    t.throws(() => store.put({ key: 'a', start: 10, end: 9 }, 1), {
      name: 'RangeError',
      message: /cannot end \(9\) before it starts \(10\)/,
    });
    t.throws(() => store.remove({ key: 'a', start: 10, end: 9 }), RangeError);
    t.throws(() => store.fetchSession('a', 10, 9), RangeError);
    t.throws(
      () => store.findSessions('a', 0, Infinity),
      /latestSessionStartTime must be an integer/,
    );
    t.throws(
      () => store.findSessions('a', 'b', 1.5, 2),
      /earliestSessionEndTime must be an integer/,
    );
    t.throws(() => store.findSessionsByEnd(0, 2 ** 60), /latestSessionEndTime must be an integer/);
    t.throws(() => loose.put(undefined as never, 1), /a session is \{ key, start, end \}/);
    t.equal(store.approximateNumEntries(), 0, 'nothing was written');
    t.equal(store.observedStreamTime, -Infinity, 'nor stream time moved');
  });

  t.test('buffers handed in or out cannot change the stored bytes', async (t) => {
    const store = Stores.session('sess', {
      keySerde: Serdes.bytes(),
      valueSerde: Serdes.bytes(),
      retentionMs: 100,
      persistent: impl.persistent,
    }).build();
    store.init(contextFor(t.testdir()));
    t.teardown(() => store.close());
    const key = Buffer.from('k');
    const value = Buffer.from('v1');
    store.put({ key, start: 0, end: 1 }, value);
    key.write('x');
    value.write('zz');
    const [entry] = store.all();
    t.same(entry?.key, Buffer.from('k'));
    t.same(entry?.value, Buffer.from('v1'));
    entry?.key.write('y');
    entry?.value.write('yy');
    t.same(store.fetchSession(Buffer.from('k'), 0, 1), Buffer.from('v1'));
  });

  t.test('a store is unusable before init and after close', async (t) => {
    const store = Stores.session('sess', {
      keySerde: Serdes.string(),
      valueSerde: Serdes.int32(),
      retentionMs: 100,
      persistent: impl.persistent,
    }).build();
    t.throws(() => store.fetch('a'), /not initialized or closed/);
    store.init(contextFor(t.testdir()));
    t.throws(() => store.init(contextFor(t.testdir())), /already initialized/);
    store.close();
    t.throws(() => store.put({ key: 'a', start: 0, end: 0 }, 1), /not initialized or closed/);
    t.doesNotThrow(() => store.close(), 'close is idempotent');
  });
}

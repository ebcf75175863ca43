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
  encodeWindowKey,
  type KeyValueStore,
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

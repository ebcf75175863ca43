// Interactive-query views (stores/queryable.ts): committed state only, for every store kind,
// persistent and in memory; the composite over several tasks; checkpoints read from a file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Serdes } from '../../framework/serdes.ts';
import type { StateStore } from '../../framework/processor.ts';
import {
  Stores,
  type KeyValueStore,
  type SessionStore,
  type WindowStore,
} from '../../stores/index.ts';
import { SerdeKeyValueStore } from '../../stores/key-value-store.ts';
import { contextFor } from './conformance.ts';

const serdes = { keySerde: Serdes.string(), valueSerde: Serdes.int32() };

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamtx-queryable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const persistent of [true, false]) {
  const kind = persistent ? 'SQLite' : 'memory';

  t.test(`${kind} key-value view: committed values only, never the open transaction`, async (t) => {
    const dir = tempDir(t);
    const builder = Stores.keyValue('kv', { ...serdes, persistent });
    const store = builder.build();
    store.init(contextFor(dir, []));
    t.teardown(() => store.close());
    const view = builder.queryableView(() => [store]);

    store.beginTransaction();
    store.put('a', 1);
    store.put('b', 2);
    t.equal(view.get('a'), undefined, 'an uncommitted put is not visible');
    t.same(view.all(), [], 'nor in a scan');
    t.equal(store.get('a'), 1, 'the task itself reads its own writes');
    store.commitTransaction(5n);
    t.equal(view.get('a'), 1, 'visible once committed');

    store.beginTransaction();
    store.put('a', 100);
    store.delete('b');
    store.put('c', 3);
    t.equal(view.get('a'), 1, 'the committed value, not the open transaction’s');
    t.equal(view.get('b'), 2, 'an uncommitted delete is not visible');
    t.equal(view.get('c'), undefined);
    t.same(
      view.range('a', 'z').map((e) => [e.key, e.value]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    t.equal(view.approximateNumEntries(), 2);
    t.equal(store.get('a'), 100, 'reading the view leaves the task’s transaction as it was');
    t.equal(store.get('b'), undefined);
    t.equal(store.get('c'), 3);
    store.rollbackTransaction();
    t.equal(view.get('a'), 1, 'an aborted value is never visible');
    t.equal(store.get('a'), 1);
    t.same(
      view.prefixScan('a').map((e) => e.key),
      ['a'],
    );
    t.notOk('put' in view, 'the view has no writes');
    const committed = (store as SerdeKeyValueStore<string, number>).committedView();
    t.throws(
      () => (committed as unknown as KeyValueStore<string, number>).put('x', 1),
      /read-only/,
      'a committed view refuses writes, naming why',
    );
  });

  t.test(`${kind} window view: fetch and get over committed windows`, async (t) => {
    const dir = tempDir(t);
    const builder = Stores.window('win', {
      ...serdes,
      windowSizeMs: 10,
      retentionMs: 100,
      persistent,
    });
    const store: WindowStore<string, number> = builder.build();
    store.init(contextFor(dir, []));
    t.teardown(() => store.close());
    const view = builder.queryableView(() => [store]);
    store.beginTransaction();
    store.put('k', 1, 0);
    store.put('k', 2, 10);
    store.commitTransaction(2n);
    store.beginTransaction();
    store.put('k', 20, 10);
    store.put('k', 3, 200); // advances stream time: expires the windows at 0 and 10
    t.same(
      view.fetch('k', 0, 1000).map((e) => [e.windowStart, e.value]),
      [
        [0, 1],
        [10, 2],
      ],
      'expiry and writes of the open transaction are not visible',
    );
    t.equal(view.get('k', 10), 2);
    t.same(
      store.fetch('k', 0, 1000).map((e) => e.windowStart),
      [200],
      'the task sees its own transaction',
    );
    store.commitTransaction(4n);
    t.same(
      view.fetchAll(0, 1000).map((e) => [e.key, e.windowStart, e.value]),
      [['k', 200, 3]],
      'committed expiry is visible',
    );
    t.same(view.all().length, 1);
  });

  t.test(`${kind} session view: committed sessions only`, async (t) => {
    const dir = tempDir(t);
    const builder = Stores.session('sess', { ...serdes, retentionMs: 1000, persistent });
    const store: SessionStore<string, number> = builder.build();
    store.init(contextFor(dir, []));
    t.teardown(() => store.close());
    const view = builder.queryableView(() => [store]);
    store.beginTransaction();
    store.put({ key: 'u', start: 0, end: 5 }, 1);
    store.commitTransaction(1n);
    store.beginTransaction();
    store.remove({ key: 'u', start: 0, end: 5 });
    store.put({ key: 'u', start: 0, end: 9 }, 2);
    t.same(
      view.fetch('u').map((s) => [s.start, s.end, s.value]),
      [[0, 5, 1]],
    );
    t.equal(view.fetchSession('u', 0, 5), 1);
    t.same(view.findSessions('u', 0, 100).length, 1);
    store.commitTransaction(3n);
    t.same(
      view.all().map((s) => [s.start, s.end, s.value]),
      [[0, 9, 2]],
    );
  });
}

t.test(
  'the composite asks every local instance: a key is answered by the task that has it',
  async (t) => {
    const builder = Stores.keyValue('kv', { ...serdes, persistent: false });
    const stores: StateStore[] = [];
    for (const task of ['0_0', '0_1']) {
      const s = builder.build();
      s.init({ ...contextFor(tempDir(t)), taskId: task });
      s.beginTransaction();
      s.put(task === '0_0' ? 'x' : 'y', task === '0_0' ? 1 : 2);
      s.commitTransaction(undefined);
      stores.push(s);
    }
    let live = [...stores];
    const view = builder.queryableView(() => live);
    t.equal(view.get('x'), 1);
    t.equal(view.get('y'), 2);
    t.equal(view.approximateNumEntries(), 2);
    t.same(
      view
        .all()
        .map((e) => e.key)
        .sort(),
      ['x', 'y'],
    );
    live = [stores[0]!];
    t.equal(view.get('y'), undefined, 'the view follows the instances as tasks come and go');
  },
);

t.test('readCheckpoint reads a closed store file without changing it', async (t) => {
  const dir = tempDir(t);
  const builder = Stores.keyValue('kv', serdes);
  t.equal(builder.readCheckpoint?.(dir), undefined, 'no file: nothing to resume from');
  const store = builder.build();
  store.init(contextFor(dir, []));
  t.equal(builder.readCheckpoint?.(dir), undefined, 'no recorded offset yet');
  store.restoreBatch([{ key: Buffer.from('k'), value: Buffer.from([0, 0, 0, 1]) }], 42n);
  t.equal(builder.readCheckpoint?.(dir), 42n, 'read while the store is open (WAL reader)');
  store.close();
  t.equal(builder.readCheckpoint?.(dir), 42n, 'and after it closed');
  t.equal(
    Stores.timestampedKeyValue('kv', serdes).readCheckpoint?.(dir),
    undefined,
    'another layout under the same name is not trusted',
  );
  t.equal(
    Stores.keyValue('kv', { ...serdes, persistent: false }).readCheckpoint,
    undefined,
    'a memory store keeps nothing on disk',
  );
});

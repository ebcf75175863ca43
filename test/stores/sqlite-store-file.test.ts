/** SQLite specifics the conformance suite cannot express: the file, its schema, real crashes. */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t from 'tap';
import { Serdes } from '../../framework/serdes.ts';
import {
  Stores,
  SCHEMA_VERSION,
  encodeTimestampedValue,
  storeFilePath,
} from '../../stores/index.ts';
import {
  contextFor,
  openKeyValue,
  openSession,
  openTimestampedKeyValue,
  openTimestampedWindow,
  openWindow,
} from './conformance.ts';

const sqlite = { persistent: true };

function withCommittedData(dir: string): void {
  const store = openKeyValue(sqlite, dir);
  store.beginTransaction();
  store.put('a', 1);
  store.commitTransaction(11n);
  store.close();
}

t.test('one WAL-mode database file per task and store under stateDir', async (t) => {
  const dir = join(t.testdir(), 'app', '0_0'); // created on init
  withCommittedData(dir);
  const path = storeFilePath(dir, 'kv');
  t.equal(path, join(dir, 'kv.sqlite'));
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.same(db.prepare('SELECT name, value FROM streamtx_meta ORDER BY name').all(), [
    { name: 'changelog_offset', value: '11' },
    { name: 'schema', value: `key-value v${SCHEMA_VERSION}` },
  ]);
  t.same(db.prepare('SELECT key, value FROM kv').raw().all(), [
    [Buffer.from('a'), Buffer.from('00000001', 'hex')],
  ]);
});

t.test('a schema mismatch leaves no checkpoint and an empty store to restore', async (t) => {
  const dir = t.testdir();
  withCommittedData(dir);
  const db = new Database(storeFilePath(dir, 'kv'));
  db.prepare(`UPDATE streamtx_meta SET value = 'key-value v0' WHERE name = 'schema'`).run();
  db.close();
  const store = openKeyValue(sqlite, dir);
  t.teardown(() => store.close());
  t.equal(store.checkpoint(), undefined);
  t.same(store.all(), []);
});

t.test('a key-value file opened as a window store is a schema mismatch', async (t) => {
  const dir = t.testdir();
  const kv = openKeyValue(sqlite, dir, { name: 'win' });
  kv.restoreBatch([{ key: Buffer.from('a'), value: Buffer.from('00000001', 'hex') }], 3n);
  kv.close();
  const store = openWindow(sqlite, dir);
  t.teardown(() => store.close());
  t.equal(store.checkpoint(), undefined);
  t.same(store.all(), []);
});

t.test('an unlogged store never drops its only copy: a mismatch fails init', async (t) => {
  const dir = t.testdir();
  withCommittedData(dir);
  const db = new Database(storeFilePath(dir, 'kv'));
  db.prepare(`UPDATE streamtx_meta SET value = 'key-value v0' WHERE name = 'schema'`).run();
  db.close();
  t.throws(() => openKeyValue(sqlite, dir, { logging: false }), {
    name: 'StreamsFatalError',
    message: /Cannot open state store "kv".*schema "key-value v0"/,
  });
});

t.test('a file that is not a database is rebuilt from the changelog (logged stores)', async (t) => {
  const dir = t.testdir();
  writeFileSync(storeFilePath(dir, 'kv'), 'garbage '.repeat(1000));
  const store = openKeyValue(sqlite, dir);
  t.teardown(() => store.close());
  t.equal(store.checkpoint(), undefined);
  store.put('a', 1);
  t.equal(store.get('a'), 1);
});

t.test('committed state survives kill -9; the open transaction does not', async (t) => {
  const dir = t.testdir();
  const storesIndex = fileURLToPath(new URL('../../stores/index.ts', import.meta.url));
  const serdes = fileURLToPath(new URL('../../framework/serdes.ts', import.meta.url));
  const script = `
    import { Stores } from ${JSON.stringify(storesIndex)};
    import { Serdes } from ${JSON.stringify(serdes)};
    const store = Stores.keyValue('kv', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }).build();
    store.init({ applicationId: 'app', taskId: '0_0', stateDir: ${JSON.stringify(dir)} });
    store.beginTransaction();
    store.put('committed', 1);
    store.commitTransaction(21n);
    store.beginTransaction();
    store.put('uncommitted', 2);
    store.put('committed', 3);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
  t.equal(child.signal, 'SIGKILL', child.stderr);
  t.ok(existsSync(storeFilePath(dir, 'kv')));
  const store = openKeyValue(sqlite, dir);
  t.teardown(() => store.close());
  t.equal(store.checkpoint(), 21n);
  t.same(store.all(), [{ key: 'committed', value: 1 }]);
});

t.test(
  'a restore batch is atomic: a bad record leaves neither its data nor its offset',
  async (t) => {
    const store = Stores.window('win', {
      keySerde: Serdes.string(),
      valueSerde: Serdes.int32(),
      windowSizeMs: 10,
      retentionMs: 100,
    }).build();
    store.init(contextFor(t.testdir()));
    t.teardown(() => store.close());
    t.throws(() =>
      store.restoreBatch(
        [
          {
            key: Buffer.from('6100000000000000000a', 'hex'),
            value: Buffer.from('00000001', 'hex'),
          },
          { key: Buffer.from('bad'), value: null },
        ],
        5n,
      ),
    );
    t.same(store.all(), []);
    t.equal(store.checkpoint(), undefined);
    t.equal(store.observedStreamTime, -Infinity, 'nor its stream time');
  },
);

t.test('a session store is one table keyed (key, end, start) and its schema row', async (t) => {
  const dir = t.testdir();
  const store = openSession(sqlite, dir, { retentionMs: 1000 });
  store.beginTransaction();
  store.put({ key: 'a', start: 10, end: 20 }, 1);
  store.commitTransaction(4n);
  store.close();
  const db = new Database(storeFilePath(dir, 'sess'), { readonly: true });
  t.teardown(() => db.close());
  t.same(db.prepare('SELECT name, value FROM streamtx_meta ORDER BY name').all(), [
    { name: 'changelog_offset', value: '4' },
    { name: 'schema', value: `session v${SCHEMA_VERSION}` },
  ]);
  t.same(db.prepare('SELECT key, end_time, start_time, value FROM sessions').raw().all(), [
    [Buffer.from('a'), 20, 10, Buffer.from('00000001', 'hex')],
  ]);
});

t.test('findSessions and expiry are index searches, not table scans', async (t) => {
  const dir = t.testdir();
  openSession(sqlite, dir).close();
  const db = new Database(storeFilePath(dir, 'sess'), { readonly: true });
  t.teardown(() => db.close());
  const plan = (sql: string) =>
    db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...Array.from(sql.matchAll(/\?/g), () => 0))
      .map((row) => (row as { detail: string }).detail)
      .join('; ');
  // The statements of sqlite-session-bytes-store.ts, in shape.
  t.match(
    plan(
      'SELECT key, start_time, end_time, value FROM sessions WHERE key = ? AND end_time >= ? AND start_time <= ? ORDER BY start_time, end_time',
    ),
    /SEARCH sessions USING PRIMARY KEY \(key=\? AND end_time>\?\)/,
  );
  t.match(
    plan('DELETE FROM sessions WHERE end_time <= ?'),
    /SEARCH sessions USING (COVERING )?INDEX sessions_by_end \(end_time<\?\)/,
  );
  t.match(
    plan(
      'SELECT key, start_time, end_time, value FROM sessions WHERE end_time BETWEEN ? AND ? ORDER BY end_time, key, start_time',
    ),
    /SEARCH sessions USING (COVERING )?INDEX sessions_by_end \(end_time>\? AND end_time<\?\)/,
  );
});

t.test('a timestamped store keeps timestamp ‖ value under its own schema name', async (t) => {
  const dir = t.testdir();
  const store = openTimestampedKeyValue(sqlite, dir);
  store.put('a', { value: 1, timestamp: 1000 });
  store.close();
  const db = new Database(storeFilePath(dir, 'tkv'), { readonly: true });
  t.teardown(() => db.close());
  t.equal(
    db.prepare(`SELECT value FROM streamtx_meta WHERE name = 'schema'`).pluck().get(),
    `timestamped-key-value v${SCHEMA_VERSION}`,
  );
  t.same(db.prepare('SELECT key, value FROM kv').raw().all(), [
    [Buffer.from('a'), encodeTimestampedValue(Buffer.from('00000001', 'hex'), 1000)],
  ]);
  const window = openTimestampedWindow(sqlite, dir);
  window.close();
  const windowDb = new Database(storeFilePath(dir, 'twin'), { readonly: true });
  t.teardown(() => windowDb.close());
  t.equal(
    windowDb.prepare(`SELECT value FROM streamtx_meta WHERE name = 'schema'`).pluck().get(),
    `timestamped-window v${SCHEMA_VERSION}`,
  );
});

t.test(
  'a key-value file opened as a timestamped store is a schema mismatch, not a misread',
  async (t) => {
    const dir = t.testdir();
    const kv = openKeyValue(sqlite, dir, { name: 'tkv' });
    kv.restoreBatch([{ key: Buffer.from('a'), value: Buffer.from('0000000000000001', 'hex') }], 3n);
    kv.close();
    const store = openTimestampedKeyValue(sqlite, dir);
    t.equal(store.checkpoint(), undefined, 'logged: rebuilt from the changelog');
    t.same(store.all(), []);
    store.close();
    const unlogged = openKeyValue(sqlite, dir, { name: 'plain', logging: false });
    unlogged.close();
    t.throws(() => openTimestampedKeyValue(sqlite, dir, { name: 'plain', logging: false }), {
      name: 'StreamsFatalError',
      message: /schema "key-value v1" where "timestamped-key-value v1" is expected/,
    });
  },
);

t.test('a window file opened as a session store is a schema mismatch', async (t) => {
  const dir = t.testdir();
  const window = Stores.window('sess', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.int32(),
    windowSizeMs: 10,
    retentionMs: 100,
  }).build();
  window.init(contextFor(dir));
  window.restoreBatch([], 7n);
  window.close();
  const store = openSession(sqlite, dir);
  t.teardown(() => store.close());
  t.equal(store.checkpoint(), undefined);
  t.same(store.all(), []);
});

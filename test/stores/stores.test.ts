import t from 'tap';
import { Serdes } from '../../framework/serdes.ts';
import { Topology } from '../../framework/topology.ts';
import {
  Stores,
  decodeSessionKey,
  decodeTimestampedValue,
  decodeWindowKey,
  encodeSessionKey,
  encodeTimestampedValue,
  encodeWindowKey,
  isSessionStore,
  isTimestampedKeyValueStore,
  isTimestampedWindowStore,
} from '../../stores/index.ts';
import { windowedChangelogConfig } from '../../stores/stores.ts';
import { SortedSet } from '../../stores/internals/sorted-set.ts';
import { contextFor } from './conformance.ts';

const serdes = { keySerde: Serdes.string(), valueSerde: Serdes.int32() };

t.test(
  'Stores.keyValue defaults to a persistent, logged store and builds one per task',
  async (t) => {
    const builder = Stores.keyValue('counts', serdes);
    t.equal(builder.name, 'counts');
    t.equal(builder.persistent, true);
    t.equal(builder.loggingEnabled, true);
    const a = builder.build();
    const b = builder.build();
    t.not(a, b, 'build() returns a new instance every time');
    t.equal(a.persistent, true);
    const memory = Stores.keyValue('counts', { ...serdes, persistent: false, logging: false });
    t.equal(memory.build().persistent, false);
    t.equal(memory.loggingEnabled, false);
  },
);

t.test('Topology.addStateStore accepts the builders', async (t) => {
  const topology = new Topology()
    .addSource('in', { topics: ['in'], ...serdes })
    .addProcessor('p', () => ({ process() {} }), 'in')
    .addStateStore(Stores.keyValue('kv', serdes), 'p')
    .addStateStore(
      Stores.window('win', { ...serdes, windowSizeMs: 60_000, retentionMs: 3_600_000 }),
      'p',
    )
    .addStateStore(Stores.timestampedKeyValue('tkv', serdes), 'p')
    .addStateStore(
      Stores.timestampedWindow('twin', { ...serdes, windowSizeMs: 60_000, retentionMs: 3_600_000 }),
      'p',
    )
    .addStateStore(Stores.session('sess', { ...serdes, retentionMs: 3_600_000 }), 'p');
  t.match(topology.describe().toString(), /Processor: p \(stores: \[kv, win, tkv, twin, sess\]\)/);
});

t.test('the new builders: defaults, settings and changelog configs', async (t) => {
  const tkv = Stores.timestampedKeyValue('tkv', serdes);
  t.equal(tkv.persistent, true);
  t.equal(tkv.loggingEnabled, true);
  t.same(tkv.changelogConfig, { 'cleanup.policy': 'compact' });
  t.not(tkv.build(), tkv.build(), 'build() returns a new instance every time');
  const session = Stores.session('sess', { ...serdes, retentionMs: 5000 });
  t.equal(session.persistent, true);
  t.equal(session.loggingEnabled, true);
  t.equal(session.retentionMs, 5000);
  t.same(session.changelogConfig, windowedChangelogConfig(5000));
  t.same(session.changelogConfig, {
    'cleanup.policy': 'compact,delete',
    'retention.ms': String(5000 + 86_400_000),
  });
  const memory = Stores.session('sess', {
    ...serdes,
    retentionMs: 1,
    persistent: false,
    logging: false,
  });
  t.equal(memory.build().persistent, false);
  t.equal(memory.loggingEnabled, false);
  const twin = Stores.timestampedWindow('twin', { ...serdes, windowSizeMs: 10, retentionMs: 20 });
  t.equal(twin.windowSizeMs, 10);
  t.equal(twin.retentionMs, 20);
  t.same(twin.changelogConfig, windowedChangelogConfig(20));
  t.equal(
    Stores.timestampedWindow('w', {
      ...serdes,
      windowSizeMs: 1,
      retentionMs: 1,
      persistent: false,
    }).build().persistent,
    false,
  );
});

t.test('the new builders reject bad names, serdes and retention', async (t) => {
  for (const retentionMs of [0, -1, 1.5, NaN, undefined, 2 ** 53]) {
    t.throws(
      () => Stores.session('s', { ...serdes, retentionMs: retentionMs as number }),
      { name: 'TopologyError', message: /"s": retentionMs must be an integer ≥ 1/ },
      String(retentionMs),
    );
  }
  t.throws(() => Stores.session('a/b', { ...serdes, retentionMs: 10 }), { name: 'TopologyError' });
  t.throws(() => Stores.timestampedKeyValue('..', serdes), { name: 'TopologyError' });
  t.throws(
    () =>
      Stores.timestampedKeyValue('k', { valueSerde: Serdes.int32() } as unknown as typeof serdes),
    /keySerde is required/,
  );
  t.throws(
    () => Stores.session('k', { keySerde: Serdes.string(), retentionMs: 1 } as never),
    /valueSerde is required/,
  );
  t.throws(
    () => Stores.timestampedWindow('w', { ...serdes, windowSizeMs: 10, retentionMs: 9 }),
    /retentionMs must be an integer ≥ windowSizeMs \(10\)/,
  );
});

t.test('isSessionStore / isTimestamped*Store tell the store kinds apart', async (t) => {
  const window = { ...serdes, windowSizeMs: 10, retentionMs: 10, persistent: false };
  const built = {
    kv: Stores.keyValue('kv', { ...serdes, persistent: false }).build(),
    tkv: Stores.timestampedKeyValue('tkv', { ...serdes, persistent: false }).build(),
    win: Stores.window('win', window).build(),
    twin: Stores.timestampedWindow('twin', window).build(),
    sess: Stores.session('sess', { ...serdes, retentionMs: 1, persistent: false }).build(),
  };
  const kinds = Object.entries(built).map(([name, store]) => [
    name,
    isTimestampedKeyValueStore(store),
    isTimestampedWindowStore(store),
    isSessionStore(store),
  ]);
  t.same(kinds, [
    ['kv', false, false, false],
    ['tkv', true, false, false],
    ['win', false, false, false],
    ['twin', false, true, false],
    ['sess', false, false, true],
  ]);
});

t.test(
  'Stores rejects names that cannot be files or topics, and bad window settings',
  async (t) => {
    for (const name of ['', 'a/b', '..', 'a b', 'ü']) {
      t.throws(
        () => Stores.keyValue(name, serdes),
        { name: 'TopologyError' },
        JSON.stringify(name),
      );
    }
    t.throws(
      () => Stores.window('w', { ...serdes, windowSizeMs: 0, retentionMs: 10 }),
      /windowSizeMs/,
    );
    t.throws(
      () => Stores.window('w', { ...serdes, windowSizeMs: 10, retentionMs: 9 }),
      /retentionMs/,
    );
    t.throws(
      () => Stores.window('w', { ...serdes, windowSizeMs: 1.5, retentionMs: 10 }),
      /windowSizeMs/,
    );
    t.throws(
      () => Stores.keyValue('k', { keySerde: Serdes.string() } as unknown as typeof serdes),
      /valueSerde is required/,
    );
  },
);

t.test('serdes see the changelog topic name', async (t) => {
  const topics: string[] = [];
  const keySerde = Serdes.custom<string>(
    (value, topic) => (topics.push(topic), Buffer.from(value)),
    (data) => data.toString(),
  );
  const store = Stores.keyValue('kv', {
    keySerde,
    valueSerde: Serdes.int32(),
    persistent: false,
  }).build();
  store.init(contextFor(t.testdir()));
  store.put('a', 1);
  t.same(topics, ['app-kv-changelog']);
});

t.test('window changelog keys are key bytes then the start as int64 big-endian', async (t) => {
  const encoded = encodeWindowKey(Buffer.from('k'), 2 ** 40);
  t.same(encoded, Buffer.from('6b0000010000000000', 'hex'));
  t.same(decodeWindowKey(encoded), { key: Buffer.from('k'), windowStart: 2 ** 40 });
  t.same(decodeWindowKey(encodeWindowKey(Buffer.alloc(0), -5)), {
    key: Buffer.alloc(0),
    windowStart: -5,
  });
  t.throws(() => decodeWindowKey(Buffer.alloc(7)), RangeError);
});

t.test(
  'session changelog keys are key bytes, then end, then start, as int64 big-endian',
  async (t) => {
    const encoded = encodeSessionKey(Buffer.from('k'), 5, 2 ** 40);
    t.same(encoded, Buffer.from('6b' + '0000010000000000' + '0000000000000005', 'hex'));
    t.same(decodeSessionKey(encoded), { key: Buffer.from('k'), start: 5, end: 2 ** 40 });
    t.same(decodeSessionKey(encodeSessionKey(Buffer.alloc(0), -5, -1)), {
      key: Buffer.alloc(0),
      start: -5,
      end: -1,
    });
    t.throws(() => decodeSessionKey(Buffer.alloc(15)), {
      name: 'RangeError',
      message: /at least 16 bytes, got 15/,
    });
  },
);

t.test('timestamped values are the timestamp as int64 big-endian, then the value', async (t) => {
  const encoded = encodeTimestampedValue(Buffer.from('v'), 2 ** 40 + 1);
  t.same(encoded, Buffer.from('0000010000000001' + '76', 'hex'));
  t.same(decodeTimestampedValue(encoded), { value: Buffer.from('v'), timestamp: 2 ** 40 + 1 });
  t.same(decodeTimestampedValue(encodeTimestampedValue(Buffer.alloc(0), -2)), {
    value: Buffer.alloc(0),
    timestamp: -2,
  });
  t.throws(() => decodeTimestampedValue(Buffer.alloc(7)), {
    name: 'RangeError',
    message: /at least 8 bytes/,
  });
});

t.test('SortedSet keeps order across chunk splits and removals', async (t) => {
  const set = new SortedSet<number>();
  const values = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 5000);
  t.equal(values.filter((v) => set.add(v)).length, 5000, 'every distinct value is added');
  t.equal(set.add(42), false, 'adding a present value is a no-op');
  t.equal(set.size, 5000);
  t.same(
    [...set.range()],
    [...values].sort((a, b) => a - b),
  );
  for (let v = 0; v < 5000; v += 2) set.delete(v);
  t.equal(set.delete(2), false, 'deleting an absent value is a no-op');
  t.same([...set.range(100, 110)], [101, 103, 105, 107, 109]);
  t.same([...set.range(4990)], [4991, 4993, 4995, 4997, 4999]);
  t.same([...set.range(undefined, 3)], [1, 3]);
  t.same([...set.range(6000)], []);
  t.equal(set.has(101), true);
  t.equal(set.has(100), false);
});

t.test('latin1 strings order exactly as unsigned bytes', async (t) => {
  const buffers = ['00', '7f', '80', 'ff', 'ff00', '0100', '01'].map((h) => Buffer.from(h, 'hex'));
  const byBytes = [...buffers].sort(Buffer.compare).map((b) => b.toString('hex'));
  const byString = [...buffers]
    .map((b) => b.toString('latin1'))
    .sort()
    .map((s) => Buffer.from(s, 'latin1').toString('hex'));
  t.same(byString, byBytes);
});

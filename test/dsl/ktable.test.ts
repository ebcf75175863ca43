// KTable on the TopologyTestDriver: table(), filter, mapValues, toStream, and groupBy
// aggregations that subtract a re-keyed row from its old group.
import t from 'tap';
import { Serdes } from '../../framework/index.ts';
import { StreamsBuilder } from '../../dsl/index.ts';
import { driverFor } from './support.ts';

const S = Serdes.string();

interface User {
  name: string;
  region: string;
  score: number;
}
const users = { keySerde: S, valueSerde: Serdes.json<User>() };

t.test(
  'table() upserts and deletes by key; toStream() emits each update, tombstones as null',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .table('users', { ...users, materialized: { storeName: 'users-store' } })
      .toStream()
      .to('out');
    const { driver } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('users', S, Serdes.json<User>());
    await pipe.pipeInput('u1', { name: 'a', region: 'eu', score: 1 }, 5);
    await pipe.pipeInput('u1', { name: 'a', region: 'us', score: 2 }, 6);
    await pipe.pipeInput('u1', null, 7);
    t.same(driver.createOutputTopic('out', S, Serdes.json<User>()).readValuesToList(), [
      { name: 'a', region: 'eu', score: 1 },
      { name: 'a', region: 'us', score: 2 },
      null,
    ]);
    t.equal(
      driver.getTimestampedKeyValueStore('users-store').get('u1'),
      undefined,
      'the tombstone deleted the row',
    );
  },
);

t.test('KTable filter and mapValues forward deletions when a row stops matching', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .table('users', users)
    .filter((_k, u) => u.score >= 10)
    .mapValues((u, k) => `${k}:${u.name}`)
    .toStream()
    .to('out', { valueSerde: S });
  const { driver } = await driverFor(t, builder.build());
  const pipe = driver.createInputTopic('users', S, Serdes.json<User>());
  await pipe.pipeInput('u1', { name: 'a', region: 'eu', score: 5 }); // never matched: nothing
  await pipe.pipeInput('u1', { name: 'a', region: 'eu', score: 15 });
  await pipe.pipeInput('u1', { name: 'b', region: 'eu', score: 20 });
  await pipe.pipeInput('u1', { name: 'b', region: 'eu', score: 1 }); // stops matching: a deletion
  t.same(driver.createOutputTopic('out', S, S).readValuesToList(), ['u1:a', 'u1:b', null]);
});

t.test('a materialized filter keeps its own store', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .table('users', users)
    .filterNot((_k, u) => u.region === 'eu', undefined, { storeName: 'non-eu' })
    .toStream()
    .to('out');
  const { driver } = await driverFor(t, builder.build());
  const pipe = driver.createInputTopic('users', S, Serdes.json<User>());
  await pipe.pipeInput('u1', { name: 'a', region: 'us', score: 1 });
  await pipe.pipeInput('u2', { name: 'b', region: 'eu', score: 1 });
  const store = driver.getTimestampedKeyValueStore<string, User>('non-eu');
  t.same(store.get('u1')?.value.name, 'a');
  t.equal(store.get('u2'), undefined);
});

t.test(
  'groupBy().aggregate() moves a row between groups: subtract from the old, add to the new',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .table('users', users)
      .groupBy((_k, u) => ({ key: u.region, value: u.score }), {
        keySerde: S,
        valueSerde: Serdes.json<number>(),
      })
      .aggregate(
        () => 0,
        (_region, score, total) => total + score,
        (_region, score, total) => total - score,
        { storeName: 'score-by-region', valueSerde: Serdes.json<number>() },
      )
      .toStream()
      .to('totals');
    const topology = builder.build();
    t.match(topology.describe().toString(), /Sink: score-by-region-repartition-sink/);
    const { driver } = await driverFor(t, topology);
    const pipe = driver.createInputTopic('users', S, Serdes.json<User>());
    await pipe.pipeInput('u1', { name: 'a', region: 'eu', score: 10 });
    await pipe.pipeInput('u2', { name: 'b', region: 'eu', score: 5 });
    await pipe.pipeInput('u1', { name: 'a', region: 'us', score: 10 }); // moves: eu −10, us +10
    await pipe.pipeInput('u2', { name: 'b', region: 'eu', score: 7 }); // same group: one update (KIP-904)
    await pipe.pipeInput('u2', null); // deleted: eu −7
    t.same(driver.createOutputTopic('totals', S, Serdes.json<number>()).readKeyValuesToList(), [
      { key: 'eu', value: 10 },
      { key: 'eu', value: 15 },
      { key: 'eu', value: 5 },
      { key: 'us', value: 10 },
      { key: 'eu', value: 7 },
      { key: 'eu', value: 0 },
    ]);
    const store = driver.getTimestampedKeyValueStore<string, number>('score-by-region');
    t.same([store.get('eu')?.value, store.get('us')?.value], [0, 10]);
  },
);

t.test('groupBy().count() and reduce(adder, subtractor)', async (t) => {
  const builder = new StreamsBuilder();
  const table = builder.table('users', users);
  table
    .groupBy((_k, u) => ({ key: u.region, value: u }), {
      keySerde: S,
      valueSerde: Serdes.json<User>(),
    })
    .count({ storeName: 'users-per-region' })
    .toStream()
    .to('counts');
  table
    .groupBy((_k, u) => ({ key: u.region, value: u.score }), {
      keySerde: S,
      valueSerde: Serdes.json<number>(),
    })
    .reduce(
      (a, b) => a + b,
      (a, b) => a - b,
      { storeName: 'sum-per-region' },
    )
    .toStream()
    .to('sums');
  const { driver } = await driverFor(t, builder.build());
  const pipe = driver.createInputTopic('users', S, Serdes.json<User>());
  await pipe.pipeInput('u1', { name: 'a', region: 'eu', score: 3 });
  await pipe.pipeInput('u2', { name: 'b', region: 'eu', score: 4 });
  await pipe.pipeInput('u1', { name: 'a', region: 'us', score: 3 });
  t.same(driver.createOutputTopic('counts', S, Serdes.long()).readKeyValuesToList(), [
    { key: 'eu', value: 1 },
    { key: 'eu', value: 2 },
    { key: 'eu', value: 1 },
    { key: 'us', value: 1 },
  ]);
  t.same(driver.createOutputTopic('sums', S, Serdes.json<number>()).readKeyValuesToList(), [
    { key: 'eu', value: 3 },
    { key: 'eu', value: 7 },
    { key: 'eu', value: 4 },
    { key: 'us', value: 3 },
  ]);
});

t.test(
  'stream.toTable() after a key change repartitions, then groupBy counts distinct rows',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('clicks', { keySerde: S, valueSerde: S })
      .selectKey((_k, page) => page)
      .toTable({ name: 'latest-click' }, { keySerde: S, valueSerde: S })
      .toStream()
      .to('latest');
    const topology = builder.build();
    t.match(topology.describe().toString(), /Sink: latest-click-repartition-sink/);
    const { driver } = await driverFor(t, topology);
    const pipe = driver.createInputTopic('clicks', S, S);
    await pipe.pipeInput('u1', 'home');
    await pipe.pipeInput('u2', 'home');
    t.same(driver.createOutputTopic('latest', S, S).readKeyValuesToList(), [
      { key: 'home', value: 'home' },
      { key: 'home', value: 'home' },
    ]);
  },
);

t.test(
  'a table exposes a value getter for joins: its store, or its parent through its mapper',
  async (t) => {
    const builder = new StreamsBuilder();
    const table = builder.table('users', users);
    const names = table.mapValues((u) => u.name);
    const getter = names.valueGetterSupplier();
    t.ok(getter, 'a mapped table of a materialized table has a getter');
    t.same(
      getter?.storeNames,
      table.valueGetterSupplier()?.storeNames,
      'it reads the source table’s store',
    );
    t.equal(
      builder.stream('s', { keySerde: S, valueSerde: S }).groupByKey().count().valueGetterSupplier()
        ?.storeNames.length,
      1,
    );
  },
);

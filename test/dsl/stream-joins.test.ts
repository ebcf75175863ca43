// Stream joins on the TopologyTestDriver: KStream–KStream (windows, grace, late records, the
// outer store, repartition after a key change), KStream–KTable and KStream–GlobalKTable.
import t from 'tap';
import { Serdes } from '../../framework/index.ts';
import { JoinWindows, StreamsBuilder, untilWindowCloses, TimeWindows } from '../../dsl/index.ts';
import { driverFor } from './support.ts';

const S = Serdes.string();
const strings = { keySerde: S, valueSerde: S };
const pair = (l: unknown, r: unknown): string => `${String(l)}+${String(r)}`;

t.test('KStream–KStream', async (t) => {
  t.test(
    'a record later than its window end plus grace is dropped: it joins nothing and gets no null result',
    async (t) => {
      const builder = new StreamsBuilder();
      const left = builder.stream('left', strings);
      const right = builder.stream('right', strings);
      const windows = JoinWindows.ofTimeDifference(10_000).grace(2_000);
      left.join(right, pair, windows).to('inner', { valueSerde: S });
      left.leftJoin(right, pair, windows).to('left-out', { valueSerde: S });
      const { driver, log } = await driverFor(t, builder.build());
      const l = driver.createInputTopic('left', S, S);
      const r = driver.createInputTopic('right', S, S);
      await r.pipeInput('k', 'x', 30_000); // stream time 30 s
      await l.pipeInput('k', 'late-left', 5_000); // window [−5, 15] s, + 2 s grace < 30 s
      await r.pipeInput('k', 'late-right', 15_000); // joins left records in [5, 25] s: closed too
      await l.pipeInput('k', 'B', 20_000); // 20 + 10 + 2 ≥ 30: joins x (30 − 20 ≤ 10)
      await r.pipeInput('k', 'bell', 100_000); // closes everything
      t.same(driver.createOutputTopic('inner', S, S).readValuesToList(), ['B+x']);
      t.same(
        driver.createOutputTopic('left-out', S, S).readValuesToList(),
        ['B+x'],
        'no [late-left, null]: a dropped record is never emitted',
      );
      t.equal(
        log.filter((line) => line.includes('dropped a record (late record')).length,
        4,
        'both late records, in both joins, are counted as dropped',
      );
    },
  );

  t.test(
    'an out-of-order record past its window end but within grace waits: a partner arriving within grace still joins it, and it is never emitted with null',
    async (t) => {
      const builder = new StreamsBuilder();
      const left = builder.stream('left', strings);
      const right = builder.stream('right', strings);
      left
        .leftJoin(right, pair, JoinWindows.ofTimeDifference(10_000).grace(5_000))
        .to('out', { valueSerde: S });
      const { driver } = await driverFor(t, builder.build());
      const l = driver.createInputTopic('left', S, S);
      const r = driver.createInputTopic('right', S, S);
      const out = driver.createOutputTopic('out', S, S);
      await r.pipeInput('k', 'r1', 100_000);
      await l.pipeInput('k', 'L', 88_000); // window [78, 98] s ended, grace until 103 s
      t.same(out.readValuesToList(), [], 'not emitted with null yet');
      await r.pipeInput('k', 'r2', 97_000); // within grace, in L's window
      t.same(out.readValuesToList(), ['L+r2']);
      await l.pipeInput('k', 'L2', 89_000); // no partner in [79, 99] s but r2 at 97 s
      t.same(out.readValuesToList(), ['L2+r2']);
      await l.pipeInput('k', 'L3', 90_000); // [80, 100] s: r2 and r1 (the window end is inclusive)
      t.same(out.readValuesToList(), ['L3+r2', 'L3+r1'], 'partners in timestamp order');
      await l.pipeInput('other', 'alone', 95_000); // another key: no partner; waits until 110 s
      await r.pipeInput('k', 'r3', 110_000);
      t.same(out.readValuesToList(), [], 'at 110 s its window (end 105 s + 5 s) is still open');
      await r.pipeInput('k', 'r4', 111_000);
      t.same(out.readKeyValuesToList(), [{ key: 'other', value: 'alone+null' }]);
    },
  );

  t.test(
    'before(0).after(5 s): a left record joins right records from its time to 5 s later only; results carry the later time',
    async (t) => {
      const builder = new StreamsBuilder();
      const left = builder.stream('left', strings);
      const right = builder.stream('right', strings);
      left
        .join(right, pair, JoinWindows.ofTimeDifference(0).after(5_000).grace(60_000))
        .to('out', { valueSerde: S });
      const { driver } = await driverFor(t, builder.build());
      const l = driver.createInputTopic('left', S, S);
      const r = driver.createInputTopic('right', S, S);
      await l.pipeInput('k', 'L', 10_000);
      await r.pipeInput('k', 'early', 9_999);
      await r.pipeInput('k', 'same', 10_000);
      await r.pipeInput('k', 'edge', 15_000);
      await r.pipeInput('k', 'after', 15_001);
      t.same(
        driver
          .createOutputTopic('out', S, S)
          .readRecordsToList()
          .map((rec) => [rec.value, rec.timestamp]),
        [
          ['L+same', 10_000],
          ['L+edge', 15_000],
        ],
      );
    },
  );

  t.test(
    'null keys: a left join passes a null-key record on at once with a null partner (KIP-962); an inner join drops it',
    async (t) => {
      const builder = new StreamsBuilder();
      const left = builder.stream('left', strings);
      const right = builder.stream('right', strings);
      const windows = JoinWindows.ofTimeDifference(1_000);
      left.join(right, pair, windows).to('inner', { valueSerde: S });
      left.leftJoin(right, pair, windows).to('left-out', { valueSerde: S });
      const { driver } = await driverFor(t, builder.build());
      await driver.createInputTopic('left', S, S).pipeInput(null, 'N', 5);
      t.same(driver.createOutputTopic('inner', S, S).readValuesToList(), []);
      t.same(driver.createOutputTopic('left-out', S, S).readKeyValuesToList(), [
        { key: null, value: 'N+null' },
      ]);
    },
  );

  t.test(
    'a stream whose key changed is repartitioned first, and StreamJoined names the processors, stores and topic',
    async (t) => {
      const builder = new StreamsBuilder();
      const payments = builder.stream('payments', strings);
      const orders = builder.stream('orders', strings);
      payments
        .selectKey((_k, v) => v.split(':')[0]!) // "order:amount" → keyed by order
        .outerJoin(orders, pair, JoinWindows.ofTimeDifference(600_000), {
          name: 'pay',
          storeName: 'pay-store',
          keySerde: S,
          valueSerde: S,
        })
        .to('out', { valueSerde: S });
      const topology = builder.build();
      const description = topology.describe().toString();
      t.match(description, /Sink: pay-left-repartition-sink \(topic: pay-left-repartition\)/);
      t.match(
        description,
        /Processor: pay-outer-this-join \(stores: \[pay-store-outer-this-join-store, pay-store-outer-other-join-store, pay-store-outer-shared-join-store\]\)/,
      );
      t.match(
        description,
        /Processor: pay-outer-other-join \(stores: \[pay-store-outer-other-join-store, pay-store-outer-shared-join-store, pay-store-outer-this-join-store\]\)/,
      );
      t.match(description, /Processor: pay-merge/);
      const { driver } = await driverFor(t, topology);
      await driver.createInputTopic('payments', S, S).pipeInput('p1', 'o1:30', 1_000);
      await driver.createInputTopic('orders', S, S).pipeInput('o1', 'shoes', 2_000);
      t.same(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [
        { key: 'o1', value: 'o1:30+shoes' },
      ]);
    },
  );

  t.test('serdes the stores need are asked for by name', async (t) => {
    const builder = new StreamsBuilder();
    const left = builder.stream('left', strings).mapValues((v) => v.length);
    const right = builder.stream('right', strings);
    t.throws(() => left.join(right, pair, JoinWindows.ofTimeDifference(1)), {
      name: 'TopologyError',
      message:
        /join\(stream, windows\): no valueSerde is known here .* pass valueSerde in StreamJoined/,
    });
    t.throws(
      () =>
        left.join(right, pair, TimeWindows.ofSize(5) as unknown as JoinWindows, {
          valueSerde: Serdes.int32(),
        }),
      /the third argument must be JoinWindows/,
    );
  });
});

t.test('KStream–KTable', async (t) => {
  t.test(
    'a record meets the current row; table updates emit nothing; after a key change the stream is repartitioned with the table key serde',
    async (t) => {
      interface Order {
        customer: string;
        total: number;
      }
      const builder = new StreamsBuilder();
      const customers = builder.table('customers', strings);
      const orders = builder.stream('orders', { keySerde: S, valueSerde: Serdes.json<Order>() });
      orders
        .selectKey((_id, order) => order.customer)
        .join(customers, (order, name) => `${name} paid ${order.total}`)
        .to('enriched', { valueSerde: S });
      orders
        .selectKey((_id, order) => order.customer)
        .leftJoin(customers, (order, name) => `${name ?? '?'} paid ${order.total}`, { name: 'lj' })
        .to('enriched-left', { valueSerde: S });
      const topology = builder.build();
      t.match(
        topology.describe().toString(),
        /Sink: lj-left-repartition-sink \(topic: lj-left-repartition\)/,
        'the Joined name names the repartition topic',
      );
      const { driver } = await driverFor(t, topology);
      const c = driver.createInputTopic('customers', S, S);
      const o = driver.createInputTopic('orders', S, Serdes.json<Order>());
      await o.pipeInput('o1', { customer: 'c1', total: 5 }, 1);
      await c.pipeInput('c1', 'Ann', 2);
      await o.pipeInput('o2', { customer: 'c1', total: 7 }, 3);
      await c.pipeInput('c1', 'Annie', 4);
      await c.pipeInput('c1', null, 5);
      await o.pipeInput('o3', { customer: 'c1', total: 9 }, 6);
      t.same(driver.createOutputTopic('enriched', S, S).readKeyValuesToList(), [
        { key: 'c1', value: 'Ann paid 7' },
      ]);
      t.same(driver.createOutputTopic('enriched-left', S, S).readValuesToList(), [
        '? paid 5',
        'Ann paid 7',
        '? paid 9',
      ]);
    },
  );

  t.test('a suppressed table cannot be looked up, and says so', async (t) => {
    const builder = new StreamsBuilder();
    const suppressed = builder
      .stream('in', strings)
      .groupByKey()
      .windowedBy(TimeWindows.ofSize(10))
      .count()
      .suppress(untilWindowCloses);
    const stream = builder.stream('other', {
      keySerde: suppressed.state.serdes.keySerde!,
      valueSerde: S,
    });
    t.throws(
      () => stream.join(suppressed, pair),
      /join\(table\): the table cannot be looked up by key/,
    );
  });
});

t.test('KStream–GlobalKTable', async (t) => {
  t.test(
    'records are looked up by the selected key, keep their own key, and need no repartition; later rows are seen by later records',
    async (t) => {
      const builder = new StreamsBuilder();
      const products = builder.globalTable('products', {
        ...strings,
        materialized: { storeName: 'products', storeKind: 'memory' },
      });
      const lines = builder.stream('lines', strings); // key: order, value: product id
      lines.join(products, (_order, product) => product, pair).to('inner', { valueSerde: S });
      lines
        .leftJoin(products, (_order, product) => product, pair, { name: 'lookup' })
        .to('left-out', { valueSerde: S });
      const topology = builder.build();
      t.notMatch(topology.describe().toString(), /repartition/);
      t.match(topology.describe().toString(), /for global store \(will not generate tasks\)/);
      const { driver } = await driverFor(t, topology);
      const p = driver.createInputTopic('products', S, S);
      const l = driver.createInputTopic('lines', S, S);
      await l.pipeInput('o1', 'sku-1');
      await p.pipeInput('sku-1', 'shoes');
      await l.pipeInput('o2', 'sku-1');
      await p.pipeInput('sku-1', null);
      await l.pipeInput('o3', 'sku-1');
      t.same(driver.createOutputTopic('inner', S, S).readKeyValuesToList(), [
        { key: 'o2', value: 'sku-1+shoes' },
      ]);
      t.same(driver.createOutputTopic('left-out', S, S).readKeyValuesToList(), [
        { key: 'o1', value: 'sku-1+null' },
        { key: 'o2', value: 'sku-1+shoes' },
        { key: 'o3', value: 'sku-1+null' },
      ]);
      t.equal(driver.getTimestampedKeyValueStore('products').get('sku-1'), undefined);
    },
  );

  t.test('a global table topic is read once, and its store has no changelog', async (t) => {
    const builder = new StreamsBuilder();
    builder.globalTable('g', strings);
    t.throws(() => builder.stream('g', strings), /topic "g" is already read/);
    t.throws(() => builder.globalTable('g', strings), /topic "g" is already read/);
    builder.stream('in', strings).to('out');
    const built = builder.build().build('app');
    t.equal(built.globalStores[0]?.builder.loggingEnabled, false);
    t.throws(
      () =>
        builder.globalTable('h', {
          ...strings,
          offsetReset: 'latest',
        } as unknown as Parameters<typeof builder.globalTable>[1]),
      /always read from the start of its topic; offsetReset does not apply/,
    );
  });
});

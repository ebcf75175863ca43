// Foreign-key KTable–KTable join (KIP-213) on the TopologyTestDriver: a row's foreign key
// changing, left-row deletes and right-row deletes, beyond docs/dsl.md's semantics table.
import t, { type Test } from 'tap';
import { Serdes } from '../../framework/index.ts';
import { StreamsBuilder } from '../../dsl/index.ts';
import { driverFor } from './support.ts';

const S = Serdes.string();

interface Order {
  product: string | null;
  qty: number;
}

async function setup(t: Test) {
  const builder = new StreamsBuilder();
  const orders = builder.table('orders', { keySerde: S, valueSerde: Serdes.json<Order>() });
  const products = builder.table('products', { keySerde: S, valueSerde: S });
  const joiner = (o: Order, name: string | null) => `${o.qty}x${String(name)}`;
  orders
    .join(products, (o) => o.product, joiner, { name: 'fk-inner' }, { valueSerde: S })
    .toStream()
    .to('inner', { valueSerde: S });
  orders
    .leftJoin(products, (o) => o.product, joiner, { name: 'fk-left' }, { valueSerde: S })
    .toStream()
    .to('left-out', { valueSerde: S });
  const { driver } = await driverFor(t, builder.build());
  const o = driver.createInputTopic('orders', S, Serdes.json<Order>());
  const p = driver.createInputTopic('products', S, S);
  const inner = driver.createOutputTopic('inner', S, S);
  const left = driver.createOutputTopic('left-out', S, S);
  const read = () => ({ inner: inner.readKeyValuesToList(), left: left.readKeyValuesToList() });
  return { driver, o, p, read };
}
t.test('a foreign key change moves the row: the old product no longer updates it', async (t) => {
  const { o, p, read } = await setup(t);
  await p.pipeInput('p1', 'shoes', 1);
  await p.pipeInput('p2', 'socks', 2);
  await o.pipeInput('o1', { product: 'p1', qty: 2 }, 3);
  t.same(read(), {
    inner: [{ key: 'o1', value: '2xshoes' }],
    left: [{ key: 'o1', value: '2xshoes' }],
  });
  await o.pipeInput('o1', { product: 'p2', qty: 2 }, 4);
  t.same(read(), {
    inner: [{ key: 'o1', value: '2xsocks' }],
    left: [{ key: 'o1', value: '2xsocks' }],
  });
  await p.pipeInput('p1', 'boots', 5);
  t.same(read(), { inner: [], left: [] }, 'o1 was unsubscribed from p1');
  await p.pipeInput('p2', 'tights', 6);
  t.same(read(), {
    inner: [{ key: 'o1', value: '2xtights' }],
    left: [{ key: 'o1', value: '2xtights' }],
  });
  await o.pipeInput('o1', { product: 'p9', qty: 2 }, 7);
  t.same(
    read(),
    { inner: [{ key: 'o1', value: null }], left: [{ key: 'o1', value: '2xnull' }] },
    'a key with no product: the inner join deletes the row, the left join keeps it with null',
  );
});

t.test('deletes: of the left row, and of the right row', async (t) => {
  const { o, p, read } = await setup(t);
  await p.pipeInput('p1', 'shoes', 1);
  await o.pipeInput('o1', { product: 'p1', qty: 1 }, 2);
  await o.pipeInput('o2', { product: 'p1', qty: 3 }, 3);
  read();
  await p.pipeInput('p1', null, 4);
  t.same(
    read(),
    {
      inner: [
        { key: 'o1', value: null },
        { key: 'o2', value: null },
      ],
      left: [
        { key: 'o1', value: '1xnull' },
        { key: 'o2', value: '3xnull' },
      ],
    },
    'a deleted product deletes its inner rows and nulls its left rows',
  );
  await p.pipeInput('p1', 'shoes', 5);
  read();
  await o.pipeInput('o1', null, 6);
  t.same(read(), {
    inner: [{ key: 'o1', value: null }],
    left: [{ key: 'o1', value: null }],
  });
  await p.pipeInput('p1', 'boots', 7);
  t.same(
    read(),
    { inner: [{ key: 'o2', value: '3xboots' }], left: [{ key: 'o2', value: '3xboots' }] },
    'the deleted order is no longer subscribed',
  );
});

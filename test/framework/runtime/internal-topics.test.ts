// Partition counts of repartition topics: declared, from the writers' sources, or — when read
// together with other topics, as a join after a key change reads them — co-partitioned with those.
import t from 'tap';
import { Serdes } from '../../../framework/serdes.ts';
import { Topology } from '../../../framework/topology.ts';
import type { Processor } from '../../../framework/processor.ts';
import { repartitionPartitionCounts } from '../../../framework/runtime/internal-topics.ts';

const serdes = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
const pass = (): Processor => ({ process() {} });

t.test(
  'a repartition topic read alone takes the largest count of its writers’ sources',
  async (t) => {
    const topology = new Topology()
      .addRepartitionTopic('r')
      .addSource('a', { topics: ['a'], ...serdes })
      .addSink('to-r', { topic: 'r', ...serdes }, 'a')
      .addSource('from-r', { topics: ['r'], ...serdes })
      .addProcessor('p', pass, 'from-r')
      .build('app');
    t.same(
      [...repartitionPartitionCounts(topology, new Map([['a', 4]]))],
      [['app-r-repartition', 4]],
    );
  },
);

t.test(
  'a repartition topic read together with a user topic takes that topic’s count (a stream–table join after a key change)',
  async (t) => {
    const topology = new Topology()
      .addRepartitionTopic('left')
      .addSource('orders', { topics: ['orders'], ...serdes })
      .addSink('to-left', { topic: 'left', ...serdes }, 'orders')
      .addSource('from-left', { topics: ['left'], ...serdes })
      .addSource('customers', { topics: ['customers'], ...serdes })
      .addProcessor('join', pass, 'from-left', 'customers')
      .build('app');
    const counts = repartitionPartitionCounts(
      topology,
      new Map([
        ['orders', 6],
        ['customers', 3],
      ]),
    );
    t.equal(counts.get('app-left-repartition'), 3, 'co-partitioned with customers, not 6');
  },
);

t.test('repartition topics read only together take the largest of their counts', async (t) => {
  const topology = new Topology()
    .addRepartitionTopic('l')
    .addRepartitionTopic('r')
    .addSource('a', { topics: ['a'], ...serdes })
    .addSink('to-l', { topic: 'l', ...serdes }, 'a')
    .addSource('b', { topics: ['b'], ...serdes })
    .addSink('to-r', { topic: 'r', ...serdes }, 'b')
    .addSource('from-l', { topics: ['l'], ...serdes })
    .addSource('from-r', { topics: ['r'], ...serdes })
    .addProcessor('join', pass, 'from-l', 'from-r')
    .build('app');
  const counts = repartitionPartitionCounts(
    topology,
    new Map([
      ['a', 2],
      ['b', 5],
    ]),
  );
  t.same(
    [counts.get('app-l-repartition'), counts.get('app-r-repartition')],
    [5, 5],
    'both 5: one task per partition of both',
  );
});

t.test('a declared count wins', async (t) => {
  const topology = new Topology()
    .addRepartitionTopic('r', { partitions: 7 })
    .addSource('a', { topics: ['a'], ...serdes })
    .addSink('to-r', { topic: 'r', ...serdes }, 'a')
    .addSource('from-r', { topics: ['r'], ...serdes })
    .addSource('b', { topics: ['b'], ...serdes })
    .addProcessor('p', pass, 'from-r', 'b')
    .build('app');
  t.equal(
    repartitionPartitionCounts(
      topology,
      new Map([
        ['a', 4],
        ['b', 3],
      ]),
    ).get('app-r-repartition'),
    7,
    'declared (the co-partitioning check then names the mismatch)',
  );
});

// kafkajs's quadratic per-partition grouping is replaced before kafkajs loads
// (framework/client/kafkajs/linear-grouping.ts), with the same output.
import t from 'tap';
import { createRequire } from 'node:module';
import '../../../../framework/client/kafkajs/index.ts';

const require = createRequire(import.meta.url);

t.test(
  'the backend puts a linear grouping in kafkajs’s place, grouping as kafkajs does',
  async (t) => {
    type Group = (args: {
      topic: string;
      partitionMetadata: unknown[];
      messages: { partition: number; value: string }[];
      partitioner: (a: { message: { partition: number } }) => number;
    }) => Record<number, { value: string }[]>;
    const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as Group;
    t.equal(group.name, 'groupMessagesPerPartition');
    t.notMatch(group.toString(), /\.\.\.current/, 'not kafkajs’s copy-per-message version');
    const messages = [0, 1, 0, 2, 1, 0].map((partition, i) => ({ partition, value: `m${i}` }));
    const result = group({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    t.same(
      Object.fromEntries(Object.entries(result).map(([p, ms]) => [p, ms.map((m) => m.value)])),
      { 0: ['m0', 'm2', 'm5'], 1: ['m1', 'm4'], 2: ['m3'] },
    );
    t.same(group({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 }), {});
  },
);

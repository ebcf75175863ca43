// The runtime's copy of Kafka's default partitioner (framework/runtime/partitioner.ts), which
// metadataForKey uses, agrees with the one the kafkajs backend partitions sends with.
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import t from 'tap';
import { defaultPartition, murmur2 } from '../../../../framework/runtime/partitioner.ts';

const partitioner = kafkajs.Partitioners.DefaultPartitioner();

t.test(
  'the same partition as kafkajs (Java-compatible murmur2) for keys of every length',
  async (t) => {
    let checked = 0;
    for (let length = 0; length <= 40; length++) {
      for (let i = 0; i < 25; i++) {
        const key = randomBytes(length);
        for (const partitions of [1, 3, 6, 7, 32]) {
          const theirs = partitioner({
            topic: 't',
            partitionMetadata: Array.from({ length: partitions }, (_, p) => ({
              partitionId: p,
              leader: 0,
              replicas: [0],
              isr: [0],
              partitionErrorCode: 0,
            })),
            message: { key, value: null },
          });
          if (defaultPartition(key, partitions) !== theirs)
            t.fail(`key ${key.toString('hex')}, ${partitions} partitions`);
          checked++;
        }
      }
    }
    t.pass(`${checked} keys agree`);
  },
);

t.test('murmur2 matches the Java client’s known values', async (t) => {
  // From Kafka's UtilsTest.testMurmur2.
  const cases: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ];
  for (const [s, hash] of cases) t.equal(murmur2(Buffer.from(s)), hash, s);
  t.equal(murmur2(Buffer.from([])), 275646681, 'empty');
});

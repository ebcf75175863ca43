// The adapter sends one kafkajs request per partition (framework/client/kafkajs/partitioned-send.ts).
import t from 'tap';
import kafkajs from 'kafkajs';
import type { PartitionerArgs, RecordMetadata } from 'kafkajs';
import {
  PartitionCounts,
  PartitionedSender,
  type KafkaMessage,
} from '../../../../framework/client/kafkajs/partitioned-send.ts';

const metadataOf = (count: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: partitionId % 3,
    replicas: [0, 1, 2],
    isr: [0, 1, 2],
    offlineReplicas: [],
  }));

/** A sendOne that records its calls and answers one metadata entry per partition. */
function recorder(): {
  calls: KafkaMessage[][];
  sendOne: (messages: KafkaMessage[]) => Promise<RecordMetadata[]>;
} {
  const calls: KafkaMessage[][] = [];
  return {
    calls,
    sendOne: async (messages) => {
      calls.push(messages);
      return [
        {
          topicName: 'orders',
          partition: messages[0]!.partition!,
          errorCode: 0,
          baseOffset: String(calls.length * 100),
        },
      ];
    },
  };
}

t.test(
  'keyed records go where kafkajs would put them, one send per partition, order kept',
  async (t) => {
    const sender = new PartitionedSender(async () => 6);
    const kafkajsPartitioner = kafkajs.Partitioners.DefaultPartitioner();
    const messages: KafkaMessage[] = Array.from({ length: 200 }, (_, i) => ({
      key: `key-${i % 37}`,
      value: String(i),
    }));
    const { calls, sendOne } = recorder();
    const metadata = await sender.send('orders', messages, sendOne);

    t.equal(calls.length, 6, 'one send per partition');
    t.equal(metadata.length, 6, 'metadata of every partition');
    for (const call of calls) {
      const partitions = new Set(call.map((m) => m.partition));
      t.equal(partitions.size, 1, 'a send holds a single partition');
      for (const m of call) {
        const expected = kafkajsPartitioner({
          topic: 'orders',
          partitionMetadata: metadataOf(6),
          message: { key: m.key ?? null, value: m.value },
        });
        if (m.partition !== expected)
          t.fail(`key ${String(m.key)} went to ${m.partition}, kafkajs says ${expected}`);
      }
      const values = call.map((m) => Number(m.value));
      t.same(
        values,
        [...values].sort((a, b) => a - b),
        'order within the partition kept',
      );
    }
    t.equal(
      calls.reduce((n, c) => n + c.length, 0),
      200,
      'every record sent once',
    );
  },
);

t.test('explicit partitions are kept; keyless records of one send share a partition', async (t) => {
  let lookups = 0;
  const sender = new PartitionedSender(async () => {
    lookups++;
    return 4;
  });
  const { calls, sendOne } = recorder();
  await sender.send(
    'orders',
    [
      { value: 'a', partition: 3 },
      { value: 'b', partition: 3 },
    ],
    sendOne,
  );
  t.same(calls, [
    [
      { value: 'a', partition: 3 },
      { value: 'b', partition: 3 },
    ],
  ]);
  t.equal(lookups, 0, 'no partition count needed when every record names its partition');

  const used: number[] = [];
  for (let i = 0; i < 4; i++) {
    calls.length = 0;
    await sender.send(
      'orders',
      [{ value: 'x' }, { value: 'y', key: null }, { value: 'z' }],
      sendOne,
    );
    t.equal(calls.length, 1, 'keyless records of one send: one partition (sticky)');
    used.push(calls[0]![0]!.partition!);
  }
  t.same([...new Set(used)].sort(), [0, 1, 2, 3], 'successive sends rotate over the partitions');
});

t.test(
  'partitions are sent concurrently; a failure is reported after every send settled',
  async (t) => {
    const sender = new PartitionedSender(async () => 3);
    const started: number[] = [];
    const release: (() => void)[] = [];
    let settled = 0;
    const sending = sender.send(
      'orders',
      [
        { value: '0', partition: 0 },
        { value: '1', partition: 1 },
        { value: '2', partition: 2 },
      ],
      (messages) => {
        const partition = messages[0]!.partition!;
        started.push(partition);
        return new Promise<RecordMetadata[]>((resolve, reject) => {
          release.push(() => {
            settled++;
            if (partition === 1) reject(new Error('partition 1 failed'));
            else resolve([{ topicName: 'orders', partition, errorCode: 0 }]);
          });
        });
      },
    );
    let rejected: unknown;
    const outcome = sending.catch((e: unknown) => (rejected = e));
    await new Promise((resolve) => setImmediate(resolve));
    t.same(started.sort(), [0, 1, 2], 'all three partitions in flight at once');
    release[1]!(); // partition 1 fails first
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(rejected, undefined, 'not rejected while other partitions are still being sent');
    release[0]!();
    release[2]!();
    await outcome;
    t.equal(settled, 3);
    t.match(rejected, { message: 'partition 1 failed' });
  },
);

t.test(
  'partition counts are cached, re-read after their max age, and failures not kept',
  async (t) => {
    let now = 0;
    let fetches = 0;
    let fail = true;
    const counts = new PartitionCounts(
      async () => {
        fetches++;
        if (fail) throw new Error('no leader');
        return 6;
      },
      1000,
      () => now,
    );
    await t.rejects(counts.get('orders'), { message: 'no leader' });
    fail = false;
    t.equal(await counts.get('orders'), 6, 'a failed lookup is asked again');
    t.equal(await counts.get('orders'), 6);
    t.equal(fetches, 2, 'cached');
    now = 1500;
    t.equal(await counts.get('orders'), 6);
    t.equal(fetches, 3, 're-read after the max age');
  },
);

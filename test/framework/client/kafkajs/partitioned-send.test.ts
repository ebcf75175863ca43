// The adapter's sends grouped by partition (framework/client/kafkajs/partitioned-send.ts): one
// kafkajs send per partition, or all partitions in one send tried once.
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

t.test(
  'sendTogether: every partition in one send per round, tried once when it holds several',
  async (t) => {
    const sender = new PartitionedSender(async () => 3);
    const rounds: { partitions: number[]; once: boolean }[] = [];
    let inOnce = false;
    const once = async <T>(send: () => Promise<T>): Promise<T> => {
      inOnce = true;
      try {
        return await send();
      } finally {
        inOnce = false;
      }
    };
    let base = 0;
    const sendMany = async (messages: KafkaMessage[]): Promise<RecordMetadata[]> => {
      const partitions = [...new Set(messages.map((m) => m.partition!))];
      rounds.push({ partitions, once: inOnce });
      base += 100;
      return partitions.map((partition) => ({
        topicName: 'orders',
        partition,
        errorCode: 0,
        baseOffset: String(base + partition * 10),
      }));
    };
    // Partition 2 holds more than one batch's bytes: it needs a second round.
    const big = 'x'.repeat(200 * 1024);
    const messages: KafkaMessage[] = [
      { value: 'a0', partition: 0 },
      { value: 'b0', partition: 1 },
      ...Array.from({ length: 6 }, (_, i) => ({ value: `${big}${i}`, partition: 2 })),
      { value: 'a1', partition: 0 },
    ];
    const metadata = await sender.sendTogether('orders', messages, sendMany, once);
    t.same(rounds, [
      { partitions: [0, 1, 2], once: true },
      { partitions: [2], once: false },
    ]);
    const byPartition = new Map(metadata.map((m) => [m.partition, m]));
    t.same([...byPartition.keys()].sort(), [0, 1, 2], 'metadata of every partition, once each');
    t.equal(byPartition.get(0)!.baseOffset, '100', "the first batch's offset");
    t.equal(byPartition.get(0)!.nextOffset, 102n, 'after both records of partition 0');
    t.equal(byPartition.get(2)!.baseOffset, '120', 'partition 2 starts at its first batch');
    const secondRound = 200 + 20; // the second round's batch of partition 2
    const inSecond = 6 - Math.floor((768 * 1024) / (200 * 1024 + 24));
    t.equal(
      byPartition.get(2)!.nextOffset,
      BigInt(secondRound + inSecond),
      'and ends after its last',
    );
  },
);

t.test('sendTogether: a failure rejects the send, and no later round is sent', async (t) => {
  const sender = new PartitionedSender(async () => 2);
  let calls = 0;
  const big = 'x'.repeat(500 * 1024);
  await t.rejects(
    sender.sendTogether(
      'orders',
      [
        { value: big, partition: 0 },
        { value: big, partition: 0 },
        { value: 'b', partition: 1 },
      ],
      async () => {
        calls++;
        throw new Error('refused');
      },
      (send) => send(),
    ),
    { message: 'refused' },
  );
  t.equal(calls, 1, 'the second round of partition 0 was not sent after the first failed');
});

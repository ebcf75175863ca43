/**
 * Reading a topic back for the verifier, Kafka's EOS system test way: first
 * wait until every transaction on it has finished (per partition the
 * read_committed end — the last stable offset — equals the read_uncommitted
 * end, the high watermark), then read each partition from its start to that
 * end, once read_committed and once read_uncommitted. Nothing written before
 * the call (a duplicate, an aborted record) can be missed.
 */
import type { ConsumedRecord, IsolationLevel, KafkaClient } from '../../framework/client/index.ts';
import { waitFor } from '../../testkit/index.ts';
import type { ChaosRecord, TopicRead } from '../verifier.ts';

export async function transactionsFinished(
  client: KafkaClient,
  topic: string,
  timeoutMs: number,
): Promise<Map<number, bigint>> {
  return waitFor(
    async () => {
      try {
        const stable = await client.admin.endOffsets(topic, 'read_committed');
        const high = await client.admin.endOffsets(topic, 'read_uncommitted');
        return [...high].every(([p, h]) => stable.get(p) === h) ? high : false;
      } catch {
        return false; // a leader moving: ask again
      }
    },
    { timeoutMs, intervalMs: 250, what: `every transaction on ${topic} to finish` },
  );
}

export async function readTopic(
  client: KafkaClient,
  topic: string,
  options: { timeoutMs: number; uncommitted: boolean },
): Promise<TopicRead> {
  const ends = await transactionsFinished(client, topic, options.timeoutMs);
  const read = async (isolation: IsolationLevel): Promise<ChaosRecord[]> => {
    const records: ChaosRecord[] = [];
    for (const [partition, end] of [...ends].sort((a, b) => a[0] - b[0])) {
      if (end === 0n) continue;
      for await (const batch of client.readPartition(topic, partition, 0n, end, {
        isolation,
        timeoutMs: options.timeoutMs,
      })) {
        for (const r of batch) records.push(toChaosRecord(r));
      }
    }
    return records;
  };
  const committed = await read('read_committed');
  const uncommitted = options.uncommitted ? await read('read_uncommitted') : committed;
  return { topic, committed, uncommitted };
}

function toChaosRecord(r: ConsumedRecord): ChaosRecord {
  return {
    partition: r.partition,
    offset: r.offset.toString(),
    key: r.key === null ? null : r.key.toString(),
    value: r.value === null ? null : r.value.toString(),
  };
}

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

/** Fetches of 8 MiB: a long soak's topics hold millions of records. */
const FETCH_BYTES = 8 * 1_048_576;

export async function readTopic(
  client: KafkaClient,
  topic: string,
  options: { timeoutMs: number; uncommitted: boolean },
): Promise<TopicRead> {
  const ends = [...(await transactionsFinished(client, topic, options.timeoutMs))]
    .filter(([, end]) => end > 0n)
    .sort((a, b) => a[0] - b[0]);
  // One read per partition, side by side (the brokers serve them in parallel);
  // the deadline grows with the partition, 1 s per 10 000 records on top.
  const readAll = (
    isolation: IsolationLevel,
    toRecord: (r: ConsumedRecord, partitionIndex: number) => ChaosRecord,
  ): Promise<ChaosRecord[][]> =>
    Promise.all(
      ends.map(async ([partition, end], index) => {
        const records: ChaosRecord[] = [];
        for await (const batch of client.readPartition(topic, partition, 0n, end, {
          isolation,
          timeoutMs: options.timeoutMs + Number(end / 10n),
          maxBytes: FETCH_BYTES,
        })) {
          for (const r of batch) records.push(toRecord(r, index));
        }
        return records;
      }),
    );
  const keys = new Map<string, string>();
  const committedParts = await readAll('read_committed', (r) => toChaosRecord(r, keys));
  let uncommittedParts = committedParts;
  if (options.uncommitted) {
    // Both reads are in offset order: a record also read committed is that same
    // object, so only aborted records cost memory twice.
    const cursors = committedParts.map(() => 0);
    uncommittedParts = await readAll('read_uncommitted', (r, index) => {
      const part = committedParts[index]!;
      let i = cursors[index]!;
      while (i < part.length && BigInt(part[i]!.offset) < r.offset) i++;
      cursors[index] = i;
      const same = part[i];
      return same !== undefined && same.offset === r.offset.toString()
        ? same
        : toChaosRecord(r, keys);
    });
  }
  return { topic, committed: committedParts.flat(), uncommitted: uncommittedParts.flat() };
}

/** Keys repeat (a workload has few): one string per distinct key. */
function toChaosRecord(r: ConsumedRecord, keys: Map<string, string>): ChaosRecord {
  let key: string | null = null;
  if (r.key !== null) {
    const k = r.key.toString();
    key = keys.get(k) ?? (keys.size < 100_000 ? (keys.set(k, k), k) : k);
  }
  return {
    partition: r.partition,
    offset: r.offset.toString(),
    key,
    value: r.value === null ? null : r.value.toString(),
  };
}

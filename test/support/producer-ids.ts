// Who wrote what, from the brokers' own logs: producer ids of record batches, and the producer
// id each transactional id holds (decoded from __transaction_state), so a test can show that
// only the app's tasks' transactional producers wrote a topic.
import type { KafkaClient } from '../../framework/client/index.ts';

/** Records per batch producer id in a topic, aborted ones included (read_uncommitted). */
export async function producerIdsOf(
  kafka: KafkaClient,
  topic: string,
): Promise<Map<bigint, number>> {
  const out = new Map<bigint, number>();
  const ends = await kafka.admin.endOffsets(topic, 'read_uncommitted');
  for (const [partition, end] of ends) {
    if (end === 0n) continue;
    for await (const batch of kafka.readPartition(topic, partition, 0n, end, {
      isolation: 'read_uncommitted',
      timeoutMs: 120_000,
    }))
      for (const r of batch) {
        if (r.producerId === undefined) throw new Error('the client reports no producer ids');
        out.set(r.producerId, (out.get(r.producerId) ?? 0) + 1);
      }
  }
  return out;
}

/**
 * Transactional id → producer id, as the transaction coordinators logged them: the key of a
 * __transaction_state record is (int16 version, string transactionalId), its value starts
 * with (int16 version, int64 producerId) (TransactionLogKey / TransactionLogValue).
 */
export async function transactionalProducerIds(kafka: KafkaClient): Promise<Map<string, bigint>> {
  const topic = '__transaction_state';
  const out = new Map<string, bigint>();
  const ends = await kafka.admin.endOffsets(topic, 'read_uncommitted');
  const starts = await kafka.admin.beginningOffsets(topic);
  for (const [partition, end] of ends) {
    const from = starts.get(partition) ?? 0n;
    if (end <= from) continue;
    for await (const batch of kafka.readPartition(topic, partition, from, end, {
      isolation: 'read_uncommitted',
      timeoutMs: 60_000,
    }))
      for (const r of batch) {
        if (r.key === null || r.value === null || r.key.length < 4) continue;
        const length = r.key.readInt16BE(2);
        const id = r.key.subarray(4, 4 + length).toString('utf8');
        out.set(id, r.value.readBigInt64BE(2));
      }
  }
  return out;
}

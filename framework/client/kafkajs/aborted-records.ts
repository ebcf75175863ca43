/**
 * Which fetched records belong to aborted transactions, decided the way the
 * Java consumer does (CompletedFetch: aborted transactions in a queue ordered
 * by first offset, a set of producers currently aborting).
 *
 * kafkajs 2.2.4's own filter (consumer/filterAbortedMessages.js) takes the
 * broker's aborted-transactions list to be ordered by first offset and
 * starts at most one aborted transaction per record. The broker lists them
 * in the order they ended (its transaction index is appended at each abort
 * marker), so when transactions of several producers interleave in a
 * partition — several tasks writing to one output partition, or two
 * producers of any kind — kafkajs hands out records of aborted
 * transactions to read_committed readers: seen in a chaos run as aggregates
 * emitted twice, reproduced deterministically in
 * test/framework/client/transactions.int.test.ts.
 */

export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: {
    firstOffset: string;
    lastOffsetDelta: number;
    producerId: string;
    inTransaction: boolean;
  };
}

export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** Control record key of an abort marker: version 0, type 0 (ABORT). */
function isAbortMarker(record: FetchedRecord): boolean {
  if (!record.isControlRecord || record.key === null) return false;
  const key = Buffer.from(record.key);
  return key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * The records of `records` (one partition's fetch, in offset order) that
 * belong to an aborted transaction. Control records are never returned;
 * records outside transactions never are.
 */
export function abortedRecords(
  records: readonly FetchedRecord[],
  abortedTransactions: readonly AbortedTransaction[],
): Set<FetchedRecord> {
  const aborted = new Set<FetchedRecord>();
  if (abortedTransactions.length === 0) return aborted;
  const queue = [...abortedTransactions].sort((a, b) => {
    const d = BigInt(a.firstOffset) - BigInt(b.firstOffset);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  let next = 0;
  const aborting = new Set<string>();
  for (const record of records) {
    const batch = record.batchContext;
    if (!batch.inTransaction) continue;
    // Every aborted transaction that started at or before this batch's end
    // is under way: its producer's transactional records are aborted until
    // its abort marker.
    const batchEnd = BigInt(batch.firstOffset) + BigInt(batch.lastOffsetDelta);
    while (next < queue.length && BigInt(queue[next]!.firstOffset) <= batchEnd)
      aborting.add(queue[next++]!.producerId);
    if (record.isControlRecord) {
      if (isAbortMarker(record)) aborting.delete(batch.producerId);
    } else if (aborting.has(batch.producerId)) aborted.add(record);
  }
  return aborted;
}

// Which fetched records are aborted (framework/client/kafkajs/aborted-records.ts),
// and that kafkajs's own Batch then drops exactly those (internals.ts relabelling).
import t from 'tap';
import {
  abortedRecords,
  type AbortedTransaction,
  type FetchedRecord,
} from '../../../../framework/client/kafkajs/aborted-records.ts';
import {
  Batch,
  relabelAbortedRecords,
  type InternalFetchMessage,
} from '../../../../framework/client/kafkajs/internals.ts';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A one-record batch at `offset`; `producer` null: not transactional. */
function record(offset: number, producer: string | null, marker?: Buffer): FetchedRecord {
  return {
    offset: String(offset),
    key: marker ?? null,
    isControlRecord: marker !== undefined,
    batchContext: {
      firstOffset: String(offset),
      lastOffsetDelta: 0,
      producerId: producer ?? '-1',
      inTransaction: producer !== null,
    },
  };
}

const txn = (producerId: string, firstOffset: number): AbortedTransaction => ({
  producerId,
  firstOffset: String(firstOffset),
});

const offsets = (records: Iterable<FetchedRecord>): number[] =>
  [...records].map((r) => Number(r.offset)).sort((a, b) => a - b);

// Producers 1 and 2 interleave; both abort, 2 first. 3 commits. 4 is not transactional.
const interleaved = [
  record(0, '1'),
  record(1, '2'),
  record(2, '3'),
  record(3, '2', ABORT),
  record(4, null),
  record(5, '1'),
  record(6, '3', COMMIT),
  record(7, '1', ABORT),
  record(8, '3'),
];
// The broker's order: by the end of the transaction.
const listed = [txn('2', 1), txn('1', 0)];

t.test('interleaved aborted transactions of several producers, listed by their end', async (t) => {
  t.same(offsets(abortedRecords(interleaved, listed)), [0, 1, 5]);
});

t.test(
  'a fetch starting inside two aborted transactions drops both from its first record',
  async (t) => {
    const fetched = interleaved.filter((r) => Number(r.offset) >= 5);
    t.same(offsets(abortedRecords(fetched, listed)), [5]);
    const twoOpen = [
      record(10, '1'),
      record(11, '2'),
      record(12, '1', ABORT),
      record(13, '2', ABORT),
    ];
    t.same(offsets(abortedRecords(twoOpen, [txn('1', 4), txn('2', 6)])), [10, 11]);
  },
);

t.test(
  'committed transactions, non-transactional records and markers are never aborted',
  async (t) => {
    const records = [
      record(0, '1'),
      record(1, '1', COMMIT),
      record(2, null),
      record(3, '1'),
      record(4, '1', ABORT),
      record(5, '1'),
      record(6, '1', COMMIT),
    ];
    t.same(offsets(abortedRecords(records, [txn('1', 3)])), [3], 'only the aborted transaction');
    t.same(offsets(abortedRecords(records, [])), [], 'nothing without aborted transactions');
    t.same(
      offsets(
        abortedRecords(
          [record(0, '1'), record(1, '1', ABORT), record(2, '1'), record(3, '1', ABORT)],
          [txn('1', 0), txn('1', 2)],
        ),
      ),
      [0, 2],
      'two aborted transactions of one producer',
    );
  },
);

t.test("kafkajs's Batch drops exactly the aborted records once relabelled", async (t) => {
  const partition = {
    partition: 0,
    errorCode: 0,
    highWatermark: '9',
    lastStableOffset: '9',
    abortedTransactions: listed,
    messages: interleaved.map((r) => ({
      ...r,
      value: Buffer.from(`v${r.offset}`),
      timestamp: '0',
      headers: {},
    })) as InternalFetchMessage[],
  };
  const unpatched = new Batch('topic', '0', structuredClone(partition));
  t.same(
    unpatched.messages.map((m) => Number(m.offset)),
    [0, 2, 4, 8],
    "kafkajs's own filter hands out record 0 of an aborted transaction",
  );
  relabelAbortedRecords(partition);
  const batch = new Batch('topic', '0', partition);
  t.same(
    batch.messages.map((m) => Number(m.offset)),
    [2, 4, 8],
    'committed and non-transactional records only',
  );
});

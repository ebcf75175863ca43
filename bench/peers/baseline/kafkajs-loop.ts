/**
 * BASELINE, not streamtx: the map topology as a hand-written kafkajs loop —
 * one transactional producer, a read_committed consumer's eachBatch, the
 * mapped records and the input offsets (sendOffsets) in one transaction,
 * committed every PEER_COMMIT_INTERVAL_MS. It shows what kafkajs itself
 * allows on this machine, i.e. the price of streamtx's runtime on top.
 *
 * It is exactly-once only while nothing fails: no fencing on rebalance, no
 * rewind after an aborted transaction, one producer for all partitions
 * (KIP-447 style). Options from the same PEER_* variables as the streamtx
 * apps (streamtx/env.ts); the only guarantee it runs is exactly_once.
 */
// eslint-disable-next-line no-restricted-imports -- the raw kafkajs baseline the peers bench compares streamtx with
import { Kafka, logLevel, type Transaction } from 'kafkajs';
import { peerEnv } from '../streamtx/env.ts';

const env = peerEnv();
const { commitIntervalMs } = env;
const { applicationId, brokers, processingGuarantee } = env.options;
if (processingGuarantee !== 'exactly_once') {
  throw new Error(`kafkajs-loop: PEER_GUARANTEE must be exactly_once, got ${processingGuarantee}`);
}

const kafka = new Kafka({
  clientId: `${applicationId}-loop`,
  brokers: [...brokers],
  logLevel: logLevel.ERROR,
});
const producer = kafka.producer({
  transactionalId: `${applicationId}-loop`,
  idempotent: true,
  maxInFlightRequests: 1,
});
const consumer = kafka.consumer({ groupId: applicationId, readUncommitted: false });

const MAX_SEND = 2000;

let txn: Transaction | undefined;
let txnStarted = 0;
/** Next offset to read per partition, for the open transaction. */
const pending = new Map<number, string>();

// eachBatch and the commit timer take turns: a transaction is never committed while a send is in flight.
let chain: Promise<void> = Promise.resolve();
function serially(step: () => Promise<void>): Promise<void> {
  const next = chain.then(step);
  chain = next.catch(() => undefined);
  return next;
}

async function commit(): Promise<void> {
  if (!txn) return;
  await txn.sendOffsets({
    consumerGroupId: applicationId,
    topics: [
      {
        topic: env.input,
        partitions: [...pending].map(([partition, offset]) => ({ partition, offset })),
      },
    ],
  });
  await txn.commit();
  txn = undefined;
  pending.clear();
}

function fail(err: unknown): never {
  process.stderr.write(
    `kafkajs-loop: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}

await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: env.input, fromBeginning: true });
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const partitions = payload.memberAssignment[env.input]?.length ?? 0;
  process.stdout.write(`kafkajs-loop running partitions=${partitions}\n`);
});
consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));

const timer = setInterval(
  () => {
    serially(async () => {
      if (txn && Date.now() - txnStarted >= commitIntervalMs) await commit();
    }).catch(fail);
  },
  Math.max(5, Math.floor(commitIntervalMs / 4)),
);

await consumer.run({
  autoCommit: false,
  eachBatch: ({ batch }) =>
    serially(async () => {
      if (batch.messages.length === 0) return;
      if (!txn) {
        txn = await producer.transaction();
        txnStarted = Date.now();
      }
      const messages = batch.messages.map((m) => ({
        key: m.key,
        value: m.value === null ? null : m.value.toString().toUpperCase(),
        timestamp: m.timestamp,
        headers: m.headers,
      }));
      // A fetched batch can hold more than one produce request may (message.max.bytes, 1 MiB).
      for (let i = 0; i < messages.length; i += MAX_SEND) {
        await txn.send({ topic: env.output, acks: -1, messages: messages.slice(i, i + MAX_SEND) });
      }
      pending.set(batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
      if (Date.now() - txnStarted >= commitIntervalMs) await commit();
    }),
});

async function shutdown(): Promise<void> {
  clearInterval(timer);
  await consumer.disconnect();
  await serially(commit);
  await producer.disconnect();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown().catch(fail));
process.once('SIGINT', () => void shutdown().catch(fail));

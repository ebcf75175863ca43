/**
 * Every use of kafkajs internals (anything not in its public typings) is in
 * this file, against the exact version package.json pins (2.2.4), and
 * checked when the module loads so an upgrade fails loudly here rather than
 * silently elsewhere.
 *
 * 1. CONCURRENT_TRANSACTIONS fast retry. After EndTxn the coordinator
 *    answers AddPartitionsToTxn / AddOffsetsToTxn with CONCURRENT_TRANSACTIONS
 *    (code 51) until it has written the transaction markers and CompleteCommit
 *    (KIP-98). kafkajs handles it only in the producer's generic retrier
 *    (producer/sendMessages.js: `e.name === 'KafkaJSProtocolError' &&
 *    e.retriable` → retry after `initialRetryTime`, 300 ms ± 20 % by default,
 *    retry/index.js), and does not retry it at all for AddOffsetsToTxn
 *    (eosManager.sendOffsets calls the broker directly). The Java client
 *    retries this case after 20 ms (TransactionManager, KAFKA-5477). We wrap
 *    `Broker.prototype.addPartitionsToTxn`, `addOffsetsToTxn` and
 *    `initProducerId` so that, for producers created by this adapter only,
 *    CONCURRENT_TRANSACTIONS is retried right there, before kafkajs's retrier
 *    ever sees it: after 2 ms, then 4, 8, 16 and 20 ms from then on. The
 *    coordinator usually completes within a few ms (bench:txn: a fixed 20 ms
 *    made the first send of a back-to-back transaction 27 ms at the median on
 *    one broker, the growing backoff 8 ms), and every task pays this wait once
 *    per commit interval. Other producers in the process (e.g. the raw
 *    kafkajs baseline in bench/) keep kafkajs's behaviour.
 *
 * 2. Raw Fetch / ListOffsets for restoration: kafkajs has no manual partition
 *    assignment, and a consumer group per restore would pay a JoinGroup
 *    (group.initial.rebalance.delay.ms, 3 s by default) and leave groups
 *    behind. We build a kafkajs Cluster from the client (its private
 *    createCluster) and send Fetch with the isolation level we need, then
 *    filter aborted records and control records with kafkajs's own Batch.
 *
 * 3. Aborted records under read_committed. kafkajs's filter mishandles
 *    transactions of several producers interleaved in one partition
 *    (aborted-records.ts). We wrap `Broker.prototype.fetch` — every fetch in
 *    the process, the group consumer's and ours — to decide which records
 *    are aborted the Java consumer's way, and hand kafkajs's filter an input
 *    on which it can only agree: the aborted records re-labelled with one
 *    placeholder producer id, and a single aborted transaction of that
 *    producer starting before the first record.
 *
 * 4. A refused TLS handshake (untrusted or expired certificate, wrong host)
 *    is a KafkaJSConnectionError, which kafkajs retries like a broker that is
 *    down: a wrong CA would look like a slow cluster for as long as the
 *    retries last. We wrap `Broker.prototype.connect` to mark it not
 *    retriable, as the Java client's SslAuthenticationException is, so the
 *    first attempt fails with the reason.
 *
 * 5. One attempt for a send of several partitions. kafkajs retries a failed
 *    send unsafely once it spans brokers (partitioned-send.ts says how), so
 *    the adapter's transactional producer sends several partitions in one
 *    request only inside `sendingOnce`: there we wrap the errors of
 *    `Broker.prototype.produce` and of `addPartitionsToTxn` (after the fast
 *    retry above) in kafkajs's KafkaJSNonRetriableError, with the original as
 *    its cause, so kafkajs's retrier gives up at the first failure and the
 *    transaction aborts. The cause still decides how the error classifies.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { setTimeout as delay } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { abortedRecords, type FetchedRecord } from './aborted-records.ts';
import { isTlsFailure } from './errors.ts';

const require = createRequire(import.meta.url);

const KAFKAJS_VERSION = '2.2.4';

/**
 * The wait before each retry of CONCURRENT_TRANSACTIONS, by attempt; the last repeats. It
 * grows to the Java client's 20 ms (KAFKA-5477) so a slow coordinator is not asked more often
 * than that.
 */
export const CONCURRENT_TRANSACTIONS_BACKOFF_MS: readonly number[] = [2, 4, 8, 16, 20];

/** The wait before retry `attempt` (1-based) of CONCURRENT_TRANSACTIONS. */
export function concurrentTransactionsBackoffMs(attempt: number): number {
  const schedule = CONCURRENT_TRANSACTIONS_BACKOFF_MS;
  return schedule[Math.min(attempt, schedule.length) - 1]!;
}

// ---- internal shapes (kafkajs 2.2.4 source, not its typings) ----

export interface InternalFetchMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  isControlRecord: boolean;
  batchContext: FetchedRecord['batchContext'];
}

export interface InternalFetchPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  abortedTransactions: { producerId: string; firstOffset: string }[];
  messages: InternalFetchMessage[];
}

export interface InternalBroker {
  nodeId: number;
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: {
      topic: string;
      partitions: { partition: number; fetchOffset: string; maxBytes: number }[];
    }[];
  }): Promise<{ responses: { topicName: string; partitions: InternalFetchPartition[] }[] }>;
  listOffsets(request: {
    replicaId: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[];
  }): Promise<{
    responses: {
      topic: string;
      partitions: { partition: number; errorCode: number; offset: string }[];
    }[];
  }>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findBroker(node: { nodeId: number }): Promise<InternalBroker>;
}

export interface InternalBatch {
  messages: InternalFetchMessage[];
  messagesWithinOffset: InternalFetchMessage[];
}

type BatchConstructor = new (
  topic: string,
  fetchedOffset: string,
  partitionData: InternalFetchPartition,
) => InternalBatch;

interface KafkaJSProtocolErrorShape {
  type?: string;
}

type BrokerMethod = (
  this: { rootLogger: unknown },
  request: { transactionalId?: string },
) => Promise<unknown>;

const Broker = require('kafkajs/src/broker/index.js') as {
  prototype: Record<string, BrokerMethod | undefined>;
};
export const Batch = require('kafkajs/src/consumer/batch.js') as BatchConstructor;
export const ISOLATION = require('kafkajs/src/protocol/isolationLevel.js') as {
  READ_UNCOMMITTED: number;
  READ_COMMITTED: number;
};

function privateSymbol(kafka: Kafka, description: string): symbol {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === description);
  if (symbol === undefined)
    throw new Error(`kafkajs internals changed: no ${description} on Kafka`);
  return symbol;
}

/** A kafkajs Cluster built with the client's own settings (its private createCluster). */
export function createInternalCluster(kafka: Kafka, isolationLevel: number): InternalCluster {
  const create = (kafka as unknown as Record<symbol, unknown>)[
    privateSymbol(kafka, 'private:Kafka:createCluster')
  ];
  if (typeof create !== 'function')
    throw new Error('kafkajs internals changed: createCluster is not a function');
  return (create as (o: object) => InternalCluster)({
    metadataMaxAge: 300_000,
    allowAutoTopicCreation: false,
    isolationLevel,
  });
}

// ---- CONCURRENT_TRANSACTIONS fast retry ----

type RetryRequest = 'AddPartitionsToTxn' | 'AddOffsetsToTxn' | 'InitProducerId';

export interface FastRetryListener {
  transactionalId: string;
  /** Give up the fast retry after this long and let kafkajs's own handling take over. */
  maxWaitMs: number;
  onRetry(request: RetryRequest, attempt: number, waitMs: number): void;
}

/**
 * Producers that get the fast retry, keyed by their Kafka instance's root
 * logger: each adapter producer has its own Kafka instance, and kafkajs hands
 * that logger to every Broker it creates (`broker.rootLogger`).
 */
const fastRetry = new WeakMap<object, FastRetryListener>();
let installed = false;

const PATCHED: Record<string, RetryRequest> = {
  addPartitionsToTxn: 'AddPartitionsToTxn',
  addOffsetsToTxn: 'AddOffsetsToTxn',
  initProducerId: 'InitProducerId',
};

function install(): void {
  if (installed) return;
  for (const [method, request] of Object.entries(PATCHED)) {
    const original = Broker.prototype[method];
    if (typeof original !== 'function')
      throw new Error(`kafkajs internals changed: Broker.${method} missing`);
    const patched: BrokerMethod = async function (this, args) {
      const listener =
        typeof this.rootLogger === 'object' && this.rootLogger !== null
          ? fastRetry.get(this.rootLogger)
          : undefined;
      if (listener === undefined || args.transactionalId !== listener.transactionalId)
        return original.call(this, args);
      const deadline = Date.now() + listener.maxWaitMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await original.call(this, args);
        } catch (e) {
          const type = (e as KafkaJSProtocolErrorShape | null)?.type;
          const waitMs = concurrentTransactionsBackoffMs(attempt);
          if (type !== 'CONCURRENT_TRANSACTIONS' || Date.now() + waitMs > deadline)
            throw attemptedOnce(e);
          listener.onRetry(request, attempt, waitMs);
          await delay(waitMs);
        }
      }
    };
    Broker.prototype[method] = patched;
  }
  installed = true;
}

/** Gives the producers of this Kafka instance the fast CONCURRENT_TRANSACTIONS retry. */
export function enableFastConcurrentTransactionsRetry(
  kafka: Kafka,
  listener: FastRetryListener,
): void {
  install();
  const logger = (kafka as unknown as Record<symbol, unknown>)[
    privateSymbol(kafka, 'private:Kafka:logger')
  ];
  if (typeof logger !== 'object' || logger === null)
    throw new Error('kafkajs internals changed: Kafka logger');
  fastRetry.set(logger, listener);
}

// ---- aborted records under read_committed ----

/** Producer id given to aborted records; real ones are decimal int64s. */
const ABORTED_PRODUCER = 'streamtx-aborted';

/** Makes kafkajs's filter drop exactly the records `abortedRecords` finds aborted. */
export function relabelAbortedRecords(partition: InternalFetchPartition): void {
  const list = partition.abortedTransactions;
  if (!Array.isArray(list) || list.length === 0) return;
  const aborted = abortedRecords(partition.messages, list);
  const relabelled = new Map<object, InternalFetchMessage['batchContext']>();
  for (const m of aborted) {
    let context = relabelled.get(m.batchContext);
    if (!context) {
      context = { ...m.batchContext, producerId: ABORTED_PRODUCER };
      relabelled.set(m.batchContext, context);
    }
    m.batchContext = context;
  }
  partition.abortedTransactions =
    aborted.size > 0 ? [{ producerId: ABORTED_PRODUCER, firstOffset: '-1' }] : [];
}

// ---- one attempt for a send of several partitions ----

const singleAttempt = new AsyncLocalStorage<true>();
const KafkaJSNonRetriableError = (
  require('kafkajs/src/errors.js') as {
    KafkaJSNonRetriableError: new (e: unknown, options: { cause: unknown }) => Error;
  }
).KafkaJSNonRetriableError;

/**
 * Runs `send` (a kafkajs send) so that kafkajs does not retry it: the first failure of its
 * produce or AddPartitionsToTxn requests rejects it (item 5 above).
 */
export function sendingOnce<T>(send: () => Promise<T>): Promise<T> {
  return singleAttempt.run(true, send);
}

/** The error kafkajs should not retry, inside `sendingOnce`; the error itself elsewhere. */
function attemptedOnce(e: unknown): unknown {
  return singleAttempt.getStore() === true ? new KafkaJSNonRetriableError(e, { cause: e }) : e;
}

let patched = false;

/**
 * Checks the kafkajs version and installs the fetch, connect and produce patches (3.–5.), once per
 * process. Run when a client is created, never on import: loading streamtx
 * for the test driver or the stores must not touch kafkajs.
 */
export function installKafkajsPatches(): void {
  if (patched) return;
  const pkg = require('kafkajs/package.json') as { version: string };
  if (pkg.version !== KAFKAJS_VERSION) {
    throw new Error(
      `framework/client relies on kafkajs ${KAFKAJS_VERSION} internals but found ${pkg.version}; re-check framework/client/kafkajs/internals.ts`,
    );
  }
  const original = Broker.prototype['fetch'];
  if (typeof original !== 'function')
    throw new Error('kafkajs internals changed: Broker.fetch missing');
  const fetch = original as unknown as (
    this: unknown,
    request: unknown,
  ) => Promise<{ responses?: { partitions?: InternalFetchPartition[] }[] }>;
  Broker.prototype['fetch'] = async function (this: unknown, request: unknown) {
    const response = await fetch.call(this, request);
    for (const topic of response.responses ?? [])
      for (const partition of topic.partitions ?? []) relabelAbortedRecords(partition);
    return response;
  } as unknown as BrokerMethod;
  const connect = Broker.prototype['connect'] as unknown as
    ((this: unknown) => Promise<void>) | undefined;
  if (typeof connect !== 'function')
    throw new Error('kafkajs internals changed: Broker.connect missing');
  Broker.prototype['connect'] = async function (this: unknown) {
    try {
      await connect.call(this);
    } catch (e) {
      // kafkajs's retriers (cluster/brokerPool.js, retry/index.js) bail on `retriable: false`.
      if (isTlsFailure(e)) (e as { retriable?: boolean }).retriable = false;
      throw e;
    }
  } as unknown as BrokerMethod;
  const produce = Broker.prototype['produce'];
  if (typeof produce !== 'function')
    throw new Error('kafkajs internals changed: Broker.produce missing');
  Broker.prototype['produce'] = async function (this, request) {
    try {
      return await produce.call(this, request);
    } catch (e) {
      throw attemptedOnce(e);
    }
  } as BrokerMethod;
  patched = true;
}

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
 *    The same listener gives these producers a coordinator cache. kafkajs
 *    asks for the transaction coordinator (FindCoordinator) before every
 *    AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, and for the group
 *    coordinator before every TxnOffsetCommit (eosManager/index.js): four
 *    round trips a transaction, three of them on the commit's path. The Java
 *    client looks a coordinator up once and again only when a request to it
 *    fails (TransactionManager.lookupCoordinator). We wrap
 *    `Cluster.prototype.findGroupCoordinator` to answer from a per-producer
 *    cache, and drop the entry whenever a request to that coordinator fails
 *    (anything but CONCURRENT_TRANSACTIONS). A coordinator that moved refuses
 *    with NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or
 *    COORDINATOR_LOAD_IN_PROGRESS (codes 16, 15, 14): the broker did nothing
 *    with the request, so AddPartitionsToTxn, AddOffsetsToTxn and EndTxn are
 *    then sent again, right there, to the coordinator looked up afresh (100
 *    ms, then doubling to 1 s, within the same `maxWaitMs`). kafkajs itself
 *    never retries EndTxn or AddOffsetsToTxn, so before this a coordinator
 *    that moved between kafkajs's lookup and the request failed the commit,
 *    and the task was rebuilt. A timeout or a broken connection is not a
 *    refusal (the request may have been applied) and still fails as before.
 *    InitProducerId and TxnOffsetCommit keep kafkajs's own retries, which
 *    look the coordinator up again, now past the dropped entry.
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
import type { CoordinatorMoved } from '../types.ts';
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

type BrokerMethod = (
  this: { rootLogger: unknown },
  request: { transactionalId?: string; groupId?: string },
) => Promise<unknown>;

const Broker = require('kafkajs/src/broker/index.js') as {
  prototype: Record<string, BrokerMethod | undefined>;
};
const Cluster = require('kafkajs/src/cluster/index.js') as {
  prototype: Record<string, unknown>;
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

// ---- transaction coordinator requests: CONCURRENT_TRANSACTIONS fast retry, coordinator cache ----

type RetryRequest = 'AddPartitionsToTxn' | 'AddOffsetsToTxn' | 'InitProducerId';
type CoordinatorRequest = CoordinatorMoved['request'];

export interface FastRetryListener {
  transactionalId: string;
  /** Give up the fast retry after this long and let kafkajs's own handling take over. */
  maxWaitMs: number;
  onRetry(request: RetryRequest, attempt: number, waitMs: number): void;
  /** A request the coordinator refused because it no longer is one, sent again to `toNode`. */
  onCoordinatorMoved?(request: CoordinatorRequest, fromNode: number, toNode: number): void;
}

interface ProducerCoordinators {
  listener: FastRetryListener;
  /** Coordinator node id by `${coordinatorType}:${key}` (0 group, 1 transaction). */
  nodes: Map<string, number>;
  /** The kafkajs Cluster of the producer, seen at its first lookup. */
  cluster?: CoordinatorCluster;
}

interface CoordinatorCluster {
  findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<unknown>;
  findBroker(node: { nodeId: number }): Promise<unknown>;
}

/**
 * Producers that get the fast retry and the coordinator cache, keyed by their Kafka
 * instance's root logger: each adapter producer has its own Kafka instance, and kafkajs hands
 * that logger to its Cluster and to every Broker it creates (`rootLogger`).
 */
const fastRetry = new WeakMap<object, ProducerCoordinators>();
let installed = false;

const TRANSACTION = 1 as const;
const GROUP = 0 as const;
/** NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS: the request was refused. */
const COORDINATOR_REFUSALS: ReadonlySet<number> = new Set([16, 15, 14]);
const CONCURRENT_TRANSACTIONS = 51;

/** The backoff before sending a refused request again: the Java client's 100 ms doubling to 1 s. */
function refusedBackoffMs(attempt: number): number {
  return Math.min(1000, 100 * 2 ** (attempt - 1));
}

interface PatchedRequest {
  request: CoordinatorRequest;
  /** TRANSACTION: keyed by the request's transactionalId; GROUP: by its groupId. */
  coordinatorType: typeof TRANSACTION | typeof GROUP;
  /** CONCURRENT_TRANSACTIONS retried after the short backoff. */
  fastRetry: boolean;
  /** Sent again to the new coordinator when refused. */
  followCoordinator: boolean;
}

const PATCHED: Record<string, PatchedRequest> = {
  addPartitionsToTxn: {
    request: 'AddPartitionsToTxn',
    coordinatorType: TRANSACTION,
    fastRetry: true,
    followCoordinator: true,
  },
  addOffsetsToTxn: {
    request: 'AddOffsetsToTxn',
    coordinatorType: TRANSACTION,
    fastRetry: true,
    followCoordinator: true,
  },
  initProducerId: {
    request: 'InitProducerId',
    coordinatorType: TRANSACTION,
    fastRetry: true,
    followCoordinator: false,
  },
  endTxn: {
    request: 'EndTxn',
    coordinatorType: TRANSACTION,
    fastRetry: false,
    followCoordinator: true,
  },
  txnOffsetCommit: {
    request: 'TxnOffsetCommit',
    coordinatorType: GROUP,
    fastRetry: false,
    followCoordinator: false,
  },
};

function producerOf(owner: { rootLogger?: unknown }): ProducerCoordinators | undefined {
  const logger = owner.rootLogger;
  return typeof logger === 'object' && logger !== null ? fastRetry.get(logger) : undefined;
}

function errorCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function install(): void {
  if (installed) return;
  for (const [method, spec] of Object.entries(PATCHED)) {
    const original = Broker.prototype[method];
    if (typeof original !== 'function')
      throw new Error(`kafkajs internals changed: Broker.${method} missing`);
    const patched: BrokerMethod = async function (this, args) {
      const producer = producerOf(this);
      if (producer === undefined || args.transactionalId !== producer.listener.transactionalId)
        return original.call(this, args);
      const { listener } = producer;
      const key = spec.coordinatorType === GROUP ? args.groupId : args.transactionalId;
      const entry = key === undefined ? undefined : `${spec.coordinatorType}:${key}`;
      const deadline = Date.now() + listener.maxWaitMs;
      let broker: { rootLogger: unknown; nodeId?: unknown } = this;
      let concurrent = 0;
      let refused = 0;
      for (;;) {
        try {
          return await original.call(broker, args);
        } catch (e) {
          const code = errorCode(e);
          if (code !== CONCURRENT_TRANSACTIONS && entry !== undefined) producer.nodes.delete(entry);
          if (code === CONCURRENT_TRANSACTIONS && spec.fastRetry) {
            const waitMs = concurrentTransactionsBackoffMs(++concurrent);
            if (Date.now() + waitMs > deadline) throw attemptedOnce(e);
            listener.onRetry(spec.request as RetryRequest, concurrent, waitMs);
            await delay(waitMs);
            continue;
          }
          const cluster = producer.cluster;
          const waitMs = refusedBackoffMs(++refused);
          if (
            !spec.followCoordinator ||
            code === undefined ||
            !COORDINATOR_REFUSALS.has(code) ||
            cluster === undefined ||
            key === undefined ||
            Date.now() + waitMs > deadline
          )
            throw attemptedOnce(e);
          await delay(waitMs);
          const from = broker.nodeId;
          broker = (await cluster.findGroupCoordinator({
            groupId: key,
            coordinatorType: spec.coordinatorType,
          })) as typeof broker;
          if (typeof from === 'number' && typeof broker.nodeId === 'number')
            listener.onCoordinatorMoved?.(spec.request, from, broker.nodeId);
        }
      }
    };
    Broker.prototype[method] = patched;
  }
  const find = Cluster.prototype['findGroupCoordinator'];
  if (typeof find !== 'function')
    throw new Error('kafkajs internals changed: Cluster.findGroupCoordinator missing');
  Cluster.prototype['findGroupCoordinator'] = async function (
    this: CoordinatorCluster & { rootLogger?: unknown },
    args: { groupId: string; coordinatorType?: number },
  ) {
    const producer = producerOf(this);
    if (producer === undefined) return find.call(this, args);
    producer.cluster = this;
    const entry = `${args.coordinatorType ?? GROUP}:${args.groupId}`;
    const cached = producer.nodes.get(entry);
    if (cached !== undefined) {
      try {
        return await this.findBroker({ nodeId: cached });
      } catch {
        producer.nodes.delete(entry); // gone from the metadata or unreachable: look it up
      }
    }
    const broker = (await find.call(this, args)) as { nodeId?: unknown };
    if (typeof broker.nodeId === 'number') producer.nodes.set(entry, broker.nodeId);
    return broker;
  };
  installed = true;
}

/**
 * Gives the producers of this Kafka instance the fast CONCURRENT_TRANSACTIONS retry and the
 * coordinator cache (item 1 above).
 */
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
  fastRetry.set(logger, { listener, nodes: new Map() });
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

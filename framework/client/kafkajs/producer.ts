/**
 * TransactionalProducer on kafkajs. The adapter owns every setting EOS
 * depends on: idempotence, one in-flight request, acks=all, the
 * transactional id, retries bounded by the transaction timeout.
 *
 * One kafkajs `Kafka` instance per producer: kafkajs ties loggers and retry
 * settings to it, and the CONCURRENT_TRANSACTIONS fast retry is keyed on it.
 *
 * No KIP-447 group metadata: kafkajs sends TxnOffsetCommit v0/v1 without the
 * consumer's generation/member id, so the group coordinator cannot fence a
 * zombie's offset commit by generation. Fencing relies on one transactional
 * id per task (`${applicationId}-${taskId}`, KIP-98 style): the new owner's
 * InitProducerId bumps the epoch and every later request of the zombie fails
 * with INVALID_PRODUCER_EPOCH / PRODUCER_FENCED.
 */
// Before kafkajs loads: its quadratic grouping replaced (linear-grouping.ts).
import './linear-grouping.ts';
import './produce-encoder.ts';
import kafkajs from 'kafkajs';
import type { Kafka, KafkaConfig, Producer, Transaction } from 'kafkajs';
import { ClientError, ProducerFencedError } from '../errors.ts';
import type { ClientOperation } from '../errors.ts';
import { TransactionStateMachine } from '../transaction-state.ts';
import type { TransactionOperation } from '../transaction-state.ts';
import type {
  ClientLogEntry,
  ClientLogLevel,
  Compression,
  PlainProducer,
  PlainProducerOptions,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
  TransactionalProducerOptions,
  TransactionState,
} from '../types.ts';
import { classifyKafkajs, toClientError } from './errors.ts';
import { enableFastConcurrentTransactionsRetry, sendingOnce } from './internals.ts';
import { createLogCreator, kafkajsLogLevel } from './logging.ts';
import { PartitionedSender, type KafkaMessage, type SentPartition } from './partitioned-send.ts';

const { Kafka: KafkaCtor, Partitioners, CompressionTypes } = kafkajs;

function compressionType(compression: Compression | undefined): number {
  return compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
}

/** kafkajs's message for CONCURRENT_TRANSACTIONS (protocol/error.js, code 51). */
const CONCURRENT_TRANSACTIONS_MESSAGE = 'another concurrent operation on the same transaction';

/** Java client defaults: retry.backoff.ms=100, retry.backoff.max.ms=1000. */
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 1000;

export interface KafkajsProducerSettings {
  kafkaConfig: Omit<KafkaConfig, 'logCreator' | 'logLevel'>;
  logLevel: ClientLogLevel;
  logger: (entry: ClientLogEntry) => void;
  /** Partition count of a topic, for assigning partitions before sending (partitioned-send.ts). */
  partitionCount: (topic: string) => Promise<number>;
}

/** A failure of a transactional producer call; `kind` says what to do (errors.ts). */
export class TransactionError extends ClientError {
  override readonly name = 'TransactionError';
  readonly transactionalId: string;
  readonly operation: ClientOperation;
  constructor(transactionalId: string, operation: ClientOperation, cause: unknown) {
    const c = classifyKafkajs(cause, operation);
    const reason = cause instanceof Error ? cause.message : String(cause);
    const opts: { cause: unknown; code?: number; type?: string } = { cause };
    if (c.code !== undefined) opts.code = c.code;
    if (c.type !== undefined) opts.type = c.type;
    super(
      `${operation} failed for transactional id ${transactionalId} (${c.kind}): ${reason}`,
      c.kind,
      opts,
    );
    this.transactionalId = transactionalId;
    this.operation = operation;
  }
}

export class KafkajsTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #settings: KafkajsProducerSettings;
  readonly #options: Required<Pick<TransactionalProducerOptions, 'transactionTimeoutMs'>> &
    TransactionalProducerOptions;
  readonly #machine: TransactionStateMachine;
  #producer: Producer | undefined;
  /** kafkajs only exposes InitProducerId through `transaction()`, so init() opens one and begin() adopts it. */
  #transaction: Transaction | undefined;
  #opening: Promise<Transaction> | undefined;
  #pendingInitTransaction = false;
  #sendsInFlight = 0;
  #abortCause: unknown;
  readonly #sender: PartitionedSender;
  readonly #compression: number;

  constructor(
    transactionalId: string,
    settings: KafkajsProducerSettings,
    options: TransactionalProducerOptions = {},
  ) {
    this.transactionalId = transactionalId;
    this.#settings = settings;
    this.#sender = new PartitionedSender(settings.partitionCount);
    this.#options = { ...options, transactionTimeoutMs: options.transactionTimeoutMs ?? 60_000 };
    this.#compression = compressionType(options.compression);
    this.#machine = new TransactionStateMachine((from, to) =>
      this.#options.observer?.stateChange?.({ transactionalId, from, to }),
    );
  }

  get state(): TransactionState {
    return this.#machine.state;
  }

  async init(): Promise<void> {
    this.#guard('init');
    this.#machine.transition('INITIALIZING');
    try {
      await this.#newProducer();
      this.#machine.transition('READY');
    } catch (e) {
      await this.#discardProducer();
      throw this.#fail('init', e, 'NEEDS_REINIT');
    }
  }

  /** A new kafkajs producer, initialised: InitProducerId bumps the epoch. */
  async #newProducer(): Promise<void> {
    // Any previous kafkajs producer is discarded: after a failed EndTxn its
    // eosManager is stuck in COMMITTING/ABORTING (see transaction-state.ts).
    await this.#discardProducer();
    const producer = this.#createProducer();
    this.#producer = producer;
    await producer.connect();
    // InitProducerId with our transactional id: bumps the epoch, fences the
    // previous owner and waits until its open transaction is resolved.
    this.#transaction = await producer.transaction();
    this.#pendingInitTransaction = true;
  }

  begin(): void {
    this.#guard('begin');
    if (!this.#pendingInitTransaction) {
      // kafkajs's transaction() is async only because of the lazy
      // InitProducerId, which init() already did; begin() stays synchronous
      // by starting the kafkajs transaction on the first send.
      this.#transaction = undefined;
    }
    this.#pendingInitTransaction = false;
    this.#machine.transition('IN_TRANSACTION');
  }

  async #activeTransaction(): Promise<Transaction> {
    if (this.#transaction?.isActive() === true) return this.#transaction;
    // Concurrent first sends share one kafkajs transaction().
    if (this.#opening === undefined) {
      const producer = this.#producer;
      if (producer === undefined) throw new ClientError('producer not initialised', 'fatal');
      this.#opening = producer
        .transaction()
        .then((tx) => (this.#transaction = tx))
        .finally(() => (this.#opening = undefined));
    }
    return this.#opening;
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    this.#guard('send');
    this.#sendsInFlight++;
    try {
      const tx = await this.#activeTransaction();
      // All partitions in one request per broker, tried once (partitioned-send.ts).
      const result = await this.#sender.sendTogether(
        topic,
        toKafkaMessages(records),
        (messages) => tx.send({ topic, acks: -1, messages, compression: this.#compression }),
        sendingOnce,
      );
      return fromKafkaMetadata(result);
    } catch (e) {
      throw this.#failInTransaction('send', e);
    } finally {
      this.#sendsInFlight--;
    }
  }

  async sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    this.#guard('sendOffsets');
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: o.offset.toString() });
      byTopic.set(o.topic, list);
    }
    try {
      const tx = await this.#activeTransaction();
      await tx.sendOffsets({
        consumerGroupId: groupId,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      });
    } catch (e) {
      throw this.#failInTransaction('sendOffsets', e);
    }
  }

  async commit(): Promise<void> {
    this.#guard('commit');
    if (this.#sendsInFlight > 0) {
      // Invariant 3: every send is awaited before the commit.
      throw new ClientError(
        `commit() with ${this.#sendsInFlight} send(s) not yet acknowledged`,
        'fatal',
        { type: 'SENDS_IN_FLIGHT' },
      );
    }
    this.#machine.transition('COMMITTING');
    try {
      // No kafkajs transaction means nothing was sent or added: nothing to commit.
      if (this.#transaction?.isActive() === true) await this.#transaction.commit();
      this.#transaction = undefined;
      this.#machine.transition('READY');
    } catch (e) {
      // A kafkajs producer whose EndTxn failed cannot be used again.
      throw this.#fail('commit', e, 'NEEDS_REINIT');
    }
  }

  async abort(): Promise<void> {
    this.#guard('abort');
    this.#machine.transition('ABORTING');
    const cause = this.#abortCause;
    this.#abortCause = undefined;
    try {
      if (this.#transaction?.isActive() === true) await this.#transaction.abort();
      this.#transaction = undefined;
      // After a failed send the broker may have appended what kafkajs rolled back: the next
      // batch would reuse those sequence numbers and be taken for a duplicate, acknowledged
      // and dropped. A new epoch starts the sequences afresh (the Java client bumps the
      // epoch too, KIP-360).
      if (cause instanceof TransactionError && cause.operation === 'send')
        await this.#newProducer();
      this.#machine.transition('READY');
    } catch (e) {
      throw this.#fail('abort', e, 'NEEDS_REINIT');
    }
  }

  async close(): Promise<void> {
    if (this.#machine.state === 'CLOSED') return;
    this.#machine.transition('CLOSED');
    await this.#discardProducer();
  }

  // ---- internals ----

  #guard(operation: TransactionOperation): void {
    const state = this.#machine.state;
    if (state === 'FENCED') throw new ProducerFencedError(this.transactionalId);
    if (operation !== 'abort' && operation !== 'init' && state === 'ABORTABLE') {
      // Like the Java client's abortable error state: only abort() (or init()) may follow.
      throw new ClientError(
        `transaction of ${this.transactionalId} must be aborted after an earlier failure`,
        'retriable',
        { cause: this.#abortCause, type: 'TRANSACTION_ABORTABLE' },
      );
    }
    this.#machine.check(operation);
  }

  /** A send/sendOffsets failure: the transaction can only be aborted now (or the producer is fenced / fatal). */
  #failInTransaction(operation: ClientOperation, e: unknown): TransactionError {
    const err = new TransactionError(this.transactionalId, operation, e);
    if (err.kind === 'migrated') this.#machine.transition('FENCED');
    else if (err.kind === 'fatal') this.#machine.transition('FATAL');
    else if (this.#machine.state === 'IN_TRANSACTION') {
      this.#abortCause = err;
      this.#machine.transition('ABORTABLE');
    }
    return err;
  }

  #fail(operation: ClientOperation, e: unknown, otherwise: TransactionState): TransactionError {
    const err = new TransactionError(this.transactionalId, operation, e);
    const next: TransactionState =
      err.kind === 'migrated' ? 'FENCED' : err.kind === 'fatal' ? 'FATAL' : otherwise;
    if (this.#machine.state !== 'CLOSED') this.#machine.transition(next);
    return err;
  }

  #createProducer(): Producer {
    const { transactionalId } = this;
    const observer = this.#options.observer;
    let clientRetries = 0;
    const kafka: Kafka = new KafkaCtor({
      ...this.#settings.kafkaConfig,
      logLevel: kafkajsLogLevel(this.#settings.logLevel),
      logCreator: createLogCreator(this.#settings.logLevel, this.#settings.logger, (entry) => {
        // kafkajs's own retry of CONCURRENT_TRANSACTIONS (producer/sendMessages.js
        // logs it at ERROR with the wait it is about to do): should never happen
        // with the fast retry below; observed so tests and metrics can prove it.
        if (
          entry.message.includes(CONCURRENT_TRANSACTIONS_MESSAGE) &&
          typeof entry.extra['retryTime'] === 'number'
        ) {
          observer?.concurrentTransactionsRetry?.({
            transactionalId,
            request: 'Produce',
            retriedBy: 'client',
            attempt: ++clientRetries,
            waitMs: entry.extra['retryTime'],
          });
        }
      }),
    });
    enableFastConcurrentTransactionsRetry(kafka, {
      transactionalId,
      // Past this the coordinator is not just writing markers; let kafkajs's
      // normal backoff take over.
      maxWaitMs: Math.min(10_000, this.#options.transactionTimeoutMs),
      onRetry: (request, attempt, waitMs) =>
        observer?.concurrentTransactionsRetry?.({
          transactionalId,
          request,
          retriedBy: 'adapter',
          attempt,
          waitMs,
        }),
      onCoordinatorMoved: (request, fromNode, toNode) =>
        observer?.coordinatorMoved?.({ transactionalId, request, fromNode, toNode }),
    });
    return kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.#options.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Bounded so a send fails (and the task aborts and retries) within about
      // one transaction timeout instead of retrying forever; safe because a
      // failed send aborts the whole transaction and init() resets sequences.
      retry: {
        initialRetryTime: RETRY_INITIAL_MS,
        maxRetryTime: RETRY_MAX_MS,
        retries: Math.ceil(this.#options.transactionTimeoutMs / RETRY_MAX_MS) + 3,
      },
    });
  }

  async #discardProducer(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    this.#transaction = undefined;
    this.#opening = undefined;
    this.#pendingInitTransaction = false;
    if (producer === undefined) return;
    try {
      await producer.disconnect();
    } catch {
      // Disconnecting a broken producer may fail; it is being thrown away anyway.
    }
  }
}

function toKafkaMessages(records: ProducerRecord[]): KafkaMessage[] {
  return records.map((r) => {
    const m: KafkaMessage = { value: r.value };
    if (r.key !== undefined) m.key = r.key;
    if (r.partition !== undefined) m.partition = r.partition;
    if (r.headers !== undefined) m.headers = r.headers;
    if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
    return m;
  });
}

function fromKafkaMetadata(result: SentPartition[]): RecordMetadata[] {
  return result.map((m) => ({
    topic: m.topicName,
    partition: m.partition,
    baseOffset: BigInt(m.baseOffset ?? '-1'),
    ...(m.nextOffset === undefined ? {} : { nextOffset: m.nextOffset }),
  }));
}

/** at_least_once producer: idempotent, acks=all, one in-flight request; errors are `ClientError`s. */
export class KafkajsPlainProducer implements PlainProducer {
  readonly #producer: Producer;
  #connected: Promise<void> | undefined;
  readonly #sender: PartitionedSender;
  readonly #compression: number;

  constructor(
    kafka: Kafka,
    partitionCount: (topic: string) => Promise<number>,
    options: PlainProducerOptions = {},
  ) {
    this.#sender = new PartitionedSender(partitionCount);
    this.#compression = compressionType(options.compression);
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    try {
      this.#connected ??= this.#producer.connect();
      // A failed connect is not remembered: the next send tries again.
      await this.#connected.catch((err: unknown) => {
        this.#connected = undefined;
        throw err;
      });
      return fromKafkaMetadata(
        await this.#sender.send(topic, toKafkaMessages(records), (messages) =>
          this.#producer.send({ topic, acks: -1, messages, compression: this.#compression }),
        ),
      );
    } catch (e) {
      throw toClientError(e, 'send', `send to ${topic}`);
    }
  }

  async close(): Promise<void> {
    await this.#producer.disconnect().catch(() => undefined);
  }
}

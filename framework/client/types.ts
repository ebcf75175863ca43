/**
 * The Kafka client adapter interface the runtime codes against. Nothing in
 * here names kafkajs: a second implementation (e.g. librdkafka-based) only
 * has to provide `KafkaClient` (docs/architecture.md, invariant 7), and
 * throw only `ClientError`s (errors.ts).
 *
 * Offsets are `bigint` (Kafka offsets are int64). "Offset" in `sendOffsets`
 * and committed offsets always means the next offset to read.
 */

export type IsolationLevel = 'read_committed' | 'read_uncommitted';
export type ClientLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface ClientLogEntry {
  level: Exclude<ClientLogLevel, 'nothing'>;
  /** Which part of the client logged it, e.g. `Producer`, `Consumer`. */
  namespace: string;
  message: string;
  extra: Record<string, unknown>;
}

/**
 * TLS settings for the connections to the brokers (Node's `tls.connect` options of the same
 * names). PEM text or buffers.
 */
export interface TlsOptions {
  /** CA certificate(s) that signed the brokers' certificates. @default Node's bundled CAs */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate chain, for mutual TLS (`ssl.client.auth=required`); needs `key`. */
  cert?: string | Buffer;
  /** Private key of `cert`. */
  key?: string | Buffer;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Verify the brokers' certificates against `ca`. @default true */
  rejectUnauthorized?: boolean;
  /** Host name the brokers' certificates must match (SNI), when it is not the bootstrap host. */
  servername?: string;
}

/** A SASL mechanism and its credentials (KIP-43; SCRAM KIP-84; OAUTHBEARER KIP-255). */
export type SaslOptions =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | {
      mechanism: 'oauthbearer';
      /** Called for every new connection; returns a current token. */
      oauthBearerProvider: () => Promise<{ value: string }>;
    };

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** TLS to the brokers: `true` for Node's defaults, or settings. @default no TLS */
  ssl?: boolean | TlsOptions;
  /** SASL authentication. @default none */
  sasl?: SaslOptions;
  /** @default 'error' */
  logLevel?: ClientLogLevel;
  /** Where client log lines go. @default console.error for error/warn, console.log otherwise */
  logger?: (entry: ClientLogEntry) => void;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** @default 3000 */
  connectionTimeoutMs?: number;
  /** Retries of a failed request, in kafkajs's convention. @default kafkajs's (5 retries from 300 ms) */
  retry?: RetryOptions;
}

/** Retry backoff in kafkajs's convention: wait initialRetryTime, then × multiplier ± factor, up to maxRetryTime. */
export interface RetryOptions {
  /** @default 5 */
  retries?: number;
  /** @default 300 */
  initialRetryTime?: number;
  /** @default 30000 */
  maxRetryTime?: number;
  /** Randomization of each wait, 0 to 1. @default 0.2 */
  factor?: number;
  /** Growth of the wait per retry. @default 2 */
  multiplier?: number;
}

/** One partition of a topic as the cluster metadata describes it. */
export interface PartitionMetadata {
  partition: number;
  /** Broker id of the leader, -1 when it has none. */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** @default -1 (the broker's default.replication.factor) */
  replicationFactor?: number;
  config?: Record<string, string>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: bigint;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface ClusterDescription {
  clusterId: string;
  controllerId: number | null;
  brokers: BrokerInfo[];
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet; an existing topic is not an error. Waits for leaders. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  /** Partition count per topic; throws (kind `fatal`) naming the topic when one does not exist. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** Next offset to read per partition for the group; partitions without a commit are absent. */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>>;
  /** Per partition: the last stable offset (read_committed, default) or the high watermark. */
  endOffsets(topic: string, isolation?: IsolationLevel): Promise<Map<number, bigint>>;
  /** Per partition: the log start offset. */
  beginningOffsets(topic: string): Promise<Map<number, bigint>>;
  /** Every topic's name, sorted (internal ones included). */
  listTopics(): Promise<string[]>;
  /** Partitions with their leaders, per topic, as the asked broker's metadata has them. */
  topicMetadata(topics: string[]): Promise<Map<string, PartitionMetadata[]>>;
  /** Deletes each partition's records below the offset (DeleteRecords; the log start moves). */
  deleteRecords(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Values of these configs of one broker (those it reports). */
  brokerConfigs(names: string[]): Promise<Map<string, string>>;
  describeCluster(): Promise<ClusterDescription>;
  close(): Promise<void>;
}

export type Headers = Record<string, Buffer | string>;

export interface ProducerRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** When absent, Kafka's default partitioner (murmur2 of the key, as in the Java client). */
  partition?: number;
  headers?: Headers;
  /** Milliseconds since the epoch. @default now */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** Offset of the first record of the send in that partition. */
  baseOffset: bigint;
  /** Offset after the send's last record in that partition (when the client knows it). */
  nextOffset?: bigint;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch. */
  timestamp: number;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  /**
   * Producer id of the record's batch (-1 when it was written without idempotence), where the
   * backend reports it (`readPartition` on kafkajs): who wrote it, for audits and tests.
   */
  producerId?: bigint;
}

/**
 * States of a transactional producer. The allowed transitions are the table
 * `TRANSACTION_TRANSITIONS` in transaction-state.ts.
 */
export type TransactionState =
  | 'UNINITIALIZED'
  | 'INITIALIZING'
  | 'READY'
  | 'IN_TRANSACTION'
  | 'COMMITTING'
  | 'ABORTING'
  | 'ABORTABLE'
  | 'NEEDS_REINIT'
  | 'FENCED'
  | 'FATAL'
  | 'CLOSED';

/** Record batch compression the adapters support without native codecs. */
export type Compression = 'none' | 'gzip';

export interface PlainProducerOptions {
  /** @default 'none' */
  compression?: Compression;
}

export interface TransactionalProducerOptions {
  /** Must exceed the commit interval (checked by the runtime). @default 60000 */
  transactionTimeoutMs?: number;
  /** @default 'none' */
  compression?: Compression;
  /** Observer for client-level events (tests, metrics). */
  observer?: ProducerObserver;
}

/** A CONCURRENT_TRANSACTIONS answer that was retried, and how long the retry waited. */
export interface ConcurrentTransactionsRetry {
  transactionalId: string;
  /** The request that got CONCURRENT_TRANSACTIONS. */
  request: 'AddPartitionsToTxn' | 'AddOffsetsToTxn' | 'InitProducerId' | 'Produce';
  /** `adapter`: our short backoff; `client`: the Kafka client's own (slow) retry. */
  retriedBy: 'adapter' | 'client';
  attempt: number;
  waitMs: number;
}

/** A request refused by a broker that is no longer the coordinator, sent again to the new one. */
export interface CoordinatorMoved {
  transactionalId: string;
  request:
    'AddPartitionsToTxn' | 'AddOffsetsToTxn' | 'InitProducerId' | 'EndTxn' | 'TxnOffsetCommit';
  /** Broker ids: the one that refused, the one asked next. */
  fromNode: number;
  toNode: number;
}

export interface ProducerObserver {
  concurrentTransactionsRetry?(event: ConcurrentTransactionsRetry): void;
  coordinatorMoved?(event: CoordinatorMoved): void;
  stateChange?(event: {
    transactionalId: string;
    from: TransactionState;
    to: TransactionState;
  }): void;
}

/**
 * One transactional producer per task (docs/architecture.md, invariant 1). Every method
 * that talks to Kafka must be awaited; every failure is a `ClientError`
 * whose `kind` says what to do (see errors.ts).
 */
export interface TransactionalProducer {
  readonly transactionalId: string;
  readonly state: TransactionState;
  /**
   * InitProducerId: bumps the epoch, fences any previous producer with this
   * transactional id and completes or aborts its open transaction. Also the
   * way out of NEEDS_REINIT / ABORTABLE: the old client producer is discarded.
   */
  init(): Promise<void>;
  begin(): void;
  /** Resolves when every record is acknowledged by all in-sync replicas (acks=all). */
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  /** Adds the group's next-offsets-to-read to the transaction. */
  sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /** Disconnects. Does not abort an open transaction: the next owner's init() or the transaction timeout does. */
  close(): Promise<void>;
}

/**
 * A non-transactional producer for at_least_once: idempotent (KIP-98; no
 * duplicates from its own retries), acks=all, one in-flight request.
 */
export interface PlainProducer {
  /** Resolves when every record is acknowledged by all in-sync replicas. */
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  close(): Promise<void>;
}

export interface GroupMemberInfo {
  memberId: string;
  /** What the member put in its subscription (e.g. the tasks whose state it holds). */
  userData: Buffer;
  topics: string[];
}

export type Assignment = Record<string, number[]>;

/**
 * A partition assigner run by the group leader. Kafka's classic group
 * protocol lets the leader compute the whole assignment (KIP-429 cooperative
 * protocols are not available in kafkajs: every rebalance is eager).
 */
export interface GroupAssigner {
  name: string;
  version: number;
  /** userData this member sends with its subscription. */
  subscriptionUserData?(): Buffer;
  assign(group: {
    members: GroupMemberInfo[];
    topics: string[];
    partitionCounts: Map<string, number>;
  }):
    | Map<string, { assignment: Assignment; userData?: Buffer }>
    | Promise<Map<string, { assignment: Assignment; userData?: Buffer }>>;
}

export interface GroupConsumerOptions {
  groupId: string;
  assigner: GroupAssigner;
  /** @default 10000 */
  sessionTimeoutMs?: number;
  /** @default 60000 */
  rebalanceTimeoutMs?: number;
  /** @default 3000 */
  heartbeatIntervalMs?: number;
  /** How long the broker may wait for `minBytes` before it answers a fetch. @default 500 */
  maxWaitTimeMs?: number;
  /** @default 1 */
  minBytes?: number;
  /** @default 10485760 */
  maxBytes?: number;
  /** @default 1048576 */
  maxBytesPerPartition?: number;
  /**
   * Batches of different partitions handed to the handler at once (each partition's batches
   * stay in order). @default 1
   */
  partitionsConsumedConcurrently?: number;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  highWatermark: bigint;
  /** True when a seek or rebalance made this batch obsolete: do not process it. */
  isStale(): boolean;
  heartbeat(): Promise<void>;
}

export interface GroupJoinEvent {
  groupId: string;
  memberId: string;
  leaderId: string;
  isLeader: boolean;
  /** kafkajs drops the assignment's userData, so assigners must not rely on it reaching members. */
  assignment: Assignment;
}

export interface GroupConsumerEvents {
  /** A rebalance finished; `assignment` replaces the previous one entirely (eager protocol). */
  groupJoin: GroupJoinEvent;
  /** A rebalance started: the current assignment is about to be revoked. */
  rebalancing: { groupId: string; memberId: string };
  /** The consumer failed; if `restart` is false it stopped for good. */
  crash: { groupId: string; error: unknown; restart: boolean };
  stop: Record<string, never>;
}

/**
 * A consumer-group member: read_committed, offsets never committed by the
 * consumer (they are committed by the task's transaction via sendOffsets).
 */
/** One member of a consumer group, as DescribeGroups reports it. */
export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  /** The member's subscription userData (what its assigner's `subscriptionUserData` sent). */
  userData: Buffer;
  /** The assignment the leader gave it (topic → partitions; its userData is not kept). */
  assignment: Assignment;
}

export interface GroupDescription {
  /** `Stable` once every member has its assignment; members carry metadata only then. */
  state: string;
  members: GroupMemberDescription[];
}

export interface GroupConsumer {
  readonly groupId: string;
  subscribe(topics: string[]): Promise<void>;
  /** Starts fetching; the handler is called for one partition's batch at a time. */
  run(handler: (batch: ConsumedBatch) => Promise<void>): Promise<void>;
  on<E extends keyof GroupConsumerEvents>(
    event: E,
    listener: (payload: GroupConsumerEvents[E]) => void,
  ): () => void;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** Sets the next offset to fetch for an assigned partition. */
  seek(topic: string, partition: number, offset: bigint): void;
  /**
   * Commits next-offsets-to-read for the group outside any transaction
   * (at_least_once only; under exactly_once offsets go through sendOffsets).
   */
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  /**
   * The group's members with their subscription metadata and assignments (DescribeGroups):
   * how a member that is not the leader learns what the others claimed, for assignments
   * computed from member metadata alone (kafkajs drops the assignment's userData).
   */
  describeGroup(): Promise<GroupDescription>;
  /** Leaves the group and disconnects. */
  close(): Promise<void>;
}

export interface ReadPartitionOptions {
  /** @default 'read_committed' */
  isolation?: IsolationLevel;
  /** Fail (kind `retriable`) if the range cannot be read within this time. @default 60000 */
  timeoutMs?: number;
  /** @default 1048576 */
  maxBytes?: number;
}

export interface KafkaClient {
  readonly admin: KafkaAdmin;
  transactionalProducer(
    transactionalId: string,
    options?: TransactionalProducerOptions,
  ): TransactionalProducer;
  /** A producer without transactions (at_least_once). */
  producer(options?: PlainProducerOptions): PlainProducer;
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  /**
   * Reads one partition from `fromOffset` (inclusive) to `untilOffset`
   * (exclusive), outside any consumer group, yielding non-empty batches.
   * `'end'` means the end offset for the isolation level when the read
   * starts (the last stable offset under read_committed). Transaction
   * markers and aborted records are skipped; under read_committed only
   * committed records are yielded.
   */
  readPartition(
    topic: string,
    partition: number,
    fromOffset: bigint,
    untilOffset: bigint | 'end',
    options?: ReadPartitionOptions,
  ): AsyncIterable<ConsumedRecord[]>;
  close(): Promise<void>;
}

/** Makes a client of one backend; StreamsApp takes one (docs/architecture.md, "Client boundary"). */
export type KafkaClientFactory = (
  options: KafkaClientOptions,
) => KafkaClient | Promise<KafkaClient>;

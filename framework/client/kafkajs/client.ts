/** KafkaClient on kafkajs 2.2.4: admin, transactional producers, group consumers, partition reader. */
// Before kafkajs loads: its quadratic grouping replaced (linear-grouping.ts).
import './linear-grouping.ts';
import './produce-encoder.ts';
import kafkajs from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Admin, Kafka, KafkaConfig, SASLOptions } from 'kafkajs';
import { ClientError } from '../errors.ts';
import type {
  ClusterDescription,
  ConsumedRecord,
  GroupConsumer,
  GroupConsumerOptions,
  IsolationLevel,
  KafkaAdmin,
  KafkaClient,
  KafkaClientOptions,
  PlainProducer,
  ReadPartitionOptions,
  TopicSpec,
  PartitionMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
  TransactionalProducerOptions,
  PlainProducerOptions,
  SaslOptions,
  TlsOptions,
} from '../types.ts';
import { KafkajsGroupConsumer } from './consumer.ts';
import { atBoundary, classifyKafkajs, retryingReads, toClientError } from './errors.ts';
import { Batch, ISOLATION, createInternalCluster, installKafkajsPatches } from './internals.ts';
import type { InternalCluster } from './internals.ts';
import { createLogCreator, defaultLogger, kafkajsLogLevel } from './logging.ts';
import { KafkajsPlainProducer, KafkajsTransactionalProducer } from './producer.ts';
import { PartitionCounts } from './partitioned-send.ts';

const { Kafka: KafkaCtor, ConfigResourceTypes } = kafkajs;

/** ListOffsets timestamps (KIP-79): latest / earliest. */
const LATEST = -1;
const EARLIEST = -2;

function isolationCode(isolation: IsolationLevel): number {
  return isolation === 'read_committed' ? ISOLATION.READ_COMMITTED : ISOLATION.READ_UNCOMMITTED;
}

class KafkajsAdmin implements KafkaAdmin {
  readonly #kafka: Kafka;
  #admin: Promise<Admin> | undefined;
  readonly #clusters = new Map<number, Promise<InternalCluster>>();

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
  }

  async #connected(): Promise<Admin> {
    if (this.#admin === undefined) {
      const admin = this.#kafka.admin();
      this.#admin = admin.connect().then(() => admin);
      this.#admin.catch(() => (this.#admin = undefined));
    }
    return this.#admin;
  }

  /** A raw kafkajs cluster per isolation level, for ListOffsets and Fetch. */
  async cluster(isolation: IsolationLevel): Promise<InternalCluster> {
    const code = isolationCode(isolation);
    let cluster = this.#clusters.get(code);
    if (cluster === undefined) {
      const c = createInternalCluster(this.#kafka, code);
      cluster = c.connect().then(() => c);
      cluster.catch(() => this.#clusters.delete(code));
      this.#clusters.set(code, cluster);
    }
    return cluster;
  }

  createTopics(topics: TopicSpec[]): Promise<void> {
    return atBoundary('admin', 'createTopics', () => this.#createTopics(topics));
  }

  async #createTopics(topics: TopicSpec[]): Promise<void> {
    const admin = await this.#connected();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    try {
      if (missing.length > 0)
        await admin.createTopics({
          // kafkajs's own wait fails outright when the broker it asks has not
          // caught up with the new topic's metadata yet (seen on Kafka 3.9);
          // we wait for leaders ourselves below, retrying that answer.
          waitForLeaders: false,
          topics: missing.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            replicationFactor: t.replicationFactor ?? -1,
            configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
    } catch (e) {
      // Another worker created it between listTopics and createTopics: fine (idempotent).
      if (!hasTopicAlreadyExists(e)) throw toClientError(e, 'admin', 'createTopics');
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      // Every requested topic, also one another worker just created: this
      // worker's next request may go to a broker that has not seen it yet.
      const ready = await admin
        .fetchTopicMetadata({ topics: topics.map((t) => t.topic) })
        .then((m) =>
          m.topics.every(
            (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
          ),
        )
        .catch(() => false);
      if (ready) return;
      if (Date.now() > deadline) {
        throw new ClientError(
          `topics have no leaders after 30 s: ${topics.map((t) => t.topic).join(', ')}`,
          'retriable',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100)); // polling the cluster's metadata
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    await atBoundary('admin', 'deleteTopics', async () => {
      const admin = await this.#connected();
      await admin.deleteTopics({ topics });
    });
  }

  listTopics(): Promise<string[]> {
    return atBoundary('admin', 'listTopics', async () => {
      const admin = await this.#connected();
      return (await admin.listTopics()).sort();
    });
  }

  topicMetadata(topics: string[]): Promise<Map<string, PartitionMetadata[]>> {
    return retryingReads('topicMetadata', async () => {
      const admin = await this.#connected();
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      return new Map(
        metadata.map((t) => [
          t.name,
          t.partitions
            .map((p) => ({
              partition: p.partitionId,
              leader: p.leader,
              replicas: p.replicas,
              isr: p.isr,
            }))
            .sort((a, b) => a.partition - b.partition),
        ]),
      );
    });
  }

  deleteRecords(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    return atBoundary('admin', 'deleteRecords', async () => {
      const admin = await this.#connected();
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const o of offsets)
        byTopic.set(o.topic, [
          ...(byTopic.get(o.topic) ?? []),
          { partition: o.partition, offset: o.offset.toString() },
        ]);
      for (const [topic, partitions] of byTopic)
        await admin.deleteTopicRecords({ topic, partitions });
    });
  }

  brokerConfigs(names: string[]): Promise<Map<string, string>> {
    return atBoundary('admin', 'describeConfigs', async () => {
      const admin = await this.#connected();
      const cluster = await admin.describeCluster();
      const broker = cluster.brokers[0];
      if (broker === undefined) return new Map<string, string>();
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: ConfigResourceTypes.BROKER, name: String(broker.nodeId), configNames: names },
        ],
      });
      const out = new Map<string, string>();
      for (const r of resources)
        for (const e of r.configEntries)
          if (e.configValue !== null) out.set(e.configName, e.configValue);
      return out;
    });
  }

  partitionCounts(topics: string[]): Promise<Map<string, number>> {
    return atBoundary('admin', 'partitionCounts', () => this.#partitionCounts(topics));
  }

  async #partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const admin = await this.#connected();
    let missing: string[] = [];
    // A topic created a moment ago (by another worker) may be unknown to the
    // broker asked; a missing topic is reported after a few seconds.
    for (let attempt = 0; attempt < 15; attempt++) {
      const existing = new Set(await admin.listTopics());
      missing = topics.filter((t) => !existing.has(t));
      if (missing.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200)); // metadata propagation, not a sync
    }
    if (missing.length > 0) {
      throw new ClientError(`topic(s) do not exist: ${missing.join(', ')}`, 'fatal', {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
        code: 3,
      });
    }
    // The topics exist (the controller says so), but the broker asked for
    // metadata may not have caught up yet (seen on Kafka 3.9): retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
        return new Map(metadata.map((t) => [t.name, t.partitions.length]));
      } catch (e) {
        if (attempt >= 50 || classifyKafkajs(e, 'admin').kind !== 'retriable') throw e;
        await new Promise((resolve) => setTimeout(resolve, 200)); // metadata propagation, not a sync
      }
    }
  }

  committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    return retryingReads('committedOffsets', async () => {
      const admin = await this.#connected();
      const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const offsets = new Map<number, bigint>();
      for (const p of result?.partitions ?? []) {
        if (p.offset !== '-1') offsets.set(p.partition, BigInt(p.offset));
      }
      return offsets;
    });
  }

  endOffsets(
    topic: string,
    isolation: IsolationLevel = 'read_committed',
  ): Promise<Map<number, bigint>> {
    return retryingReads('endOffsets', () => this.#listOffsets(topic, LATEST, isolation));
  }

  beginningOffsets(topic: string): Promise<Map<number, bigint>> {
    return retryingReads('beginningOffsets', () =>
      this.#listOffsets(topic, EARLIEST, 'read_uncommitted'),
    );
  }

  /** ListOffsets with an explicit isolation level: read_committed "latest" is the last stable offset (KIP-98). */
  async #listOffsets(
    topic: string,
    timestamp: number,
    isolation: IsolationLevel,
  ): Promise<Map<number, bigint>> {
    const cluster = await this.cluster(isolation);
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadata();
    const byLeader = new Map<number, number[]>();
    for (const p of cluster.findTopicPartitionMetadata(topic)) {
      byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partitionId]);
    }
    const out = new Map<number, bigint>();
    await Promise.all(
      [...byLeader].map(async ([nodeId, partitions]) => {
        const broker = await cluster.findBroker({ nodeId });
        const { responses } = await broker.listOffsets({
          replicaId: -1,
          isolationLevel: isolationCode(isolation),
          topics: [
            { topic, partitions: partitions.map((partition) => ({ partition, timestamp })) },
          ],
        });
        for (const r of responses)
          for (const p of r.partitions) out.set(p.partition, BigInt(p.offset));
      }),
    );
    return out;
  }

  describeCluster(): Promise<ClusterDescription> {
    return atBoundary('admin', 'describeCluster', async () => {
      const admin = await this.#connected();
      const d = await admin.describeCluster();
      return {
        clusterId: d.clusterId,
        controllerId: d.controller,
        brokers: d.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      };
    });
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    const clusters = [...this.#clusters.values()];
    this.#admin = undefined;
    this.#clusters.clear();
    await Promise.allSettled([
      ...(admin ? [admin.then((a) => a.disconnect())] : []),
      ...clusters.map((c) => c.then((cl) => cl.disconnect())),
    ]);
  }
}

function hasTopicAlreadyExists(e: unknown): boolean {
  const seen = new Set<unknown>();
  const stack: unknown[] = [e];
  while (stack.length > 0) {
    const cur = stack.pop();
    if (typeof cur !== 'object' || cur === null || seen.has(cur)) continue;
    seen.add(cur);
    const o = cur as { type?: unknown; errors?: unknown; cause?: unknown };
    if (o.type === 'TOPIC_ALREADY_EXISTS') return true;
    if (Array.isArray(o.errors)) stack.push(...(o.errors as unknown[]));
    stack.push(o.cause);
  }
  return false;
}

export class KafkajsClient implements KafkaClient {
  readonly #kafka: Kafka;
  readonly #options: KafkaClientOptions;
  readonly #admin: KafkajsAdmin;
  readonly #closeables = new Set<{ close(): Promise<void> }>();
  readonly #partitionCounts = new PartitionCounts(async (topic) => {
    const count = (await this.#admin.partitionCounts([topic])).get(topic);
    if (count === undefined) throw new ClientError(`no metadata for topic ${topic}`, 'retriable');
    return count;
  });

  constructor(options: KafkaClientOptions) {
    installKafkajsPatches(); // version check and prototype patches: only once a client exists
    this.#options = options;
    const logLevel = options.logLevel ?? 'error';
    this.#kafka = new KafkaCtor({
      ...this.#kafkaConfig(),
      logLevel: kafkajsLogLevel(logLevel),
      logCreator: createLogCreator(logLevel, options.logger ?? defaultLogger),
    });
    this.#admin = new KafkajsAdmin(this.#kafka);
  }

  /**
   * The settings every kafkajs instance of this client gets — the admin, the group consumer,
   * the plain producer, the partition reader (the admin's cluster) and each transactional
   * producer's own instance — so TLS, SASL, timeouts and retries apply to every connection.
   */
  #kafkaConfig(): Omit<KafkaConfig, 'logCreator' | 'logLevel'> {
    const { ssl, sasl, retry } = this.#options;
    return {
      brokers: this.#options.brokers,
      clientId: this.#options.clientId,
      requestTimeout: this.#options.requestTimeoutMs ?? 30_000,
      connectionTimeout: this.#options.connectionTimeoutMs ?? 3_000,
      ...(retry ? { retry: { ...retry } } : {}),
      ...(ssl === undefined || ssl === false ? {} : { ssl: kafkajsTls(ssl) }),
      ...(sasl === undefined ? {} : { sasl: kafkajsSasl(sasl) }),
    };
  }

  get admin(): KafkaAdmin {
    return this.#admin;
  }

  transactionalProducer(
    transactionalId: string,
    options?: TransactionalProducerOptions,
  ): TransactionalProducer {
    const producer = new KafkajsTransactionalProducer(
      transactionalId,
      {
        kafkaConfig: this.#kafkaConfig(),
        logLevel: this.#options.logLevel ?? 'error',
        logger: this.#options.logger ?? defaultLogger,
        partitionCount: (topic) => this.#partitionCounts.get(topic),
      },
      options,
    );
    this.#closeables.add(producer);
    return producer;
  }

  producer(options: PlainProducerOptions = {}): PlainProducer {
    const producer = new KafkajsPlainProducer(
      this.#kafka,
      (topic) => this.#partitionCounts.get(topic),
      options,
    );
    this.#closeables.add(producer);
    return producer;
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    const consumer = new KafkajsGroupConsumer(this.#kafka, options);
    this.#closeables.add(consumer);
    return consumer;
  }

  /**
   * Fetch requests straight to the partition leader with the isolation level
   * asked for; kafkajs's Batch drops aborted records (using the response's
   * aborted-transactions list) and control records. The position advances by
   * whole record batches (firstOffset + lastOffsetDelta + 1), so it moves past
   * transaction markers and compacted gaps (KAFKA-10167 is why "end" is the
   * last stable offset, not the high watermark, under read_committed).
   */
  async *readPartition(
    topic: string,
    partition: number,
    fromOffset: bigint,
    untilOffset: bigint | 'end',
    options: ReadPartitionOptions = {},
  ): AsyncIterable<ConsumedRecord[]> {
    const isolation = options.isolation ?? 'read_committed';
    const maxBytes = options.maxBytes ?? 1_048_576;
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const until =
      untilOffset === 'end'
        ? (await this.#admin.endOffsets(topic, isolation)).get(partition)
        : untilOffset;
    if (until === undefined)
      throw new ClientError(`${topic}-${partition} does not exist`, 'fatal', {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
        code: 3,
      });
    const cluster = await this.#admin.cluster(isolation);
    await cluster.addTargetTopic(topic);
    let position = fromOffset;
    while (position < until) {
      if (Date.now() > deadline) {
        throw new ClientError(
          `reading ${topic}-${partition} [${fromOffset}, ${until}) timed out at offset ${position}`,
          'retriable',
          {
            type: 'READ_TIMEOUT',
          },
        );
      }
      const leader = cluster
        .findTopicPartitionMetadata(topic)
        .find((p) => p.partitionId === partition)?.leader;
      if (leader === undefined) {
        await cluster.refreshMetadata();
        continue;
      }
      let data;
      try {
        const broker = await cluster.findBroker({ nodeId: leader });
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel: isolationCode(isolation),
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes,
          topics: [
            { topic, partitions: [{ partition, fetchOffset: position.toString(), maxBytes }] },
          ],
        });
        data = response.responses
          .find((r) => r.topicName === topic)
          ?.partitions.find((p) => p.partition === partition);
      } catch (e) {
        const c = classifyKafkajs(e, 'fetch');
        if (!c.canRetry) throw toClientError(e, 'fetch', `fetch ${topic}-${partition}@${position}`);
        await cluster.refreshMetadata(); // leader moved or broker down: retry until the deadline
        continue;
      }
      if (data === undefined) continue;
      const batch = new Batch(topic, position.toString(), data);
      let next = position;
      for (const m of batch.messagesWithinOffset) {
        const end =
          BigInt(m.batchContext.firstOffset) + BigInt(m.batchContext.lastOffsetDelta) + 1n;
        if (end > next) next = end;
      }
      const records: ConsumedRecord[] = [];
      for (const m of batch.messages) {
        const offset = BigInt(m.offset);
        if (offset >= until) break;
        records.push({
          topic,
          partition,
          offset,
          key: m.key,
          value: m.value,
          timestamp: Number(m.timestamp),
          headers: m.headers,
        });
      }
      position = next;
      if (records.length > 0) yield records;
    }
  }

  async close(): Promise<void> {
    const closing = [...this.#closeables].map((c) => c.close());
    this.#closeables.clear();
    await Promise.allSettled(closing);
    await this.#admin.close();
  }
}

/** kafkajs hands `ssl` to tls.connect as it is: copy what we were given, arrays mutable. */
function kafkajsTls(ssl: true | TlsOptions): true | ConnectionOptions {
  if (ssl === true) return true;
  const { ca, ...rest } = ssl;
  if (ca === undefined) return { ...rest };
  return { ...rest, ca: typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca] };
}

function kafkajsSasl(sasl: SaslOptions): SASLOptions {
  if (sasl.mechanism === 'oauthbearer')
    return { mechanism: 'oauthbearer', oauthBearerProvider: sasl.oauthBearerProvider };
  // kafkajs reads the credentials when it authenticates a connection; it never logs them.
  return {
    mechanism: sasl.mechanism,
    username: sasl.username,
    password: sasl.password,
  } as SASLOptions;
}

export function createKafkajsClient(options: KafkaClientOptions): KafkaClient {
  return new KafkajsClient(options);
}

/**
 * GroupConsumer on kafkajs: read_committed, offsets never committed by the
 * consumer (autoCommit off; the task's transaction commits them through
 * sendOffsets), the runtime's own assigner.
 *
 * kafkajs has no revoke callback (eager protocol, no KIP-429): REBALANCING
 * is the only signal that the assignment is about to go, and GROUP_JOIN
 * carries the complete new assignment.
 *
 * kafkajs fetches the group's committed offsets itself when a partition is
 * first fetched (OffsetFetch v1–v5, without KIP-447's require_stable), which
 * can be stale while the previous owner's transaction is unresolved. The
 * runtime must pause new partitions on groupJoin, fence (producer init),
 * read committed offsets through the admin, seek, then resume (invariant 2).
 */
// Before kafkajs loads: its quadratic grouping replaced (linear-grouping.ts).
import './linear-grouping.ts';
import kafkajs from 'kafkajs';
import type { Consumer, Kafka, PartitionAssigner } from 'kafkajs';
import type {
  Assignment,
  ConsumedBatch,
  GroupAssigner,
  GroupConsumer,
  GroupConsumerEvents,
  GroupConsumerOptions,
  GroupDescription,
  TopicPartition,
  TopicPartitionOffset,
} from '../types.ts';
import { atBoundary, toClientError } from './errors.ts';

const { AssignerProtocol } = kafkajs;

function toKafkajsAssigner(assigner: GroupAssigner): PartitionAssigner {
  return ({ cluster }) => ({
    name: assigner.name,
    version: assigner.version,
    protocol: ({ topics }) => ({
      name: assigner.name,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: assigner.version,
        topics,
        userData: assigner.subscriptionUserData?.() ?? Buffer.alloc(0),
      }),
    }),
    async assign({ members, topics }) {
      const partitionCounts = new Map<string, number>();
      for (const topic of topics)
        partitionCounts.set(topic, cluster.findTopicPartitionMetadata(topic).length);
      const decoded = members.map((m) => {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        return {
          memberId: m.memberId,
          userData: meta?.userData ?? Buffer.alloc(0),
          topics: meta?.topics ?? [],
        };
      });
      const result = await assigner.assign({ members: decoded, topics, partitionCounts });
      return decoded.map(({ memberId }) => {
        const a = result.get(memberId);
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: assigner.version,
            assignment: a?.assignment ?? {},
            userData: a?.userData ?? Buffer.alloc(0),
          }),
        };
      });
    },
  });
}

export class KafkajsGroupConsumer implements GroupConsumer {
  readonly groupId: string;
  readonly #consumer: Consumer;
  readonly #concurrency: number;

  constructor(kafka: Kafka, options: GroupConsumerOptions) {
    this.groupId = options.groupId;
    this.#concurrency = options.partitionsConsumedConcurrently ?? 1;
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      partitionAssigners: [toKafkajsAssigner(options.assigner)],
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
      minBytes: options.minBytes ?? 1,
      maxBytes: options.maxBytes ?? 10_485_760,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      readUncommitted: false, // invariant 6
      allowAutoTopicCreation: false,
    });
  }

  subscribe(topics: string[]): Promise<void> {
    return atBoundary('group', 'subscribe', async () => {
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topics, fromBeginning: true });
    });
  }

  async run(handler: (batch: ConsumedBatch) => Promise<void>): Promise<void> {
    await atBoundary('group', 'run', () =>
      this.#consumer.run({
        autoCommit: false, // invariant 1: offsets are committed only inside the task's transaction
        eachBatchAutoResolve: true,
        // Batches of one fetch are handed to this many workers at once (kafkajs fetches again
        // only when all of them are done); batches of one partition stay in order.
        partitionsConsumedConcurrently: this.#concurrency,
        eachBatch: async ({ batch, isStale, heartbeat }) => {
          await handler({
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: BigInt(batch.highWatermark),
            isStale,
            heartbeat,
            records: batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: BigInt(m.offset),
              key: m.key ?? null,
              value: m.value ?? null,
              timestamp: Number(m.timestamp),
              headers: m.headers ?? {},
            })) as ConsumedBatch['records'],
          });
        },
      }),
    );
  }

  on<E extends keyof GroupConsumerEvents>(
    event: E,
    listener: (payload: GroupConsumerEvents[E]) => void,
  ): () => void {
    const { events } = this.#consumer;
    const emit = listener as (payload: unknown) => void;
    switch (event) {
      case 'groupJoin':
        return this.#consumer.on(events.GROUP_JOIN, ({ payload }) => {
          const assignment: Assignment = {};
          for (const [topic, partitions] of Object.entries(payload.memberAssignment))
            assignment[topic] = [...partitions];
          emit({
            groupId: payload.groupId,
            memberId: payload.memberId,
            leaderId: payload.leaderId,
            isLeader: payload.isLeader,
            assignment,
          });
        });
      case 'rebalancing':
        return this.#consumer.on(events.REBALANCING, ({ payload }) =>
          emit({ groupId: payload.groupId, memberId: payload.memberId }),
        );
      case 'crash':
        return this.#consumer.on(events.CRASH, ({ payload }) =>
          emit({
            groupId: payload.groupId,
            error: toClientError(payload.error, 'group', 'the group consumer'),
            restart: payload.restart,
          }),
        );
      case 'stop':
        return this.#consumer.on(events.STOP, () => emit({}));
      default:
        throw new Error(`unknown consumer event ${String(event)}`);
    }
  }

  // While kafkajs restarts a crashed consumer it has no consumer group and
  // throws "Consumer group was not initialized". Nothing is fetched then
  // anyway, and the rejoin that follows delivers a new assignment, which the
  // runtime answers with fresh pauses and seeks: drop the call, never crash.
  pause(partitions: TopicPartition[]): void {
    whileRunning(() => this.#consumer.pause(groupByTopic(partitions)));
  }

  resume(partitions: TopicPartition[]): void {
    whileRunning(() => this.#consumer.resume(groupByTopic(partitions)));
  }

  seek(topic: string, partition: number, offset: bigint): void {
    whileRunning(() => this.#consumer.seek({ topic, partition, offset: offset.toString() }));
  }

  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    return atBoundary('group', 'commitOffsets', () =>
      this.#consumer.commitOffsets(
        offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: o.offset.toString(),
        })),
      ),
    );
  }

  describeGroup(): Promise<GroupDescription> {
    return atBoundary('group', 'describeGroup', async () => {
      const group = await this.#consumer.describeGroup();
      return {
        state: group.state,
        members: group.members.map((m) => {
          // Outside Stable the broker leaves metadata and assignment empty.
          const meta =
            m.memberMetadata.length > 0
              ? AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
              : null;
          const assigned =
            m.memberAssignment.length > 0
              ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
              : null;
          const assignment: Assignment = {};
          for (const [topic, partitions] of Object.entries(assigned?.assignment ?? {}))
            assignment[topic] = [...partitions];
          return {
            memberId: m.memberId,
            clientId: m.clientId,
            userData: meta?.userData ?? Buffer.alloc(0),
            assignment,
          };
        }),
      };
    });
  }

  close(): Promise<void> {
    return atBoundary('group', 'close', () => this.#consumer.disconnect());
  }
}

function whileRunning(call: () => void): void {
  try {
    call();
  } catch (err) {
    if (!(err instanceof Error && /not initialized|must be called first/.test(err.message)))
      throw err;
  }
}

function groupByTopic(partitions: TopicPartition[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
}

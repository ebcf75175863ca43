/**
 * A task's environment: everything a StreamTask needs from outside — its
 * output (the transactional producer under exactly_once), committed and
 * changelog offsets, the changelog reader, the consumer's seek, the clock.
 *
 * `createTaskEnvironment` is the one factory for it, used by StreamsApp (on
 * the real Kafka client) and by the TopologyTestDriver (on the testkit's
 * in-memory client), so both run the same task code with the same names
 * and offset rules; only the client differs (docs/architecture.md,
 * "Task environment").
 */
import type { KafkaClient, TopicPartition } from '../client/index.ts';
import type { LogFields } from '../logger.ts';
import { topicPartitionKey, transactionalId } from '../names.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import { getDefaultTelemetry, type Telemetry } from '../telemetry.ts';
import type { StateStore } from '../processor.ts';
import type { OffsetReset } from '../topology.ts';
import type { StandbyEnvironment } from './standby-task.ts';
import type { StateEnvironment, RestoreEvent } from './state-manager.ts';
import {
  AtLeastOnceTaskOutput,
  TransactionalTaskOutput,
  type AtLeastOnceClients,
  type ErrorContextSource,
  type TaskOutput,
} from './task-output.ts';

export interface CommitEvent {
  taskId: string;
  /** Input records the transaction covered. */
  records: number;
  /** From the first send of the commit (outbox flush) to the commit's acknowledgement. */
  durationMs: number;
}

/** A source partition of a task and where to start it when the group has no offset for it. */
export interface SourcePartition extends TopicPartition {
  reset: OffsetReset;
}

export interface TaskEnvironment extends StateEnvironment {
  readonly options: CompiledStreamsAppOptions;
  readonly telemetry: Telemetry;
  /** Builds the task's output; called once per task. */
  createOutput(where: ErrorContextSource): TaskOutput;
  /**
   * Next offset to read per partition (by topicPartitionKey), read after fencing: the group's
   * committed offset, or per `reset` the log start or end when none is committed (or the
   * committed one fell out of the log).
   */
  startOffsets(partitions: readonly SourcePartition[]): Promise<Map<string, bigint>>;
  /** Points the consumer at `offset` and resumes fetching the partition. */
  seek(topic: string, partition: number, offset: bigint): void;
  /** Stops fetching a partition (its task has enough buffered). */
  pause?(topic: string, partition: number): void;
  resume?(topic: string, partition: number): void;
  /** A source partition's last stable offset (read_committed end). */
  endOffset(topic: string, partition: number): Promise<bigint>;
  /** The task has work it could do now (an end offset arrived): have it drained soon. */
  wake?(): void;
  /** Partition count of a topic if already known. */
  partitionCount(topic: string): number | undefined;
  /** Partition count of a topic, asking Kafka if needed. */
  fetchPartitionCount(topic: string): Promise<number>;
  now(): number;
  /** Told after every successful commit (metrics, benchmarks). */
  committed?(event: CommitEvent): void;
  /** Every processor instance the app's suppliers returned, to catch a supplier returning one twice. */
  readonly processorInstances: WeakSet<object>;
  /** The worker's global stores (global-state.ts), which every processor may read. */
  globalStore?(name: string): StateStore | undefined;
  /** A log line of the task; `taskId` is added to its fields. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: LogFields): void;
}

export interface TaskEnvironmentDeps {
  options: CompiledStreamsAppOptions;
  client: Pick<KafkaClient, 'admin' | 'transactionalProducer' | 'readPartition'>;
  /** The plain producer and the consumer's offset commit, under at_least_once. */
  atLeastOnce?: AtLeastOnceClients;
  seek(taskId: string, topic: string, partition: number, offset: bigint): void;
  pause?(taskId: string, topic: string, partition: number): void;
  resume?(taskId: string, topic: string, partition: number): void;
  wake?(taskId: string): void;
  partitionCount(topic: string): number | undefined;
  fetchPartitionCount(topic: string): Promise<number>;
  now(): number;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: LogFields): void;
  committed?(event: CommitEvent): void;
  restoring?(event: RestoreEvent): void;
  /** Shared by every task of one app. @default a new set per environment */
  processorInstances?: WeakSet<object>;
  /** The worker's global stores. @default none */
  globalStore?(name: string): StateStore | undefined;
}

export function createTaskEnvironment(taskId: string, deps: TaskEnvironmentDeps): TaskEnvironment {
  const { options, client } = deps;
  const admin = client.admin;
  const telemetry = options.telemetry ?? getDefaultTelemetry();
  return {
    options,
    telemetry,
    processorInstances: deps.processorInstances ?? new WeakSet(),
    createOutput(where) {
      if (options.processingGuarantee === 'exactly_once') {
        const producer = client.transactionalProducer(
          transactionalId(options.applicationId, taskId),
          { transactionTimeoutMs: options.transactionTimeoutMs },
        );
        return new TransactionalTaskOutput(producer, options.applicationId, where);
      }
      if (!deps.atLeastOnce) throw new Error('at_least_once needs the plain producer and consumer');
      return new AtLeastOnceTaskOutput(deps.atLeastOnce, where);
    },
    async startOffsets(partitions) {
      const result = new Map<string, bigint>();
      for (const topic of new Set(partitions.map((p) => p.topic))) {
        const mine = partitions.filter((p) => p.topic === topic);
        const [committed, beginning, end] = await Promise.all([
          admin.committedOffsets(options.applicationId, topic),
          admin.beginningOffsets(topic),
          mine.some((p) => p.reset === 'latest')
            ? admin.endOffsets(topic, 'read_committed')
            : Promise.resolve(undefined),
        ]);
        for (const { partition, reset } of mine) {
          const start = beginning.get(partition) ?? 0n;
          const c = committed.get(partition);
          // auto.offset.reset applies when nothing is committed or the commit left the log.
          const fallback = reset === 'latest' ? (end?.get(partition) ?? start) : start;
          result.set(
            topicPartitionKey(topic, partition),
            c !== undefined && c >= start ? c : fallback,
          );
        }
      }
      return result;
    },
    seek: (topic, partition, offset) => deps.seek(taskId, topic, partition, offset),
    pause: (topic, partition) => deps.pause?.(taskId, topic, partition),
    resume: (topic, partition) => deps.resume?.(taskId, topic, partition),
    wake: () => deps.wake?.(taskId),
    async endOffset(topic, partition) {
      return (await admin.endOffsets(topic, 'read_committed')).get(partition) ?? 0n;
    },
    partitionCount: (topic) => deps.partitionCount(topic),
    fetchPartitionCount: (topic) => deps.fetchPartitionCount(topic),
    now: () => deps.now(),
    log: (level, message, fields) => deps.log(level, message, { taskId, ...fields }),
    ...(deps.committed ? { committed: deps.committed } : {}),
    ...(deps.restoring ? { restoring: deps.restoring } : {}),
    ...(deps.globalStore ? { globalStore: deps.globalStore } : {}),
    changelogOffsets: (topic, partition) => changelogOffsets(admin, topic, partition),
    readChangelog: (topic, partition, from, until) =>
      client.readPartition(topic, partition, from, until),
  };
}

/** First and last stable offsets of a changelog partition (what a read_committed replay reads to). */
async function changelogOffsets(
  admin: KafkaClient['admin'],
  topic: string,
  partition: number,
): Promise<{ beginning: bigint; end: bigint }> {
  const [beginning, end] = await Promise.all([
    admin.beginningOffsets(topic),
    admin.endOffsets(topic, 'read_committed'),
  ]);
  return { beginning: beginning.get(partition) ?? 0n, end: end.get(partition) ?? 0n };
}

/**
 * A standby's environment: changelog offsets and reads (read_committed), nothing else — no
 * producer, no consumer, no offsets to commit — so a standby cannot write to Kafka.
 */
export function createStandbyEnvironment(deps: {
  options: CompiledStreamsAppOptions;
  client: Pick<KafkaClient, 'admin' | 'readPartition'>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  replayed?(event: { taskId: string; store: string; records: number }): void;
}): StandbyEnvironment {
  const { client } = deps;
  return {
    options: deps.options,
    changelogOffsets: (topic, partition) => changelogOffsets(client.admin, topic, partition),
    readChangelog: (topic, partition, from, until) =>
      client.readPartition(topic, partition, from, until),
    log: (level, message) => deps.log(level, message),
    ...(deps.replayed ? { replayed: deps.replayed } : {}),
  };
}

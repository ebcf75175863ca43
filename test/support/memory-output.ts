import type { ConsumedRecord, ProducerRecord } from '../../framework/client/index.ts';
import type { CompiledStreamsAppOptions } from '../../framework/options.ts';
import {
  createTaskEnvironment,
  type TaskEnvironment,
} from '../../framework/runtime/task-environment.ts';
import {
  MemoryKafka,
  MemoryKafkaClient,
  type MemoryLogEntry,
} from '../../testkit/internals/memory-kafka.ts';

/**
 * A task's Kafka side on the testkit's in-memory Kafka (the one the
 * TopologyTestDriver runs on), with a Kafka of its own: sent records get
 * offsets at once, become visible to a read_committed reader only on commit,
 * and never after an abort. Tasks get their environment from the production
 * factory (`environment`). Two outputs share a Kafka by sharing `logs`.
 */
export class MemoryOutput {
  readonly kafka = new MemoryKafka();
  readonly client = new MemoryKafkaClient(this.kafka);

  get logs(): Map<string, MemoryLogEntry[]> {
    return this.kafka.logs;
  }
  set logs(logs: Map<string, MemoryLogEntry[]>) {
    this.kafka.logs = logs;
  }

  get inits(): number {
    return this.client.faults.inits;
  }
  get aborts(): number {
    return this.client.faults.aborts;
  }
  /** The offsets of the last commit. */
  get offsets(): { topic: string; partition: number; offset: bigint }[] {
    return this.client.faults.offsets;
  }
  set failSendWith(error: Error | undefined) {
    this.client.faults.failSendWith = error;
  }
  set afterCommit(hook: (() => void) | undefined) {
    this.client.faults.afterCommit = hook;
  }
  /** True while some task's producer has a transaction open. */
  get inTransaction(): boolean {
    return [...this.client.producers.values()].some((p) => p.state === 'IN_TRANSACTION');
  }

  /** Committed values of a topic (all partitions), in partition then offset order. */
  values(topic: string): string[] {
    return this.kafka.committedEntries(topic).map(({ entry }) => String(entry.record.value));
  }

  get committed(): { topic: string; record: ProducerRecord }[] {
    return this.kafka.topics.flatMap((topic) =>
      this.kafka.committedEntries(topic).map(({ entry }) => ({ topic, record: entry.record })),
    );
  }

  read(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
  ): AsyncIterable<ConsumedRecord[]> {
    return this.kafka.read(topic, partition, from, until);
  }

  /** The production task environment on this Kafka. */
  environment(
    taskId: string,
    options: CompiledStreamsAppOptions,
    extra: {
      now?: () => number;
      seeks?: string[];
      logs?: string[];
      partitionCount?: number;
      seek?: (topic: string, partition: number, offset: bigint) => void;
    } = {},
  ): TaskEnvironment {
    return createTaskEnvironment(taskId, {
      options,
      client: this.client,
      seek: (_task, topic, partition, offset) => {
        extra.seeks?.push(`${topic}-${partition}@${offset}`);
        extra.seek?.(topic, partition, offset);
      },
      partitionCount: () => extra.partitionCount ?? 4,
      fetchPartitionCount: async () => extra.partitionCount ?? 4,
      now: extra.now ?? (() => 0),
      log: (_level, message) => void extra.logs?.push(message),
    });
  }
}

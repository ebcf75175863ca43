import type { ConsumedRecord, ProducerRecord } from '../../framework/client/index.ts';
import {
  MemoryKafka,
  MemoryTaskOutput,
  type MemoryLogEntry,
} from '../../testkit/internals/memory-kafka.ts';

/**
 * A task output on the testkit's in-memory Kafka (the one the
 * TopologyTestDriver runs on), with a Kafka of its own: sent records get
 * offsets at once, become visible to a read_committed reader only on commit,
 * and never after an abort. Two outputs share a Kafka by sharing `logs`.
 */
export class MemoryOutput extends MemoryTaskOutput {
  constructor() {
    super(new MemoryKafka(), 'app-0_0', 'app');
  }

  get logs(): Map<string, MemoryLogEntry[]> {
    return this.kafka.logs;
  }
  set logs(logs: Map<string, MemoryLogEntry[]>) {
    this.kafka.logs = logs;
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

  /** Start and read_committed end of a partition. */
  async offsetsOf(topic: string, partition: number): Promise<{ beginning: bigint; end: bigint }> {
    return this.kafka.offsetsOf(topic, partition);
  }

  read(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
  ): AsyncIterable<ConsumedRecord[]> {
    return this.kafka.read(topic, partition, from, until);
  }
}

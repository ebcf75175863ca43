/**
 * Where a task's work goes, per processing guarantee. Under exactly_once it is
 * the task's own transactional producer (DESIGN.md invariants 1–4): records
 * and input offsets commit in one Kafka transaction. Under at_least_once it
 * is a plain producer whose sends are acknowledged before the consumer
 * commits the offsets.
 */
import type {
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
} from '../client/index.ts';
import { faultPoint } from './fault-injection.ts';

export interface TaskOutput {
  /** exactly_once: InitProducerId, which fences the task's previous owner and resolves its open transaction. */
  init(): Promise<void>;
  readonly inTransaction: boolean;
  /** Opens a transaction if none is open. */
  begin(): void;
  /** Resolves once every record is acknowledged, with where each partition's records landed. */
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  /** Commits what was sent together with the input offsets (next offset to read). */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

export class TransactionalTaskOutput implements TaskOutput {
  constructor(
    private readonly producer: TransactionalProducer,
    private readonly groupId: string,
  ) {}

  init(): Promise<void> {
    return this.producer.init();
  }

  get inTransaction(): boolean {
    return this.producer.state === 'IN_TRANSACTION';
  }

  begin(): void {
    if (!this.inTransaction) this.producer.begin();
  }

  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    return this.producer.send(topic, records);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    faultPoint('after-sends-before-offsets');
    if (offsets.length > 0) await this.producer.sendOffsets(this.groupId, offsets);
    faultPoint('after-offsets-before-commit');
    await this.producer.commit();
  }

  async abort(): Promise<void> {
    if (this.inTransaction || this.producer.state === 'ABORTABLE') await this.producer.abort();
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/** The pieces of a plain producer and a group consumer that at_least_once needs. */
export interface AtLeastOnceClients {
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
}

export class AtLeastOnceTaskOutput implements TaskOutput {
  private open = false;

  constructor(private readonly clients: AtLeastOnceClients) {}

  async init(): Promise<void> {}

  get inTransaction(): boolean {
    return this.open;
  }

  begin(): void {
    this.open = true;
  }

  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    return this.clients.send(topic, records);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    // Sends were awaited before this point: offsets only move past acknowledged output.
    if (offsets.length > 0) await this.clients.commitOffsets(offsets);
    this.open = false;
  }

  async abort(): Promise<void> {
    this.open = false;
  }

  async close(): Promise<void> {}
}

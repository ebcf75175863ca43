/**
 * Where a task's output goes, per processing guarantee, and the one place
 * where a Kafka client failure becomes a Streams error (Kafka Streams'
 * StreamsProducer; docs/architecture.md, invariants 1, 3 and 4).
 *
 * Under exactly_once it is the task's own transactional producer: records,
 * changelog records and input offsets commit in one Kafka transaction. Under
 * at_least_once it is a plain producer whose sends are acknowledged before
 * the consumer commits the offsets.
 *
 * Every method throws only StreamsErrors: TaskMigratedError (fenced: close
 * dirty, wait for the group), TaskCorruptedError (ambiguous or retriable:
 * re-fence, restore, rewind) or StreamsFatalError (stop the app).
 */
import { classify } from '../client/index.ts';
import type {
  PlainProducer,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
} from '../client/index.ts';
import {
  StreamsError,
  StreamsFatalError,
  TaskCorruptedError,
  TaskMigratedError,
  type StreamsErrorContext,
} from '../errors.ts';
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
  /** Aborts the open transaction, if any. */
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** Where the task is, for errors: the record being processed, if any. */
export type ErrorContextSource = () => StreamsErrorContext;

/**
 * Turns any failure into the StreamsError that says what the runtime does
 * next (invariant 4). A StreamsError passes through unchanged.
 */
export function translateFailure(err: unknown, where: StreamsErrorContext): StreamsError {
  if (err instanceof StreamsError) return err;
  const task = where.taskId ?? '?';
  const context = { ...where, cause: err };
  const message = err instanceof Error ? err.message : String(err);
  switch (classify(err).kind) {
    case 'migrated':
      return new TaskMigratedError(
        `Task ${task} was fenced: another worker owns it now (${message})`,
        context,
      );
    case 'fatal':
      return new StreamsFatalError(`Task ${task} failed: ${message}`, context);
    default:
      // ambiguous or retriable: never assume an outcome; a new task re-fences and re-reads offsets
      return new TaskCorruptedError(`Task ${task} must be re-initialised: ${message}`, context);
  }
}

export class TransactionalTaskOutput implements TaskOutput {
  constructor(
    private readonly producer: TransactionalProducer,
    private readonly groupId: string,
    private readonly where: ErrorContextSource,
  ) {}

  async init(): Promise<void> {
    try {
      await this.producer.init();
    } catch (err) {
      throw translateFailure(err, this.where());
    }
  }

  get inTransaction(): boolean {
    return this.producer.state === 'IN_TRANSACTION';
  }

  begin(): void {
    if (this.inTransaction) return;
    try {
      this.producer.begin();
    } catch (err) {
      throw translateFailure(err, this.where());
    }
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    try {
      return await this.producer.send(topic, records);
    } catch (err) {
      throw translateFailure(err, this.where());
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    try {
      faultPoint('after-sends-before-offsets');
      if (offsets.length > 0) await this.producer.sendOffsets(this.groupId, offsets);
      faultPoint('after-offsets-before-commit');
      await this.producer.commit();
    } catch (err) {
      throw translateFailure(err, this.where());
    }
  }

  async abort(): Promise<void> {
    const state = this.producer.state;
    if (state !== 'IN_TRANSACTION' && state !== 'ABORTABLE') return;
    try {
      await this.producer.abort();
    } catch (err) {
      throw translateFailure(err, this.where());
    }
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/** The pieces of a plain producer and a group consumer that at_least_once needs. */
export interface AtLeastOnceClients {
  producer: Pick<PlainProducer, 'send'>;
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
}

export class AtLeastOnceTaskOutput implements TaskOutput {
  private open = false;

  constructor(
    private readonly clients: AtLeastOnceClients,
    private readonly where: ErrorContextSource,
  ) {}

  async init(): Promise<void> {}

  get inTransaction(): boolean {
    return this.open;
  }

  begin(): void {
    this.open = true;
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    try {
      return await this.clients.producer.send(topic, records);
    } catch (err) {
      throw translateFailure(err, this.where());
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    // Sends were awaited before this point: offsets only move past acknowledged output.
    try {
      if (offsets.length > 0) await this.clients.commitOffsets(offsets);
    } catch (err) {
      throw translateFailure(err, this.where());
    }
    this.open = false;
  }

  async abort(): Promise<void> {
    this.open = false;
  }

  async close(): Promise<void> {}
}

/**
 * One error root, subclassed by the action the runtime takes (as Kafka Streams does with
 * TaskMigratedException / TaskCorruptedException / StreamsException):
 *
 * - `TaskMigratedError`: the task was fenced or lost; close it dirty and let the group reassign it.
 * - `TaskCorruptedError`: the task's outcome is unknown (e.g. a commit timed out); re-init its
 *   producer (resolving the open transaction), restore its stores, re-read its committed offsets.
 * - `StreamsFatalError`: stop the app. Config, topology, (de)serialization and processor errors
 *   are fatal unless a handler (e.g. `deserializationErrorHandler`) says otherwise.
 */

/** Where an error happened, as far as it is known. Offsets are decimal strings, as on the wire. */
export interface StreamsErrorContext {
  taskId?: string;
  topic?: string;
  partition?: number;
  offset?: string;
}

export interface StreamsErrorOptions extends StreamsErrorContext {
  cause?: unknown;
}

export class StreamsError extends Error {
  readonly taskId: string | undefined;
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly offset: string | undefined;

  constructor(message: string, options: StreamsErrorOptions = {}) {
    const { cause, ...context } = options;
    super(message + describeContext(context), cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.taskId = context.taskId;
    this.topic = context.topic;
    this.partition = context.partition;
    this.offset = context.offset;
  }
}

function describeContext({ taskId, topic, partition, offset }: StreamsErrorContext): string {
  const parts: string[] = [];
  if (taskId !== undefined) parts.push(`task ${taskId}`);
  if (topic !== undefined) parts.push(`topic ${topic}`);
  if (partition !== undefined) parts.push(`partition ${partition}`);
  if (offset !== undefined) parts.push(`offset ${offset}`);
  return parts.length === 0 ? '' : ` [${parts.join(', ')}]`;
}

/** The task's producer was fenced (or its partitions moved): close the task dirty, rejoin. */
export class TaskMigratedError extends StreamsError {}

/** The task's transaction outcome or local state cannot be trusted: re-init, restore, rewind. */
export class TaskCorruptedError extends StreamsError {}

/** Stop the app: retrying cannot help. */
export class StreamsFatalError extends StreamsError {}

/** An invalid option; `field` is its path, e.g. `producer.transactionalId`. */
export class StreamsConfigError extends StreamsFatalError {
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`Invalid option ${field}: ${reason}`);
    this.field = field;
  }
}

/** An invalid topology: a bad node, edge or store, or source topics that are not co-partitioned. */
export class TopologyError extends StreamsFatalError {}

/** A key or value could not be serialized for a sink or changelog topic. */
export class SerializationError extends StreamsFatalError {}

/**
 * A key or value could not be deserialized. Fatal by default; the runtime may skip or
 * dead-letter the record instead, per `deserializationErrorHandler`.
 */
export class DeserializationError extends StreamsFatalError {}

/** A user processor threw (or rejected) while processing a record; the original is `cause`. */
export class ProcessorError extends StreamsFatalError {
  readonly processorName: string;

  constructor(processorName: string, cause: unknown, context: StreamsErrorContext = {}) {
    super(`Processor "${processorName}" failed: ${messageOf(cause)}`, { ...context, cause });
    this.processorName = processorName;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Where a StreamsApp's log lines go: the runtime's own, and the Kafka client's. A `Logger` is
 * the shape pino's loggers have — `logger.info(fields, message)` — so a pino instance (or a
 * child of one) plugs in as it is; so does anything with the four methods (bunyan, a winston
 * wrapper, a test's recorder). Without one, lines go to stderr in the default format
 * `HH:MM:SS.mmm [streamtx <applicationId>] <level>: <message>`.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const app = new StreamsApp(topology, { applicationId: 'orders', brokers, logger: pino() });
 * ```
 */

import type { StreamsErrorContext } from './errors.ts';

/** Log levels, most to least verbose; `none` logs nothing. */
export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug';

/**
 * Context of a log line, as structured fields. The runtime sets those it knows: `taskId`,
 * `topic`, `partition`, `offset` (a decimal string: Kafka offsets are int64), `store`; lines
 * from the Kafka client carry `component: 'kafkajs'`, its `namespace` (e.g. `Connection`,
 * `Consumer`) and what kafkajs logged with the line (e.g. `broker`, `error`).
 */
export interface LogFields {
  taskId?: string;
  topic?: string;
  partition?: number;
  offset?: string;
  store?: string;
  [field: string]: unknown;
}

/** A pino-compatible logger: each method takes the line's fields, then its message. */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

export type LogMethod = Exclude<LogLevel, 'none'>;

const METHODS: readonly LogMethod[] = ['debug', 'info', 'warn', 'error'];

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3, none: 4 };

/** Whether a line of `level` passes the `threshold` (the app's `logLevel`). */
export function logs(threshold: LogLevel, level: LogMethod): boolean {
  return RANK[level] >= RANK[threshold];
}

/** The methods a value lacks to be a Logger (empty when it is one). */
export function missingLoggerMethods(value: unknown): LogMethod[] {
  if (typeof value !== 'object' || value === null) return [...METHODS];
  return METHODS.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
}

/**
 * The default logger: one line per entry on stderr, `HH:MM:SS.mmm [streamtx <applicationId>]
 * <level>: <message>` (UTC time). Fields are not printed: the runtime's messages already name
 * their task, topic, partition and offset.
 */
export function defaultLogger(applicationId: string): Logger {
  const write =
    (level: LogMethod) =>
    (_fields: LogFields, message: string): void => {
      const time = new Date().toISOString().slice(11, 23);
      process.stderr.write(`${time} [streamtx ${applicationId}] ${level}: ${message}\n`);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** Where an error happened (a StreamsError's task, topic, partition, offset), as log fields. */
export function contextFields(context: StreamsErrorContext): LogFields {
  const { taskId, topic, partition, offset } = context;
  const fields: LogFields = {};
  if (taskId !== undefined) fields.taskId = taskId;
  if (topic !== undefined) fields.topic = topic;
  if (partition !== undefined) fields.partition = partition;
  if (offset !== undefined) fields.offset = offset;
  return fields;
}

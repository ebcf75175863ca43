import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import type { RetryOptions, SaslOptions, TlsOptions } from './client/types.ts';
import { StreamsConfigError } from './errors.ts';
import { missingLoggerMethods, type Logger, type LogLevel } from './logger.ts';
import { isTelemetry, type Telemetry } from './telemetry.ts';

export type { LogLevel, Logger, LogFields } from './logger.ts';
export type { RetryOptions, SaslOptions, TlsOptions } from './client/types.ts';

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';

/**
 * What to do with a record whose key or value cannot be deserialized: fail the task (nothing
 * is committed past the bad record), skip it, or write its raw bytes to a dead-letter topic in
 * the same transaction.
 */
export type DeserializationErrorHandler = 'fail' | 'skip' | { deadLetterTopic: string };

/**
 * What to do with a record whose timestamp (its Kafka timestamp, or what the source's
 * timestamp extractor returned) is not an integer >= 0: fail the task (Kafka Streams'
 * FailOnInvalidTimestamp; nothing is committed past the record) or skip it with a warning
 * (LogAndSkipOnInvalidTimestamp).
 */
export type InvalidTimestampHandler = 'fail' | 'skip';

/**
 * Consumer settings passed to the Kafka client. Settings exactly-once depends on (isolation
 * level, auto-commit, group id, assignor, ...) are owned by streamtx: naming one, in its
 * kafkajs or Java client spelling, is an error that says why.
 */
export interface ConsumerSettings {
  /** Longest the broker waits for `minBytes` before answering a fetch. @default 500 */
  maxWaitTimeMs?: number;
  /** Least data a fetch waits for. @default 1 */
  minBytes?: number;
  /** Most data one fetch returns. @default 10485760 */
  maxBytes?: number;
  /** Most data one fetch returns per partition. @default 1048576 */
  maxBytesPerPartition?: number;
}

/** Producer settings passed to the Kafka client; settings exactly-once depends on are owned. */
export interface ProducerSettings {
  /** Record batch compression (what needs no native codec). @default 'none' */
  compression?: 'none' | 'gzip';
}

export interface StreamsAppOptions {
  /**
   * Names the consumer group, prefixes transactional ids, internal topics and the state
   * directory. Required; letters, digits, `.`, `_` and `-` (it becomes part of topic names).
   */
  applicationId: string;
  /** Bootstrap brokers as `host:port`. Required, at least one. */
  brokers: readonly string[];
  /** @default 'exactly_once' */
  processingGuarantee?: ProcessingGuarantee;
  /**
   * How often each task commits its transaction (or its offsets under at_least_once).
   * @default 100 under exactly_once, 30000 under at_least_once (Kafka Streams' defaults)
   */
  commitIntervalMs?: number;
  /** @default path.join(os.tmpdir(), 'streamtx') */
  stateDir?: string;
  /**
   * Must exceed `commitIntervalMs` under exactly_once, or open transactions time out.
   * @default 10000 (what Kafka Streams sets for exactly-once)
   */
  transactionTimeoutMs?: number;
  /** @default 10000 */
  sessionTimeoutMs?: number;
  /** Must be below `sessionTimeoutMs`. @default 1000 */
  heartbeatIntervalMs?: number;
  /** @default 30000 */
  rebalanceTimeoutMs?: number;
  /**
   * Most records a task processes in one transaction: it commits then, even within the commit
   * interval (a bound on a transaction's size under a backlog; commits are otherwise driven by
   * commitIntervalMs, as in Kafka Streams). Also how many output records wait in a task's
   * outbox before they are sent inside the open transaction. @default 10000
   */
  maxBatchRecords?: number;
  /** Replication factor of internal topics (changelogs, repartition topics); -1 takes the broker default. @default -1 */
  replicationFactor?: number;
  /**
   * How often each task deletes the records of its repartition inputs below its committed
   * offsets (Kafka Streams' repartition.purge.interval.ms). @default 30000
   */
  repartitionPurgeIntervalMs?: number;
  /** @default 'fail' */
  deserializationErrorHandler?: DeserializationErrorHandler;
  /** @default 'fail' */
  invalidTimestampHandler?: InvalidTimestampHandler;
  /**
   * How long a task reading several partitions (a join, a merge) waits for records of a
   * caught-up partition that has none buffered before it goes on without them, so that it
   * processes its inputs in timestamp order (Kafka Streams' max.task.idle.ms). It always
   * waits for records known to exist but not fetched yet. -1: never waits. @default 0
   */
  maxTaskIdleMs?: number;
  /** @default applicationId */
  clientId?: string;
  /**
   * Least severe level logged, for the runtime's lines and the Kafka client's alike.
   * @default 'info'
   */
  logLevel?: LogLevel;
  /**
   * Where log lines go: a pino-compatible logger (`debug/info/warn/error(fields, message)`),
   * e.g. `pino()`. Lines carry their context as fields (taskId, topic, partition, offset);
   * the Kafka client's lines come with `component: 'kafkajs'` and their kafkajs level mapped
   * (ERROR→error, WARN→warn, INFO→info, DEBUG→debug). Both respect `logLevel`.
   * @default lines on stderr: `HH:MM:SS.mmm [streamtx <applicationId>] <level>: <message>`
   */
  logger?: Logger;
  /**
   * TLS to the brokers (a SASL_SSL or SSL listener): `true` to verify them against Node's
   * bundled CAs, or settings (kafkajs's convention: Node's `tls.connect` options).
   * @default no TLS
   */
  ssl?: boolean | TlsOptions;
  /**
   * SASL authentication (kafkajs's convention): `{ mechanism: 'plain' | 'scram-sha-256' |
   * 'scram-sha-512', username, password }` or `{ mechanism: 'oauthbearer',
   * oauthBearerProvider }`. The password is never printed in an error or a log line.
   * @default none
   */
  sasl?: SaslOptions;
  /** Milliseconds to establish a connection (TCP, TLS and SASL) to a broker (kafkajs's name). @default 3000 */
  connectionTimeout?: number;
  /** Milliseconds a request may wait for its response (kafkajs's name). @default 30000 */
  requestTimeout?: number;
  /**
   * Retries of failed connections and requests (kafkajs's convention). Transactional sends
   * keep their own retries, bounded by the transaction timeout (invariant 1).
   * @default { retries: 5, initialRetryTime: 300, maxRetryTime: 30000, factor: 0.2, multiplier: 2 }
   */
  retry?: RetryOptions;
  /** Consumer settings (the ones streamtx does not own). @default {} */
  consumer?: ConsumerSettings;
  /** Producer settings (the ones streamtx does not own). @default {} */
  producer?: ProducerSettings;
  /**
   * Where the runtime's spans and metrics go, e.g. `openTelemetry()`.
   * @default the process default (`setDefaultTelemetry`), which records nothing unless set
   */
  telemetry?: Telemetry;
}

/** Options with every default applied, validated and frozen: what the runtime reads. */
export interface CompiledStreamsAppOptions {
  readonly applicationId: string;
  readonly brokers: readonly string[];
  readonly processingGuarantee: ProcessingGuarantee;
  readonly commitIntervalMs: number;
  readonly stateDir: string;
  readonly transactionTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxBatchRecords: number;
  readonly replicationFactor: number;
  readonly repartitionPurgeIntervalMs: number;
  readonly deserializationErrorHandler: DeserializationErrorHandler;
  readonly invalidTimestampHandler: InvalidTimestampHandler;
  readonly maxTaskIdleMs: number;
  readonly clientId: string;
  readonly logLevel: LogLevel;
  /** Absent when not set: the app then logs in the default format. */
  readonly logger?: Logger;
  /** Absent when TLS is off. */
  readonly ssl?: true | Readonly<TlsOptions>;
  /** Absent when not set. Printing it (JSON, util.inspect) shows the password redacted. */
  readonly sasl?: Readonly<SaslOptions>;
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  readonly retry: Readonly<Required<RetryOptions>>;
  readonly consumer: Readonly<Required<ConsumerSettings>>;
  readonly producer: Readonly<Required<ProducerSettings>>;
  /** Absent when not set: the runtime then uses the process default (`getDefaultTelemetry()`) when a task starts. */
  readonly telemetry?: Telemetry;
}

const OPTION_NAMES: readonly (keyof StreamsAppOptions)[] = [
  'applicationId',
  'brokers',
  'processingGuarantee',
  'commitIntervalMs',
  'stateDir',
  'transactionTimeoutMs',
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'rebalanceTimeoutMs',
  'maxBatchRecords',
  'replicationFactor',
  'repartitionPurgeIntervalMs',
  'deserializationErrorHandler',
  'invalidTimestampHandler',
  'maxTaskIdleMs',
  'clientId',
  'logLevel',
  'logger',
  'ssl',
  'sasl',
  'connectionTimeout',
  'requestTimeout',
  'retry',
  'consumer',
  'producer',
  'telemetry',
];

/** Every option of StreamsAppOptions, for docs/configuration.md's check. */
export const STREAMS_APP_OPTION_NAMES: readonly (keyof StreamsAppOptions)[] = OPTION_NAMES;

const OWNS = 'is owned by streamtx: exactly-once depends on it';

/**
 * Client settings exactly-once depends on (docs/architecture.md, invariants 1 and 6), by their
 * kafkajs and their Java client names, matched case-insensitively; the value says why or what
 * to use instead.
 */
const OWNED_SETTINGS: { consumer: Record<string, string>; producer: Record<string, string> } = {
  consumer: {
    readUncommitted: `${OWNS} (reads are read_committed)`,
    isolationLevel: `${OWNS} (reads are read_committed)`,
    'isolation.level': `${OWNS} (reads are read_committed)`,
    autoCommit: `${OWNS} (offsets are committed with each transaction)`,
    'enable.auto.commit': `${OWNS} (offsets are committed with each transaction)`,
    groupId: 'is owned by streamtx: the consumer group is the applicationId',
    'group.id': 'is owned by streamtx: the consumer group is the applicationId',
    partitionAssigners: `${OWNS} (its assigner keeps co-partitioned partitions together)`,
    'partition.assignment.strategy': `${OWNS} (its assigner keeps co-partitioned partitions together)`,
    sessionTimeout: 'is set by sessionTimeoutMs',
    'session.timeout.ms': 'is set by sessionTimeoutMs',
    heartbeatInterval: 'is set by heartbeatIntervalMs',
    'heartbeat.interval.ms': 'is set by heartbeatIntervalMs',
    rebalanceTimeout: 'is set by rebalanceTimeoutMs',
    'max.poll.interval.ms': 'is set by rebalanceTimeoutMs',
    allowAutoTopicCreation: `${OWNS} (topics are created explicitly)`,
    'allow.auto.create.topics': `${OWNS} (topics are created explicitly)`,
  },
  producer: {
    transactionalId: `${OWNS} (it is \${applicationId}-\${taskId}, one per task)`,
    'transactional.id': `${OWNS} (it is \${applicationId}-\${taskId}, one per task)`,
    idempotent: `${OWNS} (producers are idempotent)`,
    'enable.idempotence': `${OWNS} (producers are idempotent)`,
    maxInFlightRequests: `${OWNS} (one in-flight request per producer)`,
    'max.in.flight.requests.per.connection': `${OWNS} (one in-flight request per producer)`,
    transactionTimeout: 'is set by transactionTimeoutMs',
    'transaction.timeout.ms': 'is set by transactionTimeoutMs',
    acks: `${OWNS} (acks=all)`,
    retries: `${OWNS} (retries are bounded by the transaction timeout)`,
    allowAutoTopicCreation: `${OWNS} (topics are created explicitly)`,
  },
};

const OWNED_LOWER = {
  consumer: new Map(Object.entries(OWNED_SETTINGS.consumer).map(([k, v]) => [k.toLowerCase(), v])),
  producer: new Map(Object.entries(OWNED_SETTINGS.producer).map(([k, v]) => [k.toLowerCase(), v])),
};

const APPLICATION_ID = /^[a-zA-Z0-9._-]+$/;
const BROKER = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;

/** Validates options once, applies defaults and freezes the result. Throws StreamsConfigError. */
export function compileStreamsAppOptions(options: StreamsAppOptions): CompiledStreamsAppOptions {
  if (!isPlainObject(options)) throw new StreamsConfigError('options', 'expected an object');
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      const hint = closest(key, OPTION_NAMES);
      throw new StreamsConfigError(key, `unknown option${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
  }

  const applicationId = requireString(options, 'applicationId');
  if (!APPLICATION_ID.test(applicationId)) {
    throw new StreamsConfigError(
      'applicationId',
      `"${applicationId}" may only contain [a-zA-Z0-9._-]`,
    );
  }
  const brokers = compileBrokers(options.brokers);
  const processingGuarantee = oneOf(
    options,
    'processingGuarantee',
    ['exactly_once', 'at_least_once'],
    'exactly_once',
  );
  const exactlyOnce = processingGuarantee === 'exactly_once';

  const compiled: CompiledStreamsAppOptions = {
    applicationId,
    brokers,
    processingGuarantee,
    commitIntervalMs: integer(options, 'commitIntervalMs', exactlyOnce ? 100 : 30_000, 0),
    stateDir: optionalString(options, 'stateDir') ?? path.join(os.tmpdir(), 'streamtx'),
    transactionTimeoutMs: integer(options, 'transactionTimeoutMs', 10_000, 1),
    sessionTimeoutMs: integer(options, 'sessionTimeoutMs', 10_000, 1),
    heartbeatIntervalMs: integer(options, 'heartbeatIntervalMs', 1_000, 1),
    rebalanceTimeoutMs: integer(options, 'rebalanceTimeoutMs', 30_000, 1),
    maxBatchRecords: integer(options, 'maxBatchRecords', 10_000, 1),
    replicationFactor: integer(options, 'replicationFactor', -1, -1),
    repartitionPurgeIntervalMs: integer(options, 'repartitionPurgeIntervalMs', 30_000, 1),
    deserializationErrorHandler: compileDeserializationErrorHandler(
      options.deserializationErrorHandler,
    ),
    invalidTimestampHandler: oneOf(options, 'invalidTimestampHandler', ['fail', 'skip'], 'fail'),
    maxTaskIdleMs: integer(options, 'maxTaskIdleMs', 0, -1),
    clientId: optionalString(options, 'clientId') ?? applicationId,
    logLevel: oneOf(options, 'logLevel', ['none', 'error', 'warn', 'info', 'debug'], 'info'),
    ...compileLogger(options.logger),
    ...compileTls(options.ssl),
    ...compileSasl(options.sasl),
    connectionTimeout: integer(options, 'connectionTimeout', 3_000, 1),
    requestTimeout: integer(options, 'requestTimeout', 30_000, 1),
    retry: compileRetry(options.retry),
    consumer: compileConsumerSettings(options.consumer),
    producer: compileProducerSettings(options.producer),
    ...compileTelemetry(options.telemetry),
  };

  if (compiled.replicationFactor === 0) {
    throw new StreamsConfigError(
      'replicationFactor',
      'expected -1 (broker default) or at least 1, got 0',
    );
  }
  // Under exactly_once a transaction stays open for about one commit interval; if the broker
  // aborts it first (transaction.timeout.ms), every commit fails.
  if (exactlyOnce && compiled.transactionTimeoutMs <= compiled.commitIntervalMs) {
    throw new StreamsConfigError(
      'transactionTimeoutMs',
      `must be greater than commitIntervalMs under exactly_once ` +
        `(transactionTimeoutMs ${compiled.transactionTimeoutMs} <= commitIntervalMs ${compiled.commitIntervalMs})`,
    );
  }
  if (compiled.heartbeatIntervalMs >= compiled.sessionTimeoutMs) {
    throw new StreamsConfigError(
      'heartbeatIntervalMs',
      `must be less than sessionTimeoutMs ` +
        `(heartbeatIntervalMs ${compiled.heartbeatIntervalMs} >= sessionTimeoutMs ${compiled.sessionTimeoutMs})`,
    );
  }
  return Object.freeze(compiled);
}

function compileBrokers(brokers: unknown): readonly string[] {
  if (brokers === undefined)
    throw new StreamsConfigError(
      'brokers',
      'is required: a non-empty array of "host:port" strings',
    );
  if (!Array.isArray(brokers) || brokers.length === 0) {
    throw new StreamsConfigError('brokers', 'expected a non-empty array of "host:port" strings');
  }
  return Object.freeze(
    brokers.map((broker: unknown, i) => {
      const match = typeof broker === 'string' ? BROKER.exec(broker) : null;
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65_535) {
        throw new StreamsConfigError(
          `brokers[${i}]`,
          `expected "host:port", got ${JSON.stringify(broker)}`,
        );
      }
      return broker as string;
    }),
  );
}

function compileDeserializationErrorHandler(handler: unknown): DeserializationErrorHandler {
  const field = 'deserializationErrorHandler';
  if (handler === undefined || handler === 'fail' || handler === 'skip') return handler ?? 'fail';
  if (!isPlainObject(handler)) {
    throw new StreamsConfigError(
      field,
      `expected 'fail', 'skip' or { deadLetterTopic }, got ${JSON.stringify(handler)}`,
    );
  }
  const extra = Object.keys(handler).find((key) => key !== 'deadLetterTopic');
  if (extra !== undefined) throw new StreamsConfigError(`${field}.${extra}`, 'unknown option');
  const topic = handler['deadLetterTopic'];
  if (typeof topic !== 'string' || topic === '') {
    throw new StreamsConfigError(`${field}.deadLetterTopic`, 'expected a non-empty topic name');
  }
  return Object.freeze({ deadLetterTopic: topic });
}

function compileTelemetry(telemetry: unknown): { telemetry?: Telemetry } {
  if (telemetry === undefined) return {};
  if (!isTelemetry(telemetry)) {
    throw new StreamsConfigError(
      'telemetry',
      'expected a Telemetry (e.g. openTelemetry()) with task(), rebalanced() and observeLag()',
    );
  }
  return { telemetry };
}

function compileLogger(logger: unknown): { logger?: Logger } {
  if (logger === undefined) return {};
  const missing = missingLoggerMethods(logger);
  if (missing.length > 0)
    throw new StreamsConfigError(
      'logger',
      `expected a pino-compatible logger with debug, info, warn and error methods (fields, message)${
        typeof logger === 'object' && logger !== null ? `; missing: ${missing.join(', ')}` : ''
      }`,
    );
  return { logger: logger as Logger };
}

/** What a value is, for an error about a setting whose value must not be printed (keys, passwords). */
function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The keys of `value` outside `supported`: an error naming the first, with what is supported. */
function rejectUnknownKeys(
  field: string,
  value: Record<string, unknown>,
  supported: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (supported.includes(key)) continue;
    const hint = closest(key, supported);
    throw new StreamsConfigError(
      `${field}.${key}`,
      `unknown setting${hint ? ` (did you mean ${hint}?)` : ''}; supported: ${supported.join(', ')}`,
    );
  }
}

const TLS_SETTINGS: readonly string[] = [
  'ca',
  'cert',
  'key',
  'passphrase',
  'rejectUnauthorized',
  'servername',
];
const SASL_SETTINGS: readonly string[] = ['mechanism', 'username', 'password'];
const OAUTHBEARER_SETTINGS: readonly string[] = ['mechanism', 'oauthBearerProvider'];
const RETRY_SETTINGS: readonly string[] = [
  'retries',
  'initialRetryTime',
  'maxRetryTime',
  'factor',
  'multiplier',
];
const CONSUMER_SETTINGS: readonly string[] = [
  'maxWaitTimeMs',
  'minBytes',
  'maxBytes',
  'maxBytesPerPartition',
];
const PRODUCER_SETTINGS: readonly string[] = ['compression'];

/** The settings of every object-valued option, for docs/configuration.md's check. */
export const NESTED_OPTION_NAMES: Readonly<Record<string, readonly string[]>> = {
  ssl: TLS_SETTINGS,
  sasl: [...new Set([...SASL_SETTINGS, ...OAUTHBEARER_SETTINGS])],
  retry: RETRY_SETTINGS,
  consumer: CONSUMER_SETTINGS,
  producer: PRODUCER_SETTINGS,
  deserializationErrorHandler: ['deadLetterTopic'],
};

const isPem = (v: unknown): v is string | Buffer =>
  (typeof v === 'string' && v !== '') || Buffer.isBuffer(v);

function compileTls(ssl: unknown): { ssl?: true | Readonly<TlsOptions> } {
  if (ssl === undefined || ssl === false) return {};
  if (ssl === true) return { ssl: true };
  if (!isPlainObject(ssl))
    throw new StreamsConfigError(
      'ssl',
      `expected true, false or an object of TLS settings (${TLS_SETTINGS.join(', ')}), got ${kindOf(ssl)}`,
    );
  rejectUnknownKeys('ssl', ssl, TLS_SETTINGS);
  const out: TlsOptions = {};
  const { ca, cert, key, passphrase, rejectUnauthorized, servername } = ssl;
  if (ca !== undefined) {
    const list = Array.isArray(ca) ? (ca as unknown[]) : [ca];
    if (list.length === 0 || !list.every(isPem))
      throw new StreamsConfigError(
        'ssl.ca',
        'expected PEM text, a Buffer, or a non-empty array of them',
      );
    out.ca = Array.isArray(ca)
      ? Object.freeze([...(list as (string | Buffer)[])])
      : (ca as string | Buffer);
  }
  // Values of cert, key and passphrase never appear in a message: a key is a secret.
  if (cert !== undefined) {
    if (!isPem(cert))
      throw new StreamsConfigError(
        'ssl.cert',
        `expected PEM text or a Buffer, got ${kindOf(cert)}`,
      );
    out.cert = cert;
  }
  if (key !== undefined) {
    if (!isPem(key))
      throw new StreamsConfigError('ssl.key', `expected PEM text or a Buffer, got ${kindOf(key)}`);
    out.key = key;
  }
  if ((cert === undefined) !== (key === undefined))
    throw new StreamsConfigError(
      cert === undefined ? 'ssl.cert' : 'ssl.key',
      'a client certificate needs both ssl.cert and ssl.key',
    );
  if (passphrase !== undefined) {
    if (typeof passphrase !== 'string')
      throw new StreamsConfigError(
        'ssl.passphrase',
        `expected a string, got ${kindOf(passphrase)}`,
      );
    if (key === undefined)
      throw new StreamsConfigError(
        'ssl.passphrase',
        'is the passphrase of ssl.key, which is not set',
      );
    out.passphrase = passphrase;
  }
  if (rejectUnauthorized !== undefined) {
    if (typeof rejectUnauthorized !== 'boolean')
      throw new StreamsConfigError(
        'ssl.rejectUnauthorized',
        `expected a boolean, got ${JSON.stringify(rejectUnauthorized)}`,
      );
    out.rejectUnauthorized = rejectUnauthorized;
  }
  if (servername !== undefined) {
    if (typeof servername !== 'string' || servername === '')
      throw new StreamsConfigError(
        'ssl.servername',
        `expected a non-empty host name, got ${JSON.stringify(servername)}`,
      );
    out.servername = servername;
  }
  return { ssl: Object.freeze(out) };
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;
const REDACTED = '[redacted]';

function compileSasl(sasl: unknown): { sasl?: Readonly<SaslOptions> } {
  if (sasl === undefined) return {};
  if (!isPlainObject(sasl))
    throw new StreamsConfigError(
      'sasl',
      `expected { mechanism, username, password } or { mechanism: 'oauthbearer', oauthBearerProvider }, got ${kindOf(sasl)}`,
    );
  const given = sasl['mechanism'];
  // Kafka's own configs spell mechanisms in upper case (SCRAM-SHA-512): accept either.
  const mechanism = typeof given === 'string' ? given.toLowerCase() : given;
  if (!(SASL_MECHANISMS as readonly unknown[]).includes(mechanism))
    throw new StreamsConfigError(
      'sasl.mechanism',
      `expected one of ${SASL_MECHANISMS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(given)}` +
        (mechanism === 'aws' ? ' (AWS IAM: use oauthbearer with a token provider)' : ''),
    );
  if (mechanism === 'oauthbearer') {
    rejectUnknownKeys('sasl', sasl, OAUTHBEARER_SETTINGS);
    const provider = sasl['oauthBearerProvider'];
    if (typeof provider !== 'function')
      throw new StreamsConfigError(
        'sasl.oauthBearerProvider',
        'expected a function returning a promise of { value: <token> }',
      );
    return {
      sasl: Object.freeze({
        mechanism: 'oauthbearer',
        oauthBearerProvider: provider as () => Promise<{ value: string }>,
      }),
    };
  }
  rejectUnknownKeys('sasl', sasl, SASL_SETTINGS);
  const username = sasl['username'];
  const password = sasl['password'];
  if (typeof username !== 'string' || username === '')
    throw new StreamsConfigError(
      'sasl.username',
      `expected a non-empty string, got ${kindOf(username)}`,
    );
  // Never the value: it may be a password put in the wrong place, or the password itself.
  if (typeof password !== 'string' || password === '')
    throw new StreamsConfigError(
      'sasl.password',
      `expected a non-empty string, got ${kindOf(password)}`,
    );
  const compiled = {
    mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512',
    username,
    password,
  };
  // The compiled options are public (app.options): printing them must not show the password.
  const redacted = { mechanism: compiled.mechanism, username, password: REDACTED };
  Object.defineProperties(compiled, {
    toJSON: { value: () => redacted },
    [inspect.custom]: { value: () => redacted },
  });
  return { sasl: Object.freeze(compiled) };
}

function compileRetry(value: unknown): Readonly<Required<RetryOptions>> {
  const field = 'retry';
  if (value !== undefined && !isPlainObject(value))
    throw new StreamsConfigError(field, `expected an object, got ${kindOf(value)}`);
  const r = value ?? {};
  rejectUnknownKeys(field, r, RETRY_SETTINGS);
  const int = (key: string, fallback: number, min: number): number => {
    const v = r[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      throw new StreamsConfigError(
        `${field}.${key}`,
        `expected an integer >= ${min}, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const v = r[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      throw new StreamsConfigError(
        `${field}.${key}`,
        `expected a number from ${min} to ${max}, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  // kafkajs's defaults (retry/defaults.js).
  const retry = {
    retries: int('retries', 5, 0),
    initialRetryTime: int('initialRetryTime', 300, 1),
    maxRetryTime: int('maxRetryTime', 30_000, 1),
    factor: num('factor', 0.2, 0, 1),
    multiplier: num('multiplier', 2, 1, 100),
  };
  if (retry.maxRetryTime < retry.initialRetryTime)
    throw new StreamsConfigError(
      'retry.maxRetryTime',
      `must be at least retry.initialRetryTime (${retry.maxRetryTime} < ${retry.initialRetryTime})`,
    );
  return Object.freeze(retry);
}

/** The settings object of `field`, with owned and unknown keys rejected. */
function settingsObject(
  field: 'consumer' | 'producer',
  value: unknown,
  supported: readonly string[],
): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new StreamsConfigError(field, 'expected an object of client settings');
  }
  for (const key of Object.keys(value)) {
    const reason = OWNED_LOWER[field].get(key.toLowerCase());
    if (reason !== undefined) throw new StreamsConfigError(`${field}.${key}`, reason);
    if (!supported.includes(key)) {
      const hint = closest(key, supported);
      throw new StreamsConfigError(
        `${field}.${key}`,
        `unknown ${field} setting${hint ? ` (did you mean ${hint}?)` : ''}; supported: ${supported.join(', ')}`,
      );
    }
  }
  return value;
}

function compileConsumerSettings(value: unknown): Readonly<Required<ConsumerSettings>> {
  const s = settingsObject('consumer', value, CONSUMER_SETTINGS);
  const int = (key: keyof ConsumerSettings, fallback: number, min: number): number => {
    const v = s[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new StreamsConfigError(
        `consumer.${key}`,
        `expected an integer >= ${min}, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  return Object.freeze({
    maxWaitTimeMs: int('maxWaitTimeMs', 500, 0),
    minBytes: int('minBytes', 1, 1),
    maxBytes: int('maxBytes', 10_485_760, 1),
    maxBytesPerPartition: int('maxBytesPerPartition', 1_048_576, 1),
  });
}

function compileProducerSettings(value: unknown): Readonly<Required<ProducerSettings>> {
  const s = settingsObject('producer', value, PRODUCER_SETTINGS);
  const compression = s['compression'] ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') {
    throw new StreamsConfigError(
      'producer.compression',
      `expected 'none' or 'gzip', got ${JSON.stringify(compression)}`,
    );
  }
  return Object.freeze({ compression });
}

function requireString(options: StreamsAppOptions, field: keyof StreamsAppOptions): string {
  const value = optionalString(options, field);
  if (value === undefined) throw new StreamsConfigError(field, 'is required');
  return value;
}

function optionalString(
  options: StreamsAppOptions,
  field: keyof StreamsAppOptions,
): string | undefined {
  const value: unknown = options[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new StreamsConfigError(
      field,
      `expected a non-empty string, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function integer(
  options: StreamsAppOptions,
  field: keyof StreamsAppOptions,
  fallback: number,
  min: number,
): number {
  const value: unknown = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new StreamsConfigError(
      field,
      `expected an integer >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function oneOf<T extends string>(
  options: StreamsAppOptions,
  field: keyof StreamsAppOptions,
  allowed: readonly T[],
  fallback: T,
): T {
  const value: unknown = options[field];
  if (value === undefined) return fallback;
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new StreamsConfigError(
      field,
      `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The option name within edit distance 2 of a typo, if any. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

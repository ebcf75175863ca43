/**
 * Client error classification: the one place where an error from the Kafka
 * client is mapped to what the runtime must do about it (DESIGN.md invariant
 * 4). Mirrors Kafka Streams' `StreamsProducer`, which maps every producer
 * exception to TaskMigrated / fatal / retriable in a single class.
 *
 * `classify` never throws and accepts anything (`unknown`): errors from
 * kafkajs, errors this adapter raises, and plain JS errors.
 */

/**
 * What the runtime does with an error.
 * - `migrated`: the task's producer (or group membership) was fenced; another
 *   worker owns the task now. Close the task dirty, let the group reassign it.
 * - `ambiguous`: the outcome of a commit is unknown. Never assume either
 *   outcome: re-init the producer (InitProducerId completes or aborts the
 *   transaction), restore, re-read the committed offsets.
 * - `retriable`: abort the transaction, rewind to the last committed offset
 *   and try again.
 * - `fatal`: retrying cannot help (authorization, configuration, unsupported
 *   version, record too large, programming error): stop the app.
 */
export type ClientErrorKind = 'migrated' | 'ambiguous' | 'retriable' | 'fatal';

/** The operation an error came from: it matters only for `commit`. */
export type ClientOperation =
  'init' | 'begin' | 'send' | 'sendOffsets' | 'commit' | 'abort' | 'fetch' | 'admin' | 'group';

export interface ErrorClassification {
  kind: ClientErrorKind;
  /** Kafka protocol error code, when the error carries one (incl. codes kafkajs does not know). */
  code?: number;
  /** Kafka protocol error name (e.g. `PRODUCER_FENCED`) or the JS error name. */
  type?: string;
  /** True only for `retriable`: a new transaction may succeed. */
  canRetry: boolean;
}

/** Base class for errors this adapter raises itself. */
export class ClientError extends Error {
  override readonly name: string = 'ClientError';
  readonly kind: ClientErrorKind;
  readonly code: number | undefined;
  readonly type: string | undefined;
  constructor(
    message: string,
    kind: ClientErrorKind,
    options: { cause?: unknown; code?: number; type?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.code = options.code;
    this.type = options.type;
  }
}

/**
 * A call that the transactional producer's state machine does not allow in
 * its current state (a programming error in the caller): fatal.
 */
export class IllegalTransactionStateError extends ClientError {
  override readonly name = 'IllegalTransactionStateError';
  constructor(operation: string, state: string) {
    super(`Cannot call ${operation}() on a transactional producer in state ${state}`, 'fatal', {
      type: 'ILLEGAL_TRANSACTION_STATE',
    });
  }
}

/** The producer was fenced earlier; every later call fails with this. */
export class ProducerFencedError extends ClientError {
  override readonly name = 'ProducerFencedError';
  constructor(transactionalId: string, cause?: unknown) {
    super(
      `Transactional producer ${transactionalId} was fenced by a newer producer with the same transactional id`,
      'migrated',
      { cause, type: 'PRODUCER_FENCED', code: 90 },
    );
  }
}

/**
 * Kafka error codes the classification knows, with the action for each.
 * Codes kafkajs 2.2.4 does not know (89 and above) are reported by kafkajs
 * as `KAFKAJS_UNKNOWN_ERROR_CODE` with code -99 and the message
 * "Unknown error code N"; `classify` recovers N from the message.
 */
const CODES: ReadonlyMap<number, { type: string; kind: ClientErrorKind }> = new Map([
  // The broker failed on its side (seen on EndTxn under broker churn): not a
  // verdict on us. The task is rebuilt, which re-fences and settles the
  // transaction; during a commit it is ambiguous (see downgrade).
  [-1, { type: 'UNKNOWN_SERVER_ERROR', kind: 'retriable' }],
  // Fenced: a newer producer epoch exists, or the broker lost our producer
  // state. Kafka Streams maps ProducerFenced, InvalidProducerEpoch,
  // UnknownProducerId and OutOfOrderSequence to TaskMigratedException.
  [45, { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', kind: 'migrated' }],
  [47, { type: 'INVALID_PRODUCER_EPOCH', kind: 'migrated' }],
  [49, { type: 'INVALID_PRODUCER_ID_MAPPING', kind: 'migrated' }],
  [52, { type: 'TRANSACTION_COORDINATOR_FENCED', kind: 'migrated' }],
  [59, { type: 'UNKNOWN_PRODUCER_ID', kind: 'migrated' }],
  // KIP-588: brokers answer PRODUCER_FENCED (90) to new request versions and
  // INVALID_PRODUCER_EPOCH to the old versions kafkajs sends; handle both.
  [90, { type: 'PRODUCER_FENCED', kind: 'migrated' }],
  // Group fencing (KIP-345 static members; KIP-447 generation checks on
  // TxnOffsetCommit): the group has moved on without this member.
  [22, { type: 'ILLEGAL_GENERATION', kind: 'migrated' }],
  [25, { type: 'UNKNOWN_MEMBER_ID', kind: 'migrated' }],
  [82, { type: 'FENCED_INSTANCE_ID', kind: 'migrated' }],
  // Retriable in a new transaction.
  [2, { type: 'CORRUPT_MESSAGE', kind: 'retriable' }],
  [3, { type: 'UNKNOWN_TOPIC_OR_PARTITION', kind: 'retriable' }],
  [5, { type: 'LEADER_NOT_AVAILABLE', kind: 'retriable' }],
  [6, { type: 'NOT_LEADER_FOR_PARTITION', kind: 'retriable' }],
  [7, { type: 'REQUEST_TIMED_OUT', kind: 'retriable' }],
  [8, { type: 'BROKER_NOT_AVAILABLE', kind: 'retriable' }],
  [13, { type: 'NETWORK_EXCEPTION', kind: 'retriable' }],
  [14, { type: 'COORDINATOR_LOAD_IN_PROGRESS', kind: 'retriable' }],
  [15, { type: 'COORDINATOR_NOT_AVAILABLE', kind: 'retriable' }],
  [16, { type: 'NOT_COORDINATOR', kind: 'retriable' }],
  [19, { type: 'NOT_ENOUGH_REPLICAS', kind: 'retriable' }],
  [20, { type: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', kind: 'retriable' }],
  [27, { type: 'REBALANCE_IN_PROGRESS', kind: 'retriable' }],
  [51, { type: 'CONCURRENT_TRANSACTIONS', kind: 'retriable' }],
  [56, { type: 'KAFKA_STORAGE_ERROR', kind: 'retriable' }],
  [74, { type: 'FENCED_LEADER_EPOCH', kind: 'retriable' }],
  [75, { type: 'UNKNOWN_LEADER_EPOCH', kind: 'retriable' }],
  [88, { type: 'UNSTABLE_OFFSET_COMMIT', kind: 'retriable' }],
  [89, { type: 'THROTTLING_QUOTA_EXCEEDED', kind: 'retriable' }],
  [100, { type: 'UNKNOWN_TOPIC_ID', kind: 'retriable' }],
  [103, { type: 'INCONSISTENT_TOPIC_ID', kind: 'retriable' }],
  // KIP-890: the coordinator asks the producer to abort; a new transaction works.
  [120, { type: 'TRANSACTION_ABORTABLE', kind: 'retriable' }],
  // Fatal: retrying or re-initialising cannot help.
  [10, { type: 'MESSAGE_TOO_LARGE', kind: 'fatal' }],
  [17, { type: 'INVALID_TOPIC_EXCEPTION', kind: 'fatal' }],
  [18, { type: 'RECORD_LIST_TOO_LARGE', kind: 'fatal' }],
  [21, { type: 'INVALID_REQUIRED_ACKS', kind: 'fatal' }],
  [29, { type: 'TOPIC_AUTHORIZATION_FAILED', kind: 'fatal' }],
  [30, { type: 'GROUP_AUTHORIZATION_FAILED', kind: 'fatal' }],
  [31, { type: 'CLUSTER_AUTHORIZATION_FAILED', kind: 'fatal' }],
  [35, { type: 'UNSUPPORTED_VERSION', kind: 'fatal' }],
  [40, { type: 'INVALID_CONFIG', kind: 'fatal' }],
  [43, { type: 'UNSUPPORTED_FOR_MESSAGE_FORMAT', kind: 'fatal' }],
  [44, { type: 'POLICY_VIOLATION', kind: 'fatal' }],
  // The client's transaction state disagrees with the coordinator's: a bug, as in the Java client.
  [48, { type: 'INVALID_TXN_STATE', kind: 'fatal' }],
  [50, { type: 'INVALID_TRANSACTION_TIMEOUT', kind: 'fatal' }],
  [53, { type: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', kind: 'fatal' }],
  [54, { type: 'SECURITY_DISABLED', kind: 'fatal' }],
  [58, { type: 'SASL_AUTHENTICATION_FAILED', kind: 'fatal' }],
  [76, { type: 'UNSUPPORTED_COMPRESSION_TYPE', kind: 'fatal' }],
  [87, { type: 'INVALID_RECORD', kind: 'fatal' }],
  [93, { type: 'UNACCEPTABLE_CREDENTIAL', kind: 'fatal' }],
  [105, { type: 'TRANSACTIONAL_ID_NOT_FOUND', kind: 'fatal' }],
]);

const TYPE_TO_CODE: ReadonlyMap<string, number> = new Map(
  [...CODES].map(([code, { type }]) => [type, code]),
);
// kafkajs spells a few codes with their pre-KIP names.
const KAFKAJS_TYPE_ALIASES: Readonly<Record<string, number>> = {
  GROUP_LOAD_IN_PROGRESS: 14,
  GROUP_COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR_FOR_GROUP: 16,
  // kafkajs's name for UNKNOWN_SERVER_ERROR (code -1, which it marks not retriable).
  UNKNOWN: -1,
};

/** JS errors that mean a bug in our code or in kafkajs: never retry. */
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/** kafkajs errors whose outcome on the broker is unknown (the request may or may not have been applied). */
const NETWORK_ERRORS = new Set([
  'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
]);

/** kafkajs errors that retrying cannot fix. */
const FATAL_ERRORS = new Set([
  'KafkaJSSASLAuthenticationError',
  'KafkaJSServerDoesNotSupportApiKey',
  'KafkaJSUnsupportedMagicByteInMessageSet',
  'KafkaJSInvalidVarIntError',
  'KafkaJSInvalidLongError',
  'KafkaJSNotImplemented',
  'KafkaJSInvariantViolation',
]);

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  code?: unknown;
  kind?: unknown;
  cause?: unknown;
  retriable?: unknown;
}

function asErrorLike(value: unknown): ErrorLike | undefined {
  return typeof value === 'object' && value !== null ? (value as ErrorLike) : undefined;
}

/** Kafka error code carried by one error object (not its causes), if any. */
function protocolCode(e: ErrorLike): number | undefined {
  if (typeof e.code === 'number' && e.code >= 0 && CODES.has(e.code)) return e.code;
  if (typeof e.type === 'string') {
    if (e.type === 'KAFKAJS_UNKNOWN_ERROR_CODE' && typeof e.message === 'string') {
      // kafkajs replaces codes it does not know with -99; the real one is only in the message.
      const m = /Unknown error code (-?\d+)/.exec(e.message);
      if (m?.[1] !== undefined) return Number(m[1]);
    }
    const byType = TYPE_TO_CODE.get(e.type) ?? KAFKAJS_TYPE_ALIASES[e.type];
    if (byType !== undefined) return byType;
  }
  if (typeof e.code === 'number' && e.code >= 0) return e.code;
  return undefined;
}

/** The error and its `cause` chain (kafkajs wraps errors in retriers), outermost first. */
function causeChain(err: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (chain.length < 16 && !seen.has(current)) {
    const e = asErrorLike(current);
    if (e === undefined) break;
    seen.add(current);
    chain.push(e);
    current = e.cause;
  }
  return chain;
}

function result(kind: ClientErrorKind, code?: number, type?: string): ErrorClassification {
  const c: ErrorClassification = { kind, canRetry: kind === 'retriable' };
  if (code !== undefined) c.code = code;
  if (type !== undefined) c.type = type;
  return c;
}

/**
 * Classify an error from the Kafka client. `operation` matters for `commit`:
 * a commit (EndTxn) that fails without a definite fenced/fatal answer is
 * `ambiguous`, since the coordinator may already have written PrepareCommit.
 * Never throws.
 */
export function classify(err: unknown, operation?: ClientOperation): ErrorClassification {
  try {
    return classifyUnsafe(err, operation);
  } catch {
    return result(operation === 'commit' ? 'ambiguous' : 'fatal', undefined, 'UNCLASSIFIABLE');
  }
}

function classifyUnsafe(err: unknown, operation?: ClientOperation): ErrorClassification {
  const chain = causeChain(err);
  const downgrade = (kind: ClientErrorKind): ClientErrorKind =>
    operation === 'commit' && (kind === 'retriable' || kind === 'ambiguous') ? 'ambiguous' : kind;

  // 1. Our own errors carry their kind.
  for (const e of chain) {
    if (e instanceof ClientError) {
      return result(downgrade(e.kind), e.code, e.type ?? e.name);
    }
  }
  // 2. The innermost Kafka protocol code decides: the outer layers are retrier wrappers.
  for (const e of [...chain].reverse()) {
    const code = protocolCode(e);
    if (code === undefined) continue;
    const known = CODES.get(code);
    if (known !== undefined) return result(downgrade(known.kind), code, known.type);
    const type =
      typeof e.type === 'string' && e.type !== 'KAFKAJS_UNKNOWN_ERROR_CODE'
        ? e.type
        : `UNKNOWN_ERROR_CODE_${code}`;
    // An unknown code: trust kafkajs's retriable flag if it has one, else fatal.
    return result(downgrade(e.retriable === true ? 'retriable' : 'fatal'), code, type);
  }
  // 3. Named JS/kafkajs errors, innermost first.
  for (const e of [...chain].reverse()) {
    const name = typeof e.name === 'string' ? e.name : undefined;
    if (name === undefined) continue;
    if (PROGRAMMING_ERRORS.has(name) || FATAL_ERRORS.has(name))
      return result('fatal', undefined, name);
    if (NETWORK_ERRORS.has(name)) {
      // A timeout or a dropped connection while EndTxn is in flight: the
      // coordinator may or may not have received it.
      return result(operation === 'commit' ? 'ambiguous' : 'retriable', undefined, name);
    }
  }
  // 4. Anything else from kafkajs: its retriable flag, else fatal.
  const outer = chain[0];
  if (outer === undefined) return result(downgrade('fatal'), undefined, typeof err);
  const name = typeof outer.name === 'string' ? outer.name : undefined;
  if (name !== undefined && name.startsWith('KafkaJS')) {
    const innermost = chain[chain.length - 1] ?? outer;
    const retriable = innermost.retriable === true || outer.retriable === true;
    return result(downgrade(retriable ? 'retriable' : 'fatal'), undefined, name);
  }
  return result(downgrade('fatal'), undefined, name);
}

/** Kafka protocol error code of an error or any of its causes (handles codes kafkajs does not know). */
export function errorCode(err: unknown): number | undefined {
  for (const e of causeChain(err).reverse()) {
    const code = protocolCode(e);
    if (code !== undefined) return code;
  }
  return undefined;
}

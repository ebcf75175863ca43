/**
 * Client errors, backend-neutral: what the runtime must do about a failure
 * of the Kafka client (docs/architecture.md, invariant 4). A backend (e.g.
 * framework/client/kafkajs/) turns every failure of its library into a
 * `ClientError` whose `kind` says it, at its own boundary, using the Kafka
 * protocol codes below; nothing library-shaped reaches the runtime.
 *
 * `classify` never throws and accepts anything (`unknown`).
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
  /** True when no broker could be reached at all (refused, unresolvable, timed out connecting). */
  readonly unreachable: boolean;
  constructor(
    message: string,
    kind: ClientErrorKind,
    options: { cause?: unknown; code?: number; type?: string; unreachable?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.code = options.code;
    this.type = options.type;
    this.unreachable = options.unreachable ?? false;
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
 * Kafka protocol error codes with the action for each. Backends classify the
 * protocol errors their library reports with this table.
 */
export const KAFKA_ERROR_CODES: ReadonlyMap<number, { type: string; kind: ClientErrorKind }> =
  new Map([
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
    [33, { type: 'UNSUPPORTED_SASL_MECHANISM', kind: 'fatal' }],
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

/** JS errors that mean a bug in our code or in a client library: never retry. */
export const PROGRAMMING_ERRORS: ReadonlySet<string> = new Set([
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
]);

export function classification(
  kind: ClientErrorKind,
  code?: number,
  type?: string,
): ErrorClassification {
  const c: ErrorClassification = { kind, canRetry: kind === 'retriable' };
  if (code !== undefined) c.code = code;
  if (type !== undefined) c.type = type;
  return c;
}

/**
 * A commit (EndTxn) that fails without a definite fenced/fatal answer is
 * `ambiguous`: the coordinator may already have written PrepareCommit.
 */
export function forOperation(kind: ClientErrorKind, operation?: ClientOperation): ClientErrorKind {
  return operation === 'commit' && (kind === 'retriable' || kind === 'ambiguous')
    ? 'ambiguous'
    : kind;
}

/**
 * What the runtime does with an error: a `ClientError` (anywhere in the
 * cause chain) carries its kind; an error object with a Kafka protocol
 * `code` of the table gets that code's kind; anything else — a programming
 * error, an unknown object — is fatal (or ambiguous for a commit only if a
 * ClientError says so). Never throws.
 */
export function classify(err: unknown, operation?: ClientOperation): ErrorClassification {
  try {
    return classifyUnsafe(err, operation);
  } catch {
    return classification(
      operation === 'commit' ? 'ambiguous' : 'fatal',
      undefined,
      'UNCLASSIFIABLE',
    );
  }
}

function classifyUnsafe(err: unknown, operation?: ClientOperation): ErrorClassification {
  const chain: object[] = [];
  const seen = new Set<unknown>();
  for (
    let e: unknown = err;
    typeof e === 'object' && e !== null && !seen.has(e) && chain.length < 16;
  ) {
    seen.add(e);
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  for (const e of chain) {
    if (e instanceof ClientError)
      return classification(forOperation(e.kind, operation), e.code, e.type ?? e.name);
  }
  for (const e of [...chain].reverse()) {
    const code = (e as { code?: unknown }).code;
    const known = typeof code === 'number' ? KAFKA_ERROR_CODES.get(code) : undefined;
    if (known !== undefined)
      return classification(forOperation(known.kind, operation), code as number, known.type);
  }
  const name = (chain[0] as { name?: unknown } | undefined)?.name;
  return classification('fatal', undefined, typeof name === 'string' ? name : typeof err);
}

/** True when the error (or one of its causes) says no broker could be reached. */
export function isUnreachable(err: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = err; typeof e === 'object' && e !== null && !seen.has(e);) {
    seen.add(e);
    if (e instanceof ClientError && e.unreachable) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether an error (or one of its causes) is a refused authentication: `sasl` for SASL
 * (bad credentials, a mechanism the broker does not enable), `tls` for a TLS handshake the
 * client refused (untrusted or expired certificate, wrong host).
 */
export function securityFailure(err: unknown): 'sasl' | 'tls' | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; typeof e === 'object' && e !== null && !seen.has(e);) {
    seen.add(e);
    if (e instanceof ClientError) {
      if (e.type === 'TLS_HANDSHAKE_FAILED') return 'tls';
      if (e.code === 58 || e.code === 33) return 'sasl';
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

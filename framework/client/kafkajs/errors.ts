/**
 * kafkajs 2.2.4's errors, classified: its error class names, its spellings
 * of protocol error types, its retriable flags, and the real code of an
 * error code it does not know. Every failure of the kafkajs adapter leaves
 * it as a `ClientError` made here (`toClientError`), so the runtime never
 * sees a kafkajs error (docs/architecture.md, "Client boundary").
 */
import {
  ClientError,
  KAFKA_ERROR_CODES as CODES,
  PROGRAMMING_ERRORS,
  classification as result,
  forOperation,
  type ClientErrorKind,
  type ClientOperation,
  type ErrorClassification,
} from '../errors.ts';

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

/** kafkajs errors that stand for a Kafka protocol error, by that error's code. */
const NAMED_PROTOCOL_ERRORS: Readonly<Record<string, number>> = {
  // Raised by kafkajs's SASL authenticators (a SaslAuthenticate error, or a bad server answer).
  KafkaJSSASLAuthenticationError: 58,
};

/**
 * Node's (OpenSSL's) codes for a TLS handshake the client refused: the broker's certificate
 * is not trusted, expired or for another host, or the peer does not speak TLS. Retrying
 * cannot fix them; the Java client raises SslAuthenticationException, which is not retriable.
 */
const TLS_FAILURE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True for an error (not its causes) that is a refused TLS handshake. */
export function isTlsFailure(e: unknown): boolean {
  const code = asErrorLike(e)?.code;
  return typeof code === 'string' && (TLS_FAILURE_CODES.has(code) || /^ERR_SSL_/.test(code));
}

/** kafkajs errors that retrying cannot fix. */
const FATAL_ERRORS = new Set([
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
  if (typeof e.name === 'string' && NAMED_PROTOCOL_ERRORS[e.name] !== undefined)
    return NAMED_PROTOCOL_ERRORS[e.name];
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

/**
 * Classify an error from kafkajs (or one the adapter raised). `operation`
 * matters for `commit`: a commit (EndTxn) that fails without a definite
 * fenced/fatal answer is `ambiguous`, since the coordinator may already have
 * written PrepareCommit. Never throws.
 */
export function classifyKafkajs(err: unknown, operation?: ClientOperation): ErrorClassification {
  try {
    return classifyUnsafe(err, operation);
  } catch {
    return result(operation === 'commit' ? 'ambiguous' : 'fatal', undefined, 'UNCLASSIFIABLE');
  }
}

function classifyUnsafe(err: unknown, operation?: ClientOperation): ErrorClassification {
  const chain = causeChain(err);
  const downgrade = (kind: ClientErrorKind): ClientErrorKind => forOperation(kind, operation);

  // 1. Our own errors carry their kind.
  for (const e of chain) {
    if (e instanceof ClientError) {
      return result(downgrade(e.kind), e.code, e.type ?? e.name);
    }
  }
  // 2. A refused TLS handshake: kafkajs reports it as a (retriable) connection error.
  if (chain.some(isTlsFailure)) return result('fatal', undefined, 'TLS_HANDSHAKE_FAILED');
  // 3. The innermost Kafka protocol code decides: the outer layers are retrier wrappers.
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
  // 4. Named JS/kafkajs errors, innermost first.
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
  // 5. Anything else from kafkajs: its retriable flag, else fatal.
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

/**
 * The adapter's boundary: any failure as a `ClientError` (kind, Kafka code
 * and type from `classifyKafkajs`), the original kept as `cause`. A
 * ClientError passes through.
 */
export function toClientError(err: unknown, operation: ClientOperation, what: string): ClientError {
  if (err instanceof ClientError) return err;
  const c = classifyKafkajs(err, operation);
  const reason = err instanceof Error ? err.message : String(err);
  const options: { cause: unknown; code?: number; type?: string; unreachable?: boolean } = {
    cause: err,
    unreachable: connectionFailed(err),
  };
  if (c.code !== undefined) options.code = c.code;
  if (c.type !== undefined) options.type = c.type;
  return new ClientError(`${what} failed (${c.kind}): ${reason}`, c.kind, options);
}

/** System errors of a connect that never got through. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * kafkajs reports a broker it cannot connect to as a KafkaJSConnectionError
 * (with the system error's code), wrapped in KafkaJSNumberOfRetriesExceeded
 * once its retries are spent.
 */
function connectionFailed(err: unknown): boolean {
  return causeChain(err).some(
    (e) =>
      (e.name === 'KafkaJSConnectionError' &&
        typeof e.message === 'string' &&
        /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|Connection timeout/.test(
          e.message,
        )) ||
      (typeof e.code === 'string' && CONNECT_FAILURES.has(e.code)),
  );
}

/** Runs an adapter call, turning whatever it throws into a ClientError. */
export async function atBoundary<T>(
  operation: ClientOperation,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toClientError(err, operation, what);
  }
}

/**
 * Runs a read-only admin call, retrying what classifies as retriable (a
 * coordinator or leader that moved, a broker restarting) for up to
 * `deadlineMs`: kafkajs's admin does not retry e.g. NOT_COORDINATOR on
 * OffsetFetch, and a request that only reads is safe to repeat.
 */
export async function retryingReads<T>(
  what: string,
  call: () => Promise<T>,
  deadlineMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const c = classifyKafkajs(err, 'admin');
      const wait = Math.min(1_000, 100 * 2 ** attempt);
      if (c.kind !== 'retriable' || Date.now() + wait > deadline)
        throw toClientError(err, 'admin', what);
      await new Promise((resolve) => setTimeout(resolve, wait)); // backoff before a retry
    }
  }
}

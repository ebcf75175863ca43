// Unit tests (no broker): the kafkajs backend's error classification, built
// from the same error objects kafkajs 2.2.4 raises.
import t from 'tap';
import kafkajs from 'kafkajs';
import {
  ClientError,
  ProducerFencedError,
  IllegalTransactionStateError,
} from '../../../../framework/client/index.ts';
import {
  classifyKafkajs as classify,
  errorCode,
  toClientError,
} from '../../../../framework/client/kafkajs/index.ts';

// The real kafkajs error classes, with their runtime constructor signatures
// (kafkajs's typings declare fewer classes and arguments than it has).
type ErrorClass = new (...args: unknown[]) => Error;
const {
  KafkaJSProtocolError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSRequestTimeoutError,
  KafkaJSConnectionError,
  KafkaJSConnectionClosedError,
  KafkaJSSASLAuthenticationError,
  KafkaJSServerDoesNotSupportApiKey,
} = kafkajs as unknown as Record<
  | 'KafkaJSProtocolError'
  | 'KafkaJSNonRetriableError'
  | 'KafkaJSNumberOfRetriesExceeded'
  | 'KafkaJSRequestTimeoutError'
  | 'KafkaJSConnectionError'
  | 'KafkaJSConnectionClosedError'
  | 'KafkaJSSASLAuthenticationError'
  | 'KafkaJSServerDoesNotSupportApiKey',
  ErrorClass
>;

/** The error kafkajs raises for a response with this code (protocol/error.js createErrorFromCode). */
function protocolError(code: number, type: string, retriable: boolean, message = type): Error {
  return new KafkaJSProtocolError({ type, code, retriable, message });
}
/** kafkajs's error for a code it does not know: type KAFKAJS_UNKNOWN_ERROR_CODE, code -99. */
function unknownCodeError(code: number): Error {
  return protocolError(-99, 'KAFKAJS_UNKNOWN_ERROR_CODE', false, `Unknown error code ${code}`);
}
/** What kafkajs's retrier rejects with when fn bails with a non-retriable error. */
function bailed(e: Error): Error {
  return new KafkaJSNonRetriableError(e, { cause: e });
}

t.test(
  'UNKNOWN_SERVER_ERROR (-1, kafkajs type UNKNOWN) is retriable, and ambiguous in a commit',
  async (t) => {
    // Seen in a chaos soak: EndTxn answered -1 while brokers restarted; kafkajs
    // marks it not retriable, and a worker stopped on it as if it were fatal.
    const e = protocolError(
      -1,
      'UNKNOWN',
      false,
      'The server experienced an unexpected error when processing the request',
    );
    t.same(classify(bailed(e)), {
      kind: 'retriable',
      code: -1,
      type: 'UNKNOWN_SERVER_ERROR',
      canRetry: true,
    });
    t.same(classify(bailed(e), 'commit'), {
      kind: 'ambiguous',
      code: -1,
      type: 'UNKNOWN_SERVER_ERROR',
      canRetry: false,
    });
  },
);

t.test('fencing codes classify as migrated, wrapped or not', async (t) => {
  const cases: [number, string][] = [
    [47, 'INVALID_PRODUCER_EPOCH'],
    [49, 'INVALID_PRODUCER_ID_MAPPING'],
    [59, 'UNKNOWN_PRODUCER_ID'],
    [45, 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
  ];
  for (const [code, type] of cases) {
    const e = protocolError(code, type, false);
    t.same(classify(e), { kind: 'migrated', code, type, canRetry: false }, type);
    t.same(
      classify(bailed(e), 'send'),
      { kind: 'migrated', code, type, canRetry: false },
      `${type} inside the retrier's wrapper`,
    );
    t.equal(
      classify(e, 'commit').kind,
      'migrated',
      `${type} during commit is still migrated, not ambiguous`,
    );
  }
});

t.test(
  'PRODUCER_FENCED (90), unknown to kafkajs, is recovered from the message and classifies as migrated',
  async (t) => {
    const e = unknownCodeError(90);
    t.same(classify(e), { kind: 'migrated', code: 90, type: 'PRODUCER_FENCED', canRetry: false });
    t.equal(errorCode(bailed(e)), 90);
  },
);

t.test('TRANSACTION_ABORTABLE (120, KIP-890), unknown to kafkajs, is retriable', async (t) => {
  t.same(classify(unknownCodeError(120)), {
    kind: 'retriable',
    code: 120,
    type: 'TRANSACTION_ABORTABLE',
    canRetry: true,
  });
});

t.test('a code nobody knows is fatal, never thrown', async (t) => {
  t.same(classify(unknownCodeError(999)), {
    kind: 'fatal',
    code: 999,
    type: 'UNKNOWN_ERROR_CODE_999',
    canRetry: false,
  });
});

t.test('authorization, configuration and version errors are fatal', async (t) => {
  const cases: [number, string][] = [
    [53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
    [29, 'TOPIC_AUTHORIZATION_FAILED'],
    [30, 'GROUP_AUTHORIZATION_FAILED'],
    [31, 'CLUSTER_AUTHORIZATION_FAILED'],
    [35, 'UNSUPPORTED_VERSION'],
    [50, 'INVALID_TRANSACTION_TIMEOUT'],
    [10, 'MESSAGE_TOO_LARGE'],
    [48, 'INVALID_TXN_STATE'],
  ];
  for (const [code, type] of cases)
    t.same(
      classify(protocolError(code, type, false)),
      { kind: 'fatal', code, type, canRetry: false },
      type,
    );
  t.equal(classify(new KafkaJSSASLAuthenticationError('bad password')).kind, 'fatal');
  t.equal(
    classify(new KafkaJSServerDoesNotSupportApiKey('no', { apiKey: 22, apiName: 'InitProducerId' }))
      .kind,
    'fatal',
  );
  t.equal(
    classify(new TypeError('x is not a function')).kind,
    'fatal',
    'programming errors are fatal',
  );
});

t.test('a failed SASL authentication is SASL_AUTHENTICATION_FAILED (58), fatal', async (t) => {
  // What kafkajs's SCRAM authenticator raises for a wrong password (saslAuthenticator/scram.js).
  const e = new KafkaJSSASLAuthenticationError(
    'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
  );
  const expected = { kind: 'fatal', code: 58, type: 'SASL_AUTHENTICATION_FAILED', canRetry: false };
  t.same(classify(e), expected);
  t.same(classify(bailed(e)), expected, 'also when a retrier bailed with it');
  t.same(classify(e, 'commit'), expected, 'never ambiguous');
  t.same(
    classify(protocolError(33, 'UNSUPPORTED_SASL_MECHANISM', false)),
    { kind: 'fatal', code: 33, type: 'UNSUPPORTED_SASL_MECHANISM', canRetry: false },
    'a mechanism the broker does not enable',
  );
});

t.test('a refused TLS handshake is TLS_HANDSHAKE_FAILED, fatal, however wrapped', async (t) => {
  // kafkajs's Connection wraps the socket's error, keeping its code (network/connection.js).
  for (const code of [
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
  ]) {
    const e = new KafkaJSConnectionError(`Connection error: ${code}`, {
      broker: '127.0.0.1:9093',
      code,
    });
    const expected = { kind: 'fatal', type: 'TLS_HANDSHAKE_FAILED', canRetry: false };
    t.same(classify(e), expected, code);
    t.same(
      classify(new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 100 })),
      expected,
      `${code} after kafkajs's retries`,
    );
  }
  t.equal(
    classify(
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', {
        broker: '127.0.0.1:9093',
        code: 'ECONNREFUSED',
      }),
    ).kind,
    'retriable',
    'a refused connection stays retriable',
  );
});

t.test(
  'retriable broker errors are retriable outside a commit and ambiguous during one',
  async (t) => {
    const cases: [number, string][] = [
      [6, 'NOT_LEADER_FOR_PARTITION'],
      [16, 'NOT_COORDINATOR_FOR_GROUP'],
      [51, 'CONCURRENT_TRANSACTIONS'],
      [7, 'REQUEST_TIMED_OUT'],
    ];
    for (const [code, type] of cases) {
      const e = protocolError(code, type, true);
      t.same(
        classify(e, 'send'),
        { kind: 'retriable', code, type: classify(e).type, canRetry: true },
        type,
      );
      t.equal(classify(e, 'commit').kind, 'ambiguous', `${type} on EndTxn: outcome unknown`);
    }
    t.equal(
      classify(protocolError(16, 'NOT_COORDINATOR_FOR_GROUP', true)).type,
      'NOT_COORDINATOR',
      'kafkajs aliases map to Kafka names',
    );
  },
);

t.test('a request timeout or a dropped connection during commit is ambiguous', async (t) => {
  const timeout = new KafkaJSRequestTimeoutError(
    'Request EndTxn(key: 26, version: 1) timed out',
    {},
  );
  const closed = new KafkaJSConnectionClosedError('Connection closed', {
    host: '127.0.0.1',
    port: 9092,
  });
  const refused = new KafkaJSConnectionError('Connection error: ECONNREFUSED', {});
  for (const e of [timeout, closed, refused]) {
    t.same(
      classify(e, 'commit'),
      { kind: 'ambiguous', type: e.name, canRetry: false },
      `${e.name} during commit`,
    );
    t.equal(classify(e, 'send').kind, 'retriable', `${e.name} during send`);
  }
  const exhausted = new KafkaJSNumberOfRetriesExceeded(timeout, { retryCount: 5, retryTime: 1000 });
  t.equal(classify(exhausted, 'commit').kind, 'ambiguous', 'also when retries were exhausted');
  t.equal(classify(exhausted, 'sendOffsets').kind, 'retriable');
});

t.test("the adapter's own errors keep their kind", async (t) => {
  t.equal(classify(new ProducerFencedError('app-0_1')).kind, 'migrated');
  t.equal(classify(new IllegalTransactionStateError('commit', 'READY')).kind, 'fatal');
  t.equal(
    classify(
      new ClientError('x', 'retriable', {
        cause: protocolError(47, 'INVALID_PRODUCER_EPOCH', false),
      }),
    ).kind,
    'retriable',
  );
});

t.test('classify never throws, whatever it is given', async (t) => {
  const cyclic: { name: string; cause?: unknown } = { name: 'Weird' };
  cyclic.cause = cyclic;
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('boom');
      },
    },
  );
  for (const v of [undefined, null, 42, 'string', {}, cyclic, hostile, new Error('plain')]) {
    const c = classify(v);
    t.ok(
      ['migrated', 'ambiguous', 'retriable', 'fatal'].includes(c.kind),
      `classified ${typeof v}`,
    );
    t.equal(c.canRetry, c.kind === 'retriable');
  }
  t.equal(
    classify(hostile, 'commit').kind,
    'ambiguous',
    'an unreadable error during commit is ambiguous, not fatal',
  );
});

t.test(
  'at the adapter boundary every kafkajs error becomes a ClientError of its kind',
  async (t) => {
    const fenced = protocolError(90, 'PRODUCER_FENCED', false);
    const wrapped = toClientError(fenced, 'send', 'send to out');
    t.type(wrapped, ClientError);
    t.equal(wrapped.kind, 'migrated');
    t.equal(wrapped.code, 90);
    t.equal(wrapped.cause, fenced, 'the kafkajs error is kept as the cause');
    t.equal(toClientError(wrapped, 'send', 'again'), wrapped, 'a ClientError passes through');
    const refused = new KafkaJSConnectionError(
      'Connection error: connect ECONNREFUSED 127.0.0.1:1',
      {
        broker: '127.0.0.1:1',
        code: 'ECONNREFUSED',
      },
    );
    const unreachable = toClientError(
      new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 100 }),
      'admin',
      'listTopics',
    );
    t.ok(unreachable.unreachable, 'a refused connection is marked unreachable');
    t.notOk(toClientError(fenced, 'send', 'x').unreachable);
  },
);

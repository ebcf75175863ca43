import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { StreamsConfigError } from '../../framework/errors.ts';
import { compileStreamsAppOptions, type StreamsAppOptions } from '../../framework/options.ts';

const base: StreamsAppOptions = { applicationId: 'word-count', brokers: ['localhost:9092'] };
const compile = (extra: object) =>
  compileStreamsAppOptions({ ...base, ...extra } as StreamsAppOptions);

// tap's subtest type, read off t.test's callback (tap exports no alias for it with plugins).
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/** Asserts compiling throws a StreamsConfigError for `field` whose message matches `message`. */
function rejects(t: Test, extra: object, field: string, message?: RegExp): void {
  const error = t.throws(() => compile(extra)) as unknown;
  t.ok(error instanceof StreamsConfigError, 'a StreamsConfigError');
  t.equal((error as StreamsConfigError).field, field);
  t.match((error as Error).message, field, 'the message names the field');
  if (message) t.match((error as Error).message, message);
}

t.test('defaults follow Kafka Streams under exactly_once', async (t) => {
  const options = compileStreamsAppOptions(base);
  t.same(options, {
    applicationId: 'word-count',
    brokers: ['localhost:9092'],
    processingGuarantee: 'exactly_once',
    commitIntervalMs: 100,
    stateDir: path.join(os.tmpdir(), 'streamtx'),
    transactionTimeoutMs: 10_000,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 30_000,
    maxBatchRecords: 10_000,
    replicationFactor: -1,
    repartitionPurgeIntervalMs: 30_000,
    deserializationErrorHandler: 'fail',
    invalidTimestampHandler: 'fail',
    maxTaskIdleMs: 0,
    clientId: 'word-count',
    logLevel: 'info',
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000, factor: 0.2, multiplier: 2 },
    consumer: {
      maxWaitTimeMs: 500,
      minBytes: 1,
      maxBytes: 10_485_760,
      maxBytesPerPartition: 1_048_576,
    },
    producer: { compression: 'none' },
  });
});

t.test('the commit interval defaults to 30 s under at_least_once', async (t) => {
  const options = compile({ processingGuarantee: 'at_least_once' });
  t.equal(options.commitIntervalMs, 30_000);
  t.equal(options.processingGuarantee, 'at_least_once');
});

t.test('compiled options are frozen, including brokers and client overrides', async (t) => {
  const brokers = ['a:1'];
  const options = compile({ brokers, consumer: { maxBytes: 1024 } });
  t.ok(Object.isFrozen(options));
  t.ok(Object.isFrozen(options.brokers));
  t.ok(Object.isFrozen(options.consumer));
  brokers.push('b:2');
  t.same(options.brokers, ['a:1'], 'a copy, not the caller array');
  t.equal(options.consumer.maxBytes, 1024, 'a supported client setting is kept');
});

t.test('a missing applicationId is rejected naming the field', async (t) => {
  t.throws(() => compileStreamsAppOptions({ brokers: ['a:1'] } as unknown as StreamsAppOptions), {
    name: 'StreamsConfigError',
    field: 'applicationId',
    message: 'Invalid option applicationId: is required',
  });
});

t.test('an applicationId with characters illegal in topic names is rejected', async (t) => {
  rejects(t, { applicationId: 'word count' }, 'applicationId', /\[a-zA-Z0-9._-\]/);
  rejects(t, { applicationId: 'a/b' }, 'applicationId');
  t.equal(compile({ applicationId: 'My.app_2-x' }).applicationId, 'My.app_2-x');
});

t.test('brokers must be a non-empty list of host:port', async (t) => {
  rejects(t, { brokers: [] }, 'brokers');
  rejects(t, { brokers: 'localhost:9092' }, 'brokers');
  rejects(t, { brokers: ['a:1', 'localhost'] }, 'brokers[1]', /got "localhost"/);
  rejects(t, { brokers: ['a:0'] }, 'brokers[0]');
  rejects(t, { brokers: ['a:65536'] }, 'brokers[0]');
  t.same(compile({ brokers: ['kafka-1.internal:9093', '[::1]:9092'] }).brokers, [
    'kafka-1.internal:9093',
    '[::1]:9092',
  ]);
});

t.test(
  'a transaction timeout not above the commit interval is rejected naming both fields',
  async (t) => {
    rejects(
      t,
      { transactionTimeoutMs: 1_000, commitIntervalMs: 1_000 },
      'transactionTimeoutMs',
      /commitIntervalMs/,
    );
    rejects(t, { transactionTimeoutMs: 50 }, 'transactionTimeoutMs', /commitIntervalMs 100/);
    t.doesNotThrow(
      () => compile({ processingGuarantee: 'at_least_once', transactionTimeoutMs: 50 }),
      'no transactions under at_least_once, so no constraint',
    );
  },
);

t.test(
  'a heartbeat interval not below the session timeout is rejected naming both fields',
  async (t) => {
    rejects(t, { heartbeatIntervalMs: 10_000 }, 'heartbeatIntervalMs', /sessionTimeoutMs 10000/);
    t.equal(
      compile({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 2_000 }).heartbeatIntervalMs,
      2_000,
    );
  },
);

t.test('settings exactly-once depends on cannot be overridden', async (t) => {
  const owned: [string, object][] = [
    ['consumer.readUncommitted', { consumer: { readUncommitted: true } }],
    ['consumer.isolationLevel', { consumer: { isolationLevel: 0 } }],
    ['consumer.isolation.level', { consumer: { 'isolation.level': 'read_uncommitted' } }],
    ['consumer.autoCommit', { consumer: { autoCommit: true } }],
    ['consumer.groupId', { consumer: { groupId: 'other' } }],
    ['consumer.partitionAssigners', { consumer: { partitionAssigners: [] } }],
    ['producer.transactionalId', { producer: { transactionalId: 'mine' } }],
    ['producer.idempotent', { producer: { idempotent: false } }],
    ['producer.maxInFlightRequests', { producer: { maxInFlightRequests: 5 } }],
    ['producer.transactionTimeout', { producer: { transactionTimeout: 60_000 } }],
  ];
  for (const [field, extra] of owned) {
    t.test(field, async (t) => rejects(t, extra, field, /owned by streamtx|is set by/));
  }
});

t.test('an owned setting names what to use instead', async (t) => {
  rejects(t, { consumer: { sessionTimeout: 1 } }, 'consumer.sessionTimeout', /sessionTimeoutMs/);
  rejects(
    t,
    { producer: { transactionTimeout: 1 } },
    'producer.transactionTimeout',
    /transactionTimeoutMs/,
  );
});

t.test('an unknown top-level option is rejected, with a suggestion for a typo', async (t) => {
  rejects(t, { comitIntervalMs: 100 }, 'comitIntervalMs', /did you mean commitIntervalMs\?/);
  rejects(t, { banana: 1 }, 'banana', /unknown option$/);
});

t.test('options of the wrong type are rejected naming the field', async (t) => {
  rejects(t, { commitIntervalMs: '100' }, 'commitIntervalMs', /got "100"/);
  rejects(t, { commitIntervalMs: -1 }, 'commitIntervalMs');
  rejects(t, { maxBatchRecords: 1.5 }, 'maxBatchRecords');
  rejects(t, { sessionTimeoutMs: 0 }, 'sessionTimeoutMs');
  rejects(t, { stateDir: 42 }, 'stateDir');
  rejects(t, { clientId: '' }, 'clientId');
  rejects(t, { processingGuarantee: 'exactly-once' }, 'processingGuarantee', /'exactly_once'/);
  rejects(t, { logLevel: 'verbose' }, 'logLevel');
  rejects(t, { consumer: 'fast' }, 'consumer');
  rejects(t, { producer: null }, 'producer');
  t.throws(
    () => compileStreamsAppOptions(null as unknown as StreamsAppOptions),
    /Invalid option options/,
  );
});

t.test('the replication factor is -1 (broker default) or at least 1', async (t) => {
  rejects(t, { replicationFactor: 0 }, 'replicationFactor');
  rejects(t, { replicationFactor: -2 }, 'replicationFactor');
  t.equal(compile({ replicationFactor: 3 }).replicationFactor, 3);
});

t.test('the deserialization error handler is fail, skip or a dead-letter topic', async (t) => {
  t.equal(compile({ deserializationErrorHandler: 'skip' }).deserializationErrorHandler, 'skip');
  t.same(
    compile({ deserializationErrorHandler: { deadLetterTopic: 'dlq' } })
      .deserializationErrorHandler,
    {
      deadLetterTopic: 'dlq',
    },
  );
  rejects(t, { deserializationErrorHandler: 'ignore' }, 'deserializationErrorHandler');
  rejects(
    t,
    { deserializationErrorHandler: { deadLetterTopic: '' } },
    'deserializationErrorHandler.deadLetterTopic',
  );
  rejects(
    t,
    { deserializationErrorHandler: { topic: 'dlq' } },
    'deserializationErrorHandler.topic',
  );
});

t.test('explicit values win over defaults', async (t) => {
  const options = compile({
    commitIntervalMs: 1_000,
    transactionTimeoutMs: 60_000,
    stateDir: '/var/lib/streamtx',
    clientId: 'worker-1',
    logLevel: 'debug',
  });
  t.match(options, {
    commitIntervalMs: 1_000,
    transactionTimeoutMs: 60_000,
    stateDir: '/var/lib/streamtx',
    clientId: 'worker-1',
    logLevel: 'debug',
  });
});

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const SECRET = 'correct-horse-battery-staple';

t.test('ssl: true, false, or TLS settings, each checked naming its field', async (t) => {
  t.notOk('ssl' in compile({}), 'no TLS by default');
  t.notOk('ssl' in compile({ ssl: false }), 'false is no TLS');
  t.equal(compile({ ssl: true }).ssl, true);
  const ssl = compile({
    ssl: { ca: [PEM], cert: PEM, key: Buffer.from(PEM), passphrase: 'p', servername: 'kafka' },
  }).ssl;
  t.ok(typeof ssl === 'object' && Object.isFrozen(ssl), 'frozen settings');
  t.same(typeof ssl === 'object' ? ssl.ca : undefined, [PEM]);
  rejects(t, { ssl: 'yes' }, 'ssl', /expected true, false or an object/);
  rejects(t, { ssl: { ca: [] } }, 'ssl.ca', /PEM text, a Buffer, or a non-empty array/);
  rejects(t, { ssl: { ca: [PEM, 42] } }, 'ssl.ca');
  rejects(t, { ssl: { cert: PEM } }, 'ssl.key', /needs both ssl.cert and ssl.key/);
  rejects(t, { ssl: { key: PEM } }, 'ssl.cert', /needs both/);
  rejects(t, { ssl: { passphrase: 'p' } }, 'ssl.passphrase', /ssl.key, which is not set/);
  rejects(t, { ssl: { rejectUnauthorized: 'no' } }, 'ssl.rejectUnauthorized');
  rejects(t, { ssl: { servername: '' } }, 'ssl.servername');
  rejects(t, { ssl: { cafile: '/x' } }, 'ssl.cafile', /unknown setting.*supported: ca, cert/);
});

t.test('ssl: a bad key or passphrase is rejected without printing it', async (t) => {
  const badKey = t.throws(() => compile({ ssl: { cert: PEM, key: 12345 } })) as Error;
  t.match(badKey.message, /ssl\.key.*got a number/);
  t.notMatch(badKey.message, /12345/);
  const badPassphrase = t.throws(() =>
    compile({ ssl: { cert: PEM, key: PEM, passphrase: [SECRET] } }),
  ) as Error;
  t.match(badPassphrase.message, /ssl\.passphrase.*got an array/);
  t.notMatch(badPassphrase.message, SECRET);
});

t.test('sasl: plain and SCRAM with a username and password', async (t) => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    const sasl = compile({ sasl: { mechanism, username: 'app', password: SECRET } }).sasl;
    t.same({ ...sasl }, { mechanism, username: 'app', password: SECRET }, mechanism);
  }
  t.equal(
    compile({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password: SECRET } }).sasl
      ?.mechanism,
    'scram-sha-512',
    "Kafka's upper-case spelling is accepted",
  );
  rejects(
    t,
    { sasl: { mechanism: 'gssapi', username: 'a', password: 'b' } },
    'sasl.mechanism',
    /'plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer', got "gssapi"/,
  );
  rejects(t, { sasl: { mechanism: 'plain', password: SECRET } }, 'sasl.username');
  rejects(
    t,
    { sasl: { mechanism: 'plain', username: 'a' } },
    'sasl.password',
    /non-empty string, got nothing/,
  );
  rejects(
    t,
    { sasl: { mechanism: 'plain', username: 'a', password: 'b', user: 'c' } },
    'sasl.user',
    /unknown setting.*supported: mechanism, username, password/,
  );
  rejects(t, { sasl: 'scram' }, 'sasl');
});

t.test('sasl: the password never appears in an error or in the printed options', async (t) => {
  // A password put where the username goes, or of the wrong type, is not echoed back.
  const wrongType = t.throws(() =>
    compile({ sasl: { mechanism: 'plain', username: 'a', password: { SECRET } } }),
  ) as Error;
  t.notMatch(wrongType.message, SECRET);
  const oauthWithPassword = t.throws(() =>
    compile({ sasl: { mechanism: 'oauthbearer', password: SECRET } }),
  ) as Error;
  t.match(oauthWithPassword.message, /sasl\.password: unknown setting/);
  t.notMatch(oauthWithPassword.message, SECRET);
  const options = compile({
    sasl: { mechanism: 'scram-sha-256', username: 'app', password: SECRET },
  });
  t.equal(
    options.sasl && 'password' in options.sasl ? options.sasl.password : '',
    SECRET,
    'the client gets it',
  );
  t.notMatch(JSON.stringify(options), SECRET, 'JSON.stringify(app.options) shows no password');
  t.match(JSON.stringify(options), /"password":"\[redacted\]"/);
  t.notMatch(inspect(options, { depth: 5 }), SECRET, 'nor does console.log');
});

t.test('sasl: oauthbearer takes a token provider', async (t) => {
  const oauthBearerProvider = async () => ({ value: 'token' });
  const sasl = compile({ sasl: { mechanism: 'oauthbearer', oauthBearerProvider } }).sasl;
  t.equal(sasl?.mechanism, 'oauthbearer');
  t.equal(
    sasl && 'oauthBearerProvider' in sasl ? sasl.oauthBearerProvider : undefined,
    oauthBearerProvider,
  );
  rejects(t, { sasl: { mechanism: 'oauthbearer' } }, 'sasl.oauthBearerProvider', /function/);
  rejects(
    t,
    { sasl: { mechanism: 'aws', username: 'a', password: 'b' } },
    'sasl.mechanism',
    /AWS IAM/,
  );
});

t.test('connection timeouts and retries, in kafkajs’s names and units', async (t) => {
  const o = compile({
    connectionTimeout: 10_000,
    requestTimeout: 60_000,
    retry: { retries: 8, initialRetryTime: 100 },
  });
  t.equal(o.connectionTimeout, 10_000);
  t.equal(o.requestTimeout, 60_000);
  t.same(o.retry, {
    retries: 8,
    initialRetryTime: 100,
    maxRetryTime: 30_000,
    factor: 0.2,
    multiplier: 2,
  });
  t.ok(Object.isFrozen(o.retry));
  rejects(t, { connectionTimeout: 0 }, 'connectionTimeout');
  rejects(t, { requestTimeout: '30s' }, 'requestTimeout');
  rejects(
    t,
    { connectionTimeoutMs: 1000 },
    'connectionTimeoutMs',
    /did you mean connectionTimeout\?/,
  );
  rejects(t, { retry: { retries: -1 } }, 'retry.retries');
  rejects(t, { retry: { factor: 2 } }, 'retry.factor', /from 0 to 1/);
  rejects(t, { retry: { initialRetryTime: 500, maxRetryTime: 100 } }, 'retry.maxRetryTime');
  rejects(
    t,
    { retry: { restartOnFailure: () => true } },
    'retry.restartOnFailure',
    /supported: retries/,
  );
  rejects(t, { retry: 3 }, 'retry');
});

t.test('logger: anything with debug, info, warn and error', async (t) => {
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  t.equal(compile({ logger }).logger, logger);
  t.notOk('logger' in compile({}), 'the default format unless one is given');
  rejects(t, { logger: console.log }, 'logger', /pino-compatible/);
  rejects(t, { logger: { info() {}, error() {} } }, 'logger', /missing: debug, warn/);
});

import os from 'node:os';
import path from 'node:path';
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
    clientId: 'word-count',
    logLevel: 'info',
    consumer: {
      maxWaitTimeMs: 500,
      minBytes: 1,
      maxBytes: 10_485_760,
      maxBytesPerPartition: 1_048_576,
    },
    producer: { compression: 'none' },
    numStandbyReplicas: 0,
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

t.test('standbys, the query endpoint and the rack tag are validated', async (t) => {
  const options = compile({ numStandbyReplicas: 2, applicationServer: 'w1:8080', rackId: 'r1' });
  t.equal(options.numStandbyReplicas, 2);
  t.equal(options.applicationServer, 'w1:8080');
  t.equal(options.rackId, 'r1');
  t.notOk('applicationServer' in compileStreamsAppOptions(base), 'absent unless set');
  rejects(t, { numStandbyReplicas: -1 }, 'numStandbyReplicas', />= 0/);
  rejects(t, { numStandbyReplicas: 1.5 }, 'numStandbyReplicas');
  rejects(t, { applicationServer: 'w1' }, 'applicationServer', /host:port/);
  rejects(t, { applicationServer: 'w1:0' }, 'applicationServer');
  rejects(t, { rackId: '' }, 'rackId');
  rejects(t, { numStandbyReplica: 1 }, 'numStandbyReplica', /did you mean numStandbyReplicas\?/);
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

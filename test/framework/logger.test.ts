// The logger option without a broker: the default line format, and a real pino instance
// receiving the runtime's and kafkajs's lines (an unreachable broker makes both talk).
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { Serdes, StreamsApp, Topology, type Logger } from '../../framework/index.ts';
import { defaultLogger, logs } from '../../framework/logger.ts';
import { uniqueName } from '../support/ids.ts';

const topology = (): Topology =>
  new Topology()
    .addSource('in', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'in');

/** A pino logger writing JSON lines into an array the test reads. */
function pinoInto(lines: Record<string, unknown>[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'trace' }, stream);
}

t.test('the default format is the one streamtx always had', async (t) => {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  t.teardown(() => void (process.stderr.write = write));
  defaultLogger('orders').warn({ taskId: '0_1' }, 'task 0_1: something');
  process.stderr.write = write;
  t.match(
    written.join(''),
    /^\d\d:\d\d:\d\d\.\d{3} \[streamtx orders\] warn: task 0_1: something\n$/,
  );
});

t.test('logLevel is a threshold', async (t) => {
  t.ok(logs('info', 'error'));
  t.ok(logs('info', 'info'));
  t.notOk(logs('info', 'debug'));
  t.notOk(logs('none', 'error'));
  t.ok(logs('debug', 'debug'));
});

t.test('a pino logger gets the runtime’s lines and kafkajs’s, levels mapped', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const app = new StreamsApp(topology(), {
    applicationId: uniqueName('pino'),
    brokers: ['127.0.0.1:1'],
    logLevel: 'debug',
    logger: pinoInto(lines),
    retry: { retries: 0 },
  });
  await t.rejects(app.start(), { name: 'StreamsFatalError', message: /Cannot reach/ });
  const stopping = lines.find((l) =>
    /stopping: Cannot reach the Kafka brokers 127\.0\.0\.1:1/.test(String(l.msg)),
  );
  t.ok(stopping, 'the runtime’s line');
  t.equal(stopping?.level, 50, 'at pino’s error level');
  const kafkajs = lines.filter((l) => l.component === 'kafkajs');
  t.ok(kafkajs.length > 0, `kafkajs lines came through (${kafkajs.length})`);
  t.ok(
    kafkajs.every(
      (l) =>
        typeof l.namespace === 'string' &&
        String(l.msg).startsWith(`kafkajs ${String(l.namespace)}: `),
    ),
    'each names its kafkajs namespace, as a field and in the message',
  );
  const refused = kafkajs.find((l) => /ECONNREFUSED/.test(String(l.msg)));
  t.equal(
    refused?.level,
    20,
    'a refused connection kafkajs retries is debug (the runtime reports it)',
  );
  t.equal(refused?.broker, '127.0.0.1:1', 'with kafkajs’s own fields');
  t.ok(
    kafkajs.some(
      (l) => l.level === 20 && l.namespace === 'Connection' && /Connecting/.test(String(l.msg)),
    ),
    'kafkajs DEBUG → debug',
  );
});

t.test('below logLevel nothing reaches the logger, from either side', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const app = new StreamsApp(topology(), {
    applicationId: uniqueName('pino-quiet'),
    brokers: ['127.0.0.1:1'],
    logLevel: 'error',
    logger: pinoInto(lines),
    retry: { retries: 0 },
  });
  await t.rejects(app.start());
  t.same(
    lines.map((l) => [l.level, l.component ?? 'streamtx']),
    [[50, 'streamtx']],
    'only the error that stopped the app',
  );
});

t.test('a logger that throws does not stop the app from reporting', async (t) => {
  const app = new StreamsApp(topology(), {
    applicationId: uniqueName('bad-logger'),
    brokers: ['127.0.0.1:1'],
    retry: { retries: 0 },
    logger: {
      debug: () => {
        throw new Error('no');
      },
      info: () => {
        throw new Error('no');
      },
      warn: () => {
        throw new Error('no');
      },
      error: () => {
        throw new Error('no');
      },
    },
  });
  await t.rejects(app.start(), { message: /Cannot reach/ });
  t.equal(app.state, 'ERROR');
});

t.test('settings that expose the app are logged as warnings at start', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const app = new StreamsApp(topology(), {
    applicationId: uniqueName('insecure'),
    brokers: ['127.0.0.1:1'],
    retry: { retries: 0 },
    logLevel: 'warn',
    logger: pinoInto(lines),
    sasl: { mechanism: 'plain', username: 'u', password: 'p4ssw0rd-never-shown' },
  });
  await t.rejects(app.start());
  t.ok(
    lines.some((l) => l.level === 40 && /sasl mechanism plain without ssl/.test(String(l.msg))),
    'plain without TLS',
  );
  t.notMatch(JSON.stringify(lines), /p4ssw0rd-never-shown/, 'the password is in no line');

  const unverified: Record<string, unknown>[] = [];
  const other = new StreamsApp(topology(), {
    applicationId: uniqueName('unverified'),
    brokers: ['127.0.0.1:1'],
    retry: { retries: 0 },
    logLevel: 'warn',
    logger: pinoInto(unverified),
    ssl: { rejectUnauthorized: false },
  });
  await t.rejects(other.start());
  t.ok(
    unverified.some(
      (l) => l.level === 40 && /ssl\.rejectUnauthorized is false/.test(String(l.msg)),
    ),
    'certificates not verified',
  );
});

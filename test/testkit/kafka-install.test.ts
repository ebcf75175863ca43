import t from 'tap';
import { spawnSync } from 'node:child_process';
import {
  DEFAULT_KAFKA_VERSION,
  MissingToolError,
  ensureKafka,
  findJava,
} from '../../testkit/index.ts';

t.test('a missing Java is a clear error naming what to install', async (t) => {
  const saved = process.env.JAVA_HOME;
  process.env.JAVA_HOME = '/nonexistent-java-home';
  t.teardown(() => {
    if (saved === undefined) delete process.env.JAVA_HOME;
    else process.env.JAVA_HOME = saved;
  });
  t.throws(() => findJava(), MissingToolError);
  t.throws(() => findJava(), { message: /Java 17\+|OpenJDK 17/ });
});

t.test('KAFKA_HOME without libs/ is rejected as not a Kafka distribution', async (t) => {
  const dir = t.testdir({});
  await t.rejects(ensureKafka({ kafkaHome: dir }), { message: /not a Kafka distribution/ });
});

t.test(
  'the default broker version is cached after the first fetch and reused offline',
  async (t) => {
    const first = await ensureKafka();
    t.equal(first.version, DEFAULT_KAFKA_VERSION);
    t.equal(first.source, 'cache');
    // The second resolve must not need Maven at all: hide it from PATH.
    const second = await withPath('/nonexistent', () => ensureKafka());
    t.same(second, first);
    const jars = spawnSync(
      'bash',
      [
        '-c',
        `ls ${first.classpath.replace(/\*$/, '')} | grep -c '^kafka_2.13-${first.version}.jar$'`,
      ],
      {
        encoding: 'utf8',
      },
    );
    t.equal(jars.stdout.trim(), '1', 'the broker jar of the pinned version is in the cache');
  },
);

async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

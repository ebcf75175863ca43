// Running a worker in production, on a real broker: a pino logger receiving the runtime's
// lines with their context as fields and kafkajs's lines; app.health(); and `streamtx run
// --health-port` serving the probes through a 200 000-record restore that reports progress.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import t from 'tap';
import {
  Serdes,
  StreamsApp,
  Topology,
  type Logger,
  type Processor,
  type ProcessorContext,
  type StreamsAppHealth,
} from '../../../framework/index.ts';
import { produceRecords, waitFor, waitForRecords } from '../../../testkit/index.ts';
import { clusterFor } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';
import { workerPool } from '../../support/workers.ts';

const countApp = fileURLToPath(new URL('../../support/apps/count-app.ts', import.meta.url));

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

/** Echoes JSON values as text; a value that is not JSON is a deserialization error. */
function jsonEcho(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', {
      topics: [input],
      keySerde: Serdes.string(),
      valueSerde: Serdes.json<{ n: number }>(),
    })
    .addProcessor(
      'echo',
      (): Processor<string, { n: number }, string, string> => {
        let context!: ProcessorContext<string, string>;
        return {
          init: (c) => void (context = c),
          process: (r) => context.forward({ ...r, value: String(r.value.n) }),
        };
      },
      'in',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'echo',
    );
}

async function get(url: string): Promise<{ status: number; health: StreamsAppHealth }> {
  const res = await fetch(url);
  return { status: res.status, health: (await res.json()) as StreamsAppHealth };
}

t.test('health() of a worker that never reached Kafka', async (t) => {
  const app = new StreamsApp(jsonEcho('a', 'b'), {
    applicationId: uniqueName('health-none'),
    brokers: ['127.0.0.1:1'],
    retry: { retries: 0 },
    logLevel: 'none',
  });
  t.match(app.health(), { state: 'CREATED', alive: true, ready: false, lastCommitAgeMs: null });
  await t.rejects(app.start());
  const health = app.health();
  t.match(health, { state: 'ERROR', alive: false, ready: false });
  t.match(health.error, /Cannot reach the Kafka brokers/);
  t.same(health.tasks, { assigned: 0, running: 0, restoring: 0, starting: 0, waiting: 0 });
});

t.test('on a real broker', async (t) => {
  const cluster = await clusterFor(t, { brokers: 1 });
  const brokers = cluster.bootstrapServers;
  const stateRoot = mkdtempSync(join(tmpdir(), 'streamtx-operations-'));
  t.teardown(() => rmSync(stateRoot, { recursive: true, force: true }));

  t.test(
    'a pino logger gets task lines with their context as fields, and kafkajs lines, at logLevel',
    async (t) => {
      const input = uniqueName('log-in');
      const output = uniqueName('log-out');
      await cluster.createTopic(input, { partitions: 2 });
      await cluster.createTopic(output, { partitions: 2 });
      const lines: Record<string, unknown>[] = [];
      const applicationId = uniqueName('log-app');
      const app = new StreamsApp(jsonEcho(input, output), {
        applicationId,
        brokers,
        stateDir: join(stateRoot, applicationId),
        deserializationErrorHandler: 'skip',
        logger: pinoInto(lines),
        logLevel: 'info',
      });
      t.teardown(() => app.close());
      await app.start();
      await waitFor(() => app.state === 'RUNNING', { timeoutMs: 60_000, what: 'RUNNING' });
      await produceRecords(brokers, input, [
        { key: 'a', value: 'not json', partition: 1 },
        { key: 'a', value: JSON.stringify({ n: 7 }), partition: 1 },
      ]);
      await waitForRecords(brokers, output, 1);

      const running = lines.find((l) => /^task 0_1 running from /.test(String(l.msg)));
      t.match(running, { level: 30, taskId: '0_1' }, 'a task line carries its taskId');
      const skipped = lines.find((l) =>
        /^skipping a record that cannot be deserialized/.test(String(l.msg)),
      );
      t.match(
        skipped,
        { level: 40, taskId: '0_1', topic: input, partition: 1, offset: '0' },
        'a skipped record: warn, with its task, topic, partition and offset',
      );
      const kafkajs = lines.filter((l) => l.component === 'kafkajs');
      t.ok(
        kafkajs.some(
          (l) =>
            l.level === 30 &&
            l.namespace === 'ConsumerGroup' &&
            /joined the group/.test(String(l.msg)),
        ),
        'kafkajs INFO lines arrive as info, with their namespace',
      );
      t.notOk(
        lines.some((l) => Number(l.level) < 30),
        'nothing below info at logLevel info, from either side',
      );

      await waitFor(() => app.health().lastCommitAgeMs !== null, {
        timeoutMs: 10_000,
        what: 'a commit',
      });
      const health = app.health();
      t.match(health, {
        state: 'RUNNING',
        alive: true,
        ready: true,
        tasks: { assigned: 2, running: 2, restoring: 0, starting: 0, waiting: 0 },
        restoring: [],
      });
      t.ok(typeof health.lastCommitAgeMs === 'number' && health.lastCommitAgeMs >= 0);
      t.same(
        health.lag?.partitions.map((p) => [p.topic, p.partition]),
        [[input, 1]],
        'lag of the partition fetched so far',
      );
      t.ok((health.lag?.total ?? -1) >= 0);
      await app.close();
      t.match(app.health(), { state: 'NOT_RUNNING', alive: true, ready: false });
    },
  );

  t.test(
    'streamtx run --health-port: probes and restore progress through a 200 000-record restore',
    async (t) => {
      const applicationId = uniqueName('restore');
      const input = uniqueName('restore-in');
      const output = uniqueName('restore-out');
      const changelog = `${applicationId}-counts-changelog`;
      await cluster.createTopic(input, { partitions: 1 });
      await cluster.createTopic(output, { partitions: 1 });
      await cluster.createTopic(changelog, {
        partitions: 1,
        config: { 'cleanup.policy': 'compact' },
      });
      // A changelog as a previous worker would have left it: 200 000 keys counted once.
      const total = 200_000;
      const one = Buffer.alloc(4);
      one.writeInt32BE(1);
      const started = Date.now();
      for (let from = 0; from < total; from += 20_000)
        await produceRecords(
          brokers,
          changelog,
          Array.from({ length: 20_000 }, (_, i) => ({ key: `k${from + i}`, value: one })),
        );
      t.comment(`${total} changelog records written in ${Date.now() - started} ms`);

      const worker = workerPool(t, countApp, {
        APP_ID: applicationId,
        INPUT: input,
        OUTPUT: output,
        BROKERS: brokers.join(','),
        STATE_DIR: join(stateRoot, applicationId),
      })('w1', {}, [
        '--health-port',
        '0',
        '--health-host',
        '127.0.0.1',
        '--restore-progress-ms',
        '300',
      ]);
      const url = await waitFor(
        () => {
          if (!worker.running) throw new Error(`worker exited: ${worker.stderr.join('')}`);
          return (
            /^streamtx health (\S+)$/.exec(
              worker.lines.find((l) => l.startsWith('streamtx health')) ?? '',
            )?.[1] ?? false
          );
        },
        { timeoutMs: 60_000, what: 'the health line' },
      );
      t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      // Served before start(): alive, not ready (it has 200 000 records to restore first).
      const early = await get(`${url}/readyz`);
      t.equal(early.status, 503, `not ready at start (${early.health.state})`);
      t.equal(early.health.ready, false);
      t.equal((await get(`${url}/healthz`)).status, 200, 'alive at start');

      await waitFor(() => worker.lines.some((l) => l.startsWith('streamtx restoring ')), {
        timeoutMs: 120_000,
        what: 'a restore progress line',
      });
      const during = await get(`${url}/healthz`);
      t.equal(during.status, 200, 'alive during the restore: a liveness probe must not kill it');

      await worker.waitForState('RUNNING');
      const doneAt = worker.lines.findIndex((l) => l.startsWith('streamtx restored '));
      t.equal(worker.lines[doneAt], `streamtx restored 0_0 counts ${total}/${total} rebuilt`);
      const progress = worker.lines
        .slice(0, doneAt)
        .filter((l) => l.startsWith('streamtx restoring '));
      t.ok(progress.length >= 1, `progress before the done line:\n${progress.join('\n')}`);
      for (const line of progress) {
        const m =
          /^streamtx restoring 0_0 counts (\d+)\/200000 (\d+)% (\d+) records\/s ETA (\d+)s$/.exec(
            line,
          );
        t.ok(m, `"${line}" says done/total, %, rate and ETA`);
        if (m) t.ok(Number(m[1]) > 0 && Number(m[1]) < total, 'part of the way');
      }

      const ready = await waitFor(
        async () => {
          const r = await get(`${url}/readyz`);
          return r.status === 200 ? r : false;
        },
        { timeoutMs: 30_000, what: '/readyz 200' },
      );
      t.match(ready.health, {
        state: 'RUNNING',
        ready: true,
        tasks: { assigned: 1, running: 1, restoring: 0 },
      });

      // The restored state is the changelog's: k7 was counted once before.
      await produceRecords(brokers, input, [{ key: 'k7', value: 'x' }]);
      const [out] = await waitForRecords(brokers, output, 1);
      t.equal(out?.value?.toString(), '2', 'k7 counted on top of the restored count');

      worker.signalWith('SIGTERM');
      await worker.exited;
      t.equal(worker.exitCode, 0, 'SIGTERM closes the worker cleanly');
    },
  );
});

/**
 * `npm run example:queries`: interactive queries end to end. Starts a local Apache Kafka
 * broker (or uses STREAMTX_BOOTSTRAP), three workers of the page-view count — each with its
 * HTTP server as its `applicationServer` and a standby of every stateful task on another
 * worker — produces page views, then asks the first worker for every user's count: users
 * whose task runs elsewhere are forwarded to their owner. Prints who answered; then stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { StreamsApp } from '../../framework/index.ts';
import { KafkaCluster, produceRecords, waitForRecords } from '../../testkit/index.ts';
import { askCount, buildPageViewTopology, listen, serveCounts } from './app.ts';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const log = (line: string): void => void process.stdout.write(line + '\n');

async function main(): Promise<void> {
  log('starting a local Apache Kafka broker (the first run fetches it from Maven Central)...');
  const cluster = await KafkaCluster.fromEnv({ brokers: 1 });
  const run = Date.now().toString(36);
  const views = `page-views-${run}`;
  const counts = `view-counts-${run}`;
  const apps: StreamsApp[] = [];
  const servers: Server[] = [];
  const dirs: string[] = [];
  try {
    await cluster.createTopic(views, { partitions: 6 });
    await cluster.createTopic(counts, { partitions: 6 });
    const endpoints: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { server, endpoint } = await listen();
      const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-queries-'));
      dirs.push(stateDir);
      const app = new StreamsApp(
        buildPageViewTopology({ viewsTopic: views, countsTopic: counts }),
        {
          applicationId: `page-views-${run}`,
          brokers: cluster.bootstrapServers,
          stateDir,
          replicationFactor: 1,
          applicationServer: endpoint,
          numStandbyReplicas: 1,
          logLevel: 'warn',
        },
      );
      serveCounts(app, server, endpoint);
      apps.push(app);
      servers.push(server);
      endpoints.push(endpoint);
    }
    await Promise.all(apps.map((a) => a.start()));
    log(`3 workers at ${endpoints.join(', ')}`);
    const records = USERS.flatMap((user, i) =>
      Array.from({ length: i + 1 }, (_, n) => ({ key: user, value: `/page/${n}` })),
    );
    await produceRecords(cluster.bootstrapServers, views, records);
    await waitForRecords(cluster.bootstrapServers, counts, records.length, { timeoutMs: 120_000 });
    log(`\nasking ${endpoints[0]} for every user's count:`);
    for (const user of USERS) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { status, body } = await askCount(endpoints[0]!, user);
        if (status === 200 && 'count' in body) {
          const via = body.servedBy === endpoints[0] ? 'local' : `forwarded to ${body.servedBy}`;
          log(`${user.padEnd(6)} ${body.count}  (${via})`);
          break;
        }
        if ((status !== 503 && status !== 404) || Date.now() > deadline)
          throw new Error(`${user}: HTTP ${status} ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 200)); // 503 during a rebalance: ask again
      }
    }
    for (const w of apps[0]!.allMetadata())
      log(
        `worker ${w.hostInfo?.host}:${w.hostInfo?.port}: active ${w.activeTasks.join(',')}  standby ${w.standbyTasks.join(',')}`,
      );
  } finally {
    await Promise.all(apps.map((a) => a.close()));
    for (const s of servers) s.close();
    await cluster.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `interactive queries example failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});

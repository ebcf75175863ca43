// The interactive-queries example on a real cluster (1 broker, 2 workers): every user's count
// is answered by either worker — from its own committed state or forwarded to the owner that
// metadataForKey names — and equals the number of page views produced for that user.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { StreamsApp } from '../../framework/index.ts';
import { produceRecords, waitFor, waitForRecords } from '../../testkit/index.ts';
import {
  askCount,
  buildPageViewTopology,
  listen,
  serveCounts,
  STORE,
} from '../../examples/interactive-queries/app.ts';
import { clusterFor, exitWhenDone } from '../support/cluster.ts';
import { uniqueName } from '../support/ids.ts';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

exitWhenDone(t); // see test/support/cluster.ts

t.test('any worker answers any user’s committed count, forwarding to the owner', async (t) => {
  const cluster = await clusterFor(t, { brokers: 1 });
  const appId = uniqueName('queries-example');
  const views = `${appId}-views`;
  const counts = `${appId}-counts`;
  await cluster.createTopic(views, { partitions: 4 });
  await cluster.createTopic(counts, { partitions: 4 });
  const apps: StreamsApp[] = [];
  const endpoints: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { server, endpoint } = await listen();
    const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-queries-example-'));
    const app = new StreamsApp(buildPageViewTopology({ viewsTopic: views, countsTopic: counts }), {
      applicationId: appId,
      brokers: cluster.bootstrapServers,
      stateDir,
      replicationFactor: 1,
      applicationServer: endpoint,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      logLevel: 'warn',
    });
    serveCounts(app, server, endpoint);
    t.teardown(async () => {
      await app.close();
      await new Promise<void>((resolve) => (server as Server).close(() => resolve()));
      rmSync(stateDir, { recursive: true, force: true });
    });
    apps.push(app);
    endpoints.push(endpoint);
  }
  await Promise.all(apps.map((a) => a.start()));
  const records = USERS.flatMap((user, i) =>
    Array.from({ length: i + 1 }, (_, n) => ({ key: user, value: `/page/${n}` })),
  );
  await produceRecords(cluster.bootstrapServers, views, records);
  await waitForRecords(cluster.bootstrapServers, counts, records.length, { timeoutMs: 120_000 });
  // Both workers agree on the group's assignment (each recomputes it from the group metadata).
  await waitFor(
    () =>
      apps.every((a) => a.allMetadata().length === 2) &&
      apps[0]!.allMetadata().every((w) => w.activeTasks.length > 0),
    { timeoutMs: 60_000, what: 'both workers known with their active tasks' },
  );

  const servedBy = new Set<string>();
  for (const [i, user] of USERS.entries()) {
    const owner = apps[0]!.metadataForKey(STORE, user).activeHost;
    const ownerEndpoint = owner && `${owner.host}:${owner.port}`;
    t.ok(ownerEndpoint && endpoints.includes(ownerEndpoint), `${user}: owner ${ownerEndpoint}`);
    for (const endpoint of endpoints) {
      const answer = await waitFor(
        async () => {
          const r = await askCount(endpoint, user);
          return r.status === 200 ? r.body : false;
        },
        { timeoutMs: 30_000, what: `${user}'s count from ${endpoint}` },
      );
      t.same(
        answer,
        { user, count: i + 1, servedBy: ownerEndpoint },
        `${user} asked at ${endpoint === ownerEndpoint ? 'its owner' : 'the other worker'}`,
      );
      servedBy.add((answer as { servedBy: string }).servedBy);
    }
  }
  t.equal(servedBy.size, 2, 'both workers own some users: answers were forwarded both ways');
  const missing = await askCount(endpoints[0]!, 'nobody');
  t.equal(missing.status, 404, 'a user without a committed count is 404');
});

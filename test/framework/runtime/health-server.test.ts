// Unit tests (no broker): the probe endpoints' status codes and bodies, for a stand-in app.
import t from 'tap';
import { startHealthServer, type StreamsAppHealth } from '../../../framework/index.ts';

function health(overrides: Partial<StreamsAppHealth> = {}): StreamsAppHealth {
  return {
    state: 'RUNNING',
    alive: true,
    ready: true,
    tasks: { assigned: 2, running: 2, restoring: 0, starting: 0, waiting: 0 },
    restoring: [],
    lastCommitAgeMs: 12,
    ...overrides,
  };
}

t.test('/healthz follows alive, /readyz follows ready, both with the health as JSON', async (t) => {
  let current = health();
  const server = await startHealthServer({ health: () => current }, { port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close());
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const get = async (path: string) => {
    const res = await fetch(server.url + path);
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };

  let r = await get('/healthz');
  t.equal(r.status, 200);
  t.equal(r.type, 'application/json');
  t.same(JSON.parse(r.body), current);
  t.equal((await get('/readyz')).status, 200);

  current = health({
    state: 'REBALANCING',
    ready: false,
    tasks: { assigned: 2, running: 1, restoring: 1, starting: 0, waiting: 0 },
    restoring: [{ taskId: '0_1', store: 'counts', restored: 10, total: 100 }],
  });
  r = await get('/readyz');
  t.equal(r.status, 503, 'not ready while a task restores');
  t.same(JSON.parse(r.body), current, 'the 503 says why');
  t.equal(
    (await get('/healthz')).status,
    200,
    'but alive: a liveness probe must not kill a restore',
  );

  current = health({ state: 'ERROR', alive: false, ready: false, error: 'boom' });
  t.equal((await get('/healthz')).status, 503, 'dead once stopped on a fatal error');
  t.equal((await get('/readyz')).status, 503);

  t.equal((await get('/readyz?verbose=1')).status, 503, 'a query string is ignored');
  t.equal((await get('/metrics')).status, 404);
  const head = await fetch(server.url + '/healthz', { method: 'HEAD' });
  t.equal(head.status, 503);
  t.equal(await head.text(), '', 'HEAD has no body');
  t.equal((await fetch(server.url + '/healthz', { method: 'POST' })).status, 405);
});

t.test('a bad port is refused, a taken one fails to listen', async (t) => {
  const app = { health: () => health() };
  await t.rejects(startHealthServer(app, { port: 70_000 }), RangeError);
  const first = await startHealthServer(app, { port: 0, host: '127.0.0.1' });
  t.teardown(() => first.close());
  await t.rejects(startHealthServer(app, { port: first.port, host: '127.0.0.1' }), {
    code: 'EADDRINUSE',
  });
});

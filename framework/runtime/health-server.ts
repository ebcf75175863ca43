/**
 * Liveness and readiness over HTTP, the Kubernetes probe convention:
 *
 * - `GET /healthz` — 200 while the worker has not stopped on a fatal error (state ERROR),
 *   503 once it has: a liveness probe restarts a worker that cannot recover by itself. It
 *   stays 200 during a long restore, so the restore is not killed and started over.
 * - `GET /readyz` — 200 when the app is RUNNING and every task assigned to this worker runs,
 *   else 503: a readiness probe (or a rolling update) waits for the worker to catch up.
 *
 * Both answer with `app.health()` as JSON, computed locally: a probe never waits on Kafka.
 */
import { createServer, type Server } from 'node:http';
import type { StreamsAppHealth } from './streams-app.ts';

export interface HealthServerOptions {
  /** TCP port; 0 picks a free one (see `HealthServer.port`). */
  port: number;
  /** Address to listen on. @default '0.0.0.0' (probes come from outside the pod or host) */
  host?: string;
}

export interface HealthServer {
  /** The port listened on (the one picked, for port 0). */
  readonly port: number;
  /** `http://<host>:<port>`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the probe endpoints for an app (anything with `health()`). */
export async function startHealthServer(
  app: { health(): StreamsAppHealth },
  options: HealthServerOptions,
): Promise<HealthServer> {
  const { port } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new RangeError(`health server port must be an integer from 0 to 65535, got ${port}`);
  const host = options.host ?? '0.0.0.0';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let health: StreamsAppHealth;
    let ok: boolean;
    if (path === '/healthz' || path === '/readyz') {
      health = app.health();
      ok = path === '/healthz' ? health.alive : health.ready;
    } else {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try /healthz or /readyz\n');
      return;
    }
    const body = JSON.stringify(health) + '\n';
    res.writeHead(ok ? 200 : 503, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    port: bound,
    url: `http://${shown}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

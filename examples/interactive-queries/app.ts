/**
 * Interactive queries: page views counted per user (DSL: groupByKey → count), and a small
 * HTTP server per worker that answers any user's count from any worker — from its own
 * committed state when it hosts the user's task, else by forwarding to the worker that does,
 * which `app.metadataForKey` names from the group's metadata (each worker's
 * `applicationServer`). Run several workers; ask any of them.
 *
 *   GET /counts/<user>  →  200 {"user":"alice","count":3,"servedBy":"127.0.0.1:7071"}
 *                          404 when the user has no committed count yet
 *                          503 during a rebalance (no owner known yet): retry
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Serdes, type StreamsApp, type Topology } from '../../framework/index.ts';
import { StreamsBuilder } from '../../dsl/index.ts';
import type { ReadOnlyKeyValueStore, ValueAndTimestamp } from '../../stores/index.ts';

export const STORE = 'view-counts';

export function buildPageViewTopology(options: {
  viewsTopic: string;
  countsTopic: string;
}): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(options.viewsTopic, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey()
    .count({ storeName: STORE })
    .toStream()
    .to(options.countsTopic);
  return builder.build();
}

export interface CountAnswer {
  user: string;
  count: number;
  /** The worker whose committed state answered. */
  servedBy: string;
}

/**
 * Serves `GET /counts/<user>` for one worker. `endpoint` is the worker's `applicationServer`
 * (host:port); `server` must already listen on that port.
 */
export function serveCounts(app: StreamsApp, server: Server, endpoint: string): void {
  server.on('request', (req, res) => {
    const match = /^\/counts\/([^/?]+)(\?forwarded)?$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !match) {
      res.writeHead(404).end();
      return;
    }
    const user = decodeURIComponent(match[1]!);
    const forwarded = match[2] !== undefined;
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const owner = app.metadataForKey(STORE, user).activeHost;
    const ownerEndpoint = owner && `${owner.host}:${owner.port}`;
    if (ownerEndpoint === undefined) {
      res.setHeader('retry-after', '1');
      reply(503, { error: 'rebalancing: no owner of this user is known yet' });
    } else if (ownerEndpoint === endpoint) {
      const counts = app.store<ReadOnlyKeyValueStore<string, ValueAndTimestamp<number>>>(STORE);
      const count = counts.get(user)?.value;
      if (count === undefined) reply(404, { user, error: 'no committed count' });
      else reply(200, { user, count, servedBy: endpoint } satisfies CountAnswer);
    } else if (forwarded) {
      // The asking worker and this one disagree on the owner: the group just moved the task.
      res.setHeader('retry-after', '1');
      reply(503, { error: `forwarded here, but ${ownerEndpoint} owns this user now` });
    } else {
      forward(ownerEndpoint, `/counts/${encodeURIComponent(user)}?forwarded`, (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      });
    }
  });
}

function forward(
  endpoint: string,
  path: string,
  done: (status: number, body: string) => void,
): void {
  const [host, port] = [
    endpoint.slice(0, endpoint.lastIndexOf(':')),
    endpoint.slice(endpoint.lastIndexOf(':') + 1),
  ];
  const req = request({ host, port: Number(port), path, method: 'GET', timeout: 5000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => done(res.statusCode ?? 502, body));
  });
  req.on('timeout', () => req.destroy(new Error('timed out')));
  req.on('error', (err) => done(502, JSON.stringify({ error: `${endpoint}: ${err.message}` })));
  req.end();
}

/** An HTTP server listening on a free port of 127.0.0.1, and that `host:port`. */
export async function listen(): Promise<{ server: Server; endpoint: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** GET a user's count from a worker. */
export function askCount(
  endpoint: string,
  user: string,
): Promise<{ status: number; body: CountAnswer | { error: string } }> {
  return new Promise((resolve, reject) => {
    forward(endpoint, `/counts/${encodeURIComponent(user)}`, (status, body) => {
      try {
        resolve({ status, body: JSON.parse(body) as CountAnswer });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

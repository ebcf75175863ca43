/**
 * Checks the chained example's traces in a real Jaeger: starts Jaeger v2 on
 * loopback (memory storage, OTLP/HTTP receiver), runs examples/tracing/main.ts
 * with OTLP pointed at it, then asks Jaeger's query API for every order's trace
 * and checks its spans: the producer's send, each app's process and send, in
 * one trace, with the right parents and services.
 *
 *   JAEGER_BIN=/path/to/jaeger npx tsx bench/jaeger-trace-check.ts
 *
 * Build the binary once, its modules from the Go module proxy (Jaeger's go.mod
 * has replace directives, so `go install …@version` refuses it; build from a
 * checkout — checked with main at 8498073, Go 1.26):
 *   git clone --depth 1 https://github.com/jaegertracing/jaeger && \
 *     cd jaeger && go build -o ~/bin/jaeger ./cmd/jaeger
 *
 * Not part of `npm test` (the build takes minutes). Exits 0 when every check passes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../testkit/index.ts';

const jaegerBin = process.env.JAEGER_BIN ?? 'jaeger';
const log = (line: string): void => void process.stdout.write(line + '\n');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A span from Jaeger's API v3 (OTLP JSON). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number | string;
  links?: { traceId: string; spanId: string }[];
  attributes?: { key: string; value: Record<string, unknown> }[];
  service: string;
}

/** Jaeger's grpc-gateway may print ids as hex or as base64 bytes. */
const hex = (id: string | undefined): string | undefined =>
  id === undefined || id === ''
    ? undefined
    : /^[0-9a-f]+$/.test(id) && (id.length === 16 || id.length === 32)
      ? id
      : Buffer.from(id, 'base64').toString('hex');

async function fetchTrace(api: string, traceId: string): Promise<OtlpSpan[]> {
  const r = await fetch(`${api}/v3/traces/${traceId}`);
  if (!r.ok) return [];
  const body = (await r.json()) as {
    result?: {
      resourceSpans?: {
        resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
        scopeSpans?: { spans?: Omit<OtlpSpan, 'service'>[] }[];
      }[];
    };
  };
  return (body.result?.resourceSpans ?? []).flatMap((rs) => {
    const service =
      rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((sp) => ({ ...sp, service })),
    );
  });
}

async function main(): Promise<number> {
  if (spawnSync(jaegerBin, ['--help'], { stdio: 'ignore' }).error) {
    log(`no Jaeger binary at "${jaegerBin}": set JAEGER_BIN (see the comment at the top)`);
    return 2;
  }
  const [otlpPort, queryPort, grpcPort, healthPort] = await Promise.all(
    [0, 1, 2, 3].map(() => freePort()),
  );
  const dir = mkdtempSync(join(tmpdir(), 'streamtx-jaeger-'));
  const config = join(dir, 'jaeger.yaml');
  // Every endpoint on loopback; nothing but what this check needs.
  writeFileSync(
    config,
    `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${healthPort}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${queryPort}
    grpc:
      endpoint: 127.0.0.1:${grpcPort}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`,
  );
  const jaeger = spawn(jaegerBin, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let jaegerLog = '';
  jaeger.stderr.on(
    'data',
    (c: Buffer) => void (jaegerLog = (jaegerLog + c.toString()).slice(-4000)),
  );
  const api = `http://127.0.0.1:${queryPort}/api`;
  try {
    await waitFor(
      async () => (await fetch(`${api}/v3/services`).catch(() => undefined))?.ok === true,
      { timeoutMs: 30_000, what: `Jaeger's query API\n${jaegerLog}` },
    );
    log(`Jaeger ${jaegerBin} up: OTLP 127.0.0.1:${otlpPort}, UI/API 127.0.0.1:${queryPort}`);

    const example = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../examples/tracing/main.ts', import.meta.url))],
      {
        env: { ...process.env, OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`, ORDERS: '5' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    example.stdout.on('data', (c: Buffer) => void (out += c.toString()));
    const [code] = (await once(example, 'exit')) as [number];
    if (code !== 0) throw new Error(`the example failed (exit ${code})`);
    const summary = JSON.parse(out.trim().split('\n').pop()!) as {
      topics: [string, string, string];
      traces: Record<string, string>;
    };
    const [orders, enriched, shipments] = summary.topics;

    let failures = 0;
    const check = (ok: boolean, what: string): void => {
      log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
      if (!ok) failures++;
    };
    for (const [order, traceId] of Object.entries(summary.traces)) {
      let spans: OtlpSpan[] = [];
      await waitFor(async () => (spans = await fetchTrace(api, traceId)).length >= 5, {
        timeoutMs: 30_000,
        what: `5 spans of ${order}'s trace ${traceId} in Jaeger`,
      });
      const span = (name: string, service: string): OtlpSpan | undefined =>
        spans.find((s) => s.name === name && s.service === service);
      const id = (s: OtlpSpan | undefined): string | undefined => hex(s?.spanId);
      const attr = (s: OtlpSpan | undefined, key: string): unknown => {
        const value = s?.attributes?.find((a) => a.key === key)?.value;
        return value ? Object.values(value)[0] : undefined;
      };
      const producer = span(`send ${orders}`, 'order-producer');
      const process1 = span(`process ${orders}`, 'tracing-enricher');
      const send1 = span(`send ${enriched}`, 'tracing-enricher');
      const process2 = span(`process ${enriched}`, 'tracing-shipper');
      const send2 = span(`send ${shipments}`, 'tracing-shipper');
      log(
        `${order}: trace ${traceId}, ${spans.length} spans: ${spans.map((s) => `${s.service}/${s.name}`).join(', ')}`,
      );
      check(
        [producer, process1, send1, process2, send2].every(Boolean) &&
          spans.every((s) => hex(s.traceId) === traceId),
        `${order}: producer send, enricher process+send, shipper process+send in one trace`,
      );
      check(
        hex(process1?.parentSpanId) === id(producer),
        `${order}: enricher's process is the producer's child`,
      );
      check(
        process1?.links?.some((l) => hex(l.spanId) === id(producer)) ?? false,
        `${order}: and links to it`,
      );
      check(
        hex(send1?.parentSpanId) === id(process1),
        `${order}: enricher's send is its process's child`,
      );
      check(
        hex(process2?.parentSpanId) === id(send1),
        `${order}: shipper's process continues the enricher's send`,
      );
      check(
        process2?.links?.some((l) => hex(l.spanId) === id(send1)) ?? false,
        `${order}: and links to it`,
      );
      check(
        hex(send2?.parentSpanId) === id(process2),
        `${order}: shipper's send is its process's child`,
      );
      check(attr(process1, 'messaging.system') === 'kafka', `${order}: messaging.system=kafka`);
      check(
        attr(process1, 'messaging.consumer.group.name') ===
          `${orders.replace(/-orders$/, '')}-enricher`,
        `${order}: messaging.consumer.group.name is the enricher's group`,
      );
      check(
        process1?.kind === 5 || process1?.kind === 'SPAN_KIND_CONSUMER',
        `${order}: process is a CONSUMER span (kind ${String(process1?.kind)})`,
      );
      check(
        attr(send2, 'streamtx.transaction.outcome') === 'committed',
        `${order}: the last send committed`,
      );
    }
    log(failures === 0 ? 'all Jaeger checks passed' : `${failures} Jaeger checks failed`);
    return failures === 0 ? 0 : 1;
  } finally {
    const exited = once(jaeger, 'exit');
    jaeger.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exit(await main());

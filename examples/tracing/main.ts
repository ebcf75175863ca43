/**
 * The chained example end to end: a local Kafka broker (or STREAMTX_BOOTSTRAP),
 * the enricher and the shipper in two processes, and a producer that sends
 * traced orders. Prints one trace id per order, and checks that the shipment
 * it caused carries the same trace.
 *
 *   OTLP_ENDPOINT=http://127.0.0.1:4318 tsx examples/tracing/main.ts
 *
 * Environment: OTLP_ENDPOINT (traces, e.g. Jaeger), ORDERS (default 5),
 * PROMETHEUS_PORT (the enricher serves /metrics there; the shipper on the next port).
 * The last line of output is a JSON summary (bench/jaeger-trace-check.ts reads it).
 */
import { ROOT_CONTEXT, SpanKind, propagation, trace } from '@opentelemetry/api';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KafkaCluster, produceRecords, waitForRecords } from '../../testkit/index.ts';
import type { Order } from './apps.ts';
import { startOpenTelemetry } from './otel-setup.ts';

const log = (line: string): void => void process.stderr.write(line + '\n');
const ORDERS = Number(process.env.ORDERS ?? 5);
const otlpEndpoint = process.env.OTLP_ENDPOINT;
const prometheusPort = process.env.PROMETHEUS_PORT
  ? Number(process.env.PROMETHEUS_PORT)
  : undefined;

function startApp(which: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./app.ts', import.meta.url)), which],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${which} exited with ${code} before it was ready`)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === `ready ${which}`) resolve(child);
    });
  });
}

async function stopApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  const sdk = startOpenTelemetry({
    serviceName: 'order-producer',
    ...(otlpEndpoint ? { otlpEndpoint } : {}),
  });
  const cluster = await KafkaCluster.fromEnv({ brokers: 1 });
  const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-tracing-'));
  const prefix = `tracing-${Date.now().toString(36)}`;
  const topics = [`${prefix}-orders`, `${prefix}-enriched`, `${prefix}-shipments`] as const;
  const apps: ChildProcess[] = [];
  try {
    for (const topic of topics) await cluster.createTopic(topic, { partitions: 2 });
    const common = {
      BROKERS: cluster.bootstrapServers.join(','),
      TOPIC_PREFIX: prefix,
      STATE_DIR: stateDir,
      ...(otlpEndpoint ? { OTLP_ENDPOINT: otlpEndpoint } : {}),
    };
    const [enricher, shipper] = await Promise.all([
      startApp('enricher', {
        ...common,
        ...(prometheusPort ? { PROMETHEUS_PORT: String(prometheusPort) } : {}),
      }),
      startApp('shipper', {
        ...common,
        ...(prometheusPort ? { PROMETHEUS_PORT: String(prometheusPort + 1) } : {}),
      }),
    ]);
    apps.push(enricher, shipper);
    log(`enricher and shipper running on ${cluster.bootstrapServers.join(',')}`);

    // The first producer: a PRODUCER span per order, its context in the record's headers.
    const tracer = trace.getTracer('order-producer');
    const traces: Record<string, string> = {};
    const records = Array.from({ length: ORDERS }, (_, i) => {
      const order: Order = {
        id: `order-${i}`,
        item: ['book', 'lamp', 'chair'][i % 3]!,
        quantity: 1 + i * 7,
      };
      const span = tracer.startSpan(`send ${topics[0]}`, {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topics[0] },
      });
      const headers: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers);
      span.end();
      traces[order.id] = span.spanContext().traceId;
      return { key: order.id, value: JSON.stringify(order), headers };
    });
    await produceRecords(cluster.bootstrapServers, topics[0], records);
    const shipments = await waitForRecords(cluster.bootstrapServers, topics[2], ORDERS, {
      timeoutMs: 120_000,
    });
    let continued = 0;
    for (const s of shipments) {
      const traceId = s.headers['traceparent']?.toString().split('-')[1];
      const expected = traces[s.key!.toString()];
      log(
        `${s.key!.toString()}: ${s.value!.toString()}  trace ${traceId}${traceId === expected ? '' : ` (expected ${expected})`}`,
      );
      if (traceId === expected) continued++;
    }
    log(`${continued}/${ORDERS} shipments continue their order's trace`);
    await Promise.all(apps.map(stopApp));
    await sdk.shutdown();
    process.stdout.write(JSON.stringify({ topics, traces, continued }) + '\n');
    if (continued !== ORDERS) process.exitCode = 1;
  } finally {
    await Promise.all(apps.map(stopApp));
    await cluster.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();

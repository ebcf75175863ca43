// Telemetry on a real cluster: two chained apps, one trace from the first
// producer to the last topic, and a real Prometheus server scraping the
// /metrics endpoint, read back through Prometheus's HTTP API.
import { SpanKind } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { StreamsApp } from '../../../framework/index.ts';
import { openTelemetry } from '../../../otel.ts';
import { produceRecords, waitFor, waitForRecords } from '../../../testkit/index.ts';
import { enricher, shipper, type ChainTopics } from '../../../examples/tracing/apps.ts';
import { clusterFor } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';
import { memorySdk, one, produceWithTrace, traceIdOf } from './support.ts';

const ORDERS = 20;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

const prometheusBinary = spawnSync('prometheus', ['--version']).status === 0;

t.test(
  'two chained apps on a real cluster: traces, and metrics scraped by Prometheus',
  async (t) => {
    const sdk = memorySdk({ global: true });
    const metricsPort = await freePort();
    const exporter = new PrometheusExporter({ host: '127.0.0.1', port: metricsPort });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    t.teardown(() => meterProvider.shutdown());
    const telemetry = openTelemetry({ meterProvider });

    const cluster = await clusterFor(t, { brokers: 1 });
    const prefix = uniqueName('traced');
    const topics: ChainTopics = {
      orders: `${prefix}-orders`,
      enriched: `${prefix}-enriched`,
      shipments: `${prefix}-shipments`,
    };
    for (const topic of Object.values(topics)) await cluster.createTopic(topic, { partitions: 2 });
    const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-telemetry-'));
    t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
    const apps = [
      new StreamsApp(enricher(topics), {
        applicationId: `${prefix}-enricher`,
        brokers: cluster.bootstrapServers,
        stateDir,
        replicationFactor: 1,
        logLevel: 'warn',
        telemetry,
      }),
      new StreamsApp(shipper(topics), {
        applicationId: `${prefix}-shipper`,
        brokers: cluster.bootstrapServers,
        stateDir,
        replicationFactor: 1,
        logLevel: 'warn',
        telemetry,
      }),
    ];
    t.teardown(() => Promise.all(apps.map((a) => a.close())));
    await Promise.all(apps.map((a) => a.start()));

    const produced = Array.from({ length: ORDERS }, (_, i) => ({
      id: `order-${i}`,
      ...produceWithTrace(topics.orders),
    }));
    await produceRecords(
      cluster.bootstrapServers,
      topics.orders,
      produced.map((p, i) => ({
        key: p.id,
        value: JSON.stringify({ id: p.id, item: 'book', quantity: i }),
        headers: p.headers,
      })),
    );
    const shipments = await waitForRecords(cluster.bootstrapServers, topics.shipments, ORDERS);

    t.test('every shipment continues its order trace, through both apps', async (t) => {
      for (const shipment of shipments) {
        const order = produced.find((p) => p.id === shipment.key?.toString())!;
        const traceId = order.span.spanContext().traceId;
        t.equal(traceIdOf(shipment.headers['traceparent']), traceId, `${order.id}'s trace`);
      }
      const first = produced[0]!;
      const traceId = first.span.spanContext().traceId;
      await waitFor(
        () => sdk.spans().filter((s) => s.spanContext().traceId === traceId).length >= 4,
        {
          what: 'the spans of the first order',
        },
      );
      const spans = sdk.spans().filter((s) => s.spanContext().traceId === traceId);
      const process1 = one(spans, `process ${topics.orders}`);
      const send1 = one(spans, `send ${topics.enriched}`);
      const process2 = one(spans, `process ${topics.enriched}`);
      const send2 = one(spans, `send ${topics.shipments}`);
      t.equal(process1.kind, SpanKind.CONSUMER);
      t.equal(process1.parentSpanId, first.span.spanContext().spanId);
      t.equal(process1.attributes['messaging.consumer.group.name'], `${prefix}-enricher`);
      t.equal(send1.parentSpanId, process1.spanContext().spanId);
      t.equal(process2.parentSpanId, send1.spanContext().spanId);
      t.equal(process2.attributes['messaging.consumer.group.name'], `${prefix}-shipper`);
      t.equal(send2.parentSpanId, process2.spanContext().spanId);
      t.equal(send2.attributes['streamtx.transaction.outcome'], 'committed');
      const commits = sdk.spans().filter((s) => s.name === 'commit');
      t.ok(
        commits.length > 0 &&
          commits.every((c) => c.attributes['streamtx.transaction.outcome'] === 'committed'),
      );
    });

    t.test(
      'Prometheus scrapes the /metrics endpoint and serves the series back',
      {
        skip: prometheusBinary
          ? false
          : 'the prometheus binary is not installed (apt-get install -y prometheus)',
      },
      async (t) => {
        const dir = mkdtempSync(join(tmpdir(), 'streamtx-prometheus-'));
        t.teardown(() => rmSync(dir, { recursive: true, force: true }));
        writeFileSync(
          join(dir, 'prometheus.yml'),
          [
            'global: { scrape_interval: 1s, evaluation_interval: 1s }',
            'scrape_configs:',
            '  - job_name: streamtx',
            `    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]`,
          ].join('\n'),
        );
        const apiPort = await freePort();
        const prometheus = spawn(
          'prometheus',
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${apiPort}`,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let log = '';
        prometheus.stderr.on(
          'data',
          (chunk: Buffer) => void (log = (log + chunk.toString()).slice(-4000)),
        );
        t.teardown(async () => {
          if (prometheus.exitCode !== null) return;
          const exited = once(prometheus, 'exit');
          prometheus.kill('SIGTERM');
          await exited;
        });
        const query = async (
          q: string,
        ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
          const response = await fetch(
            `http://127.0.0.1:${apiPort}/api/v1/query?query=${encodeURIComponent(q)}`,
          ).catch(() => undefined);
          if (!response?.ok) return [];
          const body = (await response.json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          };
          return body.data.result;
        };
        const processed = (app: string): Promise<number> =>
          query(
            `sum(streamtx_process_records_total{streamtx_application_id="${prefix}-${app}"})`,
          ).then((r) => Number(r[0]?.value[1] ?? 0));
        await waitFor(
          async () =>
            (await processed('enricher')) === ORDERS && (await processed('shipper')) === ORDERS,
          { timeoutMs: 60_000, what: `Prometheus to report ${ORDERS} records per app\n${log}` },
        );
        t.pass(`Prometheus reports ${ORDERS} records processed by each app`);

        const committed = await query(
          `sum by (streamtx_application_id) (streamtx_transactions_total{streamtx_transaction_outcome="committed"})`,
        );
        t.equal(committed.length, 2, 'committed transactions of both apps');
        const latency = await query(
          `histogram_quantile(0.99, sum by (le) (streamtx_commit_duration_bucket{streamtx_application_id="${prefix}-enricher"}))`,
        );
        t.ok(Number(latency[0]?.value[1]) > 0, `p99 commit latency ${latency[0]?.value[1]} s`);
        await waitFor(
          async () =>
            (await query(`streamtx_consumer_lag{streamtx_application_id="${prefix}-enricher"}`))
              .length === 2,
          { what: 'lag of both input partitions' },
        );
        const lag = await query(
          `max(streamtx_consumer_lag{streamtx_application_id="${prefix}-enricher"})`,
        );
        t.equal(Number(lag[0]?.value[1]), 0, 'everything processed: no lag');
        const up = await query(`up{job="streamtx"}`);
        t.equal(up[0]?.value[1], '1', 'the scrape target is up');
      },
    );
  },
);

/**
 * One app of the chain in its own process, as it would be deployed:
 *   tsx examples/tracing/app.ts enricher|shipper
 * Environment: BROKERS, TOPIC_PREFIX, OTLP_ENDPOINT, PROMETHEUS_PORT, STATE_DIR.
 */
import { StreamsApp } from '../../framework/index.ts';
import { openTelemetry } from '../../otel.ts';
import { enricher, shipper, type ChainTopics } from './apps.ts';
import { startOpenTelemetry } from './otel-setup.ts';

const which = process.argv[2];
if (which !== 'enricher' && which !== 'shipper') {
  process.stderr.write('usage: app.ts enricher|shipper\n');
  process.exit(2);
}
const env = process.env;
const prefix = env.TOPIC_PREFIX ?? 'tracing';
const topics: ChainTopics = {
  orders: `${prefix}-orders`,
  enriched: `${prefix}-enriched`,
  shipments: `${prefix}-shipments`,
};
// The SDK starts before the app, so the app's instruments bind to its providers.
const sdk = startOpenTelemetry({
  serviceName: `tracing-${which}`,
  ...(env.OTLP_ENDPOINT ? { otlpEndpoint: env.OTLP_ENDPOINT } : {}),
  ...(env.PROMETHEUS_PORT ? { prometheusPort: Number(env.PROMETHEUS_PORT) } : {}),
});
const app = new StreamsApp(which === 'enricher' ? enricher(topics) : shipper(topics), {
  applicationId: `${prefix}-${which}`,
  brokers: (env.BROKERS ?? '127.0.0.1:9092').split(','),
  replicationFactor: 1,
  logLevel: 'warn',
  telemetry: openTelemetry(),
  ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.close();
  await sdk.shutdown(); // flushes the last spans
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
await app.start();
process.stdout.write(`ready ${which}\n`);

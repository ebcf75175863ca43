/**
 * `streamtx/otel`: the OpenTelemetry adapter of streamtx's telemetry
 * interface. A separate entry because it imports `@opentelemetry/api`, an
 * optional peer dependency: the package root and the test driver load
 * without it.
 *
 * @example
 * ```ts
 * import { NodeSDK } from '@opentelemetry/sdk-node';
 * import { StreamsApp } from 'streamtx';
 * import { openTelemetry } from 'streamtx/otel';
 *
 * new NodeSDK({ serviceName: 'orders-enricher' }).start();
 * const app = new StreamsApp(topology, { applicationId: 'enricher', brokers, telemetry: openTelemetry() });
 * ```
 *
 * @module
 */
export {
  openTelemetry,
  Attr as TelemetryAttributes,
  Metric as TelemetryMetrics,
  type OpenTelemetryOptions,
} from './framework/telemetry/otel.ts';

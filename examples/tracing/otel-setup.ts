/**
 * OpenTelemetry for one process of the example, with @opentelemetry/sdk-node:
 * traces over OTLP/HTTP (to Jaeger or a collector) when an endpoint is set,
 * and metrics on a Prometheus /metrics endpoint when a port is set (else over
 * OTLP). The sampler follows the standard OTEL_TRACES_SAMPLER variables.
 */
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK, metrics } from '@opentelemetry/sdk-node';

export interface ExampleTelemetryOptions {
  serviceName: string;
  /** e.g. http://127.0.0.1:4318; traces (and metrics, without a Prometheus port) go there. */
  otlpEndpoint?: string;
  /** Serves /metrics on 127.0.0.1:<port>. */
  prometheusPort?: number;
}

export function startOpenTelemetry(options: ExampleTelemetryOptions): NodeSDK {
  const { otlpEndpoint, prometheusPort } = options;
  const metricReader =
    prometheusPort !== undefined
      ? new PrometheusExporter({ host: '127.0.0.1', port: prometheusPort })
      : otlpEndpoint !== undefined
        ? new metrics.PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter({ url: `${otlpEndpoint}/v1/metrics` }),
            exportIntervalMillis: 5000,
          })
        : undefined;
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    // streamtx traces Kafka itself; no auto-instrumentation (see docs/observability.md on
    // instrumentation-kafkajs).
    instrumentations: [],
    ...(otlpEndpoint
      ? { traceExporter: new OTLPTraceExporter({ url: `${otlpEndpoint}/v1/traces` }) }
      : {}),
    ...(metricReader ? { metricReader } : {}),
  });
  sdk.start();
  return sdk;
}

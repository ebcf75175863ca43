/**
 * streamtx: exactly-once stream processing for TypeScript on Apache Kafka.
 * The package root re-exports the public API of each area; the testkit is
 * `streamtx/testkit`.
 */
export * from './framework/index.ts';
export * from './stores/index.ts';
export * from './dsl/index.ts';

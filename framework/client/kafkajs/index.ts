/**
 * The kafkajs backend of the client adapter (kafkajs 2.2.4). The only place
 * in streamtx that imports kafkajs (ESLint enforces it); loaded by
 * `createKafkaClient` on first use, so importing streamtx without a broker
 * never loads it. Its version check and prototype patches run when the
 * first client is created.
 */
// First: replaces a kafkajs module before kafkajs loads (linear-grouping.ts).
import './linear-grouping.ts';
import './produce-encoder.ts';

export { createKafkajsClient, KafkajsClient } from './client.ts';
export { TransactionError } from './producer.ts';
export { classifyKafkajs, errorCode, toClientError } from './errors.ts';
export { CONCURRENT_TRANSACTIONS_BACKOFF_MS } from './internals.ts';

/**
 * The Kafka client adapter: the only module of streamtx that imports a Kafka
 * client library (DESIGN.md invariant 7). The runtime codes against
 * `KafkaClient`; kafkajs 2.2.4 is the one implementation today.
 *
 * ```ts
 * import { createKafkaClient, classify } from './framework/client/index.ts';
 *
 * const client = createKafkaClient({ brokers: ['127.0.0.1:9092'], clientId: 'app-worker-1' });
 * await client.admin.createTopics([{ topic: 'out', partitions: 3, replicationFactor: 3 }]);
 * const producer = client.transactionalProducer('app-0_1', { transactionTimeoutMs: 10_000 });
 * await producer.init(); // fences the previous owner of task 0_1
 * producer.begin();
 * try {
 *   await producer.send('out', [{ key: 'k', value: 'v', partition: 1 }]);
 *   await producer.sendOffsets('app', [{ topic: 'in', partition: 1, offset: 42n }]);
 *   await producer.commit();
 * } catch (e) {
 *   const { kind } = classify(e); // 'migrated' | 'ambiguous' | 'retriable' | 'fatal'
 * }
 * for await (const records of client.readPartition('app-store-changelog', 1, 0n, 'end')) { ... }
 * await client.close();
 * ```
 */
import { createKafkajsClient } from './kafkajs/client.ts';
import type { KafkaClient, KafkaClientOptions } from './types.ts';

export type * from './types.ts';
export {
  classify,
  errorCode,
  ClientError,
  IllegalTransactionStateError,
  ProducerFencedError,
} from './errors.ts';
export type { ClientErrorKind, ClientOperation, ErrorClassification } from './errors.ts';
export { TRANSACTION_TRANSITIONS, OPERATION_STATES } from './transaction-state.ts';
export { TransactionError } from './kafkajs/producer.ts';
export { CONCURRENT_TRANSACTIONS_BACKOFF_MS } from './kafkajs/internals.ts';

/** Creates the Kafka client adapter (kafkajs-based). */
export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  return createKafkajsClient(options);
}

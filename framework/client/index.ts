/**
 * The Kafka client adapter, backend-neutral: the interface the runtime codes
 * against (types.ts), error classification (errors.ts) and the
 * transactional producer's state machine (transaction-state.ts). A backend
 * lives in its own folder behind its own entry — kafkajs 2.2.4 in
 * ./kafkajs/, the only code that imports it — and is loaded when a client is
 * created, not when this module is (docs/architecture.md, "Client boundary").
 *
 * ```ts
 * import { createKafkaClient, classify } from './framework/client/index.ts';
 *
 * const client = await createKafkaClient({ brokers: ['127.0.0.1:9092'], clientId: 'app-worker-1' });
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
import type { KafkaClient, KafkaClientOptions } from './types.ts';

export type * from './types.ts';
export {
  classify,
  ClientError,
  IllegalTransactionStateError,
  ProducerFencedError,
  KAFKA_ERROR_CODES,
  isUnreachable,
  securityFailure,
} from './errors.ts';
export type { ClientErrorKind, ClientOperation, ErrorClassification } from './errors.ts';
export {
  TRANSACTION_TRANSITIONS,
  OPERATION_STATES,
  TransactionStateMachine,
} from './transaction-state.ts';

/** Creates a client of the default backend (kafkajs), loading it on first use. */
export async function createKafkaClient(options: KafkaClientOptions): Promise<KafkaClient> {
  const { createKafkajsClient } = await import('./kafkajs/index.ts');
  return createKafkajsClient(options);
}

/**
 * streamtx testkit: real Apache Kafka for tests, demos and chaos runs.
 *
 * @example
 * ```ts
 * import { KafkaCluster } from 'streamtx/testkit';
 *
 * const cluster = await KafkaCluster.start({ brokers: 3 });
 * try {
 *   await cluster.createTopic('orders', { partitions: 6 });
 *   const leader = await cluster.leaderOf('orders', 0);
 *   await cluster.kill(leader); // SIGKILL; leadership moves
 *   await cluster.restart(leader); // back in the metadata
 * } finally {
 *   await cluster.stop(); // no process or directory left behind
 * }
 * ```
 */
export {
  KafkaCluster,
  type KafkaClusterOptions,
  type TopicOptions,
  type BrokerState,
  type KafkaConnection,
  type ScramUser,
  type SecuredClusterOptions,
  type ClusterSecurity,
  javaStringHashCode,
  transactionStatePartition,
} from './kafka-cluster.ts';
export {
  ensureKafka,
  findJava,
  DEFAULT_KAFKA_VERSION,
  MissingToolError,
  type KafkaInstall,
  type KafkaInstallOptions,
} from './kafka-install.ts';
export { waitFor, type WaitOptions } from './wait.ts';
export {
  produceRecords,
  waitForRecords,
  type ClusterAddress,
  type KeyValueRecord,
  type ReceivedRecord,
} from './integration-utils.ts';
export {
  TopologyTestDriver,
  TestInputTopic,
  TestOutputTopic,
  UnknownTopicError,
  type TopologyTestDriverOptions,
  type TestInputTopicOptions,
  type TestInputRecord,
  type TestRecord,
  type TestKeyValue,
  type TestHeaders,
} from './topology-test-driver.ts';
export { TaskHarness, type TaskHarnessOptions } from './task-harness.ts';
export { cliCommand, type CliCommand } from './internals/cli-command.ts';

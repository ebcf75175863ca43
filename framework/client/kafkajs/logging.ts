/** Routes kafkajs log lines to the adapter's logger, and lets the adapter watch for specific ones. */
import kafkajs from 'kafkajs';
import type { logCreator as LogCreator } from 'kafkajs';
import type { ClientLogEntry, ClientLogLevel } from '../types.ts';

const { logLevel: KafkaLogLevel } = kafkajs;

const LEVEL_RANK: Record<ClientLogLevel, number> = {
  nothing: 0,
  error: 1,
  warn: 2,
  info: 4,
  debug: 5,
};
const LABEL: Record<number, ClientLogEntry['level']> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

export function defaultLogger(entry: ClientLogEntry): void {
  const line = `[streamtx:kafka] ${entry.level.toUpperCase()} ${entry.namespace} ${entry.message} ${JSON.stringify(entry.extra)}`;
  if (entry.level === 'error' || entry.level === 'warn') console.error(line);
  else console.log(line);
}

export type LogTap = (entry: ClientLogEntry) => void;

/**
 * kafkajs's log level for a Kafka instance: at least ERROR, because the
 * adapter watches some ERROR lines (kafkajs's own CONCURRENT_TRANSACTIONS
 * retries) even when the user wants nothing.
 */
export function kafkajsLogLevel(level: ClientLogLevel): number {
  return Math.max(LEVEL_RANK[level], KafkaLogLevel.ERROR);
}

/**
 * kafkajs ERROR lines about failures it retries itself, or hands to the adapter, which turns
 * them into ClientErrors the runtime classifies and reports once when it acts on them
 * ("Cannot reach the Kafka brokers", "SASL authentication failed", a rebuilt task, a stopped
 * app). At ERROR they would repeat that, once per retry and per connection: they come at
 * debug. By kafkajs 2.2.4's namespaces and message starts.
 */
const HANDLED_ABOVE: readonly [namespace: string | RegExp, message: RegExp][] = [
  // Every error response, including CONCURRENT_TRANSACTIONS retries and fencing (network/connection.js).
  ['Connection', /^Response /],
  // A refused, timed-out or closed connection; kafkajs reconnects (network/connection.js).
  ['Connection', /^(Connection error|Connection timeout)/],
  // Seed and broker reconnects (cluster/brokerPool.js).
  [
    'BrokerPool',
    /^(Failed to connect to (seed )?broker|Connection error|Connection timeout|Closed connection)/,
  ],
  // The consumer's crash and restart: the app logs "the consumer failed" (consumer/index.js).
  ['Consumer', /^(Crash: |Restarting the consumer)/],
  // A send retried, or failed into a transaction the task aborts (producer/sendMessages.js).
  ['Producer', /^Failed to send messages/],
  // The adapter bounds a transactional producer's retries on purpose (producer.ts): a send
  // that fails aborts its whole transaction and init() resets the sequences, so EOS holds.
  ['Producer', /^Limiting retries for the idempotent producer/],
  // A refused authentication: fatal, reported by the runtime (broker/saslAuthenticator/).
  [/^SaslAuthenticator-/, /./],
];

function handledAbove(namespace: string, message: string): boolean {
  return HANDLED_ABOVE.some(
    ([ns, pattern]) =>
      (typeof ns === 'string' ? ns === namespace : ns.test(namespace)) && pattern.test(message),
  );
}

export function createLogCreator(
  level: ClientLogLevel,
  sink: (entry: ClientLogEntry) => void,
  tap?: LogTap,
): LogCreator {
  const wanted = LEVEL_RANK[level];
  return () =>
    ({ namespace, level: entryLevel, log }) => {
      const {
        message,
        timestamp: _timestamp,
        logger: _logger,
        ...extra
      } = log as unknown as Record<string, unknown> & { message: string };
      const level = handledAbove(namespace, String(message)) ? KafkaLogLevel.DEBUG : entryLevel;
      const entry: ClientLogEntry = {
        level: LABEL[level] ?? 'info',
        namespace,
        message: String(message),
        extra,
      };
      tap?.(entry);
      if (level <= wanted) sink(entry);
    };
}

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
      // kafkajs's Connection logs every error response at ERROR, including the
      // ones the layers above handle (CONCURRENT_TRANSACTIONS retries, fencing
      // the adapter turns into a TransactionError): report those at debug.
      const level =
        namespace === 'Connection' && String(message).startsWith('Response ')
          ? KafkaLogLevel.DEBUG
          : entryLevel;
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

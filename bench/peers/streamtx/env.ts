/**
 * Options of the streamtx peer apps, from environment variables (the runner
 * starts each app as its own `streamtx run` worker process, so its RSS can be
 * read from /proc). A missing or bad variable is an error naming it.
 */
import type { ProcessingGuarantee, StreamsAppOptions } from '../../../index.ts';

export interface PeerEnv {
  /** PEER_INPUT */
  input: string;
  /** PEER_OUTPUT */
  output: string;
  /** PEER_COMMIT_INTERVAL_MS, also in `options` */
  commitIntervalMs: number;
  options: StreamsAppOptions;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`bench/peers streamtx app: environment variable ${name} is required`);
  }
  return value.trim();
}

/**
 * PEER_APPLICATION_ID, PEER_BOOTSTRAP (host:port[,...]), PEER_INPUT, PEER_OUTPUT,
 * PEER_GUARANTEE (exactly_once | at_least_once), PEER_COMMIT_INTERVAL_MS,
 * PEER_STATE_DIR. Everything else keeps streamtx's defaults, as the Kafka
 * Streams peer keeps Kafka Streams' defaults.
 */
export function peerEnv(): PeerEnv {
  const guarantee = required('PEER_GUARANTEE');
  if (guarantee !== 'exactly_once' && guarantee !== 'at_least_once') {
    throw new Error(
      `bench/peers streamtx app: PEER_GUARANTEE must be exactly_once or at_least_once, got '${guarantee}'`,
    );
  }
  const interval = Number(required('PEER_COMMIT_INTERVAL_MS'));
  if (!Number.isInteger(interval) || interval < 0) {
    throw new Error(
      `bench/peers streamtx app: PEER_COMMIT_INTERVAL_MS must be a non-negative integer, got '${process.env.PEER_COMMIT_INTERVAL_MS}'`,
    );
  }
  return {
    input: required('PEER_INPUT'),
    output: required('PEER_OUTPUT'),
    commitIntervalMs: interval,
    options: {
      applicationId: required('PEER_APPLICATION_ID'),
      brokers: required('PEER_BOOTSTRAP').split(','),
      processingGuarantee: guarantee satisfies ProcessingGuarantee,
      commitIntervalMs: interval,
      stateDir: required('PEER_STATE_DIR'),
      logLevel: 'warn',
    },
  };
}

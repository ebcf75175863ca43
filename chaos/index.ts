/**
 * streamtx chaos: run an app in several worker processes under a verifiable
 * workload, kill and pause workers and brokers on a seeded schedule, and
 * prove that nothing was lost, duplicated or read from an aborted
 * transaction.
 *
 * @example Your own app, your own invariants
 * ```ts
 * import { runChaos, formatReport, aggregateVerifier, type Verifier } from 'streamtx/chaos';
 *
 * const noNegativeTotals: Verifier = {
 *   name: 'totals',
 *   verify: ({ outputs }) =>
 *     outputs.totals!.committed
 *       .filter((r) => Number(r.value) < 0)
 *       .map((r) => ({ kind: 'negative-total', message: `${r.key} went negative`, count: 1, examples: [] })),
 * };
 *
 * const report = await runChaos({
 *   scenario: 'mixed',
 *   durationMs: 120_000,
 *   seed: 42, // replays the same fault schedule
 *   app: { module: './my-app.ts', outputs: ['totals'], stores: ['totals'] },
 *   verifier: noNegativeTotals,
 *   progress: (line) => console.error(line),
 * });
 * console.log(formatReport(report));
 * process.exitCode = report.verdict === 'pass' ? 0 : 1;
 * ```
 *
 * @module
 */
export {
  runChaos,
  compileChaosOptions,
  aggregateApp,
  type ChaosApp,
  type ChaosOptions,
} from './runner.ts';
export {
  SCENARIOS,
  FAULT_KINDS,
  FAULT_DESCRIPTIONS,
  findScenario,
  needsBrokerControl,
  type ChaosScenario,
  type FaultKind,
} from './scenarios.ts';
export {
  aggregateVerifier,
  verifyAggregateRun,
  abortedRecords,
  nextAggregate,
  runningAggregates,
  type Aggregate,
  type AggregateVerifierOptions,
  type ChaosRecord,
  type TopicRead,
  type VerificationData,
  type Verifier,
  type Violation,
  type ViolationKind,
} from './verifier.ts';
export {
  formatReport,
  writeReport,
  type ChaosReport,
  type ChaosVerdict,
  type FaultReport,
  type WorkerExitReport,
} from './report.ts';
export { parseDuration } from './cli.ts';

/**
 * The report of a chaos run: JSON for machines, a summary for people.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultKind } from './scenarios.ts';
import type { Violation } from './verifier.ts';

export interface FaultReport {
  kind: FaultKind;
  target: string;
  /** ISO time of the injection. */
  at: string;
  /** Milliseconds from the start of the load to the injection. */
  offsetMs: number;
  /** From the fault's start until its target was back (restarted, resumed). */
  durationMs: number;
  /** From the injection until the committed input offsets advanced again; null: never. */
  recoveryMs: number | null;
  detail: string;
  error?: string;
}

export interface WorkerExitReport {
  worker: string;
  at: string;
  how: string;
  stderrTail: string;
}

export type ChaosVerdict = 'pass' | 'fail' | 'error' | 'interrupted';

export interface ChaosReport {
  scenario: string;
  seed: number;
  verdict: ChaosVerdict;
  startedAt: string;
  finishedAt: string;
  wallMs: number;
  config: {
    durationMs: number;
    workers: number;
    brokers: number;
    partitions: number;
    /** Partitions per output role's topic. */
    outputPartitions: Record<string, number>;
    keys: number;
    recordsPerSecond: number;
    faultIntervalMs: number;
    sessionTimeoutMs: number;
    app: string;
    verifier: string;
    applicationId: string;
    input: string;
    outputs: Record<string, string>;
  };
  records: {
    /** Values the workload handed to its idempotent producer. */
    attempted: number;
    acknowledged: number;
    failedBatches: number;
    /** Values written in input transactions that were aborted on purpose. */
    abortedAttempted: number;
    /** Input records a read_committed reader sees: what the output is judged against. */
    committedInput: number;
    /** Committed input records whose value an earlier one already has (the workload's producer wrote it twice). */
    duplicatedInput: number;
    /** Input records only a read_uncommitted reader sees. */
    abortedInput: number;
    /** Sum of the app's committed input offsets at the end. */
    processedOffsets: number;
    /** Committed input records the verifier checked. */
    verified: number;
    /** Per output role: committed records, and records of aborted transactions (normal: retried). */
    outputs: Record<string, { committed: number; aborted: number }>;
  };
  throughput: { producedPerSec: number; processedPerSec: number };
  faults: FaultReport[];
  recovery: { maxMs: number | null; meanMs: number | null; unrecovered: number };
  /** Workers that exited when no fault asked them to; the harness restarted them. */
  workerExits: WorkerExitReport[];
  drained: boolean;
  phases: { setupMs: number; loadMs: number; drainMs: number; verifyMs: number };
  violations: Violation[];
  error?: string;
  /** The command that replays this run's fault schedule. */
  replay: string;
}

const secs = (ms: number | null): string => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);

export function formatReport(r: ChaosReport): string {
  const lines: string[] = [];
  const verdict =
    r.verdict === 'pass'
      ? 'PASS: no loss, no duplicates, no aborted reads, aggregates and stores exact'
      : r.verdict === 'fail'
        ? `FAIL: ${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}`
        : r.verdict === 'interrupted'
          ? 'INTERRUPTED: stopped before verification'
          : `ERROR: ${r.error ?? 'the run did not complete'}`;
  lines.push(`chaos ${r.scenario} (seed ${r.seed}): ${verdict}`);
  const otherPartitions = Object.entries(r.config.outputPartitions ?? {})
    .filter(([, n]) => n !== r.config.partitions)
    .map(([role, n]) => `${role} ${n}`);
  lines.push(
    `  ${r.config.workers} workers, ${r.config.brokers} brokers, ${r.config.partitions} partitions` +
      (otherPartitions.length ? ` (${otherPartitions.join(', ')})` : '') +
      `, ${r.config.keys} keys, ` +
      `${secs(r.config.durationMs)} of faults at ~${r.config.recordsPerSecond} records/s; wall time ${secs(r.wallMs)}`,
  );
  lines.push(
    `  phases: setup ${secs(r.phases.setupMs)}, load ${secs(r.phases.loadMs)}, drain ${secs(r.phases.drainMs)}${r.drained ? '' : ' (NOT drained)'}, verify ${secs(r.phases.verifyMs)}`,
  );
  const rec = r.records;
  lines.push(
    `  records: ${rec.attempted} produced (${rec.acknowledged} acknowledged, ${rec.failedBatches} failed sends), ` +
      `${rec.committedInput} in the input` +
      (rec.duplicatedInput ? ` (${rec.duplicatedInput} duplicated by the producer)` : '') +
      `, ${rec.abortedInput} aborted input; ${rec.verified} verified`,
  );
  for (const [role, o] of Object.entries(rec.outputs))
    lines.push(
      `    ${role}: ${o.committed} committed, ${o.aborted} in aborted transactions (not visible)`,
    );
  lines.push(
    `  throughput: ${r.throughput.producedPerSec.toFixed(0)} produced/s, ${r.throughput.processedPerSec.toFixed(0)} processed/s`,
  );
  lines.push(
    `  faults: ${r.faults.length}; recovery max ${secs(r.recovery.maxMs)}, mean ${secs(r.recovery.meanMs)}` +
      (r.recovery.unrecovered ? `, ${r.recovery.unrecovered} never recovered` : ''),
  );
  for (const f of r.faults) {
    lines.push(
      `    +${(f.offsetMs / 1000).toFixed(1).padStart(6)} s  ${f.at.slice(11, 23)}  ${f.kind.padEnd(32)} ${f.target}` +
        `  — ${f.detail}; lasted ${secs(f.durationMs)}, recovered in ${secs(f.recoveryMs)}` +
        (f.error ? `  [${f.error}]` : ''),
    );
  }
  if (r.workerExits.length > 0) {
    lines.push(
      `  workers that exited on their own (a failure; restarted to finish the run): ${r.workerExits.length}`,
    );
    for (const e of r.workerExits) {
      lines.push(`    ${e.at.slice(11, 23)} ${e.worker} ${e.how}; the end of its stderr:`);
      for (const line of e.stderrTail.trim().split('\n').slice(-12)) lines.push(`      | ${line}`);
    }
  }
  if (r.violations.length > 0) {
    lines.push('  violations:');
    for (const v of r.violations) {
      lines.push(`    [${v.kind}] ${v.message}`);
      for (const ex of v.examples) lines.push(`      e.g. ${ex}`);
    }
  }
  if (r.error && r.verdict !== 'error') lines.push(`  error: ${r.error}`);
  lines.push(`  replay: ${r.replay}`);
  return lines.join('\n');
}

/** Writes `<dir>/chaos-<scenario>-<seed>.json` and `.txt`; returns their paths. */
export function writeReport(report: ChaosReport, dir: string): { json: string; text: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `chaos-${report.scenario}-${report.seed}`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(`${base}.txt`, formatReport(report) + '\n');
  return { json: `${base}.json`, text: `${base}.txt` };
}

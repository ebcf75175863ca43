// Every chaos scenario, briefly, on one shared 3-broker cluster: two workers
// of the default app under load and faults, then the verifier. Each must
// find no violation, inject only its own kinds of fault, and leave no worker
// process or run directory behind (about 5 minutes on a 2-core machine).
// Long soaks run from the CLI (docs/chaos.md).
import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaCluster } from '../../testkit/index.ts';
import {
  SCENARIOS,
  aggregateApp,
  formatReport,
  runChaos,
  type ChaosOptions,
  type ChaosReport,
} from '../../chaos/index.ts';

const brief: Omit<ChaosOptions, 'scenario'> = {
  durationMs: 10_000,
  workers: 2,
  partitions: 4,
  keys: 32,
  recordsPerSecond: 200,
  warmupMs: 2000,
  faultIntervalMs: 2500,
  drainTimeoutMs: 90_000,
};

// Runs made by this file put their directories in a private TMPDIR, so the
// leftover check sees only them, not another chaos run on the same machine.
const privateTmp = mkdtempSync(join(tmpdir(), 'chaos-test-tmp-'));
process.env.TMPDIR = privateTmp;
t.teardown(() => rmSync(privateTmp, { recursive: true, force: true }));

/** Worker processes of the chaos app still alive, and chaos run directories still present. */
function leftovers(): { workers: string[]; dirs: string[] } {
  const workers = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(aggregateApp.module) && l.includes(' run '));
  const dirs = readdirSync(tmpdir()).filter((d) => d.startsWith('streamtx-chaos-'));
  return { workers, dirs };
}

t.test('chaos scenarios on a shared 3-broker cluster', async (t) => {
  // One retry of a failed start, so a broker that fails to start on a
  // loaded machine does not fail every scenario.
  const cluster = await KafkaCluster.start({ brokers: 3 }).catch(() =>
    KafkaCluster.start({ brokers: 3 }),
  );
  t.teardown(() => cluster.stop());
  const before = leftovers();

  const check = (t: Test, report: ChaosReport): void => {
    const summary = formatReport(report);
    t.comment(summary);
    t.equal(report.verdict, 'pass', `verdict (${report.error ?? 'no error'})`);
    t.same(report.violations, [], 'no violation');
    t.ok(report.drained, 'the app processed all input after the faults');
    t.ok(report.records.verified > 1000, `${report.records.verified} records verified`);
    const after = leftovers();
    t.same(after.workers, [], 'no worker process left');
    t.same(after.dirs, before.dirs, 'no run directory left');
  };

  for (const [i, scenario] of SCENARIOS.entries()) {
    t.test(`${scenario.name}: ${scenario.description}, exactly once`, async (t) => {
      const report = await runChaos({ ...brief, scenario, cluster, seed: 1000 + i });
      check(t, report);
      if (scenario.faults.length > 0)
        t.ok(report.faults.length >= 1, `${report.faults.length} faults injected`);
      else t.same(report.faults, [], 'no fault injected');
      for (const f of report.faults) {
        t.ok(scenario.faults.includes(f.kind), `${f.kind} belongs to ${scenario.name}`);
        t.equal(f.error, undefined, `${f.kind} on ${f.target} injected and healed`);
      }
      t.same(
        cluster.brokerIds.map((id) => cluster.brokerState(id)),
        cluster.brokerIds.map(() => 'running'),
        'every broker is running again',
      );
    });
  }

  t.test(
    'a worker that exits when no fault asked it to fails the run; the report shows the exit and its stderr',
    async (t) => {
      // Every worker SIGKILLs itself at its 3rd commit (the test-only fault hook), unplanned
      // as far as the harness knows: the output stays exact, the run must fail all the same.
      const report = await runChaos({
        ...brief,
        durationMs: 8000,
        scenario: 'none',
        cluster,
        seed: 77,
        app: {
          ...aggregateApp,
          env: { STREAMTX_FAULT_INJECTION: 'after-kafka-commit-before-store-commit:3' },
        },
      });
      const summary = formatReport(report);
      t.comment(summary);
      t.equal(report.verdict, 'fail');
      const exits = report.violations.filter((v) => v.kind === 'worker-exit');
      t.ok(exits.length >= 1, `${exits.length} unplanned exits are violations`);
      t.same(
        report.violations.filter((v) => v.kind !== 'worker-exit'),
        [],
        'and the only ones: the output is still exact',
      );
      t.match(exits[0]!.message, /exited on its own \(SIGKILL\)/);
      t.match(
        exits[0]!.examples.join('\n'),
        /fault injection: SIGKILL at after-kafka-commit-before-store-commit/,
      );
      t.match(summary, /workers that exited on their own.*\n.*the end of its stderr:\n\s+\| /);
      t.ok(report.drained, 'the run still finished and judged the output');
      const after = leftovers();
      t.same(after.workers, [], 'no worker process left');
    },
  );

  t.test('an aborted run stops by itself, reports interrupted and leaves nothing', async (t) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 8000);
    const report = await runChaos({
      ...brief,
      scenario: 'worker-kill',
      durationMs: 60_000,
      cluster,
      signal: abort.signal,
    });
    clearTimeout(timer);
    t.equal(report.verdict, 'interrupted');
    const after = leftovers();
    t.same(after.workers, [], 'no worker process left');
    t.same(after.dirs, before.dirs, 'no run directory left');
  });
});

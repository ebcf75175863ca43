/**
 * One chaos run: a cluster, W worker processes of the app, the paced
 * workload, faults from the scenario on a seeded schedule; then heal
 * everything, let the app drain the input, stop the workers, wait until
 * every transaction finished, read the topics back and verify. Bounded in
 * time; leaves no worker, broker or directory behind, also on errors and
 * aborts (the watchdogs cover a harness that dies).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaClient, type KafkaClient } from '../framework/client/index.ts';
import { changelogTopic } from '../framework/names.ts';
import { KafkaCluster, waitFor } from '../testkit/index.ts';
import { injectFault, hold, type FaultContext, type FaultEvent } from './internals/faults.ts';
import { readTopic } from './internals/reader.ts';
import { Rng, randomSeed } from './internals/rng.ts';
import { OffsetSampler, recoveryTime } from './internals/sampler.ts';
import { verifyWorkloadInput } from './internals/send-ledger.ts';
import { RunWatchdog } from './internals/watchdog.ts';
import { WorkerPool } from './internals/workers.ts';
import { Workload, type WorkloadStats } from './internals/workload.ts';
import type { ChaosReport, FaultReport, WorkerExitReport } from './report.ts';
import { writeReport } from './report.ts';
import {
  findScenario,
  needsBrokerControl,
  type ChaosScenario,
  type FaultKind,
} from './scenarios.ts';
import {
  aggregateVerifier,
  type TopicRead,
  type VerificationData,
  type Verifier,
  type Violation,
} from './verifier.ts';

/**
 * The app under test: a module `streamtx run` can start. Workers get their
 * configuration by environment: INPUT, APP_ID, BROKERS, STATE_DIR,
 * SESSION_TIMEOUT_MS, COMMIT_INTERVAL_MS, and one variable per output role
 * (the role upper-cased, e.g. ECHO) naming the topic the harness created.
 */
export interface ChaosApp {
  /** Path of the app module. */
  module: string;
  /** Output roles; the harness creates a topic per role (co-partitioned with the input unless `outputPartitions` says otherwise). */
  outputs: string[];
  /**
   * Partitions of some output roles' topics, as a number or from the
   * input's partition count.
   * @default the input's partition count, for every role
   */
  outputPartitions?: Record<string, number | ((inputPartitions: number) => number)>;
  /** Logged stores whose changelogs (`<APP_ID>-<store>-changelog`) the verifier reads. */
  stores: string[];
  /** Extra environment for every worker. */
  env?: Record<string, string>;
}

/** The default app: echo plus per-key running count/sum/min/max in the logged store `aggregates`. */
export const aggregateApp: ChaosApp = {
  // The app module in the form this package runs in (sources in a checkout, dist/ when installed).
  module: fileURLToPath(
    new URL(
      `./apps/aggregate-app.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
      import.meta.url,
    ),
  ),
  outputs: ['echo', 'aggregates'],
  stores: ['aggregates'],
  // Not co-partitioned on purpose: a task's transaction then writes to
  // aggregates partitions led by other brokers than its echo and changelog
  // partitions, so a commit spans several partition leaders.
  outputPartitions: { aggregates: (n) => n + 1 },
};

export interface ChaosOptions {
  /** A scenario name (see `SCENARIOS`) or a scenario of your own. */
  scenario: string | ChaosScenario;
  /** How long faults are injected under load. @default 60000 */
  durationMs?: number;
  /** Worker processes. @default 3 */
  workers?: number;
  /** Brokers of the cluster the run starts (ignored with `cluster`). @default 3 */
  brokers?: number;
  /**
   * A cluster to use instead of starting one (it is not stopped; brokers are
   * healed before the run returns). Broker faults need a local KafkaCluster.
   */
  cluster?: KafkaCluster;
  /** Seed of the fault schedule. @default random (printed in the report) */
  seed?: number;
  /** @default aggregateApp */
  app?: ChaosApp;
  /** @default aggregateVerifier() */
  verifier?: Verifier;
  /** Input (and output) partitions: one task each. @default 6 */
  partitions?: number;
  /** Distinct keys of the workload. @default 64 */
  keys?: number;
  /** @default 300 */
  recordsPerSecond?: number;
  /** Mean gap between faults (each gap drawn from 0.5–1.5 × this). @default 10000 */
  faultIntervalMs?: number;
  /** Load before the first fault. @default min(5000, durationMs / 4) */
  warmupMs?: number;
  /** The workers' consumer session timeout; a paused worker is held beyond it. @default 6000 */
  sessionTimeoutMs?: number;
  /** @default 100 */
  commitIntervalMs?: number;
  /** How long the app may take to process all input after the faults. @default 120000 */
  drainTimeoutMs?: number;
  /** Where to write `chaos-<scenario>-<seed>.json` and `.txt`. @default none */
  reportDir?: string;
  /** Progress lines (records produced/processed/verified, faults). @default none */
  progress?: (line: string) => void;
  /** Aborting stops the run early: it heals, cleans up and reports `interrupted`. */
  signal?: AbortSignal;
}

interface CompiledOptions {
  scenario: ChaosScenario;
  durationMs: number;
  workers: number;
  brokers: number;
  seed: number;
  app: ChaosApp;
  verifier: Verifier;
  partitions: number;
  /** Every output role's partition count. */
  outputPartitions: Record<string, number>;
  keys: number;
  recordsPerSecond: number;
  faultIntervalMs: number;
  warmupMs: number;
  sessionTimeoutMs: number;
  commitIntervalMs: number;
  drainTimeoutMs: number;
}

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(`ChaosOptions.${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

export function compileChaosOptions(o: ChaosOptions): CompiledOptions {
  const scenario = typeof o.scenario === 'string' ? findScenario(o.scenario) : o.scenario;
  const durationMs = positiveInt('durationMs', o.durationMs ?? 60_000, 1000);
  const workers = positiveInt('workers', o.workers ?? 3);
  if (workers < 2 && scenario.faults.includes('worker-pause'))
    throw new RangeError('ChaosOptions.workers must be ≥ 2 for worker pauses (zombies)');
  const app = o.app ?? aggregateApp;
  const partitions = positiveInt('partitions', o.partitions ?? 6);
  const outputPartitions: Record<string, number> = {};
  for (const role of app.outputs) {
    const count = app.outputPartitions?.[role] ?? partitions;
    outputPartitions[role] = positiveInt(
      `app.outputPartitions.${role}`,
      typeof count === 'number' ? count : count(partitions),
    );
  }
  for (const role of Object.keys(app.outputPartitions ?? {}))
    if (!app.outputs.includes(role))
      throw new RangeError(
        `ChaosOptions.app.outputPartitions names ${role}, which is no output role`,
      );
  return {
    scenario,
    durationMs,
    workers,
    brokers: positiveInt('brokers', o.cluster ? o.cluster.brokerIds.length || 1 : (o.brokers ?? 3)),
    seed: positiveInt('seed', o.seed ?? randomSeed(), 0),
    app,
    verifier: o.verifier ?? aggregateVerifier(),
    partitions,
    outputPartitions,
    keys: positiveInt('keys', o.keys ?? 64),
    recordsPerSecond: positiveInt('recordsPerSecond', o.recordsPerSecond ?? 300),
    faultIntervalMs: positiveInt('faultIntervalMs', o.faultIntervalMs ?? 10_000, 0),
    warmupMs: positiveInt('warmupMs', o.warmupMs ?? Math.min(5000, durationMs / 4), 0),
    sessionTimeoutMs: positiveInt('sessionTimeoutMs', o.sessionTimeoutMs ?? 6000, 1000),
    commitIntervalMs: positiveInt('commitIntervalMs', o.commitIntervalMs ?? 100),
    drainTimeoutMs: positiveInt('drainTimeoutMs', o.drainTimeoutMs ?? 120_000, 1000),
  };
}

const WORKER_START_TIMEOUT_MS = 120_000;
const READ_TIMEOUT_MS = 120_000;

/**
 * Runs one scenario and returns its report (also written to `reportDir`).
 * Resolves with verdict `fail` on violations, `error` when the run could not
 * complete, `interrupted` when `signal` aborted it; throws only for invalid
 * options.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const o = compileChaosOptions(options);
  if (options.cluster?.isExternal && needsBrokerControl(o.scenario))
    throw new RangeError(
      `scenario ${o.scenario.name} kills and pauses brokers: it needs a local KafkaCluster, not an external one`,
    );
  const run = new ChaosRun(o, options);
  const report = await run.execute();
  if (options.reportDir) writeReport(report, options.reportDir);
  return report;
}

class ChaosRun {
  private readonly abort = new AbortController();
  private readonly rng: Rng;
  private readonly started = Date.now();
  private readonly events: FaultEvent[] = [];
  private readonly workerExits: WorkerExitReport[] = [];
  private readonly violations: Violation[] = [];
  private readonly busy = new Set<number>();
  private readonly names: { appId: string; input: string; outputs: Record<string, string> };
  private phase = 'starting';
  private phaseStarted = Date.now();
  private readonly phases = { setupMs: 0, loadMs: 0, drainMs: 0, verifyMs: 0 };
  private loadStarted = 0;
  private verified = 0;
  private currentFault: string | undefined;
  private error: string | undefined;

  private cluster: KafkaCluster | undefined;
  private client: KafkaClient | undefined;
  private watchdog: RunWatchdog | undefined;
  private workers: WorkerPool | undefined;
  private workload: Workload | undefined;
  private workloadStats: WorkloadStats | undefined;
  private sampler: OffsetSampler | undefined;
  private supervising = false;
  private input: TopicRead | undefined;
  private outputs: Record<string, TopicRead> = {};
  private targets = new Map<number, bigint>();
  private drained = false;
  private ready: Promise<Error | undefined> = Promise.resolve(undefined);

  constructor(
    private readonly o: CompiledOptions,
    private readonly options: ChaosOptions,
  ) {
    this.rng = new Rng(o.seed);
    const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const appId = `chaos-${o.scenario.name}-${suffix}`;
    this.names = {
      appId,
      input: `${appId}-input`,
      outputs: Object.fromEntries(o.app.outputs.map((role) => [role, `${appId}-${role}`])),
    };
  }

  async execute(): Promise<ChaosReport> {
    const external = this.options.signal;
    const onAbort = (): void => this.abort.abort();
    if (external?.aborted) this.abort.abort();
    external?.addEventListener('abort', onAbort);
    // The hard bound: whatever hangs, the run ends (and cleans up) by then.
    this.armBound(this.o.durationMs + this.o.drainTimeoutMs + 8 * 60_000);
    const progress = setInterval(() => this.progress(), 2000);
    progress.unref();
    try {
      await this.setup();
      await this.load();
      await this.heal();
      await this.drain();
      await this.stopWorkers();
      await this.verify();
    } catch (err) {
      this.error ??= err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(this.bound);
      clearInterval(progress);
      external?.removeEventListener('abort', onAbort);
      await this.cleanup();
    }
    return this.report();
  }

  private bound: NodeJS.Timeout | undefined;

  private armBound(ms: number): void {
    clearTimeout(this.bound);
    this.bound = setTimeout(() => {
      this.error ??= 'the run exceeded its time bound';
      this.abort.abort();
    }, ms);
  }

  private get signal(): AbortSignal {
    return this.abort.signal;
  }

  private enter(phase: string): void {
    this.phase = phase;
    this.phaseStarted = Date.now();
    this.progress();
  }

  private checkAborted(): void {
    if (this.signal.aborted) throw new Error(this.error ?? 'interrupted');
  }

  private async setup(): Promise<void> {
    const o = this.o;
    const dir = mkdtempSync(join(tmpdir(), 'streamtx-chaos-'));
    this.watchdog = new RunWatchdog(dir);
    this.cluster =
      this.options.cluster ?? (await KafkaCluster.start({ brokers: o.brokers, baseDir: tmpdir() }));
    this.checkAborted();
    await this.healBrokers();
    const replicationFactor = Math.min(3, o.brokers);
    await this.cluster.createTopic(this.names.input, {
      partitions: o.partitions,
      replicationFactor,
    });
    for (const [role, topic] of Object.entries(this.names.outputs))
      await this.cluster.createTopic(topic, {
        partitions: o.outputPartitions[role] ?? o.partitions,
        replicationFactor,
      });
    // Changelogs too, as an operator would: workers starting together race
    // on creating them (one may list the topic before every broker knows it
    // and stop with "topic(s) do not exist"), and that start-up race is not
    // what a chaos run is about.
    for (const store of o.app.stores)
      await this.cluster.createTopic(changelogTopic(this.names.appId, store), {
        partitions: o.partitions,
        replicationFactor,
        config: { 'cleanup.policy': 'compact' },
      });
    this.client = await createKafkaClient({
      brokers: this.cluster.bootstrapServers,
      clientId: 'streamtx-chaos',
      logLevel: 'nothing',
      requestTimeoutMs: 10_000,
    });
    const env: Record<string, string> = {
      ...o.app.env,
      INPUT: this.names.input,
      APP_ID: this.names.appId,
      BROKERS: this.cluster.bootstrapServers.join(','),
      SESSION_TIMEOUT_MS: String(o.sessionTimeoutMs),
      COMMIT_INTERVAL_MS: String(o.commitIntervalMs),
      REPLICATION_FACTOR: String(replicationFactor),
    };
    for (const [role, topic] of Object.entries(this.names.outputs))
      env[role.toUpperCase().replace(/[^A-Z0-9]/g, '_')] = topic;
    this.workers = new WorkerPool(o.app.module, env, dir, this.watchdog);
    for (let i = 0; i < o.workers; i++) this.workers.add();
    // Workers start while the load begins: the warm-up overlaps their start-up.
    this.ready = Promise.all(
      this.workers.all.map((w) => w.waitForState('RUNNING', WORKER_START_TIMEOUT_MS)),
    ).then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    this.phases.setupMs = Date.now() - this.started;
  }

  private async load(): Promise<void> {
    const o = this.o;
    const cluster = this.cluster!;
    const client = this.client!;
    this.enter('load');
    this.loadStarted = Date.now();
    this.sampler = new OffsetSampler(client, this.names.appId, this.names.input);
    this.workload = new Workload(client, {
      topic: this.names.input,
      recordsPerSecond: o.recordsPerSecond,
      keys: o.keys,
      abortingTransactionalId: `${this.names.appId}-workload-aborts`,
    });
    const supervisor = this.supervise();
    try {
      const ctx: FaultContext = {
        cluster,
        workers: this.workers!,
        busy: this.busy,
        rng: this.rng,
        appId: this.names.appId,
        input: this.names.input,
        partitions: o.partitions,
        sessionTimeoutMs: o.sessionTimeoutMs,
        workerStartTimeoutMs: WORKER_START_TIMEOUT_MS,
        signal: this.signal,
      };
      const end = this.loadStarted + o.durationMs;
      await hold(Math.min(o.warmupMs, o.durationMs), this.signal);
      const failed = await this.ready;
      if (failed) throw failed;
      let bag: FaultKind[] = [];
      // At least one fault, however slowly the workers started (none for a fault-free scenario).
      const faulty = o.scenario.faults.length > 0;
      while (faulty && !this.signal.aborted && (this.events.length === 0 || Date.now() < end)) {
        if (bag.length === 0) bag = this.rng.shuffle(o.scenario.faults);
        const kind = bag.shift()!;
        this.currentFault = kind;
        this.progress();
        this.events.push(await injectFault(kind, ctx));
        this.currentFault = undefined;
        const gap = o.faultIntervalMs * this.rng.between(0.5, 1.5);
        await hold(Math.max(0, Math.min(gap, end - Date.now())), this.signal);
      }
      // Load until the end, and for a while after the last fault healed.
      await hold(Math.max(3000, end - Date.now()), this.signal);
    } finally {
      this.workloadStats = await this.workload.stop();
      this.phases.loadMs = Date.now() - this.loadStarted;
      this.supervising = false;
      await supervisor;
    }
    this.checkAborted();
  }

  /**
   * Restarts workers that exited when no fault asked them to (as a process
   * supervisor would), so the run goes on and its output is still judged —
   * but each such exit is a violation: a worker that dies on its own is a
   * failure of the library, even when the output stays exact.
   */
  private async supervise(): Promise<void> {
    this.supervising = true;
    while (this.supervising && !this.signal.aborted) {
      const pool = this.workers!;
      for (let i = 0; i < pool.size; i++) {
        const w = pool.worker(i);
        if (this.busy.has(i) || w.running) continue;
        const exit = {
          worker: w.name,
          at: new Date().toISOString(),
          how: w.exitDescription,
          stderrTail: w.stderrTail.slice(-4000),
        };
        this.workerExits.push(exit);
        this.violations.push({
          kind: 'worker-exit',
          message: `worker ${exit.worker} exited on its own (${exit.how}) at ${exit.at.slice(11, 23)}, when no fault asked it to`,
          count: 1,
          examples: lastLines(exit.stderrTail, 12),
        });
        pool.restart(i);
      }
      await hold(1000, this.signal);
    }
  }

  private async healBrokers(): Promise<void> {
    const cluster = this.cluster;
    if (!cluster || cluster.isExternal) return;
    for (const id of cluster.brokerIds) {
      const state = cluster.brokerState(id);
      if (state === 'paused') cluster.resume(id);
      if (state === 'stopped') await cluster.restart(id);
    }
  }

  /** After the faults: every broker and worker up again. */
  private async heal(): Promise<void> {
    this.enter('healing');
    await this.healBrokers();
    const pool = this.workers!;
    for (let i = 0; i < pool.size; i++) {
      const w = pool.worker(i);
      if (w.paused) w.resume();
      if (!w.running) pool.restart(i);
    }
  }

  /** Waits until the app's committed offsets reach the last input record of every partition. */
  private async drain(): Promise<void> {
    this.enter('draining');
    const client = this.client!;
    const started = Date.now();
    this.input = await readTopic(client, this.names.input, {
      timeoutMs: READ_TIMEOUT_MS,
      uncommitted: true,
    });
    for (const r of this.input.committed) {
      const next = BigInt(r.offset) + 1n;
      if (next > (this.targets.get(r.partition) ?? 0n)) this.targets.set(r.partition, next);
    }
    const supervisor = this.supervise();
    const lagging = async (): Promise<string[]> => {
      const committed = await client.admin.committedOffsets(this.names.appId, this.names.input);
      return [...this.targets]
        .filter(([p, target]) => (committed.get(p) ?? 0n) < target)
        .map(
          ([p, target]) =>
            `${this.names.input}-${p}: committed ${committed.get(p) ?? 'none'} of ${target}`,
        );
    };
    try {
      await waitFor(
        async () => {
          this.checkAborted();
          return (await lagging().catch(() => ['?'])).length === 0;
        },
        { timeoutMs: this.o.drainTimeoutMs, intervalMs: 250, what: 'the app to process all input' },
      );
      this.drained = true;
    } catch (err) {
      this.checkAborted();
      const lag = await lagging().catch(() => []);
      this.violations.push({
        kind: 'stalled',
        message: `the app did not process all input within ${this.o.drainTimeoutMs} ms of the last fault (${(err as Error).message})`,
        count: lag.length,
        examples: lag.slice(0, 5),
      });
    } finally {
      this.supervising = false;
      await supervisor;
      this.phases.drainMs = Date.now() - started;
      await this.sampler?.stop();
    }
  }

  private async stopWorkers(): Promise<void> {
    this.enter('stopping workers');
    await this.workers!.stopAll(30_000);
  }

  private async verify(): Promise<void> {
    this.enter('verifying');
    const started = Date.now();
    // Verification reads every topic twice: its bound grows with the input
    // (a 30-minute soak at 3 000 records/s leaves 5.4 M input records and more output).
    this.armBound(8 * 60_000 + (this.input?.committed.length ?? 0) / 5);
    const client = this.client!;
    const read = (topic: string, uncommitted: boolean): Promise<TopicRead> =>
      readTopic(client, topic, { timeoutMs: READ_TIMEOUT_MS, uncommitted });
    for (const [role, topic] of Object.entries(this.names.outputs))
      this.outputs[role] = await read(topic, true);
    const changelogs: Record<string, TopicRead> = {};
    for (const store of this.o.app.stores)
      changelogs[store] = await read(changelogTopic(this.names.appId, store), false);
    const data: VerificationData = { input: this.input!, outputs: this.outputs, changelogs };
    // The harness's own producers first: the app is judged against the
    // input as it is, so an input they got wrong is a streamtx bug apart.
    this.violations.push(...verifyWorkloadInput(this.input!, this.workload!.ledger()));
    try {
      this.violations.push(...(await this.o.verifier.verify(data)));
    } catch (err) {
      this.violations.push({
        kind: 'harness',
        message: `verifier ${this.o.verifier.name} threw: ${(err as Error).message}`,
        count: 1,
        examples: [],
      });
    }
    this.verified = this.input!.committed.length;
    this.phases.verifyMs = Date.now() - started;
    this.enter('done');
  }

  private async cleanup(): Promise<void> {
    this.supervising = false;
    this.abort.abort(); // ends any hold still running
    await this.workload?.stop().catch(() => undefined);
    await this.sampler?.stop().catch(() => undefined);
    await this.workers?.killAll().catch(() => undefined);
    await this.client?.close().catch(() => undefined);
    if (this.options.cluster) {
      // A shared cluster is left whole for the next run.
      await this.healBrokers().catch(() => undefined);
    } else {
      await this.cluster?.stop().catch(() => undefined);
    }
    await this.watchdog?.close().catch(() => undefined);
  }

  private progress(): void {
    const write = this.options.progress;
    if (!write) return;
    const elapsed = this.loadStarted ? (Date.now() - this.loadStarted) / 1000 : 0;
    const produced = this.workloadStats?.attempted ?? this.workload?.stats.attempted ?? 0;
    const processed = this.sampler?.processed ?? 0;
    const workers = this.workers?.all.filter((w) => w.running && !w.paused).length ?? 0;
    const brokers =
      this.cluster && !this.cluster.isExternal
        ? this.cluster.brokerIds.filter((id) => this.cluster!.brokerState(id) === 'running').length
        : this.o.brokers;
    const phase =
      this.phase === 'load'
        ? `${elapsed.toFixed(0)}s/${(this.o.durationMs / 1000).toFixed(0)}s`
        : `${this.phase} ${((Date.now() - this.phaseStarted) / 1000).toFixed(0)}s`;
    write(
      `chaos ${this.o.scenario.name} ${phase} | produced ${produced} processed ${processed} verified ${this.verified}` +
        ` | faults ${this.events.length}${this.currentFault ? ` (${this.currentFault} now)` : ''}` +
        ` | workers ${workers}/${this.o.workers} brokers ${brokers}/${this.o.brokers}` +
        (this.violations.length ? ` | VIOLATIONS ${this.violations.length}` : ''),
    );
  }

  private report(): ChaosReport {
    const o = this.o;
    const samples = this.sampler?.samples ?? [];
    const faults: FaultReport[] = this.events.map((e) => {
      const f: FaultReport = {
        kind: e.kind,
        target: e.target,
        at: new Date(e.injectedAt).toISOString(),
        offsetMs: e.injectedAt - this.loadStarted,
        durationMs: e.healedAt - e.startedAt,
        recoveryMs: recoveryTime(samples, e.injectedAt, this.targets),
        detail: e.detail,
      };
      if (e.error) f.error = e.error;
      return f;
    });
    const recovered = faults.flatMap((f) => (f.recoveryMs === null ? [] : [f.recoveryMs]));
    const stats = this.workloadStats ?? this.workload?.stats;
    const lastSample = samples.at(-1);
    const processedOffsets = [...(lastSample?.committed.values() ?? [])].reduce(
      (a, b) => a + Number(b),
      0,
    );
    const loadSecs = Math.max(1, this.phases.loadMs) / 1000;
    const processingSecs = Math.max(1, this.phases.loadMs + this.phases.drainMs) / 1000;
    const aborted = (read: TopicRead): number => {
      const committed = new Set(read.committed.map((r) => `${r.partition}@${r.offset}`));
      return read.uncommitted.filter((r) => !committed.has(`${r.partition}@${r.offset}`)).length;
    };
    const duplicated = (read: TopicRead): number =>
      read.committed.length - new Set(read.committed.map((r) => r.value)).size;
    const interrupted = this.options.signal?.aborted === true;
    const verdict = this.violations.length
      ? 'fail'
      : interrupted
        ? 'interrupted'
        : this.error !== undefined || this.phase !== 'done'
          ? 'error'
          : 'pass';
    const report: ChaosReport = {
      scenario: o.scenario.name,
      seed: o.seed,
      verdict,
      startedAt: new Date(this.started).toISOString(),
      finishedAt: new Date().toISOString(),
      wallMs: Date.now() - this.started,
      config: {
        durationMs: o.durationMs,
        workers: o.workers,
        brokers: o.brokers,
        partitions: o.partitions,
        outputPartitions: o.outputPartitions,
        keys: o.keys,
        recordsPerSecond: o.recordsPerSecond,
        faultIntervalMs: o.faultIntervalMs,
        sessionTimeoutMs: o.sessionTimeoutMs,
        app: o.app.module,
        verifier: o.verifier.name,
        applicationId: this.names.appId,
        input: this.names.input,
        outputs: this.names.outputs,
      },
      records: {
        attempted: stats?.attempted ?? 0,
        acknowledged: stats?.acknowledged ?? 0,
        failedBatches: stats?.failedBatches ?? 0,
        abortedAttempted: stats?.abortedAttempted ?? 0,
        committedInput: this.input?.committed.length ?? 0,
        duplicatedInput: this.input ? duplicated(this.input) : 0,
        abortedInput: this.input ? aborted(this.input) : 0,
        processedOffsets,
        verified: this.verified,
        outputs: Object.fromEntries(
          Object.entries(this.outputs).map(([role, read]) => [
            role,
            { committed: read.committed.length, aborted: aborted(read) },
          ]),
        ),
      },
      throughput: {
        producedPerSec: (stats?.attempted ?? 0) / loadSecs,
        processedPerSec: (this.input?.committed.length ?? processedOffsets) / processingSecs,
      },
      faults,
      recovery: {
        maxMs: recovered.length ? Math.max(...recovered) : null,
        meanMs: recovered.length
          ? Math.round(recovered.reduce((a, b) => a + b, 0) / recovered.length)
          : null,
        unrecovered: faults.length - recovered.length,
      },
      workerExits: this.workerExits,
      drained: this.drained,
      phases: this.phases,
      violations: this.violations,
      replay:
        `npx streamtx chaos run --scenario ${o.scenario.name} --seed ${o.seed} --duration ${Math.round(o.durationMs / 1000)}s ` +
        `--workers ${o.workers} --brokers ${o.brokers}` +
        (o.app === aggregateApp ? '' : ` --app ${o.app.module}`),
    };
    if (this.error !== undefined) report.error = this.error;
    return report;
  }
}

/** The last `n` non-empty lines of a text, for a report. */
function lastLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-n);
}

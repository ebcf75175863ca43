/**
 * Fault injectors. Each injects one fault, holds it, heals it (restarts,
 * resumes) and says when the damage was done: recovery time is measured
 * from `injectedAt`. Faults run one at a time, so the cluster never loses
 * two brokers at once (with replication 3 and min.insync.replicas 2 one
 * broker down is survivable; two would only stall the run).
 */
import type { KafkaCluster } from '../../testkit/index.ts';
import { waitFor } from '../../testkit/index.ts';
import type { FaultKind } from '../scenarios.ts';
import type { Rng } from './rng.ts';
import type { WorkerPool } from './workers.ts';

export interface FaultContext {
  cluster: KafkaCluster;
  workers: WorkerPool;
  /** Worker slots a fault is working on: the supervisor leaves them alone. */
  busy: Set<number>;
  rng: Rng;
  appId: string;
  input: string;
  partitions: number;
  sessionTimeoutMs: number;
  workerStartTimeoutMs: number;
  signal: AbortSignal;
}

export interface FaultEvent {
  kind: FaultKind;
  /** What was hit, e.g. `worker w1.0`, `broker 2 (leader of in-3)`. */
  target: string;
  /** Epoch ms: the fault began. */
  startedAt: number;
  /** Epoch ms: the damage was done (the kill, the pause, the crash). */
  injectedAt: number;
  /** Epoch ms: the target was back (restarted, resumed, rejoined). */
  healedAt: number;
  detail: string;
  /** The fault could not be injected or healed as planned. */
  error?: string;
}

/** Holding a fault for a while (not synchronising); ends early when the run is aborted. */
export function hold(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

const CRASH_POINTS = {
  'worker-crash-after-sends': 'after-sends-before-offsets',
  'worker-crash-after-offsets': 'after-offsets-before-commit',
  'worker-crash-after-kafka-commit': 'after-kafka-commit-before-store-commit',
} as const;

export async function injectFault(kind: FaultKind, ctx: FaultContext): Promise<FaultEvent> {
  const event: FaultEvent = {
    kind,
    target: '',
    startedAt: Date.now(),
    injectedAt: Date.now(),
    healedAt: Date.now(),
    detail: '',
  };
  try {
    switch (kind) {
      case 'worker-kill':
        await workerKill(ctx, event);
        break;
      case 'worker-pause':
        await workerPause(ctx, event);
        break;
      case 'worker-crash-after-sends':
      case 'worker-crash-after-offsets':
      case 'worker-crash-after-kafka-commit':
        await workerCrash(ctx, event, CRASH_POINTS[kind]);
        break;
      case 'broker-kill':
        await brokerKill(ctx, event, ctx.rng.pick(runningBrokers(ctx.cluster)), '');
        break;
      case 'leader-kill': {
        const partition = ctx.rng.int(ctx.partitions);
        const leader = await ctx.cluster.leaderOf(ctx.input, partition);
        await brokerKill(ctx, event, leader, ` (leader of ${ctx.input}-${partition})`);
        break;
      }
      case 'coordinator-kill': {
        const task = `0_${ctx.rng.int(ctx.partitions)}`;
        const txnId = `${ctx.appId}-${task}`;
        const coordinator = await ctx.cluster.transactionCoordinatorOf(txnId);
        await brokerKill(ctx, event, coordinator, ` (transaction coordinator of ${txnId})`);
        break;
      }
      case 'rolling-restart':
        await rollingRestart(ctx, event);
        break;
      case 'broker-pause':
        await brokerPause(ctx, event);
        break;
    }
  } catch (err) {
    event.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
  event.healedAt = Date.now();
  return event;
}

function runningBrokers(cluster: KafkaCluster): number[] {
  const ids = cluster.brokerIds.filter((id) => cluster.brokerState(id) === 'running');
  if (ids.length === 0) throw new Error('no broker is running');
  return ids;
}

/** A worker slot to hit: a running one not being worked on. */
function pickWorker(ctx: FaultContext): number {
  const candidates = Array.from({ length: ctx.workers.size }, (_, i) => i).filter(
    (i) => !ctx.busy.has(i) && ctx.workers.worker(i).running,
  );
  if (candidates.length === 0) throw new Error('no running worker to hit');
  const slot = ctx.rng.pick(candidates);
  ctx.busy.add(slot);
  return slot;
}

async function restartWorker(ctx: FaultContext, slot: number): Promise<void> {
  const w = ctx.workers.restart(slot);
  await w.waitForState('RUNNING', ctx.workerStartTimeoutMs);
}

async function workerKill(ctx: FaultContext, event: FaultEvent): Promise<void> {
  const slot = pickWorker(ctx);
  try {
    const w = ctx.workers.worker(slot);
    event.target = `worker ${w.name}`;
    const downMs = Math.round(ctx.rng.between(500, 3000));
    await w.kill();
    event.injectedAt = Date.now();
    event.detail = `SIGKILL, restarted after ${downMs} ms`;
    await hold(downMs, ctx.signal);
    await restartWorker(ctx, slot);
  } finally {
    ctx.busy.delete(slot);
  }
}

async function workerPause(ctx: FaultContext, event: FaultEvent): Promise<void> {
  const slot = pickWorker(ctx);
  const w = ctx.workers.worker(slot);
  try {
    event.target = `worker ${w.name}`;
    const pausedMs = Math.round(ctx.sessionTimeoutMs + ctx.rng.between(1000, 4000));
    w.pause();
    event.injectedAt = Date.now();
    event.detail = `SIGSTOP for ${pausedMs} ms (session timeout ${ctx.sessionTimeoutMs} ms), then SIGCONT`;
    await hold(pausedMs, ctx.signal);
  } finally {
    w.resume();
    ctx.busy.delete(slot);
  }
}

async function workerCrash(
  ctx: FaultContext,
  event: FaultEvent,
  point: (typeof CRASH_POINTS)[keyof typeof CRASH_POINTS],
): Promise<void> {
  const slot = pickWorker(ctx);
  try {
    const old = ctx.workers.worker(slot);
    // The hook is armed at start-up: the worker is replaced (gracefully) by
    // one that SIGKILLs itself the n-th time it reaches the point.
    const nth = 2 + ctx.rng.int(10);
    await old.stop();
    const armed = ctx.workers.restart(slot, { STREAMTX_FAULT_INJECTION: `${point}:${nth}` });
    event.target = `worker ${armed.name}`;
    await Promise.race([armed.exited, hold(60_000, ctx.signal)]);
    if (armed.running) {
      await armed.stop();
      event.detail = `armed at ${point}:${nth}, did not reach it within 60 s`;
      event.error = event.detail;
    } else {
      event.injectedAt = Date.now();
      event.detail = `SIGKILLed itself at ${point} (#${nth}) (${armed.exitDescription}), restarted`;
    }
    await restartWorker(ctx, slot);
  } finally {
    ctx.busy.delete(slot);
  }
}

async function brokerKill(
  ctx: FaultContext,
  event: FaultEvent,
  id: number,
  why: string,
): Promise<void> {
  if (id < 0 || ctx.cluster.brokerState(id) !== 'running')
    throw new Error(`broker ${id}${why} is not running`);
  event.target = `broker ${id}${why}`;
  const downMs = Math.round(ctx.rng.between(2000, 6000));
  await ctx.cluster.kill(id);
  event.injectedAt = Date.now();
  event.detail = `SIGKILL, restarted after ${downMs} ms`;
  await hold(downMs, ctx.signal);
  await ctx.cluster.restart(id);
}

async function rollingRestart(ctx: FaultContext, event: FaultEvent): Promise<void> {
  const order = ctx.rng.shuffle(ctx.cluster.brokerIds);
  event.target = `brokers ${order.join(', ')}`;
  event.detail = 'controlled shutdown and restart of each broker in turn';
  for (const [i, id] of order.entries()) {
    if (i === 0) event.injectedAt = Date.now();
    await ctx.cluster.restart(id);
    // Let the restarted broker's replicas catch up before the next one goes
    // (what an operator waits for: no under-replicated partitions).
    await hold(3000, ctx.signal);
  }
}

async function brokerPause(ctx: FaultContext, event: FaultEvent): Promise<void> {
  const id = ctx.rng.pick(runningBrokers(ctx.cluster));
  const pausedMs = Math.round(ctx.rng.between(5000, 9000));
  event.target = `broker ${id}`;
  event.detail = `SIGSTOP for ${pausedMs} ms, then SIGCONT`;
  ctx.cluster.pause(id);
  event.injectedAt = Date.now();
  try {
    await hold(pausedMs, ctx.signal);
  } finally {
    ctx.cluster.resume(id);
  }
  await waitFor(
    async () => (await ctx.cluster.liveBrokerIds().catch((): number[] => [])).includes(id),
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: `broker ${id} back in the cluster metadata`,
    },
  );
}

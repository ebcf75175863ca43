/**
 * A standby task (Kafka Streams' StandbyTask): a copy of an active task's persistent stores
 * on another worker, kept current by tailing the task's changelogs (read_committed) into its
 * own SQLite files in the task's state directory, with their checkpoints. It never processes
 * input and never produces: it has no producer, no record collector and no processors — it
 * cannot write to Kafka by construction (its environment offers reads only). When the task
 * fails over to this worker, the active task opens the same directory and replays only the
 * tail from the standby's checkpoint (docs/architecture.md, "Standby replicas and
 * state-aware assignment").
 *
 * Lifecycle:
 *
 *   CREATED ──start()──▶ RUNNING (wait for the previous holder, open, tail rounds) ──close()──▶ CLOSED
 *
 * Only logged persistent stores (those whose builder reads a checkpoint from disk) are kept: an
 * in-memory copy would not survive the handover to the active task.
 */
import type { ConsumedRecord } from '../client/index.ts';
import { changelogTopic, taskStateDir } from '../names.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import type { StateStore, StoreBuilder } from '../processor.ts';
import type { Subtopology } from '../topology.ts';
import { replayChangelog } from './state-manager.ts';
import type { StateDirHolder } from './state-dir-holder.ts';
import { jobLimitMs } from './stream-task.ts';

/** Pause between tail rounds once caught up: the standby's lag is at most about this old. */
export const STANDBY_POLL_MS = 200;

export type StandbyState = 'CREATED' | 'RUNNING' | 'CLOSED';

/** What a standby needs from outside: changelog reads, and nothing that writes. */
export interface StandbyEnvironment {
  readonly options: CompiledStreamsAppOptions;
  changelogOffsets(topic: string, partition: number): Promise<{ beginning: bigint; end: bigint }>;
  readChangelog(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
  ): AsyncIterable<ConsumedRecord[]>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Records a tail round applied to a store (metrics: the standby's replay rate). */
  replayed?(event: { taskId: string; store: string; records: number }): void;
}

/** A standby store's position: the next changelog offset it lacks, and how far behind the end it is. */
export interface StandbyStoreLag {
  store: string;
  /** The store's checkpoint (next changelog offset to replay). */
  offset: bigint;
  /** Changelog end at the last round minus the checkpoint (records, markers included). */
  lag: number;
}

/** Whether a store builder makes a store a standby can keep: logged, with a file on disk. */
export function isStandbyStore(builder: StoreBuilder): boolean {
  return builder.loggingEnabled && builder.readCheckpoint !== undefined;
}

export class StandbyTask implements StateDirHolder {
  private stateValue: StandbyState = 'CREATED';
  private stopping = false;
  private readonly stores = new Map<string, StateStore>();
  private readonly lags = new Map<string, StandbyStoreLag>();
  private wake: (() => void) | undefined;
  private resolveStop!: () => void;
  /** Resolves when close() or forceClose() is called. */
  private readonly stop = new Promise<void>((resolve) => (this.resolveStop = resolve));
  private loop: Promise<void> | undefined;
  private resolveClosed!: () => void;
  /** Changelog records applied over the standby's life. */
  replayedRecords = 0;
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    readonly id: string,
    readonly partition: number,
    private readonly subtopology: Subtopology,
    private readonly env: StandbyEnvironment,
    /** The previous holder of the task's state directory on this worker, if still closing. */
    private readonly previous?: StateDirHolder,
  ) {}

  get state(): StandbyState {
    return this.stateValue;
  }

  /** Per store: checkpoint and lag as of the last round (empty until the stores are open). */
  get storeLags(): StandbyStoreLag[] {
    return [...this.lags.values()];
  }

  /** Sum of the stores' checkpoints: what the worker reports to the assignment. */
  get offsetSum(): bigint | undefined {
    if (this.stateValue !== 'RUNNING' || this.stores.size === 0) return undefined;
    let sum = 0n;
    for (const store of this.stores.values()) sum += store.checkpoint?.() ?? 0n;
    return sum;
  }

  /** An open store of the standby, for interactive queries on stale replicas. */
  store(name: string): StateStore | undefined {
    return this.stateValue === 'RUNNING' ? this.stores.get(name) : undefined;
  }

  /** Starts tailing in the background; failures are logged and retried, never thrown. */
  start(): void {
    if (this.stateValue !== 'CREATED') return;
    this.stateValue = 'RUNNING';
    this.loop = this.run();
  }

  /** Stops after the current batch and releases the stores. */
  async close(): Promise<void> {
    this.stopping = true;
    this.resolveStop();
    this.wake?.();
    if (this.loop === undefined) this.release();
    await this.closed;
  }

  forceClose(): void {
    this.stopping = true;
    this.resolveStop();
    this.wake?.();
    this.release();
  }

  private async run(): Promise<void> {
    let failures = 0;
    try {
      await this.awaitPrevious();
      while (!this.stopping) {
        let applied = 0;
        try {
          if (this.stores.size === 0) await this.open();
          applied = await this.round();
          failures = 0;
        } catch (err) {
          if (this.stopping) break; // closed under a read: nothing to report
          failures++;
          this.env.log(
            'warn',
            `standby ${this.id}: tailing its changelogs failed (${messageOf(err)}); retrying`,
          );
          await this.closeStores(); // reopened next round: a failed batch left nothing half-applied
        }
        // Behind: go on at once; caught up or failing: wait (interrupted by close).
        const waitMs = failures > 0 ? Math.min(5000, 100 * 2 ** failures) : STANDBY_POLL_MS;
        if (applied === 0 || failures > 0) await this.pause(waitMs);
      }
    } finally {
      this.release();
    }
  }

  private async open(): Promise<void> {
    const { applicationId, stateDir } = this.env.options;
    const dir = taskStateDir(stateDir, applicationId, this.id);
    for (const [name, builder] of this.subtopology.stores) {
      if (!isStandbyStore(builder)) continue;
      const store = builder.build();
      this.stores.set(name, store); // registered before init, so a failing init still closes it
      // No logChange: a standby's stores never write a changelog.
      await store.init({
        applicationId,
        taskId: this.id,
        stateDir: dir,
        partition: this.partition,
      });
    }
  }

  /** One pass over the stores: replay each changelog's tail. Returns the records applied. */
  private async round(): Promise<number> {
    const { applicationId } = this.env.options;
    let applied = 0;
    for (const [name, store] of this.stores) {
      if (this.stopping) break;
      const topic = changelogTopic(applicationId, name);
      const result = await replayChangelog(
        {
          taskId: this.id,
          partition: this.partition,
          name,
          store,
          topic,
          env: this.env,
          quiet: true,
        },
        undefined,
        () => this.stopping,
      );
      applied += result.restored;
      this.replayedRecords += result.restored;
      if (result.restored > 0)
        this.env.replayed?.({ taskId: this.id, store: name, records: result.restored });
      const offset = store.checkpoint?.() ?? 0n;
      const lag = result.end - offset;
      this.lags.set(name, { store: name, offset, lag: Number(lag > 0n ? lag : 0n) });
    }
    return applied;
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => (this.wake = undefined));
  }

  /** Waits for the previous holder (e.g. the active task revoked here) to release the stores. */
  private async awaitPrevious(): Promise<void> {
    const previous = this.previous;
    if (previous === undefined || previous.state === 'CLOSED') return;
    const limitMs = jobLimitMs(this.env.options.transactionTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      previous.closed.then(() => false),
      this.stop.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limitMs))),
    ]).finally(() => clearTimeout(timer));
    if (timedOut && !this.stopping) {
      this.env.log(
        'warn',
        `standby ${this.id}: the task's previous holder did not close within ${limitMs} ms; releasing its stores`,
      );
      previous.forceClose();
    }
  }

  private async closeStores(): Promise<void> {
    for (const store of this.stores.values())
      await Promise.resolve()
        .then(() => store.close())
        .catch(() => undefined);
    this.stores.clear();
  }

  private release(): void {
    if (this.stateValue === 'CLOSED') return;
    this.stateValue = 'CLOSED';
    for (const store of this.stores.values()) {
      try {
        void store.close();
      } catch {
        // closing is best effort; the files stay consistent (every batch is one SQLite transaction)
      }
    }
    this.stores.clear();
    this.resolveClosed();
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

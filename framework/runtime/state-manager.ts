/**
 * The state manager (Kafka Streams' ProcessorStateManager): builds and opens
 * a task's stores, routes their changes to their changelogs through the
 * record collector, restores them from the changelog after the task has
 * fenced, and drives the store side of the commit cycle — begin with the
 * Kafka transaction, commit (with the changelog offset the state reflects)
 * only after the Kafka commit, roll back on abort (docs/architecture.md,
 * "State and recovery without wiping").
 */
import type { ConsumedRecord } from '../client/index.ts';
import { changelogTopic, taskStateDir } from '../names.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import type { StateStore, StoreBuilder } from '../processor.ts';
import type { TaskTelemetry } from '../telemetry.ts';
import type { RecordCollector } from './record-collector.ts';

export interface RestoreEvent {
  taskId: string;
  store: string;
  /** Changelog records replayed so far. */
  restored: number;
  /** Changelog records to replay (end − start offset; markers and compaction make it an upper bound). */
  total: number;
  done: boolean;
  /** Why the local state was not trusted and is rebuilt from the changelog start, if it was not. */
  rebuildReason?: string;
}

/** What the state manager needs of the task's environment. */
export interface StateEnvironment {
  readonly options: CompiledStreamsAppOptions;
  /** First and end (read_committed) offsets of a changelog partition, read after fencing. */
  changelogOffsets(topic: string, partition: number): Promise<{ beginning: bigint; end: bigint }>;
  /** Committed changelog records in [from, until), in batches. */
  readChangelog(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
  ): AsyncIterable<ConsumedRecord[]>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Restore progress, per store: at the start, after each batch, at the end. */
  restoring?(event: RestoreEvent): void;
}

export class StateManager {
  private readonly storesByName = new Map<string, StateStore>();
  /** Changelog topic per logged store. */
  private readonly changelogs = new Map<string, string>();
  /** Changelog records replayed into each store at open (for tests and logs). */
  readonly restoredRecords = new Map<string, number>();

  constructor(
    private readonly taskId: string,
    private readonly partition: number,
    private readonly builders: ReadonlyMap<string, StoreBuilder>,
    private readonly env: StateEnvironment,
    private readonly collector: RecordCollector,
    private readonly telemetry: TaskTelemetry,
    /** The current record's timestamp, which stamps changelog records (-1 when none). */
    private readonly currentTimestamp: () => number,
  ) {}

  get stores(): ReadonlyMap<string, StateStore> {
    return this.storesByName;
  }

  store(name: string): StateStore | undefined {
    return this.storesByName.get(name);
  }

  /** Builds, opens and restores every store. Call only after the task has fenced (invariant 2). */
  async open(): Promise<void> {
    const { applicationId, stateDir } = this.env.options;
    const dir = taskStateDir(stateDir, applicationId, this.taskId);
    for (const [name, builder] of this.builders) {
      const store = builder.build();
      const logged = builder.loggingEnabled;
      const topic = changelogTopic(applicationId, name);
      // Registered before init, so a failing init still gets the store closed.
      this.storesByName.set(name, store);
      await store.init({
        applicationId,
        taskId: this.taskId,
        stateDir: dir,
        partition: this.partition,
        logChange: logged
          ? (_store, key, value, timestamp) => {
              // Kafka Streams stamps a change with the record's time that caused it.
              const now = this.currentTimestamp();
              this.collector.logChange(topic, key, value, now >= 0 ? now : timestamp);
            }
          : undefined,
      });
      if (logged) {
        this.changelogs.set(name, topic);
        this.collector.trackChangelog(topic);
        await this.restore(name, store, topic);
      }
    }
  }

  /** The Kafka transaction began: store writes are provisional from here. */
  begin(): void {
    for (const store of this.storesByName.values()) store.beginTransaction?.();
  }

  /** The Kafka transaction committed: make the writes durable with the changelog offset they reflect. */
  async commit(): Promise<void> {
    for (const [name, store] of this.storesByName) {
      if (store.commitTransaction) {
        const topic = this.changelogs.get(name);
        store.commitTransaction(
          topic === undefined ? undefined : this.collector.changelogOffset(topic),
        );
      } else await store.flush?.();
    }
  }

  /** The Kafka transaction aborted (or its outcome is unknown): the stores keep none of its writes. */
  rollback(): void {
    for (const store of this.storesByName.values()) {
      try {
        store.rollbackTransaction?.();
      } catch {
        // closing rolls back too
      }
    }
  }

  async close(): Promise<void> {
    for (const store of this.storesByName.values())
      await Promise.resolve()
        .then(() => store.close())
        .catch(() => undefined);
    this.storesByName.clear();
  }

  /**
   * Replays the changelog from the store's checkpoint to the end (replayChangelog). The task
   * fenced first, so its own last transaction is resolved and the end is stable.
   */
  private async restore(name: string, store: StateStore, topic: string): Promise<void> {
    let scope: ReturnType<TaskTelemetry['restore']> | undefined;
    let sofar = 0;
    try {
      const { restored } = await replayChangelog(
        { taskId: this.taskId, partition: this.partition, name, store, topic, env: this.env },
        (restored, total, done, rebuildReason) => {
          sofar = restored;
          if (scope === undefined) scope = this.telemetry.restore(name, topic, total);
          if (done) scope?.end(restored);
          else scope?.progress(restored);
          this.env.restoring?.({
            taskId: this.taskId,
            store: name,
            restored,
            total,
            done,
            ...(rebuildReason ? { rebuildReason } : {}),
          });
        },
      );
      this.restoredRecords.set(name, restored);
    } catch (err) {
      scope?.end(sofar, err);
      throw err;
    }
  }
}

/** One store's changelog replay: where it is and what it reads from. */
export interface ReplayTarget {
  taskId: string;
  partition: number;
  name: string;
  store: StateStore;
  topic: string;
  env: Pick<StateEnvironment, 'changelogOffsets' | 'readChangelog' | 'log'>;
  /** Log the replay at debug level (a standby's rounds), not info. */
  quiet?: boolean;
}

export interface ReplayResult {
  /** Changelog records applied. */
  restored: number;
  /** The end (read_committed) read up to, unless stopped first. */
  end: bigint;
  /** Whether the store was wiped and rebuilt from the changelog start. */
  rebuilt: boolean;
}

/**
 * Replays a store's changelog (read_committed) from its checkpoint to the current end — the
 * restore of a task that starts, and each round of a standby's tail. A store is rebuilt from
 * the changelog start only when its local state cannot be trusted, never because the last
 * shutdown was unclean. `progress` is told at the start, after each batch and at the end;
 * `stopped` is asked between batches (a standby that closes stops mid-way, its checkpoint
 * where the last applied batch left it).
 */
export async function replayChangelog(
  target: ReplayTarget,
  progress?: (restored: number, total: number, done: boolean, rebuildReason?: string) => void,
  stopped?: () => boolean,
): Promise<ReplayResult> {
  const { taskId, partition, name, store, topic, env } = target;
  const { beginning, end } = await env.changelogOffsets(topic, partition);
  let from = store.checkpoint?.();
  let rebuildReason: string | undefined;
  if (from === undefined) {
    // A new store on an empty changelog has nothing to explain; an
    // in-memory store always starts empty.
    rebuildReason =
      store.persistent && end > beginning
        ? 'no local state to resume from (a new or emptied state directory, no recorded changelog offset, or a schema mismatch)'
        : undefined;
  } else if (from < beginning) {
    rebuildReason = `its checkpoint ${from} is before the changelog start ${beginning} (the changelog was truncated)`;
  } else if (from > end) {
    rebuildReason = `its checkpoint ${from} is past the changelog end ${end} (the changelog was deleted or recreated)`;
  }
  const rebuilt = from === undefined || rebuildReason !== undefined;
  if (rebuilt) {
    if (rebuildReason)
      env.log(
        'warn',
        `task ${taskId}: rebuilding store ${name} from ${topic}-${partition}: ${rebuildReason}`,
      );
    store.wipe?.();
    from = beginning;
  }
  const start = from!;
  const total = Number(end - start);
  let restored = 0;
  progress?.(restored, total, false, rebuildReason);
  let reached = start;
  if (start < end) {
    for await (const batch of env.readChangelog(topic, partition, start, end)) {
      if (stopped?.()) break;
      if (batch.length === 0) continue;
      reached = batch[batch.length - 1]!.offset + 1n;
      store.restoreBatch?.(
        batch.map((r) => ({ key: r.key ?? Buffer.alloc(0), value: r.value })),
        reached,
      );
      restored += batch.length;
      progress?.(restored, total, false, rebuildReason);
    }
    // Past the last record lie only transaction markers (or compacted gaps): the state is
    // complete up to `end`, so the next replay starts there instead of re-reading them.
    if (!stopped?.() && reached < end && store.persistent) store.restoreBatch?.([], end);
  }
  progress?.(restored, total, true, rebuildReason);
  if (total > 0 && !stopped?.())
    env.log(
      target.quiet ? 'debug' : 'info',
      `task ${taskId}: restored ${restored} records into ${name} from ${topic}-${partition} [${start}, ${end})`,
    );
  return { restored, end, rebuilt };
}

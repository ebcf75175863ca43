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
   * Replays the changelog from the store's checkpoint to the end. The task
   * fenced first, so its own last transaction is resolved and the end is
   * stable. A store is rebuilt from the changelog start only when its local
   * state cannot be trusted — never because the last shutdown was unclean.
   */
  private async restore(name: string, store: StateStore, topic: string): Promise<void> {
    const { beginning, end } = await this.env.changelogOffsets(topic, this.partition);
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
    if (from === undefined || rebuildReason !== undefined) {
      if (rebuildReason)
        this.env.log(
          'warn',
          `task ${this.taskId}: rebuilding store ${name} from ${topic}-${this.partition}: ${rebuildReason}`,
        );
      store.wipe?.();
      from = beginning;
    }
    const total = Number(end - from);
    let restored = 0;
    const scope = this.telemetry.restore(name, topic, total);
    const progress = (done: boolean): void => {
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
    };
    progress(false);
    if (from < end) {
      try {
        for await (const batch of this.env.readChangelog(topic, this.partition, from, end)) {
          if (batch.length === 0) continue;
          store.restoreBatch?.(
            batch.map((r) => ({ key: r.key ?? Buffer.alloc(0), value: r.value })),
            batch[batch.length - 1]!.offset + 1n,
          );
          restored += batch.length;
          progress(false);
        }
      } catch (err) {
        scope?.end(restored, err);
        throw err;
      }
    }
    this.restoredRecords.set(name, restored);
    progress(true);
    if (total > 0)
      this.env.log(
        'info',
        `task ${this.taskId}: restored ${restored} records into ${name} from ${topic}-${this.partition} [${from}, ${end})`,
      );
  }
}

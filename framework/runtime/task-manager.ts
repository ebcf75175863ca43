/**
 * The task manager (Kafka Streams' TaskManager): turns the group's
 * assignment into running tasks, feeds them fetched batches, drives their
 * timers (wall-clock punctuation, commit interval, repartition purge), and
 * rebuilds failed ones (docs/architecture.md, "Task manager").
 *
 * Every operation on a task runs on the task's own serial queue, with a time
 * limit. A job that outlives it makes the manager give up on the task:
 * the task is abandoned (its dirty close queued behind the stuck job), and
 * its next incarnation fences the producer before it waits for that close —
 * so no abort ever runs while a send of the same task is in flight, and the
 * stuck job can no longer commit anything.
 *
 * Standby tasks (standby-task.ts) live here too: they come from the group's metadata (each
 * member recomputes the assignment), tail their changelogs on their own, and hand the task's
 * state directory over to the active task when the task moves here — every holder of a
 * directory waits for the previous one to close (state-dir-holder.ts).
 *
 * Failures, by class (invariant 4):
 * - TaskMigratedError: the task waits for the next rebalance (or a session
 *   timeout) before it is rebuilt, so a zombie does not fence the new owner back;
 * - TaskCorruptedError: rebuilt after a short backoff;
 * - anything else: fatal, the app stops.
 */
import type { ConsumedBatch, GroupConsumer, TopicPartition } from '../client/index.ts';
import { StreamsError, TaskCorruptedError, TaskMigratedError } from '../errors.ts';
import { contextFields, type LogFields } from '../logger.ts';
import { taskId as taskIdOf } from '../names.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import type { BuiltTopology, Subtopology } from '../topology.ts';
import type { StateStore } from '../processor.ts';
import type { TaskSpec } from './assignment.ts';
import { LocalStateOffsets } from './local-state.ts';
import { StandbyTask, isStandbyStore, type StandbyEnvironment } from './standby-task.ts';
import type { StateDirHolder } from './state-dir-holder.ts';
import { StreamTask, jobLimitMs } from './stream-task.ts';
import type { TaskEnvironment } from './task-environment.ts';

interface RetryEntry {
  /** Wall-clock time before which the task is not rebuilt. */
  notBefore: number;
  /** A fenced task waits for the next rebalance (or this deadline) so a zombie does not fence the new owner back. */
  awaitRebalance: boolean;
}

/** What a task may do to the consumer (nothing, once it is not the current task of its id). */
export interface TaskConsumerControl {
  /** Points the consumer at a partition's offset and resumes it. */
  seek(topic: string, partition: number, offset: bigint): void;
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /** Drains the task soon (it can go on after waiting for a partition). */
  wake(): void;
}

export interface TaskManagerDeps {
  topology: BuiltTopology;
  options: CompiledStreamsAppOptions;
  specs: ReadonlyMap<string, TaskSpec>;
  consumer: Pick<GroupConsumer, 'pause' | 'resume' | 'seek'>;
  /** The environment of a task, with the consumer control that is the task's own. */
  environment(taskId: string, control: TaskConsumerControl): TaskEnvironment;
  /** A standby's environment (changelog reads only); without it, standbys are refused. */
  standbyEnvironment?(taskId: string): StandbyEnvironment;
  /** Purges repartition records below these offsets. */
  purge?(offsets: { topic: string; partition: number; offset: bigint }[]): Promise<void>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: LogFields): void;
  /** A failure retrying cannot help: stop the app. */
  fatal(error: StreamsError): void;
  /** Tasks started or stopped running. */
  changed(): void;
  now(): number;
  /** How long one job of a task may run. @default jobLimitMs(transactionTimeoutMs) */
  jobLimitMs?: number;
}

export class TaskManager {
  private readonly tasks = new Map<string, StreamTask>();
  /** The last holder of each task's state directory (a task or a standby): the next one waits for it to close. */
  private readonly incarnations = new Map<string, StateDirHolder>();
  private readonly standbys = new Map<string, StandbyTask>();
  private readonly localState: LocalStateOffsets;
  private readonly retries = new Map<string, RetryEntry>();
  /** Consecutive failed builds per task, for the rebuild backoff; cleared once it runs. */
  private readonly failures = new Map<string, number>();
  private assignedIds = new Set<string>();
  private closing = false;
  /** Per task, the timer that commits its open transaction when its interval ends. */
  private readonly commitTimers = new Map<StreamTask, NodeJS.Timeout>();
  private lastPurge: number;

  constructor(private readonly deps: TaskManagerDeps) {
    this.lastPurge = deps.now();
    this.localState = new LocalStateOffsets(
      deps.options,
      (id) => {
        const spec = deps.specs.get(id);
        return spec?.stateful ? this.subtopologyOf(spec).stores : undefined;
      },
      () => deps.specs.keys(),
    );
  }

  /** Task ids the group assigned to this worker. */
  get assigned(): ReadonlySet<string> {
    return this.assignedIds;
  }

  /** Task ids this worker runs now, sorted. */
  get running(): string[] {
    return [...this.tasks.values()]
      .filter((t) => t.state === 'RUNNING')
      .map((t) => t.id)
      .sort();
  }

  /** True when every assigned task runs. */
  get allRunning(): boolean {
    return [...this.assignedIds].every((id) => this.tasks.get(id)?.state === 'RUNNING');
  }

  /** Task ids owned now, for the assigner's stickiness. */
  get owned(): string[] {
    return [...this.tasks.keys()];
  }

  task(id: string): StreamTask | undefined {
    return this.tasks.get(id);
  }

  /** Standby task ids on this worker, sorted. */
  get standbyTasks(): string[] {
    return [...this.standbys.keys()].sort();
  }

  standby(id: string): StandbyTask | undefined {
    return this.standbys.get(id);
  }

  /**
   * The changelog offset sum of every task whose state this worker holds (running, standby,
   * or a directory left on disk), for the group metadata.
   */
  stateOffsets(): Record<string, bigint> {
    const open = new Map<string, bigint | undefined>();
    for (const [id, task] of this.tasks) {
      const spec = this.deps.specs.get(id);
      if (!spec?.stateful) continue;
      let sum: bigint | undefined = 0n;
      for (const [name, builder] of this.subtopologyOf(spec).stores) {
        if (!isStandbyStore(builder)) continue;
        const checkpoint =
          task.state === 'RUNNING' ? task.getStore(name)?.checkpoint?.() : undefined;
        sum = checkpoint === undefined || sum === undefined ? undefined : sum + checkpoint;
      }
      open.set(id, sum);
    }
    for (const [id, standby] of this.standbys) open.set(id, standby.offsetSum);
    return this.localState.offsets(open);
  }

  /**
   * This worker's instances of a store: of its running tasks, and of its standbys when
   * asked (stale by up to their lag), for interactive queries.
   */
  storeInstances(name: string, includeStandbys: boolean): StateStore[] {
    const out: StateStore[] = [];
    for (const task of this.tasks.values()) {
      const store = task.state === 'RUNNING' ? task.getStore(name) : undefined;
      if (store) out.push(store);
    }
    if (includeStandbys)
      for (const standby of this.standbys.values()) {
        const store = standby.store(name);
        if (store) out.push(store);
      }
    return out;
  }

  /**
   * The standby tasks this worker keeps (from the group's metadata): new ones start tailing,
   * dropped ones close. A task that is active here has no standby here.
   */
  assignStandbys(ids: ReadonlySet<string>): void {
    if (this.closing || !this.deps.standbyEnvironment) return;
    for (const [id, standby] of this.standbys) {
      if (ids.has(id) && !this.assignedIds.has(id)) continue;
      this.standbys.delete(id);
      void standby.close();
    }
    const created: string[] = [];
    for (const id of ids) {
      const spec = this.deps.specs.get(id);
      if (!spec?.stateful || this.standbys.has(id) || this.assignedIds.has(id)) continue;
      const standby = new StandbyTask(
        id,
        spec.partition,
        this.subtopologyOf(spec),
        this.deps.standbyEnvironment(id),
        this.incarnations.get(id),
      );
      this.incarnations.set(id, standby);
      this.standbys.set(id, standby);
      standby.start();
      created.push(id);
    }
    if (created.length > 0 || ids.size !== this.standbys.size)
      this.deps.log('info', `standby tasks: ${this.standbyTasks.join(', ') || 'none'}`);
  }

  /** A rebalance started: commit what is open before the tasks may move. */
  rebalancing(): void {
    // A task that moved anyway is fenced by its new owner and aborts, which loses nothing.
    for (const task of this.tasks.values())
      void this.runOn(task, 'commit', () => task.commit()).catch((err: unknown) =>
        this.failed(task, err),
      );
  }

  /** The group's new assignment (eager protocol: it replaces the previous one). */
  assign(assignment: Record<string, number[]>): void {
    if (this.closing) return;
    const now = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const subtopology = this.deps.topology.subtopologyByTopic.get(topic);
      if (!subtopology) continue;
      for (const p of partitions) now.add(taskIdOf(subtopology.id, p));
    }
    this.assignedIds = now;
    this.deps.log('info', `assigned tasks: ${[...now].sort().join(', ') || 'none'}`);
    for (const [id, task] of this.tasks) {
      if (now.has(id)) continue;
      this.tasks.delete(id);
      // A failed close has closed the task dirty (or abandoned it, past the time limit).
      void this.runOn(task, 'close', () => task.close()).catch((err: unknown) =>
        this.deps.log('warn', `closing revoked task ${id}: ${messageOf(err)}`),
      );
    }
    for (const id of this.retries.keys()) if (!now.has(id)) this.retries.delete(id);
    for (const id of now) {
      // The task moved here: its standby hands the directory over (the task waits for it).
      const standby = this.standbys.get(id);
      if (standby) {
        this.standbys.delete(id);
        void standby.close();
      }
    }
    for (const id of now) {
      const retry = this.retries.get(id);
      if (retry?.awaitRebalance) retry.notBefore = 0; // a rebalance happened: the group's word is current
      if (!this.tasks.has(id) && !retry) this.create(id);
      else if (!this.tasks.has(id)) this.deps.consumer.pause(this.partitionsOf(id));
    }
    this.deps.changed();
  }

  /** A fetched batch of one partition: processed by its task, then committed if due. */
  async process(batch: ConsumedBatch): Promise<void> {
    if (batch.isStale() || this.closing) return;
    const subtopology = this.deps.topology.subtopologyByTopic.get(batch.topic);
    if (!subtopology) return;
    const task = this.tasks.get(taskIdOf(subtopology.id, batch.partition));
    if (!task || task.state !== 'RUNNING') return;
    // kafkajs heartbeats only from its fetch loop, which waits for this
    // handler: while the task is busy (e.g. a commit waiting out a dead
    // transaction coordinator), keep the membership alive ourselves.
    const beat = setInterval(
      () => void batch.heartbeat().catch(() => undefined),
      this.deps.options.heartbeatIntervalMs,
    );
    try {
      await this.runOn(task, 'process', () => task.process(batch.records));
      // The commit runs on the task's queue without holding the fetch loop: kafkajs fetches
      // again only when every batch of its last fetch is handled, so an awaited commit here
      // delayed every task's next records by its round trips. The task's next batch still
      // waits for it in the queue.
      if (task.commitDue(this.deps.now())) this.commitWhenDue(task);
      else this.scheduleCommit(task);
    } catch (err) {
      this.failed(task, err);
    } finally {
      clearInterval(beat);
    }
  }

  /** Timers: wall-clock punctuation and due commits of idle tasks, rebuilds, repartition purge. */
  tick(): void {
    if (this.closing) return;
    const now = this.deps.now();
    for (const task of this.tasks.values()) {
      if (task.state !== 'RUNNING' || task.queue.size > 0) continue;
      void this.runOn(task, 'punctuate and commit', async () => {
        await task.poke(); // a task waiting for one of its partitions may go on by now
        await task.punctuateWallClock(now);
        if (task.commitDue(this.deps.now())) await task.commit();
      }).catch((err: unknown) => this.failed(task, err));
    }
    for (const [id, retry] of this.retries) {
      if (now >= retry.notBefore && this.assignedIds.has(id) && !this.tasks.has(id))
        this.create(id);
    }
    if (this.deps.purge && now - this.lastPurge >= this.deps.options.repartitionPurgeIntervalMs) {
      this.lastPurge = now;
      this.purge();
    }
  }

  /**
   * Commits the task's open transaction when its interval ends even if no batch comes then:
   * the tick alone (every commit interval / 2) let an idle task's commit wait up to half an
   * interval, and a task's records wait for its commit.
   */
  private scheduleCommit(task: StreamTask): void {
    const at = task.commitDueAt;
    if (at === undefined || this.commitTimers.has(task)) return;
    const timer = setTimeout(
      () => {
        this.commitTimers.delete(task);
        if (this.closing || this.tasks.get(task.id) !== task || task.state !== 'RUNNING') return;
        if (task.commitDue(this.deps.now())) this.commitWhenDue(task);
        else this.scheduleCommit(task);
      },
      Math.max(0, at - this.deps.now()),
    );
    timer.unref();
    this.commitTimers.set(task, timer);
  }

  /** Queues a commit on the task's queue, done if still due when its turn comes. */
  private commitWhenDue(task: StreamTask): void {
    void this.runOn(task, 'commit', async () => {
      if (task.commitDue(this.deps.now())) await task.commit(); // a batch may have committed it
    }).catch((err: unknown) => this.failed(task, err));
  }

  /** Closes every task (a final commit each), for shutdown. */
  async closeAll(): Promise<void> {
    this.closing = true;
    for (const timer of this.commitTimers.values()) clearTimeout(timer);
    this.commitTimers.clear();
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    const standbys = [...this.standbys.values()];
    this.standbys.clear();
    this.deps.consumer.pause(tasks.flatMap((t) => t.partitions));
    // Commit before leaving the group, so the next owner starts after our last record.
    await Promise.all([
      ...tasks.map((t) =>
        this.runOn(t, 'close', () => t.close()).catch((err: unknown) =>
          this.deps.log('warn', `closing task ${t.id}: ${messageOf(err)}`),
        ),
      ),
      ...standbys.map((s) => s.close()),
    ]);
  }

  /** The partitions of a task: its sub-topology's source topics at its partition number. */
  partitionsOf(id: string): TopicPartition[] {
    const spec = this.deps.specs.get(id);
    return spec ? spec.topics.map((topic) => ({ topic, partition: spec.partition })) : [];
  }

  // --- internals ---

  private create(id: string): void {
    const spec = this.deps.specs.get(id);
    if (!spec) return;
    const partitions = this.partitionsOf(id);
    // Nothing is fetched for the task until it has fenced and sought to its committed offsets.
    this.deps.consumer.pause(partitions);
    const subtopology = this.subtopologyOf(spec);
    let task: StreamTask | undefined;
    const current = (): boolean => task !== undefined && this.tasks.get(id) === task;
    const env = this.deps.environment(id, {
      seek: (topic, partition, offset) => {
        if (!current()) return;
        this.deps.consumer.seek(topic, partition, offset);
        this.deps.consumer.resume([{ topic, partition }]);
      },
      pause: (topic, partition) => {
        if (current()) this.deps.consumer.pause([{ topic, partition }]);
      },
      resume: (topic, partition) => {
        if (current()) this.deps.consumer.resume([{ topic, partition }]);
      },
      wake: () => {
        const t = task;
        if (!t || !current() || t.queue.size > 0) return;
        void this.runOn(t, 'drain', () => t.poke()).catch((err: unknown) => this.failed(t, err));
      },
    });
    task = new StreamTask(id, spec.partition, subtopology, env, this.incarnations.get(id));
    const created = task;
    this.incarnations.set(id, created);
    this.tasks.set(id, created);
    this.retries.delete(id);
    void this.runOn(created, 'init', () => created.init()).then(
      () => {
        this.failures.delete(id);
        this.deps.changed();
      },
      (err: unknown) => this.failed(created, err),
    );
  }

  /**
   * Runs a job on the task's queue, but never waits on it for ever: a job stuck past the
   * limit (e.g. on a dead broker) abandons the task — it is rebuilt with a new producer,
   * which fences whatever the stuck one might still do — so the caller moves on.
   */
  private runOn<T>(task: StreamTask, what: string, job: () => Promise<T>): Promise<T> {
    const limitMs = this.deps.jobLimitMs ?? jobLimitMs(this.deps.options.transactionTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TaskCorruptedError(
          `Task ${task.id}: ${what} did not finish within ${limitMs} ms`,
          { taskId: task.id },
        );
        task.abandon(error);
        reject(error);
      }, limitMs);
    });
    return Promise.race([task.queue.run(job), timeout]).finally(() => clearTimeout(timer));
  }

  /** A job of the task failed (the task closed itself dirty, or was abandoned): rebuild or stop. */
  private failed(task: StreamTask, err: unknown): void {
    if (this.tasks.get(task.id) !== task) {
      // An incarnation that was already replaced, revoked or failed: a late failure of it
      // (a job queued behind the one that failed first, timing out later) must not pause
      // or reschedule its successor, which owns the partitions now.
      if (!this.closing)
        this.deps.log('debug', `task ${task.id}: a replaced incarnation failed: ${messageOf(err)}`);
      return;
    }
    this.tasks.delete(task.id);
    if (this.closing || !this.deps.specs.has(task.id)) return;
    const error = asError(err, task.id);
    if (error instanceof TaskMigratedError) {
      this.deps.log('warn', error.message, contextFields(error));
      this.deps.consumer.pause(this.partitionsOf(task.id));
      this.retries.set(task.id, {
        notBefore: this.deps.now() + this.deps.options.sessionTimeoutMs,
        awaitRebalance: true,
      });
    } else if (error instanceof TaskCorruptedError) {
      const failures = (this.failures.get(task.id) ?? 0) + 1;
      this.failures.set(task.id, failures);
      this.deps.log('warn', `${error.message}; rebuilding the task`, contextFields(error));
      this.deps.consumer.pause(this.partitionsOf(task.id));
      this.retries.set(task.id, {
        notBefore: this.deps.now() + Math.min(5000, 50 * 2 ** failures),
        awaitRebalance: false,
      });
    } else {
      this.deps.fatal(error);
    }
    this.deps.changed();
  }

  private purge(): void {
    const purge = this.deps.purge;
    if (!purge) return;
    const offsets = [...this.tasks.values()].flatMap((task) =>
      task.state === 'RUNNING' ? task.committedRepartitionOffsets() : [],
    );
    if (offsets.length === 0) return;
    purge(offsets).catch((err: unknown) =>
      this.deps.log('warn', `purging repartition topics: ${messageOf(err)}`),
    );
  }

  private subtopologyOf(spec: TaskSpec): Subtopology {
    return this.deps.topology.subtopologyByTopic.get(spec.topics[0]!)!;
  }
}

function asError(err: unknown, taskId: string): StreamsError {
  return err instanceof StreamsError
    ? err
    : new TaskCorruptedError(messageOf(err), { taskId, cause: err });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

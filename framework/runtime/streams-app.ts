/**
 * A worker of a streams application. Run the same app in N processes (on N
 * machines) and Kafka's consumer group spreads the tasks over them; there is
 * no coordinator of ours.
 *
 * App states, as in Kafka Streams' KafkaStreams.State:
 *
 *   CREATED ──start()──▶ REBALANCING ◀──▶ RUNNING
 *      │                     │               │
 *      │                     ├───────────────┴──fatal error──▶ ERROR
 *      └──────close()────────┴──────close()──▶ PENDING_SHUTDOWN ──▶ NOT_RUNNING
 */
import { createKafkaClient } from '../client/index.ts';
import type {
  ConsumedBatch,
  GroupAssigner,
  GroupConsumer,
  KafkaClient,
  PlainProducer,
  TopicPartition,
  TopicPartitionOffset,
} from '../client/index.ts';
import {
  StreamsError,
  StreamsFatalError,
  TaskCorruptedError,
  TaskMigratedError,
} from '../errors.ts';
import {
  compileStreamsAppOptions,
  type CompiledStreamsAppOptions,
  type StreamsAppOptions,
} from '../options.ts';
import { checkCoPartitioning, taskIdOf, type BuiltTopology, type Topology } from '../topology.ts';
import {
  assignTasks,
  decodeClaims,
  encodeClaims,
  tasksOf,
  toTopicPartitions,
  type TaskSpec,
} from './assignment.ts';
import {
  StreamTask,
  changelogTopic,
  tpKey,
  type CommitEvent,
  type RestoreEvent,
} from './stream-task.ts';
import { getDefaultTelemetry, type LagSample, type Telemetry } from '../telemetry.ts';
import { AtLeastOnceTaskOutput, TransactionalTaskOutput, type TaskOutput } from './task-output.ts';

export type StreamsAppState =
  'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

const TRANSITIONS: Record<StreamsAppState, readonly StreamsAppState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['RUNNING', 'PENDING_SHUTDOWN', 'ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING', 'ERROR'],
  NOT_RUNNING: [],
  ERROR: [],
};

export type StateListener = (state: StreamsAppState, previous: StreamsAppState) => void;
export type UncaughtErrorHandler = (error: StreamsError) => void;
export type CommitListener = (event: CommitEvent) => void;
export type RestoreListener = (event: RestoreEvent) => void;

interface RetryEntry {
  /** Wall-clock time before which the task is not rebuilt. */
  notBefore: number;
  /** A fenced task waits for the next rebalance (or this deadline) so a zombie does not fence the new owner back. */
  awaitRebalance: boolean;
}

export class StreamsApp {
  readonly options: CompiledStreamsAppOptions;
  private readonly topology: BuiltTopology;
  private stateValue: StreamsAppState = 'CREATED';
  private readonly stateListeners: StateListener[] = [];
  private readonly errorHandlers: UncaughtErrorHandler[] = [];
  private readonly commitListeners: CommitListener[] = [];
  private readonly restoreListeners: RestoreListener[] = [];
  private client: KafkaClient | undefined;
  private consumer: GroupConsumer | undefined;
  private plainProducer: PlainProducer | undefined;
  private taskSpecs = new Map<string, TaskSpec>();
  private assigned = new Set<string>();
  private readonly tasks = new Map<string, StreamTask>();
  private readonly retries = new Map<string, RetryEntry>();
  /** Consecutive failed builds per task, for the rebuild backoff; cleared once it runs. */
  private readonly failures = new Map<string, number>();
  private readonly partitionCounts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private fatal: StreamsError | undefined;
  private readonly telemetry: Telemetry;
  private stopLagObservation: (() => void) | undefined;

  constructor(topology: Topology, options: StreamsAppOptions) {
    this.options = compileStreamsAppOptions(options);
    this.topology = topology.build();
    this.telemetry = this.options.telemetry ?? getDefaultTelemetry();
  }

  get state(): StreamsAppState {
    return this.stateValue;
  }

  /** Task ids this worker runs now. */
  get runningTasks(): string[] {
    return [...this.tasks.values()]
      .filter((t) => t.state === 'RUNNING')
      .map((t) => t.id)
      .sort();
  }

  onStateChange(listener: StateListener): () => void {
    this.stateListeners.push(listener);
    return () => void this.stateListeners.splice(this.stateListeners.indexOf(listener), 1);
  }

  /** Called with the error that stopped the app (state ERROR). */
  onError(handler: UncaughtErrorHandler): () => void {
    this.errorHandlers.push(handler);
    return () => void this.errorHandlers.splice(this.errorHandlers.indexOf(handler), 1);
  }

  /**
   * Restore progress of each logged store when its task starts: records
   * replayed / to replay, and why a store is rebuilt from scratch if it is.
   */
  onRestore(listener: RestoreListener): () => void {
    this.restoreListeners.push(listener);
    return () => void this.restoreListeners.splice(this.restoreListeners.indexOf(listener), 1);
  }

  /** Called after every successful task commit. */
  onCommit(listener: CommitListener): () => void {
    this.commitListeners.push(listener);
    return () => void this.commitListeners.splice(this.commitListeners.indexOf(listener), 1);
  }

  /** Connects, checks the source topics, joins the group and starts processing. Resolves once the worker is in the group. */
  async start(): Promise<void> {
    if (this.stateValue !== 'CREATED')
      throw new StreamsFatalError(`start() called in state ${this.stateValue}`);
    this.setState('REBALANCING');
    try {
      await this.startInner();
    } catch (err) {
      const error =
        err instanceof StreamsError
          ? err
          : new StreamsFatalError(`Cannot start: ${messageOf(err)}`, { cause: err });
      await this.failApp(error);
      throw error;
    }
  }

  /** Commits every task, closes producers, leaves the group. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown('PENDING_SHUTDOWN');
    return this.closing;
  }

  // --- start-up ---

  private async startInner(): Promise<void> {
    const o = this.options;
    const client = createKafkaClient({
      brokers: [...o.brokers],
      clientId: o.clientId,
      // kafkajs logs every refused connection to a dead broker as an error;
      // the app logs what it does about failures itself, once, classified.
      logLevel: o.logLevel === 'debug' ? 'debug' : 'nothing',
    });
    this.client = client;
    const sourceTopics = [...new Set(this.topology.subtopologies.flatMap((s) => s.sourceTopics))];
    const sinkTopics = [...new Set(this.topology.subtopologies.flatMap((s) => s.sinkTopics))];
    const counts = await client.admin
      .partitionCounts([...sourceTopics, ...sinkTopics])
      .catch((err: unknown) => {
        throw new StreamsFatalError(`Source or sink topics are missing: ${messageOf(err)}`, {
          cause: err,
        });
      });
    for (const [topic, n] of counts) this.partitionCounts.set(topic, n);
    const perSubtopology = checkCoPartitioning(this.topology, counts);
    const specs = tasksOf(
      this.topology.subtopologies.map((s) => ({
        id: s.id,
        topics: s.sourceTopics,
        partitions: perSubtopology.get(s.id) ?? 0,
      })),
    );
    this.taskSpecs = new Map(specs.map((s) => [s.id, s]));
    await this.createChangelogTopics(perSubtopology);

    if (o.processingGuarantee === 'at_least_once') this.plainProducer = client.producer();
    const consumer = client.groupConsumer({
      groupId: o.applicationId,
      assigner: this.assigner(),
      sessionTimeoutMs: o.sessionTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
    });
    this.consumer = consumer;
    consumer.on('groupJoin', ({ assignment }) => this.onAssignment(assignment));
    consumer.on('rebalancing', () => this.onRebalancing());
    consumer.on('crash', ({ error, restart }) => {
      this.log(
        'warn',
        `the consumer failed: ${messageOf(error)}${restart ? '; the client restarts it and rejoins the group' : ''}`,
      );
      if (!restart)
        void this.failApp(
          new StreamsFatalError(`The consumer stopped: ${messageOf(error)}`, { cause: error }),
        );
    });
    await consumer.subscribe(sourceTopics);
    await consumer.run((batch) => this.onBatch(batch));
    this.stopLagObservation = this.telemetry.observeLag(o.applicationId, () => this.lag());
    this.timer = setInterval(
      () => this.tick(),
      Math.max(10, Math.min(100, Math.floor(o.commitIntervalMs / 2))),
    );
  }

  /**
   * One compacted changelog per logged store, with a partition per task.
   * Window stores' changelogs also delete by time: what expired from the
   * store must not come back on restore (Kafka Streams keeps one extra day).
   */
  private async createChangelogTopics(partitionsBySubtopology: Map<number, number>): Promise<void> {
    const specs = this.topology.subtopologies.flatMap((s) =>
      [...s.stores.values()]
        .filter((b) => b.loggingEnabled)
        .map((b) => {
          const config = { ...(b.changelogConfig ?? { 'cleanup.policy': 'compact' }) };
          return {
            topic: changelogTopic(this.options.applicationId, b.name),
            partitions: partitionsBySubtopology.get(s.id) ?? 1,
            replicationFactor: this.options.replicationFactor,
            config,
          };
        }),
    );
    if (specs.length === 0) return;
    await this.client!.admin.createTopics(specs);
    const counts = await this.client!.admin.partitionCounts(specs.map((s) => s.topic));
    for (const spec of specs) {
      const n = counts.get(spec.topic);
      if (n !== spec.partitions) {
        throw new StreamsFatalError(
          `Changelog topic ${spec.topic} has ${n} partitions, but the store's sub-topology has ${spec.partitions} tasks: delete it or fix the source topics`,
        );
      }
    }
  }

  private assigner(): GroupAssigner {
    return {
      name: 'streamtx-task',
      version: 1,
      subscriptionUserData: () => encodeClaims({ owned: [...this.tasks.keys()], stateful: [] }),
      assign: ({ members }) => {
        const byMember = assignTasks(
          [...this.taskSpecs.values()],
          members.map((m) => ({ memberId: m.memberId, claims: decodeClaims(m.userData) })),
        );
        return new Map(
          [...byMember].map(([memberId, tasks]) => [
            memberId,
            { assignment: toTopicPartitions(tasks) },
          ]),
        );
      },
    };
  }

  // --- rebalances ---

  private onRebalancing(): void {
    this.telemetry.rebalanced(this.options.applicationId);
    if (this.stateValue === 'RUNNING') this.setState('REBALANCING');
    // Commit what is open before the tasks may move; a task that moved anyway
    // is fenced by its new owner and aborts, which loses nothing.
    for (const task of this.tasks.values())
      void this.runOn(task, 'commit', () => task.commit()).catch((err: unknown) =>
        this.onTaskError(task, err),
      );
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    if (this.closing) return;
    const now = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const subtopology = this.topology.subtopologyByTopic.get(topic);
      if (!subtopology) continue;
      for (const p of partitions) now.add(taskIdOf(subtopology.id, p));
    }
    this.assigned = now;
    this.log('info', `assigned tasks: ${[...now].sort().join(', ') || 'none'}`);
    for (const [id, task] of this.tasks) {
      if (!now.has(id)) {
        this.tasks.delete(id);
        void this.runOn(task, 'close', () => task.close()).catch((err: unknown) =>
          this.log('warn', `closing revoked task ${id}: ${messageOf(err)}`),
        );
      }
    }
    for (const id of this.retries.keys()) if (!now.has(id)) this.retries.delete(id);
    for (const id of now) {
      const retry = this.retries.get(id);
      if (retry?.awaitRebalance) retry.notBefore = 0; // a rebalance happened: the group's word is current
      if (!this.tasks.has(id) && !retry) this.createTask(id);
      else if (!this.tasks.has(id)) this.consumer?.pause(this.specPartitions(id));
    }
    this.updateRunningState();
  }

  private createTask(id: string): void {
    const spec = this.taskSpecs.get(id);
    if (!spec || !this.client || !this.consumer) return;
    const partitions = this.specPartitions(id);
    // Nothing is fetched for the task until it has fenced and sought to its committed offsets.
    this.consumer.pause(partitions);
    const subtopology = this.topology.subtopologies.find((s) =>
      s.sourceTopics.includes(spec.topics[0]!),
    )!;
    const task = new StreamTask(id, spec.partition, subtopology, {
      options: this.options,
      output: this.outputFor(id),
      startOffsets: (tps) => this.startOffsets(tps),
      seek: (topic, partition, offset) => {
        if (this.tasks.get(id) !== task) return;
        this.consumer?.seek(topic, partition, offset);
        this.consumer?.resume([{ topic, partition }]);
      },
      partitionCount: (topic) => this.partitionCounts.get(topic),
      now: () => Date.now(),
      log: (level, message) => this.log(level, message),
      committed: (event) => {
        for (const listener of this.commitListeners) listener(event);
      },
      changelogOffsets: async (topic, partition) => {
        const admin = this.client!.admin;
        const [beginning, end] = await Promise.all([
          admin.beginningOffsets(topic),
          admin.endOffsets(topic, 'read_committed'),
        ]);
        return { beginning: beginning.get(partition) ?? 0n, end: end.get(partition) ?? 0n };
      },
      readChangelog: (topic, partition, from, until) =>
        this.client!.readPartition(topic, partition, from, until),
      restoring: (event) => {
        for (const listener of this.restoreListeners) listener(event);
      },
    });
    this.tasks.set(id, task);
    this.retries.delete(id);
    void this.runOn(task, 'init', () => task.init()).then(
      () => {
        this.failures.delete(id);
        this.updateRunningState();
      },
      (err: unknown) => this.onTaskError(task, err),
    );
  }

  private outputFor(taskId: string): TaskOutput {
    const o = this.options;
    if (o.processingGuarantee === 'exactly_once') {
      const producer = this.client!.transactionalProducer(`${o.applicationId}-${taskId}`, {
        transactionTimeoutMs: o.transactionTimeoutMs,
      });
      return new TransactionalTaskOutput(producer, o.applicationId);
    }
    return new AtLeastOnceTaskOutput({
      send: (topic, records) => this.plainProducer!.send(topic, records),
      commitOffsets: (offsets: TopicPartitionOffset[]) => this.consumer!.commitOffsets(offsets),
    });
  }

  /** Committed offsets for the task's partitions, read after fencing; the log start where none was committed. */
  private async startOffsets(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    const admin = this.client!.admin;
    const result = new Map<string, bigint>();
    for (const topic of new Set(partitions.map((p) => p.topic))) {
      const committed = await admin.committedOffsets(this.options.applicationId, topic);
      const beginning = await admin.beginningOffsets(topic);
      for (const { partition } of partitions.filter((p) => p.topic === topic)) {
        const start = beginning.get(partition) ?? 0n;
        const c = committed.get(partition);
        // auto.offset.reset=earliest, as Kafka Streams sets it.
        result.set(tpKey(topic, partition), c !== undefined && c >= start ? c : start);
      }
    }
    return result;
  }

  /** Consumer lag of the partitions this worker owns: last stable offset − committed offset. */
  private async lag(): Promise<LagSample[]> {
    const admin = this.client?.admin;
    if (!admin || this.closing) return [];
    const owned = [...this.assigned].flatMap((id) => this.specPartitions(id));
    const samples: LagSample[] = [];
    for (const topic of new Set(owned.map((p) => p.topic))) {
      const [end, committed] = await Promise.all([
        admin.endOffsets(topic, 'read_committed'),
        admin.committedOffsets(this.options.applicationId, topic),
      ]);
      for (const { partition } of owned.filter((p) => p.topic === topic)) {
        const last = end.get(partition) ?? 0n;
        const lag = last - (committed.get(partition) ?? 0n);
        samples.push({ topic, partition, lag: Number(lag > 0n ? lag : 0n) });
      }
    }
    return samples;
  }

  // --- processing ---

  private async onBatch(batch: ConsumedBatch): Promise<void> {
    if (batch.isStale() || this.closing) return;
    const subtopology = this.topology.subtopologyByTopic.get(batch.topic);
    if (!subtopology) return;
    const task = this.tasks.get(taskIdOf(subtopology.id, batch.partition));
    if (!task || task.state !== 'RUNNING') return;
    // kafkajs heartbeats only from its fetch loop, which waits for this
    // handler: while the task is busy (e.g. a commit waiting out a dead
    // transaction coordinator), keep the membership alive ourselves.
    const beat = setInterval(
      () => void batch.heartbeat().catch(() => undefined),
      this.options.heartbeatIntervalMs,
    );
    try {
      await this.runOn(task, 'process', () => task.process(batch.records));
      if (task.commitDue(Date.now())) await this.runOn(task, 'commit', () => task.commit());
    } catch (err) {
      this.onTaskError(task, err);
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * Runs a job on the task's queue, but never waits on it for ever: a job
   * stuck on a dead broker past the limit fails the task (rebuilt with a new
   * producer, which fences whatever the stuck one might still do), so the
   * consumer loop that awaits it moves on.
   */
  private runOn<T>(task: StreamTask, what: string, job: () => Promise<T>): Promise<T> {
    const limitMs = Math.max(30_000, 2 * this.options.transactionTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TaskCorruptedError(`Task ${task.id}: ${what} did not finish within ${limitMs} ms`, {
              taskId: task.id,
            }),
          ),
        limitMs,
      );
    });
    return Promise.race([task.queue.run(job), timeout]).finally(() => clearTimeout(timer));
  }

  private tick(): void {
    const now = Date.now();
    for (const task of this.tasks.values()) {
      if (task.state !== 'RUNNING' || task.queue.size > 0) continue;
      void this.runOn(task, 'punctuate and commit', async () => {
        await task.punctuateWallClock(now);
        if (task.commitDue(Date.now())) await task.commit();
      }).catch((err: unknown) => this.onTaskError(task, err));
    }
    for (const [id, retry] of this.retries) {
      if (now >= retry.notBefore && this.assigned.has(id) && !this.tasks.has(id)) {
        this.createTask(id);
      }
    }
  }

  private onTaskError(task: StreamTask, err: unknown): void {
    if (this.tasks.get(task.id) === task) this.tasks.delete(task.id);
    void task.closeDirty();
    if (this.closing) return;
    const error =
      err instanceof StreamsError
        ? err
        : new TaskCorruptedError(messageOf(err), { taskId: task.id, cause: err });
    if (!this.taskSpecs.has(task.id)) return;
    if (error instanceof TaskMigratedError) {
      this.log('warn', error.message);
      this.consumer?.pause(this.specPartitions(task.id));
      this.retries.set(task.id, {
        notBefore: Date.now() + this.options.sessionTimeoutMs,
        awaitRebalance: true,
      });
    } else if (error instanceof TaskCorruptedError) {
      const failures = (this.failures.get(task.id) ?? 0) + 1;
      this.failures.set(task.id, failures);
      this.log('warn', `${error.message}; rebuilding the task`);
      this.consumer?.pause(this.specPartitions(task.id));
      this.retries.set(task.id, {
        notBefore: Date.now() + Math.min(5000, 50 * 2 ** failures),
        awaitRebalance: false,
      });
    } else {
      void this.failApp(error);
    }
    this.updateRunningState();
  }

  private updateRunningState(): void {
    if (this.stateValue !== 'REBALANCING' && this.stateValue !== 'RUNNING') return;
    const allRunning = [...this.assigned].every((id) => this.tasks.get(id)?.state === 'RUNNING');
    if (allRunning && this.stateValue === 'REBALANCING') this.setState('RUNNING');
  }

  // --- shutdown ---

  private async failApp(error: StreamsError): Promise<void> {
    if (this.fatal) return;
    this.fatal = error;
    this.log('error', `stopping: ${error.message}`);
    for (const handler of this.errorHandlers) {
      try {
        handler(error);
      } catch {
        // a handler's own failure must not stop the shutdown
      }
    }
    this.closing ??= this.shutdown('ERROR');
    await this.closing;
  }

  private async shutdown(via: 'PENDING_SHUTDOWN' | 'ERROR'): Promise<void> {
    if (this.stateValue === 'NOT_RUNNING' || this.stateValue === 'ERROR') return;
    if (via === 'PENDING_SHUTDOWN') this.setState('PENDING_SHUTDOWN');
    if (this.timer) clearInterval(this.timer);
    this.stopLagObservation?.();
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    this.consumer?.pause(tasks.flatMap((t) => t.partitions));
    // Commit before leaving the group, so the next owner starts after our last record.
    await Promise.all(
      tasks.map((t) =>
        this.runOn(t, 'close', () => t.close()).catch((err: unknown) =>
          this.log('warn', `closing task ${t.id}: ${messageOf(err)}`),
        ),
      ),
    );
    await this.consumer?.close().catch(() => undefined);
    await this.plainProducer?.close().catch(() => undefined);
    await this.client?.close().catch(() => undefined);
    this.setState(this.fatal ? 'ERROR' : 'NOT_RUNNING');
  }

  private specPartitions(id: string): TopicPartition[] {
    const spec = this.taskSpecs.get(id);
    return spec ? spec.topics.map((topic) => ({ topic, partition: spec.partition })) : [];
  }

  private setState(next: StreamsAppState): void {
    const previous = this.stateValue;
    if (previous === next) return;
    if (!TRANSITIONS[previous].includes(next)) return;
    this.stateValue = next;
    for (const listener of this.stateListeners) listener(next, previous);
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
    const threshold = order[this.options.logLevel as keyof typeof order] ?? 1;
    if (order[level] < threshold) return;
    const time = new Date().toISOString().slice(11, 23);
    process.stderr.write(`${time} [streamtx ${this.options.applicationId}] ${level}: ${message}\n`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A worker of a streams application. Run the same app in N processes (on N
 * machines) and Kafka's consumer group spreads the tasks over them; there is
 * no coordinator of ours. This file is the public face and the start-up;
 * tasks live in task-manager.ts, internal topics in internal-topics.ts.
 *
 * App states, as in Kafka Streams' KafkaStreams.State:
 *
 *   CREATED ──start()──▶ REBALANCING ◀──▶ RUNNING
 *      │                     │               │
 *      │                     ├───────────────┴──fatal error──▶ ERROR
 *      └──────close()────────┴──────close()──▶ PENDING_SHUTDOWN ──▶ NOT_RUNNING
 */
import {
  ClientError,
  classify,
  createKafkaClient,
  isUnreachable,
  securityFailure,
} from '../client/index.ts';
import type {
  ClientLogEntry,
  ClientLogLevel,
  ConsumedBatch,
  GroupAssigner,
  GroupConsumer,
  KafkaClient,
  KafkaClientFactory,
  KafkaClientOptions,
  PlainProducer,
} from '../client/index.ts';
import { StreamsConfigError, StreamsError, StreamsFatalError, TopologyError } from '../errors.ts';
import {
  contextFields,
  defaultLogger,
  logs,
  type LogFields,
  type Logger,
  type LogLevel,
  type LogMethod,
} from '../logger.ts';
import { changelogTopic, topicPartitionKey } from '../names.ts';
import {
  compileStreamsAppOptions,
  type CompiledStreamsAppOptions,
  type StreamsAppOptions,
} from '../options.ts';
import type { Serde } from '../serdes.ts';
import type { BuiltTopology, Topology } from '../topology.ts';
import {
  assignGroup,
  decodeClaims,
  encodeClaims,
  tasksOf,
  toTopicPartitions,
  type TaskSpec,
} from './assignment.ts';
import { GlobalStateManager } from './global-state.ts';
import { InternalTopics } from './internal-topics.ts';
import { GroupView, type KeyQueryMetadata, type WorkerMetadata } from './queries.ts';
import { isStandbyStore } from './standby-task.ts';
import type { RestoreEvent } from './state-manager.ts';
import {
  createStandbyEnvironment,
  createTaskEnvironment,
  type CommitEvent,
} from './task-environment.ts';
import { TaskManager } from './task-manager.ts';
import { getDefaultTelemetry, type LagSample, type Telemetry } from '../telemetry.ts';

/** Batches of this many partitions are processed at once; idle slots cost nothing. */
const PARTITIONS_CONSUMED_CONCURRENTLY = 32;
/** How often the global loop looks for new records of global stores' topics (Kafka Streams' poll.ms). */
const GLOBAL_POLL_INTERVAL_MS = 100;
/** How long the global loop waits after a failed read before it tries again. */
const GLOBAL_RETRY_MS = 1000;

export type StreamsAppState =
  'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

export const APP_TRANSITIONS: Readonly<Record<StreamsAppState, readonly StreamsAppState[]>> = {
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

/**
 * A worker's health, from what it knows locally (no request to Kafka): what liveness and
 * readiness probes ask (`streamtx run --health-port`, `startHealthServer`).
 */
export interface StreamsAppHealth {
  state: StreamsAppState;
  /** False only in ERROR: the worker stopped on a fatal error (liveness). */
  alive: boolean;
  /** RUNNING, and every task assigned to this worker is running (readiness). */
  ready: boolean;
  /** The tasks the group assigned to this worker, by what they are doing. */
  tasks: {
    assigned: number;
    /** Processing. */
    running: number;
    /** Replaying their changelogs into their stores. */
    restoring: number;
    /** Created, fencing their producer (InitProducerId) before they restore. */
    starting: number;
    /** Failed and waiting to be rebuilt, or to be given up by their previous owner. */
    waiting: number;
  };
  /** Each store being restored now: changelog records replayed and to replay. */
  restoring: { taskId: string; store: string; restored: number; total: number }[];
  /**
   * Milliseconds since a task of this worker last committed; null before the first commit.
   * Grows while there is no input: a task commits only what it processed.
   */
  lastCommitAgeMs: number | null;
  /**
   * Records each assigned source partition is behind, as of its last fetch: the partition's
   * high watermark then minus the next offset to process (transaction markers count, so a
   * caught-up transactional input shows a few). Absent until a partition was fetched.
   */
  lag?: { total: number; partitions: { topic: string; partition: number; records: number }[] };
  /** The error that stopped the worker, in ERROR. */
  error?: string;
}

/** How a StreamsApp reaches Kafka; for a second client backend, or tests. */
export interface StreamsAppInternals {
  /** @default the kafkajs backend (`createKafkaClient`) */
  clientFactory?: KafkaClientFactory;
}

export class StreamsApp {
  readonly options: CompiledStreamsAppOptions;
  private readonly topology: BuiltTopology;
  private readonly clientFactory: KafkaClientFactory;
  private stateValue: StreamsAppState = 'CREATED';
  private readonly stateListeners: StateListener[] = [];
  private readonly errorHandlers: UncaughtErrorHandler[] = [];
  private readonly commitListeners: CommitListener[] = [];
  private readonly restoreListeners: RestoreListener[] = [];
  private client: KafkaClient | undefined;
  private consumer: GroupConsumer | undefined;
  private plainProducer: PlainProducer | undefined;
  private tasks: TaskManager | undefined;
  private taskSpecs = new Map<string, TaskSpec>();
  private readonly partitionCounts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private fatal: StreamsError | undefined;
  private readonly telemetry: Telemetry;
  private stopLagObservation: (() => void) | undefined;
  private stopStandbyObservation: (() => void) | undefined;
  private groupView: GroupView | undefined;
  private readonly processorInstances = new WeakSet<object>();
  private globalState: GlobalStateManager | undefined;
  private globalTimer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private lastCommitAt: number | undefined;
  /** The latest restore event of each store being restored, by `${taskId}/${store}`. */
  private readonly restores = new Map<string, RestoreEvent>();
  /** Per source partition (topicPartitionKey): how far behind its last fetch was. */
  private readonly fetchLag = new Map<
    string,
    { topic: string; partition: number; records: number }
  >();

  constructor(topology: Topology, options: StreamsAppOptions, internals: StreamsAppInternals = {}) {
    this.options = compileStreamsAppOptions(options);
    this.topology = topology.build(this.options.applicationId);
    this.clientFactory = internals.clientFactory ?? createKafkaClient;
    this.telemetry = this.options.telemetry ?? getDefaultTelemetry();
    this.logger = this.options.logger ?? defaultLogger(this.options.applicationId);
    checkDeadLetterTopic(this.options, this.topology);
  }

  get state(): StreamsAppState {
    return this.stateValue;
  }

  /** Task ids this worker runs now. */
  get runningTasks(): string[] {
    return this.tasks?.running ?? [];
  }

  /** Standby task ids this worker keeps now (`numStandbyReplicas`). */
  get standbyTasks(): string[] {
    return this.tasks?.standbyTasks ?? [];
  }

  /**
   * A read-only view of a store over this worker's tasks (interactive queries): committed
   * state only, never a task's open transaction. A key of a partition another worker hosts
   * is absent here: `metadataForKey` names that worker. With `includeStandbys`, the
   * worker's standby copies answer too (stale by up to their lag).
   *
   * @example
   * ```ts
   * const counts = app.store<ReadOnlyKeyValueStore<string, number>>('counts');
   * counts.get('apple');
   * ```
   */
  store<S extends object = object>(name: string, options: { includeStandbys?: boolean } = {}): S {
    const builder = this.topology.subtopologies.find((s) => s.stores.has(name))?.stores.get(name);
    if (builder === undefined) {
      const names = this.topology.subtopologies.flatMap((s) => [...s.stores.keys()]);
      throw new TopologyError(
        `No state store "${name}" in the topology (its stores: ${names.join(', ') || 'none'})`,
      );
    }
    if (builder.queryableView === undefined)
      throw new TopologyError(
        `State store "${name}" cannot be queried: its builder offers no read-only view (queryableView)`,
      );
    if (this.stateValue === 'CREATED')
      throw new StreamsFatalError(
        `store("${name}"): call start() before querying the app's stores`,
      );
    const includeStandbys = options.includeStandbys ?? false;
    return builder.queryableView(
      () => this.tasks?.storeInstances(name, includeStandbys) ?? [],
    ) as S;
  }

  /**
   * Which worker hosts `key`'s active task for `store` (Kafka Streams' queryMetadataForKey),
   * from the group's metadata: its `applicationServer`, or undefined during a rebalance or
   * when that worker set none. The key is serialized with `keySerde` (default: the key serde
   * of the store's sub-topology's source) and partitioned as Kafka's default partitioner
   * does, so a store keyed like its input (or its repartition topic) is found.
   */
  metadataForKey<K>(store: string, key: K, keySerde?: Serde<K>): KeyQueryMetadata {
    if (this.groupView === undefined)
      throw new StreamsFatalError(`metadataForKey("${store}"): call start() first`);
    return this.groupView.metadataForKey(store, key, keySerde);
  }

  /** Every worker of the group as of the last rebalance: endpoint, active and standby tasks. */
  allMetadata(): readonly WorkerMetadata[] {
    return this.groupView?.allMetadata ?? [];
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

  /**
   * This worker's health, computed from local state only (never a request to Kafka), so a
   * probe answers at once even while the brokers do not.
   */
  health(): StreamsAppHealth {
    const state = this.stateValue;
    const tasks = { assigned: 0, running: 0, restoring: 0, starting: 0, waiting: 0 };
    const restoring: StreamsAppHealth['restoring'] = [];
    const manager = this.closing || state === 'NOT_RUNNING' ? undefined : this.tasks;
    const assigned = [...(manager?.assigned ?? [])].sort();
    for (const id of assigned) {
      tasks.assigned++;
      const taskState = manager?.task(id)?.state;
      if (taskState === 'RUNNING') tasks.running++;
      else if (taskState === 'RESTORING') tasks.restoring++;
      else if (taskState === 'CREATED') tasks.starting++;
      else tasks.waiting++;
      if (taskState !== 'RESTORING') continue;
      for (const e of this.restores.values())
        if (e.taskId === id)
          restoring.push({ taskId: id, store: e.store, restored: e.restored, total: e.total });
    }
    const health: StreamsAppHealth = {
      state,
      alive: state !== 'ERROR',
      ready: state === 'RUNNING' && tasks.running === tasks.assigned,
      tasks,
      restoring,
      lastCommitAgeMs: this.lastCommitAt === undefined ? null : Date.now() - this.lastCommitAt,
    };
    const owned = new Set(
      assigned.flatMap((id) =>
        (manager?.partitionsOf(id) ?? []).map((p) => topicPartitionKey(p.topic, p.partition)),
      ),
    );
    const partitions = [...this.fetchLag]
      .filter(([key]) => owned.has(key))
      .map(([, lag]) => ({ ...lag }))
      .sort((a, b) =>
        a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
      );
    if (partitions.length > 0)
      health.lag = { total: partitions.reduce((sum, p) => sum + p.records, 0), partitions };
    if (this.fatal) health.error = this.fatal.message;
    return health;
  }

  /** Called after every successful task commit. */
  onCommit(listener: CommitListener): () => void {
    this.commitListeners.push(listener);
    return () => void this.commitListeners.splice(this.commitListeners.indexOf(listener), 1);
  }

  /**
   * Connects, checks the topics, creates internal topics, joins the group and starts
   * processing. Resolves once the worker is in the group; rejects (state ERROR) with the
   * reason it cannot run, which is also logged once.
   */
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
    this.warnAboutSecurity();
    const client = await this.clientFactory(this.clientOptions());
    this.client = client;
    const topics = this.topology.subtopologies;
    const internal = new Set(this.topology.repartitionTopics.map((r) => r.topic));
    const userTopics = [
      ...new Set([
        ...topics.flatMap((s) => [...s.sourceTopics, ...s.sinkTopics]),
        ...this.topology.globalStores.map((g) => g.topic),
      ]),
    ].filter((t) => !internal.has(t));
    const counts = await client.admin.partitionCounts(userTopics).catch((err: unknown) => {
      throw this.startFailure(err);
    });
    if (o.processingGuarantee === 'exactly_once') await this.checkTransactionTimeout(client);
    const { partitionCounts, tasksPerSubtopology } = await new InternalTopics(
      client.admin,
      this.topology,
      o,
    ).setup(counts);
    for (const [topic, n] of partitionCounts) this.partitionCounts.set(topic, n);
    const specs = tasksOf(
      topics.map((s) => ({
        id: s.id,
        topics: s.sourceTopics,
        partitions: tasksPerSubtopology.get(s.id) ?? 0,
        stateful: [...s.stores.values()].some(isStandbyStore),
      })),
    );
    this.warnInMemoryStandbys();
    this.taskSpecs = new Map(specs.map((s) => [s.id, s]));

    await this.startGlobalState(client);
    if (o.processingGuarantee === 'at_least_once')
      this.plainProducer = client.producer({ compression: o.producer.compression });
    const consumer = client.groupConsumer({
      groupId: o.applicationId,
      assigner: this.assigner(),
      sessionTimeoutMs: o.sessionTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      // Tasks run on their own serial queues: batches of different tasks are processed (and
      // committed) side by side, so one slow task — a commit waiting out a dead coordinator, a
      // restore — does not hold back the others on the worker.
      partitionsConsumedConcurrently: PARTITIONS_CONSUMED_CONCURRENTLY,
      ...o.consumer,
    });
    this.consumer = consumer;
    this.tasks = this.taskManager(client, consumer);
    const tasks = this.tasks;
    const groupView = new GroupView({
      topology: this.topology,
      specs: () => [...this.taskSpecs.values()],
      standbyReplicas: o.numStandbyReplicas,
      describe: () => consumer.describeGroup(),
      standbys: (ids) => tasks.assignStandbys(ids),
      log: (level, message) => this.log(level, message),
      delay: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), // the group settling
    });
    this.groupView = groupView;
    consumer.on('groupJoin', (join) => {
      tasks.assign(join.assignment);
      // Standbys and the group's metadata come from DescribeGroups (kafkajs drops assignment userData).
      void groupView
        .joined(join)
        .catch((err: unknown) =>
          this.log('warn', `reading the group's metadata: ${messageOf(err)}`),
        );
    });
    consumer.on('rebalancing', () => {
      this.telemetry.rebalanced(o.applicationId);
      if (this.stateValue === 'RUNNING') this.setState('REBALANCING');
      groupView.rebalancing();
      tasks.rebalancing();
    });
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
    await consumer.subscribe([...new Set(topics.flatMap((s) => s.sourceTopics))]);
    await consumer.run((batch) => {
      this.noteFetchLag(batch);
      return tasks.process(batch);
    });
    this.stopLagObservation = this.telemetry.observeLag(o.applicationId, () => this.lag());
    this.stopStandbyObservation = this.telemetry.observeStandbys?.(o.applicationId, () =>
      tasks.standbyTasks.flatMap((id) =>
        (tasks.standby(id)?.storeLags ?? []).map(({ store, lag }) => ({ taskId: id, store, lag })),
      ),
    );
    this.timer = setInterval(
      () => tasks.tick(),
      Math.max(10, Math.min(100, Math.floor(o.commitIntervalMs / 2))),
    );
  }

  /** What every client of the app connects with: one place, so no client is left unsecured. */
  private clientOptions(): KafkaClientOptions {
    const o = this.options;
    return {
      brokers: [...o.brokers],
      clientId: o.clientId,
      ...(o.ssl === undefined ? {} : { ssl: o.ssl }),
      ...(o.sasl === undefined ? {} : { sasl: o.sasl }),
      connectionTimeoutMs: o.connectionTimeout,
      requestTimeoutMs: o.requestTimeout,
      retry: { ...o.retry },
      logLevel: CLIENT_LOG_LEVEL[o.logLevel],
      logger: (entry) => this.logClient(entry),
    };
  }

  /** Settings that work but expose the app: said once, at start. */
  private warnAboutSecurity(): void {
    const { ssl, sasl } = this.options;
    if (typeof ssl === 'object' && ssl.rejectUnauthorized === false)
      this.log(
        'warn',
        "ssl.rejectUnauthorized is false: the brokers' certificates are not verified, so anyone on the path can pose as a broker",
      );
    if (sasl?.mechanism === 'plain' && ssl === undefined)
      this.log(
        'warn',
        'sasl mechanism plain without ssl: the password crosses the network in clear text (set ssl, or use scram-sha-512)',
      );
  }

  /** Why the first request to the cluster failed, in words that say what to fix. */
  private startFailure(err: unknown): StreamsFatalError {
    const o = this.options;
    const brokers = o.brokers.join(', ');
    const security = securityFailure(err);
    if (security === 'sasl') {
      const who =
        o.sasl === undefined
          ? 'without sasl settings'
          : o.sasl.mechanism === 'oauthbearer'
            ? 'with mechanism oauthbearer'
            : `as user ${o.sasl.username} with mechanism ${o.sasl.mechanism}`;
      return new StreamsFatalError(
        `SASL authentication failed at the Kafka brokers ${brokers} ${who}: ${rootMessage(err)}`,
        { cause: err },
      );
    }
    if (security === 'tls')
      return new StreamsFatalError(
        `TLS handshake with the Kafka brokers ${brokers} failed: ${rootMessage(err)} ` +
          '(ssl.ca must hold the CA that signed the brokers’ certificates, for the host you connect to)',
        { cause: err },
      );
    if (isUnreachable(err))
      return new StreamsFatalError(
        `Cannot reach the Kafka brokers ${brokers}: ${rootMessage(err)}`,
        {
          cause: err,
        },
      );
    const missing = classify(err).type === 'UNKNOWN_TOPIC_OR_PARTITION';
    if (missing)
      return new StreamsFatalError(`Source or sink topics are missing: ${messageOf(err)}`, {
        cause: err,
      });
    // A TLS listener answers a plaintext client by closing the connection.
    const hint =
      o.ssl === undefined && /closed connection/i.test(rootMessage(err))
        ? ' (the brokers closed the connection: if their listener uses TLS, set ssl)'
        : '';
    return new StreamsFatalError(
      `Cannot read the topics' metadata from the Kafka brokers ${brokers}: ${messageOf(err)}${hint}`,
      { cause: err },
    );
  }

  /** A transaction timeout above the broker's maximum fails every InitProducerId: say so now. */
  private async checkTransactionTimeout(client: KafkaClient): Promise<void> {
    const name = 'transaction.max.timeout.ms';
    const configs = await client.admin.brokerConfigs([name]).catch(() => new Map<string, string>());
    const max = Number(configs.get(name));
    if (Number.isFinite(max) && this.options.transactionTimeoutMs > max) {
      throw new StreamsConfigError(
        'transactionTimeoutMs',
        `${this.options.transactionTimeoutMs} is above the brokers' ${name} (${max}): lower transactionTimeoutMs or raise ${name}`,
      );
    }
  }

  private taskManager(client: KafkaClient, consumer: GroupConsumer): TaskManager {
    const o = this.options;
    const internalTopics = new InternalTopics(client.admin, this.topology, o);
    const plainProducer = this.plainProducer;
    return new TaskManager({
      topology: this.topology,
      options: o,
      specs: this.taskSpecs,
      consumer,
      environment: (taskId, control) =>
        createTaskEnvironment(taskId, {
          options: o,
          client,
          ...(plainProducer
            ? {
                atLeastOnce: {
                  producer: plainProducer,
                  commitOffsets: (offsets) => consumer.commitOffsets(offsets),
                },
              }
            : {}),
          seek: (_task, topic, partition, offset) => control.seek(topic, partition, offset),
          pause: (_task, topic, partition) => control.pause(topic, partition),
          resume: (_task, topic, partition) => control.resume(topic, partition),
          wake: () => control.wake(),
          partitionCount: (topic) => this.partitionCounts.get(topic),
          fetchPartitionCount: async (topic) => {
            const n = (await client.admin.partitionCounts([topic])).get(topic);
            if (n === undefined) throw new Error(`topic ${topic} does not exist`);
            this.partitionCounts.set(topic, n);
            return n;
          },
          now: () => Date.now(),
          log: (level, message, fields) => this.log(level, message, fields),
          committed: (event) => {
            this.lastCommitAt = Date.now();
            for (const listener of this.commitListeners) listener(event);
          },
          restoring: (event) => {
            const key = `${event.taskId}/${event.store}`;
            if (event.done) this.restores.delete(key);
            else this.restores.set(key, event);
            for (const listener of this.restoreListeners) listener(event);
          },
          processorInstances: this.processorInstances,
          ...(this.globalState
            ? { globalStore: (name: string) => this.globalState?.store(name) }
            : {}),
        }),
      standbyEnvironment: () =>
        createStandbyEnvironment({
          options: o,
          client,
          log: (level, message) => this.log(level, message),
          replayed: ({ taskId, store, records }) =>
            this.telemetry.standbyReplayed?.(o.applicationId, taskId, store, records),
        }),
      purge: (offsets) => internalTopics.purge(offsets),
      log: (level, message, fields) => this.log(level, message, fields),
      fatal: (error) => void this.failApp(error),
      changed: () => this.updateRunningState(),
      now: () => Date.now(),
    });
  }

  /**
   * Restores the global stores before any task starts (Kafka Streams bootstraps them before
   * its stream threads), then keeps them current from a loop of their own — the worker's
   * "global thread". A failed read is retried; anything else stops the app.
   */
  private async startGlobalState(client: KafkaClient): Promise<void> {
    if (this.topology.globalStores.length === 0) return;
    const globalState = new GlobalStateManager(this.topology.globalStores, {
      options: this.options,
      client,
      log: (level, message) => this.log(level, message),
    });
    this.globalState = globalState;
    await globalState.start();
    const loop = (delayMs: number): void => {
      if (this.closing) return;
      this.globalTimer = setTimeout(() => {
        void globalState.poll().then(
          () => loop(GLOBAL_POLL_INTERVAL_MS),
          (err: unknown) => {
            if (this.closing) return;
            if (err instanceof ClientError && err.kind !== 'fatal') {
              this.log('warn', `global stores: reading failed, retrying: ${messageOf(err)}`);
              loop(GLOBAL_RETRY_MS);
              return;
            }
            void this.failApp(
              err instanceof StreamsError
                ? err
                : new StreamsFatalError(`The global stores failed: ${messageOf(err)}`, {
                    cause: err,
                  }),
            );
          },
        );
      }, delayMs);
    };
    loop(GLOBAL_POLL_INTERVAL_MS);
  }

  private assigner(): GroupAssigner {
    return {
      name: 'streamtx-task',
      version: 1,
      // Sent with every JoinGroup: what the leader (and, through DescribeGroups, every
      // member) computes the assignment from (docs/architecture.md, "Standby replicas").
      subscriptionUserData: () =>
        encodeClaims({
          owned: this.tasks?.owned ?? [],
          offsets: this.tasks?.stateOffsets() ?? {},
          ...(this.options.applicationServer === undefined
            ? {}
            : { endpoint: this.options.applicationServer }),
          ...(this.options.rackId === undefined ? {} : { rack: this.options.rackId }),
        }),
      assign: ({ members }) => {
        const byMember = assignGroup(
          [...this.taskSpecs.values()],
          members.map((m) => ({ memberId: m.memberId, claims: decodeClaims(m.userData) })),
          { standbyReplicas: this.options.numStandbyReplicas },
        ).active;
        return new Map(
          [...byMember].map(([memberId, tasks]) => [
            memberId,
            { assignment: toTopicPartitions(tasks) },
          ]),
        );
      },
    };
  }

  /** Consumer lag of the partitions this worker owns: last stable offset − committed offset. */
  private async lag(): Promise<LagSample[]> {
    const admin = this.client?.admin;
    const tasks = this.tasks;
    if (!admin || !tasks || this.closing) return [];
    const owned = [...tasks.assigned].flatMap((id) => tasks.partitionsOf(id));
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

  /** The lag a fetched batch shows: the high watermark then, minus the offset after the batch. */
  private noteFetchLag(batch: ConsumedBatch): void {
    const last = batch.records[batch.records.length - 1];
    if (last === undefined) return;
    const behind = batch.highWatermark - (last.offset + 1n);
    this.fetchLag.set(topicPartitionKey(batch.topic, batch.partition), {
      topic: batch.topic,
      partition: batch.partition,
      records: Number(behind > 0n ? behind : 0n),
    });
  }

  private updateRunningState(): void {
    if (this.stateValue !== 'REBALANCING' && this.stateValue !== 'RUNNING') return;
    if (this.tasks?.allRunning && this.stateValue === 'REBALANCING') this.setState('RUNNING');
  }

  /** A standby keeps persistent stores only: say so once for a logged store kept in memory. */
  private warnInMemoryStandbys(): void {
    if (this.options.numStandbyReplicas === 0) return;
    for (const s of this.topology.subtopologies)
      for (const [name, builder] of s.stores)
        if (builder.loggingEnabled && !isStandbyStore(builder))
          this.log(
            'warn',
            `numStandbyReplicas: store ${name} is in memory (no file for a standby to keep); it is restored in full when its task moves`,
          );
  }

  // --- shutdown ---

  private async failApp(error: StreamsError): Promise<void> {
    if (this.fatal) return;
    this.fatal = error;
    this.log('error', `stopping: ${error.message}`, contextFields(error));
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
    this.stopStandbyObservation?.();
    if (this.globalTimer) clearTimeout(this.globalTimer);
    await this.tasks?.closeAll();
    // A poll in flight stops at its next batch; waiting for it could mean waiting out a
    // read's timeout on a dead broker.
    await this.globalState?.close();
    await this.consumer?.close().catch(() => undefined);
    await this.plainProducer?.close().catch(() => undefined);
    await this.client?.close().catch(() => undefined);
    this.setState(this.fatal ? 'ERROR' : 'NOT_RUNNING');
  }

  private setState(next: StreamsAppState): void {
    const previous = this.stateValue;
    if (previous === next) return;
    if (!APP_TRANSITIONS[previous].includes(next)) return;
    this.stateValue = next;
    for (const listener of this.stateListeners) listener(next, previous);
  }

  private log(level: LogMethod, message: string, fields: LogFields = {}): void {
    if (!logs(this.options.logLevel, level)) return;
    try {
      this.logger[level](fields, message);
    } catch {
      // a failing logger must not fail the commit path that logged
    }
  }

  /**
   * A Kafka client line: its level as kafkajs gave it, its context as fields, its message
   * prefixed with where it came from (and the broker, for the default format's readers).
   */
  private logClient(entry: ClientLogEntry): void {
    const { broker, error } = entry.extra;
    let message = `kafkajs ${entry.namespace}: ${entry.message}`;
    if (typeof error === 'string' && !message.includes(error)) message += `: ${error}`;
    if (typeof broker === 'string' && !message.includes(broker)) message += ` (broker ${broker})`;
    this.log(entry.level, message, {
      ...entry.extra,
      component: 'kafkajs',
      namespace: entry.namespace,
    });
  }
}

/** A dead-letter topic that the app reads (or owns) would feed bad records back to itself. */
function checkDeadLetterTopic(options: CompiledStreamsAppOptions, topology: BuiltTopology): void {
  const handler = options.deserializationErrorHandler;
  if (typeof handler !== 'object') return;
  const topic = handler.deadLetterTopic;
  const field = 'deserializationErrorHandler.deadLetterTopic';
  if (
    topology.subtopologyByTopic.has(topic) ||
    topology.globalStores.some((g) => g.topic === topic)
  ) {
    throw new StreamsConfigError(
      field,
      `"${topic}" is a source topic of the topology: a record that cannot be deserialized would be read back and fail again, for ever`,
    );
  }
  const stores = topology.subtopologies.flatMap((s) => [...s.stores.keys()]);
  if (stores.some((store) => changelogTopic(options.applicationId, store) === topic)) {
    throw new StreamsConfigError(field, `"${topic}" is a changelog topic of the app`);
  }
}

/** The app's log level, as the client's (kafkajs's NOTHING for none). */
const CLIENT_LOG_LEVEL: Readonly<Record<LogLevel, ClientLogLevel>> = {
  none: 'nothing',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
};

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The innermost message of an error's cause chain: what actually failed. */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return messageOf(e);
}

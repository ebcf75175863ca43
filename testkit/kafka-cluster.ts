/**
 * Real Apache Kafka brokers in KRaft mode on loopback, started from the broker
 * jars (see kafka-install.ts), with the faults the chaos harness needs: kill,
 * stop, restart, pause, resume.
 *
 * Processes never outlive their owner: every cluster has a watchdog shell
 * whose stdin is a pipe from this process; when this process dies by any
 * means the pipe closes, and the watchdog SIGKILLs the brokers and removes
 * the cluster's directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKafkaClient,
  type KafkaAdmin,
  type KafkaClient,
  type KafkaClientOptions,
  type SaslOptions,
  type TlsOptions,
} from '../framework/client/index.ts';
import { createServerCertificate, createTestCa } from './internals/tls.ts';
import { ensureKafka, findJava, type KafkaInstallOptions } from './kafka-install.ts';
import { waitFor } from './wait.ts';

/** Where and how to connect to a cluster: what `StreamsAppOptions` and the testkit helpers take. */
export interface KafkaConnection {
  brokers: readonly string[];
  ssl?: boolean | TlsOptions;
  sasl?: SaslOptions;
}

/** A SCRAM user of a secured cluster. */
export interface ScramUser {
  username: string;
  password: string;
}

export interface SecuredClusterOptions {
  /**
   * SCRAM users created when the brokers' storage is formatted (KRaft: `kafka-storage format
   * --add-scram`), each with a SCRAM-SHA-256 and a SCRAM-SHA-512 credential.
   * @default one user, `streamtx`, with a random password
   */
  users?: ScramUser[];
}

/** What a secured cluster's clients need to know. */
export interface ClusterSecurity {
  /** PEM of the CA that signed the brokers' certificate (made when the cluster started). */
  caPem: string;
  users: readonly ScramUser[];
}

export interface KafkaClusterOptions extends KafkaInstallOptions {
  /** Number of brokers, 1 to 5. @default 1 */
  brokers?: number;
  /** Max heap per broker in MiB; small so 3 brokers + 3 workers fit 2 cores. @default 384 */
  heapMb?: number;
  /** Extra broker settings (server.properties keys), applied to every broker. */
  brokerConfig?: Record<string, string | number | boolean>;
  /** Parent directory of the cluster's directory. @default os.tmpdir() */
  baseDir?: string;
  /** How long start() and restart() wait for the cluster to say it is ready. @default 120000 */
  startTimeoutMs?: number;
  /** Progress and diagnostics. */
  log?: (line: string) => void;
  /**
   * A secured cluster: clients connect over SASL_SSL only — TLS with a certificate for
   * 127.0.0.1/localhost signed by a CA made at start, SASL with SCRAM-SHA-256 or -512. The
   * brokers talk to each other over the same listener (SCRAM-SHA-512, a user of their own);
   * the KRaft controller listener stays PLAINTEXT on loopback. `clientOptions()` hands tests
   * the ssl and sasl settings. Needs openssl.
   */
  secured?: boolean | SecuredClusterOptions;
}

export interface TopicOptions {
  /** @default 1 */
  partitions?: number;
  /** @default min(3, brokers) */
  replicationFactor?: number;
  /** Topic configs; min.insync.replicas defaults to min(2, replicationFactor). */
  config?: Record<string, string | number>;
}

export type BrokerState = 'running' | 'paused' | 'stopped';

interface Broker {
  id: number;
  port: number;
  controllerPort: number | undefined;
  dir: string;
  logFile: string;
  process: ChildProcess | undefined;
  state: BrokerState;
  exited: Promise<void> | undefined;
}

const MAX_BROKERS = 5;

/** The brokers' own SCRAM user, for the inter-broker listener. */
const BROKER_USER = 'streamtx-broker';

interface Security extends ClusterSecurity {
  brokerPassword: string;
  keystoreFile: string;
  keystorePassword: string;
  caFile: string;
}

export class KafkaCluster {
  private readonly brokers = new Map<number, Broker>();
  private watchdog: ChildProcess | undefined;
  private stopped = false;
  private admin: KafkaClient | undefined;
  private external: string[] | undefined;
  private securityValue: Security | undefined;

  private constructor(
    readonly dir: string,
    readonly version: string,
    private readonly classpath: string,
    private readonly java: string,
    private readonly options: Required<Pick<KafkaClusterOptions, 'heapMb' | 'startTimeoutMs'>> &
      KafkaClusterOptions,
  ) {}

  /** Starts a new cluster and resolves once every broker is in the cluster metadata. */
  static async start(options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
    const n = options.brokers ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > MAX_BROKERS) {
      throw new RangeError(
        `KafkaClusterOptions.brokers must be an integer from 1 to ${MAX_BROKERS}, got ${n}`,
      );
    }
    const users = securedUsers(options.secured);
    const java = findJava();
    const install = await ensureKafka(options);
    const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'streamtx-kafka-'));
    const cluster = new KafkaCluster(dir, install.version, install.classpath, java, {
      heapMb: 384,
      startTimeoutMs: 120_000,
      ...options,
    });
    try {
      if (users) cluster.securityValue = makeSecurity(join(dir, 'tls'), users);
      await cluster.launch(n);
    } catch (err) {
      const tails = [...cluster.brokers.keys()].map((id) => cluster.logTail(id, 30)).join('\n');
      await cluster.stop();
      throw new Error(`Kafka cluster did not start: ${(err as Error).message}\n${tails}`, {
        cause: err,
      });
    }
    return cluster;
  }

  /**
   * A cluster someone else runs (e.g. STREAMTX_BOOTSTRAP=host:port): topics and
   * metadata work; faults (kill, pause, restart) throw, naming why.
   */
  static connect(bootstrapServers: string[]): KafkaCluster {
    const cluster = new KafkaCluster('', 'external', '', '', { heapMb: 0, startTimeoutMs: 0 });
    cluster.external = bootstrapServers;
    return cluster;
  }

  /**
   * The cluster tests and the demo use: the external one named by
   * STREAMTX_BOOTSTRAP when set, else a new local one.
   */
  static async fromEnv(options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
    const bootstrap = process.env.STREAMTX_BOOTSTRAP;
    if (bootstrap) return KafkaCluster.connect(bootstrap.split(',').map((s) => s.trim()));
    return KafkaCluster.start(options);
  }

  /** The CA and SCRAM users of a secured cluster; undefined for a plaintext one. */
  get security(): ClusterSecurity | undefined {
    const s = this.securityValue;
    return s && { caPem: s.caPem, users: s.users };
  }

  /**
   * Connection settings for this cluster's clients: the bootstrap servers, and for a secured
   * cluster TLS trusting its CA and SASL/SCRAM as one of its users (the first by default).
   * Spread into `StreamsAppOptions`, or pass to the testkit helpers.
   */
  clientOptions(
    options: { mechanism?: 'scram-sha-256' | 'scram-sha-512'; username?: string } = {},
  ): KafkaConnection & { brokers: string[] } {
    const s = this.securityValue;
    if (!s) {
      if (options.mechanism !== undefined || options.username !== undefined)
        throw new Error(
          'clientOptions(): this cluster is not secured (KafkaClusterOptions.secured)',
        );
      return { brokers: this.bootstrapServers };
    }
    const user =
      options.username === undefined
        ? s.users[0]
        : s.users.find((u) => u.username === options.username);
    if (!user)
      throw new Error(
        `clientOptions(): no user ${options.username} (users: ${s.users.map((u) => u.username).join(', ')})`,
      );
    return {
      brokers: this.bootstrapServers,
      ssl: { ca: [s.caPem] },
      sasl: {
        mechanism: options.mechanism ?? 'scram-sha-512',
        username: user.username,
        password: user.password,
      },
    };
  }

  /** True for a cluster from connect(): no process control. */
  get isExternal(): boolean {
    return this.external !== undefined;
  }

  /** Bootstrap addresses of all brokers (running or not). */
  get bootstrapServers(): string[] {
    if (this.external) return [...this.external];
    return [...this.brokers.values()].map((b) => `127.0.0.1:${b.port}`);
  }

  get brokerIds(): number[] {
    return [...this.brokers.keys()];
  }

  brokerState(id: number): BrokerState {
    return this.broker(id).state;
  }

  /** Pid of a running or paused broker's JVM. */
  pid(id: number): number | undefined {
    return this.broker(id).process?.pid;
  }

  logFile(id: number): string {
    return this.broker(id).logFile;
  }

  /** The last lines of a broker's log, for diagnosing a failed test. */
  logTail(id: number, lines = 50): string {
    try {
      const text = readFileSync(this.broker(id).logFile, 'utf8').trimEnd().split('\n');
      return `--- broker ${id} log (last ${lines} lines) ---\n` + text.slice(-lines).join('\n');
    } catch {
      return `--- broker ${id}: no log ---`;
    }
  }

  /** SIGKILL: the broker dies without a controlled shutdown. */
  async kill(id: number): Promise<void> {
    const b = this.broker(id);
    if (b.state === 'stopped') return;
    b.process?.ref(); // hold the event loop open until the exit is seen
    b.process?.kill('SIGKILL');
    await b.exited;
  }

  /**
   * `stop(id)`: controlled shutdown of one broker (SIGTERM), waiting for its
   * JVM to exit. `stop()`: the whole cluster — every broker SIGKILLed (its
   * data is thrown away anyway) and the cluster's directory removed.
   */
  async stop(id?: number): Promise<void> {
    if (id === undefined) return this.stopAll();
    const b = this.broker(id);
    if (b.state === 'stopped') return;
    b.process?.ref();
    if (b.state === 'paused') b.process?.kill('SIGCONT');
    b.process?.kill('SIGTERM');
    const timer = setTimeout(() => b.process?.kill('SIGKILL'), 30_000);
    await b.exited;
    clearTimeout(timer);
  }

  /** Stops the broker if it runs, starts it again on the same ports and data, waits until it is back in the metadata. */
  async restart(id: number): Promise<void> {
    await this.stop(id);
    this.spawnBroker(this.broker(id));
    await this.waitForBrokers([id]);
  }

  /** SIGSTOP: the broker stays connected but answers nothing, like a long GC pause. */
  pause(id: number): void {
    const b = this.broker(id);
    if (b.state !== 'running') throw new Error(`broker ${id} is ${b.state}, cannot pause it`);
    b.process?.kill('SIGSTOP');
    b.state = 'paused';
  }

  resume(id: number): void {
    const b = this.broker(id);
    if (b.state !== 'paused') throw new Error(`broker ${id} is ${b.state}, cannot resume it`);
    b.process?.kill('SIGCONT');
    b.state = 'running';
  }

  async createTopic(name: string, options: TopicOptions = {}): Promise<void> {
    const size = this.external ? (await this.liveBrokerIds()).length : this.brokers.size;
    const replicationFactor = options.replicationFactor ?? Math.min(3, size);
    const config: Record<string, string | number> = {
      'min.insync.replicas': Math.min(2, replicationFactor),
      ...options.config,
    };
    const partitions = options.partitions ?? 1;
    await this.withAdmin(async (admin) => {
      if ((await admin.listTopics()).includes(name))
        throw new Error(`topic ${name} already exists`);
      await admin.createTopics([
        {
          topic: name,
          partitions,
          replicationFactor,
          config: Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])),
        },
      ]);
    });
    // The asked broker knows the leaders; wait until every broker does.
    await waitFor(() => this.everyBrokerKnows(name, partitions), {
      timeoutMs: 60_000,
      what: `leaders for every partition of ${name} in every broker's metadata`,
    });
  }

  /** Broker id of the current leader of a partition (-1 when it has none). */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const meta = await this.withAdmin((admin) => admin.topicMetadata([topic]));
    const p = meta.get(topic)?.find((x) => x.partition === partition);
    if (!p) throw new Error(`${topic}-${partition} does not exist`);
    return p.leader;
  }

  /**
   * Broker id of the transaction coordinator of a transactional id: the leader
   * of its __transaction_state partition, which the broker picks as
   * abs(javaHashCode(id)) % partitionCount (TransactionStateManager). The
   * topic exists once any transactional producer has initialised.
   */
  async transactionCoordinatorOf(transactionalId: string): Promise<number> {
    const meta = await this.withAdmin((admin) =>
      admin.topicMetadata(['__transaction_state']).catch(() => new Map()),
    );
    const partitions = meta.get('__transaction_state')?.length ?? 0;
    if (partitions === 0)
      throw new Error(
        '__transaction_state does not exist yet: no transactional producer has initialised',
      );
    return this.leaderOf(
      '__transaction_state',
      transactionStatePartition(transactionalId, partitions),
    );
  }

  /** Broker ids the cluster metadata currently lists (registered and unfenced). */
  async liveBrokerIds(): Promise<number[]> {
    const info = await this.withAdmin((admin) => admin.describeCluster());
    return info.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  }

  private async stopAll(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.admin?.close().catch(() => undefined);
    this.admin = undefined;
    if (this.external) return;
    await Promise.all([...this.brokers.values()].map((b) => this.kill(b.id)));
    // Closing the watchdog's stdin makes it clean up, as if we had died.
    const wd = this.watchdog;
    if (wd && wd.exitCode === null) {
      const gone = new Promise<void>((resolve) => wd.once('exit', () => resolve()));
      wd.ref();
      wd.stdin?.end();
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
    process.removeListener('exit', this.onParentExit);
  }

  // --- internals ---

  private broker(id: number): Broker {
    if (this.external) {
      throw new Error(
        `broker ${id} belongs to an external cluster (STREAMTX_BOOTSTRAP): streamtx cannot kill, pause or restart it`,
      );
    }
    const b = this.brokers.get(id);
    if (!b)
      throw new Error(`no broker ${id} in this cluster (brokers: ${this.brokerIds.join(', ')})`);
    return b;
  }

  private readonly onParentExit = (): void => {
    for (const b of this.brokers.values()) {
      try {
        if (b.process?.pid && b.state !== 'stopped') process.kill(b.process.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  };

  private async launch(n: number): Promise<void> {
    this.startWatchdog();
    process.on('exit', this.onParentExit);
    // A quorum of 3 controllers survives the loss of any one; with fewer than
    // 3 brokers a single controller is as good as it gets.
    const voters = n >= 3 ? 3 : 1;
    const ports = await freePorts(n + voters);
    for (let id = 1; id <= n; id++) {
      const dir = join(this.dir, `broker-${id}`);
      mkdirSync(join(dir, 'data'), { recursive: true });
      this.brokers.set(id, {
        id,
        port: ports[id - 1]!,
        controllerPort: id <= voters ? ports[n + id - 1]! : undefined,
        dir,
        logFile: join(dir, 'broker.log'),
        process: undefined,
        state: 'stopped',
        exited: undefined,
      });
    }
    // A base64url id may start with '-', which the storage tool would read as an option.
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    const quorum = [...this.brokers.values()]
      .filter((b) => b.controllerPort !== undefined)
      .map((b) => `${b.id}@127.0.0.1:${b.controllerPort}`)
      .join(',');
    for (const b of this.brokers.values()) {
      writeFileSync(join(b.dir, 'server.properties'), this.brokerProperties(b, n, quorum));
    }
    await Promise.all([...this.brokers.values()].map((b) => this.format(b, clusterId)));
    for (const b of this.brokers.values()) this.spawnBroker(b);
    await this.waitForBrokers(this.brokerIds);
  }

  private brokerProperties(b: Broker, n: number, quorum: string): string {
    const rf = Math.min(3, n);
    const isr = Math.min(2, n);
    const controller = b.controllerPort !== undefined;
    const listener = this.securityValue ? 'SASL_SSL' : 'PLAINTEXT';
    const props: Record<string, string | number | boolean> = {
      'process.roles': controller ? 'broker,controller' : 'broker',
      'node.id': b.id,
      'controller.quorum.voters': quorum,
      listeners:
        `${listener}://127.0.0.1:${b.port}` +
        (controller ? `,CONTROLLER://127.0.0.1:${b.controllerPort}` : ''),
      'advertised.listeners': `${listener}://127.0.0.1:${b.port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': listener,
      'listener.security.protocol.map': `${listener}:${listener},CONTROLLER:PLAINTEXT`,
      ...this.securityProperties(),
      'log.dirs': join(b.dir, 'data'),
      'auto.create.topics.enable': false,
      'default.replication.factor': rf,
      'offsets.topic.replication.factor': rf,
      'offsets.topic.num.partitions': 10,
      'transaction.state.log.replication.factor': rf,
      'transaction.state.log.min.isr': isr,
      'transaction.state.log.num.partitions': 10,
      'share.coordinator.state.topic.replication.factor': rf,
      'share.coordinator.state.topic.min.isr': isr,
      'group.initial.rebalance.delay.ms': 0,
      // A SIGKILLed broker is noticed in seconds, not the default 9 s, so
      // leadership moves while a test or chaos run is still watching.
      'broker.heartbeat.interval.ms': 500,
      'broker.session.timeout.ms': 4000,
      'replica.lag.time.max.ms': 10000,
      // Small thread pools and buffers: 3 brokers share 2 cores with workers.
      'num.network.threads': 2,
      'num.io.threads': 4,
      'background.threads': 4,
      'log.cleaner.threads': 1,
      'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
      ...this.options.brokerConfig,
    };
    return (
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') + '\n'
    );
  }

  /**
   * SASL_SSL for clients and between brokers. SCRAM credentials live in the cluster metadata
   * (KIP-554), so the brokers' own user is created by `format --add-scram` before any broker
   * can authenticate to another; the KRaft controller listener cannot use SCRAM (its
   * credentials are in the metadata it serves), hence PLAINTEXT on loopback.
   */
  private securityProperties(): Record<string, string> {
    const s = this.securityValue;
    if (!s) return {};
    const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required';
    return {
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': `${scram};`,
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `${scram} username="${BROKER_USER}" password="${s.brokerPassword}";`,
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': s.keystoreFile,
      'ssl.keystore.password': s.keystorePassword,
      'ssl.key.password': s.keystorePassword,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': s.caFile,
      'ssl.client.auth': 'none',
    };
  }

  /** `--add-scram` arguments of the storage tool: every user, and the brokers' own, in both mechanisms. */
  private scramArguments(): string[] {
    const s = this.securityValue;
    if (!s) return [];
    const users = [...s.users, { username: BROKER_USER, password: s.brokerPassword }];
    return users.flatMap((u) =>
      ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
        '--add-scram',
        `${mechanism}=[name=${u.username},password=${u.password}]`,
      ]),
    );
  }

  private jvmArgs(): string[] {
    return [
      `-Xmx${this.options.heapMb}m`,
      '-Xms64m',
      '-XX:+UseSerialGC',
      '-XX:-UsePerfData',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.config=warn',
      '-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaConfig=warn',
      '-cp',
      this.classpath,
    ];
  }

  private format(b: Broker, clusterId: string): Promise<void> {
    const log = join(b.dir, 'format.log');
    const fd = openSync(log, 'a');
    const child = spawn(
      this.java,
      [
        ...this.jvmArgs(),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        join(b.dir, 'server.properties'),
        ...this.scramArguments(),
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `formatting broker ${b.id} failed (exit ${code}):\n${readFileSync(log, 'utf8').slice(-3000)}`,
            ),
          );
      });
    });
  }

  private spawnBroker(b: Broker): void {
    if (this.stopped) throw new Error('the cluster was stopped');
    const fd = openSync(b.logFile, 'a');
    const child = spawn(
      this.java,
      [
        ...this.jvmArgs(),
        `-Dstreamtx.cluster=${this.dir}`,
        'kafka.Kafka',
        join(b.dir, 'server.properties'),
      ],
      // Own process group: a Ctrl-C to the test runner reaches the watchdog's
      // cleanup, not the brokers mid-test.
      { stdio: ['ignore', fd, fd], detached: true },
    );
    closeSync(fd);
    child.unref();
    b.process = child;
    b.state = 'running';
    b.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        if (b.process === child) {
          b.state = 'stopped';
          b.process = undefined;
        }
        resolve();
      });
    });
    writeFileSync(join(this.dir, 'pids', String(b.id)), String(child.pid));
    this.options.log?.(`broker ${b.id} started (pid ${child.pid}, 127.0.0.1:${b.port})`);
  }

  private startWatchdog(): void {
    mkdirSync(join(this.dir, 'pids'), { recursive: true });
    // Reads stdin until EOF (our death or stop()), then kills whatever pids
    // the cluster recorded and removes its directory.
    const script = `
      while read -r _; do :; done
      for f in "$1"/pids/*; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
      for f in "$1"/pids/*; do
        [ -f "$f" ] || continue
        p=$(cat "$f"); i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
      done
      rm -rf "$1"`;
    const wd = spawn('bash', ['-c', script, 'streamtx-kafka-watchdog', this.dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    wd.unref();
    // The pipe must not keep the event loop alive, only tie the watchdog to us.
    (wd.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.watchdog = wd;
  }

  private async waitForBrokers(ids: number[]): Promise<void> {
    await waitFor(
      async () => {
        for (const id of ids) {
          if (this.broker(id).state === 'stopped') {
            throw new Error(`broker ${id} exited during start-up:\n${this.logTail(id, 40)}`);
          }
        }
        // Ask every running broker: the restarted one answers only from its
        // new process (the old one is dead), and each lists the others once
        // its metadata caught up — clients may bootstrap from any of them.
        const running = this.brokerIds.filter((id) => this.broker(id).state === 'running');
        const answers = await Promise.all(running.map((id) => this.brokerLists(id, ids)));
        return answers.every(Boolean);
      },
      {
        timeoutMs: this.options.startTimeoutMs,
        what: `brokers ${ids.join(', ')} in the cluster metadata`,
      },
    );
  }

  private async everyBrokerKnows(topic: string, partitions: number): Promise<boolean> {
    const addresses = this.external ?? this.runningAddresses();
    const answers = await Promise.all(
      addresses.map((address) =>
        this.askBroker(address, async (admin) => {
          const ps = (await admin.topicMetadata([topic])).get(topic) ?? [];
          return ps.length === partitions && ps.every((p) => p.leader >= 0);
        }),
      ),
    );
    return answers.every(Boolean);
  }

  private runningAddresses(): string[] {
    return [...this.brokers.values()]
      .filter((b) => b.state === 'running')
      .map((b) => `127.0.0.1:${b.port}`);
  }

  /** One request to one broker through a throwaway client; false when it cannot answer. */
  private async askBroker(
    address: string,
    question: (admin: KafkaAdmin) => Promise<boolean>,
  ): Promise<boolean> {
    const client = await createKafkaClient({
      ...this.clientSecurity(),
      clientId: 'streamtx-testkit-probe',
      brokers: [address],
      logLevel: 'nothing',
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 5000,
      retry: { retries: 0 },
    });
    try {
      return await question(client.admin);
    } catch {
      return false;
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  private async brokerLists(id: number, expected: number[]): Promise<boolean> {
    return this.askBroker(`127.0.0.1:${this.broker(id).port}`, async (admin) => {
      const info = await admin.describeCluster();
      const listed = new Set(info.brokers.map((b) => b.nodeId));
      return (
        expected.every((e) => listed.has(e)) && info.controllerId !== null && info.controllerId >= 0
      );
    });
  }

  /** The ssl and sasl settings of the cluster's own clients (its first user). */
  private clientSecurity(): Pick<KafkaClientOptions, 'ssl' | 'sasl'> {
    if (!this.securityValue) return {};
    const { ssl, sasl } = this.clientOptions();
    return { ...(ssl === undefined ? {} : { ssl }), ...(sasl === undefined ? {} : { sasl }) };
  }

  private async withAdmin<T>(fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    // A fresh client whenever the last one failed: its connections may point
    // at a broker that was just killed.
    if (!this.admin) {
      const running = [...this.brokers.values()].filter((b) => b.state === 'running');
      const brokers =
        this.external ??
        (running.length > 0 ? running : [...this.brokers.values()]).map(
          (b) => `127.0.0.1:${b.port}`,
        );
      this.admin = await createKafkaClient({
        ...this.clientSecurity(),
        clientId: 'streamtx-testkit',
        brokers,
        logLevel: 'nothing',
        connectionTimeoutMs: 2000,
        requestTimeoutMs: 10_000,
        retry: { retries: 3, initialRetryTime: 100 },
      });
    }
    try {
      return await fn(this.admin.admin);
    } catch (err) {
      const client = this.admin;
      this.admin = undefined;
      await client?.close().catch(() => undefined);
      throw err;
    }
  }
}

const SCRAM_NAME = /^[A-Za-z0-9._-]+$/;

/** The users of a secured cluster (validated: they go into a storage-tool argument), or undefined. */
function securedUsers(secured: KafkaClusterOptions['secured']): ScramUser[] | undefined {
  if (secured === undefined || secured === false) return undefined;
  const users = (secured === true ? undefined : secured.users) ?? [
    { username: 'streamtx', password: randomBytes(12).toString('hex') },
  ];
  if (users.length === 0) throw new RangeError('KafkaClusterOptions.secured.users is empty');
  for (const [i, u] of users.entries()) {
    // The storage tool parses `[name=...,password=...]`: keep to characters it cannot misread.
    if (!SCRAM_NAME.test(u.username) || u.username === BROKER_USER)
      throw new RangeError(
        `KafkaClusterOptions.secured.users[${i}].username must match ${SCRAM_NAME} and not be ${BROKER_USER}`,
      );
    if (!SCRAM_NAME.test(u.password))
      throw new RangeError(
        `KafkaClusterOptions.secured.users[${i}].password must match ${SCRAM_NAME}`,
      );
  }
  return users;
}

function makeSecurity(dir: string, users: ScramUser[]): Security {
  const ca = createTestCa(dir);
  const broker = createServerCertificate(ca);
  return {
    caPem: ca.certPem,
    caFile: ca.certFile,
    users,
    brokerPassword: randomBytes(12).toString('hex'),
    keystoreFile: broker.keystoreFile,
    keystorePassword: broker.keystorePassword,
  };
}

/** Java's String.hashCode over UTF-16 code units, as a signed 32-bit int. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs(hashCode) % partitions, as TransactionStateManager.partitionFor computes it. */
export function transactionStatePartition(transactionalId: string, partitions: number): number {
  return (javaStringHashCode(transactionalId) & 0x7fffffff) % partitions;
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      });
    }),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * `npx tsx bench/peers/run.ts`: streamtx next to Apache Kafka Streams (and a
 * raw kafkajs loop as a baseline), the same topologies on the same real
 * cluster, measured the same way from outside. See bench/peers/README.md.
 *
 *   npx tsx bench/peers/run.ts --rounds 1 --records 20000 --brokers 1   # quick check
 *   npx tsx bench/peers/run.ts --out peers.json                         # full: 1 and 3 brokers, 3 rounds
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classify, createKafkaClient, type KafkaClient } from '../../framework/client/index.ts';
import type { ProcessingGuarantee } from '../../index.ts';
import { KafkaCluster, findJava, waitFor } from '../../testkit/index.ts';
import { RunScope } from './cleanup.ts';
import { ensureJavaPeer, type JavaPeer } from './java-peer.ts';
import { measureLatency, measureThroughput } from './measure.ts';
import {
  type LatencySample,
  type Machine,
  type RunConfig,
  type ThroughputSample,
  latencyRateText,
  latencyTable,
  machineLines,
  median,
  problemLines,
  throughputTable,
} from './report.ts';
import {
  JVM_OPTIONS,
  SYSTEMS,
  type AppSpec,
  type PeerProcess,
  type SystemName,
  runsUnder,
  startPeer,
  supports,
} from './systems.ts';
import { readOutput, verifyOutput } from './verify.ts';
import {
  TOPOLOGIES,
  VALUE_BYTES,
  type TopologyName,
  type Workload,
  inputKey,
  inputTimestamp,
  inputValue,
} from './workload.ts';

const PARTITIONS = 6;
/** Fewer polls than this between t0 and t1 (e.g. all committed in one 1 s transaction) time nothing. */
const MIN_TIMED_POLLS = 5;
/** Below this share of the input committed after the first commit, a run is too short to time. */
const MIN_TIMED_SHARE = 0.25;
const here = dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: npx tsx bench/peers/run.ts [options]
  --brokers 1,3            cluster sizes, one cluster each (default 1,3)
  --topology T[,T]         ${TOPOLOGIES.join(' | ')} (default all)
  --guarantee G[,G]        exactly_once | at_least_once (default both)
  --commit-interval-ms N   only the cells with this commit interval (default: exactly_once at 100 and 1000, at_least_once at 100)
  --systems S[,S]          ${SYSTEMS.join(' | ')} (default all; the kafkajs loop runs the map under exactly_once only)
  --rounds N               rounds, systems alternating within each (default 3)
  --records N              pre-loaded input records (default 100000)
  --keys N                 distinct keys (default 10000)
  --latency-seconds N      latency measurement per system and topology, 0 to skip (default 20)
  --warmup-seconds N       latency warm-up not counted (default 3)
  --latency-rate R         the latency runs' input rate: half-own (each system at half its own
                           exactly_once 100 ms median, the default), common (every system at
                           the lowest of those halves) or a number of records/s
  --poll-ms N              committed-offset poll interval (default 25)
  --out FILE               write the tables and every raw sample as JSON`;

class UsageError extends Error {}

interface Args extends RunConfig {
  out: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') throw new UsageError('');
    const [name, inline] = flag.split('=', 2) as [string, string | undefined];
    const known = [
      '--brokers',
      '--topology',
      '--guarantee',
      '--commit-interval-ms',
      '--systems',
      '--rounds',
      '--records',
      '--keys',
      '--latency-seconds',
      '--warmup-seconds',
      '--latency-rate',
      '--poll-ms',
      '--out',
    ];
    if (!known.includes(name)) throw new UsageError(`unknown option ${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    values.set(name, value);
  }
  const list = <T extends string>(name: string, allowed: readonly T[], fallback: T[]): T[] => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const items = raw.split(',').map((s) => s.trim());
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item))
        throw new UsageError(`${name}: '${item}' is not one of ${allowed.join(', ')}`);
    }
    return items as T[];
  };
  const int = (
    name: string,
    fallback: number,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
    return n;
  };
  const brokers = (values.get('--brokers') ?? '1,3').split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 5)
      throw new UsageError(`--brokers: '${s}' is not a broker count from 1 to 5`);
    return n;
  });
  const commit = values.has('--commit-interval-ms')
    ? [int('--commit-interval-ms', 100, 1)]
    : [100, 1000];
  return {
    brokers,
    topologies: list('--topology', TOPOLOGIES, [...TOPOLOGIES]),
    guarantees: list<ProcessingGuarantee>(
      '--guarantee',
      ['exactly_once', 'at_least_once'],
      ['exactly_once', 'at_least_once'],
    ),
    commitIntervals: commit,
    systems: list('--systems', SYSTEMS, [...SYSTEMS]),
    rounds: int('--rounds', 3, 1),
    records: int('--records', 100_000, 1),
    keys: int('--keys', 10_000, 1),
    partitions: PARTITIONS,
    valueBytes: VALUE_BYTES,
    pollMs: int('--poll-ms', 25, 1, 1000),
    latencySeconds: int('--latency-seconds', 20, 0),
    warmupSeconds: int('--warmup-seconds', 3, 0),
    latencyRate: latencyRateOf(values.get('--latency-rate')),
    out: values.get('--out'),
  };
}

function latencyRateOf(raw: string | undefined): RunConfig['latencyRate'] {
  if (raw === undefined || raw === 'half-own') return 'half-own';
  if (raw === 'common') return 'common';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(
      `--latency-rate must be half-own, common or records/s (an integer ≥ 1), got '${raw}'`,
    );
  return n;
}

/** The cells of the brief: exactly_once at 100 ms and 1 s, at_least_once at 100 ms. */
function cellsOf(
  config: RunConfig,
): { guarantee: ProcessingGuarantee; commitIntervalMs: number }[] {
  const all = [
    { guarantee: 'exactly_once' as const, commitIntervalMs: 100 },
    { guarantee: 'exactly_once' as const, commitIntervalMs: 1000 },
    { guarantee: 'at_least_once' as const, commitIntervalMs: 100 },
  ];
  const picked = all.filter(
    (c) =>
      config.guarantees.includes(c.guarantee) &&
      config.commitIntervals.includes(c.commitIntervalMs),
  );
  // An interval outside the brief's cells, asked for explicitly, runs under each guarantee.
  if (picked.length === 0)
    return config.guarantees.map((guarantee) => ({
      guarantee,
      commitIntervalMs: config.commitIntervals[0]!,
    }));
  return picked;
}

/** Internal topics the app reads back (a sub-topology downstream of a repartition). */
function internalSources(applicationId: string, topology: TopologyName): string[] {
  return topology === 'repartition-count' ? [`${applicationId}-regroup-repartition`] : [];
}

/** Kafka Streams' internal topics for a topology (named in KafkaStreamsPeer.java); streamtx's count changelog has the same name. */
function internalTopics(applicationId: string, topology: TopologyName): string[] {
  switch (topology) {
    case 'map':
      return [];
    case 'count':
      return [`${applicationId}-counts-changelog`];
    case 'windowed-count':
      return [`${applicationId}-wcounts-changelog`];
    case 'repartition-count':
      return [`${applicationId}-regroup-repartition`, `${applicationId}-rcounts-changelog`];
  }
}

const log = (line: string): void => void process.stderr.write(`[peers] ${line}\n`);

function describeMachine(java: JavaPeer | undefined, kafkaVersion: string): Machine {
  const javaVersion = spawnSync(findJava(), ['-version'], { encoding: 'utf8' });
  const kafkajs = JSON.parse(
    readFileSync(join(here, '..', '..', 'node_modules', 'kafkajs', 'package.json'), 'utf8'),
  ) as { version: string };
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: totalmem() / 2 ** 30,
    os: `${type()} ${release()}`,
    node: process.version,
    java: (javaVersion.stderr.split('\n')[0] ?? 'java ?').trim(),
    kafkaBroker: kafkaVersion,
    kafkaStreams: java?.kafkaStreamsVersion ?? 'not run',
    kafkajs: kafkajs.version,
    jvmOptions: JVM_OPTIONS,
  };
}

/** The cluster a run uses: its size, bootstrap servers and an adapter client. */
interface ClusterContext {
  brokers: number;
  servers: string[];
  client: KafkaClient;
}

class Bench {
  readonly throughput: ThroughputSample[] = [];
  readonly latency: LatencySample[] = [];
  readonly tag = Date.now().toString(36);
  kafkaVersion = 'unknown';

  constructor(
    readonly config: Args,
    readonly scope: RunScope,
    readonly java: JavaPeer | undefined,
  ) {}

  workload(): Workload {
    return {
      records: this.config.records,
      keys: this.config.keys,
      // In the past, 10 ms apart: the windowed count spans windows, no record is in the future.
      baseTimestamp: Date.now() - this.config.records * 10 - 60_000,
    };
  }

  async createTopic(ctx: ClusterContext, topic: string): Promise<void> {
    const replicationFactor = Math.min(3, ctx.brokers);
    await ctx.client.admin.createTopics([
      {
        topic,
        partitions: PARTITIONS,
        replicationFactor,
        config: { 'min.insync.replicas': String(Math.min(2, replicationFactor)) },
      },
    ]);
  }

  async deleteTopics(ctx: ClusterContext, topics: string[]): Promise<void> {
    for (const topic of topics) {
      // Internal topics a failed run never created are not an error.
      await ctx.client.admin.deleteTopics([topic]).catch(() => undefined);
    }
  }

  /**
   * A client for one run's reads. The adapter's client keeps every topic it
   * has read in its metadata requests, so once such a topic is deleted its
   * offset lookups and reads fail (UNKNOWN_TOPIC_OR_PARTITION): runs delete
   * their topics, so each run reads through its own client.
   */
  async withRunClient<T>(ctx: ClusterContext, fn: (client: KafkaClient) => Promise<T>): Promise<T> {
    const client = await createKafkaClient({
      brokers: ctx.servers,
      clientId: 'bench-peers-run',
      logLevel: 'nothing',
    });
    const forget = this.scope.defer(() => client.close());
    try {
      return await fn(client);
    } finally {
      await client.close();
      forget();
    }
  }

  /** Starts an app and registers its stop with the scope, so SIGINT stops it too. */
  start(spec: AppSpec): { app: PeerProcess; done: () => Promise<void> } {
    mkdirSync(spec.stateDir, { recursive: true });
    const app = startPeer(spec, this.scope, this.java);
    const forget = this.scope.defer(() => app.stop(5_000));
    return {
      app,
      done: async () => {
        await app.stop();
        forget();
        rmSync(spec.stateDir, { recursive: true, force: true });
      },
    };
  }

  async runCluster(brokers: number): Promise<void> {
    const { config } = this;
    log(`starting a ${brokers}-broker cluster`);
    const cluster = await KafkaCluster.start({ brokers });
    const stopCluster = this.scope.defer(() => cluster.stop());
    const client = await createKafkaClient({
      brokers: cluster.bootstrapServers,
      clientId: 'bench-peers',
      logLevel: 'nothing',
    });
    const closeClient = this.scope.defer(() => client.close());
    const ctx: ClusterContext = { brokers, servers: cluster.bootstrapServers, client };
    try {
      this.kafkaVersion = cluster.version;
      const workload = this.workload();
      const input = `peers-${this.tag}-b${brokers}-in`;
      await this.createTopic(ctx, input);
      await this.preload(client, input, workload);
      await this.warmCluster(ctx, input);
      const endOffsets = await client.admin.endOffsets(input, 'read_uncommitted');
      const total = [...endOffsets.values()].reduce((a, b) => a + b, 0n);
      if (total !== BigInt(workload.records))
        throw new Error(`${input} holds ${total} records after pre-loading ${workload.records}`);

      for (let round = 1; round <= config.rounds; round++) {
        for (const topology of config.topologies) {
          for (const { guarantee, commitIntervalMs } of cellsOf(config)) {
            const systems = config.systems.filter(
              (s) => supports(s, topology) && runsUnder(s, guarantee),
            );
            // Alternate who goes first, so neither system always runs on a warmer broker.
            if (round % 2 === 0) systems.reverse();
            for (const system of systems) {
              const sample = await this.runThroughput(ctx, round, input, endOffsets, workload, {
                system,
                topology,
                guarantee,
                commitIntervalMs,
              });
              this.throughput.push(sample);
            }
          }
        }
      }
      if (config.latencySeconds > 0) {
        for (const [t, topology] of config.topologies.entries()) {
          const systems = config.systems.filter((s) => supports(s, topology));
          if (t % 2 === 1) systems.reverse();
          const rates = this.latencyRates(brokers, topology, systems);
          for (const system of systems) {
            const rate = rates.get(system);
            if (rate === undefined) {
              log(
                `latency ${topology} ${system}: skipped, no valid exactly_once 100 ms throughput to set its rate`,
              );
              continue;
            }
            this.latency.push(await this.runLatency(ctx, topology, system, rate));
          }
        }
      }
    } finally {
      await client.close();
      closeClient();
      await cluster.stop();
      stopCluster();
    }
  }

  /**
   * One transaction with offsets before any run: creates __transaction_state
   * and __consumer_offsets and loads their coordinators, so the first run
   * measured does not pay for them.
   */
  async warmCluster(ctx: ClusterContext, input: string): Promise<void> {
    const producer = ctx.client.transactionalProducer(`peers-${this.tag}-warmup`, {
      transactionTimeoutMs: 10_000,
    });
    try {
      await waitFor(
        async () => {
          try {
            await producer.init();
            producer.begin();
            await producer.sendOffsets(`peers-${this.tag}-warmup`, [
              { topic: input, partition: 0, offset: 0n },
            ]);
            await producer.commit();
            return true;
          } catch (err) {
            if (classify(err).kind === 'fatal') throw err;
            return false; // coordinator still loading: init() again resolves the attempt
          }
        },
        { timeoutMs: 60_000, what: 'a first transaction on the new cluster' },
      );
    } finally {
      await producer.close();
    }
  }

  async preload(client: KafkaClient, topic: string, w: Workload): Promise<void> {
    log(`pre-loading ${w.records} records into ${topic}`);
    const producer = client.producer();
    try {
      for (let i = 0; i < w.records; i += 5000) {
        const records = [];
        for (let j = i; j < Math.min(w.records, i + 5000); j++) {
          records.push({
            key: inputKey(w, j),
            value: inputValue(j),
            timestamp: inputTimestamp(w, j),
          });
        }
        await producer.send(topic, records);
      }
    } finally {
      await producer.close();
    }
  }

  async runThroughput(
    ctx: ClusterContext,
    round: number,
    input: string,
    endOffsets: Map<number, bigint>,
    workload: Workload,
    cell: {
      system: SystemName;
      topology: TopologyName;
      guarantee: ProcessingGuarantee;
      commitIntervalMs: number;
    },
  ): Promise<ThroughputSample> {
    const { system, topology, guarantee, commitIntervalMs } = cell;
    const { brokers, client } = ctx;
    const g = guarantee === 'exactly_once' ? 'eos' : 'alos';
    const applicationId = `peers-${this.tag}-b${brokers}-${topology}-${g}-${commitIntervalMs}-${system}-r${round}`;
    const output = `${applicationId}-out`;
    const sample: ThroughputSample = {
      brokers,
      topology,
      guarantee,
      commitIntervalMs,
      system,
      round,
      applicationId,
      records: workload.records,
      seconds: Number.NaN,
      recordsPerSec: Number.NaN,
      timedRecords: 0,
      startupMs: Number.NaN,
      peakRssMiB: Number.NaN,
      outputRecords: 0,
      valid: false,
      problems: [],
      loadAverage: loadavg()[0] ?? 0,
    };
    await this.createTopic(ctx, output);
    const startedAt = performance.now();
    const { app, done } = this.start({
      system,
      topology,
      guarantee,
      commitIntervalMs,
      applicationId,
      bootstrap: ctx.servers,
      input,
      output,
      stateDir: join(this.scope.dir, applicationId),
      partitions: PARTITIONS,
    });
    try {
      const t = await this.withRunClient(ctx, (runClient) =>
        measureThroughput({
          admin: client.admin,
          groupId: applicationId,
          topic: input,
          endOffsets,
          records: workload.records,
          internalSources: internalSources(applicationId, topology),
          partitionsOf: async (topic) =>
            (await runClient.admin.endOffsets(topic, 'read_committed')).size,
          recordsFrom: async (topic, partition, offset) => {
            for await (const records of runClient.readPartition(topic, partition, offset, 'end'))
              if (records.length > 0) return true;
            return false;
          },
          app,
          startedAt,
          pollMs: this.config.pollMs,
          timeoutMs: 60_000 + workload.records,
        }),
      );
      sample.peakRssMiB = app.peakRssMiB();
      await done();
      sample.seconds = t.seconds;
      sample.recordsPerSec = t.recordsPerSec;
      sample.startupMs = t.startupMs;
      sample.timedRecords = t.timedRecords;
      if (t.timedRecords < workload.records * MIN_TIMED_SHARE)
        sample.problems.push(
          `the first commit already covered ${workload.records - t.timedRecords} of ${workload.records} records: too few left to time (use more --records)`,
        );
      if (t.pollsTimed < MIN_TIMED_POLLS)
        sample.problems.push(
          `only ${t.pollsTimed} offset polls from the first commit to the last: too few records to time (use more --records)`,
        );
      const verdict = verifyOutput(
        topology,
        guarantee === 'exactly_once',
        workload,
        await this.withRunClient(ctx, (c) => readOutput(c, output, PARTITIONS)),
      );
      sample.outputRecords = verdict.outputRecords;
      sample.problems.push(...verdict.problems);
      sample.valid = sample.problems.length === 0;
    } catch (err) {
      sample.problems.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
      log(`${applicationId} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await done();
      await this.deleteTopics(ctx, [output, ...internalTopics(applicationId, topology)]);
    }
    log(
      `b${brokers} r${round} ${topology} ${guarantee} ${commitIntervalMs} ms ${system}: ` +
        `${(sample.recordsPerSec / 1000).toFixed(1)}k rec/s, start-up ${(sample.startupMs / 1000).toFixed(1)} s, ` +
        `RSS ${sample.peakRssMiB.toFixed(0)} MiB, ${sample.valid ? 'valid' : `INVALID: ${sample.problems.join('; ')}`}`,
    );
    return sample;
  }

  /** The latency runs' input rate per system (none for a system whose rate cannot be set). */
  latencyRates(
    brokers: number,
    topology: TopologyName,
    systems: readonly SystemName[],
  ): Map<SystemName, number> {
    const mode = this.config.latencyRate;
    if (typeof mode === 'number') return new Map(systems.map((s) => [s, mode] as const));
    const halves = new Map<SystemName, number>();
    for (const system of systems) {
      const max = median(
        this.throughput
          .filter(
            (s) =>
              s.valid &&
              s.brokers === brokers &&
              s.topology === topology &&
              s.system === system &&
              s.guarantee === 'exactly_once' &&
              s.commitIntervalMs === 100,
          )
          .map((s) => s.recordsPerSec),
      );
      if (Number.isFinite(max)) halves.set(system, Math.round(max / 2));
    }
    if (mode === 'half-own') return halves;
    // common: only when every system's rate is known, else the systems would not be fed alike.
    if (halves.size < systems.length) return new Map();
    const lowest = Math.min(...halves.values());
    return new Map(systems.map((s) => [s, lowest] as const));
  }

  async runLatency(
    ctx: ClusterContext,
    topology: TopologyName,
    system: SystemName,
    rate: number,
  ): Promise<LatencySample> {
    const { brokers } = ctx;
    const applicationId = `peers-${this.tag}-b${brokers}-${topology}-latency-${system}`;
    const input = `${applicationId}-in`;
    const output = `${applicationId}-out`;
    const workload: Workload = { records: 0, keys: this.config.keys, baseTimestamp: 0 };
    const sample: LatencySample = {
      brokers,
      topology,
      system,
      applicationId,
      targetRate: rate,
      achievedRate: Number.NaN,
      sent: 0,
      received: 0,
      samples: 0,
      p50Ms: Number.NaN,
      p99Ms: Number.NaN,
      maxMs: Number.NaN,
      fromHeader: 0,
      peakRssMiB: Number.NaN,
      valid: false,
      problems: [],
      loadAverage: loadavg()[0] ?? 0,
    };
    await this.createTopic(ctx, input);
    await this.createTopic(ctx, output);
    const { app, done } = this.start({
      system,
      topology,
      guarantee: 'exactly_once',
      commitIntervalMs: 100,
      applicationId,
      bootstrap: ctx.servers,
      input,
      output,
      stateDir: join(this.scope.dir, applicationId),
      partitions: PARTITIONS,
    });
    try {
      const r = await this.withRunClient(ctx, (runClient) =>
        measureLatency({
          client: runClient,
          input,
          output,
          partitions: PARTITIONS,
          workload,
          rate,
          warmupMs: this.config.warmupSeconds * 1000,
          durationMs: this.config.latencySeconds * 1000,
          app,
        }),
      );
      sample.peakRssMiB = app.peakRssMiB();
      await done();
      Object.assign(sample, {
        achievedRate: r.achievedRate,
        sent: r.sent,
        received: r.received,
        samples: r.samples,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        maxMs: r.maxMs,
        fromHeader: r.fromHeader,
      });
      const verdict = verifyOutput(
        topology,
        true,
        { ...workload, records: r.sent },
        await this.withRunClient(ctx, (c) => readOutput(c, output, PARTITIONS)),
        (i) => r.timestamps[i]!,
      );
      sample.problems.push(...verdict.problems);
      if (r.achievedRate < 0.9 * rate)
        sample.problems.push(
          `the producer sent ${Math.round(r.achievedRate)} rec/s of the ${rate} asked: the input rate was not held`,
        );
      sample.valid = sample.problems.length === 0;
    } catch (err) {
      sample.problems.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
      log(`${applicationId} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await done();
      await this.deleteTopics(ctx, [input, output, ...internalTopics(applicationId, topology)]);
    }
    log(
      `b${brokers} latency ${topology} ${system} at ${rate} rec/s: p50 ${sample.p50Ms.toFixed(0)} ms, ` +
        `p99 ${sample.p99Ms.toFixed(0)} ms (${sample.samples} samples, ${sample.fromHeader} from the header), ` +
        `${sample.valid ? 'valid' : `INVALID: ${sample.problems.join('; ')}`}`,
    );
    return sample;
  }
}

async function main(argv: string[]): Promise<number> {
  let config: Args;
  try {
    config = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message ? `bench/peers: ${err.message}\n` : ''}${USAGE}\n`);
    return err.message ? 2 : 0;
  }
  const unsupported = config.topologies.filter((t) => !supports('streamtx', t));
  if (unsupported.length > 0 && config.systems.includes('streamtx'))
    log(`${unsupported.join(', ')}: Kafka Streams only (streamtx has no DSL for it yet)`);

  const scope = new RunScope();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping apps and clusters, removing ${scope.dir}`);
    void scope.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const java = config.systems.includes('kafka-streams') ? await ensureJavaPeer(log) : undefined;
    const bench = new Bench(config, scope, java);
    const loadStart = loadavg()[0] ?? 0;
    for (const brokers of config.brokers) {
      await bench.runCluster(brokers);
    }
    const loadEnd = loadavg()[0] ?? 0;
    const machine = describeMachine(java, bench.kafkaVersion);
    const report = [
      '## streamtx vs Kafka Streams (bench/peers)',
      '',
      machineLines(machine, config, { start: loadStart, end: loadEnd }),
      '',
      '### Throughput',
      '',
      throughputTable(config, bench.throughput),
      ...(bench.latency.length > 0
        ? [
            '',
            `### End-to-end latency (exactly_once, 100 ms commits, ${config.latencySeconds} s ${latencyRateText(config.latencyRate)}, read_committed)`,
            '',
            latencyTable(bench.latency),
          ]
        : []),
      ...(problemLines([...bench.throughput, ...bench.latency]).length > 0
        ? ['', ...problemLines([...bench.throughput, ...bench.latency])]
        : []),
    ].join('\n');
    process.stdout.write(report + '\n');
    if (config.out) {
      const out = resolve(config.out);
      writeFileSync(
        out,
        JSON.stringify(
          {
            generatedAt: new Date().toISOString(),
            machine,
            config,
            loadAverage: { start: loadStart, end: loadEnd },
            report,
            throughput: bench.throughput,
            latency: bench.latency,
          },
          (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
          2,
        ) + '\n',
      );
      log(`wrote ${out}`);
    }
    const invalid = [...bench.throughput, ...bench.latency].filter((s) => !s.valid).length;
    return invalid > 0 ? 1 : 0;
  } finally {
    if (!interrupted) await scope.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `bench/peers: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);

/**
 * The systems under comparison, each started as its own process so its peak
 * RSS can be read from /proc/<pid>/status (VmHWM):
 *
 * - `streamtx`: `node --import tsx cli.ts run bench/peers/streamtx/<topology>-app.ts`
 * - `kafka-streams`: the JVM running bench/peers/kafka-streams (one stream thread)
 * - `kafkajs-loop`: the baseline, a hand-written kafkajs transactional loop (map only)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJava, waitFor } from '../../testkit/index.ts';
import type { ProcessingGuarantee } from '../../index.ts';
import type { RunScope } from './cleanup.ts';
import { PEER_MAIN, type JavaPeer } from './java-peer.ts';
import type { TopologyName } from './workload.ts';

export const SYSTEMS = ['streamtx', 'kafka-streams', 'kafkajs-loop'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const SYSTEM_LABELS: Record<SystemName, string> = {
  streamtx: 'streamtx',
  'kafka-streams': 'Kafka Streams',
  'kafkajs-loop': 'kafkajs loop (baseline)',
};

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const cli = join(repoRoot, 'cli.ts');

export interface AppSpec {
  system: SystemName;
  topology: TopologyName;
  guarantee: ProcessingGuarantee;
  commitIntervalMs: number;
  applicationId: string;
  bootstrap: readonly string[];
  input: string;
  output: string;
  stateDir: string;
  /** Input partitions: the number of tasks the app must own before it is ready. */
  partitions: number;
}

/** Whether a system can run a topology today. */
export function supports(system: SystemName, topology: TopologyName): boolean {
  switch (system) {
    case 'streamtx':
      return true;
    case 'kafka-streams':
      return true;
    case 'kafkajs-loop':
      return topology === 'map';
  }
}

/** Whether a system runs under a guarantee (the baseline loop is transactional only). */
export function runsUnder(system: SystemName, guarantee: ProcessingGuarantee): boolean {
  return system !== 'kafkajs-loop' || guarantee === 'exactly_once';
}

const MAX_LINES = 300;

export class PeerProcess {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly exited: Promise<void>;
  #exit: string | undefined;
  #peakKiB = 0;

  constructor(
    readonly spec: AppSpec,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    scope: RunScope,
  ) {
    this.#child = spawn(command, args, {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    scope.track(this.#child);
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      let partial = '';
      stream.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop()!;
        for (const line of parts) {
          this.#lines.push(line);
          if (this.#lines.length > MAX_LINES) this.#lines.shift();
        }
      });
    }
    this.exited = new Promise((resolve) => {
      this.#child.once('error', (err) => {
        this.#exit = `failed to start: ${err.message}`;
        resolve();
      });
      this.#child.once('exit', (code, signal) => {
        this.#exit = signal ? `signal ${signal}` : `exit ${code}`;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Peak resident set size so far (VmHWM), MiB; kept after the process exits. */
  peakRssMiB(): number {
    if (this.running && this.pid !== undefined) {
      try {
        const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
        const kib = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
        this.#peakKiB = Math.max(this.#peakKiB, kib);
      } catch {
        // exited between the check and the read
      }
    }
    return this.#peakKiB / 1024;
  }

  /** True once the app owns all its input partitions and processes. */
  get ready(): boolean {
    const { system, partitions } = this.spec;
    return this.#lines.some((line) => {
      switch (system) {
        case 'streamtx': {
          const m = /^streamtx (?:tasks |state RUNNING tasks=)(\S*)$/.exec(line);
          // A repartition splits the topology in two sub-topologies, a task per partition each.
          const tasks = partitions * (this.spec.topology === 'repartition-count' ? 2 : 1);
          return m !== null && (m[1] ?? '').split(',').filter(Boolean).length === tasks;
        }
        case 'kafka-streams':
          return line === 'kafka-streams state RUNNING';
        case 'kafkajs-loop':
          return line === `kafkajs-loop running partitions=${partitions}`;
      }
    });
  }

  /** Throws naming the system and its last output when the process has exited. */
  assertRunning(): void {
    if (!this.running) {
      // The last line that names an error is the reason; the tail follows for diagnosis.
      const reason =
        [...this.#lines].reverse().find((l) => /error|exception/i.test(l) && !l.startsWith('{')) ??
        this.#lines.at(-1) ??
        '';
      throw new Error(
        `${this.spec.system} (${this.spec.applicationId}) ${this.#exit}: ${reason.trim()}\n${this.tail(40)}`,
      );
    }
  }

  async waitReady(timeoutMs = 120_000): Promise<void> {
    await waitFor(
      () => {
        this.assertRunning();
        return this.ready;
      },
      { timeoutMs, intervalMs: 50, what: `${this.spec.system} owning all its input partitions` },
    );
  }

  tail(lines = 30): string {
    return this.#lines.slice(-lines).join('\n');
  }

  /** SIGTERM (both apps close cleanly on it), SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.running) return;
    this.peakRssMiB();
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function startPeer(spec: AppSpec, scope: RunScope, java: JavaPeer | undefined): PeerProcess {
  if (!supports(spec.system, spec.topology)) {
    throw new Error(`${spec.system} cannot run the ${spec.topology} topology`);
  }
  switch (spec.system) {
    case 'streamtx':
    case 'kafkajs-loop': {
      const script =
        spec.system === 'streamtx'
          ? [cli, 'run', join(here, 'streamtx', `${spec.topology}-app.ts`)]
          : [join(here, 'baseline', 'kafkajs-loop.ts')];
      return new PeerProcess(
        spec,
        process.execPath,
        // PEERS_NODE_ARGS: extra node flags for the Node apps, e.g. --cpu-prof
        // (which NODE_OPTIONS does not take).
        [
          ...(process.env.PEERS_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          '--import',
          'tsx',
          ...script,
        ],
        {
          ...process.env,
          PEER_APPLICATION_ID: spec.applicationId,
          PEER_BOOTSTRAP: spec.bootstrap.join(','),
          PEER_INPUT: spec.input,
          PEER_OUTPUT: spec.output,
          PEER_GUARANTEE: spec.guarantee,
          PEER_COMMIT_INTERVAL_MS: String(spec.commitIntervalMs),
          PEER_STATE_DIR: spec.stateDir,
          PEER_PARTITIONS: String(spec.partitions),
        },
        scope,
      );
    }
    case 'kafka-streams': {
      if (!java) throw new Error('the Kafka Streams peer was not built');
      return new PeerProcess(
        spec,
        findJava(),
        [
          ...JVM_OPTIONS,
          '-cp',
          java.classpath,
          PEER_MAIN,
          '--topology',
          spec.topology,
          '--guarantee',
          spec.guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once',
          '--commit-interval-ms',
          String(spec.commitIntervalMs),
          '--application-id',
          spec.applicationId,
          '--bootstrap-servers',
          spec.bootstrap.join(','),
          '--input',
          spec.input,
          '--output',
          spec.output,
          '--state-dir',
          spec.stateDir,
        ],
        process.env,
        scope,
      );
    }
  }
}

/** The JVM's own defaults otherwise (heap, GC), as a user who starts Kafka Streams would get. */
export const JVM_OPTIONS = ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn'];

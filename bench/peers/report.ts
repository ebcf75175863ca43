/**
 * Samples, their per-cell statistics (median and min–max of the valid runs)
 * and the markdown tables run.ts prints and stores with the raw samples.
 */
import type { ProcessingGuarantee } from '../../index.ts';
import { SYSTEM_LABELS, type SystemName } from './systems.ts';
import type { TopologyName } from './workload.ts';

export interface ThroughputSample {
  brokers: number;
  topology: TopologyName;
  guarantee: ProcessingGuarantee;
  commitIntervalMs: number;
  system: SystemName;
  round: number;
  applicationId: string;
  records: number;
  /** t1 - t0, seconds (NaN when the run failed). */
  seconds: number;
  recordsPerSec: number;
  /** Input records committed after the first commit: what recordsPerSec counts. */
  timedRecords: number;
  /** Process start to t0 (JVM / tsx start-up, group join, first commit). */
  startupMs: number;
  peakRssMiB: number;
  outputRecords: number;
  valid: boolean;
  problems: string[];
  /** 1-minute load average when the run started (other work on the machine). */
  loadAverage: number;
}

export interface LatencySample {
  brokers: number;
  topology: TopologyName;
  system: SystemName;
  applicationId: string;
  targetRate: number;
  achievedRate: number;
  sent: number;
  received: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  fromHeader: number;
  peakRssMiB: number;
  valid: boolean;
  problems: string[];
  loadAverage: number;
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  java: string;
  kafkaBroker: string;
  kafkaStreams: string;
  kafkajs: string;
  jvmOptions: string[];
}

export interface RunConfig {
  brokers: number[];
  topologies: TopologyName[];
  guarantees: ProcessingGuarantee[];
  commitIntervals: number[];
  systems: SystemName[];
  rounds: number;
  records: number;
  keys: number;
  partitions: number;
  valueBytes: number;
  pollMs: number;
  latencySeconds: number;
  warmupSeconds: number;
  /**
   * The input rate of the latency runs: 'half-own' (each system at half its own median
   * exactly_once 100 ms throughput, the issue's definition), 'common' (every system at the
   * lowest of those halves, so all are fed alike) or a fixed rate in records/s.
   */
  latencyRate: 'half-own' | 'common' | number;
}

/** How the latency runs' rate was set, for table titles. */
export function latencyRateText(rate: RunConfig['latencyRate']): string {
  if (rate === 'half-own') return "at half each system's median throughput";
  if (rate === 'common')
    return "every system at the lowest of the systems' half median throughputs";
  return `every system at ${rate} rec/s`;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const krec = (x: number): string => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)}k` : '–');
const mib = (x: number): string => (Number.isFinite(x) && x > 0 ? x.toFixed(0) : '–');
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');

/** `41.2k (40.1k–42.0k)`, with the invalid runs named; `INVALID` when none is valid. */
function cell(samples: ThroughputSample[]): string {
  if (samples.length === 0) return 'n/a';
  const valid = samples.filter((s) => s.valid).map((s) => s.recordsPerSec);
  const invalid = samples.length - valid.length;
  if (valid.length === 0) return `INVALID (${invalid}/${samples.length})`;
  const range =
    valid.length > 1 ? ` (${krec(Math.min(...valid))}–${krec(Math.max(...valid))})` : '';
  return `${krec(median(valid))}${range}${invalid > 0 ? ` + ${invalid} INVALID` : ''}`;
}

function validMedian(samples: ThroughputSample[], f: (s: ThroughputSample) => number): number {
  return median(samples.filter((s) => s.valid).map(f));
}

export function throughputTable(config: RunConfig, samples: ThroughputSample[]): string {
  const baseline = config.systems.includes('kafkajs-loop');
  const head = [
    'brokers',
    'topology',
    'guarantee',
    'commit (ms)',
    'streamtx rec/s',
    'Kafka Streams rec/s',
    'streamtx / KS',
    ...(baseline ? ['kafkajs loop (baseline) rec/s'] : []),
    'streamtx RSS (MiB)',
    'KS RSS (MiB)',
    'runs',
  ];
  const rows: string[][] = [];
  const cells = new Map<string, ThroughputSample[]>();
  for (const s of samples) {
    const key = [s.brokers, s.topology, s.guarantee, s.commitIntervalMs].join('|');
    cells.set(key, [...(cells.get(key) ?? []), s]);
  }
  for (const list of cells.values()) {
    const first = list[0]!;
    const of = (system: SystemName): ThroughputSample[] => list.filter((s) => s.system === system);
    const st = of('streamtx');
    const ks = of('kafka-streams');
    const ratio = validMedian(st, (s) => s.recordsPerSec) / validMedian(ks, (s) => s.recordsPerSec);
    rows.push([
      String(first.brokers),
      first.topology,
      first.guarantee,
      String(first.commitIntervalMs),
      cell(st),
      cell(ks),
      Number.isFinite(ratio) ? ratio.toFixed(2) : '–',
      ...(baseline ? [cell(of('kafkajs-loop'))] : []),
      mib(validMedian(st, (s) => s.peakRssMiB)),
      mib(validMedian(ks, (s) => s.peakRssMiB)),
      String(list.length),
    ]);
  }
  return markdown(head, rows);
}

export function latencyTable(samples: LatencySample[]): string {
  const head = [
    'brokers',
    'topology',
    'system',
    'rate rec/s (target → sent)',
    'p50 (ms)',
    'p99 (ms)',
    'max (ms)',
    'samples',
    'RSS (MiB)',
    'valid',
  ];
  const rows = samples.map((s) => [
    String(s.brokers),
    s.topology,
    SYSTEM_LABELS[s.system],
    `${Math.round(s.targetRate)} → ${Math.round(s.achievedRate)}`,
    ms(s.p50Ms),
    ms(s.p99Ms),
    ms(s.maxMs),
    String(s.samples),
    mib(s.peakRssMiB),
    s.valid ? 'yes' : 'INVALID',
  ]);
  return markdown(head, rows);
}

function markdown(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function machineLines(
  m: Machine,
  c: RunConfig,
  load: { start: number; end: number },
): string {
  return [
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(0)} GiB, ${m.os}; ` +
      `Node ${m.node}, ${m.java}; Kafka broker ${m.kafkaBroker} (testkit KafkaCluster, KRaft), ` +
      `Kafka Streams ${m.kafkaStreams}, kafkajs ${m.kafkajs}; JVM options: ${m.jvmOptions.join(' ') || '(defaults)'}.`,
    `Workload: ${c.records} pre-loaded records of ${c.valueBytes} B values, ${c.keys} keys, ` +
      `${c.partitions} partitions; one worker / one stream thread per system, caching off; ` +
      `${c.rounds} round(s), systems alternating; records/s = input committed after the first ` +
      `commit / time from the first commit to the last (polled every ${c.pollMs} ms); median (min–max) of valid runs; RSS = peak (VmHWM).`,
    `Load average (1 min) at start ${load.start.toFixed(2)}, at end ${load.end.toFixed(2)}: ` +
      'brokers, apps and this runner share the cores with whatever else runs; figures are noisy.',
  ].join('\n');
}

export function problemLines(samples: (ThroughputSample | LatencySample)[]): string[] {
  return samples
    .filter((s) => !s.valid)
    .map(
      (s) =>
        `- INVALID ${s.applicationId} (${SYSTEM_LABELS[s.system]}): ${s.problems.join('; ') || 'no reason recorded'}`,
    );
}

/**
 * The correctness guard: a fast wrong answer is not a result. After each run
 * the output topic is read with read_committed and compared with what the
 * topology must have made of the input (as Kafka Streams' EOS system test
 * does: output as a deterministic function of input).
 *
 * - map: one output per input, the input's key and its value upper-cased;
 *   exactly once under exactly_once, at least once under at_least_once.
 * - counts: under exactly_once every key's updates are exactly 1, 2, ..., n
 *   (n = the key's inputs), one update per input; under at_least_once every
 *   1..n appears at least once (a reprocessed record may count twice).
 */
import type { KafkaClient } from '../../framework/client/index.ts';
import {
  type TopologyName,
  type Workload,
  countKey,
  inputKey,
  inputTimestamp,
  inputValue,
  valueIndex,
} from './workload.ts';

export interface OutputRecord {
  partition: number;
  key: string;
  value: Buffer;
}

export interface Verdict {
  valid: boolean;
  outputRecords: number;
  problems: string[];
}

/** Reads every committed record of a topic (read_committed, up to the last stable offset). */
export async function readOutput(
  client: KafkaClient,
  topic: string,
  partitions: number,
): Promise<OutputRecord[]> {
  const out: OutputRecord[] = [];
  for (let p = 0; p < partitions; p++) {
    for await (const batch of client.readPartition(topic, p, 0n, 'end', {
      isolation: 'read_committed',
      timeoutMs: 120_000,
    })) {
      for (const r of batch) {
        out.push({ partition: p, key: r.key?.toString() ?? '', value: r.value ?? Buffer.alloc(0) });
      }
    }
  }
  return out;
}

const MAX_PROBLEMS = 5;

export function verifyOutput(
  topology: TopologyName,
  exactlyOnce: boolean,
  workload: Workload,
  output: OutputRecord[],
  /** Input record i's timestamp. @default inputTimestamp (the pre-loaded input) */
  timestampOf: (i: number) => number = (i) => inputTimestamp(workload, i),
): Verdict {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
    else if (problems.length === MAX_PROBLEMS) problems.push('...');
  };
  const n = workload.records;
  if (exactlyOnce ? output.length !== n : output.length < n) {
    problem(`${output.length} output records for ${n} inputs`);
  }

  if (topology === 'map') {
    const seen = new Uint32Array(n);
    for (const r of output) {
      const value = r.value.toString();
      const i = valueIndex(value);
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        problem(`partition ${r.partition}: output value '${value.slice(0, 20)}...' is no input`);
        continue;
      }
      seen[i]!++;
      if (r.key !== inputKey(workload, i) || value !== inputValue(i).toUpperCase()) {
        problem(`partition ${r.partition}: output for input ${i} is ${r.key}=${value}`);
      }
    }
    for (let i = 0; i < n; i++) {
      const c = seen[i]!;
      if (c === 0) problem(`input ${i} has no output`);
      else if (exactlyOnce && c > 1) problem(`input ${i} has ${c} outputs`);
    }
    return { valid: problems.length === 0, outputRecords: output.length, problems };
  }

  const expected = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = countKey(topology, inputKey(workload, i), timestampOf(i));
    expected.set(k, (expected.get(k) ?? 0) + 1);
  }
  const updates = new Map<string, number[]>();
  for (const r of output) {
    if (r.value.length !== 8) {
      problem(
        `partition ${r.partition}: key ${r.key} has a ${r.value.length}-byte value, not int64`,
      );
      continue;
    }
    const count = Number(r.value.readBigInt64BE());
    let list = updates.get(r.key);
    if (!list) updates.set(r.key, (list = []));
    list.push(count);
  }
  for (const [key, total] of expected) {
    const seen = new Uint32Array(total + 1);
    let extra = 0;
    for (const c of updates.get(key) ?? []) {
      if (c >= 1 && c <= total) seen[c]!++;
      else extra++;
    }
    const missing: number[] = [];
    const doubled: number[] = [];
    for (let c = 1; c <= total; c++) {
      if (seen[c] === 0) missing.push(c);
      else if (seen[c]! > 1) doubled.push(c);
    }
    if (missing.length > 0) problem(`key ${key}: updates ${missing.slice(0, 5).join(',')} missing`);
    if (exactlyOnce && doubled.length > 0)
      problem(`key ${key}: updates ${doubled.slice(0, 5).join(',')} more than once`);
    if (exactlyOnce && extra > 0) problem(`key ${key}: ${extra} updates above its ${total} inputs`);
  }
  for (const key of updates.keys()) {
    if (!expected.has(key)) problem(`output key ${key} matches no input`);
  }
  return { valid: problems.length === 0, outputRecords: output.length, problems };
}

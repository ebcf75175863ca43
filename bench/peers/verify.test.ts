// The guard that decides whether a bench run counts has tests of its own:
// fed correct output it passes; fed a duplicate, a gap, a wrong value or a
// count update that repeats, it names the problem. No broker.
// Run: npx tap bench/peers/verify.test.ts (bench/ is not part of npm test).
import t from 'tap';
import { type OutputRecord, verifyOutput } from './verify.ts';
import {
  type TopologyName,
  type Workload,
  countKey,
  inputKey,
  inputTimestamp,
  inputValue,
} from './workload.ts';

const workload: Workload = { records: 200, keys: 30, baseTimestamp: 1_700_000_000_000 };

function mapOutput(w: Workload): OutputRecord[] {
  return Array.from({ length: w.records }, (_, i) => ({
    partition: i % 6,
    key: inputKey(w, i),
    value: Buffer.from(inputValue(i).toUpperCase()),
  }));
}

function int64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

/** What a counting topology with caching off emits: every update, in input order. */
function countOutput(topology: Exclude<TopologyName, 'map'>, w: Workload): OutputRecord[] {
  const counts = new Map<string, number>();
  return Array.from({ length: w.records }, (_, i) => {
    const key = countKey(topology, inputKey(w, i), inputTimestamp(w, i));
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return { partition: 0, key, value: int64(n) };
  });
}

void t.test('map: one upper-cased output per input passes, under both guarantees', async (t) => {
  t.ok(verifyOutput('map', true, workload, mapOutput(workload)).valid);
  t.ok(verifyOutput('map', false, workload, mapOutput(workload)).valid);
});

void t.test('map: a duplicate fails exactly_once and passes at_least_once', async (t) => {
  const out = [...mapOutput(workload), mapOutput(workload)[17]!];
  const eos = verifyOutput('map', true, workload, out);
  t.notOk(eos.valid);
  t.match(eos.problems.join('\n'), /201 output records for 200 inputs/);
  t.match(eos.problems.join('\n'), /input 17 has 2 outputs/);
  t.ok(verifyOutput('map', false, workload, out).valid);
});

void t.test('map: a missing output fails both guarantees, naming the input', async (t) => {
  const out = mapOutput(workload).filter((_, i) => i !== 42);
  for (const eos of [true, false]) {
    const v = verifyOutput('map', eos, workload, out);
    t.notOk(v.valid);
    t.match(v.problems.join('\n'), /input 42 has no output/);
  }
});

void t.test('map: a value not upper-cased fails', async (t) => {
  const out = mapOutput(workload);
  out[5] = { ...out[5]!, value: Buffer.from(inputValue(5)) };
  const v = verifyOutput('map', true, workload, out);
  t.notOk(v.valid);
  t.match(v.problems.join('\n'), /output for input 5 is/);
});

for (const topology of ['count', 'windowed-count', 'repartition-count'] as const) {
  void t.test(`${topology}: every update 1..n once passes`, async (t) => {
    t.ok(verifyOutput(topology, true, workload, countOutput(topology, workload)).valid);
  });
}

void t.test('count: a repeated update fails exactly_once and passes at_least_once', async (t) => {
  const out = countOutput('count', workload);
  out.push(out[3]!);
  const eos = verifyOutput('count', true, workload, out);
  t.notOk(eos.valid);
  t.match(eos.problems.join('\n'), new RegExp(`key ${out[3]!.key}: updates 1 more than once`));
  t.ok(verifyOutput('count', false, workload, out).valid);
});

void t.test('count: a lost update fails both guarantees', async (t) => {
  const out = countOutput('count', workload).filter((_, i) => i !== 100);
  for (const eos of [true, false]) t.notOk(verifyOutput('count', eos, workload, out).valid);
});

void t.test('count: a record counted twice (update above n) fails exactly_once', async (t) => {
  const out = countOutput('count', workload);
  const key = inputKey(workload, 0);
  const n = out.filter((r) => r.key === key).length;
  out.push({ partition: 0, key, value: int64(n + 1) });
  const v = verifyOutput('count', true, workload, out);
  t.notOk(v.valid);
  t.match(v.problems.join('\n'), /updates above its/);
});

void t.test('count: a value that is not int64 fails, naming the key', async (t) => {
  const out = countOutput('count', workload);
  out[0] = { ...out[0]!, value: Buffer.from('1') };
  const v = verifyOutput('count', true, workload, out);
  t.notOk(v.valid);
  t.match(v.problems.join('\n'), /1-byte value, not int64/);
});

void t.test('windowed-count: an update in the wrong window fails', async (t) => {
  const out = countOutput('windowed-count', workload);
  out[0] = { ...out[0]!, key: `${inputKey(workload, 0)}@0` };
  const v = verifyOutput('windowed-count', true, workload, out);
  t.notOk(v.valid);
  t.match(v.problems.join('\n'), /matches no input/);
});

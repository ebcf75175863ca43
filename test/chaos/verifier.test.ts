// The verifier that judges chaos runs has tests of its own: fed output with
// a duplicate, a gap, an aborted record, a reordered record or a wrong
// aggregate, it names each; fed correct output, it passes — also when the
// input holds a value twice, which the app must then echo twice. No broker.
import t from 'tap';
import {
  abortedRecords,
  aggregateVerifier,
  nextAggregate,
  verifyAggregateRun,
  type Aggregate,
  type ChaosRecord,
  type TopicRead,
  type VerificationData,
} from '../../chaos/index.ts';

const PARTITIONS = 3;
const KEYS = 6;

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

/**
 * What a correct run leaves: the input `values` in the order written, value
 * v keyed k<v % KEYS> on partition (key % PARTITIONS), an aborted input
 * transaction after the 21st, and the app's output for exactly that input.
 */
function correctRun(
  values: number[] = range(0, 60),
  abortedValues: number[] = [1000, 1001],
): VerificationData {
  const offsets = new Map<string, number>();
  const next = (topic: string, partition: number): string => {
    const id = `${topic}/${partition}`;
    const o = offsets.get(id) ?? 0;
    offsets.set(id, o + 1);
    return String(o);
  };
  const partitionOf = (key: string): number => Number(key.slice(1)) % PARTITIONS;
  const input: TopicRead = { topic: 'in', committed: [], uncommitted: [] };
  const echo: TopicRead = { topic: 'echo', committed: [], uncommitted: [] };
  const aggregates: TopicRead = { topic: 'agg', committed: [], uncommitted: [] };
  const changelog: TopicRead = {
    topic: 'app-aggregates-changelog',
    committed: [],
    uncommitted: [],
  };
  const state = new Map<string, Aggregate>();
  const write = (read: TopicRead, r: ChaosRecord, committed = true): void => {
    if (committed) read.committed.push(r);
    read.uncommitted.push(r);
  };
  for (const [index, i] of values.entries()) {
    const key = `k${i % KEYS}`;
    const partition = partitionOf(key);
    const value = String(i);
    write(input, { partition, offset: next('in', partition), key, value });
    if (index === 20) {
      // An input transaction the workload aborted: visible only read_uncommitted.
      for (const v of abortedValues)
        write(input, { partition, offset: next('in', partition), key, value: String(v) }, false);
    }
    const agg = nextAggregate(state.get(key), i);
    state.set(key, agg);
    write(echo, { partition, offset: next('echo', partition), key, value });
    write(aggregates, {
      partition,
      offset: next('agg', partition),
      key,
      value: JSON.stringify(agg),
    });
    write(changelog, {
      partition,
      offset: next('cl', partition),
      key,
      value: JSON.stringify(agg),
    });
  }
  for (const read of [input, echo, aggregates, changelog]) {
    const order = (a: ChaosRecord, b: ChaosRecord): number =>
      a.partition - b.partition || Number(a.offset) - Number(b.offset);
    read.committed.sort(order);
    read.uncommitted.sort(order);
  }
  return {
    input,
    outputs: { echo, aggregates },
    changelogs: { aggregates: changelog },
  };
}

const kinds = (data: VerificationData): string[] => [
  ...new Set(verifyAggregateRun(data).map((v) => v.kind)),
];

t.test('a correct run passes every check', async (t) => {
  const data = correctRun();
  t.same(verifyAggregateRun(data), []);
  t.same(await aggregateVerifier().verify(data), [], 'also through the Verifier interface');
  t.equal(abortedRecords(data.input).length, 2, 'the aborted input is seen as aborted');
});

t.test('a duplicated echo record is caught as a duplicate', async (t) => {
  const data = correctRun();
  const echo = data.outputs.echo!;
  const dup = echo.committed[7]!;
  echo.committed.push({ ...dup, offset: '999' });
  const violations = verifyAggregateRun(data);
  const v = violations.find((x) => x.kind === 'duplicate');
  t.ok(v, 'duplicate reported');
  t.equal(v?.count, 1);
  t.equal(
    v?.examples[0],
    `echo-${dup.partition}@${dup.offset}, echo-${dup.partition}@999 ${dup.key}=${dup.value} echoed 2 times, input has 1`,
  );
  t.notOk(
    violations.some((x) => x.kind === 'loss'),
    'and nothing reported lost',
  );
});

t.test('a gap in the echo is caught as loss', async (t) => {
  const data = correctRun();
  const echo = data.outputs.echo!;
  const [gone] = echo.committed.splice(11, 1);
  const v = verifyAggregateRun(data).find((x) => x.kind === 'loss');
  t.ok(v, 'loss reported');
  t.equal(v?.count, 1);
  t.match(v?.examples[0], `=${gone!.value} is missing from echo`);
});

t.test(
  'a value of an aborted input transaction in the committed echo is caught as an aborted read',
  async (t) => {
    const data = correctRun();
    const echo = data.outputs.echo!;
    const aborted = abortedRecords(data.input)[0]!;
    echo.committed.push({ ...aborted, offset: '500' });
    const v = verifyAggregateRun(data).find((x) => x.kind === 'aborted-read');
    t.ok(v, 'aborted read reported');
    t.match(v?.examples[0], `=${aborted.value} was written by an aborted input transaction`);
    t.notOk(
      verifyAggregateRun(data).some((x) => x.kind === 'unexpected'),
      'not lumped in with foreign values',
    );
  },
);

t.test('a value that was never input is caught as unexpected', async (t) => {
  const data = correctRun();
  data.outputs.echo!.committed.push({ partition: 0, offset: '777', key: 'k0', value: '424242' });
  t.same(kinds(data), ['unexpected']);
});

t.test('two echo records of a partition swapped are caught as a reorder', async (t) => {
  const data = correctRun();
  const echo = data.outputs.echo!.committed;
  const i = echo.findIndex((r, j) => j > 0 && r.partition === echo[j - 1]!.partition);
  [echo[i - 1], echo[i]] = [echo[i]!, echo[i - 1]!];
  const violations = verifyAggregateRun(data);
  t.same(
    violations.map((v) => v.kind),
    ['reorder'],
    'only a reorder: nothing lost or duplicated',
  );
  t.match(violations[0]?.examples[0], /input partition \d: echo position \d+ holds/);
});

t.test('a wrong emitted aggregate is caught, naming the key and position', async (t) => {
  const data = correctRun();
  const aggs = data.outputs.aggregates!.committed;
  const target = aggs[9]!;
  const wrong = JSON.parse(target.value!) as Aggregate;
  wrong.sum += 1;
  target.value = JSON.stringify(wrong);
  const violations = verifyAggregateRun(data);
  t.same(
    violations.map((v) => v.kind),
    ['wrong-aggregate'],
  );
  t.match(violations[0]?.examples[0], `key ${target.key} aggregate #`);
  t.match(violations[0]?.examples[0], `"sum":${wrong.sum}`);
});

t.test('a missing or repeated aggregate is caught as wrong', async (t) => {
  const data = correctRun();
  const aggs = data.outputs.aggregates!.committed;
  aggs.splice(aggs.length - 1, 0, aggs[aggs.length - 2]!);
  t.same(kinds(data), ['wrong-aggregate']);
});

t.test('a final store that differs from the expected is caught', async (t) => {
  const data = correctRun();
  const cl = data.changelogs.aggregates!.committed;
  cl.push({
    ...cl[0]!,
    offset: '999',
    value: JSON.stringify({ count: 1, sum: 0, min: 0, max: 0 }),
  });
  const v = verifyAggregateRun(data).find((x) => x.kind === 'store-mismatch');
  t.ok(v);
  t.match(v?.examples[0], `key ${cl[0]!.key}: store holds`);
  cl.push({ ...cl[0]!, offset: '1000', value: null });
  t.match(
    verifyAggregateRun(data).find((x) => x.kind === 'store-mismatch')?.examples[0],
    'store holds (nothing)',
    'a tombstone deletes the key',
  );
});

t.test('aggregates are compared as values, not by field order', async (t) => {
  const data = correctRun();
  for (const r of data.outputs.aggregates!.committed) {
    const a = JSON.parse(r.value!) as Aggregate;
    r.value = JSON.stringify({ max: a.max, min: a.min, sum: a.sum, count: a.count });
  }
  t.same(verifyAggregateRun(data), []);
});

t.test('aborted output transactions are normal: only committed output is judged', async (t) => {
  const data = correctRun();
  const echo = data.outputs.echo!;
  // An app transaction that was aborted and retried: its copy is in the log, not committed.
  echo.uncommitted.push({ ...echo.committed[3]!, offset: '900' });
  t.same(verifyAggregateRun(data), []);
  t.equal(abortedRecords(echo).length, 1);
});

t.test('several faults at once are all reported, examples capped', async (t) => {
  const data = correctRun(range(0, 200));
  const echo = data.outputs.echo!.committed;
  echo.splice(0, 20); // 20 lost
  echo.push({ ...echo[0]!, offset: '1234' });
  const violations = verifyAggregateRun(data, { maxExamples: 3 });
  const loss = violations.find((v) => v.kind === 'loss');
  t.equal(loss?.count, 20);
  t.equal(loss?.examples.length, 3);
  t.ok(violations.some((v) => v.kind === 'duplicate'));
});

t.test('an echoed value under another key than its input is caught as unexpected', async (t) => {
  const data = correctRun();
  const r = data.outputs.echo!.committed[4]!;
  const inputKey = r.key;
  r.key = 'k99';
  const v = verifyAggregateRun(data).find((x) => x.kind === 'unexpected');
  t.match(v?.examples[0], `value ${r.value} has key k99, its input has ${inputKey}`);
  t.ok(
    verifyAggregateRun(data).some((x) => x.kind === 'loss'),
    'and its key misses it',
  );
});

// The input as the workload's producer may leave it under broker kills: the
// batch 25..27 written a second time after 29. The app reads both copies.
const withResentBatch = (): number[] => [...range(0, 30), 25, 26, 27, ...range(30, 60)];

t.test('a value the input holds twice, echoed and aggregated twice, passes', async (t) => {
  const data = correctRun(withResentBatch());
  t.equal(data.input.committed.filter((r) => r.value === '26').length, 2, 'the input has 26 twice');
  t.equal(data.outputs.echo!.committed.filter((r) => r.value === '26').length, 2);
  t.same(verifyAggregateRun(data), []);
});

t.test(
  'a value the input holds twice but echoed once is caught as loss, and only as loss',
  async (t) => {
    const data = correctRun(withResentBatch());
    const echo = data.outputs.echo!.committed;
    const i = echo.findIndex((r) => r.value === '26');
    echo.splice(i, 1);
    const violations = verifyAggregateRun(data);
    t.same(
      violations.map((v) => v.kind),
      ['loss'],
      'no reorder: the value whose counts differ is left out of the order checks',
    );
    t.match(violations[0]?.examples[0], /^in-2@\d+, in-2@\d+ k2=26 echoed 1 time, input has 2$/);
  },
);

t.test(
  'a value the input holds twice but echoed three times is caught as a duplicate',
  async (t) => {
    const data = correctRun(withResentBatch());
    const echo = data.outputs.echo!.committed;
    echo.push({ ...echo.find((r) => r.value === '26')!, offset: '999' });
    const violations = verifyAggregateRun(data);
    t.same(
      violations.map((v) => v.kind),
      ['duplicate'],
    );
    t.match(violations[0]?.examples[0], /k2=26 echoed 3 times, input has 2$/);
  },
);

t.test('a reorder is caught when the input holds values twice', async (t) => {
  const data = correctRun(withResentBatch());
  const echo = data.outputs.echo!.committed;
  // The key k1's first copy of 25 and its next value, 31, traded places.
  const a = echo.findIndex((r) => r.value === '25');
  const b = echo.findIndex((r) => r.value === '31');
  [echo[a], echo[b]] = [echo[b]!, echo[a]!];
  const violations = verifyAggregateRun(data);
  t.same(
    violations.map((v) => v.kind),
    ['reorder', 'reorder'],
    'nothing lost or duplicated',
  );
  t.match(violations[0]?.examples[0], 'key k1: echo position');
  t.match(violations[1]?.examples[0], /^input partition 1: echo position \d+ holds/);
});

t.test('a read the verifier needs but did not get is a harness violation', async (t) => {
  const data = correctRun();
  delete data.changelogs.aggregates;
  t.same(kinds(data), ['harness']);
});

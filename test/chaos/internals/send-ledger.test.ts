// The harness's check of the input against what its own producers did: a
// value written twice, an acknowledged value missing, a value of an aborted
// transaction visible are each named; a failed send may or may not have
// landed. No broker.
import t from 'tap';
import { SendLedger, verifyWorkloadInput } from '../../../chaos/internals/send-ledger.ts';
import type { ChaosRecord, TopicRead } from '../../../chaos/verifier.ts';

const PARTITIONS = 3;

/** An input read holding `committed` values in that order, and `aborted` ones read_uncommitted only. */
function inputOf(committed: number[], aborted: number[] = []): TopicRead {
  const offsets = [0, 0, 0];
  const read: TopicRead = { topic: 'in', committed: [], uncommitted: [] };
  const write = (v: number, visible: boolean): void => {
    const partition = v % PARTITIONS;
    const offset = offsets[partition]!++;
    const r: ChaosRecord = { partition, offset: String(offset), key: `k${v}`, value: String(v) };
    if (visible) read.committed.push(r);
    read.uncommitted.push(r);
  };
  for (const v of committed) write(v, true);
  for (const v of aborted) write(v, false);
  const order = (a: ChaosRecord, b: ChaosRecord): number =>
    a.partition - b.partition || Number(a.offset) - Number(b.offset);
  read.committed.sort(order);
  read.uncommitted.sort(order);
  return read;
}

/** Values 0..n-1 acknowledged, then `aborted` values written in aborted transactions. */
function ledgerOf(n: number, aborted: number[] = []): SendLedger {
  const ledger = new SendLedger();
  for (let seq = 0; seq < n; seq++) ledger.record(seq, 'acknowledged');
  for (const seq of aborted) ledger.record(seq, 'aborted');
  return ledger;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

t.test('an input holding exactly the acknowledged values passes', async (t) => {
  t.same(verifyWorkloadInput(inputOf(range(0, 50), [50, 51]), ledgerOf(50, [50, 51])), []);
});

t.test('the ledger grows past its first size and keeps every outcome', async (t) => {
  const ledger = new SendLedger();
  ledger.record(3, 'failed');
  ledger.record(100_000, 'aborted');
  t.equal(ledger.size, 100_001);
  t.equal(ledger.outcome(3), 'failed');
  t.equal(ledger.outcome(100_000), 'aborted');
  t.equal(ledger.outcome(4), 'unsent', 'a sequence number never recorded');
  t.equal(ledger.outcome(100_001), 'unsent', 'beyond the end');
  t.throws(() => ledger.record(-1, 'pending'), RangeError);
});

t.test('a value written twice is a producer duplicate, naming every copy', async (t) => {
  const input = inputOf([...range(0, 20), 10, 11, ...range(20, 30)]);
  const violations = verifyWorkloadInput(input, ledgerOf(30));
  t.same(
    violations.map((v) => v.kind),
    ['producer-duplicate'],
  );
  t.equal(violations[0]?.count, 2);
  t.match(violations[0]?.message, '(2 extra records)');
  t.equal(violations[0]?.examples[0], 'k10=10 ×2 at in-1@3, in-1@7');
});

t.test('acknowledged values missing from the input are producer loss, in runs', async (t) => {
  const input = inputOf([...range(0, 10), ...range(14, 20), 21]);
  const violations = verifyWorkloadInput(input, ledgerOf(22));
  t.same(
    violations.map((v) => v.kind),
    ['producer-loss'],
  );
  t.equal(violations[0]?.count, 5);
  t.same(violations[0]?.examples, [
    'values 10–13 (4) were acknowledged, but are missing from in',
    'value 20 was acknowledged, but is missing from in',
  ]);
});

t.test('a value whose send failed may or may not be in the input', async (t) => {
  const ledger = ledgerOf(10);
  ledger.record(4, 'failed');
  ledger.record(5, 'failed');
  ledger.record(9, 'pending');
  t.same(verifyWorkloadInput(inputOf([0, 1, 2, 3, 5, 6, 7, 8]), ledger), [], 'missing');
  t.same(verifyWorkloadInput(inputOf(range(0, 10)), ledger), [], 'present');
});

t.test('a value of an aborted transaction in the committed input is named', async (t) => {
  const input = inputOf([...range(0, 10), 10]);
  const violations = verifyWorkloadInput(input, ledgerOf(10, [10, 11, 12]));
  t.same(
    violations.map((v) => v.kind),
    ['producer-aborted-visible'],
  );
  t.equal(violations[0]?.examples[0], 'in-1@3 k10=10 was written in an aborted transaction');
});

t.test('a value the workload never wrote is a harness violation', async (t) => {
  const input = inputOf(range(0, 10));
  input.committed.push({ partition: 0, offset: '99', key: 'k', value: 'x' });
  const violations = verifyWorkloadInput(input, ledgerOf(9));
  t.same(
    violations.map((v) => v.kind),
    ['harness'],
  );
  t.equal(violations[0]?.count, 2, 'value 9, beyond the ledger, and a value that is no number');
});

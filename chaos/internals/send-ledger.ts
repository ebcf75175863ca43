/**
 * What the workload's producers did with each value, and the input checked
 * against it. These checks judge the harness's own producer — streamtx's
 * at-least-once PlainProducer (idempotent) and TransactionalProducer — not
 * the app, so they run in the harness whatever verifier the user supplies,
 * and a failure is a streamtx (or broker) bug.
 */
import type { ChaosRecord, TopicRead, Violation, ViolationKind } from '../verifier.ts';

/**
 * What became of a value's send. `failed`: the send threw (a broker was
 * down); the value may or may not be in the log. `aborted`: written in a
 * transaction that was aborted or never committed; never visible
 * read_committed.
 */
export type SendOutcome = 'unsent' | 'pending' | 'acknowledged' | 'failed' | 'aborted';

const OUTCOMES: readonly SendOutcome[] = ['unsent', 'pending', 'acknowledged', 'failed', 'aborted'];
const CODES = new Map(OUTCOMES.map((o, i) => [o, i]));

/** Send outcomes by sequence number: one byte each (a 30-minute soak writes ~400k values). */
export class SendLedger {
  private codes = new Uint8Array(4096);
  private end = 0;

  /** Sequence numbers 0 … size - 1 may have an outcome; every later one is `unsent`. */
  get size(): number {
    return this.end;
  }

  record(seq: number, outcome: SendOutcome): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`bad sequence number ${seq}`);
    if (seq >= this.codes.length) {
      let length = this.codes.length;
      while (length <= seq) length *= 2;
      const grown = new Uint8Array(length);
      grown.set(this.codes);
      this.codes = grown;
    }
    this.codes[seq] = CODES.get(outcome)!;
    if (seq >= this.end) this.end = seq + 1;
  }

  outcome(seq: number): SendOutcome {
    return OUTCOMES[this.codes[seq] ?? 0] ?? 'unsent';
  }
}

/** The sequence number a workload value stands for, if it is one. */
function sequenceOf(value: string | null): number | undefined {
  if (value === null || !/^\d{1,15}$/.test(value)) return undefined;
  const seq = Number(value);
  return String(seq) === value ? seq : undefined;
}

/**
 * Checks the committed input against what the workload's producers did:
 * - no value occurs more than once (`producer-duplicate`): the idempotent
 *   producer must not write a batch twice, whatever broker fails;
 * - every value whose send was acknowledged is there (`producer-loss`);
 *   values whose send failed may or may not be;
 * - no value of an aborted transaction is there (`producer-aborted-visible`):
 *   that is a read_committed reader seeing aborted data;
 * - every value is one the workload wrote (`harness` otherwise).
 */
export function verifyWorkloadInput(
  input: TopicRead,
  ledger: SendLedger,
  options: { maxExamples?: number } = {},
): Violation[] {
  const maxExamples = options.maxExamples ?? 5;
  const where = (r: ChaosRecord): string => `${input.topic}-${r.partition}@${r.offset}`;
  const copies = new Map<number, ChaosRecord[]>();
  const foreign: string[] = [];
  for (const r of input.committed) {
    const seq = sequenceOf(r.value);
    if (seq === undefined || ledger.outcome(seq) === 'unsent') {
      foreign.push(`${where(r)} ${r.key}=${r.value}`);
      continue;
    }
    const list = copies.get(seq);
    if (list) list.push(r);
    else copies.set(seq, [r]);
  }

  const duplicated: string[] = [];
  let extra = 0;
  const abortedVisible: string[] = [];
  for (const [seq, list] of copies) {
    if (list.length > 1) {
      extra += list.length - 1;
      duplicated.push(`${list[0]!.key}=${seq} ×${list.length} at ${list.map(where).join(', ')}`);
    }
    if (ledger.outcome(seq) === 'aborted')
      for (const r of list)
        abortedVisible.push(`${where(r)} ${r.key}=${seq} was written in an aborted transaction`);
  }

  // Lost values come in runs: a batch is consecutive sequence numbers.
  const lostRuns: string[] = [];
  let lost = 0;
  for (let seq = 0; seq < ledger.size; seq++) {
    if (ledger.outcome(seq) !== 'acknowledged' || copies.has(seq)) continue;
    let last = seq;
    while (ledger.outcome(last + 1) === 'acknowledged' && !copies.has(last + 1)) last++;
    lost += last - seq + 1;
    lostRuns.push(
      last === seq
        ? `value ${seq} was acknowledged, but is missing from ${input.topic}`
        : `values ${seq}–${last} (${last - seq + 1}) were acknowledged, but are missing from ${input.topic}`,
    );
    seq = last;
  }

  const violations: Violation[] = [];
  const found = (kind: ViolationKind, message: string, count: number, examples: string[]): void => {
    if (count > 0)
      violations.push({ kind, message, count, examples: examples.slice(0, maxExamples) });
  };
  found(
    'producer-duplicate',
    `${duplicated.length} values occur more than once in the committed input (${extra} extra records): the workload's idempotent producer wrote them twice`,
    duplicated.length,
    duplicated,
  );
  found(
    'producer-loss',
    `${lost} values whose send was acknowledged are missing from the committed input (${lostRuns.length} runs)`,
    lost,
    lostRuns,
  );
  found(
    'producer-aborted-visible',
    `${abortedVisible.length} committed input records were written in transactions the workload aborted`,
    abortedVisible.length,
    abortedVisible,
  );
  found(
    'harness',
    `${foreign.length} committed input records hold values the workload never wrote`,
    foreign.length,
    foreign,
  );
  return violations;
}

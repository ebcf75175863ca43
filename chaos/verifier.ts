/**
 * What a chaos run is judged by. After the run the harness waits until every
 * transaction on the topics has finished, reads the input, every output role
 * and every store's changelog twice — read_committed and read_uncommitted —
 * and hands them to a `Verifier`. The default, `aggregateVerifier()`, is
 * Kafka's EOS system test check (output as a deterministic function of the
 * input) plus Jepsen's aborted-read check: the workload writes some input in
 * transactions it aborts, and none of those values may ever reach an output.
 */

/** One record as read back; keys and values as UTF-8 strings (null: a tombstone or no key). */
export interface ChaosRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
}

/** A topic read after every transaction on it finished, in (partition, offset) order. */
export interface TopicRead {
  topic: string;
  /** What a read_committed reader sees: committed data only. */
  committed: ChaosRecord[];
  /**
   * What a read_uncommitted reader sees: also the records of aborted
   * transactions. Records here but not in `committed` (by partition and
   * offset) are aborted data.
   */
  uncommitted: ChaosRecord[];
}

export interface VerificationData {
  input: TopicRead;
  /** The app's output topics by role (e.g. `echo`, `aggregates`). */
  outputs: Record<string, TopicRead>;
  /** The app's store changelogs by store name. */
  changelogs: Record<string, TopicRead>;
}

export type ViolationKind =
  | 'loss'
  | 'duplicate'
  | 'unexpected'
  | 'aborted-read'
  | 'reorder'
  | 'wrong-aggregate'
  | 'store-mismatch'
  | 'stalled'
  | 'producer-duplicate'
  | 'producer-loss'
  | 'producer-aborted-visible'
  | 'worker-exit'
  | 'harness';

export interface Violation {
  /** Which invariant broke; users' verifiers may add their own kinds. */
  kind: ViolationKind | (string & {});
  /** One line: what broke, where, how often. */
  message: string;
  /** How many records (or keys, partitions) are affected. */
  count: number;
  /** Up to a few concrete cases, for diagnosis. */
  examples: string[];
}

/** A user's invariants: fed everything the run left in Kafka, returns what is wrong (nothing: pass). */
export interface Verifier {
  name: string;
  verify(data: VerificationData): Violation[] | Promise<Violation[]>;
}

/** Records whose (partition, offset) a read_uncommitted reader saw and a read_committed one did not. */
export function abortedRecords(read: TopicRead): ChaosRecord[] {
  const committed = new Set(read.committed.map((r) => `${r.partition}@${r.offset}`));
  return read.uncommitted.filter((r) => !committed.has(`${r.partition}@${r.offset}`));
}

export interface Aggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface AggregateVerifierOptions {
  /** Output role holding the echo of every input record. @default 'echo' */
  echo?: string;
  /** Output role holding the running aggregate per key. @default 'aggregates' */
  aggregates?: string;
  /** Store whose changelog's last value per key must be the final aggregate. @default 'aggregates' */
  store?: string;
  /** Examples kept per violation. @default 5 */
  maxExamples?: number;
}

/**
 * The default app's invariants (chaos/apps/aggregate-app.ts), judged against
 * the committed input as it is — a value the input holds twice must be
 * echoed and aggregated twice:
 * - per key, the echo holds each committed input value as often as the
 *   input does (`loss`, `duplicate`), nothing else (`unexpected`), no value
 *   of an aborted input transaction (`aborted-read`), in input order
 *   (`reorder`); and each input partition's values in input order
 *   (`reorder`, over the values whose counts agree);
 * - each key's emitted aggregates are exactly the running count/sum/min/max
 *   recomputed from the committed input, record by record (`wrong-aggregate`);
 * - the store's final contents — the changelog's last value per key — equal
 *   the aggregate of all the key's input (`store-mismatch`).
 * Whether the input itself is what the workload wrote is the harness's
 * check (`producer-*` violations), not the verifier's.
 */
export function aggregateVerifier(options: AggregateVerifierOptions = {}): Verifier {
  return {
    name: 'aggregate',
    verify: (data) => verifyAggregateRun(data, options),
  };
}

export function verifyAggregateRun(
  data: VerificationData,
  options: AggregateVerifierOptions = {},
): Violation[] {
  const echoRole = options.echo ?? 'echo';
  const aggregatesRole = options.aggregates ?? 'aggregates';
  const storeName = options.store ?? 'aggregates';
  const maxExamples = options.maxExamples ?? 5;
  const violations: Violation[] = [];
  const found = (kind: ViolationKind, message: string, examples: string[]): void => {
    if (examples.length > 0)
      violations.push({
        kind,
        message: message.replace('{n}', String(examples.length)),
        count: examples.length,
        examples: examples.slice(0, maxExamples),
      });
  };
  const missingRead = (what: string): Violation[] => [
    { kind: 'harness', message: `no ${what} was read`, count: 1, examples: [] },
  ];

  const echo = data.outputs[echoRole];
  const aggregates = data.outputs[aggregatesRole];
  const changelog = data.changelogs[storeName];
  if (!echo) return missingRead(`output '${echoRole}'`);
  if (!aggregates) return missingRead(`output '${aggregatesRole}'`);
  if (!changelog) return missingRead(`changelog of store '${storeName}'`);

  // The input is judged as it is: should a value occur twice in it (the
  // workload's producer wrote it twice; the harness reports that apart),
  // the app reads both copies and must echo and aggregate both.
  const inputByKey = new Map<string | null, ChaosRecord[]>();
  const inputKeys = new Map<string, Set<string | null>>();
  const inputPartitions = new Map<string, Set<number>>();
  for (const r of data.input.committed) {
    if (r.value === null) continue;
    push(inputByKey, r.key, r);
    addTo(inputKeys, r.value, r.key);
    addTo(inputPartitions, r.value, r.partition);
  }
  const abortedInput = new Set(
    abortedRecords(data.input).flatMap((r) => (r.value === null ? [] : [r.value])),
  );
  const at = (topic: string, records: ChaosRecord[]): string =>
    records.map((r) => `${topic}-${r.partition}@${r.offset}`).join(', ');

  // Echo records that are no committed input value of their key.
  const echoByKey = new Map<string | null, ChaosRecord[]>();
  const unexpected: string[] = [];
  const abortedRead: string[] = [];
  for (const r of echo.committed) {
    const where = at(echo.topic, [r]);
    const keys = r.value === null ? undefined : inputKeys.get(r.value);
    if (r.value === null || !keys) {
      if (r.value !== null && abortedInput.has(r.value))
        abortedRead.push(
          `${where} ${r.key}=${r.value} was written by an aborted input transaction`,
        );
      else unexpected.push(`${where} ${r.key}=${r.value} is no committed input value`);
    } else if (!keys.has(r.key))
      unexpected.push(
        `${where} value ${r.value} has key ${r.key}, its input has ${[...keys].join(', ')}`,
      );
    else push(echoByKey, r.key, r);
  }
  found('aborted-read', '{n} echoed values come from aborted input transactions', abortedRead);
  found('unexpected', '{n} echoed records are not committed input', unexpected);

  // Per key: each value echoed exactly as often as the input holds it, and
  // the key's values in input order. Values whose counts agree feed the
  // per-partition order check below, so a loss or duplicate does not also
  // show up as a reorder.
  const duplicates: string[] = [];
  const lost: string[] = [];
  const keyReorders: string[] = [];
  const agreed = new Map<string | null, Set<string>>();
  for (const [key, inputs] of inputByKey) {
    const echoes = echoByKey.get(key) ?? [];
    const inputCopies = byValue(inputs);
    const echoCopies = byValue(echoes);
    const ok = new Set<string>();
    for (const [value, copies] of inputCopies) {
      const m = copies.length;
      const echoed = echoCopies.get(value) ?? [];
      const n = echoed.length;
      if (n === m) ok.add(value);
      else if (n > m)
        duplicates.push(
          `${at(echo.topic, echoed)} ${key}=${value} echoed ${n} times, input has ${m}`,
        );
      else if (n === 0)
        lost.push(
          `${at(data.input.topic, copies)} ${key}=${value} is missing from ${echo.topic}` +
            (m > 1 ? ` (input has ${m})` : ''),
        );
      else
        lost.push(
          `${at(data.input.topic, copies)} ${key}=${value} echoed ${n} time${n === 1 ? '' : 's'}, input has ${m}`,
        );
    }
    agreed.set(key, ok);
    if (ok.size === inputCopies.size) {
      const want = inputs.flatMap((r) => (r.value === null ? [] : [r.value]));
      const got = echoes.map((r) => r.value!);
      const i = firstDifference(want, got);
      if (i >= 0)
        keyReorders.push(
          `key ${key}: echo position ${i} holds ${got[i]}, the input has ${want[i]} there (next inputs ${want.slice(i, i + 4).join(', ')}; echoed ${got.slice(i, i + 4).join(', ')})`,
        );
    }
  }
  found(
    'duplicate',
    '{n} input values are echoed more often than the input holds them',
    duplicates,
  );
  found('loss', '{n} committed input values are echoed less often than the input holds them', lost);
  found('reorder', "{n} keys' values are echoed out of input order", keyReorders);

  // Per input partition: its values, where their counts agree, in the echo
  // (read in echo partition, offset order) in input order. The echo has the
  // input's partition count, so one input partition's values share one echo
  // partition. Values input on several partitions are left out: their echo
  // cannot be told apart.
  const agrees = (r: ChaosRecord): boolean =>
    r.value !== null &&
    agreed.get(r.key)?.has(r.value) === true &&
    inputPartitions.get(r.value)?.size === 1;
  const inputOrder = new Map<number, string[]>();
  for (const r of data.input.committed) if (agrees(r)) push(inputOrder, r.partition, r.value!);
  const echoOrder = new Map<number, string[]>();
  for (const r of echo.committed)
    if (agrees(r)) push(echoOrder, [...inputPartitions.get(r.value!)!][0]!, r.value!);
  const reordered: string[] = [];
  for (const [partition, want] of inputOrder) {
    const got = echoOrder.get(partition) ?? [];
    const i = firstDifference(want, got);
    if (i >= 0)
      reordered.push(
        `input partition ${partition}: echo position ${i} holds ${got[i]}, the input has ${want[i]} there (next inputs ${want.slice(i, i + 4).join(', ')}; echoed ${got.slice(i, i + 4).join(', ')})`,
      );
  }
  found('reorder', '{n} input partitions are echoed out of order', reordered);

  // Aggregates: each key's emitted stream equals the running aggregate.
  const expected = runningAggregates(data.input.committed);
  const emitted = new Map<string, string[]>();
  for (const r of aggregates.committed) {
    const key = r.key ?? '';
    push(emitted, key, r.value ?? 'null');
  }
  const wrong: string[] = [];
  for (const key of new Set([...expected.keys(), ...emitted.keys()])) {
    const want = (expected.get(key) ?? []).map((a) => JSON.stringify(a));
    const got = (emitted.get(key) ?? []).map(normalizeAggregate);
    const i = Array.from({ length: Math.max(want.length, got.length) }, (_, j) => j).find(
      (j) => want[j] !== got[j],
    );
    if (i !== undefined)
      wrong.push(
        `key ${key} aggregate #${i + 1} of ${want.length}: emitted ${got[i] ?? '(nothing)'}, expected ${want[i] ?? '(nothing)'}` +
          (got.length !== want.length ? ` (${got.length} emitted in all)` : ''),
      );
  }
  found(
    'wrong-aggregate',
    '{n} keys have an emitted aggregate that differs from the running aggregate of their input',
    wrong,
  );

  // The store's final contents, from its changelog.
  const store = new Map<string, string>();
  for (const r of changelog.committed) {
    const key = r.key ?? '';
    if (r.value === null) store.delete(key);
    else store.set(key, normalizeAggregate(r.value));
  }
  const mismatched: string[] = [];
  for (const key of new Set([...expected.keys(), ...store.keys()])) {
    const last = expected.get(key)?.at(-1);
    const want = last ? JSON.stringify(last) : undefined;
    const got = store.get(key);
    if (want !== got)
      mismatched.push(
        `key ${key}: store holds ${got ?? '(nothing)'}, expected ${want ?? '(nothing)'}`,
      );
  }
  found(
    'store-mismatch',
    `{n} keys of store ${storeName} (from ${changelog.topic}) differ from the aggregate of their input`,
    mismatched,
  );
  return violations;
}

/** The aggregate after one more value (the first when `prev` is undefined). */
export function nextAggregate(prev: Aggregate | undefined, v: number): Aggregate {
  return prev
    ? {
        count: prev.count + 1,
        sum: prev.sum + v,
        min: Math.min(prev.min, v),
        max: Math.max(prev.max, v),
      }
    : { count: 1, sum: v, min: v, max: v };
}

/** Per key (null keys as ''), the aggregate after each of its values, in order; null values skipped. */
export function runningAggregates(
  records: Iterable<{ key: string | null; value: string | null }>,
): Map<string, Aggregate[]> {
  const running = new Map<string, Aggregate[]>();
  for (const r of records) {
    if (r.value === null) continue;
    const key = r.key ?? '';
    const list = running.get(key);
    if (list) list.push(nextAggregate(list.at(-1), Number(r.value)));
    else running.set(key, [nextAggregate(undefined, Number(r.value))]);
  }
  return running;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

/** Records by value, each value's in their order. */
function byValue(records: ChaosRecord[]): Map<string, ChaosRecord[]> {
  const map = new Map<string, ChaosRecord[]>();
  for (const r of records) if (r.value !== null) push(map, r.value, r);
  return map;
}

/** The first position where two sequences differ (also in length), or -1. */
function firstDifference(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** An aggregate as canonical JSON (fields in a fixed order), or the raw text if it is none. */
function normalizeAggregate(text: string): string {
  try {
    const a = JSON.parse(text) as Partial<Aggregate>;
    return JSON.stringify({ count: a.count, sum: a.sum, min: a.min, max: a.max });
  } catch {
    return text;
  }
}

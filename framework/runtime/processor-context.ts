/**
 * The processor context (Kafka Streams' ProcessorContextImpl): what one
 * processor instance sees of its task — the current record's metadata, its
 * connected stores, punctuation, commit requests — and `forward()`.
 *
 * forward() cannot be misused (docs/architecture.md, "forward()"):
 * - Forwards run depth-first, in the order they were issued. A forward
 *   issued while an earlier one of the same call is still running waits for
 *   it, so an un-awaited `forward()` behaves exactly like an awaited one.
 * - The task waits for every forward a `process()` (or punctuator) issued
 *   before it moves on, and a failure downstream fails the record even if
 *   the processor did not await, or caught, the promise. The promise never
 *   rejects unhandled.
 * - A forward issued after its processor's `process()` returned (from a
 *   timer, or a promise chain the processor did not return) runs nothing and
 *   fails the task with an error naming the processor.
 * - When every node downstream is synchronous, forward() completes before
 *   it returns and hands back a resolved promise: no promise per record.
 */
import type { StreamsErrorContext } from '../errors.ts';
import { StreamsFatalError } from '../errors.ts';
import type {
  Cancellable,
  ProcessorContext,
  PunctuationType,
  Punctuator,
  Record as StreamRecord,
  RecordHeaders,
  StateStore,
} from '../processor.ts';
import type { ProcessorNode } from '../topology.ts';

/** What a context needs of its task. */
export interface ContextHost {
  readonly applicationId: string;
  readonly taskId: string;
  readonly currentTopic: string | undefined;
  readonly currentPartition: number | undefined;
  readonly currentOffset: string | undefined;
  readonly currentTimestamp: number;
  readonly currentHeaders: RecordHeaders;
  errorContext(): StreamsErrorContext;
  /** Runs the named children with the record; void when all of them completed synchronously. */
  forwardTo(
    children: readonly string[],
    record: StreamRecord<unknown, unknown>,
  ): void | Promise<void>;
  store(name: string): StateStore | undefined;
  /** A global store (every processor may read one without being connected to it). */
  globalStore?(name: string): StateStore | undefined;
  schedule(
    node: string,
    intervalMs: number,
    type: PunctuationType,
    callback: Punctuator,
  ): Cancellable;
  requestCommit(): void;
  droppedRecord(node: string, reason: string): void;
  /** A forward() came after its processor's call had returned: fail the task. */
  lateForward(node: string): void;
}

export const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => undefined;

export class ProcessorContextImpl implements ProcessorContext<unknown, unknown> {
  /** Nesting depth of this processor's running calls (process, punctuators). */
  private active = 0;
  /** The tail of this call's forwards still running, if any. */
  private tail: Promise<void> | undefined;
  /** The first failure among this call's forwards. */
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly host: ContextHost,
    private readonly node: ProcessorNode,
  ) {}

  get applicationId(): string {
    return this.host.applicationId;
  }
  get taskId(): string {
    return this.host.taskId;
  }
  get topic(): string | undefined {
    return this.host.currentTopic;
  }
  get partition(): number | undefined {
    return this.host.currentPartition;
  }
  get offset(): string | undefined {
    return this.host.currentOffset;
  }
  get timestamp(): number {
    return this.host.currentTimestamp;
  }
  get headers(): RecordHeaders {
    return this.host.currentHeaders;
  }

  forward(record: StreamRecord<unknown, unknown>, childName?: string): Promise<void> {
    if (this.active === 0) {
      this.host.lateForward(this.node.name);
      return RESOLVED;
    }
    const children = this.childrenFor(childName);
    const normalized = this.normalize(record);
    if (this.tail !== undefined) {
      // An earlier forward of this call is still running: keep depth-first order.
      return this.track(this.tail.then(() => this.host.forwardTo(children, normalized)));
    }
    let result: void | Promise<void>;
    try {
      result = this.host.forwardTo(children, normalized);
    } catch (err) {
      this.fail(err);
      return this.rejected(err);
    }
    return result === undefined ? RESOLVED : this.track(result);
  }

  getStateStore<S extends StateStore>(name: string): S {
    const store = this.host.store(name);
    if (!store || !this.node.stores.includes(name)) {
      // Kafka Streams lets every processor read a global store, connected or not.
      const global = this.host.globalStore?.(name);
      if (global) return global as S;
      throw new StreamsFatalError(
        `Processor "${this.node.name}" has no state store "${name}" (connected: ${this.node.stores.join(', ') || 'none'})`,
        { taskId: this.host.taskId },
      );
    }
    return store as S;
  }

  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable {
    return this.host.schedule(this.node.name, intervalMs, type, callback);
  }

  commit(): void {
    this.host.requestCommit();
  }

  droppedRecord(reason: string): void {
    this.host.droppedRecord(this.node.name, reason);
  }

  // --- the runtime's side ---

  /** A call into the processor starts (process or a punctuator). */
  enter(): void {
    if (this.active++ === 0) {
      this.tail = undefined;
      this.failure = undefined;
    }
  }

  /**
   * The processor's call returned: waits for the forwards it issued, then leaves. Throws (or
   * rejects with) the first forward failure. Void when nothing is pending.
   */
  settle(): void | Promise<void> {
    const tail = this.tail;
    if (tail === undefined) {
      this.leave();
      return;
    }
    return tail.then(
      () => this.leave(),
      () => this.leave(),
    );
  }

  /** The processor's call failed: leaves, forgetting its pending forwards' outcome. */
  abandon(): void {
    if (--this.active === 0) {
      this.tail = undefined;
      this.failure = undefined;
    }
  }

  private leave(): void {
    const failure = this.failure;
    if (--this.active === 0) {
      this.tail = undefined;
      this.failure = undefined;
    }
    if (failure !== undefined) throw failure.error;
  }

  private track(p: Promise<void>): Promise<void> {
    const tracked = p.then(
      () => {
        if (this.tail === tracked) this.tail = undefined;
      },
      (err: unknown) => {
        this.fail(err);
        if (this.tail === tracked) this.tail = undefined;
        throw err;
      },
    );
    // The caller may not await it; the task does, through settle().
    tracked.catch(noop);
    this.tail = tracked;
    return tracked;
  }

  private fail(err: unknown): void {
    this.failure ??= { error: err };
  }

  private rejected(err: unknown): Promise<void> {
    const p = Promise.reject(err as Error);
    p.catch(noop);
    return p;
  }

  private childrenFor(childName: string | undefined): readonly string[] {
    const { children } = this.node;
    if (childName === undefined) return children;
    if (!children.includes(childName)) {
      throw new StreamsFatalError(
        `Processor "${this.node.name}" has no child "${childName}" (children: ${children.join(', ') || 'none'})`,
        this.host.errorContext(),
      );
    }
    return [childName];
  }

  /** Headers default to none; the timestamp to the current record's; both checked. */
  private normalize(record: StreamRecord<unknown, unknown>): StreamRecord<unknown, unknown> {
    if (typeof record !== 'object' || record === null) {
      throw new StreamsFatalError(
        `Processor "${this.node.name}" forwarded ${String(record)}, not a record { key, value, timestamp?, headers? }`,
        this.host.errorContext(),
      );
    }
    const { headers, timestamp } = record as Partial<StreamRecord<unknown, unknown>>;
    if (headers !== undefined && timestamp !== undefined && isTimestamp(timestamp)) return record;
    if (timestamp !== undefined && !isTimestamp(timestamp)) {
      throw new StreamsFatalError(
        `Processor "${this.node.name}" forwarded a record with timestamp ${String(timestamp)}: expected an integer >= 0 (ms since the epoch)`,
        this.host.errorContext(),
      );
    }
    return {
      key: record.key,
      value: record.value,
      timestamp: timestamp ?? this.host.currentTimestamp,
      headers: headers ?? {},
    };
  }
}

function isTimestamp(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;
}

/**
 * The DSL's stateless processors (Kafka Streams' KStreamFilter, KStreamMap, KStreamMapValues,
 * KStreamFlatMap, KStreamPeek, KStreamBranch, ...). All synchronous: `process()` returns
 * nothing and forwards without awaiting, so a chain of them costs no promise per record
 * (docs/architecture.md, "forward()": un-awaited forwards run in order and the task waits
 * for them, failures included).
 */
import type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  Record as StreamRecord,
} from '../../framework/processor.ts';

type AnyRecord = StreamRecord<unknown, unknown>;
type Context = ProcessorContext<unknown, unknown>;

/** One step per record: the record and the context to forward with. */
export type Step = (record: AnyRecord, context: Context) => void;

class StatelessProcessor implements Processor<unknown, unknown, unknown, unknown> {
  #context!: Context;
  constructor(private readonly step: Step) {}
  init(context: Context): void {
    this.#context = context;
  }
  process(record: AnyRecord): void {
    this.step(record, this.#context);
  }
}

export function stateless(step: Step): ProcessorSupplier {
  return () => new StatelessProcessor(step);
}

export function withValue(record: AnyRecord, value: unknown): AnyRecord {
  return { key: record.key, value, timestamp: record.timestamp, headers: record.headers };
}

export function withKeyValue(record: AnyRecord, key: unknown, value: unknown): AnyRecord {
  return { key, value, timestamp: record.timestamp, headers: record.headers };
}

export function filterProcessor(keep: (record: AnyRecord) => boolean): ProcessorSupplier {
  return stateless((record, context) => {
    if (keep(record)) void context.forward(record);
  });
}

export const passThrough: ProcessorSupplier = stateless((record, context) => {
  void context.forward(record);
});

/** Forwards each record to the first branch whose predicate holds (KStreamBranch). */
export function branchProcessor(
  branches: readonly { predicate: (record: AnyRecord) => boolean; child: string }[],
): ProcessorSupplier {
  return stateless((record, context) => {
    for (const { predicate, child } of branches) {
      if (predicate(record)) {
        void context.forward(record, child);
        return;
      }
    }
  });
}

/** Counts and drops a record an aggregation cannot take (null key or value), as Kafka Streams does. */
export function dropNull(context: Context, record: AnyRecord): boolean {
  if (record.key === null || record.key === undefined) {
    context.droppedRecord('null key');
    return true;
  }
  if (record.value === null || record.value === undefined) {
    context.droppedRecord('null value');
    return true;
  }
  return false;
}

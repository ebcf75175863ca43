/**
 * TaskHarness: one task of a topology's first sub-topology on the in-memory
 * Kafka, driven batch by batch — the production StreamTask, with the
 * environment factory StreamsApp uses. For micro-benchmarks of the
 * per-record path (bench/) and low-level tests; application tests want the
 * TopologyTestDriver.
 *
 * @example
 * ```ts
 * const harness = await TaskHarness.start(topology, { maxBatchRecords: 10_000 });
 * await harness.process(records); // ConsumedRecord[] of a source topic, partition 0
 * await harness.commit();
 * harness.committedValues('out');
 * await harness.close();
 * ```
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumedRecord } from '../framework/client/index.ts';
import { taskId } from '../framework/names.ts';
import { compileStreamsAppOptions, type StreamsAppOptions } from '../framework/options.ts';
import { StreamTask } from '../framework/runtime/stream-task.ts';
import { createTaskEnvironment } from '../framework/runtime/task-environment.ts';
import type { Topology } from '../framework/topology.ts';
import { MemoryKafka, MemoryKafkaClient } from './internals/memory-kafka.ts';

export type TaskHarnessOptions = Partial<Omit<StreamsAppOptions, 'brokers'>>;

export class TaskHarness {
  readonly #kafka: MemoryKafka;
  readonly #task: StreamTask;
  readonly #stateDir: string;

  private constructor(kafka: MemoryKafka, task: StreamTask, stateDir: string) {
    this.#kafka = kafka;
    this.#task = task;
    this.#stateDir = stateDir;
  }

  /** Builds and initialises the task `0_0` (fence, restore, offsets), ready to process. */
  static async start(topology: Topology, options: TaskHarnessOptions = {}): Promise<TaskHarness> {
    const stateDir = mkdtempSync(join(options.stateDir ?? tmpdir(), 'streamtx-harness-'));
    const compiled = compileStreamsAppOptions({
      applicationId: 'task-harness',
      ...options,
      stateDir,
      brokers: ['task-harness.invalid:9092'],
    });
    const built = topology.build(compiled.applicationId);
    const kafka = new MemoryKafka();
    const id = taskId(0, 0);
    const env = createTaskEnvironment(id, {
      options: compiled,
      client: new MemoryKafkaClient(kafka),
      seek: () => undefined,
      partitionCount: () => 1,
      fetchPartitionCount: async () => 1,
      now: () => Date.now(),
      log: () => undefined,
    });
    const task = new StreamTask(id, 0, built.subtopologies[0]!, env);
    try {
      await task.init();
    } catch (err) {
      rmSync(stateDir, { recursive: true, force: true });
      throw err;
    }
    return new TaskHarness(kafka, task, stateDir);
  }

  /** Processes records (commits on its own when maxBatchRecords is reached, as in production). */
  process(records: readonly ConsumedRecord[]): Promise<void> {
    return this.#task.process(records);
  }

  commit(): Promise<void> {
    return this.#task.commit();
  }

  /** Values of the committed records of a topic, as strings. */
  committedValues(topic: string): string[] {
    return this.#kafka.committedEntries(topic).map(({ entry }) => String(entry.record.value));
  }

  async close(): Promise<void> {
    try {
      await this.#task.close();
    } finally {
      rmSync(this.#stateDir, { recursive: true, force: true });
    }
  }
}

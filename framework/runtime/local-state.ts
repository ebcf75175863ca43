/**
 * The changelog offsets of the task state this worker holds on local disk, for its group
 * metadata (state-aware assignment, KIP-441's task offset sums): a task's offset is the sum of
 * its persistent logged stores' checkpoints. Open tasks and standbys report their own; a
 * task directory nobody has open is read from its store files (read-only, without opening
 * the stores), and cached until a holder opens it again.
 */
import { existsSync } from 'node:fs';
import { taskStateDir } from '../names.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import type { StoreBuilder } from '../processor.ts';
import { isStandbyStore } from './standby-task.ts';

export class LocalStateOffsets {
  private readonly onDisk = new Map<string, bigint | undefined>();

  constructor(
    private readonly options: CompiledStreamsAppOptions,
    /** Stateful task ids and their sub-topology's store builders. */
    private readonly storesOf: (taskId: string) => ReadonlyMap<string, StoreBuilder> | undefined,
    private readonly taskIds: () => Iterable<string>,
  ) {}

  /**
   * Every task with local state and its offset sum. `open` gives the holders' own figures
   * (undefined: read the directory anyway, e.g. a task still restoring).
   */
  offsets(open: ReadonlyMap<string, bigint | undefined>): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (const id of this.taskIds()) {
      let offset: bigint | undefined;
      if (open.has(id)) {
        this.onDisk.delete(id); // a holder has it open: the file moves on
        offset = open.get(id) ?? this.read(id);
      } else {
        if (!this.onDisk.has(id)) this.onDisk.set(id, this.read(id));
        offset = this.onDisk.get(id);
      }
      if (offset !== undefined) out[id] = offset;
    }
    return out;
  }

  /** Sum of the checkpoints in the task's directory; undefined when none is recorded. */
  private read(taskId: string): bigint | undefined {
    const builders = this.storesOf(taskId);
    if (builders === undefined) return undefined;
    const dir = taskStateDir(this.options.stateDir, this.options.applicationId, taskId);
    if (!existsSync(dir)) return undefined;
    let sum: bigint | undefined;
    for (const builder of builders.values()) {
      if (!isStandbyStore(builder)) continue;
      const checkpoint = builder.readCheckpoint!(dir);
      if (checkpoint !== undefined) sum = (sum ?? 0n) + checkpoint;
    }
    return sum;
  }
}

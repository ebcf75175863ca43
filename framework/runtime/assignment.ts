/**
 * Task placement for the group leader: co-partitioned (a task's partitions of
 * every source topic go to one member), balanced, sticky (a member keeps the
 * tasks it runs), and aware of where state lives (a member with a task's
 * local store directory is preferred over one that would restore from
 * scratch). Pure: no Kafka client here.
 */
import { taskIdOf } from '../topology.ts';

/** What a member tells the leader in its subscription userData. */
export interface MemberClaims {
  /** Tasks it runs now. */
  owned: string[];
  /** Tasks whose state it holds on local disk. */
  stateful: string[];
}

export interface TaskSpec {
  id: string;
  /** Every source topic of the task's sub-topology. */
  topics: readonly string[];
  partition: number;
}

export function encodeClaims(claims: MemberClaims): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ...claims }));
}

export function decodeClaims(data: Buffer): MemberClaims {
  try {
    const parsed = JSON.parse(data.toString('utf8')) as Partial<MemberClaims> & { v?: number };
    return {
      owned: Array.isArray(parsed.owned) ? parsed.owned.map(String) : [],
      stateful: Array.isArray(parsed.stateful) ? parsed.stateful.map(String) : [],
    };
  } catch {
    return { owned: [], stateful: [] }; // an empty or foreign subscription claims nothing
  }
}

/** The tasks of a topology, given each sub-topology's source topics and partition count. */
export function tasksOf(
  subtopologies: { id: number; topics: readonly string[]; partitions: number }[],
): TaskSpec[] {
  return subtopologies.flatMap((s) =>
    Array.from({ length: s.partitions }, (_, p) => ({
      id: taskIdOf(s.id, p),
      topics: s.topics,
      partition: p,
    })),
  );
}

/**
 * Assigns every task to exactly one member. No member gets more than
 * ceil(tasks / members); previous owners keep their tasks within that
 * bound, then members holding the task's state, then the least loaded.
 * Deterministic for the same input.
 */
export function assignTasks(
  tasks: TaskSpec[],
  members: { memberId: string; claims: MemberClaims }[],
): Map<string, TaskSpec[]> {
  const result = new Map<string, TaskSpec[]>();
  const sorted = [...members].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  );
  for (const m of sorted) result.set(m.memberId, []);
  if (sorted.length === 0) return result;
  const capacity = Math.ceil(tasks.length / sorted.length);
  const load = (memberId: string): number => result.get(memberId)!.length;
  const give = (memberId: string, task: TaskSpec): void => void result.get(memberId)!.push(task);
  const unassigned: TaskSpec[] = [];

  for (const task of tasks) {
    // Two members can both claim a task after a zombie came back; the first
    // by member id wins, the other is fenced when its producer next speaks.
    const owner = sorted.find(
      (m) => m.claims.owned.includes(task.id) && load(m.memberId) < capacity,
    );
    if (owner) give(owner.memberId, task);
    else unassigned.push(task);
  }
  const rest: TaskSpec[] = [];
  for (const task of unassigned) {
    const holder = sorted.find(
      (m) => m.claims.stateful.includes(task.id) && load(m.memberId) < capacity,
    );
    if (holder) give(holder.memberId, task);
    else rest.push(task);
  }
  for (const task of rest) {
    let best = sorted[0]!;
    for (const m of sorted) if (load(m.memberId) < load(best.memberId)) best = m;
    give(best.memberId, task);
  }
  return result;
}

/** A member's tasks as the topic → partitions map the group protocol carries. */
export function toTopicPartitions(tasks: TaskSpec[]): Record<string, number[]> {
  const assignment: Record<string, number[]> = {};
  for (const task of tasks) {
    for (const topic of task.topics) (assignment[topic] ??= []).push(task.partition);
  }
  for (const partitions of Object.values(assignment)) partitions.sort((a, b) => a - b);
  return assignment;
}

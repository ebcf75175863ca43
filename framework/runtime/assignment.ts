/**
 * Task placement (Kafka Streams' StreamsPartitionAssignor with the HighAvailabilityTaskAssignor
 * of KIP-441, cut down to what an eager kafkajs group allows): co-partitioned (a task's
 * partitions of every source topic go to one member), balanced, sticky, state-aware, plus
 * standby replicas. Pure and deterministic: computed from the members' subscription metadata
 * alone, because kafkajs drops the assignment's userData — so the leader computes it, and
 * every member recomputes it from the group's metadata (DescribeGroups) to learn its standby
 * tasks and to check its active ones (docs/architecture.md, "Standby replicas and state-aware
 * assignment").
 *
 * Active tasks, in passes:
 *  1. a member keeps the tasks it runs, up to ceil(tasks / members) (sticky);
 *  2. a stateful task without a live owner goes to the most caught-up member holding its state
 *     (highest changelog offset sum: a standby or an old state directory) that has room;
 *  3. the rest go to the least loaded member (ties: the one with more of the task's state).
 * Standbys of each stateful task go to other members than its active: first on another rack
 * than the active's and the other replicas' (`rackId`), then on members already holding the
 * task's state, then spread so one member's active tasks have their standbys on different
 * members (its failover then spreads too), then the least loaded; at most
 * ceil(standbys / members) each while others have room.
 *
 * Not done: KIP-441's warm-up replicas that hold a task on its caught-up owner while the
 * balanced target catches up, because they need a probing rebalance to move the task later,
 * which a kafkajs member cannot ask for. A moved task replays what its new member lacks.
 */
import { taskIdOf } from '../topology.ts';

/** What a member tells the leader in its subscription userData. */
export interface MemberClaims {
  /** Active tasks it runs now. */
  owned: string[];
  /**
   * Tasks whose state it holds on local disk (running, standby, or a state directory left from
   * before), each with the sum of its stores' changelog offsets (next offset to replay from).
   */
  offsets: Record<string, bigint>;
  /** Its `applicationServer` (host:port) for interactive queries, if set. */
  endpoint?: string;
  /** Its `rackId` (host or zone tag), if set. */
  rack?: string;
}

export interface TaskSpec {
  id: string;
  /** Every source topic of the task's sub-topology. */
  topics: readonly string[];
  partition: number;
  /** Whether it has changelogged persistent stores (state worth keeping: standbys, offsets). */
  stateful?: boolean;
}

export interface GroupMember {
  memberId: string;
  claims: MemberClaims;
}

export interface GroupAssignment {
  /** Active tasks per member (every member present, maybe with none). */
  active: Map<string, TaskSpec[]>;
  /** Standby task ids per member. */
  standby: Map<string, string[]>;
}

const EMPTY_CLAIMS: MemberClaims = Object.freeze({ owned: [], offsets: {} }) as MemberClaims;

export function encodeClaims(claims: MemberClaims): Buffer {
  const offsets: Record<string, string> = {};
  for (const [task, offset] of Object.entries(claims.offsets)) offsets[task] = offset.toString();
  return Buffer.from(
    JSON.stringify({
      v: 2,
      owned: claims.owned,
      offsets,
      ...(claims.endpoint === undefined ? {} : { endpoint: claims.endpoint }),
      ...(claims.rack === undefined ? {} : { rack: claims.rack }),
    }),
  );
}

export function decodeClaims(data: Buffer): MemberClaims {
  try {
    const parsed = JSON.parse(data.toString('utf8')) as {
      owned?: unknown;
      offsets?: unknown;
      stateful?: unknown;
      endpoint?: unknown;
      rack?: unknown;
    };
    const offsets: Record<string, bigint> = {};
    if (typeof parsed.offsets === 'object' && parsed.offsets !== null) {
      for (const [task, offset] of Object.entries(parsed.offsets as Record<string, unknown>)) {
        if (typeof offset === 'string' && /^\d+$/.test(offset)) offsets[task] = BigInt(offset);
      }
    }
    // v1 named the tasks whose state a member held, without offsets: the least caught up.
    if (Array.isArray(parsed.stateful))
      for (const task of parsed.stateful) offsets[String(task)] ??= 0n;
    return {
      owned: Array.isArray(parsed.owned) ? parsed.owned.map(String) : [],
      offsets,
      ...(typeof parsed.endpoint === 'string' ? { endpoint: parsed.endpoint } : {}),
      ...(typeof parsed.rack === 'string' ? { rack: parsed.rack } : {}),
    };
  } catch {
    return { ...EMPTY_CLAIMS, offsets: {} }; // an empty or foreign subscription claims nothing
  }
}

/** The tasks of a topology, given each sub-topology's source topics and partition count. */
export function tasksOf(
  subtopologies: {
    id: number;
    topics: readonly string[];
    partitions: number;
    stateful?: boolean;
  }[],
): TaskSpec[] {
  return subtopologies.flatMap((s) =>
    Array.from({ length: s.partitions }, (_, p) => ({
      id: taskIdOf(s.id, p),
      topics: s.topics,
      partition: p,
      ...(s.stateful ? { stateful: true } : {}),
    })),
  );
}

/** Assigns every task to exactly one member (the active part of `assignGroup`). */
export function assignTasks(tasks: TaskSpec[], members: GroupMember[]): Map<string, TaskSpec[]> {
  return assignGroup(tasks, members, { standbyReplicas: 0 }).active;
}

/**
 * Active tasks and standbys for every member. Deterministic for the same tasks and members
 * (in any order): members are taken by member id.
 */
export function assignGroup(
  tasks: TaskSpec[],
  members: GroupMember[],
  options: { standbyReplicas: number },
): GroupAssignment {
  const sorted = [...members].sort((a, b) => compare(a.memberId, b.memberId));
  const active = new Map<string, TaskSpec[]>(sorted.map((m) => [m.memberId, []]));
  const standby = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0) return { active, standby };

  const capacity = Math.ceil(tasks.length / sorted.length);
  const load = (m: GroupMember): number => active.get(m.memberId)!.length;
  const owner = new Map<string, GroupMember>();
  const give = (m: GroupMember, task: TaskSpec): void => {
    active.get(m.memberId)!.push(task);
    owner.set(task.id, m);
  };
  const offsetOf = (m: GroupMember, task: TaskSpec): bigint | undefined =>
    task.stateful ? m.claims.offsets[task.id] : undefined;

  // 1. Sticky. Two members can both claim a task after a zombie came back; the first by
  // member id wins, the other is fenced when its producer next speaks.
  const unassigned: TaskSpec[] = [];
  for (const task of tasks) {
    const current = sorted.find((m) => m.claims.owned.includes(task.id) && load(m) < capacity);
    if (current) give(current, task);
    else unassigned.push(task);
  }
  // 2. The most caught-up holder of the task's state with room.
  const rest: TaskSpec[] = [];
  for (const task of unassigned) {
    let best: GroupMember | undefined;
    for (const m of sorted) {
      const offset = offsetOf(m, task);
      if (offset === undefined || load(m) >= capacity) continue;
      const bestOffset = best === undefined ? undefined : offsetOf(best, task)!;
      if (bestOffset === undefined || offset > bestOffset) best = m;
      else if (offset === bestOffset && load(m) < load(best!)) best = m;
    }
    if (best) give(best, task);
    else rest.push(task);
  }
  // 3. The least loaded; among equals, the one with more of the task's state.
  for (const task of rest) {
    let best = sorted[0]!;
    for (const m of sorted) {
      const better =
        load(m) < load(best) ||
        (load(m) === load(best) && (offsetOf(m, task) ?? -1n) > (offsetOf(best, task) ?? -1n));
      if (better) best = m;
    }
    give(best, task);
  }

  placeStandbys(tasks, sorted, owner, standby, options.standbyReplicas);
  return { active, standby };
}

function placeStandbys(
  tasks: TaskSpec[],
  sorted: GroupMember[],
  owner: ReadonlyMap<string, GroupMember>,
  standby: Map<string, string[]>,
  replicas: number,
): void {
  const stateful = tasks.filter((t) => t.stateful);
  const perTask = Math.min(replicas, sorted.length - 1);
  if (perTask <= 0 || stateful.length === 0) return;
  const capacity = Math.ceil((stateful.length * perTask) / sorted.length);
  const standbyLoad = (m: GroupMember): number => standby.get(m.memberId)!.length;
  /** Standbys a member holds of tasks active on `active`: spread them, so a failover spreads. */
  const pairs = new Map<string, number>();
  const pairKey = (active: GroupMember, m: GroupMember): string =>
    `${active.memberId}\u0000${m.memberId}`;
  const position = new Map(sorted.map((m, i) => [m.memberId, i]));

  for (const task of stateful) {
    const active = owner.get(task.id)!;
    const racks = new Set<string | undefined>([active.claims.rack]);
    const chosen = new Set<string>([active.memberId]);
    for (let n = 0; n < perTask; n++) {
      const candidates = sorted.filter((m) => !chosen.has(m.memberId));
      const withRoom = candidates.filter((m) => standbyLoad(m) < capacity);
      const pool = withRoom.length > 0 ? withRoom : candidates;
      const score = (m: GroupMember): (number | bigint)[] => [
        m.claims.rack !== undefined && racks.has(m.claims.rack) ? 1 : 0,
        m.claims.offsets[task.id] === undefined ? 1 : 0,
        pairs.get(pairKey(active, m)) ?? 0,
        standbyLoad(m),
        -(m.claims.offsets[task.id] ?? 0n),
        // Then the next members after the active, cyclically: ties spread instead of piling
        // onto the lowest member id (which would leave the last tasks no member with room).
        (position.get(m.memberId)! - position.get(active.memberId)! + sorted.length) %
          sorted.length,
      ];
      let best: GroupMember | undefined;
      let bestScore: (number | bigint)[] = [];
      for (const m of pool) {
        const s = score(m);
        if (best === undefined || lexicallyLess(s, bestScore)) [best, bestScore] = [m, s];
      }
      if (best === undefined) break;
      standby.get(best.memberId)!.push(task.id);
      chosen.add(best.memberId);
      racks.add(best.claims.rack);
      pairs.set(pairKey(active, best), (pairs.get(pairKey(active, best)) ?? 0) + 1);
    }
  }
}

function lexicallyLess(a: (number | bigint)[], b: (number | bigint)[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return true;
    if (a[i]! > b[i]!) return false;
  }
  return false;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Differences between the actives a computation gives and what the group delivered
 * (every member's check of the leader's assignment); empty when they agree.
 */
export function assignmentDifferences(
  computed: ReadonlyMap<string, readonly TaskSpec[]>,
  delivered: ReadonlyMap<string, readonly string[]>,
): string[] {
  const out: string[] = [];
  for (const memberId of new Set([...computed.keys(), ...delivered.keys()])) {
    const a = (computed.get(memberId) ?? []).map((t) => t.id).sort();
    const b = [...(delivered.get(memberId) ?? [])].sort();
    if (a.join(',') !== b.join(','))
      out.push(`${memberId}: computed [${a.join(', ')}], delivered [${b.join(', ')}]`);
  }
  return out;
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

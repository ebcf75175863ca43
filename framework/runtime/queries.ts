/**
 * What a worker knows of its group, for interactive queries and standbys (Kafka Streams'
 * StreamsMetadataState): after each rebalance it reads the group's metadata (DescribeGroups:
 * every member's subscription claims and delivered assignment), recomputes the assignment
 * from the claims alone — which is how it learns its standby tasks, since kafkajs drops the
 * assignment's userData — and checks the computed actives against the delivered ones.
 * `metadataForKey` then names the worker (its `applicationServer`) hosting a key's task.
 */
import type { GroupDescription, GroupJoinEvent } from '../client/index.ts';
import { StreamsError, TopologyError } from '../errors.ts';
import { taskId as taskIdOf } from '../names.ts';
import type { Serde } from '../serdes.ts';
import type { BuiltTopology, Subtopology } from '../topology.ts';
import {
  assignGroup,
  assignmentDifferences,
  decodeClaims,
  type GroupMember,
  type TaskSpec,
} from './assignment.ts';
import { defaultPartition } from './partitioner.ts';

/** A worker's query endpoint: its `applicationServer` (Kafka Streams' HostInfo). */
export interface HostInfo {
  host: string;
  port: number;
}

/** One worker of the group, as the group's metadata describes it (Kafka Streams' StreamsMetadata). */
export interface WorkerMetadata {
  memberId: string;
  /** Its `applicationServer`; undefined when it set none. */
  hostInfo: HostInfo | undefined;
  rackId: string | undefined;
  /** Active task ids delivered to it. */
  activeTasks: string[];
  /** Standby task ids it keeps (recomputed from the members' claims). */
  standbyTasks: string[];
}

/** Where a key lives (Kafka Streams' KeyQueryMetadata). */
export interface KeyQueryMetadata {
  /** The worker hosting the key's active task; undefined during a rebalance or without an endpoint. */
  activeHost: HostInfo | undefined;
  /** Workers keeping a standby of the key's task (stale by their lag). */
  standbyHosts: HostInfo[];
  /** The key's partition of the store's task input. */
  partition: number;
  taskId: string;
}

export function parseHostInfo(endpoint: string | undefined): HostInfo | undefined {
  if (endpoint === undefined) return undefined;
  const at = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(endpoint.slice(at + 1)) };
}

export interface GroupViewDeps {
  topology: BuiltTopology;
  specs: () => readonly TaskSpec[];
  standbyReplicas: number;
  describe(): Promise<GroupDescription>;
  /** Told the standby tasks this member keeps, after every rebalance. */
  standbys(ids: ReadonlySet<string>): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Waits between DescribeGroups attempts while the group is not Stable yet. */
  delay(ms: number): Promise<void>;
}

export class GroupView {
  private workers: WorkerMetadata[] = [];
  private joins = 0;
  private current = false;

  constructor(private readonly deps: GroupViewDeps) {}

  /** Every worker of the group as of the last rebalance (empty while none is known). */
  get allMetadata(): readonly WorkerMetadata[] {
    return this.workers;
  }

  /** True once the metadata of the latest rebalance has been read. */
  get isCurrent(): boolean {
    return this.current;
  }

  /** A rebalance started: the metadata describes the old generation until the next join. */
  rebalancing(): void {
    this.current = false;
  }

  /**
   * A rebalance finished: read the group's metadata, recompute and check the assignment, and
   * start this member's standbys. A newer join makes an unfinished refresh give up.
   */
  async joined(join: GroupJoinEvent): Promise<void> {
    const seq = ++this.joins;
    this.current = false;
    let group: GroupDescription | undefined;
    for (let attempt = 0; attempt < 50 && seq === this.joins; attempt++) {
      try {
        const d = await this.deps.describe();
        // Members carry their metadata only once the group is Stable (every SyncGroup done).
        if (d.state === 'Stable' && d.members.some((m) => m.memberId === join.memberId)) {
          group = d;
          break;
        }
      } catch (err) {
        if (attempt === 0)
          this.deps.log('debug', `reading the group's metadata: ${messageOf(err)}; retrying`);
      }
      await this.deps.delay(Math.min(1000, 50 * 2 ** attempt));
    }
    if (seq !== this.joins) return;
    if (group === undefined) {
      this.deps.log(
        'warn',
        "the group's metadata could not be read after the rebalance: no standby tasks, and metadataForKey knows no hosts until the next one",
      );
      this.deps.standbys(new Set());
      return;
    }
    const members: GroupMember[] = group.members.map((m) => ({
      memberId: m.memberId,
      claims: decodeClaims(m.userData),
    }));
    const specs = [...this.deps.specs()];
    const computed = assignGroup(specs, members, { standbyReplicas: this.deps.standbyReplicas });
    const delivered = new Map(
      group.members.map((m) => [m.memberId, this.taskIds(m.assignment)] as const),
    );
    // The delivered assignment of this member is the one its groupJoin carried.
    delivered.set(join.memberId, this.taskIds(join.assignment));
    const differences = assignmentDifferences(computed.active, delivered);
    if (differences.length > 0) {
      // E.g. a member running another streamtx version: the delivered actives still rule.
      this.deps.log(
        'warn',
        `the delivered assignment differs from the one this worker computes from the group's metadata (${differences.join('; ')}); standbys follow the computed one`,
      );
    }
    this.workers = members.map((m) => ({
      memberId: m.memberId,
      hostInfo: parseHostInfo(m.claims.endpoint),
      rackId: m.claims.rack,
      activeTasks: delivered.get(m.memberId) ?? [],
      standbyTasks: computed.standby.get(m.memberId) ?? [],
    }));
    this.current = true;
    this.deps.standbys(new Set(computed.standby.get(join.memberId) ?? []));
  }

  /**
   * The worker hosting `key`'s active task for `store`: the key serialized with `keySerde`
   * (default: the key serde of the store's sub-topology's first source), partitioned as Kafka's
   * default partitioner does.
   */
  metadataForKey<K>(store: string, key: K, keySerde?: Serde<K>): KeyQueryMetadata {
    const subtopology = this.subtopologyOf(store);
    const source = [...subtopology.sourceByTopic.values()][0]!;
    const serde = (keySerde ?? source.keySerde) as Serde<K>;
    const bytes = serde.serialize(source.topics[0] ?? store, key);
    if (bytes === null)
      throw new StreamsError(`metadataForKey("${store}"): the key serializes to null`);
    const prefix = `${subtopology.id}_`;
    const partitions = this.deps.specs().filter((s) => s.id.startsWith(prefix)).length;
    if (partitions === 0)
      throw new StreamsError(
        `metadataForKey("${store}"): the app has not started (no tasks known yet)`,
      );
    const partition = defaultPartition(bytes, partitions);
    const taskId = taskIdOf(subtopology.id, partition);
    const active = this.workers.find((w) => w.activeTasks.includes(taskId));
    return {
      activeHost: this.current ? active?.hostInfo : undefined,
      standbyHosts: this.current
        ? this.workers
            .filter((w) => w.standbyTasks.includes(taskId) && w.hostInfo !== undefined)
            .map((w) => w.hostInfo!)
        : [],
      partition,
      taskId,
    };
  }

  private subtopologyOf(store: string): Subtopology {
    const subtopology = this.deps.topology.subtopologies.find((s) => s.stores.has(store));
    if (subtopology === undefined) {
      const names = this.deps.topology.subtopologies.flatMap((s) => [...s.stores.keys()]);
      throw new TopologyError(
        `No state store "${store}" in the topology (its stores: ${names.join(', ') || 'none'})`,
      );
    }
    return subtopology;
  }

  private taskIds(assignment: Record<string, number[]>): string[] {
    const ids = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const subtopology = this.deps.topology.subtopologyByTopic.get(topic);
      if (subtopology) for (const p of partitions) ids.add(taskIdOf(subtopology.id, p));
    }
    return [...ids].sort();
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

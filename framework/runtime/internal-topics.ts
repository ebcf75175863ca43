/**
 * Internal topics (Kafka Streams' InternalTopicManager): the changelogs of
 * logged stores and the repartition topics of a topology, created by the app
 * before it joins its group (docs/architecture.md, "Internal topics").
 *
 * - A repartition topic has the partition count its topology declares, or
 *   the largest partition count among the source topics of the
 *   sub-topologies that write it (resolved in topological order, since a
 *   writer may itself read a repartition topic). It deletes nothing by time
 *   (retention.ms=-1); the app purges it below the committed offset.
 * - A changelog has one partition per task of its store's sub-topology and
 *   the topic config its store builder declares.
 *
 * An internal topic that already exists with another partition count is an
 * error: its data would land in the wrong tasks.
 */
import type { KafkaAdmin, TopicPartitionOffset, TopicSpec } from '../client/index.ts';
import { TopologyError } from '../errors.ts';
import { changelogTopic } from '../names.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import { checkCoPartitioning, type BuiltTopology } from '../topology.ts';

/** Kafka Streams' repartition topic configs (RepartitionTopicConfig). */
const REPARTITION_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'segment.bytes': String(50 * 1024 * 1024),
  'message.timestamp.type': 'CreateTime',
};

/**
 * Partition counts of the repartition topics, given the counts of the user topics the
 * topology reads. A declared count wins. Otherwise, as Kafka Streams resolves them
 * (RepartitionTopics + CopartitionedTopicsEnforcer): a repartition topic read together with
 * user topics — a join after a key change, a foreign-key join's subscriptions and responses —
 * takes their partition count, so the reading tasks line up; one read together only with other
 * repartition topics takes the largest of theirs; one read alone takes the largest partition
 * count of the source topics of the sub-topologies that write it. Throws when a count cannot
 * be resolved (a cycle, or a writer without sources of known size).
 */
export function repartitionPartitionCounts(
  topology: BuiltTopology,
  userCounts: ReadonlyMap<string, number>,
): Map<string, number> {
  const counts = new Map<string, number>();
  const known = (topic: string): number | undefined => userCounts.get(topic) ?? counts.get(topic);
  const open = topology.repartitionTopics.filter((r) => {
    if (r.partitions === undefined) return true;
    counts.set(r.topic, r.partitions);
    return false;
  });
  const peersOf = (r: (typeof open)[number]): readonly string[] =>
    (r.reader === undefined ? [] : (topology.subtopologies[r.reader]?.sourceTopics ?? [])).filter(
      (t) => t !== r.topic,
    );
  const fromWriters = (r: (typeof open)[number]): number | undefined => {
    const sizes = r.writers
      .flatMap((id) => topology.subtopologies[id]?.sourceTopics ?? [])
      .map(known);
    return sizes.some((n) => n === undefined) ? undefined : Math.max(1, ...(sizes as number[]));
  };
  // Every rule only ever raises a count, so this reaches a fixed point; the bound is a guard.
  for (let round = 0; round <= 2 * open.length + 1; round++) {
    let changed = false;
    for (const r of open) {
      const peers = peersOf(r);
      const userPeers = peers.filter((t) => userCounts.has(t));
      let n: number | undefined;
      if (userPeers.length > 0) {
        n = Math.max(...userPeers.map((t) => userCounts.get(t)!));
      } else {
        const own = fromWriters(r);
        const others = peers.map((t) => counts.get(t)).filter((c) => c !== undefined);
        n = own === undefined ? undefined : Math.max(own, ...others);
      }
      if (n !== undefined && counts.get(r.topic) !== n) {
        counts.set(r.topic, n);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const unresolved = open.filter((r) => !counts.has(r.topic));
  if (unresolved.length > 0) {
    throw new TopologyError(
      `Cannot work out the partition count of repartition topic(s) ${unresolved.map((r) => r.name).join(', ')}: ` +
        'give it with addRepartitionTopic(name, { partitions })',
    );
  }
  return counts;
}

export class InternalTopics {
  constructor(
    private readonly admin: KafkaAdmin,
    private readonly topology: BuiltTopology,
    private readonly options: CompiledStreamsAppOptions,
  ) {}

  /**
   * Creates the repartition topics and changelogs the topology needs and checks the
   * co-partitioning of every sub-topology. Returns the partition count of every topic the
   * topology reads or writes, and the number of tasks of each sub-topology.
   */
  async setup(userCounts: ReadonlyMap<string, number>): Promise<{
    partitionCounts: Map<string, number>;
    tasksPerSubtopology: Map<number, number>;
  }> {
    const repartition = repartitionPartitionCounts(this.topology, userCounts);
    const partitionCounts = new Map([...userCounts, ...repartition]);
    const tasksPerSubtopology = checkCoPartitioning(this.topology, partitionCounts);
    const specs: TopicSpec[] = [
      ...[...repartition].map(([topic, partitions]) => ({
        topic,
        partitions,
        replicationFactor: this.options.replicationFactor,
        config: { ...REPARTITION_CONFIG },
      })),
      ...this.topology.subtopologies.flatMap((s) =>
        [...s.stores.values()]
          .filter((b) => b.loggingEnabled)
          .map((b) => ({
            topic: changelogTopic(this.options.applicationId, b.name),
            partitions: tasksPerSubtopology.get(s.id) ?? 1,
            replicationFactor: this.options.replicationFactor,
            config: { ...(b.changelogConfig ?? { 'cleanup.policy': 'compact' }) },
          })),
      ),
    ];
    if (specs.length > 0) {
      await this.admin.createTopics(specs);
      const actual = await this.admin.partitionCounts(specs.map((s) => s.topic));
      for (const spec of specs) {
        const n = actual.get(spec.topic);
        if (n !== spec.partitions) {
          throw new TopologyError(
            `Internal topic ${spec.topic} has ${n} partitions, but the topology needs ${spec.partitions}: delete it (its data belongs to another layout) or fix the source topics`,
          );
        }
        partitionCounts.set(spec.topic, spec.partitions);
      }
    }
    return { partitionCounts, tasksPerSubtopology };
  }

  /**
   * Deletes repartition records below the offsets the group has committed (Kafka Streams'
   * repartition purge): they are processed, and under exactly_once their transaction is
   * committed.
   */
  async purge(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.admin.deleteRecords(offsets);
  }
}

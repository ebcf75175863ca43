/**
 * Every name the runtime derives from an application id, in one place
 * (docs/architecture.md, "Names"). Kafka Streams' conventions, so tools
 * and people who know them find their way:
 *
 *   task id             `${subtopologyId}_${partition}`
 *   transactional id    `${applicationId}-${taskId}`          (one producer per task)
 *   changelog topic     `${applicationId}-${store}-changelog`
 *   repartition topic   `${applicationId}-${name}-repartition`
 *   state directory     `${stateDir}/${applicationId}/${taskId}`
 *
 * Pure functions: the runtime, the stores, the test driver, chaos and bench
 * all use these instead of spelling the names themselves.
 */
import { join } from 'node:path';
import { TopologyError } from './errors.ts';

/** Task ids are `${subtopologyId}_${partition}`, as in Kafka Streams. */
export function taskId(subtopologyId: number, partition: number): string {
  return `${subtopologyId}_${partition}`;
}

export function parseTaskId(id: string): { subtopologyId: number; partition: number } {
  const match = /^(\d+)_(\d+)$/.exec(id);
  if (!match) {
    throw new TopologyError(`Invalid task id "${id}": expected <subtopology>_<partition>`);
  }
  return { subtopologyId: Number(match[1]), partition: Number(match[2]) };
}

/** The task's transactional id: a new owner's InitProducerId with it fences the previous one. */
export function transactionalId(applicationId: string, task: string): string {
  return `${applicationId}-${task}`;
}

/** The compacted topic a logged store writes its changes to. */
export function changelogTopic(applicationId: string, store: string): string {
  return `${applicationId}-${store}-changelog`;
}

/** The internal topic a repartition (a grouping after a key change) writes and reads. */
export function repartitionTopic(applicationId: string, name: string): string {
  return `${applicationId}-${name}-repartition`;
}

/** Where a task's persistent stores keep their files. */
export function taskStateDir(stateDir: string, applicationId: string, task: string): string {
  return join(stateDir, applicationId, task);
}

/** A map key for one partition of a topic: `${topic}:${partition}`. */
export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function parseTopicPartitionKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf(':');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

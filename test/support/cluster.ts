import type { Test } from 'tap';
import { KafkaCluster, type KafkaClusterOptions } from '../../testkit/index.ts';

/**
 * One real cluster for a test file (STREAMTX_BOOTSTRAP selects an external
 * one). Torn down with the test; when the test failed, the brokers' log tails
 * are printed first for diagnosis.
 */
export async function clusterFor(
  t: Test,
  options: KafkaClusterOptions = {},
): Promise<KafkaCluster> {
  const cluster = await KafkaCluster.fromEnv(options);
  t.teardown(async () => {
    if (!t.passing() && !cluster.isExternal) {
      for (const id of cluster.brokerIds) t.comment(cluster.logTail(id, 40));
    }
    await cluster.stop();
  });
  return cluster;
}

/** Whether a process still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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

/**
 * Makes a test file's process exit 5 s after its tests are done. Some files
 * that run StreamsApps with standbys or interactive queries have been seen to
 * stay alive after every test passed and tore down, until tap's 900 s file
 * timeout; in queries.int.test.ts the one active handle left was a MessagePort
 * of the ESM loaders (tsx/tap) — no socket, timer or child of streamtx's.
 * Cause not found yet: a workaround, not a fix. The timer is unref'd, so a
 * process that exits normally does not wait for it.
 */
export function exitWhenDone(t: Test): void {
  t.teardown(() => {
    setTimeout(() => process.exit(), 5_000).unref();
  });
}

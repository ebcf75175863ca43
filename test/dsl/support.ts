import type { Test } from 'tap';
import type { Topology } from '../../framework/index.ts';
import { TopologyTestDriver, type TopologyTestDriverOptions } from '../../testkit/index.ts';

/** A driver for `topology`, closed with the test; its debug log lines are kept in `log`. */
export async function driverFor(
  t: Test,
  topology: Topology,
  options: TopologyTestDriverOptions = {},
): Promise<{ driver: TopologyTestDriver; log: string[] }> {
  const log: string[] = [];
  const driver = new TopologyTestDriver(topology, {
    log: (level, message) => void log.push(`${level} ${message}`),
    ...options,
  });
  t.teardown(() => driver.close());
  await driver.ready();
  return { driver, log };
}

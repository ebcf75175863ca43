// Starts a 1-broker cluster, prints its pids and directory, then waits to be
// killed: the parent test checks that nothing outlives this process.
import { KafkaCluster } from '../../testkit/index.ts';

const cluster = await KafkaCluster.start({ brokers: 1 });
const pids = cluster.brokerIds.map((id) => cluster.pid(id));
process.stdout.write(JSON.stringify({ pids, dir: cluster.dir }) + '\n');
setInterval(() => undefined, 1 << 30);

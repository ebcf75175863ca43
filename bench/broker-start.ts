/**
 * `npm run bench:broker-start`: how long KafkaCluster.start() takes (format +
 * JVM start + every broker in every broker's metadata) for 1 and 3 brokers,
 * and how long restart() of one broker takes in a 3-broker cluster.
 */
import { KafkaCluster } from '../testkit/index.ts';

const runs = Number(process.env.RUNS ?? 3);

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

const rows: string[] = [];
for (const brokers of [1, 3]) {
  const samples: number[] = [];
  const restarts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [cluster, ms] = await time(() => KafkaCluster.start({ brokers }));
    samples.push(ms);
    if (brokers === 3) {
      await cluster.kill(2);
      const [, r] = await time(() => cluster.restart(2));
      restarts.push(r);
    }
    await cluster.stop();
  }
  const fmt = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(1)).join(' / ');
  rows.push(`| ${brokers} | ${fmt(samples)} s | ${restarts.length ? fmt(restarts) + ' s' : '—'} |`);
}
console.log(
  `Kafka broker start (${runs} runs each; ${process.version}, ${(await import('node:os')).cpus().length} cores)`,
);
console.log('| brokers | start() | restart(2) after kill |');
console.log('| --- | --- | --- |');
for (const r of rows) console.log(r);

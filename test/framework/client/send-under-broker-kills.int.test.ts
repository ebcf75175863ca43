// Sends that span partitions led by different brokers, while brokers are
// SIGKILLed and restarted: neither producer of the adapter may write a record
// twice or lose an acknowledged one. kafkajs alone does both in this case
// (framework/client/kafkajs/partitioned-send.ts says how); the adapter's plain
// producer sends one partition per request to avoid it, its transactional one
// sends the partitions together but never lets kafkajs retry such a send.
import t from 'tap';
import { waitFor } from '../../../testkit/index.ts';
import { createKafkaClient } from '../../../framework/client/index.ts';
import type { KafkaClient } from '../../../framework/client/index.ts';
import { clusterFor } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';

const PARTITIONS = 6;
const PER_SEND = 48; // keys k0..k47 cover every partition, so each send spans all brokers

interface Ledger {
  /** Values whose send (plain) or transaction (transactional) was acknowledged. */
  acknowledged: Set<string>;
  /** Values of transactions that were aborted: must never be visible. */
  aborted: Set<string>;
  /** Completed sends/transactions, for waiting on progress. */
  done: number;
  failures: number;
}

const newLedger = (): Ledger => ({
  acknowledged: new Set(),
  aborted: new Set(),
  done: 0,
  failures: 0,
});

function batch(next: () => number): { key: string; value: string }[] {
  return Array.from({ length: PER_SEND }, (_, i) => ({ key: `k${i}`, value: String(next()) }));
}

async function readValues(client: KafkaClient, topic: string): Promise<Map<string, string[]>> {
  const where = new Map<string, string[]>();
  for (let p = 0; p < PARTITIONS; p++) {
    for await (const records of client.readPartition(topic, p, 0n, 'end')) {
      for (const r of records) {
        const value = r.value?.toString() ?? '<null>';
        where.set(value, [...(where.get(value) ?? []), `${p}@${r.offset}`]);
      }
    }
  }
  return where;
}

t.test(
  'no duplicate and no lost acknowledged record across broker kills',
  // An external cluster (STREAMTX_BOOTSTRAP) has no brokers this test may kill.
  { skip: process.env.STREAMTX_BOOTSTRAP ? 'needs brokers it can kill' : false },
  async (t) => {
    const cluster = await clusterFor(t, { brokers: 3 });
    const client = await createKafkaClient({
      brokers: cluster.bootstrapServers,
      clientId: uniqueName('send-kills'),
      logLevel: 'nothing',
    });
    t.teardown(() => client.close());
    const plainTopic = uniqueName('plain');
    const txTopic = uniqueName('tx');
    for (const topic of [plainTopic, txTopic])
      await cluster.createTopic(topic, { partitions: PARTITIONS, replicationFactor: 3 });

    let seq = 0;
    const next = (): number => seq++;
    const plain = newLedger();
    const tx = newLedger();
    let running = true;

    const plainLoop = (async () => {
      let producer = client.producer();
      while (running) {
        const records = batch(next);
        try {
          await producer.send(plainTopic, records);
          for (const r of records) plain.acknowledged.add(r.value);
          plain.done++;
        } catch {
          // Not acknowledged: these values may or may not be in the log.
          plain.failures++;
          await producer.close().catch(() => undefined);
          producer = client.producer();
        }
      }
      await producer.close();
    })();

    const txLoop = (async () => {
      const transactionalId = uniqueName('send-kills-tx');
      const open = () =>
        client.transactionalProducer(transactionalId, { transactionTimeoutMs: 20_000 });
      let producer = open();
      // A new producer's init() fences the old one and aborts its open transaction.
      const replace = async (): Promise<void> => {
        await producer.close().catch(() => undefined);
        producer = open();
      };
      while (running) {
        const records = batch(next);
        try {
          if (producer.state === 'UNINITIALIZED') await producer.init();
          producer.begin();
          await producer.send(txTopic, records);
        } catch {
          tx.failures++;
          for (const r of records) tx.aborted.add(r.value);
          try {
            await producer.abort();
          } catch {
            await replace();
          }
          continue;
        }
        try {
          await producer.commit();
          for (const r of records) tx.acknowledged.add(r.value);
          tx.done++;
        } catch {
          // A failed commit is ambiguous: the values may or may not be committed.
          tx.failures++;
          await replace();
        }
      }
      await producer.close();
    })();

    const progress = async (what: string, sends = 10): Promise<void> => {
      const [p0, t0] = [plain.done, tx.done];
      await waitFor(() => plain.done >= p0 + sends && tx.done >= t0 + sends, {
        what: `${sends} more acknowledged plain sends and transactions ${what}`,
        timeoutMs: 120_000,
      });
    };

    try {
      await progress('before the first kill');
      for (const id of cluster.brokerIds) {
        await cluster.kill(id);
        await progress(`while broker ${id} is down`);
        await cluster.restart(id);
        await progress(`after broker ${id} restarted`);
      }
    } finally {
      running = false;
      await Promise.all([plainLoop, txLoop]);
    }
    t.comment(
      `plain: ${plain.done} sends acknowledged, ${plain.failures} failed; ` +
        `transactional: ${tx.done} committed, ${tx.failures} failed`,
    );

    await waitFor(
      async () => {
        const [stable, high] = await Promise.all([
          client.admin.endOffsets(txTopic, 'read_committed'),
          client.admin.endOffsets(txTopic, 'read_uncommitted'),
        ]);
        return [...high].every(([p, o]) => stable.get(p) === o);
      },
      { what: `every transaction on ${txTopic} to be resolved`, timeoutMs: 60_000 },
    );

    for (const [name, topic, ledger] of [
      ['plain producer', plainTopic, plain],
      ['transactional producer', txTopic, tx],
    ] as const) {
      const written = await readValues(client, topic);
      const twice = [...written]
        .filter(([, at]) => at.length > 1)
        .map(([v, at]) => `${v} at ${at.join(', ')}`);
      const lost = [...ledger.acknowledged].filter((v) => !written.has(v));
      const abortedVisible = [...ledger.aborted].filter((v) => written.has(v));
      t.same(twice.slice(0, 10), [], `${name}: no record written twice (${twice.length} were)`);
      t.same(
        lost.slice(0, 10),
        [],
        `${name}: every acknowledged record is there (${lost.length} missing)`,
      );
      t.same(
        abortedVisible.slice(0, 10),
        [],
        `${name}: no record of an aborted transaction is visible`,
      );
      t.ok(
        ledger.acknowledged.size >= 70 * PER_SEND,
        `${name}: ${ledger.acknowledged.size} records acknowledged`,
      );
    }
  },
);

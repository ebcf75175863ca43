// The workload's ledger says what became of every value it wrote: what the
// producer acknowledged, what failed, what went into aborted transactions.
// A fake client stands in for Kafka; no broker.
import t from 'tap';
import type { KafkaClient, ProducerRecord } from '../../../framework/client/index.ts';
import { Workload } from '../../../chaos/internals/workload.ts';
import { waitFor } from '../../../testkit/index.ts';

t.test('the ledger records acknowledged, failed and aborted sends by value', async (t) => {
  const acknowledged: string[] = [];
  const failed: string[] = [];
  const aborted: string[] = [];
  let sends = 0;
  const values = (records: ProducerRecord[]): string[] => records.map((r) => String(r.value));
  const client = {
    producer: () => ({
      send: async (_topic: string, records: ProducerRecord[]) => {
        // Every third send fails, as under a broker kill.
        if (++sends % 3 === 0) {
          failed.push(...values(records));
          throw new Error('broker down');
        }
        acknowledged.push(...values(records));
        return [];
      },
      close: async () => undefined,
    }),
    transactionalProducer: () => {
      let pending: string[] = [];
      return {
        init: async () => undefined,
        begin: () => undefined,
        send: async (_topic: string, records: ProducerRecord[]) => {
          pending = values(records);
          return [];
        },
        abort: async () => {
          aborted.push(...pending);
        },
        close: async () => undefined,
      };
    },
  } as unknown as KafkaClient;

  const workload = new Workload(client, {
    topic: 'in',
    recordsPerSecond: 200,
    keys: 4,
    abortingTransactionalId: 'aborts',
    abortEveryMs: 20,
  });
  await waitFor(() => failed.length > 0 && aborted.length >= 6, {
    timeoutMs: 10_000,
    what: 'a failed send and two aborted transactions',
  });
  const stats = await workload.stop();
  const ledger = workload.ledger();

  t.equal(ledger.size, stats.attempted + stats.abortedAttempted, 'every value has an outcome');
  for (const [outcome, list] of [
    ['acknowledged', acknowledged],
    ['failed', failed],
    ['aborted', aborted],
  ] as const)
    t.same(
      list.filter((v) => ledger.outcome(Number(v)) !== outcome),
      [],
      `every ${outcome} value is recorded so`,
    );
  t.equal(acknowledged.length + failed.length + aborted.length, ledger.size, 'and nothing else is');
});

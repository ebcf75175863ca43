/**
 * The chaos workload: sequence-numbered keyed records, paced. Value = the
 * sequence number (unique over the run), key = `k<seq % keys>`, partition by
 * Kafka's default partitioner on the key. An idempotent producer writes them;
 * a batch whose send fails (a broker was just killed) is not re-sent — it may
 * or may not be in the log — so the verifier judges the output against the
 * input topic as it is, never against a count.
 *
 * A second, transactional producer now and then writes a few records and
 * aborts: those values must never reach any output (Jepsen's aborted read).
 *
 * The ledger records what became of every value's send, so the harness can
 * check the input itself against it (send-ledger.ts).
 */
import type {
  KafkaClient,
  PlainProducer,
  TransactionalProducer,
} from '../../framework/client/index.ts';
import { SendLedger, type SendOutcome } from './send-ledger.ts';

/** A send of the load unanswered this long is given up (its records may still land). */
const SEND_STALL_MS = 5000;
export interface WorkloadOptions {
  topic: string;
  recordsPerSecond: number;
  keys: number;
  /** Transactional id of the aborting producer. */
  abortingTransactionalId: string;
  /** Time between aborted transactions. @default 2000 */
  abortEveryMs?: number;
}

export interface WorkloadStats {
  /** Values handed to the idempotent producer. */
  attempted: number;
  /** Values whose send was acknowledged. */
  acknowledged: number;
  /** Sends that failed (their values may or may not be in the log). */
  failedBatches: number;
  /** Values written in transactions that were then aborted (or whose transaction failed). */
  abortedAttempted: number;
  abortedTransactions: number;
}

export class Workload {
  readonly stats: WorkloadStats = {
    attempted: 0,
    acknowledged: 0,
    failedBatches: 0,
    abortedAttempted: 0,
    abortedTransactions: 0,
  };
  private running = true;
  private seq = 0;
  private readonly sends = new SendLedger();
  private readonly loops: Promise<void>[];
  private readonly started = Date.now();
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly client: KafkaClient,
    private readonly options: WorkloadOptions,
  ) {
    this.loops = [this.produceLoop(), this.abortLoop()];
  }

  async stop(): Promise<WorkloadStats> {
    this.running = false;
    for (const wake of this.sleepers) wake();
    await Promise.all(this.loops);
    return this.stats;
  }

  /** What became of each value's send; complete once stop() resolved. */
  ledger(): SendLedger {
    return this.sends;
  }

  private record(): { seq: number; key: string; value: string } {
    const seq = this.seq++;
    this.sends.record(seq, 'pending');
    return { seq, key: `k${seq % this.options.keys}`, value: String(seq) };
  }

  private settle(records: { seq: number }[], outcome: SendOutcome): void {
    for (const r of records) this.sends.record(r.seq, outcome);
  }

  /** Pacing the load, not synchronising: wakes early on stop(). */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async produceLoop(): Promise<void> {
    const { topic, recordsPerSecond } = this.options;
    let producer: PlainProducer = this.client.producer();
    let sent = 0;
    while (this.running) {
      const due = Math.floor(((Date.now() - this.started) / 1000) * recordsPerSecond);
      const n = Math.min(due - sent, Math.max(1, recordsPerSecond));
      if (n > 0) {
        sent += n;
        const records = Array.from({ length: n }, () => this.record());
        this.stats.attempted += n;
        const sending = producer.send(
          topic,
          records.map(({ key, value }) => ({ key, value })),
        );
        let timer: NodeJS.Timeout | undefined;
        const stuck = new Promise<'stuck'>((resolve) => {
          timer = setTimeout(() => resolve('stuck'), SEND_STALL_MS);
        });
        try {
          if ((await Promise.race([sending, stuck])) === 'stuck') {
            // Seen in CI with the leader of an input partition killed: one send went unanswered
            // for over 13 s and the load stopped for the rest of the run. Its records may
            // still land (like a failed send's); the load goes on with a fresh producer.
            sending.catch(() => undefined);
            throw new Error(`send unanswered after ${SEND_STALL_MS} ms`);
          }
          this.stats.acknowledged += n;
          this.settle(records, 'acknowledged');
        } catch {
          this.stats.failedBatches++;
          this.settle(records, 'failed');
          // A fresh producer: the adapter's keeps a failed first connect forever. The old one
          // is closed in the background, as its stuck send may hold its close too.
          void producer.close().catch(() => undefined);
          producer = this.client.producer();
        } finally {
          clearTimeout(timer);
        }
      }
      await this.pause(50);
    }
    await producer.close().catch(() => undefined);
  }

  private async abortLoop(): Promise<void> {
    const { topic, abortingTransactionalId } = this.options;
    const every = this.options.abortEveryMs ?? 2000;
    let producer: TransactionalProducer | undefined;
    let open = false;
    while (this.running) {
      await this.pause(every);
      if (!this.running) break;
      const records = Array.from({ length: 3 }, () => this.record());
      this.stats.abortedAttempted += records.length;
      // Never committed, whatever happens below: an abort that fails leaves
      // the transaction to the next init() (which fences and aborts it) or
      // to the transaction timeout.
      this.settle(records, 'aborted');
      try {
        if (!producer) {
          // A short transaction timeout: should the abort fail, the broker
          // aborts the transaction soon instead of holding back the last
          // stable offset (and the app) for a minute.
          producer = this.client.transactionalProducer(abortingTransactionalId, {
            transactionTimeoutMs: 10_000,
          });
          await producer.init();
        }
        producer.begin();
        open = true;
        await producer.send(
          topic,
          records.map(({ key, value }) => ({ key, value })),
        );
        await producer.abort();
        open = false;
        this.stats.abortedTransactions++;
      } catch {
        // The next init() fences this attempt and aborts its transaction.
        await producer?.close().catch(() => undefined);
        producer = undefined;
      }
    }
    await producer?.close().catch(() => undefined);
    if (open) {
      // Leave no transaction open to hold back the last stable offset:
      // InitProducerId on the same transactional id aborts it.
      const resolver = this.client.transactionalProducer(abortingTransactionalId, {
        transactionTimeoutMs: 10_000,
      });
      await resolver.init().catch(() => undefined);
      await resolver.close().catch(() => undefined);
    }
  }
}

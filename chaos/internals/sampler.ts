/**
 * Samples the app's committed input offsets and the input's end offsets
 * twice a second: the "processed" figure of the progress display, and the
 * timeline recovery times are computed from.
 */
import type { KafkaClient } from '../../framework/client/index.ts';

export interface OffsetSample {
  at: number;
  /** Next offset to read per input partition, as committed by the app's transactions. */
  committed: Map<number, bigint>;
  /** High watermark per input partition. */
  ends: Map<number, bigint>;
}

export class OffsetSampler {
  readonly samples: OffsetSample[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: KafkaClient,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly intervalMs = 500,
  ) {
    this.loop = this.run();
  }

  get latest(): OffsetSample | undefined {
    return this.samples.at(-1);
  }

  /** Sum of committed offsets in the latest sample. */
  get processed(): number {
    let sum = 0;
    for (const v of this.latest?.committed.values() ?? []) sum += Number(v);
    return sum;
  }

  /** Stops sampling after one last sample, so the timeline ends with the final state. */
  async stop(): Promise<void> {
    if (!this.running) return this.loop;
    this.running = false;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    await this.sample();
  }

  private async sample(): Promise<void> {
    try {
      const [committed, ends] = await Promise.all([
        this.client.admin.committedOffsets(this.groupId, this.topic),
        this.client.admin.endOffsets(this.topic, 'read_uncommitted'),
      ]);
      this.samples.push({ at: Date.now(), committed, ends });
    } catch {
      // A broker is down or a coordinator moving: the next sample will do.
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.sample();
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.intervalMs);
      });
    }
  }
}

/**
 * Time from a fault's injection until the app made progress again: until
 * every input partition that had (or got) input beyond its committed offset
 * at injection has a committed offset beyond it — or is fully processed
 * (`targets`: next offset after the partition's last input record). Null
 * when that never happened while sampling.
 */
export function recoveryTime(
  samples: readonly OffsetSample[],
  injectedAt: number,
  targets: Map<number, bigint>,
): number | null {
  let base: OffsetSample | undefined;
  for (const s of samples) {
    if (s.at <= injectedAt) base = s;
    else break;
  }
  base ??= samples[0];
  if (!base) return null;
  for (const s of samples) {
    if (s.at <= injectedAt) continue;
    let recovered = true;
    for (const [p, end] of s.ends) {
      const before = base.committed.get(p) ?? 0n;
      const now = s.committed.get(p) ?? 0n;
      const target = targets.get(p);
      const idle = end <= before || (target !== undefined && before >= target);
      if (!idle && now <= before && !(target !== undefined && now >= target)) recovered = false;
    }
    if (recovered) return s.at - injectedAt;
  }
  return null;
}

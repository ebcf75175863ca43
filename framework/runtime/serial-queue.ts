/**
 * Runs async jobs one after another. Every operation on a task (init,
 * process a batch, commit, punctuate, close) goes through its queue, so a
 * timer-driven commit never interleaves with processing.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private depth = 0;

  run<T>(job: () => Promise<T>): Promise<T> {
    this.depth++;
    const result = this.tail.then(job, job);
    this.tail = result.then(
      () => void this.depth--,
      () => void this.depth--,
    );
    return result;
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.depth;
  }

  /** Resolves once every job queued so far has settled. */
  async drain(): Promise<void> {
    await this.tail;
  }
}

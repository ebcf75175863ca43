/** Waiting on a condition, never on a clock: tests and the launcher poll until true or time out. */

export interface WaitOptions {
  /** @default 30000 */
  timeoutMs?: number;
  /** @default 100 */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Polls `condition` until it returns true (or a non-false, non-undefined
 * value, which is returned). An exception from the condition ends the wait
 * with that exception; a timeout names what was awaited.
 */
export async function waitFor<T>(
  condition: () => T | false | undefined | Promise<T | false | undefined>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

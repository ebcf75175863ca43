/**
 * Test-only fault hook: `STREAMTX_FAULT_INJECTION=<point>[:<n>]` makes the
 * worker SIGKILL itself the n-th time (default 1st) it reaches that point of
 * the commit path. Used by the chaos harness and the recovery tests to crash
 * exactly between two steps that must be atomic or ordered. Unset: a no-op.
 */
export type FaultPoint =
  | 'after-sends-before-offsets'
  | 'after-offsets-before-commit'
  | 'after-kafka-commit-before-store-commit';

const spec = process.env.STREAMTX_FAULT_INJECTION;
const [point, nth] = spec ? spec.split(':') : [];
let remaining = Number(nth ?? 1);

export function faultPoint(name: FaultPoint): void {
  if (point !== name) return;
  if (--remaining > 0) return;
  process.stderr.write(`streamtx: fault injection: SIGKILL at ${name}\n`);
  process.kill(process.pid, 'SIGKILL');
}

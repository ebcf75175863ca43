import { randomBytes } from 'node:crypto';

/** A name no other test (or earlier run) uses: topics, groups, transactional ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

// Environment for a child Node process a test starts (a worker, the CLI):
// the chaos harness's, without tap's process-info and coverage hooks.
export { childEnv } from '../../chaos/internals/workers.ts';

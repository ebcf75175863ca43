import { randomBytes } from 'node:crypto';

/** A name no other test (or earlier run) uses: topics, groups, transactional ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Environment for a child Node process a test starts (a worker, the CLI):
 * without tap's process-info and coverage hooks, whose data from processes
 * run through tsx (and often SIGKILLed) corrupts the coverage report.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('_TAPJS_PROCESSINFO_')) delete env[key];
  if (env.NODE_OPTIONS?.includes('@tapjs/processinfo')) delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  return env;
}

/**
 * One `streamtx run` worker of bench/apps/kv-app.ts in its own process (so it
 * can be SIGKILLed), its stdout kept line by line for the bench to wait on.
 * Used by bench/recovery.ts and bench/failover.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../cli.ts', import.meta.url));
const appModule = fileURLToPath(new URL('./kv-app.ts', import.meta.url));

export interface Worker {
  child: ChildProcess;
  lines: string[];
}

export function startWorker(env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'run', appModule], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  return { child, lines };
}

import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../testkit/index.ts';
import { childEnv } from './ids.ts';

const cli = fileURLToPath(new URL('../../cli.ts', import.meta.url));

/** One `streamtx run <module>` worker process, with its output kept for assertions and diagnosis. */
export class Worker {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    module: string,
    env: NodeJS.ProcessEnv,
    /** More arguments of `streamtx run`, e.g. `--health-port 0`. */
    args: readonly string[] = [],
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', cli, 'run', module, ...args], {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const parts = out.split('\n');
      out = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === null && this.signal === null;
  }

  /** Tasks from the last report line. */
  get tasks(): string[] {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const m = /tasks=?\s?([\w,]*)$/.exec(this.lines[i]!.replace('streamtx tasks ', 'tasks='));
      if (m) return m[1] ? m[1].split(',') : [];
    }
    return [];
  }

  hasState(state: string): boolean {
    return this.lines.some((l) => l.startsWith(`streamtx state ${state}`));
  }

  async waitForState(state: string, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      () => {
        if (this.hasState(state)) return true;
        if (!this.running)
          throw new Error(
            `worker ${this.name} exited (${this.exitCode ?? this.signal}) before ${state}:\n${this.stderr.join('').slice(-3000)}`,
          );
        return false;
      },
      { timeoutMs, what: `worker ${this.name} in state ${state}` },
    );
  }

  signalWith(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts workers that are killed with the test; on failure their stderr is printed. */
export function workerPool(
  t: Test,
  module: string,
  env: NodeJS.ProcessEnv,
): (name: string, extraEnv?: NodeJS.ProcessEnv, args?: readonly string[]) => Worker {
  const workers: Worker[] = [];
  t.teardown(async () => {
    if (!t.passing()) {
      for (const w of workers)
        t.comment(
          `--- worker ${w.name} (exit ${w.exitCode ?? w.signal}) ---\n${w.stderr.join('').slice(-4000)}\n${w.lines.slice(-20).join('\n')}`,
        );
    }
    await Promise.all(workers.map((w) => w.kill()));
  });
  return (name, extraEnv = {}, args = []) => {
    const w = new Worker(name, module, { ...env, ...extraEnv }, args);
    workers.push(w);
    return w;
  };
}

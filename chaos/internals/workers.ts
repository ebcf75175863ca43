/**
 * Worker processes of a chaos run: `streamtx run <app-module>`, one per slot.
 * A slot keeps its state directory across restarts, so a restarted worker
 * recovers from its local stores plus the changelog tail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliCommand, waitFor } from '../../testkit/index.ts';
import type { RunWatchdog } from './watchdog.ts';

/**
 * Environment for a worker: without tap's process-info and coverage hooks,
 * whose data from processes run through tsx (and SIGKILLed) corrupts reports.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('_TAPJS_PROCESSINFO_')) delete env[key];
  if (env.NODE_OPTIONS?.includes('@tapjs/processinfo')) delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  return env;
}

export class WorkerProcess {
  readonly lines: string[] = [];
  private stderrText = '';
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  paused = false;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    module: string,
    env: NodeJS.ProcessEnv,
    watchdog: RunWatchdog,
  ) {
    // Own process group: a Ctrl-C reaches the harness, which stops workers itself.
    // The CLI in the form this package runs in: compiled with plain node, or the sources through tsx.
    const { command, args } = cliCommand('run', module);
    this.child = spawn(command, args, {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (this.child.pid !== undefined) watchdog.track(name, this.child.pid);
    let out = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const parts = out.split('\n');
      out = parts.pop()!;
      this.lines.push(...parts);
      if (this.lines.length > 400) this.lines.splice(0, this.lines.length - 200);
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderrText = (this.stderrText + d.toString()).slice(-8000);
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.exitCode = code;
        this.signal = signal ?? (code === null ? 'SIGKILL' : null);
        watchdog.untrack(name);
        resolve();
      };
      this.child.once('exit', done);
      this.child.once('error', () => done(127, null));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === null && this.signal === null;
  }

  get stderrTail(): string {
    return this.stderrText;
  }

  get exitDescription(): string {
    return this.signal ?? `exit ${this.exitCode}`;
  }

  hasState(state: string): boolean {
    return this.lines.some((l) => l.startsWith(`streamtx state ${state}`));
  }

  async waitForState(state: string, timeoutMs: number): Promise<void> {
    await waitFor(
      () => {
        if (this.hasState(state)) return true;
        if (!this.running)
          throw new Error(
            `worker ${this.name} exited (${this.exitDescription}) before ${state}:\n${this.stderrText.slice(-2000)}`,
          );
        return false;
      },
      { timeoutMs, intervalMs: 100, what: `worker ${this.name} in state ${state}` },
    );
  }

  pause(): void {
    if (!this.running) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful close (SIGTERM), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.running) return;
    this.resume();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export class WorkerPool {
  private readonly slots: { stateDir: string; process: WorkerProcess; generation: number }[] = [];

  constructor(
    private readonly module: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly dir: string,
    private readonly watchdog: RunWatchdog,
  ) {}

  get size(): number {
    return this.slots.length;
  }

  /** Starts one more worker, with a new state directory. */
  add(): WorkerProcess {
    const index = this.slots.length;
    const stateDir = join(this.dir, `state-w${index}`);
    mkdirSync(stateDir, { recursive: true });
    const process = this.spawn(index, stateDir, 0, {});
    this.slots.push({ stateDir, process, generation: 0 });
    return process;
  }

  worker(index: number): WorkerProcess {
    const slot = this.slots[index];
    if (!slot) throw new Error(`no worker ${index}`);
    return slot.process;
  }

  get all(): WorkerProcess[] {
    return this.slots.map((s) => s.process);
  }

  /** Replaces slot `index`'s process (which must have exited) with a new one on the same state directory. */
  restart(index: number, extraEnv: NodeJS.ProcessEnv = {}): WorkerProcess {
    const slot = this.slots[index];
    if (!slot) throw new Error(`no worker ${index}`);
    if (slot.process.running) throw new Error(`worker ${slot.process.name} is still running`);
    slot.generation++;
    slot.process = this.spawn(index, slot.stateDir, slot.generation, extraEnv);
    return slot.process;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.process.kill()));
  }

  async stopAll(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.slots.map((s) => s.process.stop(timeoutMs)));
  }

  private spawn(
    index: number,
    stateDir: string,
    generation: number,
    extraEnv: NodeJS.ProcessEnv,
  ): WorkerProcess {
    return new WorkerProcess(
      `w${index}.${generation}`,
      this.module,
      { ...this.env, ...extraEnv, STATE_DIR: stateDir },
      this.watchdog,
    );
  }
}

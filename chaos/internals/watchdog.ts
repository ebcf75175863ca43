/**
 * Processes of a chaos run never outlive it. The run's directory holds a pid
 * file per live worker; a watchdog shell reads a pipe from this process and,
 * when the pipe closes — the run ended, or this process died by any means
 * (Ctrl-C, SIGKILL, an uncaught error) — SIGKILLs every recorded pid and
 * removes the directory. testkit's KafkaCluster does the same for brokers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class RunWatchdog {
  private readonly child: ChildProcess;
  private closed = false;

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'pids'), { recursive: true });
    const script = `
      while read -r _; do :; done
      for f in "$1"/pids/*; do [ -f "$f" ] && kill -CONT "$(cat "$f")" 2>/dev/null; kill -9 "$(cat "$f")" 2>/dev/null; done
      sleep 0.2
      rm -rf "$1"`;
    this.child = spawn('bash', ['-c', script, 'streamtx-chaos-watchdog', dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    process.on('exit', this.onExit);
  }

  track(name: string, pid: number): void {
    writeFileSync(join(this.dir, 'pids', name), String(pid));
  }

  untrack(name: string): void {
    try {
      unlinkSync(join(this.dir, 'pids', name));
    } catch {
      // never tracked, or already gone
    }
  }

  /** Kills what is still recorded, removes the directory and waits for the watchdog to finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.onExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.ref();
      this.child.stdin?.end();
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private readonly onExit = (): void => {
    // Synchronous last resort; the watchdog also sees the pipe close.
    rmSync(this.dir, { recursive: true, force: true });
  };
}

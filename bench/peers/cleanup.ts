/**
 * Nothing the runner starts outlives it. One run directory holds every app's
 * state and a pid file per child process; a watchdog shell reads a pipe from
 * this process and, at EOF (our exit by any means, SIGKILL included), kills
 * the recorded pids and removes the directory — the trick testkit's
 * KafkaCluster uses for its brokers. On SIGINT/SIGTERM the runner also runs
 * its registered cleanups (stop apps, stop clusters) before exiting.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanup = () => Promise<void> | void;

export class RunScope {
  readonly dir: string;
  readonly #watchdog: ChildProcess;
  readonly #cleanups = new Set<Cleanup>();
  #closed = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'streamtx-peers-'));
    mkdirSync(join(this.dir, 'pids'));
    const script = `
      while read -r _; do :; done
      alive=0
      for f in "$1"/pids/*; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null && alive=1; done
      [ "$alive" = 1 ] && sleep 3
      for f in "$1"/pids/*; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
      rm -rf "$1"`;
    this.#watchdog = spawn('bash', ['-c', script, 'streamtx-peers-watchdog', this.dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    this.#watchdog.unref();
    (this.#watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  /** Records a child so the watchdog kills it if the runner dies; forgotten when it exits. */
  track(child: ChildProcess): void {
    if (child.pid === undefined) return;
    const file = join(this.dir, 'pids', String(child.pid));
    writeFileSync(file, String(child.pid));
    child.once('exit', () => {
      try {
        unlinkSync(file);
      } catch {
        // the scope was closed first
      }
    });
  }

  /** Registers a cleanup to run on close (and on SIGINT); returns its unregister. */
  defer(cleanup: Cleanup): () => void {
    this.#cleanups.add(cleanup);
    return () => void this.#cleanups.delete(cleanup);
  }

  /** Runs the cleanups newest first, then lets the watchdog remove the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cleanup of [...this.#cleanups].reverse()) {
      try {
        await cleanup();
      } catch (err) {
        process.stderr.write(`bench/peers: cleanup failed: ${String(err)}\n`);
      }
    }
    this.#cleanups.clear();
    const wd = this.#watchdog;
    if (wd.exitCode === null) {
      const gone = new Promise<void>((resolve) => wd.once('exit', () => resolve()));
      wd.ref();
      wd.stdin?.end();
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

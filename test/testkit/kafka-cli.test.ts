import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive } from '../support/cluster.ts';
import { childEnv } from '../support/ids.ts';

const cli = fileURLToPath(new URL('../../cli.ts', import.meta.url));

function streamtx(
  args: string[],
  env: NodeJS.ProcessEnv,
): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    encoding: 'utf8',
    env: childEnv(env),
    timeout: 240_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

t.test(
  'kafka up runs a cluster in the background that status, kill, restart and down control',
  async (t) => {
    const env = { STREAMTX_STATE_DIR: stateDir(t) };

    const up = streamtx(['kafka', 'up', '--brokers', '1'], env);
    t.equal(up.code, 0, up.err);
    t.match(up.out.trim(), /^127\.0\.0\.1:\d+$/, 'up prints the bootstrap servers');

    const again = streamtx(['kafka', 'up'], env);
    t.equal(again.code, 1, 'a second up is refused while one runs');
    t.match(again.err, /already up/);

    const status = streamtx(['kafka', 'status'], env);
    t.equal(status.code, 0);
    const pid = Number(/broker 1: running \(pid (\d+)\)/.exec(status.out)?.[1]);
    t.ok(pid > 0 && alive(pid), 'status shows the running broker and its pid');

    t.equal(streamtx(['kafka', 'kill', '1'], env).code, 0);
    t.notOk(alive(pid), 'kill SIGKILLed the broker');
    t.match(streamtx(['kafka', 'status'], env).out, /broker 1: stopped/);

    t.equal(streamtx(['kafka', 'restart', '1'], env).code, 0);
    const restarted = Number(
      /broker 1: running \(pid (\d+)\)/.exec(streamtx(['kafka', 'status'], env).out)?.[1],
    );
    t.ok(
      restarted > 0 && restarted !== pid && alive(restarted),
      'restart started a new broker process',
    );

    const down = streamtx(['kafka', 'down'], env);
    t.equal(down.code, 0, down.err);
    t.notOk(alive(restarted), 'down stopped the broker');
    t.equal(streamtx(['kafka', 'status'], env).code, 1, 'status after down says no cluster is up');
  },
);

t.test('kafka up without Java says what to install', async (t) => {
  const r = streamtx(['kafka', 'up'], {
    STREAMTX_STATE_DIR: t.testdir({}),
    JAVA_HOME: '/nonexistent',
  });
  t.equal(r.code, 2);
  t.match(r.err, /Java was not found.*OpenJDK 17/s);
});

t.test('a broker command without an id is a usage error', async (t) => {
  const env = { STREAMTX_STATE_DIR: stateDir(t) };
  const up = streamtx(['kafka', 'up'], env);
  t.equal(up.code, 0, up.err);
  const r = streamtx(['kafka', 'kill'], env);
  t.equal(r.code, 2);
  t.match(r.err, /needs a broker id/);
});

/** A state directory whose cluster, if any, is brought down before the directory goes. */
function stateDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamtx-cli-test-'));
  t.teardown(() => {
    streamtx(['kafka', 'down'], { STREAMTX_STATE_DIR: dir });
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

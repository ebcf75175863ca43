import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive } from '../support/cluster.ts';
import { childEnv, uniqueName } from '../support/ids.ts';

const cli = fileURLToPath(new URL('../../cli.ts', import.meta.url));
// Resolved here: a bare `--import tsx` resolves from the child's cwd, which may be outside the repo.
const tsx = import.meta.resolve('tsx');

/** The CLI from the sources, in `cwd` (its project decides the cluster's scope). */
function streamtx(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', tsx, cli, ...args], {
    encoding: 'utf8',
    env: childEnv(env),
    timeout: 240_000,
    ...(cwd !== undefined ? { cwd } : {}),
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

    const topic = uniqueName('cli-topic');
    const create = streamtx(['kafka', 'topic', 'create', topic, '--partitions', '3'], env);
    t.equal(create.code, 0, create.err);
    t.equal(create.out, `${topic} 3\n`);
    const list = streamtx(['kafka', 'topic', 'list'], env);
    t.equal(list.code, 0, list.err);
    t.match(list.out, new RegExp(`^${topic} 3$`, 'm'), 'topic list shows it with its partitions');
    t.notMatch(list.out, /^__/m, 'and no internal topic without --all');
    const tooMany = streamtx(
      ['kafka', 'topic', 'create', `${topic}-rf`, '--partitions', '1', '--rf', '2'],
      env,
    );
    t.equal(tooMany.code, 1);
    t.match(tooMany.err, /--rf 2 needs 2 brokers; the cluster has 1/);

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

t.test(
  'a cluster belongs to its project or name: other scopes neither see nor stop it',
  async (t) => {
    const env = { STREAMTX_STATE_DIR: stateDir(t) };
    const projects = mkdtempSync(join(tmpdir(), 'streamtx-cli-projects-'));
    t.teardown(() => rmSync(projects, { recursive: true, force: true }));
    const project = (name: string): string => {
      const dir = join(projects, name);
      mkdirSync(join(dir, 'src'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{}');
      return realpathSync(dir);
    };
    const a = project('a');
    const b = project('b');
    t.teardown(() => void streamtx(['kafka', 'down'], env, a));

    const up = streamtx(['kafka', 'up'], env, join(a, 'src'));
    t.equal(up.code, 0, up.err);
    t.match(
      up.err,
      `for project ${a}`,
      'a subdirectory belongs to the project of its package.json',
    );
    const status = streamtx(['kafka', 'status'], env, a);
    t.equal(status.code, 0, status.err);
    t.match(status.out, `(project ${a})`);
    const pid = Number(/broker 1: running \(pid (\d+)\)/.exec(status.out)?.[1]);

    for (const [cwd, args, scope] of [
      [b, [], `project ${b}`],
      [a, ['--name', 'a'], `cluster 'a'`],
    ] as const) {
      const other = streamtx(['kafka', 'status', ...args], env, cwd);
      t.equal(other.code, 1, `${scope} has no cluster`);
      t.match(other.err, `no cluster is up for ${scope}`);
      t.equal(streamtx(['kafka', 'down', ...args], env, cwd).code, 0);
      t.ok(alive(pid), `down for ${scope} leaves project a's broker running`);
    }
    const secondUp = streamtx(['kafka', 'up', '--name', 'a'], env, b);
    t.equal(secondUp.code, 0, 'a named cluster starts beside it');
    t.teardown(() => void streamtx(['kafka', 'down', '--name', 'a'], env, b));
    const named = streamtx(['kafka', 'status', '--name', 'a'], env, a);
    t.match(named.out, `(cluster 'a')`, 'and is the same cluster from any directory');
    t.notMatch(named.out, `pid ${pid})`);
    t.equal(streamtx(['kafka', 'down', '--name', 'a'], env, a).code, 0);
    t.ok(alive(pid), "stopping the named cluster leaves project a's running");
  },
);

/** A state directory whose cluster, if any, is brought down before the directory goes. */
function stateDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamtx-cli-test-'));
  t.teardown(() => {
    streamtx(['kafka', 'down'], { STREAMTX_STATE_DIR: dir });
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

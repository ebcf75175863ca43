/**
 * `streamtx run <app-module>`: runs one worker of an app. The module exports
 * `topology` and `options` (or a default export of `{ topology, options }`,
 * or a function returning it). SIGTERM and SIGINT close the worker
 * gracefully: commit, close producers, leave the group.
 *
 * The worker reports on stdout, one line per event, for people and for test
 * harnesses: `streamtx state <STATE> [tasks=<ids>]`, `streamtx tasks <ids>`,
 * `streamtx restoring <task> <store> <done>/<total> ...` every few seconds of a
 * restore, `streamtx restored <task> <store> <done>/<total>`, and
 * `streamtx health <url>` when `--health-port` serves the probes.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { StreamsAppOptions } from '../options.ts';
import type { Topology } from '../topology.ts';
import { startHealthServer, type HealthServer } from './health-server.ts';
import { formatRestoreProgress, RestoreProgress } from './restore-progress.ts';
import { StreamsApp } from './streams-app.ts';

export interface AppModule {
  topology: Topology;
  options: StreamsAppOptions;
}

export async function loadAppModule(path: string): Promise<AppModule> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as Partial<AppModule> & {
    default?: AppModule | (() => AppModule | Promise<AppModule>);
  };
  const candidate = typeof mod.default === 'function' ? await mod.default() : (mod.default ?? mod);
  if (
    !candidate ||
    typeof candidate !== 'object' ||
    !('topology' in candidate) ||
    !('options' in candidate)
  ) {
    throw new Error(`${path} must export 'topology' and 'options' (or a default export with both)`);
  }
  return candidate as AppModule;
}

export const RUN_USAGE = `usage: streamtx run <app-module> [--health-port N] [--health-host H]
                    [--restore-progress-ms MS]
  Runs one worker of a streams app; start the same module N times for N workers.
  The module exports 'topology' and 'options' (or a default export of both, or a
  function returning them). A .js/.mjs module runs with plain node; a .ts module
  needs tsx in your project (npm install --save-dev tsx).
  SIGTERM or SIGINT closes the worker gracefully (commit, close producers, leave
  the group).
  --health-port N         serve GET /healthz (200 unless the app stopped on an
                          error) and /readyz (200 when RUNNING with every
                          assigned task running, else 503), with the app's
                          health as JSON; 0 picks a free port
  --health-host H         address the probes listen on (default 0.0.0.0)
  --restore-progress-ms   how often a restoring store reports (default 5000)
  stdout: 'streamtx state <STATE> tasks=<ids>', 'streamtx tasks <ids>',
  'streamtx restoring <task> <store> <done>/<total> <pct>% <rate> records/s ETA <s>',
  'streamtx restored <task> <store> <done>/<total>', 'streamtx health <url>'.`;

interface RunFlags {
  modulePath: string;
  healthPort?: number;
  healthHost?: string;
  restoreProgressMs: number;
}

/** The run command's arguments, or the reason they are wrong. */
function parseRunArgs(args: string[]): RunFlags | string {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        'health-port': { type: 'string' },
        'health-host': { type: 'string' },
        'restore-progress-ms': { type: 'string' },
      },
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    const option = /'(-[^']*)'/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined)
      return `unexpected argument '${option}'`;
    return e.message;
  }
  const { values, positionals } = parsed;
  const [modulePath, ...extra] = positionals;
  if (modulePath === undefined) return '';
  if (extra.length > 0) return `unexpected argument '${extra[0]}'`;
  const integer = (name: string, text: string | undefined, min: number, max: number) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    return /^\d+$/.test(text) && n >= min && n <= max
      ? n
      : `--${name} must be an integer from ${min} to ${max}, got '${text}'`;
  };
  const healthPort = integer('health-port', values['health-port'], 0, 65_535);
  if (typeof healthPort === 'string') return healthPort;
  const progress = integer('restore-progress-ms', values['restore-progress-ms'], 1, 3_600_000);
  if (typeof progress === 'string') return progress;
  const host = values['health-host'];
  if (host !== undefined && healthPort === undefined) return '--health-host needs --health-port';
  return {
    modulePath,
    ...(healthPort === undefined ? {} : { healthPort }),
    ...(host === undefined ? {} : { healthHost: host }),
    restoreProgressMs: progress ?? 5_000,
  };
}

export async function runCommand(args: string[]): Promise<number> {
  const flags = parseRunArgs(args);
  if (typeof flags === 'string') {
    process.stderr.write((flags ? `streamtx run: ${flags}\n` : '') + RUN_USAGE + '\n');
    return 2;
  }
  const { modulePath } = flags;
  if (!existsSync(resolve(modulePath))) {
    process.stderr.write(`streamtx run: no module at ${resolve(modulePath)}\n`);
    return 2;
  }
  const { topology, options } = await loadAppModule(modulePath);
  const app = new StreamsApp(topology, options);
  const print = (line: string): void => void process.stdout.write(line + '\n');
  app.onStateChange((state) =>
    print(`streamtx state ${state} tasks=${app.runningTasks.join(',')}`),
  );
  // The app logs the error that stops it, once; the CLI only turns it into the exit code.
  const progress = new RestoreProgress(flags.restoreProgressMs, (line) =>
    print(`streamtx restoring ${formatRestoreProgress(line)}`),
  );
  app.onRestore((e) => {
    progress.event(e);
    if (e.done)
      print(
        `streamtx restored ${e.taskId} ${e.store} ${e.restored}/${e.total}${e.rebuildReason ? ' rebuilt' : ''}`,
      );
  });
  const stop = (): void => void app.close();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const done = new Promise<void>((res) =>
    app.onStateChange((state) => {
      if (state === 'NOT_RUNNING' || state === 'ERROR') res();
    }),
  );
  // Listening before start(): a liveness probe must answer during a long restore.
  let health: HealthServer | undefined;
  if (flags.healthPort !== undefined) {
    try {
      health = await startHealthServer(app, {
        port: flags.healthPort,
        ...(flags.healthHost === undefined ? {} : { host: flags.healthHost }),
      });
    } catch (err) {
      process.stderr.write(
        `streamtx run: cannot serve health probes on ${flags.healthHost ?? '0.0.0.0'}:${flags.healthPort}: ${(err as Error).message}\n`,
      );
      return 1;
    }
    print(`streamtx health ${health.url}`);
  }
  try {
    await app.start();
  } catch {
    await health?.close();
    return 1; // logged by the app ("stopping: ..."), with what to do about it
  }
  // Task ownership changes without a state change; report it for harnesses.
  let reported = '';
  const report = setInterval(() => {
    const tasks = app.runningTasks.join(',');
    if (tasks !== reported && app.state === 'RUNNING') {
      reported = tasks;
      print(`streamtx tasks ${tasks}`);
    }
  }, 200);
  await done;
  clearInterval(report);
  await health?.close();
  return app.state === 'ERROR' ? 1 : 0;
}

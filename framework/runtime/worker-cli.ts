/**
 * `streamtx run <app-module>`: runs one worker of an app. The module exports
 * `topology` and `options` (or a default export of `{ topology, options }`,
 * or a function returning it). SIGTERM and SIGINT close the worker
 * gracefully: commit, close producers, leave the group.
 *
 * The worker reports on stdout, one line per event, for people and for test
 * harnesses: `streamtx state <STATE> [tasks=<ids>]`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StreamsAppOptions } from '../options.ts';
import type { Topology } from '../topology.ts';
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

export const RUN_USAGE = `usage: streamtx run <app-module>
  Runs one worker of a streams app; start the same module N times for N workers.
  The module exports 'topology' and 'options' (or a default export of both, or a
  function returning them). A .js/.mjs module runs with plain node; a .ts module
  needs tsx in your project (npm install --save-dev tsx).
  SIGTERM or SIGINT closes the worker gracefully (commit, close producers, leave
  the group). stdout: 'streamtx state <STATE> tasks=<ids>', 'streamtx tasks <ids>',
  'streamtx standbys <ids>'.`;

export async function runCommand(args: string[]): Promise<number> {
  const [modulePath, ...extra] = args;
  const unexpected = modulePath?.startsWith('-') ? args : extra;
  if (!modulePath || unexpected.length > 0) {
    process.stderr.write(
      (modulePath ? `streamtx run: unexpected argument '${unexpected[0]}'\n` : '') +
        RUN_USAGE +
        '\n',
    );
    return 2;
  }
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
  app.onRestore((e) => {
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
  try {
    await app.start();
  } catch {
    return 1; // logged by the app ("stopping: ..."), with what to do about it
  }
  // Task ownership changes without a state change; report it for harnesses.
  let reported = '';
  let reportedStandbys = '';
  const report = setInterval(() => {
    const tasks = app.runningTasks.join(',');
    if (tasks !== reported && app.state === 'RUNNING') {
      reported = tasks;
      print(`streamtx tasks ${tasks}`);
    }
    const standbys = app.standbyTasks.join(',');
    if (standbys !== reportedStandbys) {
      reportedStandbys = standbys;
      print(`streamtx standbys ${standbys}`);
    }
  }, 200);
  await done;
  clearInterval(report);
  return app.state === 'ERROR' ? 1 : 0;
}

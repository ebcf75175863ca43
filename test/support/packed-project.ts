// The package as a user gets it, for the tests that install it: `npm run build`, `npm pack`,
// and fresh projects outside the repository that install the tarball offline.
//
// Offline and quick: a project's node_modules is seeded with copies of the tarball's runtime
// dependencies (their whole dependency trees) from this repository's node_modules, and the
// tarball is installed with `npm install --ignore-scripts` under npm_config_offline. npm finds
// every dependency already satisfied, so it neither fetches (the npm cache holds tarballs but
// not the registry metadata a fresh resolution needs) nor runs better-sqlite3's install
// script, which would download a prebuilt binary or compile SQLite for ~2 minutes; the copy
// carries the native module this repository built. A user's dev tools (tsx, tap, typescript)
// are links to the repository's copies.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv } from './ids.ts';

export const repo = fileURLToPath(new URL('../..', import.meta.url));
export const repoModules = join(repo, 'node_modules');

export interface PackageJson {
  name: string;
  version: string;
  bin?: Record<string, string>;
  exports?: Record<string, string | { types: string; default: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export const repoPackage = JSON.parse(
  readFileSync(join(repo, 'package.json'), 'utf8'),
) as PackageJson;

/** The environment of a user's shell: no tap hooks, no npm script variables, no repo bins. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = childEnv();
  for (const key of Object.keys(env)) {
    // npm's script variables would steer the npm we run; tap's would make a tap we run
    // report to this one instead of printing its summary.
    if (/^npm_/i.test(key) || /^_?TAP/.test(key) || key === 'INIT_CWD') delete env[key];
  }
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes(`${sep}node_modules${sep}.bin`))
    .join(delimiter);
  return {
    ...env,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  };
}

export function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = userEnv(),
  timeoutMs = 240_000,
): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
}

export const output = (r: SpawnSyncReturns<string>): string =>
  `exit ${r.status ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

export interface Packed {
  tarball: string;
  files: string[];
  /** The package.json inside the tarball. */
  manifest: PackageJson;
}

/** Builds dist/ and packs it into `work` (outside the repository); the tarball unpacked at `work/unpacked`. */
export function buildAndPack(work: string): Packed {
  if (!relative(repo, work).startsWith('..'))
    throw new Error(`${work} lies inside the repository: resolution would find its node_modules`);
  // The build first, then a pack that runs no scripts: npm pack --json's stdout is then JSON only.
  const build = run('npm', ['run', 'build'], repo, childEnv());
  if (build.status !== 0) throw new Error(`npm run build failed\n${output(build)}`);
  const pack = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], repo);
  if (pack.status !== 0) throw new Error(`npm pack failed\n${output(pack)}`);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, info!.filename);
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked, { recursive: true });
  const tar = run('tar', ['xzf', tarball, '-C', unpacked], work);
  if (tar.status !== 0) throw new Error(`tar failed\n${output(tar)}`);
  const manifest = JSON.parse(
    readFileSync(join(unpacked, 'package', 'package.json'), 'utf8'),
  ) as PackageJson;
  return { tarball, files: info!.files.map((f) => f.path), manifest };
}

/** A package's directory as node resolves it from `from` (a directory under the repo). */
function findPackage(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === repo || dirname(dir) === dir) return undefined;
  }
}

/** Every package directory `names` need at run time, with their dependencies, in the repo. */
export function dependencyTree(names: string[]): string[] {
  const found = new Set<string>();
  const visit = (name: string, from: string): void => {
    const dir = findPackage(name, from);
    if (dir === undefined || found.has(dir)) return;
    found.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }))
      visit(dep, dir);
  };
  for (const name of names) visit(name, repo);
  return [...found];
}

/** Copies packages from the repo's node_modules into a project's, keeping their nesting. */
export function seed(project: string, dirs: string[]): void {
  for (const dir of dirs) {
    const nested = join(dir, 'node_modules');
    cpSync(dir, join(project, relative(repo, dir)), {
      recursive: true,
      filter: (src) => src !== nested && !src.startsWith(nested + sep),
    });
  }
}

/** Seeds a project with the packed package's runtime dependencies, then installs the tarball. */
export function installPacked(project: string, packed: Packed): void {
  seed(project, dependencyTree(Object.keys(packed.manifest.dependencies ?? {})));
  const install = run('npm', ['install', packed.tarball, '--ignore-scripts'], project);
  if (install.status !== 0)
    throw new Error(`npm install ${packed.tarball} failed\n${output(install)}`);
}

/** A user's dev tool (tsx, tap, @types/node) installed in a project: a link to the repo's copy. */
export function linkTool(project: string, name: string, bins: Record<string, string> = {}): void {
  const target = join(project, 'node_modules', name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(repoModules, name), target, 'dir');
  for (const [bin, file] of Object.entries(bins)) {
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(join(target, file), join(project, 'node_modules', '.bin', bin));
  }
}

/** A fresh project with the tarball installed: package.json and files, then `npm install <tarball>`. */
export function packedProject(
  work: string,
  packed: Packed,
  name: string,
  manifest: object,
  files: Record<string, string>,
): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true, ...manifest }, null, 2),
  );
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  installPacked(dir, packed);
  return dir;
}

/**
 * `streamtx kafka up|status|kill|restart|pause|resume|down|topic`: a local
 * cluster that outlives the command. `up` starts a small detached server
 * process that owns the KafkaCluster (so its watchdog ties the brokers to that
 * server) and answers the other commands over HTTP on loopback.
 *
 * A cluster belongs to a scope: the project the command runs in (the nearest
 * directory with a package.json, else the current directory), or a name given
 * with `--name`. Every command acts on its scope's cluster only, so two
 * projects on one machine never see or stop each other's clusters.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafkaClient } from '../framework/client/index.ts';
import { cliCommand } from './internals/cli-command.ts';
import { KafkaCluster } from './kafka-cluster.ts';
import { cacheRoot, ensureKafka, findJava } from './kafka-install.ts';
import { waitFor } from './wait.ts';

interface ServerState {
  pid: number;
  controlPort: number;
  version: string;
  bootstrapServers: string[];
  dir: string;
  scope: string;
}

const SCOPE_HELP = `  The cluster belongs to this project (the nearest directory with a package.json,
  else the current directory) unless --name picks a named one; every kafka
  command acts on that cluster only. State: $STREAMTX_STATE_DIR, default
  ~/.cache/streamtx/cli.`;

export const KAFKA_USAGE = `usage: streamtx kafka <command> [--name NAME]
  install [--kafka-version V]          fetch the broker jars into the cache (once; offline after)
  up [--brokers N] [--kafka-version V] start a local cluster in the background (N = 1..5, default 1)
  status                               list the brokers and their state
  kill <id>                            SIGKILL a broker
  restart <id>                         restart a broker (after kill, stop or pause)
  stop <id>                            controlled shutdown of a broker
  pause <id> | resume <id>             SIGSTOP / SIGCONT a broker
  down                                 stop every broker and remove their data
  topic create <topic> --partitions N [--rf R]   create a topic on the cluster
  topic list [--all]                   the cluster's topics and partition counts
${SCOPE_HELP}`;

const COMMAND_USAGE: Record<string, string> = {
  install: `usage: streamtx kafka install [--kafka-version V]
  Fetches the Apache Kafka broker jars from Maven Central into ~/.cache/streamtx
  once; every later start is offline. V defaults to $STREAMTX_KAFKA_VERSION or 4.4.0.`,
  up: `usage: streamtx kafka up [--brokers N] [--kafka-version V] [--name NAME]
  Starts N local brokers (1..5, default 1) in KRaft mode in the background and
  prints their bootstrap servers; 'streamtx kafka down' stops them.
${SCOPE_HELP}`,
  topic: `usage: streamtx kafka topic create <topic> --partitions N [--rf R] [--name NAME]
       streamtx kafka topic list [--all] [--name NAME]
  create: a topic with N partitions and replication factor R (default: the
  broker's default.replication.factor, min(3, brokers) on 'kafka up' clusters).
  list: one line per topic, '<topic> <partitions>'; --all includes Kafka's
  internal topics (__consumer_offsets, __transaction_state).
${SCOPE_HELP}`,
};

/** The help text of `streamtx kafka <command>` (the general one for most commands). */
export function kafkaUsage(command?: string): string {
  return (command !== undefined ? COMMAND_USAGE[command] : undefined) ?? KAFKA_USAGE;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

interface Scope {
  /** For people: `project /path` or `cluster 'name'`. */
  label: string;
  /** The option that selects this scope on the command line: '' or ` --name <name>`. */
  option: string;
  /** Directory of this scope's state file and server log. */
  dir: string;
}

function stateRoot(): string {
  return process.env.STREAMTX_STATE_DIR ?? join(cacheRoot(), 'cli');
}

function projectDir(): string {
  const cwd = realpathSync(process.cwd());
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return cwd;
  }
}

function scopeOf(name: string | undefined): Scope {
  if (name !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
      throw new UsageError(
        `--name must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got '${name}'`,
      );
    return {
      label: `cluster '${name}'`,
      option: ` --name ${name}`,
      dir: join(stateRoot(), 'named', name),
    };
  }
  const project = projectDir();
  const hash = createHash('sha256').update(project).digest('hex').slice(0, 16);
  const slug = basename(project).replace(/[^A-Za-z0-9._-]/g, '_') || 'root';
  return {
    label: `project ${project}`,
    option: '',
    dir: join(stateRoot(), 'projects', `${slug}-${hash}`),
  };
}

const stateFile = (scope: Scope): string => join(scope.dir, 'kafka.json');

function readState(scope: Scope): ServerState | undefined {
  const file = stateFile(scope);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as ServerState;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch {
    rmSync(file, { force: true }); // its server died; the watchdog cleaned up after it
    return undefined;
  }
}

interface Flags {
  brokers?: number;
  kafkaVersion?: string;
  name?: string;
  partitions?: number;
  rf?: number;
  all?: boolean;
  stateDir?: string;
  positional: string[];
}

/** Options each command takes; anything else is a usage error, never ignored. */
const COMMAND_OPTIONS: Record<string, string[]> = {
  install: ['kafka-version'],
  up: ['brokers', 'kafka-version', 'name'],
  status: ['name'],
  kill: ['name'],
  restart: ['name'],
  stop: ['name'],
  pause: ['name'],
  resume: ['name'],
  down: ['name'],
  topic: ['partitions', 'rf', 'all', 'name'],
  __serve: ['brokers', 'kafka-version', 'state-dir'],
};

const OPTION_TYPES = {
  brokers: { type: 'string' },
  'kafka-version': { type: 'string' },
  name: { type: 'string' },
  partitions: { type: 'string' },
  rf: { type: 'string' },
  all: { type: 'boolean' },
  'state-dir': { type: 'string' },
} as const;

function parseFlags(command: string, args: string[]): Flags {
  const allowed = COMMAND_OPTIONS[command] ?? [];
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTION_TYPES, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${kafkaUsage(command)}`);
  }
  const { values, positionals } = parsed;
  for (const key of Object.keys(values)) {
    if (!allowed.includes(key))
      throw new UsageError(
        `'streamtx kafka ${command}' takes no --${key} option\n${kafkaUsage(command)}`,
      );
  }
  const flags: Flags = { positional: positionals };
  if (values.brokers !== undefined) flags.brokers = integer('brokers', values.brokers, 1, 5);
  if (values.partitions !== undefined)
    flags.partitions = integer('partitions', values.partitions, 1, 2 ** 31 - 1);
  if (values.rf !== undefined) flags.rf = integer('rf', values.rf, 1, 5);
  if (values['kafka-version'] !== undefined) flags.kafkaVersion = values['kafka-version'];
  if (values.name !== undefined) flags.name = values.name;
  if (values.all !== undefined) flags.all = values.all;
  if (values['state-dir'] !== undefined) flags.stateDir = values['state-dir'];
  return flags;
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!(/^\d+$/.test(text) && n >= min && n <= max))
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}

/** Runs a `kafka` subcommand; returns the process exit code. */
export async function kafkaCommand(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help') {
    process.stdout.write(KAFKA_USAGE + '\n');
    return 0;
  }
  if (!(command in COMMAND_OPTIONS)) {
    process.stderr.write(`unknown kafka command '${command}'\n${KAFKA_USAGE}\n`);
    return 2;
  }
  const flags = parseFlags(command, rest);
  switch (command) {
    case 'install': {
      noPositionals(command, flags);
      const install = await ensureKafka({
        version: flags.kafkaVersion,
        log: (l) => process.stderr.write(l + '\n'),
      });
      process.stdout.write(`Apache Kafka ${install.version}: ${install.classpath}\n`);
      return 0;
    }
    case 'up':
      noPositionals(command, flags);
      return up(flags, scopeOf(flags.name));
    case '__serve':
      return serve(flags);
    case 'topic':
      return topic(flags, scopeOf(flags.name));
    default:
      return control(command, flags.positional, scopeOf(flags.name));
  }
}

function noPositionals(command: string, flags: Flags): void {
  if (flags.positional.length > 0)
    throw new UsageError(
      `unexpected argument '${flags.positional[0]}' for 'streamtx kafka ${command}'\n${kafkaUsage(command)}`,
    );
}

async function up(flags: Flags, scope: Scope): Promise<number> {
  const running = readState(scope);
  if (running) {
    process.stderr.write(
      `a cluster is already up for ${scope.label} (Kafka ${running.version}): ` +
        `${running.bootstrapServers.join(',')}\nrun 'streamtx kafka down${scope.option}' first\n`,
    );
    return 1;
  }
  // Fail fast, in the foreground, with the clear errors: Java, Maven, download.
  findJava();
  const install = await ensureKafka({
    version: flags.kafkaVersion,
    log: (l) => process.stderr.write(l + '\n'),
  });
  mkdirSync(scope.dir, { recursive: true });
  const logPath = join(scope.dir, 'kafka-server.log');
  const log = openSync(logPath, 'w');
  const serveArgs = ['kafka', '__serve', '--brokers', String(flags.brokers ?? 1)];
  serveArgs.push('--kafka-version', install.version, '--state-dir', scope.dir);
  const cli = cliCommand(...serveArgs);
  const child = spawn(cli.command, cli.args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const state = await waitFor(
    () => {
      if (exited)
        throw new Error(
          `the cluster did not start:\n${readFileSync(logPath, 'utf8').slice(-3000)}`,
        );
      return readState(scope);
    },
    { timeoutMs: 180_000, intervalMs: 200, what: 'the cluster to start' },
  );
  process.stdout.write(state.bootstrapServers.join(',') + '\n');
  process.stderr.write(
    `Kafka ${state.version}, ${state.bootstrapServers.length} broker(s) for ${scope.label}; ` +
      `'streamtx kafka down${scope.option}' stops it\n`,
  );
  return 0;
}

async function serve(flags: Flags): Promise<number> {
  if (flags.stateDir === undefined) throw new UsageError('__serve needs --state-dir');
  const file = join(flags.stateDir, 'kafka.json');
  const cluster = await KafkaCluster.start({
    brokers: flags.brokers ?? 1,
    version: flags.kafkaVersion,
    log: console.log,
  });
  const shutdown = async (): Promise<void> => {
    rmSync(file, { force: true });
    await cluster.stop();
    process.exit(0);
  };
  const server = createServer((req, res) => {
    const [, op, idText] = (req.url ?? '/').split('/');
    const id = Number(idText);
    const reply = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const act = async (): Promise<unknown> => {
      switch (op) {
        case 'status':
          return {
            version: cluster.version,
            bootstrapServers: cluster.bootstrapServers,
            brokers: cluster.brokerIds.map((b) => ({
              id: b,
              state: cluster.brokerState(b),
              pid: cluster.pid(b),
            })),
          };
        case 'kill':
          return cluster.kill(id);
        case 'stop':
          return cluster.stop(id);
        case 'restart':
          return cluster.restart(id);
        case 'pause':
          return cluster.pause(id);
        case 'resume':
          return cluster.resume(id);
        case 'down':
          setImmediate(() => void shutdown());
          return { down: true };
        default:
          throw new Error(`unknown operation ${op}`);
      }
    };
    act().then(
      (body) => reply(200, body ?? { ok: true }),
      (err: unknown) => reply(400, { error: err instanceof Error ? err.message : String(err) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no control port');
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  const state: ServerState = {
    pid: process.pid,
    controlPort: address.port,
    version: cluster.version,
    bootstrapServers: cluster.bootstrapServers,
    dir: cluster.dir,
    scope: flags.stateDir,
  };
  // Written whole, then renamed: a reader never sees half a file.
  writeFileSync(file + '.tmp', JSON.stringify(state));
  renameSync(file + '.tmp', file);
  console.log(`ready: ${cluster.bootstrapServers.join(',')}`);
  return new Promise<number>(() => undefined); // serve until down or a signal
}

function runningState(scope: Scope): ServerState | undefined {
  const state = readState(scope);
  if (!state)
    process.stderr.write(
      `no cluster is up for ${scope.label}; start one with 'streamtx kafka up${scope.option}'\n`,
    );
  return state;
}

async function control(op: string, positional: string[], scope: Scope): Promise<number> {
  const needsId = op !== 'status' && op !== 'down';
  const [idText, ...extra] = positional;
  if (needsId && (idText === undefined || !/^\d+$/.test(idText))) {
    throw new UsageError(`'streamtx kafka ${op}' needs a broker id, e.g. 'streamtx kafka ${op} 1'`);
  }
  const unexpected = needsId ? extra : positional;
  if (unexpected.length > 0)
    throw new UsageError(`unexpected argument '${unexpected[0]}' for 'streamtx kafka ${op}'`);
  const state = runningState(scope);
  if (!state) return op === 'down' ? 0 : 1;
  const res = await fetch(
    `http://127.0.0.1:${state.controlPort}/${op}${needsId ? '/' + idText : ''}`,
    { method: 'POST' },
  );
  const body = (await res.json()) as { error?: string } & Record<string, unknown>;
  if (!res.ok) {
    process.stderr.write(`streamtx kafka ${op}: ${body.error}\n`);
    return 1;
  }
  if (op === 'status') {
    const s = body as unknown as {
      version: string;
      bootstrapServers: string[];
      brokers: { id: number; state: string; pid?: number }[];
    };
    process.stdout.write(
      `Kafka ${s.version} at ${s.bootstrapServers.join(',')} (${scope.label})\n`,
    );
    for (const b of s.brokers)
      process.stdout.write(`broker ${b.id}: ${b.state}${b.pid ? ` (pid ${b.pid})` : ''}\n`);
  } else if (op === 'down') {
    await waitFor(() => readState(scope) === undefined, {
      timeoutMs: 60_000,
      what: 'the cluster to stop',
    });
    process.stdout.write('cluster stopped\n');
  } else {
    process.stdout.write(`broker ${idText}: ${op} done\n`);
  }
  return 0;
}

async function topic(flags: Flags, scope: Scope): Promise<number> {
  const [action, ...names] = flags.positional;
  if (action !== 'create' && action !== 'list')
    throw new UsageError(
      `'streamtx kafka topic' needs 'create' or 'list'${action ? `, got '${action}'` : ''}\n${kafkaUsage('topic')}`,
    );
  const forCreate = ['partitions', 'rf'] as const;
  if (action === 'list') {
    const misplaced = forCreate.find((f) => flags[f] !== undefined);
    if (misplaced) throw new UsageError(`--${misplaced} is for 'topic create', not 'topic list'`);
    if (names.length > 0)
      throw new UsageError(`unexpected argument '${names[0]}' for 'streamtx kafka topic list'`);
  } else {
    if (flags.all !== undefined) throw new UsageError(`--all is for 'topic list'`);
    if (names.length !== 1)
      throw new UsageError(
        names.length === 0
          ? `'streamtx kafka topic create' needs a topic name\n${kafkaUsage('topic')}`
          : `'streamtx kafka topic create' takes one topic, got ${names.join(' ')}`,
      );
    if (flags.partitions === undefined)
      throw new UsageError(
        `'streamtx kafka topic create' needs --partitions N (the partition count decides how many tasks can run in parallel)`,
      );
  }
  const state = runningState(scope);
  if (!state) return 1;
  const client = await createKafkaClient({
    brokers: state.bootstrapServers,
    clientId: 'streamtx-cli',
    logLevel: 'nothing',
  });
  try {
    if (action === 'create') {
      const name = names[0]!;
      const partitions = flags.partitions!;
      const { brokers } = await client.admin.describeCluster();
      if (flags.rf !== undefined && flags.rf > brokers.length) {
        process.stderr.write(
          `streamtx kafka topic create: --rf ${flags.rf} needs ${flags.rf} brokers; the cluster has ${brokers.length} ('streamtx kafka up --brokers N')\n`,
        );
        return 1;
      }
      await client.admin.createTopics([
        {
          topic: name,
          partitions,
          ...(flags.rf !== undefined ? { replicationFactor: flags.rf } : {}),
        },
      ]);
      // createTopics leaves an existing topic alone; say so when it differs.
      const actual = (await client.admin.partitionCounts([name])).get(name);
      if (actual !== partitions) {
        process.stderr.write(
          `streamtx kafka topic create: topic '${name}' already exists with ${actual} partition(s), not ${partitions}\n`,
        );
        return 1;
      }
      process.stdout.write(`${name} ${partitions}\n`);
    } else {
      const all = await client.admin.listTopics();
      const counts = await client.admin.partitionCounts(all);
      const rows = [...counts]
        .filter(([name]) => flags.all === true || !name.startsWith('__'))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [name, partitions] of rows) process.stdout.write(`${name} ${partitions}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(
      `streamtx kafka topic ${action}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  } finally {
    await client.close();
  }
}

/**
 * `streamtx kafka up|status|kill|restart|pause|resume|down`: a local cluster
 * that outlives the command. `up` starts a small detached server process that
 * owns the KafkaCluster (so its watchdog ties the brokers to that server) and
 * answers the other commands over HTTP on loopback.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  closeSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaCluster } from './kafka-cluster.ts';
import { cacheRoot, ensureKafka, findJava } from './kafka-install.ts';
import { waitFor } from './wait.ts';

interface ServerState {
  pid: number;
  controlPort: number;
  version: string;
  bootstrapServers: string[];
  dir: string;
}

const USAGE = `usage: streamtx kafka <command>
  install [--version V]            fetch the broker jars into the cache (once; offline after)
  up [--brokers N] [--version V]   start a local cluster in the background (N = 1..5, default 1)
  status                           list the brokers and their state
  kill <id>                        SIGKILL a broker
  restart <id>                     restart a broker (after kill, stop or pause)
  stop <id>                        controlled shutdown of a broker
  pause <id> | resume <id>         SIGSTOP / SIGCONT a broker
  down                             stop every broker and remove their data`;

function stateDir(): string {
  return process.env.STREAMTX_STATE_DIR ?? join(cacheRoot(), 'cli');
}
const stateFile = (): string => join(stateDir(), 'kafka.json');

function readState(): ServerState | undefined {
  if (!existsSync(stateFile())) return undefined;
  const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as ServerState;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch {
    rmSync(stateFile(), { force: true }); // its server died; the watchdog cleaned up after it
    return undefined;
  }
}

/** Runs a `kafka` subcommand; returns the process exit code. */
export async function kafkaCommand(args: string[], cliPath: string): Promise<number> {
  const [command, ...rest] = args;
  const flags = parseFlags(rest);
  switch (command) {
    case 'up':
      return up(flags, cliPath);
    case 'install': {
      const install = await ensureKafka({
        version: flags.version,
        log: (l) => process.stderr.write(l + '\n'),
      });
      process.stdout.write(`Apache Kafka ${install.version}: ${install.classpath}\n`);
      return 0;
    }
    case '__serve':
      return serve(flags);
    case 'status':
    case 'kill':
    case 'restart':
    case 'stop':
    case 'pause':
    case 'resume':
    case 'down':
      return control(command, flags.positional[0]);
    default:
      process.stderr.write(USAGE + '\n');
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

interface Flags {
  brokers?: number;
  version?: string;
  positional: string[];
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = { positional: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--brokers') flags.brokers = Number(args[++i]);
    else if (arg === '--version') flags.version = args[++i];
    else if (arg.startsWith('--brokers=')) flags.brokers = Number(arg.slice(10));
    else if (arg.startsWith('--version=')) flags.version = arg.slice(10);
    else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}\n${USAGE}`);
    else flags.positional.push(arg);
  }
  if (
    flags.brokers !== undefined &&
    !(Number.isInteger(flags.brokers) && flags.brokers >= 1 && flags.brokers <= 5)
  ) {
    throw new UsageError(`--brokers must be an integer from 1 to 5`);
  }
  return flags;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

async function up(flags: Flags, cliPath: string): Promise<number> {
  const running = readState();
  if (running) {
    process.stderr.write(
      `a cluster is already up (Kafka ${running.version}): ${running.bootstrapServers.join(',')}\n` +
        `run 'streamtx kafka down' first\n`,
    );
    return 1;
  }
  // Fail fast, in the foreground, with the clear errors: Java, Maven, download.
  findJava();
  const install = await ensureKafka({
    version: flags.version,
    log: (l) => process.stderr.write(l + '\n'),
  });
  mkdirSync(stateDir(), { recursive: true });
  const logPath = join(stateDir(), 'kafka-server.log');
  const log = openSync(logPath, 'w');
  const args = [
    '--import',
    'tsx',
    cliPath,
    'kafka',
    '__serve',
    '--brokers',
    String(flags.brokers ?? 1),
  ];
  args.push('--version', install.version);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
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
      return readState();
    },
    { timeoutMs: 180_000, intervalMs: 200, what: 'the cluster to start' },
  );
  process.stdout.write(state.bootstrapServers.join(',') + '\n');
  process.stderr.write(
    `Kafka ${state.version}, ${state.bootstrapServers.length} broker(s); 'streamtx kafka down' stops it\n`,
  );
  return 0;
}

async function serve(flags: Flags): Promise<number> {
  const cluster = await KafkaCluster.start({
    brokers: flags.brokers ?? 1,
    version: flags.version,
    log: console.log,
  });
  const shutdown = async (): Promise<void> => {
    rmSync(stateFile(), { force: true });
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
  };
  writeFileSync(stateFile() + '.tmp', JSON.stringify(state));
  // rename would be atomic too; a write of a few bytes then a read is fine here
  writeFileSync(stateFile(), JSON.stringify(state));
  rmSync(stateFile() + '.tmp', { force: true });
  console.log(`ready: ${cluster.bootstrapServers.join(',')}`);
  return new Promise<number>(() => undefined); // serve until down or a signal
}

async function control(op: string, idText: string | undefined): Promise<number> {
  const state = readState();
  if (!state) {
    process.stderr.write(`no cluster is up; start one with 'streamtx kafka up'\n`);
    return op === 'down' ? 0 : 1;
  }
  const needsId = op !== 'status' && op !== 'down';
  if (needsId && (idText === undefined || !/^\d+$/.test(idText))) {
    throw new UsageError(`'streamtx kafka ${op}' needs a broker id, e.g. 'streamtx kafka ${op} 1'`);
  }
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
    process.stdout.write(`Kafka ${s.version} at ${s.bootstrapServers.join(',')}\n`);
    for (const b of s.brokers)
      process.stdout.write(`broker ${b.id}: ${b.state}${b.pid ? ` (pid ${b.pid})` : ''}\n`);
  } else if (op === 'down') {
    await waitFor(() => readState() === undefined, {
      timeoutMs: 60_000,
      what: 'the cluster to stop',
    });
    process.stdout.write('cluster stopped\n');
  } else {
    process.stdout.write(`broker ${idText}: ${op} done\n`);
  }
  return 0;
}

export const defaultCliPath = (): string => fileURLToPath(new URL('../cli.ts', import.meta.url));

/**
 * `streamtx chaos list` and `streamtx chaos run`: the chaos harness from the
 * command line. Progress goes to stderr, the summary to stdout, the exit code
 * is 0 only when every run passed.
 */
import { spawn } from 'node:child_process';
import { constants, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { parseArgs } from 'node:util';
import { KafkaCluster } from '../testkit/index.ts';
import { formatReport, writeReport, type ChaosReport } from './report.ts';
import { aggregateApp, runChaos } from './runner.ts';
import { FAULT_DESCRIPTIONS, SCENARIOS, findScenario, needsBrokerControl } from './scenarios.ts';

export const CHAOS_USAGE = `usage: streamtx chaos <command>
  list                                 the scenarios and their faults
  run --scenario <name|all>            run scenarios under a verifiable workload
      [--duration 60s]                 time under faults, per scenario (ms, s, m, h)
      [--workers 3] [--brokers 3]      worker processes; brokers of the cluster started
      [--seed N]                       replay a run's fault schedule
      [--report DIR]                   write chaos-<scenario>-<seed>.json and .txt there
      [--app MODULE]                   your app (env contract: docs/chaos.md)
      [--rate 300] [--partitions 6] [--keys 64] [--fault-interval 10s]`;

export class ChaosUsageError extends Error {}

/** `90s`, `5m`, `1500ms`, `1h`; a bare number is seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new ChaosUsageError(`not a duration: '${text}' (e.g. 60s, 30m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new ChaosUsageError(`--${name} must be an integer, got '${text}'`);
  return n;
}

export async function chaosCommand(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'list':
      return list();
    case 'run':
      try {
        return await run(rest);
      } catch (err) {
        if (!(err instanceof ChaosUsageError)) throw err;
        process.stderr.write(`streamtx chaos: ${err.message}\n`);
        return 2;
      }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(CHAOS_USAGE + '\n');
      return 0;
    default:
      process.stderr.write(`unknown chaos command '${command}'\n${CHAOS_USAGE}\n`);
      return 2;
  }
}

/**
 * The verifier holds every record it read back, input and outputs, committed
 * and not: a 30-minute soak at 3000 records/s is 5.4 M inputs and more outputs,
 * past node's default heap (about 4 GiB here; the first such soak died of it
 * while verifying). So `chaos run` runs itself again, once, in a node with half
 * the machine's memory as its heap (at most 16 GiB), unless its heap is
 * that large already. Its exit code is the command's. The child is in the
 * same process group, so a Ctrl-C reaches it from the terminal (once: a
 * second one would make it exit without stopping cleanly); SIGTERM, sent to
 * this process alone, is passed on.
 */
async function withVerifierHeap(): Promise<number | undefined> {
  const wantMiB = Math.min(16_384, Math.floor(totalmem() / 1_048_576 / 2));
  const haveMiB = getHeapStatistics().heap_size_limit / 1_048_576;
  if (process.env.STREAMTX_CHAOS_CHILD === '1' || haveMiB >= wantMiB * 0.9) return undefined;
  const child = spawn(
    process.execPath,
    [...process.execArgv, `--max-old-space-size=${wantMiB}`, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, STREAMTX_CHAOS_CHILD: '1' } },
  );
  const ignore = (): void => {};
  const forward = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        resolveExit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
  } finally {
    process.removeListener('SIGINT', ignore);
    process.removeListener('SIGTERM', forward);
  }
}

function list(): number {
  const out: string[] = [];
  for (const s of SCENARIOS) {
    out.push(`${s.name.padEnd(18)} ${s.description}`);
    if (s.name !== 'mixed')
      for (const f of s.faults) out.push(`${''.padEnd(18)}   ${f}: ${FAULT_DESCRIPTIONS[f]}`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        scenario: { type: 'string' },
        duration: { type: 'string' },
        workers: { type: 'string' },
        brokers: { type: 'string' },
        seed: { type: 'string' },
        report: { type: 'string' },
        app: { type: 'string' },
        rate: { type: 'string' },
        partitions: { type: 'string' },
        keys: { type: 'string' },
        'fault-interval': { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new ChaosUsageError(`${(err as Error).message}\n${CHAOS_USAGE}`);
  }
  if (!values.scenario) throw new ChaosUsageError(`--scenario is required\n${CHAOS_USAGE}`);
  const scenarios =
    values.scenario === 'all'
      ? SCENARIOS
      : (() => {
          try {
            return [findScenario(values.scenario)];
          } catch (err) {
            throw new ChaosUsageError((err as Error).message);
          }
        })();
  const brokers = integer('brokers', values.brokers) ?? 3;
  const workers = integer('workers', values.workers) ?? 3;
  const durationMs = parseDuration(values.duration ?? '60s');
  const reexec = await withVerifierHeap();
  if (reexec !== undefined) return reexec;
  if (brokers < 3 && scenarios.some(needsBrokerControl))
    process.stderr.write(
      `streamtx chaos: with ${brokers} broker(s) a broker fault stops the cluster; results are about liveness, not just safety\n`,
    );

  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nstreamtx chaos: stopping (again to exit at once)...\n');
      abort.abort();
    } else process.exit(130); // the watchdogs remove workers, brokers and directories
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const progress = (line: string): void => {
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (Date.now() - lastLine >= 10_000) {
      lastLine = Date.now();
      process.stderr.write(line + '\n');
    }
  };

  const reports: ChaosReport[] = [];
  let cluster: KafkaCluster | undefined;
  try {
    process.stderr.write(`streamtx chaos: starting ${brokers} broker(s)...\n`);
    cluster = await KafkaCluster.start({ brokers });
    for (const scenario of scenarios) {
      if (abort.signal.aborted) break;
      const report = await runChaos({
        scenario,
        durationMs,
        workers,
        cluster,
        seed: integer('seed', values.seed),
        app: values.app ? { ...aggregateApp, module: resolve(values.app) } : aggregateApp,
        recordsPerSecond: integer('rate', values.rate),
        partitions: integer('partitions', values.partitions),
        keys: integer('keys', values.keys),
        faultIntervalMs: values['fault-interval']
          ? parseDuration(values['fault-interval'])
          : undefined,
        progress,
        signal: abort.signal,
      });
      if (tty) process.stderr.write('\n');
      reports.push(report);
      process.stdout.write(formatReport(report) + '\n');
      if (values.report) {
        const paths = writeReport(report, values.report);
        process.stdout.write(`  report: ${paths.json}\n`);
      }
    }
  } finally {
    await cluster?.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  if (reports.length > 1) {
    const failed = reports.filter((r) => r.verdict !== 'pass');
    process.stdout.write(
      `\n${reports.length} scenarios: ${reports.length - failed.length} passed` +
        (failed.length
          ? `, ${failed.length} not (${failed.map((r) => `${r.scenario}: ${r.verdict}`).join(', ')})`
          : '') +
        '\n',
    );
  }
  if (abort.signal.aborted) return 130;
  return reports.every((r) => r.verdict === 'pass') ? 0 : 1;
}

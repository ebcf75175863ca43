/**
 * Obtains the Apache Kafka broker jars: from an existing install (KAFKA_HOME),
 * or once from Maven Central through Maven into a cache outside the repo, then
 * offline from that cache ever after.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Newest Apache Kafka 4.x whose broker runs on Java 17 and passes our kafkajs
 * transaction tests (docs/compatibility.md).
 */
export const DEFAULT_KAFKA_VERSION = '4.4.0';

export interface KafkaInstall {
  version: string;
  /** Java classpath of the broker (a directory glob). */
  classpath: string;
  /** Where the jars came from: the cache, or KAFKA_HOME. */
  source: 'cache' | 'kafka-home';
}

export interface KafkaInstallOptions {
  /** @default DEFAULT_KAFKA_VERSION, or STREAMTX_KAFKA_VERSION */
  version?: string;
  /** Use this Kafka distribution instead of downloading. @default process.env.KAFKA_HOME */
  kafkaHome?: string;
  /** @default ~/.cache/streamtx/kafka (or $STREAMTX_CACHE/kafka) */
  cacheDir?: string;
  /** Called with progress lines while Maven downloads. */
  log?: (line: string) => void;
}

export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

export function cacheRoot(): string {
  return process.env.STREAMTX_CACHE ?? join(homedir(), '.cache', 'streamtx');
}

/** The Java executable, or a clear error naming what to install. */
export function findJava(): string {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new MissingToolError(
      `Java was not found (tried '${java}'). streamtx runs real Apache Kafka brokers, which need ` +
        `a Java 17+ runtime: install OpenJDK 17 or newer (e.g. 'apt-get install openjdk-17-jre-headless') ` +
        `or set JAVA_HOME.`,
    );
  }
  const m = /version "(\d+)/.exec(probe.stderr);
  const major = m ? Number(m[1]) : 0;
  if (major > 0 && major < 17) {
    throw new MissingToolError(
      `Java ${major} found at '${java}', but Kafka 4.x brokers need Java 17 or newer: install OpenJDK 17+ or set JAVA_HOME.`,
    );
  }
  return java;
}

function findMaven(): string {
  const probe = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new MissingToolError(
      `Maven was not found. streamtx fetches the Apache Kafka broker from Maven Central once ` +
        `(then works offline): install Maven ('apt-get install maven'), or point KAFKA_HOME at ` +
        `an unpacked Kafka distribution, or STREAMTX_BOOTSTRAP at a running cluster.`,
    );
  }
  return 'mvn';
}

const pomPath = join(dirname(fileURLToPath(import.meta.url)), 'pom.xml');

/** Resolves the broker jars, downloading them on first use. */
export async function ensureKafka(options: KafkaInstallOptions = {}): Promise<KafkaInstall> {
  const kafkaHome = options.kafkaHome ?? process.env.KAFKA_HOME;
  const version = options.version ?? process.env.STREAMTX_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  if (kafkaHome) {
    const libs = join(kafkaHome, 'libs');
    if (!existsSync(libs)) {
      throw new MissingToolError(
        `KAFKA_HOME=${kafkaHome} has no libs/ directory: not a Kafka distribution`,
      );
    }
    const jar = readdirSync(libs).find(
      (f) => /^kafka_2\.\d+-.+\.jar$/.test(f) && !f.includes('test'),
    );
    const homeVersion = jar?.replace(/^kafka_2\.\d+-/, '').replace(/\.jar$/, '') ?? 'unknown';
    return { version: homeVersion, classpath: join(libs, '*'), source: 'kafka-home' };
  }
  const dir = join(options.cacheDir ?? join(cacheRoot(), 'kafka'), version);
  const libs = join(dir, 'libs');
  const done = join(dir, 'complete');
  if (existsSync(done)) return { version, classpath: join(libs, '*'), source: 'cache' };

  const mvn = findMaven();
  mkdirSync(dir, { recursive: true });
  // Download into a private directory, then rename: concurrent first runs
  // (parallel test files, CI) never see a half-filled libs/.
  const staging = join(dir, `libs.tmp-${process.pid}-${Date.now()}`);
  const args = [
    '-B',
    '-q',
    '-f',
    pomPath,
    'package',
    `-Dkafka.version=${version}`,
    `-Doutput.dir=${staging}`,
  ];
  options.log?.(`streamtx: fetching Apache Kafka ${version} from Maven Central (once) into ${dir}`);
  const output = await run(mvn, args);
  if (output.code !== 0 || !existsSync(staging)) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `Maven could not resolve Apache Kafka ${version} (org.apache.kafka:kafka_2.13:${version}); ` +
        `exit ${output.code}:\n${output.text.slice(-4000)}`,
    );
  }
  if (!existsSync(done)) {
    try {
      renameSync(staging, libs);
      writeFileSync(done, new Date().toISOString() + '\n');
    } catch {
      // Another process won the race; its copy is as good as ours.
    }
  }
  rmSync(staging, { recursive: true, force: true });
  return { version, classpath: join(libs, '*'), source: 'cache' };
}

function run(cmd: string, args: string[]): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', (err) => resolve({ code: -1, text: String(err) }));
    child.on('close', (code) => resolve({ code: code ?? -1, text }));
  });
}

/**
 * Builds the Kafka Streams peer (bench/peers/kafka-streams, Maven) once: the
 * build is kept in its target/ (git-ignored) with a hash of the pom and the
 * Java sources, and redone only when they change.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEER_DIR = join(dirname(fileURLToPath(import.meta.url)), 'kafka-streams');
export const PEER_MAIN = 'dev.streamtx.bench.KafkaStreamsPeer';

export interface JavaPeer {
  classpath: string;
  /** Version of the kafka-streams jar on the classpath. */
  kafkaStreamsVersion: string;
  /** True when this call ran Maven. */
  built: boolean;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.java')) out.push(path);
  }
  return out.sort();
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [join(PEER_DIR, 'pom.xml'), ...sources(join(PEER_DIR, 'src'))]) {
    hash.update(relative(PEER_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export async function ensureJavaPeer(log: (line: string) => void): Promise<JavaPeer> {
  const target = join(PEER_DIR, 'target');
  const stamp = join(target, 'streamtx-build.sha256');
  const hash = sourceHash();
  let built = false;
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== hash) {
    if (spawnSync('mvn', ['-v']).status !== 0) {
      throw new Error(
        'Maven (mvn) was not found: it builds the Kafka Streams peer in bench/peers/kafka-streams (apt-get install maven)',
      );
    }
    log('building the Kafka Streams peer (mvn package, once)');
    const result = await new Promise<{ code: number; text: string }>((resolve) => {
      const child = spawn('mvn', ['-B', '-q', 'package'], {
        cwd: PEER_DIR,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', (err) => resolve({ code: -1, text: String(err) }));
      child.on('close', (code) => resolve({ code: code ?? -1, text }));
    });
    if (result.code !== 0) {
      throw new Error(
        `building the Kafka Streams peer failed (mvn package in ${PEER_DIR}, exit ${result.code}):\n${result.text.slice(-4000)}`,
      );
    }
    writeFileSync(stamp, hash + '\n');
    built = true;
  }
  const jar = readdirSync(join(target, 'lib')).find((f) => /^kafka-streams-\d.*\.jar$/.test(f));
  if (!jar) throw new Error(`no kafka-streams jar in ${join(target, 'lib')}: rebuild the peer`);
  return {
    classpath: `${join(target, 'classes')}:${join(target, 'lib', '*')}`,
    kafkaStreamsVersion: jar.replace(/^kafka-streams-/, '').replace(/\.jar$/, ''),
    built,
  };
}

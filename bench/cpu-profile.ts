/**
 * A text summary of V8 CPU profiles (`node --cpu-prof`): where the time of a
 * streamtx worker goes, as self time per part of the stack and per function,
 * and inclusive time of the framework's main paths.
 *
 *   NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" <run a worker>
 *   npx tsx bench/cpu-profile.ts /tmp/prof/*.cpuprofile [--top 25]
 *
 * Several files are summed (one per process); a file without a frame of
 * framework/runtime/stream-task.ts (a runner, a loader process) is skipped, so a
 * directory of a whole bench run can be passed as it is.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The part of the stack a frame belongs to, from its script's URL. */
function partOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  if (url.includes('/node_modules/kafkajs/')) return 'kafkajs';
  if (url.includes('/node_modules/better-sqlite3/')) return 'better-sqlite3 (JS side)';
  if (url.includes('/node_modules/')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return `package ${m?.[1] ?? '?'}`;
  }
  if (url.startsWith('node:')) return 'node core';
  const m = /\/(framework\/[^/]+(?:\/[^/]+)?|stores|dsl|testkit|bench|chaos)\//.exec(url);
  if (m?.[1]) {
    const dir = m[1];
    if (dir.startsWith('framework/client/kafkajs')) return 'framework/client/kafkajs (adapter)';
    if (dir.startsWith('framework/')) return dir.replace(/\/[^/]+\.ts$/, '');
    return dir;
  }
  return 'other';
}

interface Summary {
  totalUs: number;
  idleUs: number;
  byPart: Map<string, number>;
  bySelf: Map<string, number>;
  inclusive: Map<string, number>;
}

function label(f: CallFrame): string {
  const file = f.url.replace(/^.*\/(node_modules\/|framework\/|stores\/|dsl\/|bench\/)/, '$1');
  // No line: under tsx the frames carry the line of the transpiled module.
  return `${f.functionName || '(anonymous)'} ${file}`.trim();
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

function summarize(profiles: Profile[]): Summary {
  const s: Summary = {
    totalUs: 0,
    idleUs: 0,
    byPart: new Map(),
    bySelf: new Map(),
    inclusive: new Map(),
  };
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Self time per node from the samples and their deltas (each delta is the
    // time since the previous sample: it belongs to the sample that follows).
    const self = new Map<number, number>();
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i] as number;
      const us = p.timeDeltas[i + 1] ?? 0;
      self.set(id, (self.get(id) ?? 0) + Math.max(0, us));
    }
    for (const [id, us] of self) {
      const n = byId.get(id);
      if (!n) continue;
      const part = partOf(n.callFrame);
      if (part === 'idle') {
        s.idleUs += us;
        continue;
      }
      s.totalUs += us;
      add(s.byPart, part, us);
      add(s.bySelf, label(n.callFrame), us);
      // Inclusive: every distinct framework/stores/dsl function on the stack.
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const f = byId.get(cur)?.callFrame;
        if (!f || !/\/(framework|stores|dsl)\//.test(f.url)) continue;
        const key = label(f);
        if (seen.has(key)) continue;
        seen.add(key);
        add(s.inclusive, key, us);
      }
    }
  }
  return s;
}

function table(title: string, map: Map<string, number>, totalUs: number, top: number): string {
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [`${title}`];
  for (const [k, us] of rows) {
    lines.push(
      `  ${((100 * us) / totalUs).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    );
  }
  return lines.join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  const top = Number(values.top);
  if (positionals.length === 0) {
    console.error('usage: tsx bench/cpu-profile.ts FILE.cpuprofile... [--top N]');
    process.exit(2);
  }
  const profiles: Profile[] = [];
  for (const file of positionals) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    if (!p.nodes.some((n) => n.callFrame.url.includes('/framework/runtime/stream-task.ts')))
      continue;
    profiles.push(p);
  }
  if (profiles.length === 0) {
    console.error('no profile with a frame of framework/runtime/stream-task.ts among the files');
    process.exit(1);
  }
  const s = summarize(profiles);
  const wallUs = profiles.reduce((sum, p) => sum + (p.endTime - p.startTime), 0);
  console.log(
    `${profiles.length} profile(s): ${(wallUs / 1e6).toFixed(1)} s wall, ` +
      `${(s.totalUs / 1e6).toFixed(1)} s on the CPU (main thread), ${(s.idleUs / 1e6).toFixed(1)} s idle`,
  );
  console.log(table('\nSelf time by part of the stack', s.byPart, s.totalUs, top));
  console.log(table('\nSelf time by function', s.bySelf, s.totalUs, top));
  console.log(
    table('\nInclusive time, framework/stores/dsl functions', s.inclusive, s.totalUs, top),
  );
}

main();

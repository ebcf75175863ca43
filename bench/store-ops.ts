/**
 * Key-value store operations per second, SQLite vs memory, through the public store API
 * (serdes and the change-logging layer included, logChange a no-op):
 *
 *   npx tsx bench/store-ops.ts [-- --ops 200000 --batch 1000]
 *
 * put: `ops` puts of distinct keys in random order, inside transactions committed every
 * `batch` puts (as a task commits per Kafka transaction); get: `ops` gets of present keys in
 * random order; range: 1000 scans of 100 keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Serdes } from '../framework/serdes.ts';
import { Stores, type KeyValueStore } from '../stores/index.ts';

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
  },
});
const ops = Number(args.ops);
const batch = Number(args.batch);

const keyOf = (i: number): string => `key-${String(i).padStart(8, '0')}`;
const order = Array.from({ length: ops }, (_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [order[i], order[j]] = [order[j] as number, order[i] as number];
}

function rate(count: number, run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return count / seconds;
}

function bench(persistent: boolean): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'streamtx-store-bench-'));
  try {
    const store: KeyValueStore<string, number> = Stores.keyValue('bench', {
      keySerde: Serdes.string(),
      valueSerde: Serdes.int32(),
      persistent,
    }).build();
    let changes = 0;
    store.init({
      applicationId: 'bench',
      taskId: '0_0',
      stateDir: dir,
      logChange: () => void changes++,
    });
    const puts = rate(ops, () => {
      let offset = 0n;
      store.beginTransaction();
      for (let n = 0; n < ops; n++) {
        const i = order[n] as number;
        store.put(keyOf(i), i);
        if ((n + 1) % batch === 0) {
          store.commitTransaction((offset += BigInt(batch)));
          store.beginTransaction();
        }
      }
      store.commitTransaction(offset);
    });
    let sum = 0;
    const gets = rate(ops, () => {
      for (let n = 0; n < ops; n++) sum += store.get(keyOf(order[n] as number)) ?? 0;
    });
    const scans = 1000;
    const ranges = rate(scans * 100, () => {
      for (let n = 0; n < scans; n++) {
        const from = order[n] as number;
        if (store.range(keyOf(from), keyOf(from + 99)).length === 0) throw new Error('empty');
      }
    });
    if (changes !== ops || sum !== (ops * (ops - 1)) / 2)
      throw new Error('bench self-check failed');
    store.close();
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    return {
      store: persistent ? 'SQLite (WAL, synchronous=NORMAL)' : 'memory',
      'put/s (txn per 1000)': fmt(puts),
      'get/s': fmt(gets),
      'range entries/s': fmt(ranges),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `${ops.toLocaleString('en-US')} keys, commit every ${batch} puts, Node ${process.version}`,
);
console.table([bench(true), bench(false)]);

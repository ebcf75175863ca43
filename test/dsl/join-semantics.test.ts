// The join semantics tables of docs/dsl.md — Kafka Streams' developer guide's, record by
// record — read from the page and replayed on the TopologyTestDriver: every row's output,
// per join type, must be exactly the table's cell. A change to the page or to the joins that
// makes them disagree fails here.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Serdes } from '../../framework/index.ts';
import { JoinWindows, StreamsBuilder } from '../../dsl/index.ts';
import type { TestInputTopic, TopologyTestDriver } from '../../testkit/index.ts';
import { driverFor } from './support.ts';

const S = Serdes.string();
const page = readFileSync(fileURLToPath(new URL('../../docs/dsl.md', import.meta.url)), 'utf8');

interface Table {
  header: string[];
  rows: string[][];
}

/** The markdown table after `<!-- join-semantics: name -->`. */
function table(name: string): Table {
  const at = page.indexOf(`<!-- join-semantics: ${name} -->`);
  if (at < 0) throw new Error(`docs/dsl.md has no join-semantics table "${name}"`);
  const lines = page
    .slice(at)
    .split('\n')
    .slice(1)
    .filter((line, i, all) => line.trim() !== '' || all.slice(0, i).some((l) => l.trim() !== ''));
  const rows: string[][] = [];
  for (const line of lines) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, line.lastIndexOf('|'))
        .split('|')
        .map((c) => c.trim()),
    );
  }
  const [header, , ...body] = rows;
  return { header: header!, rows: body };
}

/** `[A, b], [B, b]` → ['[A, b]', '[B, b]']; `(k,1,foo), (r,10,baz)` → two; `null` → ['null']. */
function cell(text: string): string[] {
  return text.match(/\[[^\]]*\]|\([^)]*\)|null/g) ?? [];
}

const pair = (l: unknown, r: unknown): string => `[${String(l)}, ${String(r)}]`;

async function replay(
  t: Test,
  name: string,
  driver: TopologyTestDriver,
  inputs: {
    left: (v: string, time: number) => Promise<void>;
    right: (v: string, time: number) => Promise<void>;
  },
  outputs: Record<string, () => string[]>,
): Promise<void> {
  const { header, rows } = table(name);
  const columns = header.slice(3);
  t.same(columns, Object.keys(outputs), `${name}: the page's columns are the joins tested`);
  for (const row of rows) {
    const [time, left, right, ...expected] = row as [string, string, string, ...string[]];
    const at = Number(time) * 1000;
    // A row with both a left and a right record pipes the right one first (the page says so).
    if (right !== '') await inputs.right(right, at);
    if (left !== '') await inputs.left(left, at);
    columns.forEach((column, i) => {
      t.same(
        outputs[column]!(),
        cell(expected[i] ?? ''),
        `${name} @${time} (${left || '·'} | ${right || '·'}) ${column}`,
      );
    });
  }
}

const valueOf = (text: string): string | null => (text === 'null' ? null : text);

t.test('KStream–KStream: join, leftJoin, outerJoin as docs/dsl.md tabulates', async (t) => {
  const builder = new StreamsBuilder();
  const left = builder.stream('left', { keySerde: S, valueSerde: S });
  const right = builder.stream('right', { keySerde: S, valueSerde: S });
  const windows = JoinWindows.ofTimeDifference(15_000).grace(4_000);
  left.join(right, pair, windows).to('join', { valueSerde: S });
  left.leftJoin(right, pair, windows).to('leftJoin', { valueSerde: S });
  left.outerJoin(right, pair, windows).to('outerJoin', { valueSerde: S });
  const { driver } = await driverFor(t, builder.build());
  const pipe = (topic: TestInputTopic<string, string>) => (v: string, time: number) =>
    topic.pipeInput('k', valueOf(v), time);
  const read = (topic: string) => {
    const out = driver.createOutputTopic(topic, S, S);
    return () => out.readValuesToList().map(String);
  };
  await replay(
    t,
    'stream-stream',
    driver,
    {
      left: pipe(driver.createInputTopic('left', S, S)),
      right: pipe(driver.createInputTopic('right', S, S)),
    },
    { join: read('join'), leftJoin: read('leftJoin'), outerJoin: read('outerJoin') },
  );
});

t.test('KStream–KTable: join, leftJoin as docs/dsl.md tabulates', async (t) => {
  const builder = new StreamsBuilder();
  const left = builder.stream('left', { keySerde: S, valueSerde: S });
  const right = builder.table('right', { keySerde: S, valueSerde: S });
  left.join(right, pair).to('join', { valueSerde: S });
  left.leftJoin(right, pair).to('leftJoin', { valueSerde: S });
  const { driver } = await driverFor(t, builder.build());
  const pipe = (topic: TestInputTopic<string, string>) => (v: string, time: number) =>
    topic.pipeInput('k', valueOf(v), time);
  const read = (topic: string) => {
    const out = driver.createOutputTopic(topic, S, S);
    return () => out.readValuesToList().map(String);
  };
  await replay(
    t,
    'stream-table',
    driver,
    {
      left: pipe(driver.createInputTopic('left', S, S)),
      right: pipe(driver.createInputTopic('right', S, S)),
    },
    { join: read('join'), leftJoin: read('leftJoin') },
  );
});

t.test('KTable–KTable: join, leftJoin, outerJoin as docs/dsl.md tabulates', async (t) => {
  const builder = new StreamsBuilder();
  const left = builder.table('left', { keySerde: S, valueSerde: S });
  const right = builder.table('right', { keySerde: S, valueSerde: S });
  left.join(right, pair).toStream().to('join', { valueSerde: S });
  left.leftJoin(right, pair).toStream().to('leftJoin', { valueSerde: S });
  left.outerJoin(right, pair).toStream().to('outerJoin', { valueSerde: S });
  const { driver } = await driverFor(t, builder.build());
  const pipe = (topic: TestInputTopic<string, string>) => (v: string, time: number) =>
    topic.pipeInput('k', valueOf(v), time);
  const read = (topic: string) => {
    const out = driver.createOutputTopic(topic, S, S);
    return () => out.readValuesToList().map((v) => (v === null ? 'null' : v));
  };
  await replay(
    t,
    'table-table',
    driver,
    {
      left: pipe(driver.createInputTopic('left', S, S)),
      right: pipe(driver.createInputTopic('right', S, S)),
    },
    { join: read('join'), leftJoin: read('leftJoin'), outerJoin: read('outerJoin') },
  );
});

t.test('foreign-key KTable–KTable: join, leftJoin as docs/dsl.md tabulates', async (t) => {
  interface Row {
    fk: string | null;
  }
  const builder = new StreamsBuilder();
  const left = builder.table('left', { keySerde: S, valueSerde: Serdes.json<Row>() });
  const right = builder.table('right', { keySerde: S, valueSerde: S });
  const joiner = (row: Row, name: string | null, key: string) =>
    `(${key},${String(row.fk)},${String(name)})`;
  for (const kind of ['join', 'leftJoin'] as const) {
    const joined =
      kind === 'join'
        ? left.join(right, (row) => row.fk, joiner, { name: `fk-${kind}` }, { valueSerde: S })
        : left.leftJoin(right, (row) => row.fk, joiner, { name: `fk-${kind}` }, { valueSerde: S });
    joined.toStream().to(kind, { valueSerde: S });
  }
  const { driver } = await driverFor(t, builder.build());
  const leftTopic = driver.createInputTopic('left', S, Serdes.json<Row>());
  const rightTopic = driver.createInputTopic('right', S, S);
  const parse = (text: string) => {
    const m = /^\((\w+),(\w+)\)$/.exec(text);
    if (!m) throw new Error(`not a (key,value) cell: ${text}`);
    return { key: m[1]!, value: m[2]! };
  };
  const read = (topic: string) => {
    const out = driver.createOutputTopic(topic, S, S);
    return () =>
      out.readKeyValuesToList().map(({ key, value }) => value ?? `(${String(key)},null)`);
  };
  await replay(
    t,
    'foreign-key',
    driver,
    {
      left: async (text, time) => {
        const { key, value } = parse(text);
        await leftTopic.pipeInput(key, { fk: valueOf(value) }, time);
      },
      right: async (text, time) => {
        const { key, value } = parse(text);
        await rightTopic.pipeInput(key, valueOf(value), time);
      },
    },
    { join: read('join'), leftJoin: read('leftJoin') },
  );
});

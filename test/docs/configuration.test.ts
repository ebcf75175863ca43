// docs/configuration.md against the options schema: every option and setting of
// StreamsAppOptions is documented, nothing documented is missing from it, and every default
// the page shows as a literal is the one compileStreamsAppOptions applies.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  NESTED_OPTION_NAMES,
  STREAMS_APP_OPTION_NAMES,
  compileStreamsAppOptions,
  type StreamsAppOptions,
} from '../../framework/options.ts';
import { RUN_USAGE } from '../../framework/runtime/worker-cli.ts';

const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

interface Row {
  option: string;
  default: string;
  meaning: string;
}

// Table rows whose first cell is an option in backticks (prettier pads the cells).
const rows: Row[] = page
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  )
  .flatMap(([option, defaultCell, meaning]) => {
    const name = /^`([^`]+)`$/.exec(option ?? '')?.[1];
    return name === undefined
      ? []
      : [{ option: name, default: defaultCell ?? '', meaning: meaning ?? '' }];
  });

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

t.test('every option is documented, and every documented option exists', async (t) => {
  const documented = rows.map((r) => r.option).filter((o) => !o.includes('.'));
  t.same(sorted(documented), sorted(STREAMS_APP_OPTION_NAMES), 'top-level options');
  t.equal(new Set(documented).size, documented.length, 'each documented once');
});

t.test('every setting of an object option is documented, and exists', async (t) => {
  const nested = rows.map((r) => r.option).filter((o) => o.includes('.'));
  for (const parent of new Set(nested.map((o) => o.split('.')[0]!)))
    t.ok(parent in NESTED_OPTION_NAMES, `${parent} has settings`);
  for (const [parent, settings] of Object.entries(NESTED_OPTION_NAMES))
    t.same(
      sorted(
        nested.filter((o) => o.startsWith(`${parent}.`)).map((o) => o.slice(parent.length + 1)),
      ),
      sorted(settings),
      `${parent}.*`,
    );
});

t.test('the defaults shown are the ones applied', async (t) => {
  const base = { applicationId: 'doc-check', brokers: ['localhost:9092'] };
  const compiled = compileStreamsAppOptions(base) as unknown as Record<string, unknown>;
  const valueAt = (option: string): unknown =>
    option
      .split('.')
      .reduce<unknown>(
        (v, key) =>
          typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined,
        compiled,
      );
  let checked = 0;
  for (const row of rows) {
    const value = valueAt(row.option);
    if (row.default === 'required') {
      const { [row.option as 'applicationId']: _, ...without } = base;
      t.throws(() => compileStreamsAppOptions(without as unknown as StreamsAppOptions), {
        field: row.option,
        message: /is required/,
      });
      checked++;
    } else if (row.option === 'stateDir') {
      t.equal(value, path.join(os.tmpdir(), 'streamtx'));
      t.match(row.default, '`os.tmpdir()/streamtx`');
      checked++;
    } else if (row.option === 'ssl.rejectUnauthorized') {
      // Left to Node's tls.connect, whose default is to verify.
      t.equal(value, undefined);
      t.match(row.default, '`true`');
      checked++;
    } else if (row.option === 'clientId') {
      t.equal(value, base.applicationId);
      t.match(row.default, 'the `applicationId`');
      checked++;
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      t.ok(
        row.default.includes(`\`${value}\``),
        `${row.option}: ${row.default} shows \`${value}\``,
      );
      checked++;
    } else if (typeof value === 'string') {
      t.ok(
        row.default.includes(`\`'${value}'\``),
        `${row.option}: ${row.default} shows \`'${value}'\``,
      );
      checked++;
    } else if (value === undefined) {
      t.notMatch(row.default, /^`[^`]*`$/, `${row.option} has no default value to show`);
    }
  }
  const alo = compileStreamsAppOptions({ ...base, processingGuarantee: 'at_least_once' });
  t.match(
    rows.find((r) => r.option === 'commitIntervalMs')?.default,
    `\`${alo.commitIntervalMs}\` under at_least_once`,
  );
  t.ok(checked >= 25, `${checked} defaults checked`);
});

t.test("streamtx run's flags are the ones the page lists", async (t) => {
  const section = page.slice(page.indexOf('## Options of `streamtx run`'));
  const listed = [...section.matchAll(/^- `(--[a-z-]+)/gm)].map((m) => m[1]!);
  const synopsis = RUN_USAGE.slice(0, RUN_USAGE.indexOf('\n  Runs'));
  const flags = [...synopsis.matchAll(/\[(--[a-z-]+)/g)].map((m) => m[1]!);
  t.ok(flags.length >= 3, `the usage's flags: ${flags.join(' ')}`);
  t.same(sorted(listed), sorted(flags));
});

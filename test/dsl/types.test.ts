// The DSL's types are part of its API: test/dsl/types/*.ts must compile except on the lines
// marked `// @ts-expect-error`, each of which must fail. The fixtures are compiled twice in
// one TypeScript program run: as they are (an unused directive is an error), and with the
// directives blanked out, to check that the errors are exactly on the marked lines.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import ts from 'typescript';

const dir = fileURLToPath(new URL('./types/', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(dir, f));

function options(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  return ts.parseJsonConfigFileContent(config.config, ts.sys, root).options;
}

/** Errors per fixture file, by 1-based line, with `replace` applied to the fixtures' text. */
function diagnose(replace: (text: string) => string): Map<string, Map<number, string>> {
  const compilerOptions = { ...options(), noEmit: true };
  const host = ts.createCompilerHost(compilerOptions);
  const read = host.readFile.bind(host);
  host.readFile = (file) => {
    const text = read(file);
    return text !== undefined && fixtures.includes(file) ? replace(text) : text;
  };
  const program = ts.createProgram(fixtures, compilerOptions, host);
  const result = new Map<string, Map<number, string>>(fixtures.map((f) => [f, new Map()]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName;
    if (file === undefined || !result.has(file)) {
      result.set(
        file ?? '<global>',
        new Map([[0, ts.flattenDiagnosticMessageText(d.messageText, '\n')]]),
      );
      continue;
    }
    const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1;
    result.get(file)!.set(line, ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }
  return result;
}

const DIRECTIVE = /\/\/ @ts-expect-error.*$/gm;

t.test(
  'the DSL fixtures compile, every @ts-expect-error is used, and errors are exactly on the marked lines',
  async (t) => {
    t.ok(fixtures.length > 0, 'there are fixtures');
    const asIs = diagnose((text) => text);
    for (const [file, errors] of asIs) {
      t.same(
        [...errors].map(([line, m]) => `${line}: ${m}`),
        [],
        `${file.slice(root.length)} compiles as it is`,
      );
    }
    const blanked = diagnose((text) =>
      text.replace(DIRECTIVE, (m) => '//' + ' '.repeat(m.length - 2)),
    );
    for (const file of fixtures) {
      const lines = readFileSync(file, 'utf8').split('\n');
      // The error belongs to the first non-comment line after the directive.
      const expected = new Set<number>();
      lines.forEach((line, i) => {
        if (!/\/\/ @ts-expect-error/.test(line)) return;
        let j = i + 1;
        while (j < lines.length && /^\s*\/\//.test(lines[j]!)) j++;
        expected.add(j + 1);
      });
      const actual = blanked.get(file) ?? new Map<number, string>();
      const missing = [...expected].filter((l) => !actual.has(l));
      const unexpected = [...actual.keys()].filter((l) => !expected.has(l));
      t.same(
        missing,
        [],
        `${file.slice(root.length)}: every marked line fails to compile (${expected.size} marked)`,
      );
      t.same(
        unexpected.map((l) => `${l}: ${actual.get(l)}`),
        [],
        `${file.slice(root.length)}: no error on an unmarked line`,
      );
    }
  },
);

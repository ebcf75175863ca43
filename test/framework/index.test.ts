import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import * as framework from '../../framework/index.ts';

const indexPath = fileURLToPath(new URL('../../framework/index.ts', import.meta.url));

t.test('the public entry exports the Processor API, serdes, errors and Topology', async (t) => {
  const expected = [
    'Serdes',
    'Topology',
    'StreamsError',
    'TaskMigratedError',
    'TaskCorruptedError',
    'StreamsFatalError',
    'StreamsConfigError',
    'TopologyError',
    'SerializationError',
    'DeserializationError',
    'ProcessorError',
  ];
  for (const name of expected) t.ok(name in framework, `exports ${name}`);
});

t.test('the public entry keeps runtime internals out', async (t) => {
  for (const name of [
    'compileStreamsAppOptions',
    'checkCoPartitioning',
    'taskIdOf',
    'parseTaskId',
  ]) {
    t.notOk(name in framework, `does not export ${name}`);
  }
});

t.test('the usage example in the entry comment runs and prints what it claims', async (t) => {
  const source = await readFile(indexPath, 'utf8');
  const block = /```ts\n([\s\S]*?)\n \* ```/.exec(source)?.[1];
  if (block === undefined) throw new Error('no ```ts example in framework/index.ts');
  const lines = block.split('\n').map((line) => line.replace(/^ \* ?/, ''));
  const expected = lines
    .filter((line) => line.startsWith('// '))
    .map((line) => line.slice(3))
    .join('\n');
  const code = lines
    .join('\n')
    .replace("'streamtx/framework'", JSON.stringify(pathToFileURL(indexPath).href));
  const file = path.join(t.testdir(), 'example.ts');
  await writeFile(file, code);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
    cwd: path.dirname(indexPath),
  });
  t.equal(stdout.trimEnd(), expected);
});

// Loading streamtx for the TopologyTestDriver and the stores must not load the
// Kafka client (docs/architecture.md, "Client boundary"): run a driver with
// kafkajs made unresolvable, then check the guard itself works.
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childEnv } from '../support/ids.ts';

const run = promisify(execFile);
const hook = fileURLToPath(new URL('../support/no-kafkajs/register.mjs', import.meta.url));
const app = fileURLToPath(new URL('../support/no-kafkajs/driver-app.ts', import.meta.url));

t.test('the TopologyTestDriver runs with kafkajs absent from the module graph', async (t) => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', hook, app], {
    env: childEnv(),
  });
  t.same(JSON.parse(stdout), [
    { key: 'a', value: 1 },
    { key: 'b', value: 1 },
    { key: 'a', value: 2 },
  ]);
});

t.test('the guard does catch a module that loads kafkajs', async (t) => {
  const adapter = fileURLToPath(
    new URL('../../framework/client/kafkajs/index.ts', import.meta.url),
  );
  await t.rejects(
    run(
      process.execPath,
      ['--import', 'tsx', '--import', hook, '-e', `await import(${JSON.stringify(adapter)})`],
      {
        env: childEnv(),
      },
    ),
    { message: /kafkajs was loaded/ },
  );
});

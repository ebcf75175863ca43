import t from 'tap';
import { waitFor } from '../../testkit/index.ts';

t.test('waitFor returns the first truthy value the condition yields', async (t) => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? `after ${calls}` : false), { intervalMs: 1 });
  t.equal(value, 'after 3');
});

t.test('waitFor times out naming what it waited for', async (t) => {
  await t.rejects(
    waitFor(() => false, { timeoutMs: 20, intervalMs: 5, what: 'the moon' }),
    {
      message: /timed out after 20 ms waiting for the moon/,
    },
  );
});

t.test('an exception in the condition ends the wait with that exception', async (t) => {
  await t.rejects(
    waitFor(() => {
      throw new Error('broker 2 exited');
    }),
    { message: 'broker 2 exited' },
  );
});

// The serial queue every task operation runs on: one job at a time, in order,
// a failed job does not stop the ones after it, drain waits for all.
import t from 'tap';
import { SerialQueue } from '../../../framework/runtime/serial-queue.ts';

t.test('jobs run one after another in the order queued, never interleaved', async (t) => {
  const q = new SerialQueue();
  const events: string[] = [];
  const job = (name: string, ticks: number) => async () => {
    events.push(`${name} start`);
    for (let i = 0; i < ticks; i++) await new Promise((r) => setImmediate(r));
    events.push(`${name} end`);
    return name;
  };
  const results = await Promise.all([q.run(job('a', 3)), q.run(job('b', 0)), q.run(job('c', 1))]);
  t.same(results, ['a', 'b', 'c']);
  t.same(events, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
});

t.test('a failing job rejects its own promise only; the next still runs', async (t) => {
  const q = new SerialQueue();
  const failed = q.run(async () => {
    throw new Error('boom');
  });
  const next = q.run(async () => 'after');
  await t.rejects(failed, { message: 'boom' });
  t.equal(await next, 'after');
});

t.test('size counts queued and running jobs; drain waits for all of them', async (t) => {
  const q = new SerialQueue();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  void q.run(() => gate);
  void q.run(async () => undefined).catch(() => undefined);
  t.equal(q.size, 2);
  const drained = q.drain().then(() => 'drained');
  release();
  t.equal(await drained, 'drained');
  t.equal(q.size, 0);
});

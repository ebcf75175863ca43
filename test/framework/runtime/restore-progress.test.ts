// Unit tests: restore progress lines from restore events, on a hand-driven clock.
import t from 'tap';
import {
  RestoreProgress,
  formatRestoreProgress,
  type RestoreEvent,
  type RestoreProgressLine,
} from '../../../framework/index.ts';

const event = (restored: number, done = false, store = 'counts'): RestoreEvent => ({
  taskId: '0_1',
  store,
  restored,
  total: 200_000,
  done,
});

t.test('a line per store at most every interval, with rate and time left', async (t) => {
  let now = 1_000;
  const lines: RestoreProgressLine[] = [];
  const progress = new RestoreProgress(
    5_000,
    (l) => lines.push(l),
    () => now,
  );
  progress.event(event(0)); // the start
  now += 2_000;
  progress.event(event(20_000));
  t.equal(lines.length, 0, 'not before the interval');
  now += 3_000;
  progress.event(event(50_000));
  t.equal(lines.length, 1);
  t.same(lines[0], {
    taskId: '0_1',
    store: 'counts',
    restored: 50_000,
    total: 200_000,
    ratePerSecond: 10_000,
    etaMs: 15_000,
  });
  t.equal(formatRestoreProgress(lines[0]!), '0_1 counts 50000/200000 25% 10000 records/s ETA 15s');
  now += 1_000;
  progress.event(event(60_000));
  t.equal(lines.length, 1, 'the next one waits a whole interval again');
  progress.event(event(0, false, 'other'));
  now += 5_000;
  progress.event(event(120_000));
  progress.event(event(10, false, 'other'));
  t.same(
    lines.map((l) => `${l.store} ${l.restored}`),
    ['counts 50000', 'counts 120000', 'other 10'],
    'stores are reported independently',
  );
  now += 5_000;
  progress.event(event(200_000));
  t.equal(lines.length, 3, 'nothing for the last batch: the done event follows');
  progress.event(event(200_000, true));
  now += 10_000;
  progress.event(event(0));
  progress.event(event(1));
  t.equal(lines.length, 3, 'after done, a new restore of the store starts over');
});

t.test('an interval below 1 ms is refused', async (t) => {
  t.throws(() => new RestoreProgress(0, () => undefined), RangeError);
});

/**
 * The new stores driven by the real task code (TopologyTestDriver: no broker): their changes
 * reach the changelog inside the task's transaction, a failed record leaves none of its store
 * writes, and the rebuilt task restores them from the changelog (tail replay for SQLite, full
 * replay for memory).
 */
import t, { type Test } from 'tap';
import type { Processor, ProcessorContext, Record } from '../../framework/processor.ts';
import { Serdes } from '../../framework/serdes.ts';
import { Topology } from '../../framework/topology.ts';
import {
  Stores,
  decodeSessionKey,
  decodeTimestampedValue,
  isSessionStore,
  isTimestampedKeyValueStore,
  type SessionStore,
  type TimestampedKeyValueStore,
} from '../../stores/index.ts';
import { TopologyTestDriver } from '../../testkit/topology-test-driver.ts';

const GAP_MS = 5;
const APP = 'stores-in-a-task';

/** A session-window count, as the DSL will compile one: merge every session within the gap. */
class SessionCount implements Processor<string, string, string, string> {
  #context!: ProcessorContext<string, string>;
  #sessions!: SessionStore<string, number>;

  init(context: ProcessorContext<string, string>): void {
    this.#context = context;
    this.#sessions = context.getStateStore<SessionStore<string, number>>('sessions');
  }

  async process(record: Record<string, string>): Promise<void> {
    const time = record.timestamp;
    let [start, end, count] = [time, time, 1];
    for (const s of this.#sessions.findSessions(record.key, time - GAP_MS, time + GAP_MS)) {
      [start, end, count] = [Math.min(start, s.start), Math.max(end, s.end), count + s.value];
      this.#sessions.remove(s);
    }
    this.#sessions.put({ key: record.key, start, end }, count);
    if (record.value === 'boom') throw new Error('boom');
    await this.#context.forward({ ...record, value: `${start}-${end}:${count}` });
  }
}

/** Keeps each key's latest value by timestamp: an out-of-order record does not overwrite. */
class Latest implements Processor<string, string, string, string> {
  #context!: ProcessorContext<string, string>;
  #latest!: TimestampedKeyValueStore<string, string>;

  init(context: ProcessorContext<string, string>): void {
    this.#context = context;
    this.#latest = context.getStateStore<TimestampedKeyValueStore<string, string>>('latest');
  }

  async process(record: Record<string, string>): Promise<void> {
    const old = this.#latest.get(record.key);
    if (old !== undefined && old.timestamp > record.timestamp) return;
    this.#latest.put(record.key, { value: record.value, timestamp: record.timestamp });
    if (record.value === 'boom') throw new Error('boom');
    await this.#context.forward(record);
  }
}

function driverFor(t: Test, topology: Topology): TopologyTestDriver {
  const driver = new TopologyTestDriver(topology, { applicationId: APP });
  t.teardown(() => driver.close());
  return driver;
}

const strings = { keySerde: Serdes.string(), valueSerde: Serdes.string() };

for (const persistent of [false, true]) {
  const kind = persistent ? 'SQLite' : 'memory';

  t.test(
    `${kind} session store in a task: changelogged in the transaction, restored after a failed record`,
    async (t) => {
      const topology = new Topology()
        .addSource('in', { topics: ['in'], ...strings })
        .addProcessor('count', () => new SessionCount(), 'in')
        .addStateStore(
          Stores.session('sessions', {
            keySerde: Serdes.string(),
            valueSerde: Serdes.int32(),
            retentionMs: 1_000,
            persistent,
          }),
          'count',
        )
        .addSink('out', { topic: 'out', ...strings }, 'count');
      const driver = driverFor(t, topology);
      const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
      const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
      const changelog = driver.createOutputTopic(
        `${APP}-sessions-changelog`,
        Serdes.bytes(),
        Serdes.bytes(),
      );
      await input.pipeInput('a', 'x', 0);
      await input.pipeInput('a', 'x', 3); // within the gap: merges into [0, 3]
      await input.pipeInput('b', 'x', 4);
      await input.pipeInput('a', 'x', 20); // a new session
      await t.rejects(input.pipeInput('a', 'boom', 2), { name: 'ProcessorError' });
      const store = driver.getAllStateStores().get('sessions');
      t.ok(store !== undefined && isSessionStore(store));
      const sessions = store as SessionStore<string, number>;
      t.same(
        sessions.all(),
        [
          { key: 'a', start: 0, end: 3, value: 2 },
          { key: 'a', start: 20, end: 20, value: 1 },
          { key: 'b', start: 4, end: 4, value: 1 },
        ],
        'the rebuilt task holds the committed sessions, none of the failed record’s writes',
      );
      await input.pipeInput('a', 'x', 8); // merges with [0, 3], not with [20, 20]
      t.same(output.readValuesToList(), ['0-0:1', '0-3:2', '4-4:1', '20-20:1', '0-8:3']);
      const logged = changelog.readRecordsToList().map((r) => {
        const { key, start, end } = decodeSessionKey(r.key as Buffer);
        return [
          key.toString(),
          start,
          end,
          r.value === null ? null : (r.value as Buffer).readInt32BE(),
        ];
      });
      t.same(
        logged,
        [
          ['a', 0, 0, 1],
          ['a', 0, 0, null],
          ['a', 0, 3, 2],
          ['b', 4, 4, 1],
          ['a', 20, 20, 1],
          ['a', 0, 3, null],
          ['a', 0, 8, 3],
        ],
        'key ‖ end ‖ start per change, merged sessions tombstoned, the aborted record’s absent',
      );
    },
  );

  t.test(
    `${kind} timestamped key-value store in a task: value and timestamp survive a rebuild`,
    async (t) => {
      const topology = new Topology()
        .addSource('in', { topics: ['in'], ...strings })
        .addProcessor('latest', () => new Latest(), 'in')
        .addStateStore(Stores.timestampedKeyValue('latest', { ...strings, persistent }), 'latest')
        .addSink('out', { topic: 'out', ...strings }, 'latest');
      const driver = driverFor(t, topology);
      const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
      const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
      const changelog = driver.createOutputTopic(
        `${APP}-latest-changelog`,
        Serdes.string(),
        Serdes.bytes(),
      );
      await input.pipeInput('a', 'first', 100);
      await input.pipeInput('a', 'late', 50); // older: ignored
      await input.pipeInput('b', 'only', 70);
      await t.rejects(input.pipeInput('a', 'boom', 200), { name: 'ProcessorError' });
      const store = driver.getAllStateStores().get('latest');
      t.ok(store !== undefined && isTimestampedKeyValueStore(store));
      const latest = store as TimestampedKeyValueStore<string, string>;
      t.same(latest.all(), [
        { key: 'a', value: { value: 'first', timestamp: 100 } },
        { key: 'b', value: { value: 'only', timestamp: 70 } },
      ]);
      await input.pipeInput('a', 'second', 150);
      t.same(latest.get('a'), { value: 'second', timestamp: 150 });
      t.same(output.readValuesToList(), ['first', 'only', 'second']);
      t.same(
        changelog.readRecordsToList().map((r) => {
          const { value, timestamp } = decodeTimestampedValue(r.value as Buffer);
          return [r.key, value.toString(), timestamp];
        }),
        [
          ['a', 'first', 100],
          ['b', 'only', 70],
          ['a', 'second', 150],
        ],
        'changelog values are timestamp ‖ value',
      );
    },
  );
}

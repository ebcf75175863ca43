// The global state manager on the in-memory Kafka: a global store is restored from every
// partition of its topic at start (read_committed), kept current by poll(), resumes from its
// checkpoint after a restart, and is rebuilt when the checkpoint cannot be trusted.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileStreamsAppOptions } from '../../../framework/options.ts';
import type { Processor, ProcessorContext } from '../../../framework/processor.ts';
import { Serdes } from '../../../framework/serdes.ts';
import { Topology } from '../../../framework/topology.ts';
import { GlobalStateManager } from '../../../framework/runtime/global-state.ts';
import { Stores, type TimestampedKeyValueStore } from '../../../stores/index.ts';
import { MemoryKafka, MemoryKafkaClient } from '../../../testkit/internals/memory-kafka.ts';

const S = Serdes.string();

function upsert(storeName: string): () => Processor<string, string | null, never, never> {
  return () => {
    let store!: TimestampedKeyValueStore<string, string>;
    return {
      init(context: ProcessorContext<never, never>) {
        store = context.getStateStore(storeName);
      },
      process(record) {
        if (record.value === null) store.delete(record.key);
        else store.put(record.key, { value: record.value, timestamp: record.timestamp });
      },
    };
  };
}

function setup(t: Test, persistent: boolean) {
  const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-global-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const kafka = new MemoryKafka(() => 2);
  const client = new MemoryKafkaClient(kafka, 2);
  const topology = new Topology()
    .addGlobalStore(
      Stores.timestampedKeyValue('users', {
        keySerde: S,
        valueSerde: S,
        persistent,
        logging: false,
      }),
      { topic: 'users', keySerde: S, valueSerde: S, processor: upsert('users') },
    )
    .addSource('in', { topics: ['in'], keySerde: S, valueSerde: S })
    .addProcessor('p', () => ({ process() {} }), 'in')
    .build('app');
  const log: string[] = [];
  const options = compileStreamsAppOptions({ applicationId: 'app', brokers: ['x:1'], stateDir });
  const manager = () => {
    const m = new GlobalStateManager(topology.globalStores, {
      options,
      client,
      log: (level, message) => void log.push(`${level} ${message}`),
    });
    t.teardown(() => m.close());
    return m;
  };
  const write = (partition: number, key: string, value: string | null, producer?: string) =>
    kafka.append('users', [{ key, value, partition, timestamp: 10 }], producer);
  return { kafka, manager, write, log, stateDir };
}

const read = (m: GlobalStateManager, key: string) =>
  (m.store('users') as TimestampedKeyValueStore<string, string>).get(key)?.value;

t.test(
  'start() restores every partition of the topic, committed records only; poll() applies what came since',
  async (t) => {
    const { kafka, manager, write } = setup(t, true);
    write(0, 'u1', 'ann');
    write(1, 'u2', 'bob');
    write(1, 'u3', 'aborted', 'txn-1');
    kafka.settle('txn-1', 'aborted');
    write(0, 'u4', 'open', 'txn-2'); // still open: not visible to read_committed
    const m = manager();
    await m.start();
    t.same(
      ['u1', 'u2', 'u3', 'u4'].map((k) => read(m, k)),
      ['ann', 'bob', undefined, undefined],
    );
    kafka.settle('txn-2', 'committed');
    write(1, 'u2', null);
    t.equal(await m.poll(), 2, 'the committed transaction and the tombstone');
    t.same(
      ['u1', 'u2', 'u4'].map((k) => read(m, k)),
      ['ann', undefined, 'open'],
    );
    t.equal(await m.poll(), 0, 'nothing new');
  },
);

t.test('a persistent global store resumes from its checkpoint after a restart', async (t) => {
  const { manager, write, log } = setup(t, true);
  write(0, 'u1', 'ann');
  const first = manager();
  await first.start();
  await first.close();
  write(0, 'u1', 'ann-2');
  write(1, 'u2', 'bob');
  log.length = 0;
  const second = manager();
  await second.start();
  t.same([read(second, 'u1'), read(second, 'u2')], ['ann-2', 'bob']);
  t.equal(second.applied.get('users'), 2, 'only the two new records were read again');
  t.notOk(
    log.some((l) => l.includes('rebuilding')),
    'no rebuild at the second start',
  );
});

t.test(
  'a checkpoint past the end of the topic (recreated) rebuilds the store, saying why',
  async (t) => {
    const { manager, write, log, stateDir } = setup(t, true);
    write(0, 'u1', 'ann');
    const first = manager();
    await first.start();
    await first.close();
    writeFileSync(
      join(stateDir, 'app', 'global', '.checkpoint'),
      JSON.stringify({ version: 1, offsets: { 'users:0': '99', 'users:1': '0' } }),
    );
    const second = manager();
    await second.start();
    t.equal(read(second, 'u1'), 'ann');
    t.equal(second.applied.get('users'), 1, 'read from the start');
    t.match(
      log.join('\n'),
      /rebuilding global store users from the start of users: its checkpoint 99 of users-0 is past the log end 1/,
    );
  },
);

t.test('an in-memory global store is restored in full at every start', async (t) => {
  const { manager, write } = setup(t, false);
  write(0, 'u1', 'ann');
  write(1, 'u2', 'bob');
  const first = manager();
  await first.start();
  await first.close();
  const second = manager();
  await second.start();
  t.equal(second.applied.get('users'), 2);
  t.equal(read(second, 'u2'), 'bob');
});

t.test(
  'a record that cannot be deserialized fails the poll naming topic, partition and offset',
  async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-global-'));
    t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
    const kafka = new MemoryKafka(() => 1);
    const client = new MemoryKafkaClient(kafka, 1);
    const topology = new Topology()
      .addGlobalStore(
        Stores.timestampedKeyValue('g', {
          keySerde: S,
          valueSerde: Serdes.int32(),
          logging: false,
        }),
        {
          topic: 'g',
          keySerde: S,
          valueSerde: Serdes.int32(),
          processor: () => ({ process() {} }),
        },
      )
      .addSource('in', { topics: ['in'], keySerde: S, valueSerde: S })
      .addProcessor('p', () => ({ process() {} }), 'in')
      .build('app');
    kafka.append('g', [{ key: 'k', value: Buffer.from([1]) }]);
    const m = new GlobalStateManager(topology.globalStores, {
      options: compileStreamsAppOptions({ applicationId: 'app', brokers: ['x:1'], stateDir }),
      client,
      log: () => undefined,
    });
    t.teardown(() => m.close());
    await t.rejects(m.start(), {
      name: 'DeserializationError',
      message:
        /Cannot deserialize a record of a global store's topic: .* \[task global, topic g, partition 0, offset 0\]/,
    });
  },
);

// The task output is the one place client failures become Streams errors
// (invariant 4): fenced → TaskMigratedError, ambiguous/retriable →
// TaskCorruptedError, fatal → StreamsFatalError; each names where it happened.
import t from 'tap';
import {
  ClientError,
  ProducerFencedError,
  type TransactionalProducer,
  type TransactionState,
} from '../../../framework/client/index.ts';
import {
  AtLeastOnceTaskOutput,
  TransactionalTaskOutput,
  translateFailure,
} from '../../../framework/runtime/task-output.ts';

const where = () => ({ taskId: '0_3', topic: 'in', partition: 3, offset: '42' });

function producer(
  fail: Partial<Record<'init' | 'send' | 'sendOffsets' | 'commit' | 'abort', Error>>,
): {
  p: TransactionalProducer;
  calls: string[];
} {
  const calls: string[] = [];
  let state: TransactionState = 'READY';
  const step = async (op: keyof typeof fail) => {
    calls.push(op);
    const e = fail[op];
    if (e) throw e;
  };
  return {
    calls,
    p: {
      transactionalId: 'app-0_3',
      get state() {
        return state;
      },
      init: () => step('init'),
      begin: () => void ((state = 'IN_TRANSACTION'), calls.push('begin')),
      send: async (topic) => (await step('send'), [{ topic, partition: 0, baseOffset: 0n }]),
      sendOffsets: () => step('sendOffsets'),
      commit: async () => {
        await step('commit');
        state = 'READY';
      },
      abort: async () => {
        await step('abort');
        state = 'READY';
      },
      close: async () => void calls.push('close'),
    },
  };
}

t.test('client failures become the Streams error of their kind, naming where', async (t) => {
  const cases: [Error, string][] = [
    [new ProducerFencedError('app-0_3'), 'TaskMigratedError'],
    [new ClientError('EndTxn timed out', 'ambiguous'), 'TaskCorruptedError'],
    [new ClientError('leader moved', 'retriable'), 'TaskCorruptedError'],
    [new ClientError('not authorized', 'fatal'), 'StreamsFatalError'],
  ];
  for (const [cause, name] of cases) {
    const { p } = producer({ send: cause });
    const out = new TransactionalTaskOutput(p, 'app', where);
    out.begin();
    await t.rejects(out.send('out', [{ value: 'v' }]), {
      name,
      taskId: '0_3',
      topic: 'in',
      partition: 3,
      offset: '42',
      cause,
    });
  }
  const passthrough = translateFailure(translateFailure(new Error('x'), where()), {});
  t.equal(passthrough.taskId, '0_3', 'a StreamsError passes through unchanged');
});

t.test('commit sends the offsets, then EndTxn; abort only in a transaction', async (t) => {
  const { p, calls } = producer({});
  const out = new TransactionalTaskOutput(p, 'app', where);
  await out.abort();
  t.same(calls, [], 'nothing open: nothing to abort');
  out.begin();
  await out.commit([{ topic: 'in', partition: 3, offset: 43n }]);
  t.same(calls, ['begin', 'sendOffsets', 'commit']);
  out.begin();
  await out.commit([]);
  t.same(calls.slice(-2), ['begin', 'commit'], 'no offsets: no AddOffsetsToTxn');
});

t.test('at_least_once commits offsets only after acknowledged sends', async (t) => {
  const order: string[] = [];
  const out = new AtLeastOnceTaskOutput(
    {
      producer: {
        send: async (topic) => (order.push('send'), [{ topic, partition: 0, baseOffset: 0n }]),
      },
      commitOffsets: async () => void order.push('commitOffsets'),
    },
    where,
  );
  out.begin();
  t.ok(out.inTransaction);
  await out.send('out', [{ value: 'v' }]);
  await out.commit([{ topic: 'in', partition: 0, offset: 1n }]);
  t.same(order, ['send', 'commitOffsets']);
  t.notOk(out.inTransaction);
  const failing = new AtLeastOnceTaskOutput(
    {
      producer: { send: async () => [] },
      commitOffsets: async () => {
        throw new ClientError('coordinator moved', 'retriable');
      },
    },
    where,
  );
  failing.begin();
  await t.rejects(failing.commit([{ topic: 'in', partition: 0, offset: 1n }]), {
    name: 'TaskCorruptedError',
  });
});

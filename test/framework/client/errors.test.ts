// The backend-neutral classification the runtime uses: it knows ClientErrors
// and Kafka protocol codes, nothing of any client library.
import t from 'tap';
import {
  ClientError,
  IllegalTransactionStateError,
  ProducerFencedError,
  classify,
  isUnreachable,
} from '../../../framework/client/index.ts';

t.test('a ClientError carries its kind; a commit turns retriable into ambiguous', async (t) => {
  const e = new ClientError('broker went away', 'retriable', {
    code: 7,
    type: 'REQUEST_TIMED_OUT',
  });
  t.same(classify(e), { kind: 'retriable', code: 7, type: 'REQUEST_TIMED_OUT', canRetry: true });
  t.equal(classify(e, 'commit').kind, 'ambiguous');
  t.equal(classify(new Error('outer', { cause: e })).kind, 'retriable', 'found in the cause chain');
  t.equal(classify(new ProducerFencedError('app-0_1')).kind, 'migrated');
  t.equal(classify(new IllegalTransactionStateError('commit', 'READY')).kind, 'fatal');
});

t.test('an error object with a Kafka protocol code gets the code table kind', async (t) => {
  t.equal(classify({ code: 47, message: 'INVALID_PRODUCER_EPOCH' }).kind, 'migrated');
  t.equal(classify({ code: 6 }).kind, 'retriable');
  t.equal(classify({ code: 29 }).kind, 'fatal');
});

t.test('anything else is fatal, and classify never throws', async (t) => {
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('boom');
      },
    },
  );
  for (const v of [undefined, null, 42, 'x', {}, new TypeError('bug'), hostile]) {
    const c = classify(v);
    t.equal(c.kind, 'fatal', `fatal: ${typeof v}`);
  }
  t.equal(classify(hostile, 'commit').kind, 'ambiguous');
});

t.test('isUnreachable looks for the flag through the cause chain', async (t) => {
  const e = new ClientError('listTopics failed', 'retriable', { unreachable: true });
  t.ok(isUnreachable(new Error('start', { cause: e })));
  t.notOk(isUnreachable(new ClientError('x', 'retriable')));
});

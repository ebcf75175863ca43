// Unit tests (no broker): the transactional producer's state table.
import t from 'tap';
import {
  TransactionStateMachine,
  TRANSACTION_TRANSITIONS,
} from '../../../framework/client/transaction-state.ts';
import { IllegalTransactionStateError, classify } from '../../../framework/client/index.ts';

t.test('a producer must be initialised before it can begin a transaction', async (t) => {
  const m = new TransactionStateMachine();
  t.throws(() => m.check('begin'), IllegalTransactionStateError);
  t.equal(
    classify(catchError(() => m.check('begin'))).kind,
    'fatal',
    'calling out of order is a programming error',
  );
  m.check('init');
});

t.test('a failed EndTxn leads only to re-initialisation', async (t) => {
  const m = new TransactionStateMachine();
  for (const s of [
    'INITIALIZING',
    'READY',
    'IN_TRANSACTION',
    'COMMITTING',
    'NEEDS_REINIT',
  ] as const)
    m.transition(s);
  t.throws(() => m.check('begin'));
  t.throws(() => m.check('abort'), 'the stuck kafkajs producer cannot abort either');
  m.check('init');
});

t.test('after a failed send only abort or init are allowed', async (t) => {
  const m = new TransactionStateMachine();
  for (const s of ['INITIALIZING', 'READY', 'IN_TRANSACTION', 'ABORTABLE'] as const)
    m.transition(s);
  t.throws(() => m.check('commit'));
  t.throws(() => m.check('send'));
  m.check('abort');
  m.check('init');
});

t.test('FENCED, FATAL and CLOSED are terminal', async (t) => {
  for (const terminal of ['FENCED', 'FATAL', 'CLOSED'] as const) {
    t.ok(
      TRANSACTION_TRANSITIONS[terminal].every((s) => s === 'CLOSED'),
      `${terminal} leads nowhere but CLOSED`,
    );
  }
  const m = new TransactionStateMachine();
  m.transition('INITIALIZING');
  m.transition('FENCED');
  t.ok(m.isTerminal());
  t.throws(
    () => m.transition('INITIALIZING'),
    IllegalTransactionStateError,
    'a fenced producer is never re-initialised',
  );
});

t.test('every state change is reported', async (t) => {
  const seen: string[] = [];
  const m = new TransactionStateMachine((from, to) => seen.push(`${from}>${to}`));
  m.transition('INITIALIZING');
  m.transition('READY');
  t.same(seen, ['UNINITIALIZED>INITIALIZING', 'INITIALIZING>READY']);
});

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

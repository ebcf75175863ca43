import t from 'tap';
import {
  DeserializationError,
  ProcessorError,
  StreamsConfigError,
  StreamsError,
  StreamsFatalError,
  TaskCorruptedError,
  TaskMigratedError,
  TopologyError,
} from '../../framework/errors.ts';

t.test('a streams error names the task, topic, partition and offset it knows', async (t) => {
  const error = new StreamsError('boom', {
    taskId: '0_3',
    topic: 'orders',
    partition: 3,
    offset: '42',
  });
  t.equal(error.message, 'boom [task 0_3, topic orders, partition 3, offset 42]');
  t.match(error, { taskId: '0_3', topic: 'orders', partition: 3, offset: '42' });
});

t.test('a streams error leaves out what it does not know', async (t) => {
  t.equal(new StreamsError('boom').message, 'boom');
  t.equal(new StreamsError('boom', { partition: 0 }).message, 'boom [partition 0]');
  t.equal(new StreamsError('boom').taskId, undefined);
});

t.test('each subclass reports its own name and keeps the cause', async (t) => {
  const cause = new Error('root');
  const error = new TaskMigratedError('fenced', { taskId: '1_0', cause });
  t.equal(error.name, 'TaskMigratedError');
  t.equal(error.cause, cause);
  t.equal(new StreamsError('x').cause, undefined, 'no cause property when none was given');
});

t.test('errors are classified by the action they call for', async (t) => {
  t.ok(new TaskMigratedError('x') instanceof StreamsError);
  t.ok(new TaskCorruptedError('x') instanceof StreamsError);
  t.notOk(
    new TaskMigratedError('x') instanceof StreamsFatalError,
    'a migrated task does not stop the app',
  );
  t.notOk(
    new TaskCorruptedError('x') instanceof StreamsFatalError,
    'a corrupted task does not stop the app',
  );
  for (const fatal of [
    new StreamsConfigError('applicationId', 'is required'),
    new TopologyError('x'),
    new DeserializationError('x'),
    new ProcessorError('p', new Error('x')),
  ]) {
    t.ok(fatal instanceof StreamsFatalError, `${fatal.name} stops the app`);
  }
});

t.test('a config error names the field in its message and carries it', async (t) => {
  const error = new StreamsConfigError('producer.transactionalId', 'is owned by streamtx');
  t.equal(error.field, 'producer.transactionalId');
  t.match(error.message, /producer\.transactionalId/);
});

t.test('a processor error wraps the user exception with the record it failed on', async (t) => {
  const cause = new TypeError('cannot read x of undefined');
  const error = new ProcessorError('enrich', cause, {
    taskId: '0_1',
    topic: 'in',
    partition: 1,
    offset: '7',
  });
  t.equal(error.cause, cause);
  t.equal(error.processorName, 'enrich');
  t.equal(
    error.message,
    'Processor "enrich" failed: cannot read x of undefined [task 0_1, topic in, partition 1, offset 7]',
  );
  t.match(
    new ProcessorError('p', 'a string').message,
    /failed: a string/,
    'non-Error throws are described',
  );
});

import t from 'tap';
import { DeserializationError, SerializationError } from '../../framework/errors.ts';
import { Serdes, type Serde } from '../../framework/serdes.ts';

const roundTrip = <T>(serde: Serde<T>, value: T): T | null =>
  serde.deserialize('topic', serde.serialize('topic', value));

t.test('every built-in serde passes null through as null (null keys, tombstones)', async (t) => {
  const serdes: [string, Serde<unknown>][] = [
    ['string', Serdes.string()],
    ['json', Serdes.json()],
    ['bytes', Serdes.bytes()],
    ['int32', Serdes.int32()],
    ['int64', Serdes.int64()],
    ['long', Serdes.long()],
    ['float64', Serdes.float64()],
  ];
  for (const [name, serde] of serdes) {
    t.equal(serde.serialize('topic', null), null, `${name} serializes null to null`);
    t.equal(serde.deserialize('topic', null), null, `${name} deserializes null to null`);
  }
});

t.test('string is UTF-8', async (t) => {
  t.same(Serdes.string().serialize('topic', 'héllo'), Buffer.from('68c3a96c6c6f', 'hex'));
  t.equal(roundTrip(Serdes.string(), 'héllo ✓'), 'héllo ✓');
  t.equal(roundTrip(Serdes.string(), ''), '', 'the empty string is not null');
});

t.test('json round-trips objects', async (t) => {
  const value = { word: 'kafka', counts: [1, 2], nested: { ok: true } };
  t.same(roundTrip(Serdes.json<typeof value>(), value), value);
  t.equal(Serdes.json().serialize('topic', { a: 1 })?.toString(), '{"a":1}');
});

t.test('json names the parse error and the topic', async (t) => {
  t.throws(() => Serdes.json().deserialize('orders', Buffer.from('{"a":')), {
    name: 'DeserializationError',
    topic: 'orders',
    message: /invalid JSON: .+ \[topic orders\]/,
  });
});

t.test('json refuses a value JSON cannot represent', async (t) => {
  t.throws(() => Serdes.json().serialize('out', undefined as unknown), SerializationError);
  t.throws(() => Serdes.json().serialize('out', 1n), { name: 'SerializationError', topic: 'out' });
});

t.test('bytes passes buffers through unchanged', async (t) => {
  const data = Buffer.from([0, 1, 255]);
  t.equal(Serdes.bytes().serialize('topic', data), data);
  t.equal(Serdes.bytes().deserialize('topic', data), data);
});

t.test('int32 is 4 big-endian bytes, like Java IntegerSerializer', async (t) => {
  t.same(Serdes.int32().serialize('topic', 1), Buffer.from([0, 0, 0, 1]));
  t.same(Serdes.int32().serialize('topic', -2), Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  t.equal(roundTrip(Serdes.int32(), -(2 ** 31)), -(2 ** 31));
  t.equal(roundTrip(Serdes.int32(), 2 ** 31 - 1), 2 ** 31 - 1);
});

t.test('int32 given 3 bytes says it expected 4', async (t) => {
  t.throws(() => Serdes.int32().deserialize('counts', Buffer.alloc(3)), {
    name: 'DeserializationError',
    message: /int32 expected 4 bytes, got 3 \[topic counts\]/,
  });
});

t.test('int32 refuses non-integers and values out of range', async (t) => {
  for (const value of [1.5, 2 ** 31, -(2 ** 31) - 1, NaN]) {
    t.throws(() => Serdes.int32().serialize('topic', value), SerializationError, String(value));
  }
});

t.test('int64 is 8 big-endian bytes of a bigint, like Java LongSerializer', async (t) => {
  t.same(Serdes.int64().serialize('topic', 258n), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]));
  t.same(Serdes.int64().serialize('topic', -1n), Buffer.alloc(8, 0xff));
  t.equal(roundTrip(Serdes.int64(), 2n ** 63n - 1n), 2n ** 63n - 1n);
  t.equal(roundTrip(Serdes.int64(), -(2n ** 63n)), -(2n ** 63n));
  t.throws(() => Serdes.int64().serialize('topic', 2n ** 63n), SerializationError);
  t.throws(() => Serdes.int64().serialize('topic', 5 as unknown as bigint), /expected a bigint/);
  t.throws(() => Serdes.int64().deserialize('topic', Buffer.alloc(4)), /expected 8 bytes, got 4/);
});

t.test('float64 is 8 big-endian IEEE 754 bytes, like Java DoubleSerializer', async (t) => {
  t.same(Serdes.float64().serialize('topic', 1), Buffer.from('3ff0000000000000', 'hex'));
  t.equal(roundTrip(Serdes.float64(), -0.1), -0.1);
  t.throws(() => Serdes.float64().deserialize('topic', Buffer.alloc(9)), /expected 8 bytes, got 9/);
});

t.test('string and bytes refuse values of the wrong type', async (t) => {
  t.throws(() => Serdes.string().serialize('topic', 5 as unknown as string), /expected a string/);
  t.throws(() => Serdes.bytes().serialize('topic', 'x' as unknown as Buffer), /expected a Buffer/);
});

t.test('a custom serde sees only non-null values and gets the topic and headers', async (t) => {
  const seen: unknown[] = [];
  const upper = Serdes.custom<string>(
    (value, topic, headers) => {
      seen.push([value, topic, headers]);
      return Buffer.from(value.toUpperCase());
    },
    (data) => data.toString().toLowerCase(),
  );
  t.equal(upper.serialize('t', null), null);
  t.equal(upper.deserialize('t', null), null);
  t.same(seen, [], 'the functions never saw null');
  t.equal(upper.serialize('t', 'ab', { h: 'v' })?.toString(), 'AB');
  t.same(seen, [['ab', 't', { h: 'v' }]]);
  t.equal(upper.deserialize('t', Buffer.from('AB')), 'ab');
});

t.test(
  'a custom deserializer failure becomes a DeserializationError keeping the cause',
  async (t) => {
    const cause = new Error('bad magic byte');
    const serde = Serdes.custom<string>(
      () => Buffer.alloc(0),
      () => {
        throw cause;
      },
    );
    const error = t.throws(() =>
      serde.deserialize('events', Buffer.from('x')),
    ) as DeserializationError;
    t.ok(error instanceof DeserializationError);
    t.equal(error.cause, cause);
    t.equal(error.topic, 'events');
    t.match(error.message, /bad magic byte/);
  },
);

t.test(
  'long is a safe-integer number as 8 big-endian bytes, like Java LongSerializer',
  async (t) => {
    t.same(Serdes.long().serialize('topic', 258), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]));
    t.same(Serdes.long().serialize('topic', -1), Buffer.alloc(8, 0xff));
    t.equal(roundTrip(Serdes.long(), Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
    t.throws(() => Serdes.long().serialize('topic', 1.5), /long expected a safe integer, got 1.5/);
    t.throws(
      () =>
        Serdes.long().deserialize(
          'topic',
          Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ),
      /outside the safe integer range: use Serdes.int64\(\)/,
    );
    t.throws(
      () => Serdes.long().deserialize('topic', Buffer.alloc(4)),
      /long expected 8 bytes, got 4/,
    );
  },
);

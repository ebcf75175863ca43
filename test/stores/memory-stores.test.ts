import t from 'tap';
import {
  keyValueConformance,
  sessionConformance,
  timestampedKeyValueConformance,
  timestampedWindowConformance,
  windowConformance,
} from './conformance.ts';

const memory = { persistent: false };
t.test('in-memory key-value store', async (t) => keyValueConformance(t, memory));
t.test('in-memory timestamped key-value store', async (t) =>
  timestampedKeyValueConformance(t, memory),
);
t.test('in-memory window store', async (t) => windowConformance(t, memory));
t.test('in-memory timestamped window store', async (t) => timestampedWindowConformance(t, memory));
t.test('in-memory session store', async (t) => sessionConformance(t, memory));

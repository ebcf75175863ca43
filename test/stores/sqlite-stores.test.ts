import t from 'tap';
import {
  keyValueConformance,
  sessionConformance,
  timestampedKeyValueConformance,
  timestampedWindowConformance,
  windowConformance,
} from './conformance.ts';

const sqlite = { persistent: true };
t.test('SQLite key-value store', async (t) => keyValueConformance(t, sqlite));
t.test('SQLite timestamped key-value store', async (t) =>
  timestampedKeyValueConformance(t, sqlite),
);
t.test('SQLite window store', async (t) => windowConformance(t, sqlite));
t.test('SQLite timestamped window store', async (t) => timestampedWindowConformance(t, sqlite));
t.test('SQLite session store', async (t) => sessionConformance(t, sqlite));

import t from 'tap';
import { keyValueConformance, windowConformance } from './conformance.ts';

t.test('SQLite key-value store', async (t) => keyValueConformance(t, { persistent: true }));
t.test('SQLite window store', async (t) => windowConformance(t, { persistent: true }));

import t from 'tap';
import { keyValueConformance, windowConformance } from './conformance.ts';

t.test('in-memory key-value store', async (t) => keyValueConformance(t, { persistent: false }));
t.test('in-memory window store', async (t) => windowConformance(t, { persistent: false }));

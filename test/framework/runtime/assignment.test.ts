// Task placement (framework/runtime/assignment.ts): every task to exactly one
// member, co-partitioned, balanced, sticky, state-aware, deterministic.
import t from 'tap';
import {
  assignTasks,
  decodeClaims,
  encodeClaims,
  tasksOf,
  toTopicPartitions,
} from '../../../framework/runtime/assignment.ts';

const tasks = tasksOf([
  { id: 0, topics: ['a', 'b'], partitions: 3 },
  { id: 1, topics: ['r'], partitions: 3 },
]);
const ids = (m: Map<string, { id: string }[]>): Record<string, string[]> =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.map((x) => x.id).sort()]));

t.test('every task goes to exactly one member, at most ceil(tasks / members) each', async (t) => {
  const members = ['m1', 'm2', 'm3', 'm4'].map((memberId) => ({
    memberId,
    claims: { owned: [], stateful: [] },
  }));
  const result = assignTasks(tasks, members);
  const all = [...result.values()].flat().map((x) => x.id);
  t.same(all.sort(), tasks.map((x) => x.id).sort(), 'each task once');
  for (const list of result.values()) t.ok(list.length <= 2, 'balanced');
  t.same(ids(result), ids(assignTasks(tasks, [...members].reverse())), 'deterministic');
});

t.test('co-partitioned topics of a task travel together in the assignment', async (t) => {
  const result = assignTasks(tasks, [{ memberId: 'm', claims: { owned: [], stateful: [] } }]);
  t.same(toTopicPartitions(result.get('m')!), { a: [0, 1, 2], b: [0, 1, 2], r: [0, 1, 2] });
});

t.test(
  'owners keep their tasks; state holders come next; a zombie double claim goes to one',
  async (t) => {
    const result = assignTasks(tasks, [
      { memberId: 'a', claims: { owned: ['0_0', '0_1'], stateful: [] } },
      { memberId: 'b', claims: { owned: ['0_1'], stateful: ['1_2'] } },
      { memberId: 'c', claims: { owned: [], stateful: [] } },
    ]);
    const got = ids(result);
    t.same(got['a'], ['0_0', '0_1'], 'sticky; the first member id wins a double claim');
    t.ok(got['b']!.includes('1_2'), 'the member holding the state gets the task');
    t.equal(Object.values(got).flat().length, tasks.length);
  },
);

t.test('claims round-trip; a foreign or empty subscription claims nothing', async (t) => {
  const claims = { owned: ['0_1'], stateful: ['1_0'] };
  t.same(decodeClaims(encodeClaims(claims)), claims);
  t.same(decodeClaims(Buffer.alloc(0)), { owned: [], stateful: [] });
  t.same(decodeClaims(Buffer.from('not json')), { owned: [], stateful: [] });
  t.same(assignTasks(tasks, []).size, 0, 'no members, no assignment');
});

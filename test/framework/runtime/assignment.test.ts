// Task placement (framework/runtime/assignment.ts): every task to exactly one
// member, co-partitioned, balanced, sticky, state-aware, deterministic; standbys
// on other members (other racks first), spread so a failover spreads too.
import t from 'tap';
import {
  assignGroup,
  assignTasks,
  assignmentDifferences,
  decodeClaims,
  encodeClaims,
  tasksOf,
  toTopicPartitions,
  type GroupMember,
  type MemberClaims,
} from '../../../framework/runtime/assignment.ts';

const tasks = tasksOf([
  { id: 0, topics: ['a', 'b'], partitions: 3, stateful: true },
  { id: 1, topics: ['r'], partitions: 3 },
]);
const ids = (m: Map<string, { id: string }[]>): Record<string, string[]> =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.map((x) => x.id).sort()]));
const member = (memberId: string, claims: Partial<MemberClaims> = {}): GroupMember => ({
  memberId,
  claims: { owned: [], offsets: {}, ...claims },
});

t.test('every task goes to exactly one member, at most ceil(tasks / members) each', async (t) => {
  const members = ['m1', 'm2', 'm3', 'm4'].map((id) => member(id));
  const result = assignTasks(tasks, members);
  const all = [...result.values()].flat().map((x) => x.id);
  t.same(all.sort(), tasks.map((x) => x.id).sort(), 'each task once');
  for (const list of result.values()) t.ok(list.length <= 2, 'balanced');
  t.same(ids(result), ids(assignTasks(tasks, [...members].reverse())), 'deterministic');
});

t.test('co-partitioned topics of a task travel together in the assignment', async (t) => {
  const result = assignTasks(tasks, [member('m')]);
  t.same(toTopicPartitions(result.get('m')!), { a: [0, 1, 2], b: [0, 1, 2], r: [0, 1, 2] });
});

t.test(
  'owners keep their tasks; state holders come next; a zombie double claim goes to one',
  async (t) => {
    const result = assignTasks(tasks, [
      member('a', { owned: ['0_0', '0_1'] }),
      member('b', { owned: ['0_1'], offsets: { '0_2': 0n } }),
      member('c'),
    ]);
    const got = ids(result);
    t.same(got['a'], ['0_0', '0_1'], 'sticky; the first member id wins a double claim');
    t.ok(got['b']!.includes('0_2'), 'the member holding the state gets the task');
    t.equal(Object.values(got).flat().length, tasks.length);
  },
);

t.test('an orphaned stateful task goes to its most caught-up holder with room', async (t) => {
  const result = assignTasks(tasks, [
    member('a', { offsets: { '0_0': 500n } }),
    member('b', { offsets: { '0_0': 900n } }), // a standby, nearly caught up
    member('c', { offsets: { '0_0': 10n } }),
  ]);
  t.ok(ids(result)['b']!.includes('0_0'), 'the highest changelog offset wins');
  const full = assignTasks(tasks, [
    member('a', { offsets: { '0_0': 500n } }),
    member('b', { owned: ['0_1', '0_2', '1_0'], offsets: { '0_0': 900n } }),
  ]);
  t.same(ids(full)['b'], ['0_1', '0_2', '1_0'], 'b is full (ceil(6 / 2) = 3)');
  t.ok(ids(full)['a']!.includes('0_0'), 'so the next most caught-up holder gets it');
  t.same(
    ids(assignTasks(tasks, [member('x', { offsets: { '1_0': 99n } }), member('y')])),
    ids(assignTasks(tasks, [member('x'), member('y')])),
    'claims on a stateless task change nothing',
  );
});

t.test('standbys: one per stateful task, never on its active member, balanced', async (t) => {
  const members = ['m1', 'm2', 'm3'].map((id) => member(id));
  const { active, standby } = assignGroup(tasks, members, { standbyReplicas: 1 });
  const activeOf = new Map([...active].flatMap(([m, ts]) => ts.map((x) => [x.id, m] as const)));
  const standbyOf = new Map<string, string[]>();
  for (const [m, ts] of standby)
    for (const x of ts) standbyOf.set(x, [...(standbyOf.get(x) ?? []), m]);
  for (const task of tasks) {
    if (!task.stateful) {
      t.notOk(standbyOf.has(task.id), `stateless ${task.id} has no standby`);
      continue;
    }
    t.equal(standbyOf.get(task.id)?.length, 1, `${task.id} has one standby`);
    t.not(standbyOf.get(task.id)![0], activeOf.get(task.id), `${task.id}: not on its active`);
  }
  for (const ts of standby.values()) t.ok(ts.length <= 1, 'at most ceil(3 / 3) standbys each');
  const again = assignGroup(tasks, [...members].reverse(), { standbyReplicas: 1 });
  t.same(Object.fromEntries(again.standby), Object.fromEntries(standby), 'deterministic');
  const many = assignGroup(tasks, members, { standbyReplicas: 5 });
  for (const task of tasks.filter((x) => x.stateful)) {
    const holders = [...many.standby].filter(([, ts]) => ts.includes(task.id)).map(([m]) => m);
    t.equal(holders.length, 2, `${task.id}: as many as there are other members`);
  }
  t.same(
    [...assignGroup(tasks, [member('solo')], { standbyReplicas: 1 }).standby.get('solo')!],
    [],
    'a single member has no standbys',
  );
});

t.test('standbys go to another rack than the active first', async (t) => {
  const six = tasksOf([{ id: 0, topics: ['in'], partitions: 6, stateful: true }]);
  const members = [
    member('a1', { rack: 'r1' }),
    member('a2', { rack: 'r1' }),
    member('b1', { rack: 'r2' }),
    member('b2', { rack: 'r2' }),
  ];
  const { active, standby } = assignGroup(six, members, { standbyReplicas: 1 });
  const rackOf = (m: string): string => (m.startsWith('a') ? 'r1' : 'r2');
  for (const [m, ts] of active) {
    for (const task of ts) {
      const holder = [...standby].find(([, s]) => s.includes(task.id))![0];
      t.not(rackOf(holder), rackOf(m), `${task.id}: active on ${m}, standby on ${holder}`);
    }
  }
});

t.test(
  'a failed member’s tasks move to their standbys, and spread over the survivors',
  async (t) => {
    const six = tasksOf([{ id: 0, topics: ['in'], partitions: 6, stateful: true }]);
    const first = assignGroup(
      six,
      ['m1', 'm2', 'm3'].map((id) => member(id)),
      {
        standbyReplicas: 1,
      },
    );
    // Each member reports what it runs and holds, as a worker does at the next join.
    const claimsOf = (m: string): Partial<MemberClaims> => {
      const owned = first.active.get(m)!.map((x) => x.id);
      const offsets: Record<string, bigint> = {};
      for (const id of owned) offsets[id] = 1000n;
      for (const id of first.standby.get(m)!) offsets[id] = 990n;
      return { owned, offsets };
    };
    const dead = 'm3';
    const orphans = first.active.get(dead)!.map((x) => x.id);
    const survivors = ['m1', 'm2'].map((m) => member(m, claimsOf(m)));
    const next = assignGroup(six, survivors, { standbyReplicas: 1 });
    for (const id of orphans) {
      const standbyHolder = [...first.standby].find(([, s]) => s.includes(id))![0];
      t.ok(
        next.active.get(standbyHolder)!.some((x) => x.id === id),
        `${id} resumes on ${standbyHolder}, which held its standby`,
      );
    }
    const holders = new Set(
      orphans.map((id) => [...first.standby].find(([, s]) => s.includes(id))![0]),
    );
    t.equal(holders.size, 2, 'the dead member’s standbys were on two different members');
    for (const m of ['m1', 'm2'])
      for (const x of first.active.get(m)!)
        t.ok(
          next.active.get(m)!.some((y) => y.id === x.id),
          `${m} keeps ${x.id}`,
        );
  },
);

t.test('claims round-trip; a v1 or foreign or empty subscription is read safely', async (t) => {
  const claims: MemberClaims = {
    owned: ['0_1'],
    offsets: { '0_1': 12_345_678_901_234n, '1_0': 0n },
    endpoint: 'host-a:8080',
    rack: 'r1',
  };
  t.same(decodeClaims(encodeClaims(claims)), claims);
  t.same(decodeClaims(Buffer.from(JSON.stringify({ v: 1, owned: ['0_0'], stateful: ['0_2'] }))), {
    owned: ['0_0'],
    offsets: { '0_2': 0n },
  });
  t.same(decodeClaims(Buffer.alloc(0)), { owned: [], offsets: {} });
  t.same(decodeClaims(Buffer.from('not json')), { owned: [], offsets: {} });
  t.same(assignTasks(tasks, []).size, 0, 'no members, no assignment');
});

t.test('every member can check the delivered assignment against its own computation', async (t) => {
  const members = ['m1', 'm2'].map((id) => member(id));
  const { active } = assignGroup(tasks, members, { standbyReplicas: 1 });
  const delivered = new Map([...active].map(([m, ts]) => [m, ts.map((x) => x.id)]));
  t.same(assignmentDifferences(active, delivered), []);
  delivered.set('m1', ['0_0']);
  t.match(assignmentDifferences(active, delivered), [/^m1: computed \[.*\], delivered \[0_0\]$/]);
});

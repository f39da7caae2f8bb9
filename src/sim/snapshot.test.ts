import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConvergence, leaderInstance, targetVoters } from './snapshot.ts';
import type { FleetSnapshot, InstanceRow, MemberRow } from './snapshot.ts';

const LEADER = '00000000000000a1';

function inst(n: number, over: Partial<InstanceRow> = {}): InstanceRow {
  return {
    id: `i-${n}`,
    privateIp: `127.0.9.${n}`,
    state: 'running',
    agent: 'running',
    etcd: {
      memberId: `00000000000000a${n}`,
      clusterId: 'c1',
      leaderId: LEADER,
      raftIndex: 10,
      isLearner: false,
      errors: [],
    },
    ...over,
  };
}

function member(n: number, over: Partial<MemberRow> = {}): MemberRow {
  return {
    id: `00000000000000a${n}`,
    name: `i-${n}`,
    peerUrl: `http://127.0.9.${n}:2380`,
    isLearner: false,
    instanceId: `i-${n}`,
    role: n === 1 ? 'leader' : 'follower',
    ...over,
  };
}

function snap(instances: InstanceRow[], members: MemberRow[]): FleetSnapshot {
  return { at: 0, instances, members };
}

test('targetVoters is the largest odd number within the cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((n) => targetVoters(n, 5)),
    [0, 1, 1, 3, 3, 5, 5, 5],
  );
});

test('three running members, one cluster, one leader: converged', () => {
  const c = checkConvergence(snap([inst(1), inst(2), inst(3)], [member(1), member(2), member(3)]), 3);
  assert.deepEqual(c.problems, []);
  assert.equal(c.converged, true);
  assert.equal(c.leaderId, LEADER);
});

test('two cluster ids are never converged', () => {
  const other = inst(3, {
    etcd: { memberId: 'ff', clusterId: 'c2', leaderId: 'ff', raftIndex: 1, isLearner: false, errors: [] },
  });
  const c = checkConvergence(snap([inst(1), inst(2), other], [member(1), member(2), member(3)]), 3);
  assert.equal(c.converged, false);
  assert.match(c.problems.join('\n'), /2 cluster ids/);
});

test('a dead member, an unstarted member and a missing instance are each reported', () => {
  const c = checkConvergence(
    snap(
      [inst(1), inst(2), inst(4)],
      [member(1), member(2), member(3), member(5, { name: '', role: 'unstarted' })],
    ),
    3,
  );
  const text = c.problems.join('\n');
  assert.match(text, /not members yet: i-4/);
  assert.match(text, /i-3/);
  assert.match(text, /unstarted/);
  assert.match(text, /4 voters, expected 3/);
});

test('a terminating instance is not expected to be a member', () => {
  const c = checkConvergence(
    snap(
      [inst(1), inst(2), inst(3), inst(4, { state: 'terminating', etcd: undefined })],
      [member(1), member(2), member(3)],
    ),
    3,
  );
  assert.equal(c.converged, true);
});

test('no agreed leader is not converged', () => {
  const noLeader = inst(2, {
    etcd: {
      memberId: 'a2',
      clusterId: 'c1',
      leaderId: undefined,
      raftIndex: 1,
      isLearner: false,
      errors: ['etcdserver: no leader'],
    },
  });
  const c = checkConvergence(snap([inst(1), noLeader, inst(3)], [member(1), member(2), member(3)]), 3);
  assert.equal(c.converged, false);
  assert.match(c.problems.join('\n'), /no agreed leader/);
});

test('a learner counts as a member but not as a voter', () => {
  const c = checkConvergence(
    snap(
      [inst(1), inst(2), inst(3), inst(4)],
      [member(1), member(2), member(3), member(4, { isLearner: true, role: 'learner' })],
    ),
    3,
  );
  assert.equal(c.converged, true);
  assert.equal(c.voters, 3);
  assert.equal(leaderInstance(snap([], [member(1), member(2)])), 'i-1');
});

test('a 3 → 7 scale with maxVoters 5: the 7th instance is a cold standby and the fleet converges', () => {
  const instances = [1, 2, 3, 4, 5, 6].map((n) => inst(n));
  const cold = inst(7, { etcd: undefined });
  const members = [1, 2, 3, 4, 5].map((n) => member(n));
  const spare = member(6, { isLearner: true, role: 'learner' });
  const c = checkConvergence(snap([...instances, cold], [...members, spare]), targetVoters(7, 5));
  assert.deepEqual(c.problems, []);
  assert.equal(c.converged, true);
  assert.deepEqual(c.coldStandbys, ['i-7']);

  // Only while the learner slot is taken: without the hot spare, i-7 should have joined.
  const noSpare = checkConvergence(snap([...instances.slice(0, 5), cold], members), targetVoters(6, 5));
  assert.equal(noSpare.converged, false);
  assert.deepEqual(noSpare.coldStandbys, []);
  assert.ok(noSpare.problems.some((p) => /not members yet: i-7/.test(p)));

  // Only as many as the slots leave out: two silent instances on 7 is one too many.
  const two = checkConvergence(
    snap([...instances.slice(0, 5), inst(6, { etcd: undefined }), cold], members),
    targetVoters(7, 5),
  );
  assert.equal(two.converged, false);

  // With a learner limit of 2 (etcd 3.6 --max-learners 2), 7 instances fit: no standby accepted.
  assert.equal(
    checkConvergence(snap([...instances, cold], [...members, spare]), targetVoters(7, 5), 2).converged,
    false,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStatusReport, type StatusInput } from './status-report.ts';

const A = 'aaaaaaaaaaaaaaa1';
const B = 'bbbbbbbbbbbbbbb2';
const C = 'ccccccccccccccc3';

function member(id: string, ip: string, name: string, isLearner = false) {
  return {
    id,
    name,
    peerUrls: [`http://${ip}:2380`],
    clientUrls: name ? [`http://${ip}:2379`] : [],
    isLearner,
  };
}
const ok = (leaderId: string, raftIndex = 10) => ({ leaderId, raftIndex, dbSize: 20480, errors: [] });

test('a matching group and cluster has one row per instance, roles from the members own statuses, and no problems', () => {
  const input: StatusInput = {
    instances: [
      { id: 'i-1', privateIp: '127.0.0.11' },
      { id: 'i-2', privateIp: '127.0.0.12' },
      { id: 'i-3', privateIp: '127.0.0.13' },
    ],
    members: [
      member(A, '127.0.0.11', 'i-1'),
      member(B, '127.0.0.12', 'i-2'),
      member(C, '127.0.0.13', 'i-3', true),
    ],
    statuses: { [A]: ok(A), [B]: ok(A), [C]: ok(A) },
  };
  const r = buildStatusReport(input);
  assert.equal(r.problems, 0);
  assert.equal(r.leaderId, A);
  assert.deepEqual(
    r.rows.map((x) => [x.instanceId, x.memberId, x.role, x.healthy]),
    [
      ['i-1', A, 'leader', true],
      ['i-2', B, 'follower', true],
      ['i-3', C, 'learner', true],
    ],
  );
  assert.equal(r.voters, 2);
  assert.equal(r.learners, 1);
});

test('a member whose instance is gone, an instance without member and a never-started member are each flagged', () => {
  const input: StatusInput = {
    instances: [
      { id: 'i-1', privateIp: '127.0.0.11' },
      { id: 'i-4', privateIp: '127.0.0.14' },
    ],
    members: [
      member(A, '127.0.0.11', 'i-1'),
      member(B, '127.0.0.12', 'i-2'),
      member(C, '127.0.0.15', '', true),
    ],
    statuses: { [A]: ok(A), [B]: { error: 'ECONNREFUSED' }, [C]: { error: 'ECONNREFUSED' } },
  };
  const r = buildStatusReport(input);
  const byProblem = Object.fromEntries(r.rows.map((x) => [x.problem ?? 'none', x]));
  assert.equal(byProblem['member-without-instance']?.memberId, B);
  assert.equal(byProblem['instance-without-member']?.instanceId, 'i-4');
  assert.equal(byProblem['never-started-member']?.memberId, C);
  assert.equal(byProblem['none']?.instanceId, 'i-1');
  assert.equal(r.problems, 3);
});

test('members that follow no leader are unhealthy and the role is unknown', () => {
  const input: StatusInput = {
    instances: [{ id: 'i-1', privateIp: '127.0.0.11' }],
    members: [member(A, '127.0.0.11', 'i-1')],
    statuses: { [A]: { raftIndex: 5, dbSize: 1, errors: ['etcdserver: no leader'] } },
  };
  const r = buildStatusReport(input);
  assert.equal(r.rows[0]?.healthy, false);
  assert.equal(r.rows[0]?.role, 'unknown');
  assert.equal(r.rows[0]?.problem, 'no-leader');
  assert.match(r.rows[0]?.detail ?? '', /no leader/);
});

test('an instance beyond maxVoters + the learner limit is a cold standby, not a problem', () => {
  const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((x) => `00000000000000${x}`);
  const input: StatusInput = {
    instances: [1, 2, 3, 4, 5, 6, 7].map((n) => ({ id: `i-${n}`, privateIp: `127.0.0.${10 + n}` })),
    members: ids.map((id, k) => member(id, `127.0.0.${11 + k}`, `i-${k + 1}`, k === 5)),
    statuses: Object.fromEntries(ids.map((id) => [id, { ...ok(ids[0]!), version: '3.4.23' }])),
    slots: { maxVoters: 5, maxLearners: 1 },
  };
  const r = buildStatusReport(input);
  const row = r.rows.find((x) => x.instanceId === 'i-7');
  assert.equal(row?.state, 'cold-standby');
  assert.equal(row?.problem, undefined);
  assert.equal(
    row?.detail,
    'cold standby: 5 voters (maxVoters 5) and 1 learner (limit 1) leave no slot; joins when a slot frees',
  );
  assert.equal(r.problems, 0);
  assert.equal(r.coldStandbys, 1);

  // A free slot (maxVoters 7, or a second learner slot on 3.6): the same instance is a plain mismatch.
  const free = buildStatusReport({ ...input, slots: { maxVoters: 7, maxLearners: 1 } });
  assert.equal(free.rows.find((x) => x.instanceId === 'i-7')?.problem, 'instance-without-member');
  assert.equal(free.coldStandbys, 0);
  const on36 = buildStatusReport({
    ...input,
    statuses: Object.fromEntries(ids.map((id) => [id, { ...ok(ids[0]!), version: '3.6.14' }])),
    slots: { maxVoters: 5, maxLearners: 2 },
  });
  assert.equal(on36.rows.find((x) => x.instanceId === 'i-7')?.problem, 'instance-without-member');
  // On 3.4 the configured 2 does not count: etcd allows one learner.
  const on34 = buildStatusReport({ ...input, slots: { maxVoters: 5, maxLearners: 2 } });
  assert.equal(on34.rows.find((x) => x.instanceId === 'i-7')?.state, 'cold-standby');
  // Without the slots (an old caller), nothing is guessed.
  const { slots: _slots, ...noSlots } = input;
  assert.equal(buildStatusReport(noSlots).problems, 1);
});

test('the report names the group, the time and the cluster id its members agree on, or every id when they disagree', () => {
  const input: StatusInput = {
    instances: [
      { id: 'i-1', privateIp: '127.0.0.11' },
      { id: 'i-2', privateIp: '127.0.0.12' },
    ],
    members: [member(A, '127.0.0.11', 'i-1'), member(B, '127.0.0.12', 'i-2')],
    statuses: { [A]: { ...ok(A), clusterId: 'c1' }, [B]: { ...ok(A), clusterId: 'c1' } },
    group: 'Elastigroup sig-1',
    at: Date.UTC(2026, 10, 30, 12, 0, 0),
  };
  const r = buildStatusReport(input);
  assert.equal(r.generatedAt, '2026-11-30T12:00:00.000Z');
  assert.equal(r.group, 'Elastigroup sig-1');
  assert.equal(r.clusterId, 'c1');
  assert.equal(r.clusterIds, undefined);

  const split = buildStatusReport({
    ...input,
    statuses: { [A]: { ...ok(A), clusterId: 'c2' }, [B]: { ...ok(A), clusterId: 'c1' } },
  });
  assert.equal(split.clusterId, undefined);
  assert.deepEqual(split.clusterIds, ['c1', 'c2']);

  // No member answered: no cluster id, and nothing invented.
  const dark = buildStatusReport({
    ...input,
    statuses: { [A]: { error: 'refused' }, [B]: { error: 'refused' } },
  });
  assert.equal(dark.clusterId, undefined);
  assert.equal(dark.clusterIds, undefined);
});

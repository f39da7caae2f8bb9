import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Monitor } from './monitor.ts';
import { measureDisruption, summariseTimings } from './measure.ts';
import type { FleetEvent } from './fleet.ts';
import type { AgentDecision } from './agent-log.ts';
import type { FleetSnapshot, InstanceRow, MemberRow } from './snapshot.ts';

/** A snapshot where `voters`/`learners` are instance numbers and `leader` the leading one. */
function snap(
  at: number,
  opts: { running: number[]; terminating?: number[]; voters: number[]; learners?: number[]; leader?: number },
): FleetSnapshot {
  const leaderId = opts.leader === undefined ? undefined : `m${opts.leader}`;
  const inst = (n: number, state: string): InstanceRow => ({
    id: `i-${n}`,
    privateIp: `127.0.9.${n}`,
    state,
    agent: 'running',
    etcd: {
      memberId: `m${n}`,
      clusterId: 'c',
      leaderId,
      raftIndex: 1,
      isLearner: opts.learners?.includes(n) ?? false,
      errors: [],
    },
  });
  const member = (n: number, learner: boolean): MemberRow => ({
    id: `m${n}`,
    name: `i-${n}`,
    peerUrl: `http://127.0.9.${n}:2380`,
    isLearner: learner,
    instanceId: `i-${n}`,
    role: learner ? 'learner' : leaderId === `m${n}` ? 'leader' : 'follower',
    ...(leaderId ? { leaderId } : {}),
  });
  return {
    at,
    instances: [
      ...opts.running.map((n) => inst(n, 'running')),
      ...(opts.terminating ?? []).map((n) => inst(n, 'terminating')),
    ],
    members: [
      ...opts.voters.map((n) => member(n, false)),
      ...(opts.learners ?? []).map((n) => member(n, true)),
    ],
  };
}

test('monitor records joins, promotions, removals, leader changes and time below target', () => {
  const m = new Monitor(5);
  m.observe(snap(1000, { running: [1, 2, 3], voters: [1, 2, 3], leader: 1 }));
  // Leader 1 is interrupted: leadership moves to 2, then 1 is removed, a replacement 4 joins.
  m.observe(snap(2000, { running: [2, 3], terminating: [1], voters: [1, 2, 3], leader: 2 }));
  m.observe(snap(2500, { running: [2, 3, 4], terminating: [1], voters: [2, 3], leader: 2 }));
  m.observe(snap(4000, { running: [2, 3, 4], voters: [2, 3], learners: [4], leader: 2 }));
  m.observe(snap(4500, { running: [2, 3, 4], voters: [2, 3, 4], leader: 2 }));

  assert.deepEqual(
    m.leaderChanges.map((c) => [c.at, c.from, c.to]),
    [
      [1000, undefined, 'm1'],
      [2000, 'm1', 'm2'],
    ],
  );
  assert.equal(m.members.get('m1')?.removedAt, 2500);
  assert.equal(m.members.get('m4')?.learnerAt, 4000);
  assert.equal(m.members.get('m4')?.voterAt, 4500);
  // Running 2 → target 1 (fine with 3 voters); running 3 with 2 healthy voters → below target until 4500.
  assert.equal(m.belowTargetMsBetween(0, 10_000), 2000);

  const events: FleetEvent[] = [
    { at: 1900, type: 'interrupted', instanceId: 'i-1', text: '' },
    { at: 1900, type: 'launched', instanceId: 'i-4', text: '' },
    { at: 3000, type: 'terminated', instanceId: 'i-1', text: '' },
  ];
  const decisions: AgentDecision[] = [
    { instanceId: 'i-1', at: 1950, action: 'move-leader', reason: 'leaving', level: 30 },
    { instanceId: 'i-1', at: 2100, action: 'remove-member', reason: 'self-leave', level: 30 },
  ];
  const t = measureDisruption(
    {
      index: 2,
      kind: 'interrupt',
      description: 'interrupt the leader',
      instanceId: 'i-1',
      memberId: 'm1',
      wasLeader: true,
      at: 1900,
      instancesBefore: ['i-1', 'i-2', 'i-3'],
    },
    5000,
    0,
    m,
    events,
    decisions,
  );
  assert.equal(t.memberRemovedAfterMs, 600);
  assert.equal(t.terminatedAfterMs, 1100);
  assert.equal(t.removedBeforeTerminated, true);
  assert.equal(t.leaderMovedFirst, true);
  assert.deepEqual(t.agentActions, ['move-leader', 'remove-member']);
  assert.deepEqual(t.replacements, [
    { instanceId: 'i-4', launchedAfterMs: 0, memberAfterMs: 2100, learnerAfterMs: 2100, voterAfterMs: 2600 },
  ]);
  assert.match(summariseTimings(t), /leadership moved first/);
});

test('a leader removed without a handover is reported as such', () => {
  const m = new Monitor(5);
  m.observe(snap(1000, { running: [1, 2, 3], voters: [1, 2, 3], leader: 1 }));
  m.observe(snap(2000, { running: [2, 3], terminating: [1], voters: [2, 3] }));
  m.observe(snap(3500, { running: [2, 3], voters: [2, 3], leader: 3 }));
  const t = measureDisruption(
    {
      index: 0,
      kind: 'interrupt',
      description: 'x',
      instanceId: 'i-1',
      memberId: 'm1',
      wasLeader: true,
      at: 1500,
      instancesBefore: ['i-1', 'i-2', 'i-3'],
    },
    4000,
    0,
    m,
    [{ at: 1600, type: 'terminated', instanceId: 'i-1', text: '' }],
    [{ instanceId: 'i-1', at: 1550, action: 'remove-member', reason: 'self-leave', level: 30 }],
  );
  assert.equal(t.leaderMovedFirst, false);
  // Terminated at 1600, the member was still listed until the 2000 snapshot.
  assert.equal(t.removedBeforeTerminated, false);
  assert.match(summariseTimings(t), /did NOT move first/);
});

test('kill -9 with reboot: the same member id is reported unchanged', () => {
  const m = new Monitor(5);
  m.observe(snap(1000, { running: [1, 2, 3], voters: [1, 2, 3], leader: 1 }));
  m.observe(snap(5000, { running: [1, 2, 3], voters: [1, 2, 3], leader: 1 }));
  const t = measureDisruption(
    {
      index: 0,
      kind: 'kill9',
      description: 'x',
      instanceId: 'i-2',
      memberId: 'm2',
      wasLeader: false,
      at: 1500,
      instancesBefore: ['i-1', 'i-2', 'i-3'],
    },
    6000,
    0,
    m,
    [],
    [],
  );
  assert.equal(t.memberIdUnchanged, true);
  assert.equal(t.memberIdAfter, 'm2');
  assert.deepEqual(t.replacements, []);
});

test('the fewest healthy voters in a window: unreadable member lists prove nothing, the window bounds count', () => {
  const m = new Monitor(5);
  m.observe(snap(1000, { running: [1, 2, 3], voters: [1, 2, 3], leader: 1 }));
  m.observe(snap(2000, { running: [1, 2, 3], voters: [2, 3], leader: 2 }));
  m.observe({ ...snap(2500, { running: [1, 2, 3], voters: [], leader: 2 }), memberListError: 'timeout' });
  m.observe(snap(3000, { running: [1, 2, 3, 4], voters: [2, 3, 4], leader: 2 }));
  assert.equal(m.minHealthyVotersBetween(0, 5000), 2);
  assert.equal(m.minHealthyVotersBetween(2600, 5000), 3);
  assert.equal(m.minHealthyVotersBetween(2400, 2600), undefined);
  // No leader: nobody counts as healthy.
  m.observe(snap(3500, { running: [1, 2, 3, 4], voters: [2, 3, 4] }));
  assert.equal(m.minHealthyVotersBetween(3400, 3600), 0);
});

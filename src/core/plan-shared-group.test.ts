/**
 * A group list shared by the leader's agent (`GroupView.sharedBy`, read by a calm follower instead of
 * the cloud) is never proof for a destructive step (`isDirectGroupList`, safety rule 4). One test per
 * destructive rule that reads the group list: with the agent's own list from the cloud the step is
 * taken (the control, so each test can fail), with the same list shared by a peer it is NOT, and the
 * wait says why. The property test (plan.property.test.ts) checks the same over random observations.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planMembership } from './plan.ts';
import { isDirectGroupList, plausibleGroup } from './plan-helpers.ts';
import { DEFAULT_POLICY } from './policy.ts';
import type { Action } from './actions.ts';
import type { Observation } from './observation.ts';
import {
  anObservation,
  ipOf,
  memberIdOf,
  NOW,
  unstartedLearner,
  voter,
} from '../../test/support/observation-builder.ts';
import type { ObservationBuilder } from '../../test/support/observation-builder.ts';

const policy = { ...DEFAULT_POLICY, noLeaderForMs: 10_000 };
const TTL = policy.memberDeadAfterMs;

function sharedBy(obs: Observation, by = 'i-2'): Observation {
  assert.ok(obs.group.ok);
  return { ...obs, group: { ...obs.group, sharedBy: by } };
}

function firstOf(obs: Observation): Action {
  const a = planMembership(obs, policy, NOW)[0];
  assert.ok(a !== undefined);
  return a;
}

/** The control takes `kind`; the shared copy of the same list waits, naming the shared list. */
function takenOnlyOnDirect(b: ObservationBuilder | Observation, kind: Action['kind'], why?: string): void {
  const obs = 'build' in b ? b.build() : b;
  const direct = firstOf(obs);
  assert.equal(direct.kind, kind, `control (direct list): ${direct.reason}`);
  if (why !== undefined && direct.kind === 'remove-member') assert.equal(direct.why, why);
  const shared = firstOf(sharedBy(obs));
  assert.equal(shared.kind, 'wait', `on a shared list: ${shared.kind}: ${shared.reason}`);
  assert.match(shared.reason, /shared by i-2's agent, not this agent's own answer from the cloud/);
  for (const a of planMembership(sharedBy(obs), policy, NOW))
    assert.ok(
      a.kind !== 'wipe-data' &&
        a.kind !== 'bootstrap' &&
        a.kind !== 'force-new-cluster' &&
        !(a.kind === 'remove-member' && a.why !== 'self-leave'),
      `expected continuation on a shared list holds ${a.kind}: ${a.reason}`,
    );
}

describe('isDirectGroupList', () => {
  test("an ok list without sharedBy is direct; a peer's copy is not; an error is neither", () => {
    const obs = anObservation().withGroup(['i-1']).build();
    assert.equal(isDirectGroupList(obs.group), true);
    assert.equal(isDirectGroupList(sharedBy(obs).group), false);
    assert.equal(isDirectGroupList({ ok: false, error: 'x' }), false);
  });

  test('plausibleGroup refuses a shared list however plausible its content', () => {
    const obs = anObservation().withGroup(['i-1', 'i-2', 'i-3']).build();
    assert.equal(plausibleGroup(obs.group, 'i-1').ok, true);
    const pg = plausibleGroup(sharedBy(obs).group, 'i-1');
    assert.equal(pg.ok, false);
    if (!pg.ok) assert.match(pg.reason, /nothing destructive rests on a shared list/);
  });
});

describe('no destructive step on a shared list alone', () => {
  const leaderWith = (...extra: ReturnType<typeof voter>[]): ObservationBuilder =>
    anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4'), ...extra])
      .withLeader('i-1')
      .asRunningMember();

  test('E1: the leader does not reap a dead member (instance missing from a shared list, past the TTL)', () => {
    takenOnlyOnDirect(leaderWith(voter('i-5', { downFor: TTL + 14_000 })), 'remove-member', 'dead');
  });

  test('E1: nor on proof (the cloud said terminated), when the list that lacks the instance is shared', () => {
    takenOnlyOnDirect(leaderWith(voter('i-5', { downFor: 6000, terminated: true })), 'remove-member', 'dead');
  });

  test('E1: the leader does not remove a never-started member past its TTL on a shared list', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        unstartedLearner('i-4', policy.unstartedMemberTtlMs + 1000),
      ])
      .asRunningMember();
    takenOnlyOnDirect(b, 'remove-member', 'unstarted');
  });

  test('E2: the leader does not reap a stale member whose IP another instance now holds', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-old', { ip: ipOf('i-4'), downFor: TTL + 5000 }),
      ])
      .asRunningMember();
    takenOnlyOnDirect(b, 'remove-member', 'stale-peer-url');
  });

  test('B7: a leaver does not remove a dead member first on a shared list', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 5000 })])
      .withLeader('i-2')
      .asRunningMember()
      .withNotice();
    takenOnlyOnDirect(b, 'remove-member', 'dead');
  });

  test('D1: a joiner does not remove the stale member holding its peer URL on a shared list', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withLeader('i-1')
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-old', { ip: ipOf('i-4'), downFor: 3000 }),
      ]);
    takenOnlyOnDirect(b, 'remove-member', 'stale-peer-url');
  });

  test('D2: an agent whose data is lost does not remove its own member on a shared list', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4', { downFor: 1000 })])
      .withRecord({ memberId: memberIdOf('i-4') });
    takenOnlyOnDirect(b, 'remove-member', 'own-data-lost');
  });

  test('D2: no wipe of data recorded for another cluster on a shared list', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4', { downFor: 1000 })])
      .withData({ memberId: memberIdOf('i-4'), clusterId: '1111111111111111' });
    takenOnlyOnDirect(b, 'wipe-data');
  });

  test('D3: a member no longer in the committed list does not stop and wipe on a shared list', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withData();
    takenOnlyOnDirect(b, 'wipe-data');
  });

  test('C4: the seeder neither collects votes nor bootstraps on a shared list', () => {
    const lonely = (): ObservationBuilder =>
      anObservation()
        .withSelf('i-1')
        .withGroup(['i-1', 'i-2', 'i-3'], { desiredCapacity: 3 })
        .clusterUnreachable();
    takenOnlyOnDirect(lonely(), 'collect-votes');
    takenOnlyOnDirect(lonely().withVotes({ granted: ['i-1', 'i-2'] }), 'bootstrap');
  });

  test('Q: no forced new cluster when the current list is shared (two direct lists are the proof)', () => {
    const obs = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-8', 'i-9'])
      .withMembers([
        voter('i-1', { noLeader: true, raftIndex: 500 }),
        voter('i-2', { downFor: 30_000 }),
        voter('i-3', { downFor: 30_000 }),
      ])
      .withNoLeader()
      .asRunningMember()
      .build();
    assert.ok(obs.cluster.reachable);
    for (const m of obs.cluster.members) if (m.reachable) m.raftTerm = 3;
    obs.recovery = {
      noLeaderSince: NOW - 30_000,
      previousGroup: {
        fetchedAt: NOW - 2000,
        instances: ['i-1', 'i-8', 'i-9'].map((id) => ({ id, privateIp: ipOf(id) })),
      },
    };
    obs.peers = [];
    takenOnlyOnDirect(obs, 'force-new-cluster');
  });

  test("a calm follower's plan is the same on a shared list: it only waits", () => {
    const b = anObservation()
      .withSelf('i-2')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withLeader('i-1')
      .asRunningMember();
    const direct = firstOf(b.build());
    const shared = firstOf(sharedBy(b.build(), 'i-1'));
    assert.equal(direct.kind, 'wait');
    assert.deepEqual(shared, direct);
  });
});

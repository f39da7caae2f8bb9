import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describePlan, initialClusterFor, planMembership } from './plan.ts';
import { plausibleGroup, seederOf } from './plan-helpers.ts';
import { DEFAULT_POLICY } from './policy.ts';
import type { Policy } from './policy.ts';
import type { Action } from './actions.ts';
import type {
  BootstrapPlan,
  LocalRecord,
  NoticeView,
  Observation,
  PeerBootstrapView,
} from './observation.ts';
import {
  anObservation,
  ipOf,
  learner,
  LEADER_RAFT_INDEX,
  memberIdOf,
  NOW,
  unstartedLearner,
  voter,
} from '../../test/support/observation-builder.ts';
import type { ObservationBuilder } from '../../test/support/observation-builder.ts';

const policy: Policy = { ...DEFAULT_POLICY };
const TTL = policy.memberDeadAfterMs;

function plan(b: ObservationBuilder, p: Policy = policy): Action[] {
  const actions = planMembership(b.build(), p, NOW);
  assert.ok(actions.length > 0, 'a plan always has an action');
  for (const a of actions) assert.ok(a.reason.length > 0, `${a.kind} has a reason`);
  return actions;
}

function first(b: ObservationBuilder, p: Policy = policy): Action {
  return plan(b, p)[0]!;
}

function expectKind<K extends Action['kind']>(a: Action, kind: K): Extract<Action, { kind: K }> {
  assert.equal(a.kind, kind, `expected ${kind}, got ${a.kind}: ${a.reason}`);
  return a as Extract<Action, { kind: K }>;
}

function expectRemove(
  a: Action,
  instance: string,
  why: string,
  generation = 0,
): Extract<Action, { kind: 'remove-member' }> {
  const r = expectKind(a, 'remove-member');
  assert.equal(r.memberId, memberIdOf(instance, generation));
  assert.equal(r.why, why);
  return r;
}

function kinds(actions: Action[]): string[] {
  return actions.map((a) => a.kind);
}

const id = (i: string): string => memberIdOf(i);

/** Self i-1 is a running voter (and leader unless told) of a 3-voter cluster on a 3-instance group. */
function threeVoters(opts: { self?: string; leader?: string } = {}): ObservationBuilder {
  return anObservation()
    .withSelf(opts.self ?? 'i-1')
    .withGroup(['i-1', 'i-2', 'i-3'])
    .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
    .withLeader(opts.leader ?? 'i-1')
    .asRunningMember();
}

// ---------------------------------------------------------------------------------------------------

describe('A. self has left before', () => {
  test('signals ready-to-shutdown once while the notice is still present', () => {
    const a = first(threeVoters().withEtcdRunning(false).left().withNotice());
    expectKind(a, 'signal-ready-to-shutdown');
  });

  test('waits for the cloud to terminate after signalling', () => {
    const a = first(threeVoters().withEtcdRunning(false).left().withNotice().signalledReady());
    expectKind(a, 'wait');
    assert.match(a.reason, /waiting for the cloud to terminate/);
  });

  test('stops a still-running etcd before signalling', () => {
    assert.deepEqual(kinds(plan(threeVoters().left().withNotice())), [
      'stop-etcd',
      'signal-ready-to-shutdown',
      'wait',
    ]);
  });

  test('wipes and clears the left record when the notice is gone and a cluster with a leader answers', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-2'), voter('i-3')])
      .withData()
      .left();
    assert.deepEqual(kinds(plan(b)), ['wipe-data', 'clear-left']);
  });

  test('keeps the data when the recorded member is still in the committed list (the removal never committed)', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1', { downFor: 1000 }), voter('i-2'), voter('i-3')])
      .withData()
      .left();
    assert.deepEqual(kinds(plan(b)), ['clear-left']);
  });

  test('stops etcd first when it runs after the notice is gone', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-2'), voter('i-3')])
      .asRunningMember()
      .left();
    assert.deepEqual(kinds(plan(b)), ['stop-etcd', 'wipe-data', 'clear-left']);
  });

  test('wipes a left instance’s data even while the group API is failing (the left record is the proof)', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroupError()
      .withMembers([voter('i-2'), voter('i-3')])
      .withData()
      .left();
    expectKind(first(b), 'wipe-data');
  });

  test('does not wipe a left instance’s data when the cluster cannot be reached', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2'])
      .clusterUnreachable()
      .withData()
      .left();
    const actions = plan(b);
    assert.ok(!kinds(actions).includes('wipe-data'));
    expectKind(actions[0]!, 'wait');
    assert.match(actions[0]!.reason, /may be the last copy/);
  });

  test('does not wipe a left instance’s data when the cluster has no leader', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2'])
      .withMembers([voter('i-2')])
      .withNoLeader()
      .withData()
      .left();
    expectKind(first(b), 'wait');
  });

  test('clears the left record at once when there is no data to wipe', () => {
    const b = anObservation().withSelf('i-1').withGroup(['i-1']).clusterUnreachable().left();
    expectKind(first(b), 'clear-left');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('B. termination notice: leave', () => {
  test('a plain restart with no notice never removes self', () => {
    for (const b of [
      threeVoters(),
      threeVoters({ leader: 'i-2' }),
      threeVoters().withEtcdRunning(false),
      threeVoters().withGroupError(),
      threeVoters().withAdvisoryNotice(),
    ]) {
      const actions = plan(b);
      assert.ok(
        !actions.some((a) => a.kind === 'remove-member' && a.memberId === id('i-1')),
        describePlan(actions),
      );
      assert.ok(!kinds(actions).includes('mark-left'));
    }
  });

  test('an advisory rebalance notice does not make self leave by default', () => {
    expectKind(first(threeVoters({ leader: 'i-2' }).withAdvisoryNotice()), 'wait');
  });

  test('an advisory rebalance notice makes self leave with leaveOnRebalance', () => {
    const a = first(threeVoters({ leader: 'i-2' }).withAdvisoryNotice(), {
      ...policy,
      leaveOnRebalance: true,
    });
    expectRemove(a, 'i-1', 'self-leave');
  });

  test('waits when the cluster cannot be reached to leave', () => {
    const a = first(
      anObservation().withSelf('i-1').withGroup(['i-1', 'i-2']).clusterUnreachable().withData().withNotice(),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /cannot reach the cluster to leave/);
  });

  test('marks left when the cluster cannot be reached and there is nothing here to hand over', () => {
    const b = anObservation().withSelf('i-1').withGroup(['i-1', 'i-2']).clusterUnreachable().withNotice();
    assert.deepEqual(kinds(plan(b)), ['mark-left', 'signal-ready-to-shutdown']);
  });

  test('stops etcd, marks left and signals when self is no longer in the member list', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-2'), voter('i-3')])
      .asRunningMember()
      .withNotice();
    assert.deepEqual(kinds(plan(b)), ['stop-etcd', 'mark-left', 'signal-ready-to-shutdown', 'wait']);
  });

  test('a fresh instance with a notice does not join', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withNotice();
    expectKind(first(b), 'mark-left');
  });

  test('a learner removes itself at once', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .asRunningMember()
      .withNotice();
    const actions = plan(b);
    expectRemove(actions[0]!, 'i-4', 'self-leave');
    assert.deepEqual(kinds(actions), ['remove-member', 'mark-left', 'signal-ready-to-shutdown']);
  });

  test('a learner does not remove itself when the cluster has no leader', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .withNoLeader()
      .asRunningMember()
      .withNotice();
    expectKind(first(b), 'wait');
  });

  test('promotes the hot spare before leaving', () => {
    const b = anObservation()
      .withSelf('i-2')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .withLeader('i-1')
      .asRunningMember()
      .withNotice();
    const actions = plan(b);
    const p = expectKind(actions[0]!, 'promote-member');
    assert.equal(p.memberId, id('i-4'));
    assert.match(p.reason, /hot spare .* before leaving .* keeps 3 voters/);
    assert.deepEqual(kinds(actions), [
      'promote-member',
      'remove-member',
      'mark-left',
      'signal-ready-to-shutdown',
    ]);
  });

  describe('B4a. leave after the replacement when the deadline allows', () => {
    const lagging = (notice: Partial<NoticeView> = {}): ObservationBuilder =>
      anObservation()
        .withSelf('i-2')
        .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
        .withMembers([
          voter('i-1'),
          voter('i-2'),
          voter('i-3'),
          learner('i-4', { raftIndex: LEADER_RAFT_INDEX - 5000 }),
        ])
        .withLeader('i-1')
        .asRunningMember()
        .withNotice(notice);

    test('a voter stays while a replacement learner catches up and the deadline is far', () => {
      const a = first(lagging());
      expectKind(a, 'wait');
      assert.match(
        a.reason,
        /staying a voter until the replacement can take over: replacement .*\(i-4\) is joining \(learner, not caught up yet\); 90s to the deadline, leaving at the latest with 15s left/,
      );
    });

    test('leaves at once when the deadline is within leaveMargin', () => {
      expectRemove(first(lagging({ deadline: NOW + policy.leaveMarginMs })), 'i-2', 'self-leave');
    });

    test('leaves at once on a notice without a deadline', () => {
      expectRemove(first(lagging({ deadline: undefined })), 'i-2', 'self-leave');
    });

    test('leaves at once with leaveAfterReplacement off', () => {
      expectRemove(first(lagging(), { ...policy, leaveAfterReplacement: false }), 'i-2', 'self-leave');
    });

    test('leaves at once without a plausible group list', () => {
      expectRemove(first(lagging().withGroupError()), 'i-2', 'self-leave');
    });

    test('once the replacement caught up, it is promoted before self leaves', () => {
      const b = anObservation()
        .withSelf('i-2')
        .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
        .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
        .withLeader('i-1')
        .asRunningMember()
        .withNotice();
      const a = first(b);
      expectKind(a, 'promote-member');
      assert.equal(a.kind === 'promote-member' && a.memberId, id('i-4'));
    });

    const withNewcomer = (launchedAgo: number, noticeAgo: number): ObservationBuilder => {
      const b = anObservation()
        .withSelf('i-2')
        .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
        .withLeader('i-1')
        .asRunningMember()
        .withNotice({ seenAt: NOW - noticeAgo });
      return b.withGroup([
        'i-1',
        'i-2',
        'i-3',
        { id: 'i-4', ip: ipOf('i-4'), launchedAt: NOW - launchedAgo },
      ]);
    };

    test('waits for an instance launched after the notice that has not joined yet', () => {
      const a = first(withNewcomer(1_000, 30_000));
      expectKind(a, 'wait');
      assert.match(a.reason, /replacement i-4 is waiting to join/);
    });

    test('an instance launched long before the notice is not a replacement (e.g. one that left already)', () => {
      expectRemove(first(withNewcomer(600_000, 30_000)), 'i-2', 'self-leave');
    });

    test('waits up to replacementWait for a replacement to appear, then leaves', () => {
      const fresh = first(threeVoters({ self: 'i-2', leader: 'i-1' }).withNotice({ seenAt: NOW - 1000 }));
      expectKind(fresh, 'wait');
      assert.match(fresh.reason, /no replacement in the group list yet \(waiting up to 15s after the notice/);
      const late = threeVoters({ self: 'i-2', leader: 'i-1' }).withNotice({
        seenAt: NOW - policy.replacementWaitMs,
      });
      expectRemove(first(late), 'i-2', 'self-leave');
    });
  });

  test('does not promote a spare before leaving when voters already exceed maxVoters', () => {
    const b = anObservation()
      .withSelf('i-2')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .withLeader('i-1')
      .asRunningMember()
      .withNotice();
    expectRemove(first(b, { ...policy, maxVoters: 1 }), 'i-2', 'self-leave');
  });

  test('moves leadership before leaving when self is the leader', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([
        voter('i-1'),
        voter('i-2', { raftIndex: LEADER_RAFT_INDEX - 3 }),
        voter('i-3', { raftIndex: LEADER_RAFT_INDEX - 1 }),
      ])
      .withLeader('i-1')
      .asRunningMember()
      .withNotice();
    const actions = plan(b);
    const mv = expectKind(actions[0]!, 'move-leader');
    assert.equal(mv.from, id('i-1'));
    assert.equal(mv.to, id('i-3'), 'the healthy voter with the highest raft index');
    assert.deepEqual(kinds(actions), [
      'move-leader',
      'remove-member',
      'mark-left',
      'signal-ready-to-shutdown',
    ]);
  });

  test('never hands leadership to an unreachable voter', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
      .withMembers([
        voter('i-1'),
        voter('i-2', { downFor: 1000, raftIndex: LEADER_RAFT_INDEX + 5 }),
        voter('i-3'),
        voter('i-4'),
        voter('i-5'),
      ])
      .withLeader('i-1')
      .asRunningMember()
      .withNotice();
    const mv = expectKind(first(b), 'move-leader');
    assert.notEqual(mv.to, id('i-2'));
  });

  test('the full leave order: promote spare, move leader, remove self, mark left, signal', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .withLeader('i-1')
      .asRunningMember()
      .withNotice();
    assert.deepEqual(kinds(plan(b)), [
      'promote-member',
      'move-leader',
      'remove-member',
      'mark-left',
      'signal-ready-to-shutdown',
    ]);
  });

  test('removes self when quorum holds without it', () => {
    const a = expectRemove(first(threeVoters({ leader: 'i-2' }).withNotice()), 'i-1', 'self-leave');
    assert.match(a.reason, /2 healthy voters of 2 remain ≥ quorum 2/);
  });

  test('self-leave does not need the group list', () => {
    expectRemove(first(threeVoters({ leader: 'i-2' }).withGroupError().withNotice()), 'i-1', 'self-leave');
  });

  test('removes a dead member first when self-removal would break quorum', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 5000 })])
      .withLeader('i-2')
      .asRunningMember()
      .withNotice();
    const actions = plan(b);
    const r = expectRemove(actions[0]!, 'i-3', 'dead');
    assert.match(r.reason, /2 healthy voters of 2 remain ≥ quorum 2/);
    assert.deepEqual(kinds(actions), [
      'remove-member',
      'remove-member',
      'mark-left',
      'signal-ready-to-shutdown',
    ]);
  });

  test('does not remove a dead member to leave while the group API is failing', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroupError()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 5000 })])
      .withLeader('i-2')
      .asRunningMember()
      .withNotice();
    const a = expectKind(first(b), 'wait');
    assert.match(a.reason, /only 1 healthy voter of 2 would remain < quorum 2/);
  });

  test('does not remove an unreachable member whose instance still runs to leave', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 5 * TTL })])
      .withLeader('i-2')
      .asRunningMember()
      .withNotice();
    expectKind(first(b), 'wait');
  });

  test('a single-member cluster never removes its last member', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1'])
      .withMembers([voter('i-1')])
      .asRunningMember()
      .withNotice();
    const actions = plan(b);
    expectKind(actions[0]!, 'wait');
    assert.ok(!kinds(actions).includes('remove-member'));
  });

  test('a voter whose etcd is down still removes itself through the others', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1', { downFor: 2000 }), voter('i-2'), voter('i-3')])
      .withLeader('i-2')
      .withData()
      .withNotice();
    expectRemove(first(b), 'i-1', 'self-leave');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('C. no cluster answers', () => {
  const lonely = (): ObservationBuilder =>
    anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'], { desiredCapacity: 3 })
      .clusterUnreachable();

  test('starts etcd on its local data', () => {
    const a = expectKind(first(lonely().withData()), 'start-etcd');
    assert.equal(a.state, 'existing');
    assert.deepEqual(a.initialCluster, [{ name: 'i-1', peerUrl: `http://${ipOf('i-1')}:2380` }]);
  });

  test('does not wipe when the cluster cannot be reached', () => {
    for (const b of [
      lonely().withData(),
      lonely().withData().withEtcdRunning(),
      lonely().withData({ memberId: 'ffffffffffffffff', clusterId: 'other' }),
    ]) {
      assert.ok(!kinds(plan(b)).includes('wipe-data'));
    }
  });

  test('never bootstraps over local data, even as the seeder with votes', () => {
    const actions = plan(
      lonely()
        .withData()
        .withVotes({ granted: ['i-1', 'i-2', 'i-3'] }),
    );
    assert.ok(!kinds(actions).includes('bootstrap'));
  });

  test('respects the start back-off', () => {
    const a = first(
      lonely()
        .withData()
        .withLocal({ startFailures: 3, nextStartAt: NOW + 8000 }),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /3 starts failed in a row: next try in 8s/);
  });

  test('starts again once the back-off has passed', () => {
    expectKind(
      first(
        lonely()
          .withData()
          .withLocal({ startFailures: 3, nextStartAt: NOW - 1 }),
      ),
      'start-etcd',
    );
  });

  test('waits while etcd runs on its data', () => {
    expectKind(first(lonely().withData().withEtcdRunning()), 'wait');
  });

  test('does not bootstrap while the group API is failing', () => {
    const a = first(
      anObservation()
        .withSelf('i-1')
        .withGroupError()
        .clusterUnreachable()
        .withVotes({ granted: ['i-1', 'i-2', 'i-3'] }),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /group list is unknown/);
  });

  test('does not bootstrap on a group list that does not contain self', () => {
    expectKind(first(anObservation().withSelf('i-1').withGroup(['i-2', 'i-3']).clusterUnreachable()), 'wait');
  });

  test('does not bootstrap on an empty group list', () => {
    expectKind(first(anObservation().withSelf('i-1').withGroup([]).clusterUnreachable()), 'wait');
  });

  test('waits when a peer has data or a cluster', () => {
    const a = first(
      lonely()
        .withPeers([
          { instanceId: 'i-2', reachable: true, hasData: false },
          { instanceId: 'i-3', reachable: true, hasData: true, clusterId: 'abc' },
        ])
        .withVotes({ granted: ['i-1', 'i-2', 'i-3'] }),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /peer i-3 has cluster abc/);
  });

  test('the lowest instance id is the only seeder', () => {
    for (const self of ['i-2', 'i-3']) {
      const a = first(
        anObservation()
          .withSelf(self)
          .withGroup(['i-3', 'i-1', 'i-2'])
          .clusterUnreachable()
          .withVotes({ granted: ['i-1', 'i-2', 'i-3'] }),
      );
      expectKind(a, 'wait');
      assert.match(a.reason, /waiting for seeder i-1/);
    }
    expectKind(first(lonely()), 'collect-votes');
  });

  test('the seeder collects votes from every instance in the list, over the desired capacity', () => {
    const a = expectKind(first(lonely()), 'collect-votes');
    assert.deepEqual(a.from, ['i-1', 'i-2', 'i-3']);
    assert.equal(a.desiredCapacity, 3);
  });

  test('never bootstraps while the desired capacity is unknown, even with every vote of its own list', () => {
    // The split-brain case: group of 4, capacity unreadable, self sees only {i-1, i-3}.
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-3'])
      .withDesiredCapacityError('elastigroup sig-1: HTTP 503 (Service Unavailable)')
      .clusterUnreachable()
      .withVotes({ granted: ['i-1', 'i-3'] });
    const actions = plan(b);
    assert.deepEqual(kinds(actions), ['wait']);
    assert.match(
      actions[0]!.reason,
      /the group's desired capacity is unknown \(elastigroup sig-1: HTTP 503 \(Service Unavailable\)\); a majority of an unknown size proves nothing, so not bootstrapping/,
    );
    // Not even a vote round: votes asked for over an unknown size would bind voters for nothing.
    const fresh = anObservation().withSelf('i-1').withGroup(['i-1', 'i-2', 'i-3']).clusterUnreachable();
    assert.deepEqual(kinds(plan(fresh)), ['wait']);
  });

  test('never bootstraps on an implausible desired capacity of 0', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2'], { desiredCapacity: 0 })
      .clusterUnreachable()
      .withVotes({ granted: ['i-1', 'i-2'] });
    const a = expectKind(first(b), 'wait');
    assert.match(a.reason, /the cloud says 0, which cannot be true while we run/);
  });

  test('counts the majority over the list when the list is longer than the desired capacity', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'], { desiredCapacity: 3 })
      .clusterUnreachable();
    const a = first(b.withVotes({ granted: ['i-1', 'i-2'] }));
    assert.notEqual(a.kind, 'bootstrap');
    assert.match(a.reason, /2 of 5 granted, 3 needed/);
  });

  test('bootstraps with a fresh majority of votes', () => {
    const a = expectKind(first(lonely().withVotes({ granted: ['i-1', 'i-2'] })), 'bootstrap');
    assert.equal(a.token, `i-1-i-1-${NOW}`);
  });

  test('the bootstrap token starts with the group id when known', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'], { groupId: 'sig-1234', desiredCapacity: 3 })
      .clusterUnreachable()
      .withVotes({ granted: ['i-1', 'i-2'] });
    assert.equal(expectKind(first(b), 'bootstrap').token, `sig-1234-i-1-${NOW}`);
  });

  test('bootstraps only with a majority of the desired capacity', () => {
    const partial = (): ObservationBuilder =>
      anObservation().withSelf('i-1').withGroup(['i-1', 'i-2'], { desiredCapacity: 5 }).clusterUnreachable();
    const a = first(partial().withVotes({ granted: ['i-1', 'i-2'] }));
    expectKind(a, 'wait');
    assert.match(a.reason, /2 of 5 granted, 3 needed/);
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'], { desiredCapacity: 5 })
      .clusterUnreachable();
    expectKind(first(b.withVotes({ granted: ['i-1', 'i-2', 'i-3'] })), 'bootstrap');
  });

  test('a partial group bootstraps before every desired instance is up', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'], { desiredCapacity: 5 })
      .clusterUnreachable();
    expectKind(first(b.withVotes({ granted: ['i-1', 'i-2', 'i-3'] })), 'bootstrap');
  });

  test('counts only votes from instances in the list', () => {
    const a = first(
      lonely().withVotes({
        granted: ['i-1', 'i-8', 'i-9'],
        refused: [
          { instanceId: 'i-2', reason: 'x' },
          { instanceId: 'i-3', reason: 'y' },
        ],
      }),
    );
    expectKind(a, 'wait');
  });

  test('does not bootstrap without its own vote', () => {
    const a = first(
      lonely().withVotes({
        granted: ['i-2', 'i-3'],
        refused: [{ instanceId: 'i-1', reason: 'I voted for i-0 3s ago' }],
      }),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /self has not granted its own vote/);
  });

  test('waits with who refused and why when every instance answered', () => {
    const a = first(
      lonely().withVotes({
        granted: ['i-1'],
        refused: [
          { instanceId: 'i-2', reason: 'I have local etcd data' },
          { instanceId: 'i-3', reason: 'my group list is unknown' },
        ],
      }),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /refused: i-2 \(I have local etcd data\); i-3 \(my group list is unknown\)/);
  });

  test('asks again at once when some instances have not answered yet', () => {
    const a = first(lonely().withVotes({ granted: ['i-1'] }));
    expectKind(a, 'collect-votes');
    assert.match(a.reason, /no answer from i-2 and i-3/);
  });

  test('respects the start back-off before bootstrapping too (a broken etcd is not respawned every cycle)', () => {
    const a = first(
      lonely()
        .withVotes({ granted: ['i-1', 'i-2'] })
        .withLocal({ startFailures: 2, nextStartAt: NOW + 4000 }),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /is the seeder .*; but 2 starts failed in a row: next try in 4s/);
    expectKind(
      first(
        lonely()
          .withVotes({ granted: ['i-1', 'i-2'] })
          .withLocal({ startFailures: 2, nextStartAt: NOW - 1 }),
      ),
      'bootstrap',
    );
  });

  test('a stale tally is collected again, never used to bootstrap', () => {
    const a = first(lonely().withVotes({ granted: ['i-1', 'i-2', 'i-3'], ago: policy.voteTtlMs / 2 }));
    expectKind(a, 'collect-votes');
  });
});

// ---------------------------------------------------------------------------------------------------

describe("C4'. the whole group at once (an agreed plan)", () => {
  const ids3 = ['i-1', 'i-2', 'i-3'];
  const planOf = (token = `i-1-i-1-${NOW - 1000}`): BootstrapPlan => ({
    token,
    instances: ids3,
    members: ids3.map((i) => ({ instanceId: i, peerUrl: `http://${ipOf(i)}:2380` })),
  });
  const PLAN = planOf();
  const seeder = (): ObservationBuilder =>
    anObservation().withSelf('i-1').withGroup(ids3, { desiredCapacity: 3 }).clusterUnreachable();
  /** The seeder after a round in which everyone granted and recorded PLAN (self included). */
  const agreedRound = (over: Parameters<ObservationBuilder['withVotes']>[0] = { granted: ids3 }) =>
    seeder()
      .withRecord({ vote: { candidate: 'i-1', at: NOW - 1000, plan: PLAN } })
      .withVotes({ plan: PLAN, planAccepted: ids3, ...over });
  const newest = { name: 'snap-9', revision: 90, takenAt: NOW - 60_000 };

  test('the seeder proposes one initial cluster of the whole group with its votes when its list holds D instances', () => {
    const a = expectKind(first(seeder()), 'collect-votes');
    assert.deepEqual(a.plan, planOf(`i-1-i-1-${NOW}`));
    assert.match(a.reason, /with one initial cluster of 3 for the whole group/);
  });

  test('no plan with a partial list, nor when a snapshot store holds a snapshot (restored instead, row C5)', () => {
    const partial = expectKind(
      first(
        anObservation()
          .withSelf('i-1')
          .withGroup(['i-1', 'i-2'], { desiredCapacity: 3 })
          .clusterUnreachable(),
      ),
      'collect-votes',
    );
    assert.equal(partial.plan, undefined);
    assert.match(partial.reason, /one by one: the list holds 2 of the 3 instances/);
    const b = seeder().build();
    b.snapshot = { ok: true, newest };
    const withSnap = planMembership(b, policy, NOW)[0]!;
    assert.equal(expectKind(withSnap, 'collect-votes').plan, undefined);
  });

  test('every instance granted and recorded the plan → the seeder starts all of it at once', () => {
    const a = expectKind(first(agreedRound()), 'bootstrap');
    assert.deepEqual(a.plan, PLAN);
    assert.equal(a.token, PLAN.token);
    assert.match(
      a.reason,
      /all 3 instances of the desired capacity granted their vote and recorded the plan: starting its 3 initial members at once/,
    );
  });

  test('NOT at once: one instance granted without recording the plan → bootstraps alone at once (one by one)', () => {
    const a = expectKind(first(agreedRound({ granted: ids3, planAccepted: ['i-1', 'i-2'] })), 'bootstrap');
    assert.equal(a.plan, undefined);
    assert.equal(a.token, `i-1-i-1-${NOW}`);
    assert.match(a.reason, /one by one \(not the whole group at once: i-3 \(granted, plan not recorded\)\)/);
  });

  test('NOT at once: the seeder’s own record lacks the plan → one by one', () => {
    const b = seeder()
      .withRecord({ vote: { candidate: 'i-1', at: NOW - 1000 } })
      .withVotes({ granted: ids3, plan: PLAN, planAccepted: ids3 });
    const a = expectKind(first(b), 'bootstrap');
    assert.equal(a.plan, undefined);
    assert.match(a.reason, /my own record does not hold the plan/);
  });

  test('an agent that did not answer yet is asked again (no bootstrap alone) within fullGroupWaitMs, then one by one', () => {
    const silent = {
      granted: ['i-1', 'i-2'],
      planAccepted: ['i-1', 'i-2'],
      refused: [{ instanceId: 'i-3', reason: 'vote request to i-3 failed: connect ECONNREFUSED' }],
      noAnswer: ['i-3'],
    };
    const again = expectKind(first(agreedRound({ ...silent, sinceAgo: 3000 })), 'collect-votes');
    assert.ok(again.plan !== undefined, 'asked again with a plan');
    assert.match(again.reason, /1 of the whole group did not answer yet/);
    const late = expectKind(first(agreedRound({ ...silent, sinceAgo: policy.fullGroupWaitMs })), 'bootstrap');
    assert.equal(late.plan, undefined);
    assert.match(late.reason, /2 of 3 instances granted their vote .*no answer from i-3 within 10s/);
  });

  test('a snapshot seen at the decision turns the start at once into the restore (row C5), never a plan', () => {
    const b = agreedRound().build();
    b.snapshot = { ok: true, newest };
    const a = expectKind(planMembership(b, policy, NOW)[0]!, 'restore-snapshot');
    assert.equal(a.snapshot, 'snap-9');
  });

  describe('a voter holding the plan', () => {
    const voterB = (rec: LocalRecord, peers: PeerBootstrapView[]): ObservationBuilder =>
      anObservation()
        .withSelf('i-2')
        .withGroup(ids3, { desiredCapacity: 3 })
        .clusterUnreachable()
        .withRecord(rec)
        .withPeers(peers);
    const started: PeerBootstrapView = {
      instanceId: 'i-1',
      reachable: true,
      hasData: true,
      planStarted: PLAN.token,
    };
    const voted = (at = NOW - 1000, plan = PLAN): LocalRecord => ({ vote: { candidate: 'i-1', at, plan } });

    test('starts etcd new on the plan once a member announced the same token, although that peer has data', () => {
      const a = expectKind(first(voterB(voted(), [started])), 'bootstrap');
      assert.deepEqual(a.plan, PLAN);
      assert.match(a.reason, /i-1 started the agreed initial cluster of 3/);
    });

    test('a snapshot store holding a snapshot does not turn the voter’s start into a restore (that would be a second cluster)', () => {
      const b = voterB(voted(), [started]).build();
      b.snapshot = { ok: true, newest };
      expectKind(planMembership(b, policy, NOW)[0]!, 'bootstrap');
    });

    for (const [what, rec, peers, re] of [
      [
        'its vote expired',
        voted(NOW - policy.voteTtlMs),
        [started],
        /peer i-1 has local data; waiting for it \(my vote for i-1 expired/,
      ],
      [
        'the announced token is another round’s',
        voted(),
        [{ ...started, planStarted: 'i-1-i-1-1' }],
        /no member of .* has started it yet/,
      ],
      [
        'it recorded no plan',
        { vote: { candidate: 'i-1', at: NOW - 1000 } },
        [started],
        /peer i-1 has local data; waiting for it$/,
      ],
      [
        'nobody announced',
        voted(),
        [{ instanceId: 'i-1', reachable: true }],
        /waiting for seeder i-1 .*no member of .* has started it yet/,
      ],
    ] as [string, LocalRecord, PeerBootstrapView[], RegExp][]) {
      test(`NOT started when ${what}`, () => {
        const a = expectKind(first(voterB(rec, peers)), 'wait');
        assert.match(a.reason, re);
      });
    }

    test('NOT started with the state file unreadable', () => {
      const a = first(voterB(voted(), [started]).withLocal({ recordError: 'bad JSON' }));
      expectKind(a, 'wait');
      assert.match(a.reason, /^refusing bootstrap/);
    });

    test('a plan member that never started joins through D2 once the others have a quorum, listing every unstarted member', () => {
      const b = anObservation()
        .withSelf('i-4')
        .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'], { desiredCapacity: 5 })
        .withMembers([
          voter('i-1'),
          voter('i-2'),
          voter('i-3'),
          { instance: 'i-4', unstartedFor: 3000 },
          { instance: 'i-5', unstartedFor: 3000 },
        ])
        .withRecord({ vote: { candidate: 'i-1', at: NOW - 2 * policy.voteTtlMs } });
      const a = expectKind(first(b), 'start-etcd');
      assert.deepEqual(
        a.initialCluster.map((m) => m.name),
        ['i-1', 'i-2', 'i-3', 'i-4', `unstarted-${memberIdOf('i-5')}`],
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('D. the cluster answers, self is not running as a member', () => {
  const joining = (): ObservationBuilder =>
    anObservation().withSelf('i-4').withGroup(['i-1', 'i-2', 'i-3', 'i-4']).withLeader('i-1');

  test('replaces a stale member left by a terminated instance whose IP was reused', () => {
    const b = joining().withMembers([
      voter('i-1'),
      voter('i-2'),
      voter('i-3'),
      voter('i-old', { ip: ipOf('i-4'), downFor: 3000 }),
    ]);
    const actions = plan(b);
    const r = expectRemove(actions[0]!, 'i-old', 'stale-peer-url');
    assert.match(r.reason, /its instance i-old is gone and its peer IP 127\.0\.0\.14 now belongs to i-4/);
    assert.deepEqual(kinds(actions), ['remove-member', 'add-self-as-learner']);
  });

  test('does not remove the member at our peer URL while its named instance is still in the group', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-old'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-old', { ip: ipOf('i-4'), downFor: 3000 }),
      ]);
    expectKind(first(b), 'wait');
  });

  test('does not remove the stale member at our peer URL while the group API is failing', () => {
    const b = joining()
      .withGroupError()
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-old', { ip: ipOf('i-4'), downFor: 3000 }),
      ]);
    expectKind(first(b), 'wait');
  });

  test('does not remove the stale member at our peer URL without a leader', () => {
    const b = joining()
      .withNoLeader()
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-old', { ip: ipOf('i-4'), downFor: 3000 }),
      ]);
    expectKind(first(b), 'wait');
  });

  test('starts etcd on data of its own member', () => {
    const b = joining()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4', { downFor: 1000 })])
      .withData();
    const a = expectKind(first(b), 'start-etcd');
    assert.equal(a.initialCluster.length, 4);
  });

  test('starts etcd when its member was added but never started', () => {
    const b = joining().withMembers([
      voter('i-1'),
      voter('i-2'),
      voter('i-3'),
      unstartedLearner('i-4', 2000),
    ]);
    const a = expectKind(first(b), 'start-etcd');
    assert.deepEqual(
      a.initialCluster.map((m) => m.name),
      ['i-1', 'i-2', 'i-3', 'i-4'],
    );
  });

  test('starting etcd respects the back-off', () => {
    const b = joining()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), unstartedLearner('i-4', 2000)])
      .withLocal({ startFailures: 1, nextStartAt: NOW + 500 });
    expectKind(first(b), 'wait');
  });

  test('waits while its etcd runs and the member has not published its name', () => {
    const b = joining()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), unstartedLearner('i-4', 2000)])
      .withEtcdRunning();
    expectKind(first(b), 'wait');
  });

  test('removes its own member when its data was lost, then rejoins', () => {
    const b = joining()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4', { downFor: 1000 })])
      .withRecord({ memberId: id('i-4') });
    const actions = plan(b);
    expectRemove(actions[0]!, 'i-4', 'own-data-lost');
    assert.deepEqual(kinds(actions), ['remove-member', 'add-self-as-learner']);
  });

  test('does not remove its own lost member while the group API is failing', () => {
    const b = joining()
      .withGroupError()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4', { downFor: 1000 })]);
    expectKind(first(b), 'wait');
  });

  test('does not remove its own lost member when that breaks quorum', () => {
    const b = anObservation()
      .withSelf('i-3')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1'), voter('i-2', { downFor: 1000 }), voter('i-3', { downFor: 1000 })])
      .withLeader('i-1');
    expectKind(first(b), 'wait');
  });

  test('wipes local data of another member id (re-added under a new id)', () => {
    const b = joining()
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        unstartedLearner('i-4', 1000, { generation: 1 }),
      ])
      .withData({ memberId: id('i-4'), clusterId: undefined });
    const a = expectKind(first(b), 'wipe-data');
    assert.match(
      a.reason,
      new RegExp(`belongs to member ${id('i-4')}, but our peer URL is member ${memberIdOf('i-4', 1)}`),
    );
  });

  test('wipes local data of another cluster', () => {
    const b = joining()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4', { downFor: 1000 })])
      .withData({ memberId: id('i-4'), clusterId: '1111111111111111' });
    expectKind(first(b), 'wipe-data');
  });

  test('wipes when etcd said it was permanently removed and no member id was recorded', () => {
    const b = joining()
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        unstartedLearner('i-4', 1000, { generation: 1 }),
      ])
      .withData({})
      .withLocal({ lastExit: { at: NOW - 1000, code: 0, removed: true } });
    expectKind(first(b), 'wipe-data');
  });

  test('does not wipe a mismatched data dir when the cluster has no leader', () => {
    const b = joining()
      .withNoLeader()
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        unstartedLearner('i-4', 1000, { generation: 1 }),
      ])
      .withData({ memberId: id('i-4') });
    expectKind(first(b), 'wait');
  });

  test('does not wipe a mismatched data dir while the group API is failing', () => {
    const b = joining()
      .withGroupError()
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        unstartedLearner('i-4', 1000, { generation: 1 }),
      ])
      .withData({ memberId: id('i-4') });
    expectKind(first(b), 'wait');
  });

  test('wipes a member that is no longer in the committed member list', () => {
    const b = joining()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withData();
    const a = expectKind(first(b), 'wipe-data');
    assert.match(a.reason, /not in the committed member list/);
  });

  test('stops a running etcd that is no longer in the committed member list, then wipes', () => {
    const b = joining()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .asRunningMember();
    assert.deepEqual(kinds(plan(b)), ['stop-etcd', 'wipe-data']);
  });

  test('does not wipe when absent from a member list that no leader committed', () => {
    const b = joining()
      .withNoLeader()
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withData();
    expectKind(first(b), 'wait');
  });

  test('adds itself as a learner to a healthy cluster', () => {
    const a = first(joining().withMembers([voter('i-1'), voter('i-2'), voter('i-3')]));
    expectKind(a, 'add-self-as-learner');
    assert.match(a.reason, /3 healthy voters, 0 of 1 learner, no unstarted member/);
  });

  // D3'. etcd's version and learner-limit rules (core/etcd-version.ts), before an add etcd would refuse.
  const sevenOfFive = (): ObservationBuilder =>
    anObservation()
      .withSelf('i-7')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6', 'i-7'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4'), voter('i-5'), learner('i-6')]);

  test('a cold standby: 5 voters at maxVoters 5 and the one learner slot taken; waits, saying so', () => {
    const actions = plan(sevenOfFive());
    assert.deepEqual(kinds(actions), ['wait']);
    assert.match(
      actions[0]!.reason,
      /^cold standby: 5 voters \(maxVoters 5\) and 1 learner \(limit 1\) leave no slot; joins when a slot frees/,
    );
  });

  test('a cold standby joins as soon as a slot frees (the hot spare left)', () => {
    const b = sevenOfFive().withMembers([
      voter('i-1'),
      voter('i-2'),
      voter('i-3'),
      voter('i-4'),
      voter('i-5'),
    ]);
    expectKind(first(b), 'add-self-as-learner');
  });

  test('not a cold standby while a voter slot is free: the learner is promoted first', () => {
    const b = anObservation()
      .withSelf('i-5')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')]);
    const a = expectKind(first(b), 'wait');
    assert.doesNotMatch(a.reason, /cold standby/);
    assert.match(a.reason, /one learner at a time/);
  });

  /** The observation with each member's reported etcd version (Maintenance.Status `version`). */
  function withVersions(b: ObservationBuilder, versions: Record<string, string>): Observation {
    const obs = b.build();
    if (obs.cluster.reachable)
      for (const m of obs.cluster.members) {
        const v = versions[m.name];
        if (v !== undefined) m.version = v;
      }
    return obs;
  }
  const planObs = (obs: Observation, p: Policy = policy): Action => planMembership(obs, p, NOW)[0]!;
  const at = (v: string) => ({ 'i-1': v, 'i-2': v, 'i-3': v });

  const versionTable: {
    self: string | undefined;
    cluster: Record<string, string>;
    add: boolean;
    why?: RegExp;
  }[] = [
    { self: '3.4.23', cluster: at('3.4.23'), add: true, why: /etcd 3\.4\.23 can join a cluster at 3\.4/ },
    { self: '3.5.33', cluster: at('3.4.23'), add: true }, // the rolling upgrade's next minor
    { self: '3.6.14', cluster: at('3.5.33'), add: true },
    { self: '3.6.14', cluster: { ...at('3.6.14'), 'i-3': '3.5.33' }, add: true }, // mid-upgrade: lowest 3.5
    {
      self: '3.4.23',
      cluster: at('3.5.33'),
      add: false,
      why: /older than the cluster .* below the cluster version 3\.5/,
    },
    { self: '3.5.33', cluster: { ...at('3.6.14') }, add: false, why: /older than the cluster/ },
    {
      self: '3.6.14',
      cluster: at('3.4.23'),
      add: false,
      why: /more than one minor above .* one minor at a time/,
    },
    { self: '3.7.1', cluster: { ...at('3.6.14'), 'i-2': '3.5.33' }, add: false, why: /one minor at a time/ },
    { self: '4.0.0', cluster: at('3.6.14'), add: false, why: /across major versions/ },
    { self: undefined, cluster: at('3.5.33'), add: true, why: /version is unknown, so it was not checked/ },
    { self: '3.6.14', cluster: {}, add: true, why: /no member reported its version/ },
  ];
  for (const row of versionTable) {
    test(`etcd ${row.self ?? '(unknown)'} joining members at ${JSON.stringify(row.cluster)}: ${row.add ? 'adds' : 'does NOT add'}`, () => {
      const b = joining()
        .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
        .withLocal(row.self === undefined ? {} : { etcdVersion: row.self });
      const a = planObs(withVersions(b, row.cluster));
      assert.equal(a.kind, row.add ? 'add-self-as-learner' : 'wait', a.reason);
      if (!row.add) assert.match(a.reason, /^not joining cluster /);
      if (row.why !== undefined) assert.match(a.reason, row.why);
    });
  }

  test('agent.maxLearners 2 is used when every member runs etcd 3.6+: a second learner is added', () => {
    const b = anObservation()
      .withSelf('i-5')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .withLocal({ etcdVersion: '3.6.14' });
    const all36 = { ...at('3.6.14'), 'i-4': '3.6.14' };
    const p = { ...policy, maxLearners: 2 };
    const a = planObs(withVersions(b, all36), p);
    assert.equal(a.kind, 'add-self-as-learner', a.reason);
    assert.match(a.reason, /1 of 2 learners/);
    // One member on 3.5 (hard-coded one learner): no second learner, whatever the config says.
    const mixed = planObs(withVersions(b, { ...all36, 'i-2': '3.5.33' }), p);
    assert.equal(mixed.kind, 'wait');
    assert.match(mixed.reason, /one learner at a time/);
    // The default (1) on 3.6 too.
    assert.equal(planObs(withVersions(b, all36)).kind, 'wait');
    // Self on 3.5: same (withLocal changes the builder, so this comes last).
    assert.equal(planObs(withVersions(b.withLocal({ etcdVersion: '3.5.33' }), all36), p).kind, 'wait');
  });

  test('with maxLearners 2 on etcd 3.6, 5 voters and 2 learners make the next instance a cold standby', () => {
    const b = anObservation()
      .withSelf('i-8')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6', 'i-7', 'i-8'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-4'),
        voter('i-5'),
        learner('i-6'),
        learner('i-7'),
      ])
      .withLocal({ etcdVersion: '3.6.14' });
    const v = Object.fromEntries(['i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6', 'i-7'].map((i) => [i, '3.6.14']));
    const a = planObs(withVersions(b, v), { ...policy, maxLearners: 2 });
    assert.equal(a.kind, 'wait');
    assert.match(
      a.reason,
      /^cold standby: 5 voters \(maxVoters 5\) and 2 learners \(limit 2\) leave no slot/,
    );
  });

  test('waits to add itself while a voter is down', () => {
    const a = first(
      anObservation()
        .withSelf('i-4')
        .withGroup(['i-1', 'i-2', 'i-4'])
        .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 10_000 })]),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /etcd refuses adds while voter .*\(i-3\) is down/);
  });

  test('never adds a second learner', () => {
    const a = first(
      anObservation()
        .withSelf('i-5')
        .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
        .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4', { raftIndex: 3 })]),
    );
    expectKind(a, 'wait');
    assert.match(a.reason, /one learner at a time/);
  });

  test('waits to add itself while an unstarted member exists', () => {
    const a = first(
      anObservation()
        .withSelf('i-5')
        .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
        .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), unstartedLearner('i-4', 1000)]),
    );
    expectKind(a, 'wait');
  });

  test('waits to add itself while the cluster has no leader', () => {
    expectKind(
      first(
        joining()
          .withNoLeader()
          .withMembers([voter('i-1'), voter('i-2'), voter('i-3')]),
      ),
      'wait',
    );
  });
});

// ---------------------------------------------------------------------------------------------------

describe('E. cluster-wide duties of the leader’s agent', () => {
  const withDead = (downFor: number): ObservationBuilder =>
    anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4'), voter('i-5', { downFor })])
      .withLeader('i-1')
      .asRunningMember();

  test('reaps a dead member whose instance is gone and that is unreachable past the TTL', () => {
    const a = expectRemove(first(withDead(74_000)), 'i-5', 'dead');
    assert.equal(
      a.reason,
      `remove member ${id('i-5')} (i-5): instance gone from the group and unreachable for 74s > 60s; 4 healthy voters of 4 remain ≥ quorum 3`,
    );
  });

  test('does not reap a dead member before the TTL', () => {
    const a = first(withDead(TTL));
    expectKind(a, 'wait');
    assert.match(a.reason, /unreachable for 60s ≤ 60s/);
  });

  const withTerminated = (downFor: number): ObservationBuilder =>
    anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-4'),
        voter('i-5', { downFor, terminated: true }),
      ])
      .withLeader('i-1')
      .asRunningMember();

  test('reaps on proof: the cloud says the instance is terminated, unreachable past terminatedMemberDeadAfter', () => {
    const a = expectRemove(first(withTerminated(6_000)), 'i-5', 'dead');
    assert.equal(
      a.reason,
      `remove member ${id('i-5')} (i-5): the cloud says its instance is terminated; instance gone from the group and unreachable for 6s > 5s; 4 healthy voters of 4 remain ≥ quorum 3`,
    );
  });

  test('reap on proof still waits terminatedMemberDeadAfter, and says so', () => {
    const a = first(withTerminated(5_000));
    expectKind(a, 'wait');
    assert.match(a.reason, /unreachable for 5s ≤ 5s \(the cloud says its instance is terminated\)/);
  });

  test('without the proof the same member waits the full memberDeadAfter', () => {
    const a = first(withDead(6_000));
    expectKind(a, 'wait');
    assert.match(a.reason, /unreachable for 6s ≤ 60s/);
  });

  test('reap on proof still needs a plausible group list', () => {
    expectKind(first(withTerminated(10 * TTL).withGroupError()), 'wait');
    expectKind(first(withTerminated(10 * TTL).withGroup(['i-2', 'i-3', 'i-4'])), 'wait');
  });

  test('does not reap a dead member while the group API is failing', () => {
    const a = first(withDead(10 * TTL).withGroupError());
    expectKind(a, 'wait');
    assert.match(a.reason, /not reaping: the group list is unknown/);
  });

  test('does not reap a dead member when the group list is empty', () => {
    expectKind(first(withDead(10 * TTL).withGroup([])), 'wait');
  });

  test('does not reap a dead member when the group list does not contain self', () => {
    expectKind(first(withDead(10 * TTL).withGroup(['i-2', 'i-3', 'i-4'])), 'wait');
  });

  test('does not reap a member whose instance is still running even when it is unreachable past the TTL', () => {
    const a = first(withDead(10 * TTL).withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5']));
    expectKind(a, 'wait');
    assert.match(a.reason, /its instance is still in the group/);
  });

  test('does not reap an unreachable member without a known start of the streak', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-5', { reachable: false })])
      .asRunningMember();
    expectKind(first(b), 'wait');
  });

  test('only the leader’s agent reaps', () => {
    const b = anObservation()
      .withSelf('i-2')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-4'),
        voter('i-5', { downFor: 10 * TTL }),
      ])
      .withLeader('i-1')
      .asRunningMember();
    const a = first(b);
    expectKind(a, 'wait');
    assert.match(a.reason, /duties belong to the leader’s agent|leader's agent/);
  });

  test('reaps the oldest dead member first', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        voter('i-4', { downFor: 2 * TTL }),
        voter('i-5', { downFor: 3 * TTL }),
      ])
      .withLeader('i-1')
      .asRunningMember();
    expectRemove(first(b), 'i-5', 'dead');
  });

  test('does not reap when the removal would leave healthy voters below quorum', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([
        voter('i-1'),
        voter('i-2', { noLeader: true }),
        voter('i-3', { noLeader: true }),
        voter('i-4', { downFor: 2 * TTL }),
      ])
      .withLeader('i-1')
      .asRunningMember();
    const a = first(b);
    expectKind(a, 'wait');
    assert.match(a.reason, /cannot remove .*i-4.*only 1 healthy voter of 3 would remain < quorum 2/);
  });

  test('removes a never-started member after the TTL', () => {
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
    const a = expectRemove(first(b), 'i-4', 'unstarted');
    assert.match(a.reason, /added but never started for 121s > 120s/);
  });

  test('does not remove a never-started member before the TTL', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), unstartedLearner('i-4', TTL + 1000)])
      .asRunningMember();
    const a = first(b);
    expectKind(a, 'wait');
    assert.match(a.reason, /unstarted for 61s ≤ 120s/);
  });

  test('does not remove a never-started member while the group API is failing', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroupError()
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        unstartedLearner('i-4', 10 * policy.unstartedMemberTtlMs),
      ])
      .asRunningMember();
    expectKind(first(b), 'wait');
  });

  test('reaps a stale member whose IP now belongs to another running instance after the TTL', () => {
    const stale = (downFor: number): ObservationBuilder =>
      anObservation()
        .withSelf('i-1')
        .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
        .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-old', { ip: ipOf('i-4'), downFor })])
        .asRunningMember();
    expectRemove(first(stale(TTL + 1)), 'i-old', 'stale-peer-url');
    expectKind(first(stale(TTL)), 'wait');
  });

  test('promotes a caught-up learner when voters are even', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1'), voter('i-2'), learner('i-3')])
      .asRunningMember();
    const a = expectKind(first(b), 'promote-member');
    assert.equal(a.memberId, id('i-3'));
    assert.match(a.reason, /2 voters is even/);
  });

  test('keeps a caught-up learner as a hot spare when voters are odd and at target', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .asRunningMember();
    const a = first(b);
    expectKind(a, 'wait');
    assert.match(a.reason, /stays a hot spare: 3 voters = target 3/);
  });

  test('promotes the spare when healthy voters fall below target', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 5000 }), learner('i-4')])
      .asRunningMember();
    const a = expectKind(first(b), 'promote-member');
    assert.match(a.reason, /2 healthy voters < target 3/);
  });

  test('promotes the learner when another instance is waiting to join', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .asRunningMember();
    const a = expectKind(first(b), 'promote-member');
    assert.match(a.reason, /i-5 is waiting to join and no learner slot is free \(limit 1\)/);
  });

  test('does not promote for a waiting instance when a learner slot is free (maxLearners 2, all on etcd 3.6)', () => {
    const obs = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .asRunningMember()
      .build();
    if (obs.cluster.reachable) for (const m of obs.cluster.members) m.version = '3.6.14';
    const a = planMembership(obs, { ...policy, maxLearners: 2 }, NOW)[0]!;
    assert.equal(a.kind, 'wait', a.reason);
    assert.match(a.reason, /stays a hot spare: 3 voters = target 3/);
  });

  test("the leader's plan names the cold standby when voters and learners are full", () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6', 'i-7'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), voter('i-4'), voter('i-5'), learner('i-6')])
      .asRunningMember();
    const a = expectKind(first(b), 'wait');
    assert.match(
      a.reason,
      /stays a hot spare: 5 voters reached maxVoters 5; i-7: cold standby: 5 voters \(maxVoters 5\) and 1 learner \(limit 1\) leave no slot; joins when a slot frees/,
    );
  });

  test('does not promote a learner that is not caught up', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        learner('i-3', { raftIndex: LEADER_RAFT_INDEX - policy.catchUpEntries - 1 }),
      ])
      .asRunningMember();
    const a = first(b);
    expectKind(a, 'wait');
    assert.match(a.reason, /not caught up \(1001 entries behind the leader\)/);
  });

  test('does not promote an unreachable learner', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1'), voter('i-2'), learner('i-3', { downFor: 1000 })])
      .asRunningMember();
    expectKind(first(b), 'wait');
  });

  test('promotes without a group list (only reaping needs it)', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroupError()
      .withMembers([voter('i-1'), voter('i-2'), learner('i-3')])
      .asRunningMember();
    expectKind(first(b), 'promote-member');
  });

  test('maxVoters caps the voters; later instances stay standbys', () => {
    const p = { ...policy, maxVoters: 3 };
    const leaderView = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .asRunningMember();
    const a = first(leaderView, p);
    expectKind(a, 'wait');
    assert.match(a.reason, /stays a hot spare: 3 voters reached maxVoters 3/);
    const standby = anObservation()
      .withSelf('i-5')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4', 'i-5'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .withLeader('i-1');
    expectKind(first(standby, p), 'wait');
  });

  test('reaps a dead voter before promoting the hot spare into its place', () => {
    const members = (dead: boolean): ReturnType<typeof voter>[] => [
      voter('i-1'),
      voter('i-2'),
      voter('i-3'),
      voter('i-4'),
      ...(dead ? [voter('i-5', { downFor: 2 * TTL })] : []),
      learner('i-6'),
    ];
    const group = ['i-1', 'i-2', 'i-3', 'i-4', 'i-6'];
    expectRemove(
      first(anObservation().withSelf('i-1').withGroup(group).withMembers(members(true)).asRunningMember()),
      'i-5',
      'dead',
    );
    const next = expectKind(
      first(anObservation().withSelf('i-1').withGroup(group).withMembers(members(false)).asRunningMember()),
      'promote-member',
    );
    assert.equal(next.memberId, id('i-6'));
  });

  test('converges when there is nothing to do', () => {
    const a = first(threeVoters());
    expectKind(a, 'wait');
    assert.match(a.reason, /3 voters \(3 healthy, quorum 2\), 0 learners, leader .*\(i-1\); converged/);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('F. everyone else waits', () => {
  test('a follower waits', () => {
    expectKind(
      first(
        threeVoters({ self: 'i-2', leader: 'i-1' })
          .withSelf('i-2')
          .withData({ memberId: id('i-2'), clusterId: undefined }),
      ),
      'wait',
    );
  });

  test('a learner waits for the leader’s agent to promote it', () => {
    const b = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([
        voter('i-1'),
        voter('i-2'),
        voter('i-3'),
        learner('i-4', { raftIndex: LEADER_RAFT_INDEX - 20 }),
      ])
      .asRunningMember();
    const a = first(b);
    expectKind(a, 'wait');
    assert.match(a.reason, /self is a learner \(20 entries behind the leader\)/);
  });

  test('a member of a cluster without a leader waits', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([
        voter('i-1', { noLeader: true }),
        voter('i-2', { downFor: 10 * TTL }),
        voter('i-3', { downFor: 10 * TTL }),
      ])
      .withNoLeader()
      .asRunningMember();
    const a = first(b);
    expectKind(a, 'wait');
    assert.match(a.reason, /no leader/);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('an unreadable state file (safety: nothing that relies on the local record)', () => {
  const unreadable = '/var/lib/etcd-spot/state.json is not valid JSON; fix or delete it';

  test('a converged member says it is not healthy instead of "converged"', () => {
    const a = expectKind(first(threeVoters().withLocal({ recordError: unreadable })), 'wait');
    assert.match(
      a.reason,
      /; but the state file is unreadable \(.*state.json is not valid JSON.*\); fix or delete it$/,
    );
  });

  test('refuses record-dependent actions: bootstrap votes, wipes, reaping a dead member', () => {
    const seeder = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'], { desiredCapacity: 3 })
      .clusterUnreachable()
      .withLocal({ recordError: unreadable });
    const votes = plan(seeder);
    assert.deepEqual(kinds(votes), ['wait', 'wait']);
    assert.match(votes[0]!.reason, /^refusing collect-votes \(.*\): the state file is unreadable/);
    const reap = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 2 * TTL })])
      .withLeader('i-1')
      .asRunningMember()
      .withLocal({ recordError: unreadable });
    assert.ok(!kinds(plan(reap)).includes('remove-member'), 'no reap without the record');
    assert.match(first(reap).reason, /^refusing remove-member/);
  });

  test('still leaves on a notice and still starts etcd on its data (they need no record)', () => {
    const leaving = threeVoters({ self: 'i-2', leader: 'i-1' })
      .withSelf('i-2')
      .withNotice()
      .withLocal({ recordError: unreadable });
    const actions = plan(leaving);
    assert.equal(actions[0]!.kind, 'remove-member');
    assert.ok(
      kinds(actions).every((k) => k !== 'mark-left'),
      'mark-left rewrites the record: refused',
    );
    const down = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .clusterUnreachable()
      .withData()
      .withLocal({ recordError: unreadable });
    expectKind(first(down), 'start-etcd');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('scaling stories', () => {
  test('scale 3→5: learners join one at a time and are promoted', () => {
    const group = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5'];
    const from = (self: string, members: ReturnType<typeof voter>[]): ObservationBuilder => {
      const b = anObservation().withSelf(self).withGroup(group).withMembers(members).withLeader('i-1');
      return self === 'i-1' ? b.asRunningMember() : b;
    };
    const three = [voter('i-1'), voter('i-2'), voter('i-3')];
    // i-4 and i-5 boot. Both see a healthy 3-voter cluster; whichever adds first wins the learner slot.
    expectKind(first(from('i-4', three)), 'add-self-as-learner');
    // i-4 was added; it has not started yet. i-5 must wait; i-4 starts.
    const added4 = [...three, unstartedLearner('i-4', 1000)];
    expectKind(first(from('i-5', added4)), 'wait');
    expectKind(first(from('i-4', added4)), 'start-etcd');
    // i-4 runs as a learner, caught up: the leader promotes it because i-5 waits to join.
    const learning4 = [...three, learner('i-4')];
    expectKind(first(from('i-5', learning4)), 'wait');
    assert.equal(expectKind(first(from('i-1', learning4)), 'promote-member').memberId, id('i-4'));
    // Four voters: i-5 adds itself; then the leader promotes it because 4 voters is even.
    const four = [...three, voter('i-4')];
    expectKind(first(from('i-1', four)), 'wait');
    expectKind(first(from('i-5', four)), 'add-self-as-learner');
    const learning5 = [...four, learner('i-5')];
    const p = expectKind(first(from('i-1', learning5)), 'promote-member');
    assert.equal(p.memberId, id('i-5'));
    assert.match(p.reason, /4 voters is even/);
    // Five voters: converged.
    const a = first(from('i-1', [...four, voter('i-5')]));
    expectKind(a, 'wait');
    assert.match(a.reason, /converged/);
  });

  test('scale 5→3 with notices: each leaver removes itself, quorum holds throughout', () => {
    const all = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5'];
    const five = all.map((i) => voter(i));
    const leaving5 = anObservation()
      .withSelf('i-5')
      .withGroup(all)
      .withMembers(five)
      .withLeader('i-1')
      .asRunningMember()
      .withNotice();
    expectRemove(first(leaving5), 'i-5', 'self-leave');
    const four = five.slice(0, 4);
    const leaving4 = anObservation()
      .withSelf('i-4')
      .withGroup(all.slice(0, 4))
      .withMembers(four)
      .withLeader('i-1')
      .asRunningMember()
      .withNotice();
    expectRemove(first(leaving4), 'i-4', 'self-leave');
    const a = first(
      anObservation()
        .withSelf('i-1')
        .withGroup(all.slice(0, 3))
        .withMembers(five.slice(0, 3))
        .asRunningMember(),
    );
    expectKind(a, 'wait');
  });

  test('scale 5→3 without notices: the leader reaps the terminated instances one per cycle', () => {
    const members = [
      voter('i-1'),
      voter('i-2'),
      voter('i-3'),
      voter('i-4', { downFor: 2 * TTL }),
      voter('i-5', { downFor: 2 * TTL + 10 }),
    ];
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers(members)
      .asRunningMember();
    const actions = plan(b);
    assert.equal(
      actions.filter((x) => x.kind === 'remove-member').length,
      1,
      'one membership change per plan',
    );
    expectRemove(actions[0]!, 'i-5', 'dead');
    const after = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers(members.filter((m) => m.instance !== 'i-5'))
      .asRunningMember();
    const r = expectRemove(first(after), 'i-4', 'dead');
    assert.match(r.reason, /3 healthy voters of 3 remain ≥ quorum 2/);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('helpers', () => {
  test('initialClusterFor names self’s unstarted member after self and lists other unstarted members too (etcd refuses an existing start that lacks one: "member count is unequal")', () => {
    const obs = anObservation()
      .withSelf('i-4')
      .withMembers([voter('i-1'), unstartedLearner('i-4', 10), { instance: 'i-9', unstartedFor: 10 }])
      .build();
    assert.ok(obs.cluster.reachable);
    assert.deepEqual(initialClusterFor(obs.cluster.reachable ? obs.cluster.members : [], obs.self), [
      { name: 'i-1', peerUrl: `http://${ipOf('i-1')}:2380` },
      { name: 'i-4', peerUrl: `http://${ipOf('i-4')}:2380` },
      { name: `unstarted-${memberIdOf('i-9')}`, peerUrl: `http://${ipOf('i-9')}:2380` },
    ]);
  });

  test('seederOf is the lowest instance id in string order', () => {
    assert.equal(seederOf([{ id: 'i-0b' }, { id: 'i-0a' }, { id: 'i-1' }]), 'i-0a');
    assert.equal(seederOf([]), undefined);
  });

  test('plausibleGroup needs an ok, non-empty list that contains self', () => {
    assert.equal(plausibleGroup({ ok: false, error: 'timeout' }, 'i-1').ok, false);
    assert.equal(plausibleGroup({ ok: true, instances: [], fetchedAt: 0 }, 'i-1').ok, false);
    assert.equal(
      plausibleGroup({ ok: true, instances: [{ id: 'i-2', privateIp: '127.0.0.12' }], fetchedAt: 0 }, 'i-1')
        .ok,
      false,
    );
    assert.equal(
      plausibleGroup({ ok: true, instances: [{ id: 'i-1', privateIp: '127.0.0.11' }], fetchedAt: 0 }, 'i-1')
        .ok,
      true,
    );
  });

  test('describePlan prints one numbered line per action', () => {
    const text = describePlan([
      { kind: 'remove-member', memberId: id('i-5'), why: 'dead', reason: 'gone' },
      { kind: 'wait', reason: 'then nothing' },
    ]);
    assert.equal(text, `1. remove-member ${id('i-5')} (dead): gone\n2. wait: then nothing`);
  });

  test('member ids in actions are 16-digit lowercase hex', () => {
    const a = expectKind(
      first(
        anObservation()
          .withSelf('i-1')
          .withGroup(['i-1'])
          .withMembers([voter('i-1'), voter('i-2', { downFor: 2 * TTL })])
          .asRunningMember(),
      ),
      'remove-member',
    );
    assert.match(a.memberId, /^[0-9a-f]{16}$/);
  });
});

describe('D0. mixed TLS and plain (schemeMismatch)', () => {
  const toHttps = (u: string) => u.replace(/^http:/, 'https:');
  /** The same observation, with self's URLs (only) switched to https://. */
  function selfOnTls(b: ObservationBuilder): Observation {
    const obs = b.build();
    obs.self = { ...obs.self, peerUrl: toHttps(obs.self.peerUrl), clientUrl: toHttps(obs.self.clientUrl) };
    return obs;
  }
  const joining = (): ObservationBuilder =>
    anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')]);

  test('the same cluster over plain http is joined (the control)', () => {
    expectKind(first(joining()), 'add-self-as-learner');
  });

  test('a TLS agent does not join a plain cluster: it waits, naming the members, the schemes and the docs', () => {
    const actions = planMembership(selfOnTls(joining()), policy, NOW);
    assert.deepEqual(kinds(actions), ['wait']);
    const reason = actions[0]!.reason;
    assert.match(reason, /mixed TLS and plain/);
    assert.match(reason, /\(i-1\) peer http:\/\/.*:2380/);
    assert.match(reason, /\(i-3\) peer http:/);
    assert.match(reason, /https:\/\/ peer and https:\/\/ client URLs/);
    assert.match(reason, /docs\/deploy\.md/);
  });

  test('a plain agent does not join a TLS cluster', () => {
    const obs = joining().build();
    if (!obs.cluster.reachable) throw new Error('expected a reachable cluster');
    obs.cluster.members = obs.cluster.members.map((m) => ({
      ...m,
      peerUrls: m.peerUrls.map(toHttps),
      clientUrls: m.clientUrls.map(toHttps),
    }));
    const actions = planMembership(obs, policy, NOW);
    assert.deepEqual(kinds(actions), ['wait']);
    assert.match(actions[0]!.reason, /mixed TLS and plain: .*peer https:\/\//);
  });

  test('a member switched to TLS in place while its etcd still runs (systemd mode) is neither stopped nor wiped', () => {
    const b = anObservation()
      .withSelf('i-3')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withData()
      .withEtcdRunning();
    const actions = planMembership(selfOnTls(b), policy, NOW);
    assert.deepEqual(kinds(actions), ['wait']);
  });

  test('a stopped member switched to TLS in place does not start on its data', () => {
    const b = anObservation()
      .withSelf('i-3')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { reachable: false })])
      .withData();
    assert.equal(first(b).kind, 'start-etcd', 'the control: over plain http it starts on its data');
    const actions = planMembership(selfOnTls(b), policy, NOW);
    assert.deepEqual(kinds(actions), ['wait']);
    assert.match(actions[0]!.reason, /mixed TLS and plain/);
  });
});

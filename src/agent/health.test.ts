import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Action } from '../core/actions.ts';
import type { Observation } from '../core/observation.ts';
import type { AgentMetrics } from '../ports/metrics.ts';
import { NOW, anObservation, learner, memberIdOf, voter } from '../../test/support/observation-builder.ts';
import { decisionOf, readiness, recordCycle } from './health.ts';
import type { CycleFacts } from './health.ts';

const policy = { leaveOnRebalance: false };
const wait: Action = { kind: 'wait', reason: 'converged' };

function trio(): ReturnType<typeof anObservation> {
  return anObservation()
    .withSelf('i-1')
    .withGroup(['i-1', 'i-2', 'i-3'])
    .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
    .withLeader('i-2')
    .asRunningMember();
}

describe('readiness (/readyz)', () => {
  it('is not ready before the first cycle', () => {
    assert.deepEqual(readiness(undefined, undefined, policy), { ready: false, reason: 'starting' });
  });

  it('a started member that follows a leader is ready, voter or learner', () => {
    assert.deepEqual(readiness(trio().build(), wait, policy), { ready: true, reason: 'member' });
    const asLearner = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-4')])
      .asRunningMember()
      .build();
    assert.deepEqual(readiness(asLearner, wait, policy), { ready: true, reason: 'learner' });
  });

  it('an unhealthy member is not ready, and says why in one word', () => {
    const down = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1', { downFor: 5000 }), voter('i-2'), voter('i-3')])
      .withLeader('i-2')
      .asRunningMember()
      .build();
    assert.deepEqual(readiness(down, wait, policy), { ready: false, reason: 'etcd-down' });
    const leaderless = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([
        voter('i-1', { noLeader: true }),
        voter('i-2', { downFor: 9000 }),
        voter('i-3', { downFor: 9000 }),
      ])
      .withNoLeader()
      .asRunningMember()
      .build();
    assert.deepEqual(readiness(leaderless, wait, policy), { ready: false, reason: 'no-leader' });
  });

  it('a cold standby and an instance waiting for the learner slot are legitimately waiting; an add is joining', () => {
    const five = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5'];
    const standby = anObservation()
      .withSelf('i-7')
      .withGroup([...five, 'i-6', 'i-7'])
      .withMembers([...five.map((i) => voter(i)), learner('i-6')])
      .withLeader('i-1')
      .build();
    assert.deepEqual(readiness(standby, wait, policy), { ready: true, reason: 'waiting' });
    const joining = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withLeader('i-1')
      .build();
    assert.deepEqual(readiness(joining, { kind: 'add-self-as-learner', reason: 'join' }, policy), {
      ready: true,
      reason: 'joining',
    });
  });

  it('an instance whose etcd version cannot join, or that holds stale data, is not ready', () => {
    const obs = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withLeader('i-1')
      .withLocal({ etcdVersion: '3.4.23' })
      .build();
    if (obs.cluster.reachable) for (const m of obs.cluster.members) m.version = '3.6.4';
    assert.deepEqual(readiness(obs, wait, policy), { ready: false, reason: 'version' });
    const stale = anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .withLeader('i-1')
      .withData({ memberId: memberIdOf('i-4', 7) })
      .build();
    assert.deepEqual(readiness(stale, wait, policy), { ready: false, reason: 'not-member' });
  });

  it('without a cluster only the seeder is ready (bootstrapping)', () => {
    const base = () => anObservation().withGroup(['i-1', 'i-2', 'i-3']).clusterUnreachable();
    assert.deepEqual(readiness(base().withSelf('i-1').build(), wait, policy), {
      ready: true,
      reason: 'bootstrapping',
    });
    assert.deepEqual(readiness(base().withSelf('i-2').build(), wait, policy), {
      ready: false,
      reason: 'no-cluster',
    });
    assert.deepEqual(readiness(base().withSelf('i-1').withData().build(), wait, policy), {
      ready: false,
      reason: 'no-cluster',
    });
  });

  it('a leave in progress, a left instance and an unreadable state file are not ready', () => {
    assert.deepEqual(readiness(trio().withNotice().build(), wait, policy), {
      ready: false,
      reason: 'leaving',
    });
    assert.deepEqual(readiness(trio().left().build(), wait, policy), { ready: false, reason: 'leaving' });
    // A rebalance recommendation makes self leave only with leaveOnRebalance.
    assert.equal(readiness(trio().withAdvisoryNotice().build(), wait, policy).ready, true);
    assert.equal(
      readiness(trio().withAdvisoryNotice().build(), wait, { leaveOnRebalance: true }).reason,
      'leaving',
    );
    const broken = trio().withLocal({ recordError: 'not JSON' }).build();
    assert.deepEqual(readiness(broken, wait, policy), { ready: false, reason: 'state-file' });
  });
});

function recorder() {
  const calls: unknown[][] = [];
  const rec =
    (name: string) =>
    (...args: unknown[]) =>
      void calls.push([name, ...args]);
  const metrics: AgentMetrics = {
    decision: rec('decision'),
    membershipChange: rec('membershipChange'),
    noticeToRemoved: rec('noticeToRemoved'),
    cloudApiCall: rec('cloudApiCall'),
    cycleSucceeded: rec('cycleSucceeded'),
    etcdReachable: rec('etcdReachable'),
    leaderAgent: rec('leaderAgent'),
    stateFileReadable: rec('stateFileReadable'),
    ready: rec('ready'),
    noticePending: rec('noticePending'),
  };
  const get = (name: string) => calls.filter((c) => c[0] === name).map((c) => c.slice(1));
  return { metrics, get };
}

function facts(observation: Observation, action: Action, more: Partial<CycleFacts> = {}): CycleFacts {
  return { action, plan: [action], progressed: false, observation, ...more };
}

describe('recordCycle', () => {
  it('a self-leave records the removal, the notice → removed seconds, and no pending notice', () => {
    const obs = trio()
      .withNotice({ seenAt: NOW - 1500 })
      .build();
    const remove: Action = {
      kind: 'remove-member',
      memberId: memberIdOf('i-1'),
      why: 'self-leave',
      reason: 'leaving',
    };
    const r = recorder();
    recordCycle(
      r.metrics,
      facts(obs, remove, { progressed: true }),
      { ready: false, reason: 'leaving' },
      policy,
      NOW,
    );
    assert.deepEqual(r.get('decision'), [['remove-member', 'progressed']]);
    assert.deepEqual(r.get('membershipChange'), [['remove', 'self-leave']]);
    assert.deepEqual(r.get('noticeToRemoved'), [[1.5]]);
    assert.deepEqual(r.get('noticePending'), [[0]]);
    assert.deepEqual(r.get('ready'), [[false]]);
    assert.deepEqual(r.get('cycleSucceeded'), [[NOW]]);
  });

  it('a notice while self is still a member is pending; a failed removal is not a change', () => {
    const obs = trio()
      .withNotice({ seenAt: NOW - 30_000 })
      .build();
    const remove: Action = {
      kind: 'remove-member',
      memberId: memberIdOf('i-1'),
      why: 'self-leave',
      reason: 'leaving',
    };
    const r = recorder();
    recordCycle(
      r.metrics,
      facts(obs, remove, { code: 'ETCD_UNAVAILABLE' }),
      { ready: false, reason: 'leaving' },
      policy,
      NOW,
    );
    assert.deepEqual(r.get('decision'), [['remove-member', 'failed']]);
    assert.deepEqual(r.get('membershipChange'), []);
    assert.deepEqual(r.get('noticeToRemoved'), []);
    assert.deepEqual(r.get('noticePending'), [[30]]);
  });

  it('gauges: etcd reachable, leader agent, state file readable', () => {
    const r = recorder();
    recordCycle(
      r.metrics,
      facts(trio().withLeader('i-1').build(), wait),
      { ready: true, reason: 'member' },
      policy,
      NOW,
    );
    recordCycle(r.metrics, facts(trio().build(), wait), { ready: true, reason: 'member' }, policy, NOW);
    const lost = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1'])
      .clusterUnreachable()
      .withLocal({ recordError: 'bad' })
      .build();
    recordCycle(r.metrics, facts(lost, wait), { ready: false, reason: 'state-file' }, policy, NOW);
    assert.deepEqual(r.get('leaderAgent'), [[true], [false], [false]]);
    assert.deepEqual(r.get('etcdReachable'), [[true], [true], [false]]);
    assert.deepEqual(r.get('stateFileReadable'), [[true], [true], [false]]);
    assert.deepEqual(r.get('decision'), [
      ['wait', 'waited'],
      ['wait', 'waited'],
      ['wait', 'waited'],
    ]);
  });

  it('outcomes: a held-back plan and a re-checked precondition are refused, an error failed', () => {
    const obs = trio().build();
    const wipe: Action = { kind: 'wipe-data', reason: 'stale' };
    const held: Action = { kind: 'wait', reason: 'refusing wipe-data while the state file is unreadable' };
    assert.deepEqual(decisionOf(facts(obs, held, { plan: [wipe] })), {
      kind: 'wipe-data',
      outcome: 'refused',
    });
    assert.deepEqual(decisionOf(facts(obs, wipe, { code: 'PRECONDITION_FAILED' })), {
      kind: 'wipe-data',
      outcome: 'refused',
    });
    assert.deepEqual(decisionOf(facts(obs, wipe, { code: 'ETCD_UNAVAILABLE' })), {
      kind: 'wipe-data',
      outcome: 'failed',
    });
    assert.deepEqual(decisionOf(facts(obs, wipe, { progressed: true })), {
      kind: 'wipe-data',
      outcome: 'progressed',
    });
    // An empty plan: the agent executes a wait of its own.
    assert.deepEqual(decisionOf(facts(obs, wait, { plan: [] })), { kind: 'wait', outcome: 'waited' });
  });
});

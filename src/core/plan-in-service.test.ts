/**
 * Safety rule `selfMayJoin` (issue 10, warm pools): an instance the cloud says is not in service
 * (Auto Scaling Pending, Warmed:*, Standby, not in the group) never joins nor bootstraps. One test per
 * step that must NOT be taken without proof, and the control case that takes it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anObservation, voter } from '../../test/support/observation-builder.ts';
import type { Observation } from './observation.ts';
import { planMembership } from './plan.ts';
import { selfMayJoin } from './plan-helpers.ts';
import { DEFAULT_POLICY } from './policy.ts';

const WARMED = 'instance i-4 is Warmed:Running in Auto Scaling group etcd';

function plan(obs: Observation) {
  return planMembership(obs, DEFAULT_POLICY, obs.group.ok ? obs.group.fetchedAt : 0);
}

function notInService(obs: Observation, reason = WARMED): Observation {
  return { ...obs, selfNotInService: reason };
}

describe('selfMayJoin', () => {
  test('in service (or a provider that cannot tell): may join', () => {
    assert.deepEqual(selfMayJoin({}), { ok: true });
  });
  test('not in service: may not, and says why', () => {
    const r = selfMayJoin({ selfNotInService: WARMED });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /Warmed:Running.*never joins/);
  });
});

describe('plan: self not in service', () => {
  const joining = () =>
    anObservation()
      .withSelf('i-4')
      .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .build();

  test('control: an in-service instance adds itself as a learner', () => {
    assert.equal(plan(joining())[0]?.kind, 'add-self-as-learner');
  });

  test('a warmed instance does not add itself, it waits naming the state', () => {
    const actions = plan(notInService(joining()));
    assert.equal(actions[0]?.kind, 'wait');
    assert.ok(!actions.some((a) => a.kind === 'add-self-as-learner'));
    assert.match(actions[0]?.reason ?? '', /not joining cluster .*Warmed:Running/);
  });

  const seeder = () =>
    anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'], { desiredCapacity: 3 })
      .clusterUnreachable()
      .withVotes({ granted: ['i-1', 'i-2', 'i-3'] })
      .build();

  test('control: an in-service seeder with a majority of votes bootstraps', () => {
    assert.equal(plan(seeder())[0]?.kind, 'bootstrap');
  });

  test('a seeder that is not in service neither bootstraps nor collects votes', () => {
    const actions = plan(notInService(seeder(), 'instance i-1 is Pending in Auto Scaling group etcd'));
    assert.equal(actions[0]?.kind, 'wait');
    assert.ok(!actions.some((a) => ['bootstrap', 'collect-votes', 'restore-snapshot'].includes(a.kind)));
    assert.match(actions[0]?.reason ?? '', /not bootstrapping: .*Pending/);
  });

  test('a Standby member whose etcd runs keeps serving (the rule only blocks joining)', () => {
    const obs = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withLeader('i-1')
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
      .asRunningMember()
      .build();
    const actions = plan(notInService(obs, 'instance i-1 is Standby in Auto Scaling group etcd'));
    assert.ok(!actions.some((a) => ['stop-etcd', 'wipe-data', 'remove-member'].includes(a.kind)));
  });
});

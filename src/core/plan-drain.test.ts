// The operator's drain (`etcd-spot drain`) is a termination notice of source `operator-drain` with no
// deadline: the planner takes the same leave path as for the cloud's, at once, and a left instance
// stays out while it stands (issue 13 §4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planMembership } from './plan.ts';
import { DEFAULT_POLICY } from './policy.ts';
import { NOW, anObservation, voter } from '../../test/support/observation-builder.ts';

// No deadline: the builder's default one is removed (a drain has none).
const drain = {
  source: 'operator-drain',
  seenAt: NOW - 1000,
  detail: 'etcd-spot drain at …',
  deadline: undefined,
};

function trio() {
  return anObservation()
    .withSelf('i-1')
    .withGroup(['i-1', 'i-2', 'i-3'])
    .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
    .withLeader('i-1')
    .asRunningMember();
}

test('a drain of the leader: hand leadership over, remove self, mark left, signal, without waiting for a replacement', () => {
  const actions = planMembership(trio().withNotice(drain).build(), DEFAULT_POLICY, NOW);
  assert.deepEqual(
    actions.map((a) => a.kind),
    ['move-leader', 'remove-member', 'mark-left', 'signal-ready-to-shutdown'],
  );
  assert.match(actions[0]!.reason, /termination notice from operator-drain/);
});

test('left on a drain: stays out while the order stands, and says how to undo it', () => {
  const actions = planMembership(
    trio().withEtcdRunning(false).left().withNotice(drain).signalledReady().build(),
    DEFAULT_POLICY,
    NOW,
  );
  assert.deepEqual(
    actions.map((a) => a.kind),
    ['wait'],
  );
  assert.match(
    actions[0]!.reason,
    /staying out while the drain order stands \(etcd-spot drain --cancel rejoins\)/,
  );
});

test("a drain with the cloud's notice too: waiting for the cloud, as before", () => {
  const actions = planMembership(
    trio().withEtcdRunning(false).left().withNotice(drain).withNotice().signalledReady().build(),
    DEFAULT_POLICY,
    NOW,
  );
  assert.match(actions[0]!.reason, /waiting for the cloud to terminate/);
});

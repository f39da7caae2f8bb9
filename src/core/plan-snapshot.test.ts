import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planMembership } from './plan.ts';
import { DEFAULT_POLICY } from './policy.ts';
import type { Observation } from './observation.ts';
import type { SnapshotScheduleView } from './snapshot-policy.ts';
import { anObservation, learner, memberIdOf, NOW, voter } from '../../test/support/observation-builder.ts';
import type { ObservationBuilder } from '../../test/support/observation-builder.ts';

const MIN = 60_000;
const INTERVAL = 15 * MIN;

function build(
  b: ObservationBuilder,
  schedule: SnapshotScheduleView | undefined,
  revision = 500,
): Observation {
  const obs = b.build();
  if (schedule !== undefined) obs.snapshotSchedule = schedule;
  if (obs.cluster.reachable) for (const m of obs.cluster.members) if (m.reachable) m.revision = revision;
  return obs;
}

const converged = (leader = 'i-1') =>
  anObservation()
    .withSelf('i-1')
    .withGroup(['i-1', 'i-2', 'i-3'])
    .withMembers([voter('i-1'), voter('i-2'), voter('i-3')])
    .withLeader(leader)
    .asRunningMember();

const withDeadVoter = () =>
  anObservation()
    .withSelf('i-1')
    .withGroup(['i-1', 'i-2', 'i-3', 'i-4'])
    .withMembers([
      voter('i-1'),
      voter('i-2'),
      voter('i-3'),
      voter('i-4'),
      voter('i-5', { downFor: 10 * MIN }),
    ])
    .withLeader('i-1')
    .asRunningMember();

const last = (ageMs: number, revision = 400) => ({
  takenAt: NOW - ageMs,
  revision,
  name: `snap-${ageMs}`,
});

describe('row E: take-snapshot (leader’s agent only)', () => {
  test('no store configured: never a snapshot', () => {
    const a = planMembership(build(converged(), undefined), DEFAULT_POLICY, NOW);
    assert.deepEqual(
      a.map((x) => x.kind),
      ['wait'],
    );
  });

  test('a converged leader takes the first snapshot', () => {
    const a = planMembership(build(converged(), { intervalMs: INTERVAL }), DEFAULT_POLICY, NOW)[0];
    assert.equal(a?.kind, 'take-snapshot');
    assert.match(a?.reason ?? '', /no snapshot of this cluster yet/);
  });

  test('due after the interval when the revision moved; skipped when it did not', () => {
    const due = planMembership(
      build(converged(), { intervalMs: INTERVAL, last: last(16 * MIN, 400) }, 500),
      DEFAULT_POLICY,
      NOW,
    )[0];
    assert.equal(due?.kind, 'take-snapshot');
    const same = planMembership(
      build(converged(), { intervalMs: INTERVAL, last: last(16 * MIN, 500) }, 500),
      DEFAULT_POLICY,
      NOW,
    )[0];
    assert.equal(same?.kind, 'wait');
    const early = planMembership(
      build(converged(), { intervalMs: INTERVAL, last: last(5 * MIN, 400) }, 500),
      DEFAULT_POLICY,
      NOW,
    )[0];
    assert.equal(early?.kind, 'wait');
  });

  test('a follower’s agent never takes one', () => {
    const a = planMembership(build(converged('i-2'), { intervalMs: INTERVAL }), DEFAULT_POLICY, NOW)[0];
    assert.equal(a?.kind, 'wait');
  });

  test('a recent failure holds the periodic snapshot back for a minute', () => {
    const a = planMembership(
      build(converged(), { intervalMs: INTERVAL, lastFailure: { at: NOW - 10_000, error: 'bucket gone' } }),
      DEFAULT_POLICY,
      NOW,
    )[0];
    assert.equal(a?.kind, 'wait');
  });

  test('before removing a dead voter: snapshot first, then the removal', () => {
    const a = planMembership(
      build(withDeadVoter(), { intervalMs: INTERVAL, last: last(5 * MIN) }),
      DEFAULT_POLICY,
      NOW,
    );
    assert.deepEqual(
      a.map((x) => x.kind),
      ['take-snapshot', 'remove-member'],
    );
    assert.match(a[0]?.reason ?? '', /before removing voter/);
  });

  test('a snapshot younger than a minute lets the removal go first', () => {
    const a = planMembership(
      build(withDeadVoter(), { intervalMs: INTERVAL, last: last(30_000) }),
      DEFAULT_POLICY,
      NOW,
    )[0];
    assert.equal(a?.kind, 'remove-member');
  });

  test('a failed snapshot does not block the removal', () => {
    const a = planMembership(
      build(withDeadVoter(), { intervalMs: INTERVAL, lastFailure: { at: NOW - 5000, error: 'timeout' } }),
      DEFAULT_POLICY,
      NOW,
    )[0];
    assert.equal(a?.kind, 'remove-member');
  });

  test('removing a learner needs no snapshot', () => {
    const b = anObservation()
      .withSelf('i-1')
      .withGroup(['i-1', 'i-2', 'i-3'])
      .withMembers([voter('i-1'), voter('i-2'), voter('i-3'), learner('i-5', { downFor: 10 * MIN })])
      .withLeader('i-1')
      .asRunningMember();
    const a = planMembership(build(b, { intervalMs: INTERVAL }), DEFAULT_POLICY, NOW)[0];
    assert.equal(a?.kind, 'remove-member');
    assert.equal((a as { memberId: string }).memberId, memberIdOf('i-5'));
  });

  test('a termination notice on the leader: leaving comes first, no snapshot', () => {
    const a = planMembership(
      build(converged().withNotice(), { intervalMs: INTERVAL }),
      DEFAULT_POLICY,
      NOW,
    )[0];
    assert.notEqual(a?.kind, 'take-snapshot');
  });
});

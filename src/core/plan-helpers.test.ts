import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deadAfterMs,
  deadMember,
  effectiveNotices,
  findSelfMember,
  formatDuration,
  instancesWaitingToJoin,
  isInstanceGone,
  membersWithRunningInstance,
  plausibleGroup,
  reapCandidates,
  stalePeerUrlMember,
  unstartedMember,
} from './plan-helpers.ts';
import type { PlausibleGroup } from './plan-helpers.ts';
import type { MemberView } from './observation.ts';
import { DEFAULT_POLICY } from './policy.ts';
import {
  anObservation,
  ipOf,
  memberIdOf,
  NOW,
  unstartedLearner,
  voter,
} from '../../test/support/observation-builder.ts';
import type { MemberSpec } from '../../test/support/observation-builder.ts';

const policy = DEFAULT_POLICY;
const TTL = policy.memberDeadAfterMs;

function group(ids: string[], extra: { id: string; ip: string }[] = []): PlausibleGroup {
  const g = plausibleGroup(
    {
      ok: true,
      instances: [
        ...ids.map((id) => ({ id, privateIp: ipOf(id) })),
        ...extra.map((e) => ({ id: e.id, privateIp: e.ip })),
      ],
      fetchedAt: NOW,
    },
    ids[0] ?? 'i-1',
  );
  assert.ok(g.ok);
  return g;
}

function members(specs: MemberSpec[]): MemberView[] {
  const c = anObservation().withMembers(specs).build().cluster;
  assert.ok(c.reachable);
  return c.members;
}

function one(spec: MemberSpec): MemberView {
  return members([spec])[0]!;
}

describe('isInstanceGone', () => {
  test('a member at the IP of a listed instance is not gone', () => {
    assert.equal(isInstanceGone(one(voter('i-2')), group(['i-1', 'i-2'])), false);
  });

  test('a member whose IP no listed instance has is gone', () => {
    assert.equal(isInstanceGone(one(voter('i-5')), group(['i-1', 'i-2'])), true);
  });

  test('a member named after a listed instance is not gone even at an unknown IP', () => {
    assert.equal(isInstanceGone(one(voter('i-2', { ip: '127.0.0.99' })), group(['i-1', 'i-2'])), false);
  });

  test('a member without a parseable peer URL is never gone', () => {
    const m = { ...one(voter('i-5')), peerUrls: ['not a url'] };
    assert.equal(isInstanceGone(m, group(['i-1'])), false);
  });
});

describe('deadMember', () => {
  test('needs the instance gone and unreachable past the TTL', () => {
    const c = deadMember(one(voter('i-5', { downFor: TTL + 1 })), group(['i-1']), NOW, policy);
    assert.equal(c?.why, 'dead');
  });

  test('not while its instance is listed', () => {
    assert.equal(
      deadMember(one(voter('i-5', { downFor: 10 * TTL })), group(['i-1', 'i-5']), NOW, policy),
      undefined,
    );
  });

  test('not at or before the TTL', () => {
    assert.equal(deadMember(one(voter('i-5', { downFor: TTL })), group(['i-1']), NOW, policy), undefined);
  });

  test('not when reachable', () => {
    assert.equal(deadMember(one(voter('i-5')), group(['i-1']), NOW, policy), undefined);
  });

  test('not when the start of the unreachable streak is unknown', () => {
    assert.equal(
      deadMember(one(voter('i-5', { reachable: false })), group(['i-1']), NOW + 10 * TTL, policy),
      undefined,
    );
    const m = { ...one(voter('i-5', { downFor: 10 * TTL })), unreachableSince: undefined };
    assert.equal(deadMember(m, group(['i-1']), NOW, policy), undefined);
  });
});

describe("deadMember with the cloud's proof of a termination", () => {
  const FAST = policy.terminatedMemberDeadAfterMs;

  test('reaps after terminatedMemberDeadAfter when the cloud says the instance is terminated', () => {
    const c = deadMember(
      one(voter('i-5', { downFor: FAST + 1, terminated: true })),
      group(['i-1']),
      NOW,
      policy,
    );
    assert.equal(c?.why, 'dead');
    assert.match(c?.detail ?? '', /the cloud says its instance is terminated/);
  });

  test('not without that proof: missing from one list is not enough before memberDeadAfter', () => {
    assert.equal(
      deadMember(one(voter('i-5', { downFor: FAST + 1 })), group(['i-1']), NOW, policy),
      undefined,
    );
  });

  test('not at or before terminatedMemberDeadAfter', () => {
    assert.equal(
      deadMember(one(voter('i-5', { downFor: FAST, terminated: true })), group(['i-1']), NOW, policy),
      undefined,
    );
  });

  test('not while the instance is in the list, whatever the instance call said', () => {
    assert.equal(
      deadMember(
        one(voter('i-5', { downFor: 10 * TTL, terminated: true })),
        group(['i-1', 'i-5']),
        NOW,
        policy,
      ),
      undefined,
    );
  });

  test('not while reachable', () => {
    const m = { ...one(voter('i-5')), instanceTerminated: true };
    assert.equal(deadMember(m, group(['i-1']), NOW, policy), undefined);
  });

  test('the proof never makes the wait longer than memberDeadAfter', () => {
    const p = { ...policy, terminatedMemberDeadAfterMs: 2 * TTL };
    assert.equal(deadAfterMs(one(voter('i-5', { downFor: 1, terminated: true })), p), TTL);
  });
});

describe('unstartedMember', () => {
  test('needs an unstarted member seen so past its TTL', () => {
    assert.equal(
      unstartedMember(one(unstartedLearner('i-4', policy.unstartedMemberTtlMs + 1)), NOW, policy)?.why,
      'unstarted',
    );
  });

  test('not at or before its TTL', () => {
    assert.equal(
      unstartedMember(one(unstartedLearner('i-4', policy.unstartedMemberTtlMs)), NOW, policy),
      undefined,
    );
  });

  test('not a started member', () => {
    assert.equal(unstartedMember(one(voter('i-4', { downFor: 10 * TTL })), NOW, policy), undefined);
  });

  test('not when reachable (it answers, so it started)', () => {
    const m = { ...one(unstartedLearner('i-4', 10 * TTL)), reachable: true };
    assert.equal(unstartedMember(m, NOW, policy), undefined);
  });
});

describe('stalePeerUrlMember', () => {
  const stale = (opts: MemberSpec = { instance: 'i-old', ip: ipOf('i-4'), downFor: 1000 }): MemberView =>
    one(opts);

  test('a started member of a gone instance at the IP of another listed instance is stale', () => {
    const c = stalePeerUrlMember(stale(), group(['i-1', 'i-4']), NOW, 0);
    assert.equal(c?.why, 'stale-peer-url');
    assert.match(c?.detail ?? '', /peer IP 127\.0\.0\.14 now belongs to i-4/);
  });

  test('not while its named instance is listed', () => {
    assert.equal(stalePeerUrlMember(stale(), group(['i-1', 'i-4', 'i-old']), NOW, 0), undefined);
  });

  test('not when no listed instance has its IP (that is the dead rule)', () => {
    assert.equal(stalePeerUrlMember(stale(), group(['i-1']), NOW, 0), undefined);
  });

  test('not an unstarted member', () => {
    assert.equal(
      stalePeerUrlMember(
        one(unstartedLearner('i-old', 10 * TTL, { ip: ipOf('i-4') })),
        group(['i-1', 'i-4']),
        NOW,
        0,
      ),
      undefined,
    );
  });

  test('not when reachable', () => {
    assert.equal(
      stalePeerUrlMember(stale({ instance: 'i-old', ip: ipOf('i-4') }), group(['i-1', 'i-4']), NOW, 0),
      undefined,
    );
  });

  test('the leader’s agent waits out the TTL', () => {
    assert.equal(stalePeerUrlMember(stale(), group(['i-1', 'i-4']), NOW, TTL), undefined);
    assert.ok(
      stalePeerUrlMember(
        stale({ instance: 'i-old', ip: ipOf('i-4'), downFor: TTL + 1 }),
        group(['i-1', 'i-4']),
        NOW,
        TTL,
      ),
    );
  });
});

describe('reapCandidates', () => {
  test('never lists self, and lists the oldest first', () => {
    const ms = members([
      voter('i-1', { downFor: 9 * TTL }),
      voter('i-7', { downFor: 2 * TTL }),
      voter('i-8', { downFor: 3 * TTL }),
    ]);
    const out = reapCandidates(ms, memberIdOf('i-1'), group(['i-1']), NOW, policy);
    assert.deepEqual(
      out.map((c) => c.member.name),
      ['i-8', 'i-7'],
    );
  });
});

describe('membership views', () => {
  test('effectiveNotices keeps advisory notices only with leaveOnRebalance', () => {
    const notices = [
      { source: 'a', seenAt: 0, detail: '', advisory: true },
      { source: 'b', seenAt: 0, detail: '' },
    ];
    assert.deepEqual(
      effectiveNotices(notices, { leaveOnRebalance: false }).map((n) => n.source),
      ['b'],
    );
    assert.equal(effectiveNotices(notices, { leaveOnRebalance: true }).length, 2);
  });

  test('findSelfMember matches self’s peer URL', () => {
    const obs = anObservation()
      .withSelf('i-2')
      .withMembers([voter('i-1'), voter('i-2')])
      .build();
    assert.ok(obs.cluster.reachable);
    assert.equal(findSelfMember(obs.cluster.members, obs.self)?.id, memberIdOf('i-2'));
    assert.equal(
      findSelfMember(obs.cluster.members, {
        ...obs.self,
        peerUrl: 'http://127.0.0.99:2380',
        privateIp: '127.0.0.99',
      }),
      undefined,
    );
  });

  test('membersWithRunningInstance excludes gone instances and stale names; falls back to reachable members', () => {
    const ms = members([
      voter('i-1'),
      voter('i-old', { ip: ipOf('i-2'), downFor: 1 }),
      voter('i-3', { downFor: 1 }),
      unstartedLearner('i-4', 1),
    ]);
    assert.deepEqual(
      membersWithRunningInstance(ms, group(['i-1', 'i-2', 'i-4'])).map((m) => m.id),
      [memberIdOf('i-1'), memberIdOf('i-4')],
    );
    assert.deepEqual(
      membersWithRunningInstance(ms, undefined).map((m) => m.id),
      [memberIdOf('i-1')],
    );
  });

  test('instancesWaitingToJoin lists group instances without a member, not self', () => {
    const ms = members([voter('i-1'), voter('i-2')]);
    assert.deepEqual(
      instancesWaitingToJoin(ms, group(['i-1', 'i-2', 'i-3', 'i-4']), 'i-4').map((i) => i.id),
      ['i-3'],
    );
  });

  test('formatDuration prints seconds, minutes from ten minutes on', () => {
    assert.deepEqual([0, 1500, 74_000, 599_000, 725_000].map(formatDuration), [
      '0s',
      '1.5s',
      '74s',
      '599s',
      '12m05s',
    ]);
  });
});

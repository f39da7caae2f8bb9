import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decideStartNotice,
  decideVote,
  isVoteUnexpired,
  recordedPlanToStart,
  wholeGroupAgreed,
} from './vote.ts';
import type { BootstrapPlan, LocalRecord, PeerBootstrapView, VoteTally } from './observation.ts';

const TTL = 30_000;
const T = 1_000_000;
const fresh = { hasData: false };
const view = ['i-1', 'i-2', 'i-3'];
/** The candidate and the voter both read a desired capacity of 3. */
const D3 = { desiredCapacity: 3, localDesiredCapacity: 3 };

describe('decideVote', () => {
  test('grants a fresh voter’s vote to the lowest instance id and returns the record to store', () => {
    const d = decideVote({ candidate: 'i-1', localView: view, ...D3, local: fresh, now: T, voteTtlMs: TTL });
    assert.deepEqual(d, {
      granted: true,
      reason: 'granted my vote to i-1',
      record: { candidate: 'i-1', at: T },
    });
  });

  test('refuses when the voter has local data', () => {
    const d = decideVote({
      candidate: 'i-1',
      localView: view,
      ...D3,
      local: { hasData: true },
      now: T,
      voteTtlMs: TTL,
    });
    assert.equal(d.granted, false);
    assert.equal(d.record, undefined);
    assert.match(d.reason, /local etcd data/);
  });

  test('refuses when the voter belongs to a cluster', () => {
    const d = decideVote({
      candidate: 'i-1',
      localView: view,
      ...D3,
      local: { hasData: false, clusterId: 'abc' },
      now: T,
      voteTtlMs: TTL,
    });
    assert.equal(d.granted, false);
    assert.match(d.reason, /cluster abc/);
  });

  test('refuses when the voter’s group list is unknown', () => {
    const d = decideVote({
      candidate: 'i-1',
      localView: undefined,
      ...D3,
      local: fresh,
      now: T,
      voteTtlMs: TTL,
    });
    assert.equal(d.granted, false);
    assert.match(d.reason, /unknown/);
  });

  test('refuses a candidate that is not the lowest id of the voter’s view', () => {
    const d = decideVote({ candidate: 'i-2', localView: view, ...D3, local: fresh, now: T, voteTtlMs: TTL });
    assert.equal(d.granted, false);
    assert.match(d.reason, /i-1 is lower than i-2/);
  });

  test('refuses a candidate that is not in the voter’s group list, even one that sorts below it (a forged "-attacker")', () => {
    for (const candidate of ['i-0', '-attacker']) {
      const d = decideVote({ candidate, localView: view, ...D3, local: fresh, now: T, voteTtlMs: TTL });
      assert.equal(d.granted, false);
      assert.equal(d.record, undefined);
      assert.match(d.reason, new RegExp(`${candidate} is not in my group list \\(3 instances\\)`));
    }
  });

  test('refuses when the voter cannot read the group’s desired capacity', () => {
    const d = decideVote({
      candidate: 'i-1',
      localView: view,
      desiredCapacity: 3,
      localDesiredCapacity: undefined,
      local: fresh,
      now: T,
      voteTtlMs: TTL,
    });
    assert.equal(d.granted, false);
    assert.match(d.reason, /cannot read the group's desired capacity/);
  });

  test('refuses when the candidate counts its majority over another desired capacity, or none', () => {
    const other = decideVote({
      candidate: 'i-1',
      localView: view,
      desiredCapacity: 2,
      localDesiredCapacity: 3,
      local: fresh,
      now: T,
      voteTtlMs: TTL,
    });
    assert.equal(other.granted, false);
    assert.match(
      other.reason,
      /counts a majority of 2 instances, but the group's desired capacity is 3 here/,
    );
    const none = decideVote({
      candidate: 'i-1',
      localView: view,
      desiredCapacity: undefined,
      localDesiredCapacity: 3,
      local: fresh,
      now: T,
      voteTtlMs: TTL,
    });
    assert.equal(none.granted, false);
    assert.match(none.reason, /does not say which desired capacity/);
  });

  test('refuses another candidate while an earlier vote is unexpired', () => {
    const local = { hasData: false, vote: { candidate: 'i-0', at: T - 10_000 } };
    const d = decideVote({ candidate: 'i-1', localView: view, ...D3, local, now: T, voteTtlMs: TTL });
    assert.equal(d.granted, false);
    assert.match(d.reason, /voted for i-0 10s ago; that vote binds for 20s more/);
  });

  test('grants another candidate once the earlier vote expired', () => {
    const local = { hasData: false, vote: { candidate: 'i-0', at: T - TTL } };
    const d = decideVote({ candidate: 'i-1', localView: view, ...D3, local, now: T, voteTtlMs: TTL });
    assert.deepEqual(d.record, { candidate: 'i-1', at: T });
  });

  test('renews a vote for the same candidate, never moving it back in time', () => {
    const local = { hasData: false, vote: { candidate: 'i-1', at: T + 5000 } };
    const d = decideVote({ candidate: 'i-1', localView: view, ...D3, local, now: T, voteTtlMs: TTL });
    assert.equal(d.granted, true);
    assert.deepEqual(d.record, { candidate: 'i-1', at: T + 5000 });
  });

  test('a vote recorded in the future (clock stepped back) still binds', () => {
    assert.equal(isVoteUnexpired({ candidate: 'i-0', at: T + 60_000 }, T, TTL), true);
    assert.equal(isVoteUnexpired(undefined, T, TTL), false);
  });
});

describe('decideVote: at most one seeder', () => {
  test('for any two candidates and voters with arbitrary views, at most one collects a strict majority of unexpired votes', () => {
    const seed = 424242;
    const ids = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6', 'i-7'];
    const arb = fc.record({
      voters: fc.uniqueArray(fc.constantFrom(...ids), { minLength: 1, maxLength: 7 }),
      views: fc.array(fc.option(fc.subarray(ids), { nil: undefined }), { minLength: 7, maxLength: 7 }),
      requests: fc.array(
        fc.record({
          voter: fc.nat({ max: 6 }),
          candidate: fc.constantFrom(...ids),
          // Arbitrary order: clocks may step back, requests may arrive late.
          at: fc.integer({ min: 0, max: 200_000 }),
        }),
        { maxLength: 60 },
      ),
      evalAt: fc.integer({ min: 0, max: 250_000 }),
      ttl: fc.integer({ min: 1, max: 60_000 }),
    });
    fc.assert(
      fc.property(arb, ({ voters, views, requests, evalAt, ttl }) => {
        // Every grant ever made, per voter: (candidate, time).
        const grants = new Map<string, { candidate: string; at: number }[]>();
        const records = new Map<string, LocalRecord['vote']>();
        for (const r of requests) {
          const voter = voters[r.voter % voters.length];
          if (voter === undefined) continue;
          const d = decideVote({
            candidate: r.candidate,
            localView: views[ids.indexOf(voter)],
            ...D3,
            local: { hasData: false, vote: records.get(voter) },
            now: r.at,
            voteTtlMs: ttl,
          });
          if (d.granted) {
            assert.ok(d.record !== undefined);
            records.set(voter, d.record);
            grants.set(voter, [...(grants.get(voter) ?? []), { candidate: r.candidate, at: r.at }]);
          }
        }
        // A vote granted at `at` counts at evalAt when at ≤ evalAt < at + ttl.
        const votesFor = new Map<string, number>();
        for (const voter of voters) {
          const live = new Set(
            (grants.get(voter) ?? [])
              .filter((g) => g.at <= evalAt && evalAt < g.at + ttl)
              .map((g) => g.candidate),
          );
          assert.ok(live.size <= 1, `voter ${voter} holds unexpired votes for ${[...live].join(', ')}`);
          for (const c of live) votesFor.set(c, (votesFor.get(c) ?? 0) + 1);
        }
        const winners = [...votesFor].filter(([, n]) => n > voters.length / 2);
        assert.ok(winners.length <= 1, `two seeders: ${JSON.stringify(winners)}`);
      }),
      { seed, numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The whole group at once (plans).

const PLAN: BootstrapPlan = {
  token: 'sig-1-i-1-1000',
  instances: ['i-1', 'i-2', 'i-3'],
  members: [
    { instanceId: 'i-1', peerUrl: 'http://127.0.0.11:2380' },
    { instanceId: 'i-2', peerUrl: 'http://127.0.0.12:2380' },
    { instanceId: 'i-3', peerUrl: 'http://127.0.0.13:2380' },
  ],
};
const I2 = { instanceId: 'i-2', peerUrl: 'http://127.0.0.12:2380' };
const withPlan = { plan: PLAN, voter: I2, maxVoters: 5 };

describe('decideVote with a plan', () => {
  test('grants and records the plan when the voter’s list is the plan’s and its entry is its own peer URL', () => {
    const d = decideVote({
      candidate: 'i-1',
      localView: view,
      ...D3,
      local: fresh,
      now: T,
      voteTtlMs: TTL,
      ...withPlan,
    });
    assert.equal(d.granted, true);
    assert.equal(d.planAccepted, true);
    assert.deepEqual(d.record, { candidate: 'i-1', at: T, plan: PLAN });
    assert.match(d.reason, /recorded its plan: 3 initial members of 3 instances at once/);
  });

  const notAccepted: [string, Partial<Parameters<typeof decideVote>[0]>, RegExp][] = [
    ['its list lacks an instance of the plan', { localView: ['i-1', 'i-2'] }, /my list of 2 lacks i-3/],
    ['its list has one more', { localView: ['i-1', 'i-2', 'i-3', 'i-4'] }, /also has i-4/],
    [
      'the plan has it at another IP (stale list, IP reuse)',
      { voter: { ...I2, peerUrl: 'http://127.0.0.99:2380' } },
      /the plan has me at http:\/\/127.0.0.12:2380, but my peer URL is http:\/\/127.0.0.99:2380/,
    ],
    [
      'the plan has it with another scheme (TLS on one side only)',
      { voter: { ...I2, peerUrl: 'https://127.0.0.12:2380' } },
      /but my peer URL is https:/,
    ],
    ['its own peer URL is unknown', { voter: undefined }, /my own peer URL is not known/],
    ['its maxVoters allows fewer initial voters', { maxVoters: 1 }, /starts 3 voters, 1 expected/],
    [
      'the plan’s first member is not the candidate',
      { plan: { ...PLAN, members: [PLAN.members[1]!, PLAN.members[0]!, PLAN.members[2]!] } },
      /not the lowest 3 instances in order/,
    ],
    [
      'the plan names more instances than the desired capacity',
      { plan: { ...PLAN, instances: ['i-1', 'i-2', 'i-3', 'i-4'] } },
      /names 4 instances, the desired capacity is 3/,
    ],
  ];
  for (const [what, over, reason] of notAccepted) {
    test(`grants one by one, with no plan recorded, when ${what}`, () => {
      const d = decideVote({
        candidate: 'i-1',
        localView: view,
        ...D3,
        local: fresh,
        now: T,
        voteTtlMs: TTL,
        ...withPlan,
        ...over,
      });
      assert.equal(d.granted, true, d.reason);
      assert.equal(d.planAccepted, false);
      assert.deepEqual(d.record, { candidate: 'i-1', at: T }, 'no plan in the record');
      assert.match(d.reason, reason);
    });
  }

  test('a later grant replaces the recorded plan (a renewal without an accepted plan drops it)', () => {
    const local = { hasData: false, vote: { candidate: 'i-1', at: T - 1000, plan: PLAN } };
    const d = decideVote({
      candidate: 'i-1',
      localView: ['i-1', 'i-2'],
      ...D3,
      local,
      now: T,
      voteTtlMs: TTL,
      ...withPlan,
    });
    assert.deepEqual(d.record, { candidate: 'i-1', at: T });
  });

  test('refuses every vote once it started etcd on an agreed plan', () => {
    const d = decideVote({
      candidate: 'i-1',
      localView: view,
      ...D3,
      local: { hasData: false, planStarted: { token: 'x', at: T - 100 } },
      now: T,
      voteTtlMs: TTL,
    });
    assert.equal(d.granted, false);
    assert.match(d.reason, /started etcd on an agreed initial cluster \(token x\)/);
  });
});

function tallyOf(over: Partial<VoteTally> = {}): VoteTally {
  return {
    requestedAt: T - 100,
    granted: ['i-1', 'i-2', 'i-3'],
    refused: [],
    plan: PLAN,
    planAccepted: ['i-1', 'i-2', 'i-3'],
    ...over,
  };
}
const ownRecord = { vote: { candidate: 'i-1', at: T - 100, plan: PLAN } };
const agreed = (tally: VoteTally, record: LocalRecord = ownRecord, now = T) =>
  wholeGroupAgreed({ tally, record, self: 'i-1', now, voteTtlMs: TTL, fullGroupWaitMs: 10_000 });

describe('wholeGroupAgreed (the seeder)', () => {
  test('starts when every instance of the plan granted and recorded it, and self recorded it too', () => {
    const d = agreed(tallyOf());
    assert.equal(d?.kind, 'start');
    assert.deepEqual(d?.kind === 'start' ? d.plan : undefined, PLAN);
  });

  test('undefined for a tally without a plan (the one-by-one path decides)', () => {
    assert.equal(agreed(tallyOf({ plan: undefined, planAccepted: undefined })), undefined);
  });

  test('NOT started: one instance granted but did not record the plan → one by one at once', () => {
    const d = agreed(tallyOf({ planAccepted: ['i-1', 'i-2'] }));
    assert.equal(d?.kind, 'one-by-one');
    assert.match(d?.reason ?? '', /i-3 \(granted, plan not recorded\)/);
  });

  test('NOT started: an instance refused → one by one at once', () => {
    const d = agreed(
      tallyOf({
        granted: ['i-1', 'i-2'],
        planAccepted: ['i-1', 'i-2'],
        refused: [{ instanceId: 'i-3', reason: 'I have local etcd data' }],
      }),
    );
    assert.equal(d?.kind, 'one-by-one');
  });

  test('NOT started: a planAccepted entry without a grant does not count', () => {
    const d = agreed(tallyOf({ granted: ['i-1', 'i-2'], refused: [{ instanceId: 'i-3', reason: 'x' }] }));
    assert.equal(d?.kind, 'one-by-one');
  });

  test('NOT started: self’s own record lacks the plan, holds another round’s, or its vote expired', () => {
    assert.equal(agreed(tallyOf(), { vote: { candidate: 'i-1', at: T - 100 } })?.kind, 'one-by-one');
    assert.equal(
      agreed(tallyOf(), { vote: { candidate: 'i-1', at: T - 100, plan: { ...PLAN, token: 'other' } } })?.kind,
      'one-by-one',
    );
    assert.equal(
      agreed(tallyOf(), { vote: { candidate: 'i-1', at: T - TTL, plan: PLAN } })?.kind,
      'one-by-one',
    );
  });

  test('asks again while the instances that did not record it only did not answer, within fullGroupWaitMs of the first round', () => {
    const silent = tallyOf({
      granted: ['i-1', 'i-2'],
      planAccepted: ['i-1', 'i-2'],
      refused: [{ instanceId: 'i-3', reason: 'connect ECONNREFUSED' }],
      noAnswer: ['i-3'],
      since: T - 4000,
    });
    assert.equal(agreed(silent)?.kind, 'ask-again');
    const late = agreed({ ...silent, since: T - 10_000 });
    assert.equal(late?.kind, 'one-by-one');
    assert.match(late?.reason ?? '', /no answer from i-3 within 10s/);
  });
});

describe('recordedPlanToStart (every member of the plan)', () => {
  const announced = [{ instanceId: 'i-1', reachable: true, hasData: true, planStarted: PLAN.token }];
  const start = (record: LocalRecord, peers: PeerBootstrapView[] = announced, self = 'i-2', now = T) =>
    recordedPlanToStart({ record, peers, self, now, voteTtlMs: TTL });
  const voted = (at = T - 1000, plan: BootstrapPlan = PLAN): LocalRecord => ({
    vote: { candidate: 'i-1', at, plan },
  });

  test('starts once another member announces the same token, while the vote binds', () => {
    const d = start(voted());
    assert.equal(d?.start, true);
    assert.match(d?.reason ?? '', /i-1 started the agreed initial cluster of 3 \(token sig-1-i-1-1000\)/);
  });

  test('NOT taken: no plan recorded (a voter never starts on a plan it did not record)', () => {
    assert.equal(start({ vote: { candidate: 'i-1', at: T - 1000 } }), undefined);
    assert.equal(start({}), undefined);
  });

  test('NOT taken: self is not one of the plan’s members (it joins as a learner later)', () => {
    const five = {
      ...PLAN,
      instances: ['i-1', 'i-2', 'i-3', 'i-4'],
    };
    assert.equal(start(voted(T - 1000, five), announced, 'i-4'), undefined);
  });

  test('NOT taken: the vote expired (the window in which no other seeder holds a majority is over)', () => {
    const d = start(voted(T - TTL));
    assert.equal(d?.start, false);
    assert.match(d?.reason ?? '', /my vote for i-1 expired/);
  });

  test('NOT taken: the announced token is another round’s (token mismatch)', () => {
    const d = start(voted(), [{ instanceId: 'i-1', reachable: true, planStarted: 'sig-1-i-1-999' }]);
    assert.equal(d?.start, false);
    assert.match(d?.reason ?? '', /no member of .* has started it yet/);
  });

  test('NOT taken: nobody announced; or only an instance outside the plan, or an unreachable one, did', () => {
    assert.equal(start(voted(), [])?.start, false);
    assert.equal(
      start(voted(), [{ instanceId: 'i-9', reachable: true, planStarted: PLAN.token }])?.start,
      false,
    );
    assert.equal(
      start(voted(), [{ instanceId: 'i-1', reachable: false, planStarted: PLAN.token }])?.start,
      false,
    );
  });

  test('self’s own announcement does not count; a start it already recorded is resumed, even after the vote expired', () => {
    const own = [{ instanceId: 'i-2', reachable: true, planStarted: PLAN.token }];
    assert.equal(start(voted(), own)?.start, false);
    const resumed = start({ ...voted(T - 5 * TTL), planStarted: { token: PLAN.token, at: T - 5 * TTL } }, []);
    assert.equal(resumed?.start, true);
    assert.match(resumed?.reason ?? '', /resuming/);
    // A start recorded for another token is no resume.
    assert.equal(start({ ...voted(T - 5 * TTL), planStarted: { token: 'other', at: T } }, [])?.start, false);
  });
});

describe('decideStartNotice (the seeder’s push to the plan’s members)', () => {
  const rec = (over: Partial<NonNullable<LocalRecord['vote']>> = {}): LocalRecord => ({
    vote: { candidate: 'i-1', at: T - 1000, plan: PLAN, ...over },
  });
  const notice = (record: LocalRecord, over: Partial<Parameters<typeof decideStartNotice>[0]> = {}) =>
    decideStartNotice({
      candidate: 'i-1',
      token: PLAN.token,
      self: 'i-2',
      record,
      hasData: false,
      now: T,
      voteTtlMs: TTL,
      ...over,
    });

  test('accepted for the plan recorded with an unexpired vote for that seeder: the start is recorded', () => {
    const d = notice(rec());
    assert.equal(d.accepted, true);
    assert.deepEqual(d.planStarted, { token: PLAN.token, at: T });
  });

  for (const [what, record, over, re] of [
    ['no plan recorded', { vote: { candidate: 'i-1', at: T - 1000 } }, {}, /did not record i-1's plan/],
    [
      'another round’s plan (token mismatch)',
      rec(),
      { token: 'sig-1-i-1-999' },
      /did not record i-1's plan with token sig-1-i-1-999/,
    ],
    ['a vote for another candidate', rec({ candidate: 'i-0' }), {}, /hold no vote for i-1/],
    ['an expired vote', rec({ at: T - TTL }), {}, /expired/],
    ['local data', rec(), { hasData: true }, /local etcd data/],
    ['self not a member of the plan', rec(), { self: 'i-4' }, /not one of the plan's initial members/],
    [
      'a start on another plan',
      { ...rec(), planStarted: { token: 'other', at: T } },
      {},
      /started on another plan/,
    ],
  ] as [string, LocalRecord, Partial<Parameters<typeof decideStartNotice>[0]>, RegExp][]) {
    test(`NOT accepted (nothing recorded) with ${what}`, () => {
      const d = notice(record, over);
      assert.equal(d.accepted, false);
      assert.equal(d.planStarted, undefined);
      assert.match(d.reason, re);
    });
  }
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideVote, isVoteUnexpired } from './vote.ts';
import type { LocalRecord } from './observation.ts';

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

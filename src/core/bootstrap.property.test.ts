/**
 * Never two clusters: the bootstrap vote played out between agents that each have their OWN partial
 * view of the group, and may or may not be able to read the desired capacity (issue 7 §1).
 *
 * The model: a group of N instances boots at once. Every group-list answer an agent gets drops a
 * random subset of the other instances (a fresh draw per answer, as the emulator's `partial` fault
 * does); each agent either reads the desired capacity (N) or gets an error for it. In each round a
 * random agent plans with the real planner; when it asks for votes, every instance it asks answers with
 * the real `decideVote` from its own fresh view and its own durable vote record; the seeder plans again
 * with the tally and may bootstrap. All rounds fall within half a vote TTL, so no vote expires and
 * every tally is fresh: the hardest case for the proof.
 *
 * Checked: every bootstrap holds votes from a strict majority of the N instances, and at most one
 * instance ever bootstraps. (Before the fix the majority was counted over the seeder's own list when
 * the capacity was unknown: "2 of 2 needed" in a group of 4, and two seeders with the lists {A,C} and
 * {B,D} each bootstrapped.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anObservation, NOW } from '../../test/support/observation-builder.ts';
import type { LocalRecord, VoteTally } from './observation.ts';
import { planMembership } from './plan.ts';
import { DEFAULT_POLICY } from './policy.ts';
import { quorumSize } from './quorum.ts';
import { decideVote } from './vote.ts';

const SEED = 20261130;
const RUNS = 1500;

interface Agent {
  id: string;
  capacityKnown: boolean;
  vote: LocalRecord['vote'];
  bootstrapped: boolean;
}

/** A fresh group-list answer for `self`: self plus the instances the mask keeps. */
function viewOf(self: string, ids: readonly string[], mask: number): string[] {
  return ids.filter((id, i) => id === self || (mask & (1 << i)) !== 0);
}

const scenario = fc.integer({ min: 2, max: 7 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    capacityKnown: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    rounds: fc.array(
      fc.record({
        seeder: fc.nat({ max: n - 1 }),
        seederMask: fc.nat({ max: 2 ** n - 1 }),
        voterMasks: fc.array(fc.nat({ max: 2 ** n - 1 }), { minLength: n, maxLength: n }),
        answers: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        at: fc.nat({ max: DEFAULT_POLICY.voteTtlMs / 2 - 1000 }),
      }),
      { minLength: 1, maxLength: 12 },
    ),
  }),
);

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function play(s: Scenario) {
  const ids = Array.from({ length: s.n }, (_, i) => `i-${i + 1}`);
  const agents: Agent[] = ids.map((id, i) => ({
    id,
    capacityKnown: s.capacityKnown[i] ?? false,
    vote: undefined,
    bootstrapped: false,
  }));
  const bootstraps: { seeder: string; granted: string[]; reason: string }[] = [];
  const rounds = [...s.rounds].sort((a, b) => a.at - b.at);
  for (const r of rounds) {
    const seeder = agents[r.seeder]!;
    if (seeder.bootstrapped) continue;
    const now = NOW + r.at;
    const seederView = viewOf(seeder.id, ids, r.seederMask);
    const observe = (votes?: VoteTally) => {
      const b = anObservation()
        .at(now)
        .withSelf(seeder.id)
        .withGroup(seederView, seeder.capacityKnown ? { desiredCapacity: s.n } : {})
        .clusterUnreachable()
        .withPeers(
          seederView.filter((id) => id !== seeder.id).map((id) => ({ instanceId: id, reachable: true })),
        );
      const obs = b.build();
      if (seeder.vote !== undefined) obs.local.record.vote = seeder.vote;
      if (votes !== undefined) obs.votes = votes;
      return obs;
    };
    const first = planMembership(observe(), DEFAULT_POLICY, now)[0]!;
    assert.notEqual(first.kind, 'bootstrap', 'bootstrap without a vote round');
    if (first.kind !== 'collect-votes') continue;
    assert.equal(first.desiredCapacity, s.n, 'votes are asked for over the desired capacity');
    const tally: VoteTally = { requestedAt: now, granted: [], refused: [] };
    for (const id of first.from) {
      const voter = agents[ids.indexOf(id)]!;
      const idx = ids.indexOf(id);
      if (voter.id !== seeder.id && r.answers[idx] === false) {
        tally.refused.push({ instanceId: id, reason: 'no answer' });
        continue;
      }
      const d = decideVote({
        candidate: seeder.id,
        desiredCapacity: first.desiredCapacity,
        localView: viewOf(voter.id, ids, r.voterMasks[idx] ?? 0),
        localDesiredCapacity: voter.capacityKnown ? s.n : undefined,
        local: { hasData: voter.bootstrapped, vote: voter.vote },
        now,
        voteTtlMs: DEFAULT_POLICY.voteTtlMs,
      });
      if (d.granted) {
        voter.vote = d.record;
        tally.granted.push(id);
      } else tally.refused.push({ instanceId: id, reason: d.reason });
    }
    const next = planMembership(observe(tally), DEFAULT_POLICY, now)[0]!;
    if (next.kind === 'bootstrap') {
      seeder.bootstrapped = true;
      bootstraps.push({ seeder: seeder.id, granted: tally.granted, reason: next.reason });
    }
  }
  return bootstraps;
}

describe('bootstrap with a partial view per agent', () => {
  test('every bootstrap holds a strict majority of the whole group, and at most one instance bootstraps', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const bootstraps = play(s);
        for (const b of bootstraps) {
          assert.ok(
            new Set(b.granted).size >= quorumSize(s.n),
            `${b.seeder} bootstrapped on ${b.granted.length} votes in a group of ${s.n}: ${b.reason}`,
          );
        }
        const seeders = new Set(bootstraps.map((b) => b.seeder));
        assert.ok(seeders.size <= 1, `two clusters: ${[...seeders].join(' and ')} both bootstrapped`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('the issue’s case: group of 4, capacity unreadable, A sees {A,C} and B sees {B,D}: nobody bootstraps', () => {
    const bootstraps = play({
      n: 4,
      capacityKnown: [false, false, false, false],
      rounds: [
        // i-1 sees {i-1, i-3}; i-3 sees everyone and votes for i-1.
        {
          seeder: 0,
          seederMask: 0b0100,
          voterMasks: [0, 0, 0b1111, 0],
          answers: [true, true, true, true],
          at: 0,
        },
        // i-2 sees {i-2, i-4}; i-4 sees {i-2, i-4} and votes for i-2.
        {
          seeder: 1,
          seederMask: 0b1000,
          voterMasks: [0, 0, 0, 0b0010],
          answers: [true, true, true, true],
          at: 10,
        },
      ],
    });
    assert.deepEqual(bootstraps, []);
  });

  test('the same views with the capacity readable: at most one of the two bootstraps, on 3 of 4 votes', () => {
    const bootstraps = play({
      n: 4,
      capacityKnown: [true, true, true, true],
      rounds: [
        {
          seeder: 0,
          seederMask: 0b1111,
          voterMasks: [0, 0b1111, 0b1111, 0b1111],
          answers: [true, true, true, true],
          at: 0,
        },
        {
          seeder: 1,
          seederMask: 0b1000,
          voterMasks: [0, 0, 0, 0b0010],
          answers: [true, true, true, true],
          at: 10,
        },
      ],
    });
    assert.equal(bootstraps.length, 1);
    assert.equal(bootstraps[0]!.seeder, 'i-1');
    assert.ok(bootstraps[0]!.granted.length >= 3);
  });
});

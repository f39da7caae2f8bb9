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
import { anObservation, ipOf, NOW } from '../../test/support/observation-builder.ts';
import { peerUrlFor } from './ids.ts';
import type { LocalRecord, PeerBootstrapView, VoteTally } from './observation.ts';
import type { Action } from './actions.ts';
import { planMembership } from './plan.ts';
import { DEFAULT_POLICY } from './policy.ts';
import { quorumSize } from './quorum.ts';
import { decideVote, isVoteUnexpired } from './vote.ts';

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

// ---------------------------------------------------------------------------------------------------
// The whole group at once (issue 11 §5): the same game with plans. Seed rounds as above (a random
// agent plans with its own fresh partial view; every instance it asks answers with the real
// decideVote, plan included, from its own fresh view; answers get dropped; the seeder may crash and
// lose its tally, or crash after recording its start on the plan and before etcd wrote anything).
// Interleaved with them, member rounds: a random agent plans with its own view and what the peers in
// it announce (their started plan's token, their data), up to twice the vote TTL after the boot, so
// votes expire. Whatever any planner decides to start is started.
//
// Checked: at most one cluster id ever forms (a start on a plan founds the cluster of its token, a
// bootstrap alone the cluster of its own token); a start on a plan only by a member of that plan, on
// the plan it recorded itself, on a plan every one of the D instances recorded in one fresh round of
// that seeder, and (unless resuming its own recorded start) while its vote still binds.

const PLAN_SEED = 20261201;
const PLAN_RUNS = 1500;
const TTL = DEFAULT_POLICY.voteTtlMs;

interface PlanAgent {
  id: string;
  record: LocalRecord;
  /** The cluster its etcd was started in (a data holder), if any. */
  cluster?: string;
}

const planScenario = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    events: fc.array(
      fc.oneof(
        fc.record({
          kind: fc.constant('seed' as const),
          agent: fc.nat({ max: n - 1 }),
          mask: fc.nat({ max: 2 ** n - 1 }),
          voterMasks: fc.array(fc.nat({ max: 2 ** n - 1 }), { minLength: n, maxLength: n }),
          answers: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
          // A full view for the seeder, and for a voter, is likely: else plans would be rare.
          fullViews: fc.boolean(),
          crash: fc.constantFrom('none', 'none', 'lose-tally', 'before-etcd'),
          // The series of rounds has already waited fullGroupWaitMs for agents that do not answer.
          waited: fc.boolean(),
          at: fc.nat({ max: TTL / 2 - 1000 }),
        }),
        fc.record({
          kind: fc.constant('member' as const),
          agent: fc.nat({ max: n - 1 }),
          mask: fc.nat({ max: 2 ** n - 1 }),
          reachable: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
          crash: fc.constantFrom('none', 'none', 'before-etcd'),
          at: fc.nat({ max: 2 * TTL }),
        }),
      ),
      { minLength: 1, maxLength: 16 },
    ),
  }),
);

type PlanScenario = typeof planScenario extends fc.Arbitrary<infer T> ? T : never;

function playWithPlans(s: PlanScenario) {
  const ids = Array.from({ length: s.n }, (_, i) => `i-${i + 1}`);
  const agents: PlanAgent[] = ids.map((id) => ({ id, record: {} }));
  const full = (1 << s.n) - 1;
  /** Plans whose seeder decided to start them (every instance recorded them in one fresh round). */
  const agreed = new Set<string>();
  const starts: { agent: string; cluster: string; via: 'alone' | 'plan'; reason: string }[] = [];
  const events = [...s.events].sort((a, b) => a.at - b.at);
  const observe = (agent: PlanAgent, mask: number, now: number, reachable?: boolean[]) => {
    const view = viewOf(agent.id, ids, mask);
    const peers: PeerBootstrapView[] = view
      .filter((id) => id !== agent.id)
      .map((id) => {
        const other = agents[ids.indexOf(id)]!;
        if (reachable !== undefined && reachable[ids.indexOf(id)] === false)
          return { instanceId: id, reachable: false };
        return {
          instanceId: id,
          reachable: true,
          hasData: other.cluster !== undefined,
          ...(other.record.planStarted !== undefined ? { planStarted: other.record.planStarted.token } : {}),
        };
      });
    return anObservation()
      .at(now)
      .withSelf(agent.id)
      .withGroup(view, { desiredCapacity: s.n })
      .clusterUnreachable()
      .withPeers(peers)
      .withRecord(agent.record)
      .withLocal({ hasData: agent.cluster !== undefined });
  };
  /** Carries out a planned start, and checks the plan rules at the moment of the start. */
  const start = (agent: PlanAgent, a: Action, now: number, crash: string) => {
    if (a.kind !== 'bootstrap') return;
    if (a.plan === undefined) {
      agent.cluster = `alone:${agent.id}:${a.token}`;
      starts.push({ agent: agent.id, cluster: agent.cluster, via: 'alone', reason: a.reason });
      return;
    }
    const plan = a.plan;
    assert.ok(
      plan.members.some((m) => m.instanceId === agent.id),
      `${agent.id} started on a plan it is no member of: ${a.reason}`,
    );
    assert.equal(
      agent.record.vote?.plan?.token,
      plan.token,
      `${agent.id} started on a plan it did not record`,
    );
    assert.ok(
      agreed.has(plan.token),
      `${agent.id} started on plan ${plan.token} that its seeder never agreed`,
    );
    const resuming = agent.record.planStarted?.token === plan.token;
    assert.ok(
      resuming || isVoteUnexpired(agent.record.vote, now, TTL),
      `${agent.id} started on an expired vote: ${a.reason}`,
    );
    agent.record = { ...agent.record, planStarted: { token: plan.token, at: now } };
    if (crash === 'before-etcd') return; // recorded, and announced, but etcd never ran
    agent.cluster = `plan:${plan.token}`;
    starts.push({ agent: agent.id, cluster: agent.cluster, via: 'plan', reason: a.reason });
  };
  for (const e of events) {
    const agent = agents[e.agent]!;
    const now = NOW + e.at;
    if (agent.cluster !== undefined) continue; // a data holder only restarts on its data
    if (e.kind === 'member') {
      start(
        agent,
        planMembership(observe(agent, e.mask, now, e.reachable).build(), DEFAULT_POLICY, now)[0]!,
        now,
        e.crash,
      );
      continue;
    }
    const seederMask = e.fullViews ? full : e.mask;
    const firstPlan = planMembership(observe(agent, seederMask, now).build(), DEFAULT_POLICY, now);
    const first = firstPlan[0]!;
    if (first.kind === 'bootstrap') {
      // Only a start on its own recorded plan comes without a vote round.
      assert.ok(first.plan !== undefined, `bootstrap alone without a vote round: ${first.reason}`);
      start(agent, first, now, e.crash);
      continue;
    }
    if (first.kind !== 'collect-votes') continue;
    const since = now - (e.waited ? DEFAULT_POLICY.fullGroupWaitMs : 0);
    const tally: VoteTally = { requestedAt: now, granted: [], refused: [], since };
    if (first.plan !== undefined) {
      tally.plan = first.plan;
      tally.planAccepted = [];
      tally.noAnswer = [];
    }
    for (const id of first.from) {
      const idx = ids.indexOf(id);
      const voter = agents[idx]!;
      if (voter.id !== agent.id && e.answers[idx] === false) {
        tally.refused.push({ instanceId: id, reason: 'no answer' });
        tally.noAnswer?.push(id);
        continue;
      }
      const d = decideVote({
        candidate: agent.id,
        desiredCapacity: first.desiredCapacity,
        localView: viewOf(voter.id, ids, e.fullViews ? full : (e.voterMasks[idx] ?? 0)),
        localDesiredCapacity: s.n,
        local: {
          hasData: voter.cluster !== undefined,
          vote: voter.record.vote,
          planStarted: voter.record.planStarted,
        },
        now,
        voteTtlMs: TTL,
        ...(first.plan !== undefined ? { plan: first.plan } : {}),
        voter: { instanceId: voter.id, peerUrl: peerUrlFor(ipOf(voter.id)) },
        maxVoters: DEFAULT_POLICY.maxVoters,
      });
      if (d.granted) {
        voter.record = { ...voter.record, vote: d.record };
        tally.granted.push(id);
        if (d.planAccepted === true) tally.planAccepted?.push(id);
      } else tally.refused.push({ instanceId: id, reason: d.reason });
    }
    if (e.crash === 'lose-tally') continue;
    const obs = observe(agent, seederMask, now).build();
    obs.votes = tally;
    const next = planMembership(obs, DEFAULT_POLICY, now)[0]!;
    if (next.kind === 'bootstrap' && next.plan !== undefined) {
      const everyone = next.plan.instances.every(
        (id) => tally.granted.includes(id) && tally.planAccepted?.includes(id) === true,
      );
      assert.ok(everyone, `${agent.id} started a plan not every instance recorded: ${next.reason}`);
      agreed.add(next.plan.token);
    }
    if (next.kind === 'bootstrap' && next.plan === undefined)
      assert.ok(
        new Set(tally.granted).size >= quorumSize(s.n),
        `${agent.id} bootstrapped alone on ${tally.granted.length} votes of ${s.n}: ${next.reason}`,
      );
    start(agent, next, now, e.crash);
  }
  return starts;
}

describe('bootstrap with plans (the whole group at once) and partial views, dropped answers, expiries and crashes', () => {
  test('at most one cluster id ever forms; plans start only as recorded, agreed by all D, and while the vote binds', () => {
    let planStarts = 0;
    let aloneStarts = 0;
    fc.assert(
      fc.property(planScenario, (s) => {
        const starts = playWithPlans(s);
        planStarts += starts.filter((x) => x.via === 'plan').length;
        aloneStarts += starts.filter((x) => x.via === 'alone').length;
        const clusters = new Set(starts.map((x) => x.cluster));
        assert.ok(
          clusters.size <= 1,
          `two clusters: ${starts.map((x) => `${x.agent} → ${x.cluster} (${x.reason})`).join('; ')}`,
        );
      }),
      { seed: PLAN_SEED, numRuns: PLAN_RUNS },
    );
    // The game must reach both paths, or it proves nothing about them.
    assert.ok(planStarts > 200, `only ${planStarts} starts on a plan`);
    assert.ok(aloneStarts > 50, `only ${aloneStarts} bootstraps alone`);
  });

  test('the whole group seen alike and every answer arriving: every instance starts on one plan', () => {
    const n = 3;
    const starts = playWithPlans({
      n,
      events: [
        {
          kind: 'seed',
          agent: 0,
          mask: 0,
          voterMasks: [0, 0, 0],
          answers: [true, true, true],
          fullViews: true,
          crash: 'none',
          waited: false,
          at: 0,
        },
        { kind: 'member', agent: 1, mask: 0b111, reachable: [true, true, true], crash: 'none', at: 1000 },
        { kind: 'member', agent: 2, mask: 0b111, reachable: [true, true, true], crash: 'none', at: 1500 },
      ],
    });
    assert.deepEqual(
      starts.map((x) => [x.agent, x.via]),
      [
        ['i-1', 'plan'],
        ['i-2', 'plan'],
        ['i-3', 'plan'],
      ],
    );
  });

  test('one dropped answer: the seeder asks again within the wait, then bootstraps alone; nobody starts the plan', () => {
    const round = (waited: boolean) =>
      playWithPlans({
        n: 3,
        events: [
          {
            kind: 'seed',
            agent: 0,
            mask: 0,
            voterMasks: [0, 0, 0],
            answers: [true, true, false],
            fullViews: true,
            crash: 'none',
            waited,
            at: 0,
          },
          { kind: 'member', agent: 1, mask: 0b111, reachable: [true, true, true], crash: 'none', at: 500 },
        ],
      });
    assert.deepEqual(round(false), []);
    assert.deepEqual(
      round(true).map((x) => [x.agent, x.via]),
      [['i-1', 'alone']],
    );
  });

  test('a seeder that crashed after recording its start resumes it; the members follow its announcement', () => {
    const starts = playWithPlans({
      n: 3,
      events: [
        {
          kind: 'seed',
          agent: 0,
          mask: 0,
          voterMasks: [0, 0, 0],
          answers: [true, true, true],
          fullViews: true,
          crash: 'before-etcd',
          waited: false,
          at: 0,
        },
        { kind: 'member', agent: 1, mask: 0b111, reachable: [true, true, true], crash: 'none', at: 1000 },
        {
          kind: 'member',
          agent: 0,
          mask: 0b111,
          reachable: [true, true, true],
          crash: 'none',
          at: 2 * TTL - 1,
        },
      ],
    });
    assert.deepEqual(
      starts.map((x) => [x.agent, x.via]),
      [
        ['i-2', 'plan'],
        ['i-1', 'plan'],
      ],
    );
  });
});

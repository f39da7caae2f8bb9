/**
 * Property tests for the planner's safety rules (docs/design.md "Safety rules"): random observations,
 * invariants checked on the FIRST action (the only one the executor applies). fast-check runs with a
 * fixed seed; on failure it prints the seed, the path and the shrunk counterexample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planMembership, describePlan } from './plan.ts';
import { DEFAULT_POLICY } from './policy.ts';
import type { Policy } from './policy.ts';
import type { Action } from './actions.ts';
import type {
  GroupView,
  LocalView,
  MemberView,
  NoticeView,
  Observation,
  PeerBootstrapView,
  VoteTally,
} from './observation.ts';
import { clientUrlFor, peerUrlFor } from './ids.ts';
import { CLUSTER_ID, ipOf, memberIdOf, NOW } from '../../test/support/observation-builder.ts';

const SEED = 20260101;
const RUNS = 1000;
const POOL = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6', 'i-7'];
const TTL = DEFAULT_POLICY.memberDeadAfterMs;
const LEADER_INDEX = 50_000;
const VERSIONS = ['3.4.23', '3.5.21', '3.6.5', '3.7.1', '4.0.0'];

interface Scenario {
  obs: Observation;
  policy: Policy;
}

const weighted = (pTrue: number): fc.Arbitrary<boolean> =>
  fc.integer({ min: 1, max: 100 }).map((n) => n <= pTrue * 100);

interface NoticeSpec {
  advisory: boolean;
  seenAgo: number;
  deadlineIn: number | undefined;
}

const memberSpec = fc.record({
  slot: fc.nat({ max: POOL.length - 1 }),
  stale: weighted(0.1),
  learner: weighted(0.3),
  reachable: weighted(0.65),
  downFor: fc.option(fc.integer({ min: 0, max: 4 * TTL }), { nil: undefined, freq: 4 }),
  unstarted: weighted(0.12),
  unstartedFor: fc.option(fc.integer({ min: 0, max: 4 * DEFAULT_POLICY.unstartedMemberTtlMs }), {
    nil: undefined,
    freq: 4,
  }),
  lag: fc.integer({ min: 0, max: 3000 }),
  follows: weighted(0.85),
  generation: fc.nat({ max: 1 }),
  terminated: weighted(0.3),
  version: fc.option(fc.constantFrom(...VERSIONS), { nil: undefined, freq: 3 }),
});

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    selfSlot: fc.nat({ max: POOL.length - 1 }),
    group: fc.oneof(
      { weight: 1, arbitrary: fc.constant<'error'>('error') },
      { weight: 5, arbitrary: fc.subarray(POOL) },
    ),
    selfInGroup: weighted(0.85),
    desiredCapacity: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
    clusterReachable: weighted(0.75),
    members: fc.uniqueArray(memberSpec, { selector: (m) => m.slot, maxLength: POOL.length }),
    selfHasMember: weighted(0.7),
    leader: fc.oneof(
      fc.constant<'none'>('none'),
      fc.constant<'self'>('self'),
      fc.nat({ max: POOL.length - 1 }),
    ),
    notices: fc.oneof(
      { weight: 3, arbitrary: fc.constant([] as NoticeSpec[]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.record({
            advisory: weighted(0.3),
            seenAgo: fc.integer({ min: 0, max: 60_000 }),
            // undefined: a notice without a deadline (the Spot API's TERMINATING).
            deadlineIn: fc.option(fc.integer({ min: -5_000, max: 120_000 }), { nil: undefined, freq: 5 }),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
    /** Make local state agree with a running member of the current cluster (the common case). */
    coherent: weighted(0.45),
    /** Bias towards a cold start where self may be the seeder (bootstrap is otherwise rare). */
    coldStart: weighted(0.08),
    /** Bias towards self joining (or rejoining) a reachable cluster with etcd stopped. */
    joining: weighted(0.15),
    local: fc.record({
      etcdRunning: fc.boolean(),
      hasData: fc.boolean(),
      recordMember: fc.constantFrom('none', 'self', 'other'),
      recordCluster: fc.constantFrom('none', 'same', 'other'),
      left: weighted(0.15),
      lastExitRemoved: fc.option(fc.boolean(), { nil: undefined }),
      startFailures: fc.nat({ max: 3 }),
      nextStartIn: fc.option(fc.integer({ min: -5000, max: 5000 }), { nil: undefined }),
      signalledReady: fc.boolean(),
      vote: fc.option(
        fc.record({ candidate: fc.constantFrom(...POOL), ago: fc.integer({ min: -1000, max: 60_000 }) }),
        { nil: undefined },
      ),
    }),
    peers: fc.option(
      fc.array(
        fc.record({ slot: fc.nat({ max: POOL.length - 1 }), hasData: weighted(0.2), cluster: weighted(0.1) }),
        { maxLength: 7 },
      ),
      { nil: undefined },
    ),
    votes: fc.option(
      fc.record({
        ago: fc.integer({ min: -1000, max: 40_000 }),
        granted: fc.subarray(POOL),
        refused: fc.subarray(POOL),
      }),
      { nil: undefined },
    ),
    policy: fc.record({
      maxVoters: fc.constantFrom(1, 3, 5, 7),
      maxLearners: fc.constantFrom(1, 1, 2, 3),
      leaveOnRebalance: fc.boolean(),
    }),
    selfVersion: fc.option(fc.constantFrom(...VERSIONS), { nil: undefined, freq: 3 }),
    recordUnreadable: weighted(0.08),
  })
  .map((raw): Scenario => {
    const g = raw.coldStart
      ? {
          ...raw,
          clusterReachable: false,
          notices: [] as NoticeSpec[],
          local: {
            ...raw.local,
            etcdRunning: false,
            hasData: false,
            left: false,
            recordCluster: 'none' as const,
          },
          group: raw.group === 'error' ? raw.group : raw.group.filter((id) => id >= POOL[raw.selfSlot]!),
          votes:
            raw.votes === undefined
              ? undefined
              : { ...raw.votes, granted: [...raw.votes.granted, ...POOL.slice(raw.selfSlot)] },
          peers: raw.peers?.map((p) => ({ ...p, hasData: false, cluster: false })),
        }
      : raw.joining
        ? {
            ...raw,
            clusterReachable: true,
            coherent: false,
            selfInGroup: true,
            notices: [] as NoticeSpec[],
            local: { ...raw.local, etcdRunning: false, left: false },
          }
        : raw;
    const self = POOL[g.selfSlot]!;
    const selfIp = ipOf(self);
    let groupView: GroupView;
    if (g.group === 'error') groupView = { ok: false, error: 'spot api: 503' };
    else {
      const ids = new Set(g.group);
      if (g.selfInGroup) ids.add(self);
      else ids.delete(self);
      groupView = {
        ok: true,
        instances: [...ids].sort().map((id) => ({ id, privateIp: ipOf(id) })),
        fetchedAt: NOW,
      };
      if (g.desiredCapacity !== undefined) groupView.desiredCapacity = g.desiredCapacity;
    }
    // Members: one per pool IP at most; self's slot only when selfHasMember.
    const specs = g.members.filter((m) => (m.slot === g.selfSlot ? g.selfHasMember : true));
    if (g.selfHasMember && !specs.some((m) => m.slot === g.selfSlot) && g.members[0] !== undefined) {
      specs.unshift({ ...g.members[0], slot: g.selfSlot, stale: false });
    }
    const names = specs.map((m) =>
      m.stale && m.slot !== g.selfSlot ? `i-old${m.slot}` : m.stale ? `i-old${m.slot}` : POOL[m.slot]!,
    );
    const ids = specs.map((m, i) => memberIdOf(names[i]!, m.generation));
    let leaderIdx: number | undefined;
    if (g.leader === 'self') leaderIdx = specs.findIndex((m) => m.slot === g.selfSlot);
    else if (g.leader !== 'none') leaderIdx = g.leader % Math.max(1, specs.length);
    if (leaderIdx !== undefined && (leaderIdx < 0 || leaderIdx >= specs.length)) leaderIdx = undefined;
    const leaderId = leaderIdx === undefined ? undefined : ids[leaderIdx];
    const members: MemberView[] = specs.map((s, i) => {
      const ip = ipOf(POOL[s.slot]!);
      const unstarted = s.unstarted;
      const reachable = unstarted ? false : s.reachable || i === leaderIdx;
      const m: MemberView = {
        id: ids[i]!,
        name: unstarted ? '' : names[i]!,
        peerUrls: [peerUrlFor(ip)],
        clientUrls: unstarted ? [] : [clientUrlFor(ip)],
        isLearner: s.learner && i !== leaderIdx,
        reachable,
      };
      if (reachable && s.version !== undefined) m.version = s.version;
      if (!reachable && s.downFor !== undefined) m.unreachableSince = NOW - s.downFor;
      // The cloud's word may be wrong or stale here: the planner must still need the list's proof too.
      if (!unstarted && s.terminated) m.instanceTerminated = true;
      if (unstarted && s.unstartedFor !== undefined) m.unstartedSince = NOW - s.unstartedFor;
      if (reachable) {
        m.raftIndex = i === leaderIdx ? LEADER_INDEX : LEADER_INDEX - s.lag;
        if (leaderId !== undefined && (s.follows || i === leaderIdx)) m.leaderId = leaderId;
      }
      return m;
    });
    const selfMember = members.find((m) => m.peerUrls.includes(peerUrlFor(selfIp)));
    const l = g.coherent
      ? {
          ...g.local,
          etcdRunning: true,
          hasData: true,
          recordMember: 'self',
          recordCluster: 'same',
          left: false,
        }
      : g.local;
    const record: LocalView['record'] = {};
    if (l.recordMember === 'self' && selfMember !== undefined) record.memberId = selfMember.id;
    if (l.recordMember === 'other') record.memberId = memberIdOf(`${self}-previous-life`);
    if (l.recordCluster === 'same') record.clusterId = CLUSTER_ID;
    if (l.recordCluster === 'other') record.clusterId = '1111111111111111';
    if (l.left) record.left = { at: NOW - 10_000, reason: 'termination notice' };
    if (l.vote !== undefined) record.vote = { candidate: l.vote.candidate, at: NOW - l.vote.ago };
    const local: LocalView = {
      etcdRunning: l.etcdRunning,
      hasData: l.hasData,
      record,
      startFailures: l.startFailures,
      signalledReady: l.signalledReady,
    };
    if (l.lastExitRemoved !== undefined)
      local.lastExit = { at: NOW - 5000, code: 0, removed: l.lastExitRemoved };
    if (l.nextStartIn !== undefined) local.nextStartAt = NOW + l.nextStartIn;
    if (g.selfVersion !== undefined) local.etcdVersion = g.selfVersion;
    if (g.recordUnreadable) local.recordError = 'state.json is not valid JSON';
    const notices: NoticeView[] = g.notices.map((n, i) => ({
      source: n.advisory ? 'imds-rebalance' : `imds-spot-${i}`,
      seenAt: NOW - n.seenAgo,
      detail: n.advisory ? 'rebalance recommendation' : 'spot interruption',
      ...(n.advisory
        ? { advisory: true }
        : n.deadlineIn === undefined
          ? {}
          : { deadline: NOW + n.deadlineIn }),
    }));
    const obs: Observation = {
      self: {
        instanceId: self,
        privateIp: selfIp,
        peerUrl: peerUrlFor(selfIp),
        clientUrl: clientUrlFor(selfIp),
      },
      group: groupView,
      termination: { notices, errors: [] },
      local,
      cluster: g.clusterReachable
        ? { reachable: true, clusterId: CLUSTER_ID, members, leaderId, via: clientUrlFor(selfIp) }
        : { reachable: false, error: 'no member answered', probed: [] },
    };
    if (g.peers !== undefined) {
      obs.peers = g.peers.map((p): PeerBootstrapView => ({
        instanceId: POOL[p.slot]!,
        reachable: true,
        hasData: p.hasData,
        ...(p.cluster ? { clusterId: 'abcdefabcdefabcd' } : {}),
      }));
    }
    if (g.votes !== undefined) {
      const tally: VoteTally = {
        requestedAt: NOW - g.votes.ago,
        granted: g.votes.granted,
        refused: g.votes.refused
          .filter((id) => !g.votes!.granted.includes(id))
          .map((instanceId) => ({ instanceId, reason: 'no' })),
      };
      obs.votes = tally;
    }
    return { obs, policy: { ...DEFAULT_POLICY, ...g.policy } };
  });

// --- independent restatements of the rules (deliberately not the planner's helpers) ---------------

const quorum = (n: number): number => Math.floor(n / 2) + 1;
const hostOf = (m: MemberView): string | undefined => /^https?:\/\/([^:/]+)/.exec(m.peerUrls[0] ?? '')?.[1];

function selfMemberOf(obs: Observation): MemberView | undefined {
  return obs.cluster.reachable
    ? obs.cluster.members.find((m) => m.peerUrls.includes(obs.self.peerUrl))
    : undefined;
}

function hasEffectiveNotice(s: Scenario): boolean {
  return s.obs.termination.notices.some((n) => n.advisory !== true || s.policy.leaveOnRebalance);
}

function groupPlausible(obs: Observation): boolean {
  return (
    obs.group.ok &&
    obs.group.instances.length > 0 &&
    obs.group.instances.some((i) => i.id === obs.self.instanceId)
  );
}

function instanceRunning(obs: Observation, m: MemberView): boolean {
  if (!obs.group.ok) return true; // unknown counts as running
  return obs.group.instances.some((i) => i.privateIp === hostOf(m));
}

function firstAction(s: Scenario): { a: Action; all: Action[] } {
  const all = planMembership(s.obs, s.policy, NOW);
  assert.ok(all.length > 0, 'a plan is never empty');
  return { a: all[0]!, all };
}

function check(name: string, invariant: (s: Scenario, a: Action) => void): void {
  test(name, () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { a, all } = firstAction(s);
        try {
          invariant(s, a);
        } catch (err) {
          throw new Error(`${(err as Error).message}\nplan:\n${describePlan(all)}`, { cause: err });
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
}

test('leave after the replacement (B4a) only ever waits, and never past leaveMargin: a leave that would have made the deadline still does', () => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const withRule = planMembership(s.obs, s.policy, NOW);
      const without = planMembership(s.obs, { ...s.policy, leaveAfterReplacement: false }, NOW);
      if (JSON.stringify(withRule) === JSON.stringify(without)) return;
      const a = withRule[0]!;
      assert.equal(a.kind, 'wait', `B4a produced ${a.kind}: ${describePlan(withRule)}`);
      assert.match(a.reason, /staying a voter until the replacement can take over/);
      const deadlines = s.obs.termination.notices.flatMap((n) =>
        n.deadline === undefined ? [] : [n.deadline],
      );
      assert.ok(deadlines.length > 0, 'waited on a notice without a deadline');
      assert.ok(
        Math.min(...deadlines) - NOW > s.policy.leaveMarginMs,
        `waited with ${Math.min(...deadlines) - NOW} ms left ≤ margin ${s.policy.leaveMarginMs}`,
      );
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

check('never a removal that leaves healthy voters below quorum', (s, a) => {
  if (a.kind !== 'remove-member') return;
  assert.ok(s.obs.cluster.reachable, 'removal without a reachable cluster');
  assert.ok(s.obs.cluster.leaderId !== undefined, 'removal without a leader');
  const self = selfMemberOf(s.obs);
  const members = s.obs.cluster.members;
  const healthy = (m: MemberView): boolean =>
    !m.isLearner && m.reachable && (m.leaderId !== undefined || m === self);
  const removed = members.find((m) => m.id === a.memberId);
  assert.ok(removed !== undefined, 'removes a member that is not in the list');
  const after = members.filter((m) => m !== removed);
  const voters = after.filter((m) => !m.isLearner).length;
  const healthyAfter = after.filter(healthy).length;
  assert.ok(
    healthyAfter >= quorum(voters),
    `${healthyAfter} healthy of ${voters} voters < quorum ${quorum(voters)}`,
  );
});

check(
  'never add-self-as-learner while an unstarted member exists, or a learner with agent.maxLearners 1',
  (s, a) => {
    if (a.kind !== 'add-self-as-learner') return;
    assert.ok(s.obs.cluster.reachable);
    assert.ok(!s.obs.cluster.members.some((m) => m.name === ''), 'pending add');
    if (s.policy.maxLearners === 1)
      assert.ok(!s.obs.cluster.members.some((m) => m.isLearner), 'second learner');
    assert.ok(
      s.obs.cluster.members.filter((m) => !m.isLearner).every((m) => m.reachable),
      'add while a voter is down',
    );
  },
);

check(
  'never remove a reachable member whose instance is running, unless it is self leaving on a notice',
  (s, a) => {
    if (a.kind !== 'remove-member' || !s.obs.cluster.reachable) return;
    const m = s.obs.cluster.members.find((x) => x.id === a.memberId)!;
    if (!m.reachable || !instanceRunning(s.obs, m)) return;
    assert.equal(m, selfMemberOf(s.obs), 'removes a reachable member of a running instance');
    assert.ok(hasEffectiveNotice(s), 'removes self without a notice');
    assert.equal(a.why, 'self-leave');
  },
);

check('self-leave only on a termination notice', (s, a) => {
  if (a.kind === 'remove-member' && a.why === 'self-leave') assert.ok(hasEffectiveNotice(s));
  if (a.kind === 'mark-left') assert.ok(hasEffectiveNotice(s));
});

check(
  'nothing destructive on an unknown or implausible group list, except self-leave and the left-record wipe',
  (s, a) => {
    if (groupPlausible(s.obs)) return;
    if (a.kind === 'remove-member')
      assert.equal(a.why, 'self-leave', `${a.why} removal on an implausible group list`);
    if (a.kind === 'wipe-data')
      assert.ok(s.obs.local.record.left !== undefined, 'wipe on an implausible group list');
  },
);

check('never wipe-data when the cluster is unreachable or has no leader', (s, a) => {
  if (a.kind !== 'wipe-data') return;
  assert.ok(s.obs.cluster.reachable, 'wipe without a cluster');
  assert.ok(s.obs.cluster.leaderId !== undefined, 'wipe without a leader');
});

check('never bootstrap over local data, a running etcd, a reachable cluster or a peer with data', (s, a) => {
  if (a.kind !== 'bootstrap') return;
  assert.equal(s.obs.local.hasData, false);
  assert.equal(s.obs.local.etcdRunning, false);
  assert.equal(s.obs.cluster.reachable, false);
  assert.ok(!(s.obs.peers ?? []).some((p) => p.hasData === true || p.clusterId !== undefined));
  assert.ok(s.obs.group.ok);
  const ids = s.obs.group.instances.map((i) => i.id).sort();
  assert.equal(ids[0], s.obs.self.instanceId, 'only the lowest id bootstraps');
  const desired = s.obs.group.desiredCapacity;
  assert.ok(desired !== undefined && desired >= 1, `bootstrap with an unknown desired capacity (${desired})`);
  const n = Math.max(desired, ids.length);
  const granted = new Set((s.obs.votes?.granted ?? []).filter((id) => ids.includes(id)));
  assert.ok(granted.size >= quorum(n), `bootstrap with ${granted.size} of ${n} votes`);
  assert.ok(
    s.obs.votes !== undefined && NOW - s.obs.votes.requestedAt < s.policy.voteTtlMs / 2,
    'stale tally',
  );
});

check(
  'cluster-wide removals only on the leader’s agent (or a leaver removing a confirmed-dead member)',
  (s, a) => {
    if (a.kind !== 'remove-member' || a.why === 'self-leave' || a.why === 'own-data-lost') return;
    const self = selfMemberOf(s.obs);
    if (a.memberId === self?.id) return; // self's peer URL held by a stale member: a self-duty (row D1)
    assert.ok(s.obs.cluster.reachable);
    const selfIsLeader = self !== undefined && self.id === s.obs.cluster.leaderId && self.reachable;
    if (selfIsLeader) return;
    // Row B7: a leaver removes a member whose instance the cloud confirms gone, to keep quorum.
    const m = s.obs.cluster.members.find((x) => x.id === a.memberId)!;
    assert.equal(a.why, 'dead', `${a.why} removal by a non-leader`);
    assert.ok(hasEffectiveNotice(s), 'dead removal by a non-leader without a notice');
    assert.ok(
      !m.reachable && !instanceRunning(s.obs, m) && groupPlausible(s.obs),
      'B7 removal without proof',
    );
  },
);

check(
  'reaping needs both signals: instance gone and unreachable past the TTL (or unstarted past its TTL)',
  (s, a) => {
    if (a.kind !== 'remove-member' || !s.obs.cluster.reachable || hasEffectiveNotice(s)) return;
    const m = s.obs.cluster.members.find((x) => x.id === a.memberId)!;
    if (a.why === 'dead') {
      assert.ok(!instanceRunning(s.obs, m) && !m.reachable);
      const ttl =
        m.instanceTerminated === true
          ? Math.min(s.policy.terminatedMemberDeadAfterMs, s.policy.memberDeadAfterMs)
          : s.policy.memberDeadAfterMs;
      assert.ok(m.unreachableSince !== undefined && NOW - m.unreachableSince > ttl);
    }
    if (a.why === 'unstarted') {
      assert.ok(
        m.name === '' &&
          m.unstartedSince !== undefined &&
          NOW - m.unstartedSince > s.policy.unstartedMemberTtlMs,
      );
    }
    if (a.why === 'stale-peer-url')
      assert.ok(
        !m.reachable &&
          m.name !== '' &&
          s.obs.group.ok &&
          !s.obs.group.instances.some((i) => i.id === m.name),
      );
  },
);

check('every action carries a reason', (s) => {
  for (const a of planMembership(s.obs, s.policy, NOW))
    assert.ok(typeof a.reason === 'string' && a.reason.trim().length > 0, `${a.kind} without a reason`);
});

test('the generator reaches every interesting first action (the properties are not vacuous)', () => {
  const seen = new Map<string, number>();
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const { a } = firstAction(s);
      const key = a.kind === 'remove-member' ? `remove-member:${a.why}` : a.kind;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }),
    { seed: SEED, numRuns: 4 * RUNS },
  );
  const expected = [
    'wait',
    'remove-member:self-leave',
    'remove-member:dead',
    'remove-member:unstarted',
    'remove-member:stale-peer-url',
    'remove-member:own-data-lost',
    'wipe-data',
    'add-self-as-learner',
    'promote-member',
    'move-leader',
    'start-etcd',
    'stop-etcd',
    'collect-votes',
    'bootstrap',
    'mark-left',
    'clear-left',
    'signal-ready-to-shutdown',
  ];
  const missing = expected.filter((k) => !seen.has(k));
  assert.deepEqual(
    missing,
    [],
    `never produced: ${missing.join(', ')}; seen ${JSON.stringify(Object.fromEntries(seen))}`,
  );
});

// --- etcd's version and learner rules (issue 7 §4), restated from etcd's source ------------------

const parse = (v: string | undefined): { major: number; minor: number } | undefined => {
  const m = /^(\d+)\.(\d+)\./.exec(v ?? '');
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
};

check(
  'never add self when etcd would refuse the member: a version below the cluster’s or 2+ minors above',
  (s, a) => {
    if (a.kind !== 'add-self-as-learner' || !s.obs.cluster.reachable) return;
    const self = parse(s.obs.local.etcdVersion);
    const versions = s.obs.cluster.members.map((m) => parse(m.version)).filter((v) => v !== undefined);
    if (self === undefined || versions.length === 0) return;
    const low = versions.reduce((x, y) =>
      y.major < x.major || (y.major === x.major && y.minor < x.minor) ? y : x,
    );
    assert.equal(
      self.major,
      low.major,
      `etcd ${s.obs.local.etcdVersion} joining a ${low.major}.${low.minor} cluster`,
    );
    assert.ok(
      self.minor === low.minor || self.minor === low.minor + 1,
      `etcd ${s.obs.local.etcdVersion} joining a ${low.major}.${low.minor} cluster`,
    );
  },
);

check(
  'never add a learner beyond the limit: one while any member runs etcd < 3.6, else agent.maxLearners',
  (s, a) => {
    if (a.kind !== 'add-self-as-learner' || !s.obs.cluster.reachable) return;
    const learners = s.obs.cluster.members.filter((m) => m.isLearner).length;
    const old = s.obs.cluster.members.some((m) => {
      const v = parse(m.version);
      return v === undefined || v.major < 3 || (v.major === 3 && v.minor < 6);
    });
    const limit = old ? 1 : s.policy.maxLearners;
    assert.ok(learners < limit, `${learners} learners, limit ${limit}`);
  },
);

check('with state.json unreadable, nothing that relies on it runs', (s, a) => {
  if (s.obs.local.recordError === undefined) return;
  const needsRecord =
    a.kind === 'wipe-data' ||
    a.kind === 'bootstrap' ||
    a.kind === 'mark-left' ||
    a.kind === 'clear-left' ||
    a.kind === 'collect-votes' ||
    (a.kind === 'remove-member' && a.why !== 'self-leave');
  assert.ok(!needsRecord, `${a.kind} planned with an unreadable state file`);
});

/** What an action does, without its reason (reasons name the list's source; the decision must not change). */
function decision(a: Action): string {
  const { reason: _reason, ...rest } = a;
  return JSON.stringify(rest);
}

test("a group list shared by the leader's agent is never more trusted than no list at all: the same decisions as with the cloud unreadable", () => {
  let destructiveOnDirect = 0;
  fc.assert(
    fc.property(scenarioArb, (s) => {
      if (!s.obs.group.ok) return;
      const shared: Observation = { ...s.obs, group: { ...s.obs.group, sharedBy: 'i-7' } };
      const unknown: Observation = { ...s.obs, group: { ok: false, error: 'spot api: 503' } };
      const withShared = planMembership(shared, s.policy, NOW).map(decision);
      const withUnknown = planMembership(unknown, s.policy, NOW).map(decision);
      assert.deepEqual(withShared, withUnknown, describePlan(planMembership(shared, s.policy, NOW)));
      const a = planMembership(s.obs, s.policy, NOW)[0]!;
      if (
        a.kind === 'wipe-data' ||
        a.kind === 'bootstrap' ||
        a.kind === 'collect-votes' ||
        (a.kind === 'remove-member' && a.why !== 'self-leave')
      )
        destructiveOnDirect++;
    }),
    { seed: SEED, numRuns: RUNS },
  );
  // Not vacuous: the same observations with the list direct do take destructive steps.
  assert.ok(destructiveOnDirect > 20, `only ${destructiveOnDirect} destructive plans on direct lists`);
});

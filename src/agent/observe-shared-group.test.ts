/**
 * One cloud poller per cluster (issue 11 §3), the observer's side: a calm follower reads the leader's
 * agent's group list instead of the cloud; it falls back to the cloud when that copy is missing, refused
 * (unsigned, badly signed, another agent), stale or without self; any observation that is not calm
 * plans on a list of its own; the steady leader's agent polls slowly and at once fast again when
 * something happens; an agent shares only its own answers from the cloud.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GroupInstanceView, GroupView, TerminationView } from '../core/observation.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import { planMembership } from '../core/plan.ts';
import type { InstanceMetadata } from '../ports/instance-metadata.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { LocalStateStore } from './local-state.ts';
import { Observer, sharedListProblem } from './observe.ts';
import { FakeEtcd, FakeGroup, FakeRunner, memberStatus, recordingLogger } from './testing/fakes.ts';
import type { SharedGroupAnswer, SharedGroupList } from './types.ts';
import { newAgentMemory } from './types.ts';

const C = 'cccccccccccccccc';
const mid = (n: number) => `000000000000000${n}`;
const url = (n: number) => `http://10.0.0.${n}:2379`;
const peer = (n: number) => `http://10.0.0.${n}:2380`;
const POLL = 10_000;
const STEADY = 60_000;
const FOLLOWER = 60_000;
const listOf = (ids: number[]): GroupInstanceView[] =>
  ids.map((i) => ({ id: `i-${i}`, privateIp: `10.0.0.${i}` }));

describe('Observer: the group list shared by the leader’s agent', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-shared-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Self i-1 of a 3-member cluster whose leader is `leader` (1..3); every etcd answers. */
  function setup(opts: { self?: number; leader?: number; jitter?: number; random?: () => number } = {}) {
    const selfN = opts.self ?? 1;
    const clock = new ManualClock(1_000_000);
    const etcd = new FakeEtcd();
    const group = new FakeGroup();
    group.instances = listOf([1, 2, 3]);
    const metadata: InstanceMetadata = {
      identity: async () => ({ instanceId: `i-${selfN}`, privateIp: `10.0.0.${selfN}` }),
      get: async () => undefined,
    };
    const runner = new FakeRunner();
    runner.running = true;
    let notices: TerminationView['notices'] = [];
    const asked: string[] = [];
    // What the leader's agent answers; by default a fresh copy of the cloud's list, signed and well formed.
    let answer = (p: GroupInstanceView): SharedGroupAnswer => ({
      ok: true,
      list: {
        instanceId: p.id,
        source: 'fake group',
        fetchedAt: clock.now() - 2000,
        ageMs: 2000,
        pollIntervalMs: STEADY,
        instances: group.instances.map((i) => ({ ...i })),
      },
    });
    const observer = new Observer({
      settings: {
        dataDir: '/d',
        clientPort: 2379,
        peerPort: 2380,
        statusPort: 2378,
        callTimeoutMs: 200,
        cloudTimeoutMs: 200,
        cycleIntervalMs: 100,
        groupPollIntervalMs: POLL,
        steadyGroupPollIntervalMs: STEADY,
        followerGroupPollIntervalMs: FOLLOWER,
        ...(opts.jitter !== undefined ? { pollJitter: opts.jitter } : {}),
        policy: DEFAULT_POLICY,
      },
      metadata,
      group,
      etcd,
      runner,
      termination: { view: () => ({ notices, errors: [] }) },
      store: new LocalStateStore(join(dir, `s${++n}`)),
      peers: {
        bootstrapView: async (p) => ({ instanceId: p.id, reachable: true }),
        requestVote: async () => ({ granted: false, reason: 'x' }),
        groupList: async (p) => {
          asked.push(`${p.id}@${p.privateIp}`);
          return answer(p);
        },
      },
      memory: newAgentMemory(),
      hasData: async () => true,
      clock,
      logger: recordingLogger(),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
    });
    etcd.members = [1, 2, 3].map((i) => ({
      id: mid(i),
      name: `i-${i}`,
      peerUrls: [peer(i)],
      clientUrls: [url(i)],
      isLearner: false,
    }));
    const setLeader = (l: number) => {
      for (const i of [1, 2, 3]) etcd.statuses.set(url(i), memberStatus(mid(i), C, mid(l)));
    };
    setLeader(opts.leader ?? 2);
    return {
      clock,
      etcd,
      group,
      observer,
      runner,
      asked,
      setLeader,
      setNotices: (x: TerminationView['notices']) => {
        notices = x;
      },
      answer: (f: (p: GroupInstanceView) => SharedGroupAnswer) => {
        answer = f;
      },
      /** Observes every `stepMs` for `forMs`; returns the group views seen. */
      async run(forMs: number, stepMs = 5000): Promise<GroupView[]> {
        const seen: GroupView[] = [];
        for (let t = 0; t < forMs; t += stepMs) {
          await clock.advance(stepMs);
          seen.push((await observer.observe()).group);
        }
        return seen;
      },
    };
  }

  it("a calm follower reads the leader's agent's copy every groupPollInterval and never asks the cloud", async () => {
    const s = setup();
    const first = await s.observer.observe();
    assert.equal(s.group.listCalls, 1, 'the first observation is not calm yet: its own list');
    assert.equal(first.group.ok && first.group.sharedBy, undefined);
    assert.equal(s.observer.pollMode(), 'calm-follower');
    const seen = await s.run(5 * 60_000);
    assert.equal(s.group.listCalls, 1, 'no cloud call in 5 minutes');
    // 5 min of cycles every 5 s; the copy is re-read once the own list and then the copy are 10 s old.
    assert.ok(s.asked.length >= 25 && s.asked.length <= 31, `${s.asked.length} reads`);
    assert.ok(
      s.asked.every((a) => a === 'i-2@10.0.0.2'),
      'asked the leader’s agent at its peer IP',
    );
    const last = seen.at(-1);
    assert.ok(last?.ok);
    assert.equal(last.sharedBy, 'i-2');
    // Dated by its age when read (2 s), on this agent's clock; read at most a groupPollInterval ago.
    assert.ok(last.fetchedAt <= s.clock.now() - 2000 && last.fetchedAt >= s.clock.now() - POLL - 2000);
    assert.deepEqual(last.instances, listOf([1, 2, 3]));
    // The planner waits as a follower, exactly as on its own list.
    const plan = planMembership(await s.observer.observe(), DEFAULT_POLICY, s.clock.now());
    assert.equal(plan[0]?.kind, 'wait');
    assert.match(plan[0]?.reason ?? '', /converged/);
  });

  for (const [what, answer] of [
    ['does not answer', { ok: false, error: 'i-2 (10.0.0.2) did not answer: ECONNREFUSED' }],
    ['answers unsigned', { ok: false, error: "i-2's answer was refused: the answer is not signed" }],
    ['answers with a bad signature', { ok: false, error: "i-2's answer was refused: bad answer signature" }],
    ['has no list yet (404)', { ok: false, error: 'i-2 has no list to share (HTTP 404)' }],
  ] as const) {
    it(`the leader's agent ${what}: the follower asks the cloud itself, at followerGroupPollInterval`, async () => {
      const s = setup();
      s.answer(() => answer);
      await s.observer.observe();
      const seen = await s.run(5 * 60_000);
      assert.ok(
        seen.every((g) => g.ok && g.sharedBy === undefined),
        'only its own lists',
      );
      assert.ok(
        s.group.listCalls >= 5 && s.group.listCalls <= 7,
        `${s.group.listCalls} cloud calls in 5 min`,
      );
      // The copy is tried again once per groupPollInterval, not every cycle.
      assert.ok(s.asked.length <= 31, `${s.asked.length} tries`);
      // And as soon as it answers again, the cloud is left alone.
      s.answer((p) => ({
        ok: true,
        list: {
          instanceId: p.id,
          source: 'x',
          fetchedAt: 0,
          ageMs: 1000,
          pollIntervalMs: STEADY,
          instances: listOf([1, 2, 3]),
        },
      }));
      const calls = s.group.listCalls;
      await s.run(5 * 60_000);
      assert.ok(s.group.listCalls <= calls + 1, `${s.group.listCalls - calls} more cloud calls`);
    });
  }

  it('a stale copy (older than twice its poll), a copy without self, or from another agent is not used', async () => {
    for (const bad of [
      (p: GroupInstanceView): SharedGroupList => ({
        instanceId: p.id,
        source: 'x',
        fetchedAt: 0,
        ageMs: 2 * STEADY + 1,
        pollIntervalMs: STEADY,
        instances: listOf([1, 2, 3]),
      }),
      // A peer cannot make an old list fresh by claiming a long interval: bounded by this agent's own.
      (p: GroupInstanceView): SharedGroupList => ({
        instanceId: p.id,
        source: 'x',
        fetchedAt: 0,
        ageMs: 3_600_000,
        pollIntervalMs: 86_400_000,
        instances: listOf([1, 2, 3]),
      }),
      (p: GroupInstanceView): SharedGroupList => ({
        instanceId: p.id,
        source: 'x',
        fetchedAt: 0,
        ageMs: 1000,
        pollIntervalMs: STEADY,
        instances: listOf([2, 3]),
      }),
    ]) {
      const s = setup();
      s.answer((p) => ({ ok: true, list: bad(p) }));
      await s.observer.observe();
      const seen = await s.run(2 * 60_000);
      assert.ok(seen.every((g) => g.ok && g.sharedBy === undefined));
      assert.ok(s.group.listCalls >= 2, 'asked the cloud itself');
    }
    const self = { instanceId: 'i-1', privateIp: '10.0.0.1', peerUrl: peer(1), clientUrl: url(1) };
    const settings = {
      groupPollIntervalMs: POLL,
      steadyGroupPollIntervalMs: STEADY,
      followerGroupPollIntervalMs: FOLLOWER,
    };
    const list = (ageMs: number, pollIntervalMs: number): SharedGroupList => ({
      instanceId: 'i-2',
      source: 'x',
      fetchedAt: 0,
      ageMs,
      pollIntervalMs,
      instances: listOf([1, 2, 3]),
    });
    assert.equal(sharedListProblem(list(120_000, STEADY), self, settings), undefined);
    assert.match(
      sharedListProblem(list(121_000, STEADY), self, settings) ?? '',
      /121s old, more than twice its 60s poll/,
    );
    assert.match(sharedListProblem(list(20_001, POLL), self, settings) ?? '', /more than twice its 10s poll/);
    assert.match(
      sharedListProblem(list(20_001, 1), self, settings) ?? '',
      /twice its 10s poll/,
      'at least groupPollInterval',
    );
  });

  it("after a leader change the follower asks the new leader's agent", async () => {
    const s = setup();
    await s.observer.observe();
    await s.run(30_000);
    assert.ok(s.asked.length > 0 && s.asked.every((a) => a.startsWith('i-2@')));
    s.setLeader(3);
    s.asked.length = 0;
    await s.run(30_000);
    assert.ok(s.asked.length > 0);
    assert.ok(
      s.asked.slice(1).every((a) => a === 'i-3@10.0.0.3'),
      s.asked.join(','),
    );
    assert.ok(s.asked.length <= 1 || s.asked[0] !== undefined);
  });

  it('a shared copy never reaches a plan that is not a calm follower’s: the same observation reads the cloud', async () => {
    for (const [what, change] of [
      ['the local etcd stopped', (s: ReturnType<typeof setup>) => (s.runner.running = false)],
      ['self became the leader', (s: ReturnType<typeof setup>) => s.setLeader(1)],
      [
        'the cluster lost its leader',
        (s: ReturnType<typeof setup>) => {
          for (const i of [1, 2, 3]) s.etcd.statuses.set(url(i), memberStatus(mid(i), C, undefined));
        },
      ],
    ] as const) {
      const s = setup();
      await s.observer.observe();
      const before = await s.run(30_000);
      assert.equal((before.at(-1) as { sharedBy?: string }).sharedBy, 'i-2', what);
      s.asked.length = 0;
      change(s);
      await s.clock.advance(POLL + 1);
      const calls = s.group.listCalls;
      const obs = await s.observer.observe();
      assert.ok(obs.group.ok, what);
      assert.equal(
        obs.group.sharedBy,
        undefined,
        `${what}: planned on its own list (asked ${s.asked.join(',')})`,
      );
      assert.equal(s.group.listCalls, calls + 1, `${what}: one call to the cloud`);
    }
  });

  it('a notice ends the calm before the group is read: the leaver never even reads the copy', async () => {
    const s = setup();
    await s.observer.observe();
    await s.run(20_000);
    s.setNotices([{ source: 'spot-api', seenAt: s.clock.now(), detail: 'TERMINATING' }]);
    await s.clock.advance(POLL + 1);
    const reads = s.asked.length;
    const obs = await s.observer.observe();
    assert.equal(obs.group.ok && obs.group.sharedBy, undefined);
    assert.equal(s.asked.length, reads);
  });

  it('the leader’s agent polls every steadyGroupPollInterval while the cluster is steady, and shares only its own list', async () => {
    const s = setup({ leader: 1 });
    await s.observer.observe();
    assert.equal(s.observer.pollMode(), 'steady-leader');
    await s.run(5 * 60_000);
    assert.equal(s.group.listCalls, 6, 'once a minute (1 + 5)');
    assert.deepEqual(s.asked, [], 'the leader never reads a copy');
    const shared = s.observer.sharedGroupList();
    assert.ok(shared);
    assert.equal(shared.instanceId, 'i-1');
    assert.equal(shared.pollIntervalMs, STEADY);
    assert.deepEqual(shared.instances, listOf([1, 2, 3]));
    assert.ok(shared.ageMs >= 0 && shared.ageMs < STEADY);
    assert.equal(shared.fetchedAt, s.clock.now() - shared.ageMs);
    // A member goes down: the same observation replaces a list older than groupPollInterval, and the
    // agent polls at groupPollInterval until the cluster is steady again.
    await s.clock.advance(30_000);
    s.etcd.statuses.delete(url(3));
    const calls = s.group.listCalls;
    await s.observer.observe();
    assert.equal(s.group.listCalls, calls + 1, 'refreshed at once');
    assert.equal(s.observer.pollMode(), 'active');
    assert.equal(s.observer.sharedGroupList()?.pollIntervalMs, POLL);
    await s.run(60_000);
    assert.equal(s.group.listCalls, calls + 7, 'every 10 s while a member is down');
  });

  it('a follower shares its own last list from the cloud, never the copy it read', async () => {
    const s = setup();
    await s.observer.observe();
    await s.run(60_000);
    const mine = s.observer.sharedGroupList();
    assert.ok(mine);
    assert.equal(mine.instanceId, 'i-1');
    assert.equal(mine.ageMs, 60_000, 'its one list from the cloud, read a minute ago');
  });

  it('quorum-loss recovery counts only lists from the cloud as reads', async () => {
    const s = setup();
    await s.observer.observe();
    const seen = await s.run(60_000);
    assert.ok(seen.some((g) => g.ok && g.sharedBy !== undefined));
    const obs = await s.observer.observe();
    assert.equal(
      obs.recovery?.previousGroup,
      undefined,
      'one own read only: the shared copies are not a second',
    );
  });

  it('static groups (the list is local) are never read from a peer', async () => {
    const s = setup();
    (s.group as { listIsLocal?: boolean }).listIsLocal = true;
    await s.observer.observe();
    await s.run(2 * 60_000);
    assert.deepEqual(s.asked, []);
  });

  it('with pollJitter every own poll interval is drawn within ±jitter', async () => {
    let r = 0;
    const s = setup({ leader: 1, jitter: 0.1, random: () => r });
    // r = 0 → factor 0.9: the steady leader polls after 54 s, not 60 s.
    await s.observer.observe();
    await s.clock.advance(55_000);
    r = 0.999; // the next list's factor ≈ 1.1: not refreshed before 66 s
    await s.observer.observe();
    assert.equal(s.group.listCalls, 2);
    await s.clock.advance(60_000);
    await s.observer.observe();
    assert.equal(s.group.listCalls, 2);
    await s.clock.advance(6_000);
    await s.observer.observe();
    assert.equal(s.group.listCalls, 3);
  });
});

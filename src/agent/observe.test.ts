import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RateLimitedError } from '../core/errors.ts';
import type { ClusterView, PeerBootstrapView, TerminationView } from '../core/observation.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import type { InstanceMetadata } from '../ports/instance-metadata.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { LocalStateStore } from './local-state.ts';
import { Observer } from './observe.ts';
import { FakeEtcd, FakeGroup, FakeRunner, memberStatus, recordingLogger } from './testing/fakes.ts';
import { newAgentMemory } from './types.ts';

const M1 = '0000000000000001';
const M2 = '0000000000000002';
const M3 = '0000000000000003';
const C = 'cccccccccccccccc';
const url = (n: number) => `http://10.0.0.${n}:2379`;
const peer = (n: number) => `http://10.0.0.${n}:2380`;

function reachable(c: ClusterView): Extract<ClusterView, { reachable: true }> {
  assert.equal(c.reachable, true, JSON.stringify(c));
  return c as Extract<ClusterView, { reachable: true }>;
}

describe('Observer (fake ports)', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-observe-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function setup() {
    const clock = new ManualClock(1_000_000);
    const etcd = new FakeEtcd();
    const group = new FakeGroup();
    group.instances = [1, 2, 3].map((i) => ({ id: `i-${i}`, privateIp: `10.0.0.${i}` }));
    let identityCalls = 0;
    const metadata: InstanceMetadata = {
      identity: async () => {
        identityCalls++;
        return { instanceId: 'i-1', privateIp: '10.0.0.1' };
      },
      get: async () => undefined,
    };
    const peersAsked: string[] = [];
    const runner = new FakeRunner();
    let notices: TerminationView['notices'] = [];
    const memory = newAgentMemory();
    const store = new LocalStateStore(join(dir, `s${++n}`));
    const observer = new Observer({
      settings: {
        dataDir: '/d',
        clientPort: 2379,
        peerPort: 2380,
        statusPort: 2378,
        callTimeoutMs: 200,
        cloudTimeoutMs: 200,
        cycleIntervalMs: 100,
        groupPollIntervalMs: 10_000,
        followerGroupPollIntervalMs: 60_000,
        policy: DEFAULT_POLICY,
      },
      metadata,
      group,
      etcd,
      runner,
      termination: { view: () => ({ notices, errors: [] }) },
      store,
      peers: {
        bootstrapView: async (p): Promise<PeerBootstrapView> => {
          peersAsked.push(p.id);
          return { instanceId: p.id, reachable: true, hasData: false };
        },
        requestVote: async () => ({ granted: false, reason: 'x' }),
      },
      memory,
      hasData: async () => false,
      clock,
      logger: recordingLogger(),
    });
    etcd.members = [1, 2, 3].map((i) => ({
      id: `000000000000000${i}`,
      name: `i-${i}`,
      peerUrls: [peer(i)],
      clientUrls: [url(i)],
      isLearner: false,
    }));
    return {
      clock,
      etcd,
      group,
      observer,
      memory,
      store,
      peersAsked,
      runner,
      setNotices: (n: TerminationView['notices']) => {
        notices = n;
      },
      identityCalls: () => identityCalls,
    };
  }

  it('lists members through the leader and takes each member’s own status', async () => {
    const s = setup();
    s.etcd.statuses.set(url(1), memberStatus(M1, C, M2));
    s.etcd.statuses.set(url(2), memberStatus(M2, C, M2, { raftIndex: 50 }));
    // i-3's etcd is down.
    const obs = await s.observer.observe();
    const c = reachable(obs.cluster);
    assert.equal(c.via, url(2), 'the leader answers the member list');
    assert.equal(c.leaderId, M2);
    assert.deepEqual(
      c.members.map((m) => [m.id, m.reachable, m.leaderId, m.unreachableSince]),
      [
        [M1, true, M2, undefined],
        [M2, true, M2, undefined],
        [M3, false, undefined, 1_000_000],
      ],
    );
    assert.equal(c.members[1]?.raftIndex, 50);
    assert.equal(obs.peers, undefined, 'peers are asked only while no cluster answers');
    assert.deepEqual(obs.self, {
      instanceId: 'i-1',
      privateIp: '10.0.0.1',
      peerUrl: peer(1),
      clientUrl: url(1),
    });
  });

  it('keeps unreachableSince across cycles and resets it when the member answers', async () => {
    const s = setup();
    s.etcd.statuses.set(url(1), memberStatus(M1, C, M1));
    await s.observer.observe();
    await s.clock.advance(5000);
    let c = reachable((await s.observer.observe()).cluster);
    assert.equal(c.members.find((m) => m.id === M3)?.unreachableSince, 1_000_000);
    s.etcd.statuses.set(url(3), memberStatus(M3, C, M1));
    c = reachable((await s.observer.observe()).cluster);
    assert.equal(c.members.find((m) => m.id === M3)?.unreachableSince, undefined);
    assert.equal(s.identityCalls(), 1, 'self is read once and cached');
  });

  it('tracks unstartedSince of a member added but never started', async () => {
    const s = setup();
    s.etcd.members[2] = { id: M3, name: '', peerUrls: [peer(3)], clientUrls: [], isLearner: true };
    s.etcd.statuses.set(url(1), memberStatus(M1, C, M1));
    await s.observer.observe();
    await s.clock.advance(1000);
    const c = reachable((await s.observer.observe()).cluster);
    const m3 = c.members.find((m) => m.id === M3);
    assert.deepEqual([m3?.reachable, m3?.unstartedSince], [false, 1_000_000]);
  });

  describe("the cloud's proof that a dead member's instance is terminated", () => {
    // i-3's etcd is down and i-3 is missing from the group list.
    function deadI3(leader: string) {
      const s = setup();
      s.group.instances = s.group.instances.filter((i) => i.id !== 'i-3');
      s.etcd.statuses.set(url(1), memberStatus(M1, C, leader));
      s.etcd.statuses.set(url(2), memberStatus(M2, C, leader));
      return s;
    }
    const m3 = (c: ClusterView) => reachable(c).members.find((m) => m.id === M3);

    it('the leader\'s agent asks, and a "terminated" answer marks the member', async () => {
      const s = deadI3(M1);
      s.group.terminated.add('i-3');
      const obs = await s.observer.observe();
      assert.deepEqual(s.group.confirmCalls, ['i-3']);
      assert.equal(m3(obs.cluster)?.instanceTerminated, true);
      await s.clock.advance(60_000);
      const again = await s.observer.observe();
      assert.equal(
        m3(again.cluster)?.instanceTerminated,
        true,
        'remembered: a terminated instance never returns',
      );
      assert.deepEqual(s.group.confirmCalls, ['i-3'], 'not asked again');
    });

    it('no proof from an error or a "not terminated" answer; asked again only after groupPollInterval', async () => {
      const s = deadI3(M1);
      s.group.confirmError = new RateLimitedError('429', { retryAfterMs: 1000 });
      let obs = await s.observer.observe();
      assert.equal(m3(obs.cluster)?.instanceTerminated, undefined);
      await s.clock.advance(5000);
      s.group.confirmError = undefined;
      obs = await s.observer.observe();
      assert.deepEqual(s.group.confirmCalls, ['i-3'], 'not before groupPollIntervalMs');
      assert.equal(m3(obs.cluster)?.instanceTerminated, undefined);
      await s.clock.advance(5000);
      obs = await s.observer.observe();
      assert.deepEqual(s.group.confirmCalls, ['i-3', 'i-3']);
      assert.equal(m3(obs.cluster)?.instanceTerminated, undefined, 'the cloud said it is not terminated');
    });

    it("only the leader's agent asks, and never about a listed instance", async () => {
      const s = deadI3(M2);
      s.group.terminated.add('i-3');
      const obs = await s.observer.observe();
      assert.deepEqual(s.group.confirmCalls, []);
      assert.equal(m3(obs.cluster)?.instanceTerminated, undefined);
      const listed = setup();
      listed.etcd.statuses.set(url(1), memberStatus(M1, C, M1));
      listed.group.terminated.add('i-3');
      await listed.observer.observe();
      assert.deepEqual(listed.group.confirmCalls, [], 'i-3 is still in the list');
    });

    it('a member that answers again loses the mark', async () => {
      const s = deadI3(M1);
      s.group.terminated.add('i-3');
      await s.observer.observe();
      s.etcd.statuses.set(url(3), memberStatus(M3, C, M1));
      const obs = await s.observer.observe();
      assert.equal(m3(obs.cluster)?.instanceTerminated, undefined);
    });
  });

  it('a member list only from a voter: learners alone make the cluster unreachable', async () => {
    const s = setup();
    s.etcd.statuses.set(url(1), memberStatus(M1, C, M2, { isLearner: true }));
    const obs = await s.observer.observe();
    assert.equal(obs.cluster.reachable, false);
    assert.match((obs.cluster as { error: string }).error, /only learners answered/);
    assert.equal(s.etcd.calls.filter((c) => c.method === 'listMembers').length, 0);
  });

  it('no cluster: asks every other group instance’s agent for its bootstrap view', async () => {
    const s = setup();
    const obs = await s.observer.observe();
    assert.equal(obs.cluster.reachable, false);
    assert.deepEqual((obs.cluster as { probed: string[] }).probed, [url(1), url(2), url(3)]);
    assert.deepEqual(s.peersAsked.sort(), ['i-2', 'i-3']);
    assert.equal(obs.peers?.length, 2);
  });

  it('caches the group list for groupPollIntervalMs; an error is {ok:false}, never stale data', async () => {
    const s = setup();
    await s.observer.observe();
    await s.observer.observe();
    assert.equal(s.group.listCalls, 1);
    await s.clock.advance(10_000);
    s.group.listError = new RateLimitedError('429', { retryAfterMs: 3000 });
    const obs = await s.observer.observe();
    assert.equal(obs.group.ok, false);
    assert.equal(s.group.listCalls, 2);
    await s.observer.observe();
    assert.equal(s.group.listCalls, 2, 'no call before the rate limit resets');
    await s.clock.advance(3000);
    s.group.listError = undefined;
    assert.equal((await s.observer.observe()).group.ok, true);
  });

  it('a wall clock stepped back does not freeze the group cache nor the rate-limit back-off (soak, clock-step-back)', async () => {
    const s = setup();
    await s.observer.observe();
    assert.equal(s.group.listCalls, 1);
    // Stepped back 10 min: the cache's age is negative. Before the fix it counted as fresh for 10 min,
    // so a terminated leader's instance stayed "in the group" and its member was never reaped.
    s.clock.step(-600_000);
    await s.observer.observe();
    assert.equal(s.group.listCalls, 2, 'a cache from the future is stale');
    await s.clock.advance(10_000);
    s.group.listError = new RateLimitedError('429', { retryAfterMs: 3000 });
    await s.observer.observe();
    assert.equal(s.group.listCalls, 3);
    s.clock.step(-600_000);
    s.group.listError = undefined;
    assert.equal((await s.observer.observe()).group.ok, true, 'a back-off from the future is over');
    assert.equal(s.group.listCalls, 4);
  });

  it('a calm follower polls the group at followerGroupPollInterval; the leader, a leaver and a joiner at groupPollInterval', async () => {
    const calm = setup();
    calm.runner.running = true;
    for (const i of [1, 2, 3]) calm.etcd.statuses.set(url(i), memberStatus(`000000000000000${i}`, C, M2));
    await calm.observer.observe();
    for (let i = 0; i < 5; i++) {
      await calm.clock.advance(11_000);
      await calm.observer.observe();
    }
    assert.equal(calm.group.listCalls, 1, 'a calm follower: once in 55 s');
    await calm.clock.advance(11_000);
    await calm.observer.observe();
    assert.equal(calm.group.listCalls, 2, 'again after 66 s');
    // A notice makes it poll at the full rate at once (its cache is 11 s old > 10 s).
    calm.setNotices([{ source: 'imds-spot', seenAt: calm.clock.now(), detail: 'x' }]);
    await calm.clock.advance(11_000);
    await calm.observer.observe();
    await calm.clock.advance(11_000);
    await calm.observer.observe();
    assert.equal(calm.group.listCalls, 4, 'a leaver polls every groupPollInterval');

    const leader = setup();
    leader.runner.running = true;
    for (const i of [1, 2, 3]) leader.etcd.statuses.set(url(i), memberStatus(`000000000000000${i}`, C, M1));
    await leader.observer.observe();
    for (let i = 0; i < 5; i++) {
      await leader.clock.advance(11_000);
      await leader.observer.observe();
    }
    assert.equal(leader.group.listCalls, 6, "the leader's agent polls every groupPollInterval");

    const joiner = setup(); // etcd not running here: joining
    for (const i of [2, 3]) joiner.etcd.statuses.set(url(i), memberStatus(`000000000000000${i}`, C, M2));
    await joiner.observer.observe();
    await joiner.clock.advance(11_000);
    await joiner.observer.observe();
    assert.equal(joiner.group.listCalls, 2);
  });

  it('asks for the desired capacity (a bootstrap input) only while no cluster answers', async () => {
    const s = setup();
    let obs = await s.observer.observe();
    assert.equal(obs.cluster.reachable, false);
    assert.equal(s.group.desiredCalls, 1);
    assert.equal(obs.group.ok && obs.group.desiredCapacity, 3);
    s.etcd.statuses.set(url(1), memberStatus(M1, C, M1));
    await s.clock.advance(10_000);
    obs = await s.observer.observe();
    assert.equal(obs.cluster.reachable, true);
    await s.clock.advance(10_000);
    obs = await s.observer.observe();
    assert.equal(s.group.listCalls, 3);
    assert.equal(s.group.desiredCalls, 2, 'not asked again once a cluster answered');
  });

  it('a corrupt state file is reported in memory and observed as an empty record', async () => {
    const s = setup();
    await s.store.write({});
    await writeFile(s.store.path, '{');
    const obs = await s.observer.observe();
    assert.deepEqual(obs.local.record, {});
    assert.match(s.memory.stateError ?? '', /not valid JSON/);
    await s.store.write({}).catch(() => undefined);
    await writeFile(s.store.path, '{}');
    await s.observer.observe();
    assert.equal(s.memory.stateError, undefined);
  });
});

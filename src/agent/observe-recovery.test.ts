/**
 * The observer's quorum-loss memory (src/core/recovery.ts reads it): since when the cluster has had no
 * leader, the previous distinct group fetch (forgotten after a failed one), peers asked while leaderless,
 * and the snapshot store asked only while no cluster answers and there is no local data.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PeerBootstrapView, RecoveryOrder, SnapshotView } from '../core/observation.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import type { InstanceMetadata } from '../ports/instance-metadata.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { LocalStateStore } from './local-state.ts';
import { Observer } from './observe.ts';
import { FakeEtcd, FakeGroup, FakeRunner, memberStatus, recordingLogger } from './testing/fakes.ts';
import { newAgentMemory } from './types.ts';

const M1 = '0000000000000001';
const C = 'cccccccccccccccc';
const url = (n: number) => `http://10.0.0.${n}:2379`;

describe('Observer: quorum-loss memory (fake ports)', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-observe-rec-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function setup(snapshots?: () => Promise<SnapshotView>, order?: RecoveryOrder) {
    const clock = new ManualClock(1_000_000);
    const etcd = new FakeEtcd();
    const group = new FakeGroup();
    group.instances = [1, 2, 3].map((i) => ({ id: `i-${i}`, privateIp: `10.0.0.${i}` }));
    const metadata: InstanceMetadata = {
      identity: async () => ({ instanceId: 'i-1', privateIp: '10.0.0.1' }),
      get: async () => undefined,
    };
    const peersAsked: string[] = [];
    const snapshotCalls: number[] = [];
    const observer = new Observer({
      settings: {
        dataDir: '/d',
        clientPort: 2379,
        peerPort: 2380,
        statusPort: 2378,
        callTimeoutMs: 200,
        cloudTimeoutMs: 200,
        cycleIntervalMs: 100,
        groupPollIntervalMs: 2000,
        policy: DEFAULT_POLICY,
      },
      metadata,
      group,
      etcd,
      runner: new FakeRunner(),
      termination: { view: () => ({ notices: [], errors: [] }) },
      store: new LocalStateStore(join(dir, `s${++n}`)),
      peers: {
        bootstrapView: async (p): Promise<PeerBootstrapView> => {
          peersAsked.push(p.id);
          return {
            instanceId: p.id,
            reachable: true,
            hasData: true,
            memberId: '0000000000000002',
            raftIndex: 7,
          };
        },
        requestVote: async () => ({ granted: false, reason: 'x' }),
      },
      memory: newAgentMemory(),
      hasData: async () => false,
      clock,
      logger: recordingLogger(),
      ...(order !== undefined ? { recoveryOrder: () => order } : {}),
      ...(snapshots !== undefined
        ? {
            snapshots: async () => {
              snapshotCalls.push(clock.now());
              return snapshots();
            },
          }
        : {}),
    });
    etcd.members = [1, 2, 3].map((i) => ({
      id: `000000000000000${i}`,
      name: `i-${i}`,
      peerUrls: [`http://10.0.0.${i}:2380`],
      clientUrls: [url(i)],
      isLearner: false,
    }));
    return { clock, etcd, group, observer, peersAsked, snapshotCalls };
  }

  it('remembers the leaderless streak, resets it on a leader, and asks peers only while leaderless', async () => {
    const s = setup();
    s.etcd.statuses.set(url(1), memberStatus(M1, C, M1, { raftTerm: 3 }));
    let obs = await s.observer.observe();
    assert.equal(obs.recovery?.noLeaderSince, undefined);
    assert.equal(obs.peers, undefined, 'no peers asked while a leader exists');
    assert.ok(obs.cluster.reachable && obs.cluster.members[0]?.raftTerm === 3);

    s.etcd.statuses.set(url(1), memberStatus(M1, C, undefined));
    s.clock.advance(1000);
    obs = await s.observer.observe();
    assert.equal(obs.recovery?.noLeaderSince, 1_001_000);
    assert.deepEqual(s.peersAsked.sort(), ['i-2', 'i-3']);
    assert.equal(obs.peers?.[0]?.raftIndex, 7);
    s.clock.advance(5000);
    obs = await s.observer.observe();
    assert.equal(obs.recovery?.noLeaderSince, 1_001_000, 'the streak keeps its start');

    s.etcd.statuses.set(url(1), memberStatus(M1, C, M1));
    s.clock.advance(1000);
    obs = await s.observer.observe();
    assert.equal(obs.recovery?.noLeaderSince, undefined, 'a leader ends the streak');
  });

  it('keeps the previous distinct group fetch, and forgets it after a failed fetch', async () => {
    const s = setup();
    s.etcd.statuses.set(url(1), memberStatus(M1, C, undefined));
    let obs = await s.observer.observe();
    assert.equal(obs.recovery?.previousGroup, undefined, 'one fetch is one observation');
    s.clock.advance(500);
    obs = await s.observer.observe();
    assert.equal(obs.recovery?.previousGroup, undefined, 'a cached list is the same observation');
    s.clock.advance(2000);
    s.group.instances = s.group.instances.slice(0, 1);
    obs = await s.observer.observe();
    assert.equal(obs.recovery?.previousGroup?.fetchedAt, 1_000_000);
    assert.equal(obs.recovery?.previousGroup?.instances.length, 3);
    assert.ok(obs.group.ok && obs.group.fetchedAt === 1_002_500);

    s.clock.advance(2000);
    s.group.listError = new Error('HTTP 503');
    obs = await s.observer.observe();
    assert.equal(obs.group.ok, false);
    assert.equal(obs.recovery?.previousGroup, undefined);
    s.group.listError = undefined;
    s.clock.advance(2000);
    obs = await s.observer.observe();
    assert.equal(obs.recovery?.previousGroup, undefined, 'a failure in between breaks the pair');
  });

  it('asks the snapshot store only while no cluster answers, and turns its failure into an error view', async () => {
    let fail = false;
    const s = setup(async () => {
      if (fail) throw new Error('AccessDenied');
      return { ok: true };
    });
    s.etcd.statuses.set(url(1), memberStatus(M1, C, M1));
    let obs = await s.observer.observe();
    assert.equal(obs.snapshot, undefined);
    assert.equal(s.snapshotCalls.length, 0);
    s.etcd.statuses.clear();
    fail = true;
    obs = await s.observer.observe();
    assert.equal(s.snapshotCalls.length, 1);
    assert.deepEqual(obs.snapshot, { ok: false, error: 'AccessDenied' });
  });

  it("passes the operator's order through to the planner", async () => {
    const s = setup(undefined, { at: 999_000, from: 'i-1' });
    s.etcd.statuses.set(url(1), memberStatus(M1, C, undefined));
    const obs = await s.observer.observe();
    assert.deepEqual(obs.recovery?.order, { at: 999_000, from: 'i-1' });
  });
});

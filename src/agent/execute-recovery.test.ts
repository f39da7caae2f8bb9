/**
 * The executor's quorum-loss steps with fake ports: force-new-cluster re-checks its proof locally,
 * copies the data dir aside before the forced start (no copy, no force) and starts etcd once with
 * `--force-new-cluster`; restore-snapshot needs a store and an empty data dir. A real copy of a data
 * dir is checked against the file system.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Action } from '../core/actions.ts';
import type { Observation } from '../core/observation.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import { systemClock } from '../adapters/local/system-clock.ts';
import { buildEtcdArgs } from '../adapters/etcd/etcd-process.ts';
import { copyDataAside } from './data-dir.ts';
import { actionTarget } from './summary.ts';
import { executeAction } from './execute.ts';
import type { ExecuteContext } from './execute.ts';
import { LocalStateStore } from './local-state.ts';
import { FakeEtcd, FakeGroup, FakeRunner, memberStatus, recordingLogger } from './testing/fakes.ts';
import { newAgentMemory } from './types.ts';

const SELF = {
  instanceId: 'i-1',
  privateIp: '10.0.0.1',
  peerUrl: 'http://10.0.0.1:2380',
  clientUrl: 'http://10.0.0.1:2379',
};
const CLUSTER = 'c0000000000000c1';
const M1 = '0000000000000001';
const M2 = '0000000000000002';

const FORCE: Action = {
  kind: 'force-new-cluster',
  memberId: M1,
  raftIndex: 500,
  reason: 'quorum lost (test)',
};

function observation(): Observation {
  return {
    self: SELF,
    group: { ok: true, fetchedAt: 0, instances: [{ id: 'i-1', privateIp: '10.0.0.1' }] },
    termination: { notices: [], errors: [] },
    local: { etcdRunning: true, hasData: true, record: {}, startFailures: 0, signalledReady: false },
    cluster: { reachable: true, clusterId: CLUSTER, leaderId: undefined, via: SELF.clientUrl, members: [] },
  };
}

describe('executeAction: quorum-loss recovery (fake ports)', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-recovery-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function setup(opts: { leader?: string; memberId?: string; running?: boolean; hasData?: boolean } = {}) {
    const etcd = new FakeEtcd();
    const runner = new FakeRunner();
    runner.running = opts.running ?? true;
    const copies: string[] = [];
    const order: string[] = [];
    // `revision` (the header revision) is what the survivor had applied; the adapter may not report it.
    etcd.statuses.set(
      SELF.clientUrl,
      Object.assign(
        memberStatus(opts.memberId ?? M1, CLUSTER, opts.leader, { raftIndex: 500, raftTerm: 4 }),
        {
          revision: 77,
        },
      ),
    );
    runner.onStart = (l) => {
      order.push(`start${l.forceNewCluster === true ? ' --force-new-cluster' : ''}`);
      etcd.statuses.set(SELF.clientUrl, memberStatus(M1, CLUSTER, M1, { raftIndex: 502 }));
    };
    const origStop = runner.stop.bind(runner);
    runner.stop = async (reason: string) => {
      order.push('stop');
      await origStop(reason);
    };
    const ctx: ExecuteContext = {
      obs: observation(),
      settings: {
        dataDir: '/data/etcd',
        clientPort: 2379,
        peerPort: 2380,
        statusPort: 2378,
        callTimeoutMs: 200,
        cloudTimeoutMs: 200,
        cycleIntervalMs: 100,
        groupPollIntervalMs: 100,
        policy: DEFAULT_POLICY,
        startWaitMs: 300,
      },
      etcd,
      runner,
      group: new FakeGroup(),
      store: new LocalStateStore(join(dir, `s${++n}`)),
      peers: {
        bootstrapView: async (p) => ({ instanceId: p.id, reachable: true }),
        requestVote: async () => ({ granted: false, reason: 'test' }),
      },
      castOwnVote: async () => ({ granted: true, reason: 'self' }),
      memory: newAgentMemory(),
      hasData: async () => opts.hasData ?? true,
      wipeData: async () => {
        throw new Error('never wipes');
      },
      copyDataAside: async (dataDir, now) => {
        order.push('copy');
        copies.push(dataDir);
        return `${dataDir}.before-force-new-cluster-${now}`;
      },
      clock: systemClock,
      logger: recordingLogger(),
    };
    return { ctx, etcd, runner, copies, order };
  }

  it('stops etcd, copies the data dir aside, then starts it once with --force-new-cluster and waits for it to lead', async () => {
    const { ctx, runner, order, copies } = setup();
    const r = await executeAction(FORCE, ctx);
    assert.equal(r.progressed, true, r.detail);
    assert.deepEqual(order, ['stop', 'copy', 'start --force-new-cluster']);
    assert.deepEqual(copies, ['/data/etcd']);
    assert.equal(runner.launches.length, 1);
    const l = runner.launches[0]!;
    assert.equal(l.state, 'existing');
    assert.deepEqual(l.initialCluster, [{ name: 'i-1', peerUrl: SELF.peerUrl }]);
    assert.match(
      r.detail ?? '',
      /forced a new cluster from member 0000000000000001 \(raft index 500, revision 77\)/,
    );
    assert.match(r.detail ?? '', /before-force-new-cluster/);
    // The ids are recorded from the forced member's status (the member id is kept by etcd).
    const rec = await ctx.store.read();
    assert.ok(rec.ok && rec.record.memberId === M1 && rec.record.clusterId === CLUSTER);
  });

  const refusals: [string, Parameters<typeof setup>[0], RegExp][] = [
    ['a leader appeared since the plan', { leader: M2 }, /follows leader 0000000000000002 now/],
    [
      'the local etcd is another member',
      { memberId: M2 },
      /is member 0000000000000002, not 0000000000000001/,
    ],
    ['the local etcd is not running', { running: false }, /not running/],
    ['there is no data', { hasData: false }, /holds no data/],
  ];
  for (const [what, opts, why] of refusals) {
    it(`refuses, touching nothing, when ${what}`, async () => {
      const { ctx, runner, order } = setup(opts);
      const r = await executeAction(FORCE, ctx);
      assert.equal(r.progressed, false);
      assert.equal(r.code, 'PRECONDITION_FAILED');
      assert.match(r.detail ?? '', why);
      assert.deepEqual(order, []);
      assert.equal(runner.launches.length, 0);
    });
  }

  it('refuses when the local etcd does not answer status', async () => {
    const { ctx, etcd, order } = setup();
    etcd.statuses.delete(SELF.clientUrl);
    const r = await executeAction(FORCE, ctx);
    assert.equal(r.code, 'PRECONDITION_FAILED');
    assert.match(r.detail ?? '', /does not answer status/);
    assert.deepEqual(order, []);
  });

  it('no copy, no force: a failed copy leaves etcd stopped and never starts it with the flag', async () => {
    const { ctx, runner, order } = setup();
    ctx.copyDataAside = async () => {
      order.push('copy');
      throw new Error('ENOSPC: no space left on device');
    };
    const r = await executeAction(FORCE, ctx);
    assert.equal(r.progressed, false);
    assert.match(r.detail ?? '', /ENOSPC/);
    assert.deepEqual(order, ['stop', 'copy']);
    assert.ok(!runner.launches.some((l) => l.forceNewCluster === true));
  });

  it('restore-snapshot: needs a store, an empty data dir, then restores and starts as a one-member cluster', async () => {
    const action: Action = {
      kind: 'restore-snapshot',
      snapshot: 's-42',
      revision: 42,
      token: 'sig-1-i-1-7',
      reason: 'all lost',
    };
    const none = setup({ running: false, hasData: false });
    let r = await executeAction(action, none.ctx);
    assert.equal(r.code, 'PRECONDITION_FAILED');
    assert.match(r.detail ?? '', /no snapshot store/);

    const full = setup({ running: false, hasData: true });
    full.ctx.restoreSnapshot = async () => assert.fail('restored over data');
    r = await executeAction(action, full.ctx);
    assert.match(r.detail ?? '', /holds data/);

    const ok = setup({ running: false, hasData: false });
    const restored: unknown[] = [];
    ok.ctx.restoreSnapshot = async (name, opts) => {
      restored.push({ snapshot: name, ...opts });
    };
    r = await executeAction(action, ok.ctx);
    assert.equal(r.progressed, true, r.detail);
    assert.deepEqual(restored, [
      { snapshot: 's-42', dataDir: '/data/etcd', name: 'i-1', peerUrl: SELF.peerUrl, token: 'sig-1-i-1-7' },
    ]);
    assert.equal(ok.runner.launches[0]?.forceNewCluster, undefined);
  });
});

describe('copyDataAside and the --force-new-cluster flag', () => {
  it('copies the whole data dir next to it and leaves the original in place', async () => {
    const root = await mkdtemp(join(tmpdir(), 'etcd-spot-aside-'));
    try {
      const data = join(root, 'etcd');
      await mkdir(join(data, 'member', 'wal'), { recursive: true });
      await writeFile(join(data, 'member', 'wal', '0.wal'), 'entries');
      const aside = await copyDataAside(data, 1234);
      assert.equal(aside, `${data}.before-force-new-cluster-1234`);
      assert.equal(await readFile(join(aside, 'member', 'wal', '0.wal'), 'utf8'), 'entries');
      assert.equal(await readFile(join(data, 'member', 'wal', '0.wal'), 'utf8'), 'entries');
      await assert.rejects(copyDataAside(data, 1234), 'a second copy never overwrites the first');
      await assert.rejects(copyDataAside('relative/dir', 1), /absolute path/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('plan and status name the recovery targets', () => {
    assert.equal(actionTarget(FORCE), '0000000000000001 (raft index 500)');
    assert.equal(
      actionTarget({ kind: 'restore-snapshot', snapshot: 's-42', revision: 42, token: 't', reason: 'r' }),
      's-42 (revision 42)',
    );
  });

  it('buildEtcdArgs adds --force-new-cluster only when asked', () => {
    const base = {
      name: 'i-1',
      dataDir: '/data/etcd',
      clientUrl: SELF.clientUrl,
      peerUrl: SELF.peerUrl,
      initialCluster: [{ name: 'i-1', peerUrl: SELF.peerUrl }],
      initialClusterState: 'existing' as const,
      initialClusterToken: 't',
    };
    assert.ok(!buildEtcdArgs(base).includes('--force-new-cluster'));
    assert.ok(buildEtcdArgs({ ...base, forceNewCluster: true }).includes('--force-new-cluster'));
  });
});

// Contract of the etcd3-backed EtcdCluster adapter against a real 3-member etcd 3.4 on 127.0.22.11–13:
// move-leader, snapshot, a graceful restart, and what the adapter reports once quorum is lost.
// Tests in the describe run in order on one cluster; the last one kills two members.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createEtcdCluster, etcdHealth } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { EtcdError } from '../../src/core/errors.ts';
import type { MemberId } from '../../src/core/ids.ts';
import type { EtcdCluster } from '../../src/ports/etcd-cluster.ts';
import { startTestCluster, type TestCluster } from '../support/etcd-cluster-fixture.ts';
import { etcdctl } from '../support/etcd-ctl.ts';
import { waitFor } from '../support/wait.ts';

async function rejectsWith(p: Promise<unknown>, ...codes: string[]): Promise<EtcdError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EtcdError, `expected an EtcdError, got ${String(e)}`);
    assert.ok(codes.includes(e.code), `expected ${codes.join(' or ')}, got ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`expected a rejection with ${codes.join(' or ')}, but it resolved`);
}

describe('EtcdCluster (etcd3 adapter): leadership, snapshots, quorum loss', { timeout: 90_000 }, () => {
  let cluster: TestCluster;
  let etcd: EtcdCluster;
  /** member id → client URL */
  const urlOf = new Map<MemberId, string>();

  const currentLeader = async (): Promise<MemberId> => {
    const s = await etcd.status(cluster.endpoints[0] ?? '');
    assert.ok(s.leaderId, 'no leader');
    return s.leaderId;
  };

  before(async () => {
    cluster = await startTestCluster({ size: 3, ipPrefix: '127.0.22' });
    etcd = createEtcdCluster();
    for (const u of cluster.endpoints) urlOf.set((await etcd.status(u)).memberId, u);
  });

  after(async () => {
    await etcd?.close();
    await cluster?.close();
  });

  test('moveLeader sent to a follower → ETCD_NOT_LEADER; to an unknown target → ETCD_BAD_LEADER_TRANSFEREE', async () => {
    const leader = await currentLeader();
    const [follower] = [...urlOf.keys()].filter((id) => id !== leader);
    assert.ok(follower);
    await rejectsWith(etcd.moveLeader(urlOf.get(follower) ?? '', leader), 'ETCD_NOT_LEADER');
    await rejectsWith(
      etcd.moveLeader(urlOf.get(leader) ?? '', '00000000000000ff'),
      'ETCD_BAD_LEADER_TRANSFEREE',
    );
  });

  test('moveLeader on the leader hands leadership to the chosen follower', async () => {
    const leader = await currentLeader();
    const target = [...urlOf.keys()].find((id) => id !== leader);
    assert.ok(target);
    await etcd.moveLeader(urlOf.get(leader) ?? '', target);
    await waitFor(
      async () => {
        const views = await Promise.all(cluster.endpoints.map((u) => etcd.status(u)));
        return views.every((s) => s.leaderId === target);
      },
      { timeoutMs: 5000, what: `every member to follow ${target}` },
    );
  });

  test('snapshot streams a file that etcdctl snapshot status accepts', async () => {
    await etcdctl(['--endpoints', cluster.endpoints.join(','), 'put', 'contract/key', 'value']);
    const file = join(cluster.dir, 'snap.db');
    await pipeline(await etcd.snapshot(cluster.endpoints[1] ?? ''), createWriteStream(file));
    const size = (await stat(file)).size;
    assert.ok(size > 0);
    const out = await etcdctl(['snapshot', 'status', file, '-w', 'simple']);
    // "hash, revision, total keys, total size"
    const [hash, revision, keys, total] = out.trim().split(', ');
    assert.match(hash ?? '', /^[0-9a-f]+$/);
    assert.ok(Number(revision) >= 2, out);
    assert.ok(Number(keys) >= 1, out);
    assert.match(total ?? '', /B$/);
  });

  test('snapshot of an unreachable endpoint rejects with ETCD_UNAVAILABLE', async () => {
    await rejectsWith(etcd.snapshot('http://127.0.22.99:2379'), 'ETCD_UNAVAILABLE');
  });

  test('a member stopped with SIGTERM exits cleanly and serves again after a restart on its data dir', async () => {
    const i = 2;
    const before = cluster.members[i]?.proc;
    assert.ok(before);
    await cluster.stopMember(i);
    const exit = await before.exited;
    assert.ok(exit.code === 0 || exit.signal === 'SIGTERM', `exit ${JSON.stringify(exit)}`);
    assert.equal(before.running, false);
    assert.equal(await etcdHealth(cluster.endpoints[i] ?? ''), false);
    const after = await cluster.startMember(i);
    assert.notEqual(after.pid, before.pid);
    assert.equal(await etcd.isHealthy(cluster.endpoints[i] ?? ''), true);
  });

  test('quorum lost (2 of 3 killed): no leader in status, unhealthy, and remove fails within the deadline', async () => {
    const leader = await currentLeader();
    const survivorId = [...urlOf.keys()].find((id) => id !== leader);
    assert.ok(survivorId);
    const survivor = urlOf.get(survivorId) ?? '';
    const deadIds = [...urlOf.keys()].filter((id) => id !== survivorId);
    await Promise.all(cluster.members.filter((m) => m.clientUrl !== survivor).map((m) => m.proc.kill()));

    const s = await waitFor(
      async () => {
        const st = await etcd.status(survivor);
        return st.leaderId === undefined && st.errors.length > 0 ? st : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the survivor to report no leader' },
    );
    assert.ok(
      s.errors.some((e) => e.includes('no leader')),
      s.errors.join('; '),
    );
    assert.equal(await etcd.isHealthy(survivor), false);
    assert.equal(await etcdHealth(survivor), false);
    // Member list is answered from local state even without quorum.
    assert.equal((await etcd.listMembers(cluster.endpoints)).length, 3);

    // etcd never answers this remove on its own (etcd-physics §5); the adapter's deadline ends it.
    const dead = deadIds[0] ?? '';
    await rejectsWith(etcd.remove(cluster.endpoints, dead), 'ETCD_TIMEOUT', 'ETCD_UNHEALTHY_CLUSTER');
    // The caller's signal ends it too.
    await rejectsWith(
      etcd.remove([survivor], dead, AbortSignal.timeout(200)),
      'ETCD_TIMEOUT',
      'ETCD_UNHEALTHY_CLUSTER',
    );
    await rejectsWith(etcd.addLearner([survivor], 'http://127.0.22.14:2380'), 'ETCD_UNHEALTHY_CLUSTER');
  });
});

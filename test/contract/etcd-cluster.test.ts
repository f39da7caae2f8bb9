// Contract of the etcd3-backed EtcdCluster adapter against a real 3-member etcd 3.4 on 127.0.21.11–13:
// member list vs etcdctl, status, the learner join flow (add → start → promote → remove), and the
// error table against the real server's answers. Tests in the describe run in order on one cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createEtcdCluster, etcdHealth } from '../../src/adapters/etcd/etcd3-cluster.ts';
import {
  startEtcd,
  hasEtcdData,
  type EtcdExit,
  type RunningEtcd,
} from '../../src/adapters/etcd/etcd-process.ts';
import { readEtcdBinaryVersion } from '../../src/adapters/etcd/etcd-binary-version.ts';
import { EtcdError } from '../../src/core/errors.ts';
import { canJoinWithVersion, learnerLimit, parseEtcdVersion } from '../../src/core/etcd-version.ts';
import type { EtcdCluster, Member } from '../../src/ports/etcd-cluster.ts';
import { startTestCluster, type TestCluster } from '../support/etcd-cluster-fixture.ts';
import { etcdctl, parseMemberListSimple } from '../support/etcd-ctl.ts';
import { retryOnCodes, waitFor } from '../support/wait.ts';

const LEARNER_IP = '127.0.21.14';
const LEARNER_PEER = `http://${LEARNER_IP}:2380`;
const LEARNER_CLIENT = `http://${LEARNER_IP}:2379`;
const DEAD_ENDPOINT = 'http://127.0.21.99:2379';

/** Asserts that `p` rejects with an EtcdError of one of `codes`, and returns it. */
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

function exitWithin(proc: RunningEtcd, ms: number): Promise<EtcdExit> {
  return Promise.race([
    proc.exited,
    new Promise<never>((_, reject) => {
      const t = setTimeout(
        () => reject(new Error(`etcd ${proc.name} (pid ${proc.pid}) did not exit within ${ms} ms`)),
        ms,
      );
      void proc.exited.then(() => clearTimeout(t));
    }),
  ]);
}

describe('EtcdCluster (etcd3 adapter) against a real 3-member etcd', { timeout: 90_000 }, () => {
  let cluster: TestCluster;
  let etcd: EtcdCluster;
  let learner: RunningEtcd | undefined;
  let learnerMember: Member | undefined;
  let learnerInitialCluster: { name: string; peerUrl: string }[] = [];

  before(async () => {
    cluster = await startTestCluster({ size: 3, ipPrefix: '127.0.21' });
    etcd = createEtcdCluster();
  });

  after(async () => {
    await etcd?.close();
    await cluster?.close();
  });

  test('listMembers matches etcdctl member list (hex ids, names, URLs)', async () => {
    const ours = await etcd.listMembers(cluster.endpoints);
    const theirs = parseMemberListSimple(
      await etcdctl(['--endpoints', cluster.endpoints.join(','), 'member', 'list']),
    );
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    assert.deepEqual(
      ours.sort(byId),
      theirs.sort(byId).map(({ status: _status, ...m }) => m),
    );
    assert.deepEqual(ours.map((m) => m.name).sort(), ['m1', 'm2', 'm3']);
    for (const m of ours) assert.match(m.id, /^[0-9a-f]{16}$/);
  });

  test('status of each member: one leader seen by all, raft index and db size > 0', async () => {
    const members = await etcd.listMembers(cluster.endpoints);
    const statuses = await Promise.all(cluster.endpoints.map((u) => etcd.status(u)));
    assert.deepEqual(statuses.map((s) => s.memberId).sort(), members.map((m) => m.id).sort());
    const leaders = new Set(statuses.map((s) => s.leaderId));
    assert.equal(leaders.size, 1, `members disagree on the leader: ${[...leaders].join(', ')}`);
    const [leader] = [...leaders];
    assert.ok(leader !== undefined && members.some((m) => m.id === leader));
    assert.equal(new Set(statuses.map((s) => s.clusterId)).size, 1);
    for (const s of statuses) {
      assert.ok(s.raftIndex > 0, `raftIndex ${s.raftIndex}`);
      assert.ok(s.raftTerm > 0);
      assert.ok(s.dbSize > 0, `dbSize ${s.dbSize}`);
      assert.equal(s.isLearner, false);
      assert.deepEqual(s.errors, []);
    }
    // Whatever etcd runs here (Debian's 3.4.23 today): every member reports the same version, the one
    // the local binary prints, in a line etcd-spot supports, and the join rule accepts it.
    const local = await readEtcdBinaryVersion('etcd'); // the fixture starts 'etcd' from PATH
    assert.ok(local.ok, local.ok ? '' : local.error);
    const v = parseEtcdVersion(statuses[0]?.version);
    assert.ok(v !== undefined, `Maintenance.Status version ${statuses[0]?.version} does not parse`);
    assert.ok(v.major === 3 && v.minor >= 4 && v.minor <= 6, `etcd ${v.text} is not 3.4, 3.5 or 3.6`);
    for (const s of statuses) assert.equal(s.version, local.version);
    const views = members.map((m, i) => ({ ...m, reachable: true, version: statuses[i]?.version ?? '' }));
    assert.equal(canJoinWithVersion(local.version, views).ok, true);
    assert.equal(learnerLimit(views, 3, local.version).limit, v.minor >= 6 ? 3 : 1);
  });

  test('isHealthy and /health are true on every voter', async () => {
    for (const u of cluster.endpoints) {
      assert.equal(await etcd.isHealthy(u), true, u);
      assert.equal(await etcdHealth(u), true, u);
    }
  });

  test('an unreachable endpoint fails with ETCD_UNAVAILABLE instead of hanging, and is skipped when others answer', async () => {
    await rejectsWith(etcd.status(DEAD_ENDPOINT), 'ETCD_UNAVAILABLE');
    await rejectsWith(etcd.listMembers([DEAD_ENDPOINT]), 'ETCD_UNAVAILABLE');
    assert.equal(await etcd.isHealthy(DEAD_ENDPOINT), false);
    assert.equal(await etcdHealth(DEAD_ENDPOINT), false);
    const members = await etcd.listMembers([DEAD_ENDPOINT, ...cluster.endpoints]);
    assert.equal(members.length, 3);
    const all = await rejectsWith(
      etcd.listMembers([DEAD_ENDPOINT, 'http://127.0.21.98:2379']),
      'ETCD_UNAVAILABLE',
    );
    assert.match(all.message, /all 2 endpoints failed: .*127\.0\.21\.99.*; .*127\.0\.21\.98/);
  });

  test('remove of an unknown id → ETCD_MEMBER_NOT_FOUND', async () => {
    const e = await rejectsWith(etcd.remove(cluster.endpoints, '00000000000000ff'), 'ETCD_MEMBER_NOT_FOUND');
    assert.equal(e.retryable, false);
  });

  test('add of an existing peer URL → ETCD_PEER_URL_EXISTS (after the ~5 s post-bootstrap window)', async () => {
    const existing = cluster.members[0]?.peerUrl ?? '';
    await rejectsWith(
      retryOnCodes(() => etcd.addLearner(cluster.endpoints, existing), ['ETCD_UNHEALTHY_CLUSTER'], {
        timeoutMs: 15_000,
      }),
      'ETCD_PEER_URL_EXISTS',
    );
  });

  test('addLearner of a new peer URL → an unstarted learner in the returned list', async () => {
    const { member, members } = await retryOnCodes(
      () => etcd.addLearner(cluster.endpoints, LEARNER_PEER),
      ['ETCD_UNHEALTHY_CLUSTER'],
      { timeoutMs: 15_000 },
    );
    learnerMember = member;
    assert.match(member.id, /^[0-9a-f]{16}$/);
    assert.equal(member.name, '');
    assert.equal(member.isLearner, true);
    assert.deepEqual(member.peerUrls, [LEARNER_PEER]);
    assert.deepEqual(member.clientUrls, []);
    assert.equal(members.length, 4);
    assert.ok(members.some((m) => m.id === member.id));
    // --initial-cluster for the joiner: etcd's list has no name for it yet, so it gets the name it will use.
    learnerInitialCluster = members.map((m) => ({
      name: m.id === member.id ? 'm4' : m.name,
      peerUrl: m.peerUrls[0] ?? '',
    }));
    const listed = parseMemberListSimple(
      await etcdctl(['--endpoints', cluster.endpoints.join(','), 'member', 'list']),
    );
    const row = listed.find((m) => m.id === member.id);
    assert.equal(row?.status, 'unstarted');
    assert.equal(row?.isLearner, true);
  });

  test('a second learner while one exists → ETCD_TOO_MANY_LEARNERS', async () => {
    const e = await rejectsWith(
      retryOnCodes(
        () => etcd.addLearner(cluster.endpoints, 'http://127.0.21.15:2380'),
        ['ETCD_UNHEALTHY_CLUSTER'],
        {
          timeoutMs: 15_000,
        },
      ),
      'ETCD_TOO_MANY_LEARNERS',
    );
    assert.equal(e.retryable, true);
  });

  test('promote of a never-started learner → ETCD_LEARNER_NOT_READY', async () => {
    assert.ok(learnerMember);
    const e = await rejectsWith(etcd.promote(cluster.endpoints, learnerMember.id), 'ETCD_LEARNER_NOT_READY');
    assert.equal(e.retryable, true);
  });

  test('the learner starts with state=existing, refuses member list (ETCD_LEARNER_RPC), then is promoted to a voter', async () => {
    assert.ok(learnerMember);
    const dataDir = join(cluster.dir, 'm4');
    learner = cluster.track(
      startEtcd({
        name: 'm4',
        dataDir,
        clientUrl: LEARNER_CLIENT,
        peerUrl: LEARNER_PEER,
        initialCluster: learnerInitialCluster,
        initialClusterState: 'existing',
        initialClusterToken: cluster.token,
        logFile: join(cluster.dir, 'm4.log'),
      }),
    );
    await learner.waitUntilServing(15_000);
    assert.equal(await hasEtcdData(dataDir), true);

    const s = await etcd.status(LEARNER_CLIENT);
    assert.equal(s.isLearner, true);
    assert.equal(s.memberId, learnerMember.id);
    assert.equal(await etcd.isHealthy(LEARNER_CLIENT), false, 'a learner fails the linearizable health read');
    await rejectsWith(etcd.listMembers([LEARNER_CLIENT]), 'ETCD_LEARNER_RPC');
    // When every endpoint fails, the learner's answer says more than a refused connection.
    await rejectsWith(etcd.listMembers([DEAD_ENDPOINT, LEARNER_CLIENT]), 'ETCD_LEARNER_RPC');
    // A learner first in the list is skipped in favour of a voter.
    assert.equal((await etcd.listMembers([LEARNER_CLIENT, ...cluster.endpoints])).length, 4);

    await retryOnCodes(() => etcd.promote(cluster.endpoints, learnerMember!.id), ['ETCD_LEARNER_NOT_READY'], {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const m4 = (await etcd.listMembers(cluster.endpoints)).find((m) => m.id === learnerMember!.id);
    assert.equal(m4?.isLearner, false);
    assert.equal(m4?.name, 'm4');
    assert.deepEqual(m4?.clientUrls, [LEARNER_CLIENT]);
    await waitFor(() => etcd.isHealthy(LEARNER_CLIENT), {
      timeoutMs: 5000,
      what: 'the promoted member to serve linearizable reads',
    });
  });

  test('promote of a voter → ETCD_NOT_A_LEARNER', async () => {
    assert.ok(learnerMember);
    await rejectsWith(etcd.promote(cluster.endpoints, learnerMember.id), 'ETCD_NOT_A_LEARNER');
  });

  test('remove of the new voter → its process exits by itself with code 0', async () => {
    assert.ok(learnerMember && learner);
    // Removing a voter that connected < 5 s ago can be refused as "unhealthy cluster" (strict reconfig).
    await retryOnCodes(() => etcd.remove(cluster.endpoints, learnerMember!.id), ['ETCD_UNHEALTHY_CLUSTER'], {
      timeoutMs: 15_000,
    });
    const exit = await exitWithin(learner, 10_000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(learner.logTail(), /permanently removed/);
    const members = await etcd.listMembers(cluster.endpoints);
    assert.deepEqual(members.map((m) => m.name).sort(), ['m1', 'm2', 'm3']);
    await rejectsWith(etcd.remove(cluster.endpoints, learnerMember.id), 'ETCD_MEMBER_NOT_FOUND');
  });
});

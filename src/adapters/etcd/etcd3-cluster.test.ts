import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IStatusResponse } from 'etcd3';
import { createEtcdCluster, toMember, toMemberStatus } from './etcd3-cluster.ts';

const header = {
  cluster_id: '5980233209339475660',
  member_id: '16128002158465310846',
  revision: '1',
  raft_term: '2',
};

test('toMember converts the decimal uint64 id to 16-digit hex without precision loss', () => {
  const m = toMember({
    ID: '16128002158465310846',
    name: 'm1',
    peerURLs: ['http://127.0.21.11:2380'],
    clientURLs: ['http://127.0.21.11:2379'],
    isLearner: false,
  });
  assert.deepEqual(m, {
    id: 'dfd22c83680ee07e',
    name: 'm1',
    peerUrls: ['http://127.0.21.11:2380'],
    clientUrls: ['http://127.0.21.11:2379'],
    isLearner: false,
  });
  const unstarted = toMember({
    ID: '1',
    name: '',
    peerURLs: ['http://127.0.21.14:2380'],
    clientURLs: [],
    isLearner: true,
  });
  assert.equal(unstarted.id, '0000000000000001');
  assert.equal(unstarted.name, '');
  assert.equal(unstarted.isLearner, true);
});

test('toMember: a member of a bootstrap --initial-cluster that never started (its name, no client URL) is unstarted', () => {
  // etcd 3.4.23 lists such a member as "started, i-3, http://…:2380, , false": named, no client URL.
  const m = toMember({
    ID: '10376651379411199169',
    name: 'i-3',
    peerURLs: ['http://127.0.160.3:2380'],
    clientURLs: [],
    isLearner: false,
  });
  assert.equal(m.name, '');
  assert.deepEqual(m.clientUrls, []);
  assert.equal(m.isLearner, false);
});

test('toMemberStatus parses numbers (the header revision too) and maps leader "0" to undefined', () => {
  const base = {
    header,
    version: '3.4.23',
    dbSize: '20480',
    leader: '16128002158465310846',
    raftIndex: '11',
    raftTerm: '2',
    raftAppliedIndex: '10',
    errors: [],
    isLearner: false,
  } as unknown as IStatusResponse;
  const s = toMemberStatus(base);
  assert.deepEqual(s, {
    memberId: 'dfd22c83680ee07e',
    clusterId: '52fe0e6b54ac76cc',
    leaderId: 'dfd22c83680ee07e',
    raftIndex: 11,
    raftAppliedIndex: 10,
    raftTerm: 2,
    dbSize: 20480,
    isLearner: false,
    version: '3.4.23',
    errors: [],
    revision: 1,
  });
  const noQuorum = toMemberStatus({
    ...base,
    leader: '0',
    errors: ['etcdserver: no leader'],
  } as IStatusResponse);
  assert.equal(noQuorum.leaderId, undefined);
  assert.deepEqual(noQuorum.errors, ['etcdserver: no leader']);
});

test('calls after close() fail with ETCD_CLIENT_CLOSED; no endpoints fails with ETCD_UNAVAILABLE', async () => {
  const etcd = createEtcdCluster();
  await assert.rejects(etcd.listMembers([]), { code: 'ETCD_UNAVAILABLE' });
  await etcd.close();
  await assert.rejects(etcd.status('http://127.0.21.11:2379'), { code: 'ETCD_CLIENT_CLOSED' });
});

test('an already-aborted signal rejects before any connection is made', async () => {
  const etcd = createEtcdCluster();
  try {
    await assert.rejects(etcd.status('http://127.0.21.11:2379', AbortSignal.abort()), {
      code: 'ETCD_ABORTED',
    });
    await assert.rejects(
      etcd.remove(
        ['http://127.0.21.11:2379'],
        '0000000000000001',
        AbortSignal.abort(new DOMException('t', 'TimeoutError')),
      ),
      { code: 'ETCD_TIMEOUT' },
    );
  } finally {
    await etcd.close();
  }
});

// Never MemberUpdate a learner: before 3.6.12 / 3.5.31 it silently promotes it (CHANGELOG-3.6 v3.6.12 and
// CHANGELOG-3.5 v3.5.31, "MemberUpdate implicitly and unexpectedly promotes a learner", PRs #21736 and
// #21737). etcd-spot has no use for MemberUpdate (a peer URL never changes: a new IP is a new member),
// so the port offers no update at all and nothing in the sources calls etcd3's memberUpdate.
test('the EtcdCluster adapter offers no member update, and no source calls MemberUpdate', async () => {
  const { readdir, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const etcd = createEtcdCluster();
  try {
    assert.deepEqual(
      Object.keys(etcd).filter((k) => /update/i.test(k)),
      [],
      'an update call on the port would be one step from updating a learner',
    );
  } finally {
    await etcd.close();
  }
  const root = new URL('../../', import.meta.url).pathname;
  const offenders: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.ts$/.test(entry.name) || entry.name.endsWith('.test.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    if (/\.memberUpdate\s*\(/i.test(await readFile(path, 'utf8'))) offenders.push(path);
  }
  assert.deepEqual(offenders, [], 'MemberUpdate promotes a learner on etcd < 3.6.12 / 3.5.31');
});

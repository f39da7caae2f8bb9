import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SnapshotManifest, SnapshotStore } from '../ports/snapshot-store.ts';
import { createSnapshotRecovery, lazySnapshotStore } from './snapshot-recovery.ts';
import { recordingLogger } from './testing/fakes.ts';

function manifest(name: string, revision: number): SnapshotManifest {
  return {
    schemaVersion: 1,
    name,
    groupId: 'sig-1',
    clusterId: '1111222233334444',
    revision,
    raftIndex: revision + 10,
    memberCount: 3,
    etcdVersion: '3.4.23',
    sizeBytes: 1024,
    sha256: '0'.repeat(64),
    takenAt: 1_000 + revision,
    takenBy: 'test',
    reason: 'test',
  };
}

function fakeStore(list: SnapshotStore['list']): SnapshotStore & { lists: number } {
  const s = {
    lists: 0,
    description: 'fake store',
    putData: async () => undefined,
    putManifest: async () => undefined,
    list: async (g: string, sig?: AbortSignal) => {
      s.lists++;
      return list(g, sig);
    },
    sizeOf: async () => undefined,
    open: async () => {
      throw new Error('not faked');
    },
    delete: async () => undefined,
  };
  return s;
}

describe('snapshot recovery: what the planner sees', () => {
  it('the newest manifest of the group, listed once per cache period', async () => {
    let now = 0;
    const store = fakeStore(async () => ({ manifests: [manifest('a', 5), manifest('b', 9)], problems: [] }));
    const r = createSnapshotRecovery({
      store,
      groupId: () => 'sig-1',
      tmpDir: '/tmp',
      now: () => now,
      cacheMs: 1000,
      logger: recordingLogger(),
    });
    assert.deepEqual(await r.view(), { ok: true, newest: { name: 'b', revision: 9, takenAt: 1009 } });
    now = 500;
    await r.view();
    assert.equal(store.lists, 1);
    now = 1500;
    await r.view();
    assert.equal(store.lists, 2);
  });

  it('unreadable manifests, or an unknown group id, are "unknown", never "empty"', async () => {
    const bad = fakeStore(async () => ({ manifests: [], problems: [{ key: 'x.json', error: 'not JSON' }] }));
    const opts = { tmpDir: '/tmp', now: () => 0, logger: recordingLogger() };
    const r = createSnapshotRecovery({ ...opts, store: bad, groupId: () => 'sig-1' });
    const v = await r.view();
    assert.equal(v.ok, false);
    const none = createSnapshotRecovery({ ...opts, store: bad, groupId: () => undefined });
    assert.equal((await none.view()).ok, false);
    const empty = createSnapshotRecovery({
      ...opts,
      store: fakeStore(async () => ({ manifests: [], problems: [] })),
      groupId: () => 'sig-1',
    });
    assert.deepEqual(await empty.view(), { ok: true });
  });
});

describe('lazySnapshotStore', () => {
  it('creates the store once, on first use, and again after a failed creation', async () => {
    let makes = 0;
    let fail = true;
    const inner = fakeStore(async () => ({ manifests: [], problems: [] }));
    const lazy = lazySnapshotStore('the s3 snapshot store', async () => {
      makes++;
      if (fail) throw new Error('no credentials');
      return inner;
    });
    assert.equal(makes, 0);
    await assert.rejects(lazy.list('sig-1'), /no credentials/);
    fail = false;
    await lazy.list('sig-1');
    await lazy.list('sig-1');
    assert.equal(makes, 2);
    assert.equal(inner.lists, 2);
    await assert.rejects(lazySnapshotStore('none', async () => undefined).list('g'), /not configured/);
  });
});

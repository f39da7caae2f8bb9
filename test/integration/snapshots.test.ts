/**
 * The whole snapshot path against real processes: a real etcd (127.0.61.x) streams Maintenance.Snapshot
 * through the etcd3 adapter, the snapshot goes to a real directory and to s3rver (loopback, fake
 * credentials), is read back, restored with Debian's `etcdctl snapshot restore`, and a new etcd
 * started on the restored data serves the keys written before. A corrupted upload is refused and the
 * previous good snapshot is restored instead.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Etcd3 } from 'etcd3';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { startEtcd } from '../../src/adapters/etcd/etcd-process.ts';
import { createFsSnapshotStore } from '../../src/adapters/snapshots/fs-store.ts';
import { createS3SnapshotStore } from '../../src/adapters/snapshots/s3-store.ts';
import { refOf } from '../../src/adapters/snapshots/manifest.ts';
import { newestVerifiedSnapshot, takeSnapshot } from '../../src/adapters/snapshots/snapshots.ts';
import { restoreSnapshot } from '../../src/adapters/snapshots/restore.ts';
import type { SnapshotStore } from '../../src/ports/snapshot-store.ts';
import type { EtcdCluster } from '../../src/ports/etcd-cluster.ts';
import { startTestCluster, type TestCluster } from '../support/etcd-cluster-fixture.ts';
import { S3_TEST_CREDENTIALS, startS3rver, type TestS3 } from '../support/snapshot-fixtures.ts';

const GROUP = 'sig-snapint';

describe('snapshots against real etcd, a directory and s3rver', () => {
  let cluster: TestCluster;
  let s3: TestS3;
  let etcd: EtcdCluster;
  let client: Etcd3;
  let dir: string;
  const stores: Record<string, SnapshotStore> = {};

  before(async () => {
    cluster = await startTestCluster({ size: 1, ipPrefix: '127.0.61' });
    s3 = await startS3rver();
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-snapint-'));
    etcd = createEtcdCluster({ callTimeoutMs: 3000 });
    client = new Etcd3({ hosts: cluster.endpoints[0] as string });
    stores.fs = createFsSnapshotStore({ dir: join(dir, 'store') });
    stores.s3 = createS3SnapshotStore({
      bucket: s3.bucket,
      prefix: 'etcd-spot',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: S3_TEST_CREDENTIALS,
    });
  });
  after(async () => {
    client?.close();
    await etcd?.close();
    await stores.s3?.close?.();
    await s3?.close();
    await cluster?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const take = (store: SnapshotStore) =>
    takeSnapshot({
      etcd,
      clientUrl: cluster.endpoints[0] as string,
      store,
      groupId: GROUP,
      takenBy: 'integration',
      reason: 'on demand',
      memberCount: 1,
      tmpDir: join(dir, 'tmp'),
      now: Date.now,
    });

  for (const kind of ['fs', 's3'] as const) {
    it(`${kind}: take, read back, restore with etcdctl, serve the data; a corrupted newest one is refused`, async () => {
      const store = stores[kind] as SnapshotStore;
      await client.put(`k-${kind}`).value('before');
      const good = await take(store);
      assert.equal(good.manifest.etcdVersion.split('.')[0], '3');
      assert.ok(good.manifest.revision > 0);
      assert.equal(good.manifest.sizeBytes % 512, 32);

      await client.put(`k-${kind}`).value('after');
      const bad = await take(store);
      // Corrupt the newest upload in the store (same size, one byte flipped).
      const chunks: Buffer[] = [];
      for await (const c of await store.open(refOf(bad.manifest))) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      bytes[4096] = (bytes[4096] as number) ^ 0xff;
      await store.putData(refOf(bad.manifest), Readable.from([bytes]), bytes.length);

      const snap = await newestVerifiedSnapshot(store, GROUP, undefined, {
        clusterId: good.manifest.clusterId,
        etcdVersion: good.manifest.etcdVersion,
        tmpDir: join(dir, 'tmp'),
      });
      assert.ok(snap);
      assert.equal(snap.manifest.name, good.manifest.name, 'the previous good snapshot');
      assert.equal(snap.skipped[0]?.code, 'SNAPSHOT_HASH_MISMATCH');

      const ip = kind === 'fs' ? '127.0.61.31' : '127.0.61.32';
      const dataDir = join(dir, `restored-${kind}`);
      const peerUrl = `http://${ip}:2380`;
      // etcd 3.4 refuses an existing (even empty) data dir: an empty one goes through a staging dir.
      if (kind === 's3') await mkdir(dataDir);
      const r = await restoreSnapshot({
        file: snap.file,
        dataDir,
        name: 'restored',
        peerUrl,
        initialCluster: [{ name: 'restored', peerUrl }],
        clusterToken: `restore-${kind}-${Date.now()}`,
      });
      await rm(snap.file, { force: true });
      assert.ok(['etcdctl', 'etcdutl'].includes(r.tool));
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.includes('.restore-')),
        [],
        'no staging dir left behind',
      );
      await assert.rejects(
        restoreSnapshot({
          file: snap.file,
          dataDir,
          name: 'restored',
          peerUrl,
          initialCluster: [{ name: 'restored', peerUrl }],
          clusterToken: 'x',
        }),
        { code: 'SNAPSHOT_RESTORE_DATA_EXISTS' },
      );

      const proc = startEtcd({
        name: 'restored',
        dataDir,
        clientUrl: `http://${ip}:2379`,
        peerUrl,
        initialCluster: [{ name: 'restored', peerUrl }],
        initialClusterState: 'existing',
        initialClusterToken: 'ignored-on-existing-data',
        logFile: join(dir, `restored-${kind}.log`),
      });
      const restored = new Etcd3({ hosts: `http://${ip}:2379` });
      try {
        await proc.waitUntilServing(20_000);
        assert.equal(await restored.get(`k-${kind}`).string(), 'before');
      } finally {
        restored.close();
        await proc.kill();
      }
      // Nothing was deleted: both snapshots are still listed.
      const names = (await store.list(GROUP)).manifests.map((m) => m.name);
      assert.ok(names.includes(bad.manifest.name) && names.includes(good.manifest.name));
    });
  }

  it('restore refuses a truncated file with a clear error', async () => {
    const { writeFile } = await import('node:fs/promises');
    const f = join(dir, 'truncated.db');
    await writeFile(f, Buffer.alloc(5000));
    await assert.rejects(
      restoreSnapshot({
        file: f,
        dataDir: join(dir, 'never'),
        name: 'x',
        peerUrl: 'http://127.0.61.33:2380',
        initialCluster: 'x=http://127.0.61.33:2380',
        clusterToken: 't',
      }),
      { code: 'SNAPSHOT_TRUNCATED' },
    );
  });
});

/**
 * One suite, two real stores: a directory and an S3-compatible server (s3rver on 127.0.0.1 with fake
 * credentials). Snapshots are etcd-shaped (pages + SHA-256 trailer) and served by a fake etcd; the
 * real-etcd round trip is in test/integration/snapshots.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { createFsSnapshotStore } from '../../src/adapters/snapshots/fs-store.ts';
import { createS3SnapshotStore } from '../../src/adapters/snapshots/s3-store.ts';
import { refOf } from '../../src/adapters/snapshots/manifest.ts';
import {
  newestVerifiedSnapshot,
  takeSnapshot,
  verifyStoredSnapshot,
} from '../../src/adapters/snapshots/snapshots.ts';
import type { SnapshotStore } from '../../src/ports/snapshot-store.ts';
import {
  fakeSnapshotBytes,
  fakeSnapshotEtcd,
  S3_TEST_CREDENTIALS,
  startBlackhole,
  startS3rver,
  type TestS3,
} from '../support/snapshot-fixtures.ts';

const GROUP = 'sig-test1';
const CLUSTER = '1111222233334444';
let clockMs = Date.UTC(2026, 10, 30, 12, 0, 0);
const now = () => (clockMs += 1000);

/** Replaces the stored bytes of a snapshot with the same number of bytes, one of them flipped. */
async function corrupt(store: SnapshotStore, name: string): Promise<void> {
  const ref = { groupId: GROUP, clusterId: CLUSTER, name };
  const chunks: Buffer[] = [];
  for await (const c of await store.open(ref)) chunks.push(c as Buffer);
  const b = Buffer.concat(chunks);
  b[100] = (b[100] as number) ^ 0xff;
  await store.putData(ref, Readable.from([b]), b.length);
}

/** A store whose uploads lose one byte in the middle (a store that answers 200 to a bad body). */
function lossyUploads(store: SnapshotStore): SnapshotStore {
  return {
    ...store,
    putFile: undefined, // every upload goes through the lossy stream
    putData(ref, data, size, signal) {
      let seen = 0;
      const flip = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          const c = Buffer.from(chunk);
          if (seen <= 700 && seen + c.length > 700) c[700 - seen] = (c[700 - seen] as number) ^ 1;
          seen += c.length;
          cb(null, c);
        },
      });
      return store.putData(ref, data.pipe(flip), size, signal);
    },
  };
}

function suite(kind: string, makeStore: () => Promise<SnapshotStore>) {
  describe(`${kind} snapshot store`, () => {
    let store: SnapshotStore;
    let tmp: string;
    before(async () => {
      store = await makeStore();
      tmp = await mkdtemp(join(tmpdir(), 'etcd-spot-snap-test-'));
    });
    after(async () => {
      await store.close?.();
      await rm(tmp, { recursive: true, force: true });
    });

    const take = (bytes: Buffer, extra: Partial<Parameters<typeof fakeSnapshotEtcd>[0]> = {}, s = store) =>
      takeSnapshot({
        etcd: fakeSnapshotEtcd({ bytes: () => bytes, ...extra }),
        clientUrl: 'http://127.0.0.1:2379',
        store: s,
        groupId: GROUP,
        takenBy: 'test',
        reason: 'on demand',
        memberCount: 3,
        tmpDir: tmp,
        now,
      });

    it('stores a snapshot with its manifest, and gives back the same bytes', async () => {
      const bytes = fakeSnapshotBytes(300);
      const r = await take(bytes, { revision: 42 });
      assert.equal(r.manifest.sizeBytes, bytes.length);
      assert.equal(r.manifest.revision, 42);
      assert.equal(r.manifest.clusterId, CLUSTER);
      const { manifests, problems } = await store.list(GROUP);
      assert.deepEqual(problems, []);
      assert.ok(manifests.some((m) => m.name === r.manifest.name));
      await verifyStoredSnapshot(store, r.manifest);
      const chunks: Buffer[] = [];
      for await (const c of await store.open(refOf(r.manifest))) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(bytes));
      assert.deepEqual(await readdir(tmp), [], 'the temp file is removed');
    });

    it('restore refuses a corrupted object and picks the previous good one; nothing is deleted', async () => {
      const good = await take(fakeSnapshotBytes(64), { revision: 50 });
      const bad = await take(fakeSnapshotBytes(64), { revision: 51 });
      await corrupt(store, bad.manifest.name);
      await assert.rejects(verifyStoredSnapshot(store, bad.manifest), { code: 'SNAPSHOT_HASH_MISMATCH' });
      const snap = await newestVerifiedSnapshot(store, GROUP, undefined, { clusterId: CLUSTER, tmpDir: tmp });
      assert.ok(snap);
      try {
        assert.equal(snap.manifest.name, good.manifest.name);
        assert.equal(snap.skipped[0]?.name, bad.manifest.name);
        assert.equal(snap.skipped[0]?.code, 'SNAPSHOT_HASH_MISMATCH');
        assert.equal((await readFile(snap.file)).length, good.manifest.sizeBytes);
      } finally {
        await rm(snap.file, { force: true });
      }
      const names = (await store.list(GROUP)).manifests.map((m) => m.name);
      assert.ok(names.includes(bad.manifest.name) && names.includes(good.manifest.name));
      await store.delete(refOf(bad.manifest)); // keep later tests' "newest" meaningful
    });

    it('a truncated snapshot from etcd is refused before upload; the older one stays', async () => {
      const before = (await store.list(GROUP)).manifests.map((m) => m.name);
      await assert.rejects(take(fakeSnapshotBytes(64), { cutAt: 20_100 }), { code: 'SNAPSHOT_TRUNCATED' });
      // Cut on a 512·n + 32 boundary: the size looks right, the trailer does not match.
      await assert.rejects(take(fakeSnapshotBytes(64), { cutAt: 20_000 }), { code: 'SNAPSHOT_CORRUPT' });
      const bytes = fakeSnapshotBytes(64);
      bytes[5] = (bytes[5] as number) ^ 1; // right size, wrong trailer
      await assert.rejects(take(bytes), { code: 'SNAPSHOT_CORRUPT' });
      assert.deepEqual(
        (await store.list(GROUP)).manifests.map((m) => m.name),
        before,
      );
      assert.deepEqual(await readdir(tmp), []);
    });

    it('an upload that does not read back intact does not count and deletes nothing older', async () => {
      const before = (await store.list(GROUP)).manifests.map((m) => m.name);
      await assert.rejects(take(fakeSnapshotBytes(64), {}, lossyUploads(store)), {
        code: 'SNAPSHOT_UPLOAD_CORRUPT',
      });
      assert.deepEqual(
        (await store.list(GROUP)).manifests.map((m) => m.name),
        before,
      );
    });

    it('skips foreign snapshots (another cluster id) and ones from a newer etcd', async () => {
      await take(fakeSnapshotBytes(8), { clusterId: 'aaaabbbbccccdddd', revision: 99 });
      await take(fakeSnapshotBytes(8), { version: '3.6.14', revision: 100 });
      const snap = await newestVerifiedSnapshot(store, GROUP, undefined, {
        clusterId: CLUSTER,
        etcdVersion: '3.4.23',
        tmpDir: tmp,
      });
      assert.ok(snap);
      await rm(snap.file, { force: true });
      assert.equal(snap.manifest.clusterId, CLUSTER);
      assert.notEqual(snap.manifest.etcdVersion, '3.6.14');
      const codes = snap.skipped.map((s) => s.code);
      assert.ok(codes.includes('SNAPSHOT_TOO_NEW'), codes.join());
      assert.ok(codes.includes('SNAPSHOT_FOREIGN'), codes.join());
    });

    it('applies retention to this cluster only, newest kept', async () => {
      const other = (await store.list(GROUP)).manifests.filter((m) => m.clusterId !== CLUSTER);
      let last;
      for (let i = 0; i < 4; i++)
        last = await takeSnapshot({
          etcd: fakeSnapshotEtcd({ bytes: () => fakeSnapshotBytes(4), revision: 200 + i }),
          clientUrl: 'http://127.0.0.1:2379',
          store,
          groupId: GROUP,
          takenBy: 'test',
          reason: 'interval',
          memberCount: 3,
          tmpDir: tmp,
          retention: { keepLast: 2, hourlyDays: 0, dailyDays: 0 },
          now,
        });
      const after = (await store.list(GROUP)).manifests;
      const mine = after.filter((m) => m.clusterId === CLUSTER);
      assert.equal(mine.length, 2);
      assert.equal(mine.at(-1)?.name, last?.manifest.name);
      assert.deepEqual(
        after.filter((m) => m.clusterId !== CLUSTER).map((m) => m.name),
        other.map((m) => m.name),
      );
    });

    it('an empty group has no snapshot; a group with only bad ones is a clear error', async () => {
      assert.equal(await newestVerifiedSnapshot(store, 'sig-empty', undefined, { tmpDir: tmp }), undefined);
      const r = await takeSnapshot({
        etcd: fakeSnapshotEtcd({ bytes: () => fakeSnapshotBytes(4) }),
        clientUrl: 'http://x:2379',
        store,
        groupId: 'sig-onlybad',
        takenBy: 't',
        reason: 'r',
        memberCount: 1,
        tmpDir: tmp,
        now,
      });
      const ref = refOf(r.manifest);
      await store.putData(ref, Readable.from([Buffer.alloc(600)]), 600);
      await assert.rejects(newestVerifiedSnapshot(store, 'sig-onlybad', undefined, { tmpDir: tmp }), {
        code: 'SNAPSHOT_NONE_USABLE',
        message: /sig-onlybad.*manifest says/,
      });
      assert.equal((await store.list('sig-onlybad')).manifests.length, 1, 'nothing deleted');
    });
  });
}

suite('filesystem', async () =>
  createFsSnapshotStore({ dir: await mkdtemp(join(tmpdir(), 'etcd-spot-fsstore-')) }),
);

let s3: TestS3 | undefined;
after(async () => s3?.close());
suite('s3 (s3rver)', async () => {
  s3 = await startS3rver();
  return createS3SnapshotStore({
    bucket: s3.bucket,
    prefix: 'backups/etcd',
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: S3_TEST_CREDENTIALS,
  });
});

describe('s3 store: bad input gives a clear error', () => {
  let server: TestS3;
  before(async () => {
    server = await startS3rver('present');
  });
  after(async () => server.close());

  it('a missing bucket', async () => {
    const store = createS3SnapshotStore({
      bucket: 'no-such-bucket',
      prefix: '',
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: S3_TEST_CREDENTIALS,
    });
    await assert.rejects(store.list(GROUP), { code: 'SNAPSHOT_STORE_MISSING', message: /no-such-bucket/ });
    store.close?.();
  });

  // s3rver checks the access key id but not SigV4 signatures, so the wrong credential is the key id.
  it('wrong credentials', async () => {
    const store = createS3SnapshotStore({
      bucket: 'present',
      prefix: '',
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAWRONGKEY', secretAccessKey: 'wrong' },
    });
    await assert.rejects(store.list(GROUP), { code: 'SNAPSHOT_STORE_AUTH', message: /credentials/ });
    store.close?.();
  });

  it('a store that never answers times out', async () => {
    const hole = await startBlackhole();
    const store = createS3SnapshotStore({
      bucket: 'present',
      prefix: '',
      region: 'us-east-1',
      endpoint: hole.endpoint,
      forcePathStyle: true,
      credentials: S3_TEST_CREDENTIALS,
      requestTimeoutMs: 300,
      maxAttempts: 1,
    });
    try {
      await assert.rejects(store.list(GROUP), { code: 'SNAPSHOT_STORE_TIMEOUT' });
    } finally {
      store.close?.();
      await hole.close();
    }
  });
});

describe('filesystem store: two writers of the same snapshot name', () => {
  it('each writes through its own temporary file: both succeed, nothing partial is left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-fsstore-'));
    try {
      const store = createFsSnapshotStore({ dir });
      const ref = { groupId: GROUP, clusterId: CLUSTER, name: '20261130T120000.000Z-000000000021' };
      const bytes = fakeSnapshotBytes(64);
      const src = join(dir, 'src.db');
      await writeFile(src, bytes);
      assert.ok(store.putFile, 'the filesystem store copies files');
      // The same name at once (the leader's periodic snapshot and an operator's, same ms, same
      // revision): with one shared `.partial` name, the second rename failed with ENOENT.
      await Promise.all([1, 2, 3, 4].map(() => store.putFile!(ref, src, bytes.length)));
      const names = await readdir(join(dir, GROUP, CLUSTER));
      assert.deepEqual(names, [`${ref.name}.db`]);
      assert.deepEqual(await readFile(join(dir, GROUP, CLUSTER, `${ref.name}.db`)), bytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('filesystem store: a missing directory', () => {
  it('is a clear error on list', async () => {
    const store = createFsSnapshotStore({ dir: '/nonexistent/etcd-spot-snapshots' });
    await assert.rejects(store.list(GROUP), { code: 'SNAPSHOT_STORE_MISSING', message: /snapshot.dir/ });
  });
  it('a manifest copied into another cluster folder is reported, not used', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-fsstore-'));
    try {
      const store = createFsSnapshotStore({ dir });
      const r = await takeSnapshot({
        etcd: fakeSnapshotEtcd({ bytes: () => fakeSnapshotBytes(4) }),
        clientUrl: 'http://x:2379',
        store,
        groupId: GROUP,
        takenBy: 't',
        reason: 'r',
        memberCount: 1,
        tmpDir: dir,
        now,
      });
      const text = await readFile(join(dir, GROUP, CLUSTER, `${r.manifest.name}.json`), 'utf8');
      const elsewhere = join(dir, GROUP, 'ffffeeeeddddcccc');
      await import('node:fs/promises').then((fs) => fs.mkdir(elsewhere));
      await writeFile(join(elsewhere, `${r.manifest.name}.json`), text);
      const { manifests, problems } = await store.list(GROUP);
      assert.equal(manifests.length, 1);
      assert.equal(problems.length, 1);
      assert.match(problems[0]?.error ?? '', /belongs elsewhere/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

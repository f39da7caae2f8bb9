import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createFsSnapshotStore } from '../adapters/snapshots/fs-store.ts';
import { Snapshotter } from './snapshotter.ts';
import { fakeSnapshotBytes, fakeSnapshotEtcd } from '../../test/support/snapshot-fixtures.ts';
import { recordingLogger } from '../../test/support/recording-logger.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function setup(etcdOpts: Partial<Parameters<typeof fakeSnapshotEtcd>[0]> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-snapshotter-'));
  dirs.push(dir);
  let now = Date.UTC(2026, 10, 30, 12);
  const store = createFsSnapshotStore({ dir: join(dir, 'store') });
  const fake = { bytes: () => fakeSnapshotBytes(16), ...etcdOpts };
  const etcd = {
    ...fakeSnapshotEtcd(fake),
    listMembers: async () => [],
  };
  const logger = recordingLogger();
  const s = new Snapshotter({
    store,
    etcd,
    groupId: () => 'sig-1',
    clientUrl: () => 'http://127.0.0.1:2379',
    takenBy: () => 'i-1',
    intervalMs: 15 * 60_000,
    timeoutMs: 30_000,
    retention: { keepLast: 3, hourlyDays: 0, dailyDays: 0 },
    tmpDir: join(dir, 'tmp'),
    now: () => (now += 1000),
    logger,
  });
  return { s, store, fake, logger, advance: (ms: number) => (now += ms) };
}

describe('Snapshotter', () => {
  test('a taken snapshot becomes the schedule’s last; a failure is remembered and keeps it', async () => {
    const { s, store, fake, logger } = await setup();
    assert.equal(s.schedule().last, undefined);
    const summary = await s.take('on demand', undefined);
    assert.match(summary, /verified/);
    const last = s.schedule().last;
    assert.ok(last);
    fake.cutAt = 1000;
    await assert.rejects(s.take('on demand', undefined), { code: 'SNAPSHOT_TRUNCATED' });
    assert.equal(s.schedule().last?.name, last.name, 'the good one still counts');
    assert.match(s.schedule().lastFailure?.error ?? '', /not a valid etcd snapshot/);
    assert.equal(s.failures, 1);
    assert.equal((await store.list('sig-1')).manifests.length, 1);
    assert.ok(logger.entries.some((e) => e.level === 'error' && /does not count/.test(e.msg ?? '')));
  });

  test('after a restart, a periodic snapshot is not taken while the store holds a recent one', async () => {
    const { s, store } = await setup();
    await s.take('on demand', undefined);
    const { s: fresh } = await setup();
    // The fresh agent reads the same store: rebuild it on the first store's dir.
    const restarted = new Snapshotter({
      ...(fresh as unknown as { o: ConstructorParameters<typeof Snapshotter>[0] }).o,
      store,
    });
    const r = await restarted.take(
      'periodic snapshot (every 15 min): no snapshot of this cluster yet',
      undefined,
    );
    assert.match(r, /already holds/);
    assert.equal((await store.list('sig-1')).manifests.length, 1);
  });

  test('abort() cancels a snapshot in flight with a clear error', async () => {
    const { s, fake } = await setup();
    fake.bytes = () => fakeSnapshotBytes(64);
    const never = new Readable({ read() {} });
    const etcd = (s as unknown as { o: { etcd: { snapshot: () => Promise<Readable> } } }).o.etcd;
    etcd.snapshot = async () => {
      never.push(Buffer.alloc(512));
      return never;
    };
    const p = s.take('on demand', undefined);
    setImmediate(() => s.abort('termination notice'));
    await assert.rejects(p, { code: 'SNAPSHOT_CANCELLED', message: /termination notice/ });
  });
});

/**
 * Snapshot test helpers: an etcd-shaped snapshot (512-byte pages + the SHA-256 trailer etcd appends),
 * a fake `EtcdCluster` that serves one as Maintenance.Snapshot, and an s3rver on loopback with a
 * bucket and fake credentials (never an AWS endpoint).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { MemberStatus } from '../../src/ports/etcd-cluster.ts';

/** `pages` × 512 random bytes followed by their SHA-256, as etcd writes a snapshot. */
export function fakeSnapshotBytes(pages: number): Buffer {
  const body = randomBytes(pages * 512);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** A fake etcd for takeSnapshot: `status` and `snapshot` only. */
export function fakeSnapshotEtcd(opts: {
  clusterId?: string;
  revision?: number;
  version?: string;
  bytes: () => Buffer;
  /** Cut the stream after this many bytes (a truncated snapshot). */
  cutAt?: number;
}): { status(url: string): Promise<MemberStatus>; snapshot(url: string): Promise<Readable> } {
  return {
    async status() {
      return {
        memberId: '00000000000000aa',
        clusterId: opts.clusterId ?? '1111222233334444',
        leaderId: '00000000000000aa',
        raftIndex: 77,
        raftAppliedIndex: 77,
        raftTerm: 2,
        revision: opts.revision ?? 5,
        dbSize: 0,
        isLearner: false,
        version: opts.version ?? '3.4.23',
        errors: [],
      };
    },
    async snapshot() {
      const b = opts.bytes();
      const data = opts.cutAt === undefined ? b : b.subarray(0, opts.cutAt);
      // 16 KiB chunks, like etcd's stream.
      const chunks: Buffer[] = [];
      for (let i = 0; i < data.length; i += 16_384) chunks.push(data.subarray(i, i + 16_384));
      return Readable.from(chunks);
    },
  };
}

export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3 {
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

/** s3rver on 127.0.0.1 (random port), files in a temp dir, one bucket. */
export async function startS3rver(bucket = 'etcd-spot-test'): Promise<TestS3> {
  // s3rver ships no types; CommonJS.
  const S3rver = createRequire(import.meta.url)('s3rver') as new (o: object) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const addr = await server.run();
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    bucket,
    async close() {
      await server.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP server that accepts connections and never answers: a store that times out. */
export async function startBlackhole(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

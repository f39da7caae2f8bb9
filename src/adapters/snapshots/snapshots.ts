/**
 * Taking, checking and choosing snapshots over a {@link SnapshotStore}. A snapshot counts only once
 * (1) etcd's own SHA-256 trailer matched on the local temp file, (2) the store gave back the same size
 * and SHA-256, and (3) its manifest was written. A failure at any step deletes only what this attempt
 * wrote (its data object, whose manifest was never written), never an older snapshot.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describeError } from '../../core/errors.ts';
import { minorText, parseEtcdVersion } from '../../core/etcd-version.ts';
import { selectRetained, snapshotName } from '../../core/snapshot-policy.ts';
import type { SnapshotRetention } from '../../core/snapshot-policy.ts';
import type { EtcdCluster } from '../../ports/etcd-cluster.ts';
import type { Logger } from '../../ports/logger.ts';
import type { SnapshotManifest, SnapshotStore } from '../../ports/snapshot-store.ts';
import { refOf } from './manifest.ts';
import { checkAgainstManifest, digestStream, noteStreamed, SnapshotError, trailerError } from './verify.ts';
import type { StreamDigest } from './verify.ts';

function write(ws: WriteStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: unknown) => reject(e);
    ws.once('error', onError);
    if (ws.write(chunk)) {
      ws.off('error', onError);
      resolve();
    } else
      ws.once('drain', () => {
        ws.off('error', onError);
        resolve();
      });
  });
}

function finish(ws: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.end(() => resolve());
  });
}

/** Copies a stream to `file` while hashing it (constant memory). Removes the file on failure. */
export async function streamToFile(source: Readable, file: string): Promise<StreamDigest> {
  const ws = createWriteStream(file, { mode: 0o600 });
  try {
    const d = await digestStream(source as AsyncIterable<Buffer>, (c) => write(ws, c));
    await finish(ws);
    return d;
  } catch (err) {
    source.destroy();
    ws.destroy();
    await rm(file, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** The temp file as a stream for an upload, pacing the young-generation collections (noteStreamed). */
function uploadStream(file: string): Readable {
  const src = createReadStream(file, { highWaterMark: 64 * 1024 });
  async function* paced(): AsyncGenerator<Buffer> {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      noteStreamed(chunk.length);
      yield chunk;
    }
  }
  return Readable.from(paced(), { objectMode: false });
}

function tempFile(dir: string, tag: string): string {
  return join(dir, `etcd-spot-${tag}-${process.pid}-${randomBytes(6).toString('hex')}.db`);
}

/**
 * Re-reads a stored snapshot and checks it against its manifest (size, SHA-256, etcd's trailer).
 * Throws SnapshotError (SNAPSHOT_MISSING, SNAPSHOT_SIZE_MISMATCH, SNAPSHOT_HASH_MISMATCH, …).
 */
export async function verifyStoredSnapshot(
  store: SnapshotStore,
  m: SnapshotManifest,
  signal?: AbortSignal,
  copyTo?: string,
): Promise<StreamDigest> {
  const what = `snapshot ${m.name} of cluster ${m.clusterId} in ${store.description}`;
  const size = await store.sizeOf(refOf(m), signal);
  if (size === undefined) throw new SnapshotError(`${what}: its data is missing`, 'SNAPSHOT_MISSING');
  if (size !== m.sizeBytes)
    throw new SnapshotError(
      `${what}: ${size} bytes stored, the manifest says ${m.sizeBytes}: truncated or replaced`,
      'SNAPSHOT_SIZE_MISMATCH',
    );
  let d: StreamDigest;
  if (copyTo === undefined && store.digest !== undefined) d = await store.digest(refOf(m), signal);
  else {
    const body = await store.open(refOf(m), signal);
    d =
      copyTo === undefined
        ? await digestStream(body as AsyncIterable<Buffer>)
        : await streamToFile(body, copyTo);
  }
  checkAgainstManifest(what, d, m);
  return d;
}

export interface TakeSnapshotOptions {
  etcd: Pick<EtcdCluster, 'snapshot' | 'status'>;
  /** The member to snapshot (the leader's own client URL for the agent). */
  clientUrl: string;
  store: SnapshotStore;
  groupId: string;
  takenBy: string;
  reason: string;
  /** Members in the cluster now (for the manifest). */
  memberCount: number;
  /** Where the temp file goes (default the OS temp dir); it is always removed. */
  tmpDir?: string;
  retention?: SnapshotRetention;
  now: () => number;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface TakeSnapshotResult {
  manifest: SnapshotManifest;
  /** Names deleted by retention. */
  expired: string[];
  /** Why retention did not run or did not finish (the snapshot itself is good). */
  retentionError?: string;
}

/**
 * Streams Maintenance.Snapshot to a temp file while hashing it, checks etcd's trailer, uploads it,
 * re-reads the upload, writes the manifest, then applies retention to this cluster's snapshots.
 *
 * @example
 * const r = await takeSnapshot({ etcd, clientUrl, store, groupId: 'sig-1', takenBy: 'cli', reason: 'on demand', memberCount: 3, now: Date.now });
 */
export async function takeSnapshot(o: TakeSnapshotOptions): Promise<TakeSnapshotResult> {
  const status = await o.etcd.status(o.clientUrl, o.signal);
  const dir = o.tmpDir ?? tmpdir();
  await mkdir(dir, { recursive: true });
  const tmp = tempFile(dir, 'snapshot');
  try {
    const stream = await o.etcd.snapshot(o.clientUrl, o.signal);
    // Whatever the source does with the signal, a cancelled snapshot stops reading at once.
    const stop = () =>
      stream.destroy(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
    if (o.signal?.aborted === true) stop();
    else o.signal?.addEventListener('abort', stop, { once: true });
    let d: StreamDigest;
    try {
      d = await streamToFile(stream, tmp);
    } finally {
      o.signal?.removeEventListener('abort', stop);
    }
    if (!d.trailerOk) throw trailerError(`the snapshot streamed from ${o.clientUrl}`, d);
    const takenAt = o.now();
    const revision = status.revision ?? 0;
    const manifest: SnapshotManifest = {
      schemaVersion: 1,
      name: snapshotName(takenAt, revision),
      groupId: o.groupId,
      clusterId: status.clusterId,
      revision,
      raftIndex: status.raftIndex,
      memberCount: o.memberCount,
      etcdVersion: status.version,
      sizeBytes: d.sizeBytes,
      sha256: d.sha256,
      takenAt,
      takenBy: o.takenBy,
      reason: o.reason,
    };
    const ref = refOf(manifest);
    if (o.store.putFile !== undefined) await o.store.putFile(ref, tmp, d.sizeBytes, o.signal);
    else await o.store.putData(ref, uploadStream(tmp), d.sizeBytes, o.signal);
    try {
      await verifyStoredSnapshot(o.store, manifest, o.signal);
    } catch (err) {
      // Only this attempt's own object (no manifest yet, so it never counted) is removed.
      await o.store.delete(ref).catch(() => undefined);
      throw new SnapshotError(
        `the upload of ${manifest.name} to ${o.store.description} did not read back intact: ${describeError(err)}`,
        'SNAPSHOT_UPLOAD_CORRUPT',
        { cause: err },
      );
    }
    await o.store.putManifest(manifest, o.signal);
    const result: TakeSnapshotResult = { manifest, expired: [] };
    if (o.retention !== undefined) {
      try {
        result.expired = await applyRetention(o.store, manifest, o.retention, o.now(), o.signal);
      } catch (err) {
        result.retentionError = describeError(err);
        o.logger?.warn({ err: result.retentionError }, 'snapshot retention failed; nothing more deleted');
      }
    }
    return result;
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Deletes the snapshots of `newest`'s cluster that retention does not keep; returns their names. */
export async function applyRetention(
  store: SnapshotStore,
  newest: SnapshotManifest,
  retention: SnapshotRetention,
  now: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const { manifests } = await store.list(newest.groupId, signal);
  const mine = manifests.filter((m) => m.clusterId === newest.clusterId);
  if (!mine.some((m) => m.name === newest.name)) mine.push(newest); // a store whose list lags
  const { expire } = selectRetained(mine, retention, now);
  const gone: string[] = [];
  for (const m of expire) {
    if (m.name === newest.name) continue;
    await store.delete(refOf(m), signal);
    gone.push(m.name);
  }
  return gone;
}

export interface NewestVerifiedOptions {
  /** Only this cluster's snapshots (the others are foreign); default any cluster of the group. */
  clusterId?: string;
  /** The local etcd's version: snapshots from a newer minor are refused (SNAPSHOT_TOO_NEW). */
  etcdVersion?: string;
  /** Where the verified copy goes (default the OS temp dir). */
  tmpDir?: string;
  logger?: Logger;
}

export interface VerifiedSnapshot {
  manifest: SnapshotManifest;
  /** A local copy, verified; the caller removes it when done. */
  file: string;
  /** Newer snapshots that were passed over, and why. */
  skipped: { name: string; code: string; error: string }[];
}

/** Why a snapshot cannot be restored by this etcd, before downloading it. */
function refusal(m: SnapshotManifest, o: NewestVerifiedOptions): SnapshotError | undefined {
  if (o.clusterId !== undefined && m.clusterId !== o.clusterId)
    return new SnapshotError(
      `snapshot ${m.name} belongs to cluster ${m.clusterId}, not ${o.clusterId}`,
      'SNAPSHOT_FOREIGN',
    );
  const mine = parseEtcdVersion(o.etcdVersion);
  const theirs = parseEtcdVersion(m.etcdVersion);
  if (mine !== undefined && theirs !== undefined) {
    if (theirs.major !== mine.major || theirs.minor > mine.minor)
      return new SnapshotError(
        `snapshot ${m.name} was taken by etcd ${m.etcdVersion}, newer than the local etcd ${o.etcdVersion} (${minorText(mine)} cannot restore ${minorText(theirs)}); restore it with etcd ${minorText(theirs)} or newer`,
        'SNAPSHOT_TOO_NEW',
      );
  }
  return undefined;
}

/**
 * The newest snapshot of the group that passes every check (cluster, etcd version, size, SHA-256,
 * etcd's trailer), downloaded to a local file. Corrupt or unusable ones are skipped and logged, and
 * deleted never. Returns undefined when the store holds no snapshot of the group; throws
 * SNAPSHOT_NONE_USABLE (listing each reason) when it holds some but none passes.
 *
 * @example
 * const snap = await newestVerifiedSnapshot(store, 'sig-1', signal, { clusterId, etcdVersion: '3.4.23' });
 * if (snap) try { await restoreSnapshot({ file: snap.file, … }); } finally { await rm(snap.file); }
 */
export async function newestVerifiedSnapshot(
  store: SnapshotStore,
  groupId: string,
  signal?: AbortSignal,
  o: NewestVerifiedOptions = {},
): Promise<VerifiedSnapshot | undefined> {
  const { manifests, problems } = await store.list(groupId, signal);
  const skipped: VerifiedSnapshot['skipped'] = problems.map((p) => ({
    name: p.key,
    code: 'SNAPSHOT_BAD_MANIFEST',
    error: p.error,
  }));
  for (const p of problems)
    o.logger?.warn({ key: p.key, err: p.error }, 'skipping an unreadable snapshot manifest');
  if (manifests.length === 0 && problems.length === 0) return undefined;
  const dir = o.tmpDir ?? tmpdir();
  await mkdir(dir, { recursive: true });
  for (const m of [...manifests].reverse()) {
    const refused = refusal(m, o);
    if (refused !== undefined) {
      skipped.push({ name: m.name, code: refused.code, error: refused.message });
      o.logger?.warn({ snapshot: m.name, code: refused.code, err: refused.message }, 'skipping snapshot');
      continue;
    }
    const file = tempFile(dir, 'restore');
    try {
      await verifyStoredSnapshot(store, m, signal, file);
      return { manifest: m, file, skipped };
    } catch (err) {
      await rm(file, { force: true }).catch(() => undefined);
      if (signal?.aborted) throw err;
      const code = err instanceof SnapshotError ? err.code : 'SNAPSHOT_UNREADABLE';
      skipped.push({ name: m.name, code, error: describeError(err) });
      o.logger?.warn(
        { snapshot: m.name, code, err: describeError(err) },
        'skipping a snapshot that failed verification',
      );
    }
  }
  throw new SnapshotError(
    `no usable snapshot of group ${groupId} in ${store.description}: ${skipped.map((s) => `${s.name}: ${s.error}`).join('; ')}`,
    'SNAPSHOT_NONE_USABLE',
  );
}

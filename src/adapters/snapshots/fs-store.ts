/**
 * A {@link SnapshotStore} in a directory: a local disk, or a mounted EFS/NFS shared by the group.
 * Every file is written as `<name>.<random>.partial`, fsynced, then renamed, so a crash or a full disk
 * never leaves a half file under a real name; the manifest is written last. The random part keeps two
 * writers of the same name (the leader's periodic snapshot and an operator's `etcd-spot snapshot` in
 * the same millisecond at the same revision) out of each other's temporary file: before it, the first
 * rename took the other's file away and the second failed with ENOENT.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeError } from '../../core/errors.ts';
import type { SnapshotManifest, SnapshotRef, SnapshotStore } from '../../ports/snapshot-store.ts';
import { checkSegment, manifestText, parseManifest, refPath } from './manifest.ts';
import { digestFile, SnapshotError } from './verify.ts';

export interface FsSnapshotStoreOptions {
  /** Absolute directory; created when missing. */
  dir: string;
}

function storeError(what: string, err: unknown, signal?: AbortSignal): SnapshotError {
  if (signal?.aborted)
    return new SnapshotError(`${what}: timed out or cancelled`, 'SNAPSHOT_STORE_TIMEOUT', {
      retryable: true,
      cause: err,
    });
  return new SnapshotError(`${what}: ${describeError(err)}`, 'SNAPSHOT_STORE_FAILED', {
    retryable: true,
    cause: err,
  });
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** This attempt's own temporary name beside `path`. */
function partialOf(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.partial`;
}

/** Writes `src` to `path` through `<path>.<random>.partial` + fsync + rename. */
async function writeAtomically(path: string, src: Readable | string, signal?: AbortSignal): Promise<void> {
  const tmp = partialOf(path);
  try {
    if (typeof src === 'string') {
      const fh = await open(tmp, 'w', 0o640);
      try {
        await fh.writeFile(src, { signal });
        await fh.sync();
      } finally {
        await fh.close();
      }
    } else {
      await pipeline(src, createWriteStream(tmp, { mode: 0o640 }), { signal });
      await fsyncFile(tmp);
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * @example
 * const store = createFsSnapshotStore({ dir: '/mnt/efs/etcd-spot' });
 * const { manifests } = await store.list('sig-123');
 */
export function createFsSnapshotStore(opts: FsSnapshotStoreOptions): SnapshotStore {
  const root = opts.dir;
  const file = (ref: SnapshotRef, ext: string) => join(root, `${refPath(ref)}.${ext}`);
  return {
    description: root,

    async putData(ref, data, _sizeBytes, signal) {
      const path = file(ref, 'db');
      try {
        await mkdir(join(root, ref.groupId, ref.clusterId), { recursive: true });
        await writeAtomically(path, data, signal);
      } catch (err) {
        throw storeError(`cannot write ${path}`, err, signal);
      }
    },

    async putFile(ref, src, _sizeBytes, signal) {
      const path = file(ref, 'db');
      const tmp = partialOf(path);
      try {
        await mkdir(join(root, ref.groupId, ref.clusterId), { recursive: true });
        signal?.throwIfAborted();
        await copyFile(src, tmp);
        await fsyncFile(tmp);
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw storeError(`cannot write ${path}`, err, signal);
      }
    },

    async digest(ref, signal) {
      try {
        return await digestFile(file(ref, 'db'), signal);
      } catch (err) {
        throw storeError(`cannot read ${file(ref, 'db')}`, err, signal);
      }
    },

    async putManifest(m, signal) {
      const path = file(m, 'json');
      try {
        await writeAtomically(path, manifestText(m), signal);
      } catch (err) {
        throw storeError(`cannot write ${path}`, err, signal);
      }
    },

    async list(groupId, signal) {
      const groupDir = join(root, checkSegment('group id', groupId));
      const manifests: SnapshotManifest[] = [];
      const problems: { key: string; error: string }[] = [];
      let clusters: string[];
      try {
        await stat(root);
      } catch (err) {
        throw new SnapshotError(
          `snapshot directory ${root} cannot be read: ${describeError(err)}; create it or fix snapshot.dir`,
          'SNAPSHOT_STORE_MISSING',
          { cause: err },
        );
      }
      try {
        clusters = await readdir(groupDir);
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return { manifests, problems };
        throw storeError(`cannot list ${groupDir}`, err, signal);
      }
      for (const c of clusters.sort()) {
        let names: string[];
        try {
          names = await readdir(join(groupDir, c));
        } catch {
          continue; // a stray file, not a cluster folder
        }
        for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
          signal?.throwIfAborted();
          const key = join(groupDir, c, n);
          try {
            manifests.push(parseManifest(await readFile(key, { encoding: 'utf8', signal }), key));
          } catch (err) {
            if (signal?.aborted) throw storeError(`cannot list ${groupDir}`, err, signal);
            problems.push({ key, error: describeError(err) });
          }
        }
      }
      manifests.sort((a, b) => a.takenAt - b.takenAt || (a.name < b.name ? -1 : 1));
      return { manifests, problems };
    },

    async sizeOf(ref) {
      try {
        return (await stat(file(ref, 'db'))).size;
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return undefined;
        throw storeError(`cannot stat ${file(ref, 'db')}`, err);
      }
    },

    async open(ref, signal) {
      const path = file(ref, 'db');
      // Open first so a missing file rejects here, not later in the stream.
      const fh = await open(path, 'r').catch((err: unknown) => {
        throw storeError(`cannot read ${path}`, err, signal);
      });
      return createReadStream('', { fd: fh, signal, highWaterMark: 64 * 1024 }) as Readable;
    },

    async delete(ref) {
      try {
        await rm(file(ref, 'json'), { force: true });
        await rm(file(ref, 'db'), { force: true });
      } catch (err) {
        throw storeError(`cannot delete ${file(ref, 'db')}`, err);
      }
    },
  };
}

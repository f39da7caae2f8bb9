/** Deleting the local etcd data dir (only ever on the planner's proof that it is stale). */
import { cp, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { wipeDataDir } from '../adapters/etcd/etcd-process.ts';

/**
 * Moves `dataDir` aside to `<dataDir>.wiped-<ts>` (one atomic rename: etcd can never start on a
 * half-deleted dir), then deletes the moved copy. When the rename is impossible (a mount point), the
 * directory is emptied in place instead. A missing dir is fine.
 */
export async function wipeLocalData(dataDir: string, now: number): Promise<void> {
  if (!isAbsolute(dataDir))
    throw new ConfigError([`etcd.dataDir: must be an absolute path to wipe it: ${dataDir}`]);
  const dir = resolve(dataDir);
  if (dir === resolve(dir, '..'))
    throw new ConfigError([`etcd.dataDir: refusing to wipe a filesystem root: ${dir}`]);
  try {
    await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const aside = `${dir}.wiped-${now}`;
  try {
    await rename(dir, aside);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EBUSY' || code === 'EXDEV' || code === 'EPERM' || code === 'EACCES') {
      await wipeDataDir(dir);
      return;
    }
    throw err;
  }
  await rm(aside, { recursive: true, force: true });
}

/**
 * Copies `dataDir` to `<dataDir>.before-force-new-cluster-<now>` (quorum-loss recovery keeps the
 * survivor's data as it was before `--force-new-cluster` rewrites the membership), and returns the
 * copy's path. Fails when the copy cannot be made: the force must not run without it.
 */
export async function copyDataAside(dataDir: string, now: number): Promise<string> {
  if (!isAbsolute(dataDir))
    throw new ConfigError([`etcd.dataDir: must be an absolute path to copy it aside: ${dataDir}`]);
  const dir = resolve(dataDir);
  const aside = `${dir}.before-force-new-cluster-${now}`;
  await cp(dir, aside, { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true });
  return aside;
}

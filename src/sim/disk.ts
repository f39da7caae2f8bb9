/**
 * A small data disk per instance, for the full-disk fault: a tmpfs of a fixed size mounted over an
 * instance's etcd data dir (Linux, root), and a filler file that takes every free byte so that etcd's
 * next write fails with a real ENOSPC (etcd's --quota-backend-bytes is a different thing: a NOSPACE
 * alarm etcd raises itself, with the disk still writable). `freeDisk` deletes the filler.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The filler's name in the data dir (etcd ignores files beside `member/`). */
export const FILLER = '.sim-disk-filler';

/** Mounts a `sizeMb` tmpfs on `dir` (which must exist). Throws with mount's message when it cannot. */
export function mountSmallDisk(dir: string, sizeMb: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'etcd-spot-sim', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Unmounts `dir` (lazily when it is still busy); true when it is no longer mounted. */
export function unmountDisk(dir: string): boolean {
  for (const args of [[dir], ['-l', dir]]) {
    try {
      execFileSync('umount', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      return true;
    } catch {
      // busy: try lazily
    }
  }
  return false;
}

/**
 * Writes the filler until the disk is full (1 MiB chunks, then 4 KiB, then single bytes). Returns the
 * bytes written. Any error but ENOSPC is thrown.
 */
export function fillDisk(dir: string): number {
  const fd = openSync(join(dir, FILLER), 'a');
  let written = 0;
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const buf = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Deletes the filler (no-op when there is none). */
export function freeDisk(dir: string): void {
  rmSync(join(dir, FILLER), { force: true });
}

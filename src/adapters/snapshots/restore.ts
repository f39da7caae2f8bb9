/**
 * Restores a snapshot file into a fresh data dir with etcd's own tool: `etcdutl snapshot restore`
 * when etcdutl exists (3.5+; 3.6 removed `etcdctl snapshot restore`), else `ETCDCTL_API=3 etcdctl
 * snapshot restore` (3.4: Debian's etcd-client). The hash check is never skipped. Note (etcd-io/etcd
 * #20967): a 3.4 restore can leave removed members as "zombies" that resurface on an upgrade to 3.6;
 * upgrade through 3.5.26+ as etcd advises.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { SnapshotError, verifySnapshotFile } from './verify.ts';

export interface RestoreSnapshotOptions {
  /** A local snapshot file (e.g. `newestVerifiedSnapshot(…).file`). */
  file: string;
  /** Must be absent or empty (then the restore goes through a sibling staging dir): never written over. */
  dataDir: string;
  /** This member's name (etcd-spot: the instance id). */
  name: string;
  /** This member's peer URL, e.g. `http://10.0.0.5:2380`. */
  peerUrl: string;
  /** `name=peerUrl,…` or a list; usually just self (the others join as learners later). */
  initialCluster: string | { name: string; peerUrl: string }[];
  /** A new token: a restored cluster is a new cluster (new cluster id). */
  clusterToken: string;
  signal?: AbortSignal;
  /** Tool paths; default `etcdutl`, else `etcdctl`, looked up in PATH. */
  etcdutl?: string;
  etcdctl?: string;
  /** Default 120 s. */
  timeoutMs?: number;
}

export interface RestoreResult {
  tool: 'etcdutl' | 'etcdctl';
  /** The tool's output (stdout + stderr), last 4 KiB. */
  output: string;
}

function lookup(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function initialClusterText(ic: RestoreSnapshotOptions['initialCluster']): string {
  return typeof ic === 'string' ? ic : ic.map((m) => `${m.name}=${m.peerUrl}`).join(',');
}

/**
 * @example
 * await restoreSnapshot({ file, dataDir: '/var/lib/etcd-spot/etcd', name: 'i-0abc', peerUrl: 'http://10.0.0.5:2380',
 *   initialCluster: [{ name: 'i-0abc', peerUrl: 'http://10.0.0.5:2380' }], clusterToken: 'sig-1-restore-1764504000000' });
 */
export async function restoreSnapshot(o: RestoreSnapshotOptions): Promise<RestoreResult> {
  const existing = await readdir(o.dataDir).catch((err: { code?: string }) => {
    if (err.code === 'ENOENT') return undefined;
    throw new SnapshotError(`cannot read ${o.dataDir}: ${String(err)}`, 'SNAPSHOT_RESTORE_FAILED', {
      cause: err,
    });
  });
  if (existing === undefined) return runRestore(o, o.dataDir);
  if (existing.length > 0)
    throw new SnapshotError(
      `refusing to restore into ${o.dataDir}: it is not empty (move it aside first; a restore never writes over data)`,
      'SNAPSHOT_RESTORE_DATA_EXISTS',
    );
  // etcd 3.4 refuses a data dir that exists, even empty (images and mounts often create it): restore
  // into a sibling, then move the result in.
  const staging = `${o.dataDir.replace(/\/+$/, '')}.restore-${process.pid}-${Date.now()}`;
  try {
    const r = await runRestore(o, staging);
    for (const entry of await readdir(staging)) await rename(join(staging, entry), join(o.dataDir, entry));
    return r;
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function runRestore(o: RestoreSnapshotOptions, dataDir: string): Promise<RestoreResult> {
  // etcd's tool checks the trailer too, but its message is terse; ours names the problem.
  await verifySnapshotFile(o.file, o.signal);
  const utl = lookup(o.etcdutl ?? 'etcdutl');
  const ctl = utl === undefined ? lookup(o.etcdctl ?? 'etcdctl') : undefined;
  if (utl === undefined && ctl === undefined)
    throw new SnapshotError(
      'neither etcdutl nor etcdctl is in PATH; install etcd-client (Debian) or etcd 3.5+ (etcdutl)',
      'SNAPSHOT_RESTORE_NO_TOOL',
    );
  const tool = utl !== undefined ? 'etcdutl' : 'etcdctl';
  const args = [
    'snapshot',
    'restore',
    o.file,
    `--data-dir=${dataDir}`,
    `--name=${o.name}`,
    `--initial-cluster=${initialClusterText(o.initialCluster)}`,
    `--initial-cluster-token=${o.clusterToken}`,
    `--initial-advertise-peer-urls=${o.peerUrl}`,
  ];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (tool === 'etcdctl') env.ETCDCTL_API = '3';
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 120_000);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  return new Promise<RestoreResult>((resolve, reject) => {
    const child = spawn((utl ?? ctl) as string, args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '';
    const keep = (b: Buffer) => {
      out = (out + b.toString('utf8')).slice(-4096);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) =>
      reject(
        new SnapshotError(
          signal.aborted
            ? `${tool} snapshot restore timed out or was cancelled`
            : `${tool} could not run: ${err.message}`,
          'SNAPSHOT_RESTORE_FAILED',
          { cause: err },
        ),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve({ tool, output: out });
      else {
        const last = out.trim().split('\n').filter(Boolean).slice(-2).join(' / ');
        reject(
          new SnapshotError(
            `${tool} snapshot restore of ${o.file} failed (exit ${code}): ${last || 'no output'}`,
            'SNAPSHOT_RESTORE_FAILED',
          ),
        );
      }
    });
  });
}

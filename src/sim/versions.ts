/**
 * What a simulator run ran: etcd-spot's version (package.json), the commit of the checkout it ran from
 * (and whether it had uncommitted changes), the etcd binary's version and Node's, so that reports of
 * different runs can be compared. Never throws: what cannot be read is left out.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readEtcdBinaryVersion } from '../adapters/etcd/etcd-binary-version.ts';

export interface RunVersions {
  /** etcd-spot's package version. */
  etcdSpot: string;
  /** The commit of the checkout (git rev-parse HEAD), when run from one. */
  commit?: string;
  /** The checkout had uncommitted changes to tracked files. */
  dirty?: boolean;
  /** `etcd --version` of the binary the agents start. */
  etcd?: string;
  node: string;
}

/** src/sim and dist/sim are both two levels below the package root. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function git(args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['-C', ROOT, ...args], { timeout: 5000, encoding: 'utf8' }, (err, stdout) =>
      resolve(err === null ? stdout.trim() : undefined),
    );
  });
}

/** The versions of this run; `etcdBinary` is what the agents run as etcd (default `etcd` in PATH). */
export async function runVersions(etcdBinary = 'etcd'): Promise<RunVersions> {
  let etcdSpot = 'unknown';
  try {
    etcdSpot = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
  } catch {
    // not in a package (cannot happen from a checkout or an install)
  }
  const [commit, status, etcd] = await Promise.all([
    git(['rev-parse', 'HEAD']),
    git(['status', '--porcelain', '--untracked-files=no']),
    readEtcdBinaryVersion(etcdBinary),
  ]);
  return {
    etcdSpot,
    ...(commit !== undefined && /^[0-9a-f]{40}$/.test(commit) ? { commit } : {}),
    ...(commit !== undefined && status !== undefined ? { dirty: status !== '' } : {}),
    ...(etcd.ok ? { etcd: etcd.version } : {}),
    node: process.version,
  };
}

/** `etcd-spot 0.1.0 (a564173, uncommitted changes), etcd 3.4.23, node v20.19.0`. */
export function versionsText(v: RunVersions): string {
  const commit =
    v.commit === undefined
      ? ''
      : ` (${v.commit.slice(0, 7)}${v.dirty === true ? ', uncommitted changes' : ''})`;
  return `etcd-spot ${v.etcdSpot}${commit}, etcd ${v.etcd ?? 'unknown'}, node ${v.node}`;
}

/**
 * All-lost recovery (design row C5) over a snapshot store: what the observer shows the planner (the
 * newest snapshot of the group, from the manifests: cheap, cached for `cacheMs`) and what the executor
 * runs for `restore-snapshot` (download the newest snapshot that passes every check, restore it with
 * etcd's own tool into the empty data dir, remove the download).
 */
import { within } from '../core/within.ts';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotView } from '../core/observation.ts';
import type { Logger } from '../ports/logger.ts';
import type { SnapshotStore } from '../ports/snapshot-store.ts';
import { newestVerifiedSnapshot } from '../adapters/snapshots/snapshots.ts';
import { restoreSnapshot } from '../adapters/snapshots/restore.ts';
import type { ExecuteContext } from './execute.ts';

export interface SnapshotRecoveryOptions {
  store: SnapshotStore;
  /** The group's id (Elastigroup `sig-…`), once known: snapshots are stored per group. */
  groupId: () => string | undefined;
  /** The local etcd's version (snapshots from a newer minor are skipped). */
  etcdVersion?: () => string | undefined;
  /** Where the verified download goes. */
  tmpDir: string;
  /** How long a listing is reused (default 10 s). */
  cacheMs?: number;
  now: () => number;
  logger: Logger;
}

export interface SnapshotRecovery {
  view(signal?: AbortSignal): Promise<SnapshotView>;
  restore: NonNullable<ExecuteContext['restoreSnapshot']>;
}

export function createSnapshotRecovery(o: SnapshotRecoveryOptions): SnapshotRecovery {
  let cached: { at: number; view: SnapshotView } | undefined;
  return {
    async view(signal) {
      const now = o.now();
      if (cached !== undefined && within(now, cached.at, o.cacheMs ?? 10_000)) return cached.view;
      const groupId = o.groupId();
      if (groupId === undefined)
        return { ok: false, error: 'the group id is not known yet, so its snapshots cannot be listed' };
      const { manifests, problems } = await o.store.list(groupId, signal);
      let view: SnapshotView;
      const newest = manifests.at(-1);
      if (newest !== undefined)
        view = {
          ok: true,
          newest: { name: newest.name, revision: newest.revision, takenAt: newest.takenAt },
        };
      else if (problems.length > 0)
        // Unreadable manifests may be this group's data: not "empty".
        view = {
          ok: false,
          error: `${o.store.description} holds unreadable snapshot manifests (${problems[0]?.key}: ${problems[0]?.error})`,
        };
      else view = { ok: true };
      cached = { at: now, view };
      return view;
    },
    async restore(name, target, signal) {
      const version = o.etcdVersion?.();
      const groupId = o.groupId();
      if (groupId === undefined)
        throw new Error('the group id is not known, so its snapshots cannot be read');
      const snap = await newestVerifiedSnapshot(o.store, groupId, signal, {
        tmpDir: o.tmpDir,
        logger: o.logger,
        ...(version !== undefined ? { etcdVersion: version } : {}),
      });
      if (snap === undefined)
        throw new Error(`${o.store.description} holds no snapshot of group ${groupId} any more`);
      try {
        if (snap.manifest.name !== name)
          o.logger.warn(
            { planned: name, restoring: snap.manifest.name, skipped: snap.skipped },
            'the planned snapshot did not pass verification; restoring the newest one that does',
          );
        // etcd's tool wants a data dir that does not exist (3.4: "data-dir exists" even when empty),
        // and the configured one may exist empty or be a mount point: restore next to it, then move
        // the result in.
        const staging = `${target.dataDir}.restore-${o.now()}`;
        const r = await restoreSnapshot({
          file: snap.file,
          dataDir: staging,
          name: target.name,
          peerUrl: target.peerUrl,
          initialCluster: [{ name: target.name, peerUrl: target.peerUrl }],
          clusterToken: target.token,
          ...(signal !== undefined ? { signal } : {}),
        });
        try {
          await mkdir(target.dataDir, { recursive: true, mode: 0o700 });
          const present = await readdir(target.dataDir);
          if (present.length > 0)
            throw new Error(
              `refusing to restore into ${target.dataDir}: it is not empty (${present.join(', ')})`,
            );
          for (const entry of await readdir(staging))
            await rename(join(staging, entry), join(target.dataDir, entry));
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
        o.logger.info(
          { snapshot: snap.manifest.name, revision: snap.manifest.revision, tool: r.tool },
          'restored snapshot',
        );
      } finally {
        await rm(snap.file, { force: true }).catch(() => undefined);
      }
    },
  };
}

/**
 * A store built on first use (the configured one is created asynchronously: the S3 SDK is imported only
 * then). Creation errors surface from each call, so the observer reports the store as unreadable and
 * the planner never bootstraps empty over a store it could not ask.
 */
export function lazySnapshotStore(
  description: string,
  make: () => Promise<SnapshotStore | undefined>,
): SnapshotStore {
  let made: Promise<SnapshotStore> | undefined;
  const get = (): Promise<SnapshotStore> =>
    (made ??= make().then(
      (s) => {
        if (s === undefined) throw new Error(`${description}: not configured`);
        return s;
      },
      (err: unknown) => {
        made = undefined;
        throw err;
      },
    ));
  return {
    description,
    putData: async (ref, data, size, signal) => (await get()).putData(ref, data, size, signal),
    putManifest: async (m, signal) => (await get()).putManifest(m, signal),
    list: async (groupId, signal) => (await get()).list(groupId, signal),
    sizeOf: async (ref, signal) => (await get()).sizeOf(ref, signal),
    open: async (ref, signal) => (await get()).open(ref, signal),
    delete: async (ref, signal) => (await get()).delete(ref, signal),
    close: async () => {
      if (made !== undefined) await (await made.catch(() => undefined))?.close?.();
    },
  };
}

/**
 * The leader's agent's snapshot duty (issue 8 §2): remembers the last verified snapshot and the last
 * failure (in memory; after a restart the store's newest manifest seeds it), shows them to the planner
 * (`snapshotSchedule`), and runs `take-snapshot`: stream Maintenance.Snapshot from self to a temp
 * file, verify, upload, read back, write the manifest, apply retention. A failure is logged, counted,
 * remembered for the planner, and deletes nothing that counted before.
 */
import { within } from '../core/within.ts';
import { describeError } from '../core/errors.ts';
import type { SnapshotRetention, SnapshotScheduleView } from '../core/snapshot-policy.ts';
import type { EtcdCluster } from '../ports/etcd-cluster.ts';
import type { Logger } from '../ports/logger.ts';
import type { SnapshotStore } from '../ports/snapshot-store.ts';
import { takeSnapshot } from '../adapters/snapshots/snapshots.ts';
import { SnapshotError } from '../adapters/snapshots/verify.ts';
import { withDeadline } from './deadline.ts';

export interface SnapshotterOptions {
  store: SnapshotStore;
  etcd: Pick<EtcdCluster, 'snapshot' | 'status' | 'listMembers'>;
  /** The group id the snapshots are filed under; undefined while unknown (then no snapshot is taken). */
  groupId: () => string | undefined;
  /** Self's client URL (the leader's, when take-snapshot is planned). */
  clientUrl: () => string | undefined;
  /** e.g. the instance id. */
  takenBy: () => string;
  intervalMs: number;
  /** Deadline of one whole snapshot. */
  timeoutMs: number;
  retention: SnapshotRetention;
  tmpDir: string;
  now: () => number;
  logger: Logger;
}

export class Snapshotter {
  private readonly o: SnapshotterOptions;
  private state: Omit<SnapshotScheduleView, 'intervalMs'> = {};
  private seeded = false;
  private inFlight: AbortController | undefined;
  /** Snapshots that did not count since start (also exported through the decision metric). */
  failures = 0;

  constructor(o: SnapshotterOptions) {
    this.o = o;
  }

  /** For the planner (no I/O). */
  schedule(): SnapshotScheduleView {
    return { intervalMs: this.o.intervalMs, ...this.state };
  }

  /** When the newest verified snapshot was taken, for `etcd_spot_snapshot_age_seconds`. */
  lastTakenAt(): number | undefined {
    return this.state.last?.takenAt;
  }

  /** Cancels a snapshot in progress (a termination notice must not wait for an upload). */
  abort(reason: string): void {
    this.inFlight?.abort(new SnapshotError(`snapshot cancelled: ${reason}`, 'SNAPSHOT_CANCELLED'));
  }

  /** Runs take-snapshot; resolves to a summary, rejects (after recording the failure) when it does not count. */
  async take(reason: string, signal?: AbortSignal): Promise<string> {
    const groupId = this.o.groupId();
    const url = this.o.clientUrl();
    if (groupId === undefined || url === undefined) {
      return this.fail(
        new SnapshotError(
          'no snapshot: the group id is unknown (set group.groupId); the store files snapshots under it',
          'SNAPSHOT_NO_GROUP_ID',
        ),
      );
    }
    const own = new AbortController();
    this.inFlight = own;
    const sig = withDeadline(this.o.timeoutMs, signal ? AbortSignal.any([signal, own.signal]) : own.signal);
    try {
      if (!this.seeded) {
        // After a restart: the store may hold a recent one already (not due yet: say so, take none).
        this.seeded = true;
        const seededFrom = await this.seed(groupId, url, sig);
        if (seededFrom !== undefined && reason.startsWith('periodic')) return seededFrom;
      }
      const members = await this.o.etcd.listMembers([url], sig);
      const r = await takeSnapshot({
        etcd: this.o.etcd,
        clientUrl: url,
        store: this.o.store,
        groupId,
        takenBy: this.o.takenBy(),
        reason,
        memberCount: members.length,
        tmpDir: this.o.tmpDir,
        retention: this.o.retention,
        now: this.o.now,
        logger: this.o.logger,
        signal: sig,
      });
      const m = r.manifest;
      this.state = { last: { takenAt: m.takenAt, revision: m.revision, name: m.name } };
      this.o.logger.info(
        {
          snapshot: m.name,
          revision: m.revision,
          sizeBytes: m.sizeBytes,
          sha256: m.sha256,
          store: this.o.store.description,
          expired: r.expired,
          ...(r.retentionError !== undefined ? { retentionError: r.retentionError } : {}),
        },
        'snapshot taken and verified',
      );
      return `snapshot ${m.name} (revision ${m.revision}, ${m.sizeBytes} bytes) verified in ${this.o.store.description}${r.expired.length > 0 ? `; retention deleted ${r.expired.length}` : ''}`;
    } catch (err) {
      const cause = own.signal.aborted ? own.signal.reason : err;
      return this.fail(cause);
    } finally {
      if (this.inFlight === own) this.inFlight = undefined;
    }
  }

  private async seed(groupId: string, url: string, signal: AbortSignal): Promise<string | undefined> {
    try {
      const status = await this.o.etcd.status(url, signal);
      const { manifests } = await this.o.store.list(groupId, signal);
      const newest = manifests.filter((m) => m.clusterId === status.clusterId).at(-1);
      if (newest === undefined) return undefined;
      this.state = { last: { takenAt: newest.takenAt, revision: newest.revision, name: newest.name } };
      const age = this.o.now() - newest.takenAt;
      if (status.revision !== undefined && status.revision === newest.revision)
        return `the store already holds ${newest.name} at the current revision ${newest.revision}`;
      if (!within(this.o.now(), newest.takenAt, this.o.intervalMs)) return undefined;
      return `the store already holds ${newest.name} (${Math.round(age / 1000)}s old); next one when due`;
    } catch (err) {
      this.o.logger.debug({ err: describeError(err) }, 'could not read the newest snapshot from the store');
      return undefined;
    }
  }

  private fail(err: unknown): never {
    this.failures++;
    const error = describeError(err);
    this.state = { ...this.state, lastFailure: { at: this.o.now(), error } };
    this.o.logger.error(
      {
        err: error,
        code: (err as { code?: string }).code,
        store: this.o.store.description,
        failures: this.failures,
      },
      'snapshot failed; it does not count and nothing older was deleted',
    );
    throw err instanceof Error ? err : new Error(error);
  }
}

import type { InstanceId } from '../core/ids.ts';

/** How to start the local etcd: a brand-new single-member cluster, or an existing one (rejoin / restart). */
export interface EtcdLaunch {
  /** `--name`: the instance id. */
  name: InstanceId;
  /** The one URL etcd listens on and advertises for clients (self's private IP). */
  clientUrl: string;
  /** The one URL etcd listens on and advertises for peers. */
  peerUrl: string;
  state: 'new' | 'existing';
  /** `--initial-cluster` entries (one per peer URL). Ignored by etcd when the data dir already holds a WAL. */
  initialCluster: { name: string; peerUrl: string }[];
  /** `--initial-cluster-token`; required for `new`. */
  token?: string;
  /**
   * `--force-new-cluster`, for this one start only (quorum-loss recovery: etcd keeps its data and member
   * id and removes every other member). Never persisted: a later start without it must not force again.
   */
  forceNewCluster?: boolean;
}

/** How the local etcd last exited. `removed`: its output said "permanently removed from the cluster". */
export interface EtcdExit {
  at: number;
  code: number | null;
  removed: boolean;
  /** The signal that ended it (code is null then). */
  signal?: string;
  /** etcd's own words for why it stopped, from its output, e.g. `flag provided but not defined: -bogus-flag`. */
  reason?: string;
  /** Where etcd's whole output is, e.g. `/var/lib/etcd-spot/etcd.log`. */
  logFile?: string;
}

/**
 * Runs the local etcd: as a child process (`supervise`) or through the init system (`systemd`).
 * A runner never restarts etcd by itself; the agent's planner decides (with back-off).
 */
export interface EtcdRunner {
  /** Starts etcd. Resolves once the process/unit was launched (not when it serves); throws when it could not be launched. */
  start(launch: EtcdLaunch): Promise<void>;
  /** Stops etcd gracefully (SIGTERM: a leader hands leadership over by itself). A no-op when not running. */
  stop(reason: string): Promise<void>;
  /** Whether etcd runs, as of the last check (supervise: the child is alive; systemd: the last {@link refresh}). */
  isRunning(): boolean;
  /** Re-checks whether etcd runs (systemd: runs the check command). The agent calls it once per observation. */
  refresh?(signal?: AbortSignal): Promise<void>;
  lastExit(): EtcdExit | undefined;
}

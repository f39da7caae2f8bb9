/**
 * What the planner can ask for. Every action carries a human-readable `reason`, which is logged (one
 * line per decision) and printed by `etcd-spot plan`. The executor applies ONE action per cycle and the
 * agent re-observes before planning again.
 */
import type { InstanceId, MemberId } from './ids.ts';
import type { BootstrapPlan } from './observation.ts';

export type RemoveWhy =
  | 'self-leave' // termination notice for self
  | 'dead' // instance gone per the cloud AND unreachable longer than the TTL
  | 'unstarted' // added but never started for longer than the TTL
  | 'stale-peer-url' // its peer URL now belongs to another, running instance (IP reuse)
  | 'own-data-lost'; // self's member whose data dir is gone: remove, wipe, re-add

export type Action =
  | { kind: 'wait'; reason: string }
  /**
   * Collect bootstrap votes from the peers in `from` (self included). `desiredCapacity` is the group
   * size the majority is counted over: every voter checks it against its own reading. With `plan` (the
   * list holds the whole group), each voter may also accept to start as one of its initial members;
   * the executor makes `plan.token` final (etcd.clusterToken prefix) before sending it.
   */
  | {
      kind: 'collect-votes';
      from: InstanceId[];
      desiredCapacity: number;
      plan?: BootstrapPlan;
      reason: string;
    }
  /**
   * Start a brand-new cluster: without `plan`, self as its only member (the one-by-one path; the token
   * gets the etcd.clusterToken prefix); with `plan`, as one of the plan's initial members, with exactly
   * its `--initial-cluster` and token (the seeder once the whole group agreed, then every voter that
   * recorded the plan; `token` is then `plan.token`).
   */
  | { kind: 'bootstrap'; token: string; plan?: BootstrapPlan; reason: string }
  /** Start the local etcd on its existing data (or as a freshly added member: `initialCluster` from the member list). */
  | {
      kind: 'start-etcd';
      state: 'existing';
      initialCluster: { name: string; peerUrl: string }[];
      reason: string;
    }
  | { kind: 'stop-etcd'; reason: string }
  /** Add self as a learner through a healthy voter (etcd allows one learner at a time). */
  | { kind: 'add-self-as-learner'; reason: string }
  | { kind: 'promote-member'; memberId: MemberId; reason: string }
  | { kind: 'remove-member'; memberId: MemberId; why: RemoveWhy; reason: string }
  | { kind: 'move-leader'; from: MemberId; to: MemberId; reason: string }
  /** Delete the local data dir (only with proof it is stale: see the planner's wipe preconditions). */
  | { kind: 'wipe-data'; reason: string }
  /** Durably record that self left the cluster. */
  | { kind: 'mark-left'; reason: string }
  /** Clear the durable `left` record after the data was wiped. */
  | { kind: 'clear-left'; reason: string }
  | { kind: 'signal-ready-to-shutdown'; reason: string }
  /** Snapshot the cluster through self (the leader) into the snapshot store, verified, then apply retention. */
  | { kind: 'take-snapshot'; reason: string }
  /**
   * Quorum-loss recovery, on the best survivor only (src/core/recovery.ts): stop etcd, copy the data dir
   * aside, restart etcd once with `--force-new-cluster` (etcd keeps every committed entry and its member
   * id, and removes every other member). `raftIndex` is the survivor's commit index the choice rests on.
   */
  | { kind: 'force-new-cluster'; memberId: MemberId; raftIndex: number; reason: string }
  /**
   * All-lost recovery, on the seeder after a granted bootstrap vote: restore the newest verified snapshot
   * of this group as a new single-member cluster instead of bootstrapping an empty one.
   */
  | { kind: 'restore-snapshot'; snapshot: string; revision: number; token: string; reason: string };

export type ActionKind = Action['kind'];

/** Actions that change etcd membership: at most one per cycle, cluster-wide one at a time. */
export function isMembershipChange(a: Action): boolean {
  return a.kind === 'add-self-as-learner' || a.kind === 'promote-member' || a.kind === 'remove-member';
}

/** Actions that destroy data or membership: they need proof, never an error or a timeout. */
export function isDestructive(a: Action): boolean {
  return a.kind === 'remove-member' || a.kind === 'wipe-data' || a.kind === 'force-new-cluster';
}

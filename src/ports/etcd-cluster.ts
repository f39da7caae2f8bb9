import type { MemberId } from '../core/ids.ts';
import type { Readable } from 'node:stream';

/** A raft member as etcd's member list shows it. Unstarted members have name '' and no client URLs. */
export interface Member {
  id: MemberId;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** One member's own view (Maintenance.Status on that member's client URL). */
export interface MemberStatus {
  memberId: MemberId;
  clusterId: string;
  /** The leader this member follows, or undefined when it has none (no quorum / election). */
  leaderId: MemberId | undefined;
  raftIndex: number;
  raftAppliedIndex: number;
  raftTerm: number;
  /** The store revision in the response header (what a snapshot taken now contains, at least). */
  revision?: number;
  dbSize: number;
  isLearner: boolean;
  /** The member's etcd server version, e.g. "3.4.23" (core/etcd-version.ts applies etcd's rules to it). */
  version: string;
  /** etcd's own alarms/errors, e.g. "etcdserver: no leader". Empty when healthy. */
  errors: string[];
}

/**
 * The etcd cluster, reached through client URLs. Every call has a deadline (the adapter's default, or
 * the signal). Errors are EtcdError with a code from the adapter's error table (ETCD_MEMBER_NOT_FOUND,
 * ETCD_PEER_URL_EXISTS, ETCD_UNHEALTHY_CLUSTER, ETCD_TOO_MANY_LEARNERS, ETCD_LEARNER_NOT_READY,
 * ETCD_NOT_LEADER, ETCD_NO_LEADER, ETCD_UNAVAILABLE, ETCD_TIMEOUT, ETCD_UNKNOWN, …), the same for etcd
 * 3.4, 3.5 and 3.6.
 *
 * There is deliberately no MemberUpdate: on a learner it silently promotes it before etcd 3.6.12 /
 * 3.5.31, and etcd-spot never needs it (a new IP is a new member). Do not add one.
 */
export interface EtcdCluster {
  /** Member list as seen by any reachable voting member among `endpoints`. */
  listMembers(endpoints: string[], signal?: AbortSignal): Promise<Member[]>;
  /** Adds a member as a learner through any reachable voter; returns the new member and the full list. */
  addLearner(
    endpoints: string[],
    peerUrl: string,
    signal?: AbortSignal,
  ): Promise<{ member: Member; members: Member[] }>;
  promote(endpoints: string[], id: MemberId, signal?: AbortSignal): Promise<void>;
  remove(endpoints: string[], id: MemberId, signal?: AbortSignal): Promise<void>;
  /** Status of the member serving `clientUrl` (works on learners and without quorum). */
  status(clientUrl: string, signal?: AbortSignal): Promise<MemberStatus>;
  /** Moves leadership to `target`; must be sent to the current leader's client URL. */
  moveLeader(leaderClientUrl: string, target: MemberId, signal?: AbortSignal): Promise<void>;
  /** True when the member at clientUrl serves a linearizable read (a voter with quorum). */
  isHealthy(clientUrl: string, signal?: AbortSignal): Promise<boolean>;
  /** A snapshot stream of the member's backend (Maintenance.Snapshot). */
  snapshot(clientUrl: string, signal?: AbortSignal): Promise<Readable>;
  close(): Promise<void>;
}

/**
 * What one agent knows at the start of a cycle. Built by src/agent/observe.ts from the ports; read by
 * the pure planner (src/core/plan.ts). Anything that could not be learned is an explicit error, never
 * a default that looks like an answer: the planner must be able to tell "none" from "unknown".
 */
import type { InstanceId, MemberId } from './ids.ts';
import type { SnapshotScheduleView } from './snapshot-policy.ts';

export interface SelfView {
  instanceId: InstanceId;
  privateIp: string;
  peerUrl: string;
  clientUrl: string;
}

export interface GroupInstanceView {
  id: InstanceId;
  privateIp: string;
  launchedAt?: number;
}

/** The group's instance list, or why it is unknown. */
export type GroupView =
  | {
      ok: true;
      instances: GroupInstanceView[];
      fetchedAt: number;
      desiredCapacity?: number;
      /** Why the desired capacity is unknown when it was asked for and could not be read. */
      desiredCapacityError?: string;
      /** The group's id (Elastigroup `sig-…`), when known: it prefixes the bootstrap cluster token. */
      groupId?: string;
      /**
       * Set when this list is not this agent's own answer from the cloud but the copy the agent beside
       * the leader fetched and shared (`GET /v1/group`, signed), read by a calm follower instead of the
       * cloud: that agent's instance id. `fetchedAt` is then when that agent fetched it, on this agent's
       * clock. A shared list is never proof for a destructive step (`isDirectGroupList`).
       */
      sharedBy?: InstanceId;
    }
  | { ok: false; error: string };

export interface NoticeView {
  source: string;
  seenAt: number;
  deadline?: number;
  detail: string;
  advisory?: boolean;
}

/** Termination notices for self, merged from every source. `errors` lists sources that could not answer. */
export interface TerminationView {
  notices: NoticeView[];
  errors: string[];
}

export interface MemberView {
  id: MemberId;
  /** '' for a member that was added but never started. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
  /** Answered Maintenance.Status this cycle. */
  reachable: boolean;
  /** First time (ms) this agent saw it unreachable in the current unbroken streak; undefined when reachable. */
  unreachableSince?: number;
  /**
   * The cloud positively said the instance this member is named after is terminated (asked by the
   * leader's agent once the member was unreachable and its instance missing from a plausible list).
   * Proof that lets the reaper wait `terminatedMemberDeadAfterMs` instead of `memberDeadAfterMs`.
   */
  instanceTerminated?: boolean;
  /** First time (ms) this agent saw it with name '' (never started); undefined when started. */
  unstartedSince?: number;
  /** From its own status when reachable. */
  raftIndex?: number;
  raftAppliedIndex?: number;
  /** The leader it follows; undefined when it has none or is unreachable. */
  leaderId?: MemberId;
  errors?: string[];
  /** Its etcd server version (Maintenance.Status `version`, e.g. "3.4.23") when reachable. */
  version?: string;
  /** The store revision it reported (Maintenance.Status header) when reachable. */
  revision?: number;
  /** Its raft term (Maintenance.Status) when reachable. */
  raftTerm?: number;
}

/**
 * The cluster as seen through whichever member answered. `healthy` means a member reported a leader
 * and the member list came from a voter (so it reflects committed membership).
 */
export type ClusterView =
  | { reachable: false; error: string; probed: string[] }
  | {
      reachable: true;
      clusterId: string;
      members: MemberView[];
      leaderId: MemberId | undefined;
      /** The client URL whose member list was used. */
      via: string;
    };

/** The durable record in the agent's state dir (written atomically). */
export interface LocalRecord {
  /** Cluster this instance's data belongs to (hex), once known. */
  clusterId?: string;
  /** This instance's member id (hex), once known. */
  memberId?: MemberId;
  /** Set when self left the cluster on a termination notice: a reboot must wipe and rejoin. */
  left?: { at: number; reason: string };
  /**
   * Bootstrap vote this instance granted (see docs/design.md "Bootstrap"), with the seeder's plan when
   * the vote accepted it (the whole group at once, row C4): replaced by every later grant.
   */
  vote?: { candidate: InstanceId; at: number; plan?: BootstrapPlan };
  /**
   * Set (durably, before etcd starts) when this instance starts etcd `new` on the recorded plan with
   * this token; announced in GET /v1/bootstrap so the plan's other members start too. Cleared by a wipe.
   */
  planStarted?: { token: string; at: number };
}

/**
 * The fast bootstrap's agreed initial cluster (docs/design.md row C4, "the whole group at once"): the
 * seeder proposes it with its vote request when its list holds exactly the desired capacity D; a voter
 * records it with its vote only if its own list is the same set. Every member starts etcd `new` with
 * exactly this `--initial-cluster` and token, so all compute one cluster id.
 */
export interface BootstrapPlan {
  /** The final `--initial-cluster-token` (etcd.clusterToken prefix included): unique per vote round. */
  token: string;
  /** Every instance of the group the seeder listed, sorted: exactly D of them. */
  instances: InstanceId[];
  /**
   * The initial voters, sorted: the lowest `largestOddAtMost(min(D, maxVoters))` instances (the seeder
   * first), each named after its instance id. The other instances join as learners afterwards.
   */
  members: { instanceId: InstanceId; peerUrl: string }[];
}

export interface LocalView {
  /** The local etcd process (supervise) or unit (systemd) is running. */
  etcdRunning: boolean;
  /** The data dir holds a WAL. */
  hasData: boolean;
  record: LocalRecord;
  /** How the local etcd last exited, when it did. `removed`: its log said "permanently removed from the cluster". */
  lastExit?: { at: number; code: number | null; removed: boolean };
  /** Failed starts in a row, and when the next start is allowed (back-off). */
  startFailures: number;
  nextStartAt?: number;
  /** We already told the cloud we're ready to shut down. */
  signalledReady: boolean;
  /** The local etcd binary's version (`etcd --version`), when it could be read. */
  etcdVersion?: string;
  /** Why state.json could not be read (corrupt, unreadable): the record above is then empty, not known. */
  recordError?: string;
}

/** One peer agent's answer to GET /v1/bootstrap (its status server), used only while no cluster answers. */
export interface PeerBootstrapView {
  instanceId: InstanceId;
  reachable: boolean;
  hasData?: boolean;
  /** The peer runs etcd as a member of a cluster (it answered with a cluster id). */
  clusterId?: string;
  vote?: { candidate: InstanceId; at: number };
  /** The token of the agreed initial cluster the peer started etcd on (LocalRecord.planStarted), if any. */
  planStarted?: string;
  /**
   * The peer's local etcd as its own Maintenance.Status says, when it runs and answers: member id, raft
   * (commit) index and term. Quorum-loss recovery compares survivors by these (src/core/recovery.ts);
   * absent means unknown, never "no data".
   */
  memberId?: MemberId;
  raftIndex?: number;
  raftTerm?: number;
  /** The leader the peer's etcd follows (absent: none, or unknown). */
  leaderId?: MemberId;
}

/** What quorum-loss recovery needs to remember across cycles (this agent's memory; see src/core/recovery.ts). */
export interface RecoveryView {
  /** Since when this agent has seen the cluster answer with no leader, in an unbroken streak. */
  noLeaderSince?: number;
  /**
   * The group list of the previous successful fetch (an earlier `fetchedAt` than the current one), so a
   * destructive decision rests on two observations of the cloud. Undefined after a failed fetch.
   */
  previousGroup?: { fetchedAt: number; instances: GroupInstanceView[] };
  /** The operator's order (`etcd-spot recover`), when one is pending for this instance. */
  order?: RecoveryOrder;
}

/** An operator's `etcd-spot recover` order, read from the agent's state dir. */
export interface RecoveryOrder {
  at: number;
  /** Force a new cluster from this instance, or restore this snapshot; undefined = what the planner picks. */
  from?: string;
  /** Allow bootstrapping an empty cluster although the store holds a snapshot of this group. */
  empty?: boolean;
}

/** The newest verified snapshot of this group in the snapshot store, or why it is unknown. */
export type SnapshotView =
  { ok: true; newest?: { name: string; revision: number; takenAt: number } } | { ok: false; error: string };

/** Votes this agent collected for itself as bootstrap seeder (collect-votes action). */
export interface VoteTally {
  requestedAt: number;
  granted: InstanceId[];
  refused: { instanceId: InstanceId; reason: string }[];
  /** The plan sent with this round (the whole group at once), as sent: its token is final. */
  plan?: BootstrapPlan;
  /** Voters that granted AND recorded `plan` with their vote. */
  planAccepted?: InstanceId[];
  /** Instances whose agent could not be reached this round (refused for want of an answer). */
  noAnswer?: InstanceId[];
  /** When the first round of this series of fresh rounds was asked (the wait for the whole group runs from it). */
  since?: number;
}

export interface Observation {
  self: SelfView;
  group: GroupView;
  termination: TerminationView;
  local: LocalView;
  cluster: ClusterView;
  /** Present only when no cluster answered: what the peer agents said. */
  peers?: PeerBootstrapView[];
  votes?: VoteTally;
  /** Quorum-loss recovery inputs (absent in observations that predate it: no recovery then). */
  recovery?: RecoveryView;
  /** The snapshot store's newest snapshot of this group; absent when no store is configured. */
  snapshot?: SnapshotView;
  /** The leader's agent's snapshot duty (last taken, last failure, interval); absent without a store. */
  snapshotSchedule?: SnapshotScheduleView;
  /**
   * Why the cloud says self is not in service (an Auto Scaling instance that is Pending, Warmed:* in a
   * warm pool, in Standby, or not in the group), from the provider's latest list; absent when self is in
   * service or leaving, or when the provider cannot tell (Elastigroup, static). While it is set, self
   * never joins nor bootstraps (`selfMayJoin`).
   */
  selfNotInService?: string;
}

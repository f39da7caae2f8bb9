/** Settings and in-memory state shared by the agent's parts (observe, execute, status server). */
import type { BootstrapPlan, GroupInstanceView, PeerBootstrapView, VoteTally } from '../core/observation.ts';
import type { Policy } from '../core/policy.ts';
import type { InstanceId } from '../core/ids.ts';

/** The agent's tunables, from config (etcd.* and agent.*). Durations in ms. */
export interface AgentSettings {
  dataDir: string;
  clientPort: number;
  peerPort: number;
  statusPort: number;
  /** `https` when etcd.tls has a client set (etcd's client URLs); default `http`. */
  clientScheme?: 'http' | 'https';
  /** `https` when etcd.tls has a peer set (etcd's peer URLs); default `http`. */
  peerScheme?: 'http' | 'https';
  /** The group's id when configured (Elastigroup `sig-…`); instance tags may tell it too. */
  groupId?: string;
  /** etcd.clusterToken: prefixes the unique token the planner derives for a bootstrap. */
  clusterToken?: string;
  /** Deadline of each etcd call. */
  callTimeoutMs: number;
  /** Deadline of each cloud call (group list, signal). */
  cloudTimeoutMs: number;
  cycleIntervalMs: number;
  groupPollIntervalMs: number;
  /** The group poll of a calm follower's agent (default: groupPollIntervalMs). */
  followerGroupPollIntervalMs?: number;
  policy: Policy;
  /** How long a start waits for the local etcd to answer status (default 10 s). */
  startWaitMs?: number;
}

/** What the agent remembers between cycles (not durable: a restarted agent starts afresh). */
export interface AgentMemory {
  startFailures: number;
  nextStartAt?: number;
  signalledReady: boolean;
  votes?: VoteTally;
  /** Set while state.json cannot be read: destructive actions are refused until it is fixed. */
  stateError?: string;
}

export function newAgentMemory(): AgentMemory {
  return { startFailures: 0, signalledReady: false };
}

/** A peer agent's answer to a vote request. */
export interface VoteAnswer {
  granted: boolean;
  reason: string;
  /** Granted and the request's plan recorded with the vote (absent from an agent that predates plans). */
  planAccepted?: boolean;
}

/** A plan member's answer to the seeder's start notice (POST /v1/bootstrap/started). */
export interface StartNoticeAnswer {
  accepted: boolean;
  reason: string;
}

/** What a vote request asks (POST /v1/bootstrap/vote's body). */
export interface VoteRequestBody {
  candidate: InstanceId;
  /** The desired capacity the candidate counts its majority over. */
  desiredCapacity: number;
  /** The whole group at once: the agreed initial cluster the voter may record with its vote. */
  plan?: BootstrapPlan;
}

/** The status servers of the other agents of the group (used only while no cluster answers). */
export interface PeerAgents {
  /** GET /v1/bootstrap. Never throws: an unreachable peer is `{ reachable: false }`. */
  bootstrapView(peer: GroupInstanceView, signal?: AbortSignal): Promise<PeerBootstrapView>;
  /**
   * POST /v1/bootstrap/vote. Throws when the peer cannot be reached (code PEER_UNREACHABLE) or answers
   * nonsense.
   */
  requestVote(peer: GroupInstanceView, request: VoteRequestBody, signal?: AbortSignal): Promise<VoteAnswer>;
  /**
   * POST /v1/bootstrap/started: tells a member of the plan that the seeder started it, so it starts at
   * once (it checks the plan against its own record). Throws when the peer cannot be reached.
   */
  announcePlanStart?(
    peer: GroupInstanceView,
    notice: { candidate: InstanceId; token: string },
    signal?: AbortSignal,
  ): Promise<StartNoticeAnswer>;
}

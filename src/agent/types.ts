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
  /**
   * A calm follower's own group poll of the cloud, when the leader's agent cannot share its list
   * (default: groupPollIntervalMs).
   */
  followerGroupPollIntervalMs?: number;
  /** The leader's agent's group poll while the cluster is steady (default: groupPollIntervalMs). */
  steadyGroupPollIntervalMs?: number;
  /** Fraction by which every poll interval and the cycle sleep are jittered, ± (default 0: none). */
  pollJitter?: number;
  policy: Policy;
  /** How long a start waits for the local etcd to answer status (default 10 s). */
  startWaitMs?: number;
}

/** What the agent remembers between cycles (not durable: a restarted agent starts afresh). */
export interface AgentMemory {
  startFailures: number;
  nextStartAt?: number;
  signalledReady: boolean;
  /** Ready-to-shutdown signals refused or failed in a row, and when the next may go (a back-off). */
  signalFailures?: number;
  nextSignalAt?: number;
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

/**
 * `GET /v1/group`: the group list an agent last fetched from the cloud itself, shared with its peers so
 * that a calm follower need not ask the cloud (docs/design.md "One cloud poller per cluster"). Never a
 * copy of a copy: an agent shares only its own answers.
 */
export interface SharedGroupList {
  /** The instance of the agent that fetched it. */
  instanceId: InstanceId;
  /** What was asked (the provider's description, e.g. `elastigroup sig-1234`). */
  source: string;
  /** When it was fetched, on the serving agent's clock (ms since epoch). */
  fetchedAt: number;
  /** Its age when served (ms): the reader dates it by this, not by `fetchedAt` (clocks differ). */
  ageMs: number;
  /** How often the serving agent asks the cloud now (ms): a copy older than twice this is stale. */
  pollIntervalMs: number;
  instances: GroupInstanceView[];
  desiredCapacity?: number;
  groupId?: string;
}

/** The answer of {@link PeerAgents.groupList}: the peer's list, or why it could not be used. */
export type SharedGroupAnswer = { ok: true; list: SharedGroupList } | { ok: false; error: string };

/** The status servers of the other agents of the group (bootstrap, quorum-loss recovery, the shared group list). */
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
  /**
   * GET /v1/group with a signed request, checking the answer's signature and shape. Never throws: an
   * unreachable peer, an unsigned or badly signed answer, or one from another agent is `{ ok: false }`.
   */
  groupList?(peer: GroupInstanceView, signal?: AbortSignal): Promise<SharedGroupAnswer>;
}

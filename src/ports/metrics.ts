/**
 * What the agent records for monitoring, in the agent's own words: no Prometheus types here. The one
 * real implementation is `adapters/metrics/prometheus.ts` (loaded by the `agent` command only);
 * `adapters/metrics/noop.ts` serves tests and `plan`. Every label value is drawn from a small fixed
 * set (action kinds, outcomes, routes, status classes): never an instance id, a member id or an error
 * text, so the number of series stays bounded whatever happens to the group.
 */
import type { ActionKind, RemoveWhy } from '../core/actions.ts';

/**
 * How one executed decision ended:
 * - `progressed`: it changed something (the loop re-observes at once);
 * - `waited`: nothing to do or nothing done (a `wait`, a start held back by its back-off);
 * - `failed`: the action was tried and an error came back (the next cycle re-observes);
 * - `refused`: a precondition re-checked at execution time, or an unreadable state file, stopped it
 *   before it touched anything.
 */
export type DecisionOutcome = 'progressed' | 'waited' | 'failed' | 'refused';

/** A change of etcd membership that committed (add-self-as-learner, promote-member, remove-member). */
export type MembershipChange = 'add-learner' | 'promote' | 'remove';

/** Why a membership change was made: a removal's `why`, `join` for an add, `caught-up` for a promotion. */
export type MembershipChangeWhy = RemoveWhy | 'join' | 'caught-up';

/**
 * A cloud API answer reduced to a class: the HTTP status family (429 on its own: it means back off),
 * or `timeout` / `unreachable` when no HTTP answer came.
 */
export type StatusClass = '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'timeout' | 'unreachable';

/** Records what the agent does and sees. Every method is cheap and never throws. */
export interface AgentMetrics {
  /** One executed decision (the plan's first action) and how it ended. */
  decision(action: ActionKind, outcome: DecisionOutcome): void;
  /** A committed membership change. */
  membershipChange(change: MembershipChange, why: MembershipChangeWhy): void;
  /** Seconds from the first sight of a termination notice to the removal of self's member. */
  noticeToRemoved(seconds: number): void;
  /** One request to the cloud API (not a call refused during a back-off: no request was made). */
  cloudApiCall(route: string, status: StatusClass): void;
  /** A cycle observed, planned and executed (epoch ms). */
  cycleSucceeded(atMs: number): void;
  /** Whether the last observation reached the etcd cluster (a voter listed the members). */
  etcdReachable(up: boolean): void;
  /** Whether self's member is the leader, i.e. this agent carries the cluster-wide duties. */
  leaderAgent(is: boolean): void;
  /** Whether state.json could be read at the last observation. */
  stateFileReadable(ok: boolean): void;
  /** The /readyz verdict of the last cycle. */
  ready(ok: boolean): void;
  /** Seconds since a termination notice was first seen while self's member is still in the cluster; 0 otherwise. */
  noticePending(seconds: number): void;
}

/** The metrics as text for a scrape (`GET /metrics`). */
export interface MetricsExposition {
  /** The Content-Type of `text()`, e.g. `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  text(): Promise<string>;
}

/**
 * The class of a cloud API answer.
 * @example statusClass(503) // '5xx'
 */
export function statusClass(status: number | 'timeout' | 'unreachable'): StatusClass {
  if (typeof status !== 'number') return status;
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/**
 * What a finished cycle tells monitoring: the `/readyz` verdict and the metrics of the cycle. Pure
 * functions of the cycle's observation and executed action (plus `now`); the wiring calls them after
 * every cycle.
 */
import type { Action } from '../core/actions.ts';
import { canJoinWithVersion } from '../core/etcd-version.ts';
import type { Observation } from '../core/observation.ts';
import { effectiveNotices, findSelfMember, seederOf } from '../core/plan-helpers.ts';
import type { Policy } from '../core/policy.ts';
import type { AgentMetrics, DecisionOutcome } from '../ports/metrics.ts';

/** One word on why self is (not) ready; `/readyz` says nothing more without authentication. */
export type ReadyReason =
  // ready
  | 'member' // a started voter that follows a leader
  | 'learner' // a started learner that follows a leader (catching up, or a hot spare)
  | 'waiting' // not a member, and waiting for a slot (cold standby, one learner at a time, a voter down)
  | 'joining' // adding itself as a learner now
  | 'bootstrapping' // the seeder of a group without a cluster, collecting votes or starting it
  // not ready
  | 'starting' // no cycle completed yet, or self's member was added but never started
  | 'stalled' // the loop stopped or is stuck
  | 'state-file' // state.json cannot be read
  | 'leaving' // a termination notice: self is leaving (or has left) the cluster
  | 'no-cluster' // no etcd cluster answers, and self is not the seeder
  | 'no-leader' // the cluster answers without a leader
  | 'etcd-down' // self's member is listed but its etcd does not answer
  | 'not-member' // self runs etcd or holds data, but is not in the committed member list
  | 'version'; // self's etcd version cannot join the cluster's

export interface Readiness {
  ready: boolean;
  reason: ReadyReason;
}

/**
 * Whether self is a healthy member, or legitimately waiting, after the cycle that observed `obs` and
 * executed `action`.
 * - a healthy member: self's member is started, answers, and follows a leader (voter or learner);
 * - legitimately waiting: not a member, holding no data, and the cluster (with a leader) is one self's
 *   etcd can join: a cold standby, waiting for the one learner slot or for a voter to come back;
 * - the seeder of a group that has no cluster yet, collecting votes or bootstrapping;
 * - anything else, a leave in progress included, is not ready.
 */
export function readiness(
  obs: Observation | undefined,
  action: Action | undefined,
  policy: Pick<Policy, 'leaveOnRebalance'>,
): Readiness {
  const no = (reason: ReadyReason): Readiness => ({ ready: false, reason });
  const yes = (reason: ReadyReason): Readiness => ({ ready: true, reason });
  if (obs === undefined) return no('starting');
  const { local, cluster, self } = obs;
  if (local.recordError !== undefined) return no('state-file');
  if (local.record.left !== undefined || effectiveNotices(obs.termination.notices, policy).length > 0)
    return no('leaving');
  if (!cluster.reachable) {
    const seeder = obs.group.ok ? seederOf(obs.group.instances) : undefined;
    const bootstrapping =
      action?.kind === 'collect-votes' || action?.kind === 'bootstrap' || action?.kind === 'restore-snapshot';
    if (bootstrapping || (seeder === self.instanceId && !local.hasData)) return yes('bootstrapping');
    return no('no-cluster');
  }
  const selfMember = findSelfMember(cluster.members, self);
  if (selfMember !== undefined) {
    if (selfMember.name === '') return no('starting');
    if (!selfMember.reachable) return no('etcd-down');
    if (selfMember.leaderId === undefined) return no('no-leader');
    return yes(selfMember.isLearner ? 'learner' : 'member');
  }
  if (local.etcdRunning || local.hasData) return no('not-member');
  if (cluster.leaderId === undefined) return no('no-leader');
  if (!canJoinWithVersion(local.etcdVersion, cluster.members).ok) return no('version');
  return yes(action?.kind === 'add-self-as-learner' ? 'joining' : 'waiting');
}

/** What a finished cycle is made of, as far as metrics go (a subset of the agent's CycleResult). */
export interface CycleFacts {
  /** The action executed. */
  action: Action;
  /** The plan as planned: its first action differs from `action` when the agent held it back. */
  plan: readonly Action[];
  progressed: boolean;
  code?: string;
  observation: Observation;
}

/** The outcome of the executed decision, and the kind it is counted under. */
export function decisionOf(c: CycleFacts): { kind: Action['kind']; outcome: DecisionOutcome } {
  const planned = c.plan[0];
  // The agent replaced a destructive action by a wait (unreadable state file): the planned one was refused.
  if (planned !== undefined && planned !== c.action) return { kind: planned.kind, outcome: 'refused' };
  const kind = c.action.kind;
  if (c.code === 'PRECONDITION_FAILED') return { kind, outcome: 'refused' };
  if (c.code !== undefined) return { kind, outcome: 'failed' };
  return { kind, outcome: c.progressed ? 'progressed' : 'waited' };
}

/** Records one finished cycle. Never throws (metrics never stop the loop). */
export function recordCycle(
  metrics: AgentMetrics,
  c: CycleFacts,
  ready: Readiness,
  policy: Pick<Policy, 'leaveOnRebalance'>,
  now: number,
): void {
  const obs = c.observation;
  const { kind, outcome } = decisionOf(c);
  metrics.decision(kind, outcome);
  const a = c.action;
  if (c.progressed) {
    if (a.kind === 'add-self-as-learner') metrics.membershipChange('add-learner', 'join');
    else if (a.kind === 'promote-member') metrics.membershipChange('promote', 'caught-up');
    else if (a.kind === 'remove-member') metrics.membershipChange('remove', a.why);
  }
  const notices = effectiveNotices(obs.termination.notices, policy);
  const firstSeen = notices.length > 0 ? Math.min(...notices.map((n) => n.seenAt)) : undefined;
  if (c.progressed && a.kind === 'remove-member' && a.why === 'self-leave' && firstSeen !== undefined)
    metrics.noticeToRemoved((now - firstSeen) / 1000);

  const cluster = obs.cluster;
  const selfMember = cluster.reachable ? findSelfMember(cluster.members, obs.self) : undefined;
  const removedNow = a.kind === 'remove-member' && a.why === 'self-leave' && c.progressed;
  const stillMember =
    obs.local.record.left === undefined && !removedNow && (!cluster.reachable || selfMember !== undefined);
  metrics.noticePending(firstSeen !== undefined && stillMember ? (now - firstSeen) / 1000 : 0);

  metrics.etcdReachable(cluster.reachable);
  metrics.leaderAgent(cluster.reachable && selfMember !== undefined && selfMember.id === cluster.leaderId);
  metrics.stateFileReadable(obs.local.recordError === undefined);
  metrics.ready(ready.ready);
  metrics.cycleSucceeded(now);
}

/**
 * The operator's member operations (`etcd-spot member remove | promote | move-leader`), checked by the
 * same predicates the planner uses (./quorum.ts): a refusal states the arithmetic, and `--force` gets
 * a sentence saying what it risks. Pure: the CLI gathers the member views, this decides.
 */
import type { MemberId } from './ids.ts';
import type { MemberView } from './observation.ts';
import {
  canPromote,
  canRemoveSafely,
  describeMember,
  healthyText,
  healthyVoters,
  isHealthyVoter,
  quorumSize,
  votersOf,
} from './quorum.ts';

/** A member id (16 hex digits, as etcdctl prints it) or the instance id a started member is named after. */
export function resolveMember(
  members: readonly MemberView[],
  ref: string,
): { ok: true; member: MemberView } | { ok: false; reason: string } {
  const wanted = ref.trim().toLowerCase();
  const byId = members.find((m) => m.id.toLowerCase() === wanted);
  if (byId !== undefined) return { ok: true, member: byId };
  const byName = members.filter((m) => m.name !== '' && m.name === ref.trim());
  if (byName.length === 1) return { ok: true, member: byName[0] as MemberView };
  if (byName.length > 1)
    return { ok: false, reason: `${byName.length} members are named ${ref}; give the member id instead` };
  const known = members.map(describeMember).join(', ') || 'none';
  return {
    ok: false,
    reason: `no member has the id or instance name ${JSON.stringify(ref)}; members: ${known}`,
  };
}

/** A member operation's verdict: what it will do (ok), or why not and, with --force, what that risks. */
export type OpVerdict = { ok: true; summary: string } | { ok: false; reason: string; risk: string };

/** The leader all reachable members agree on, or undefined (none, or an election in progress). */
export function agreedLeader(members: readonly MemberView[]): MemberId | undefined {
  const leaders = new Set(members.flatMap((m) => (m.reachable && m.leaderId ? [m.leaderId] : [])));
  return leaders.size === 1 ? [...leaders][0] : undefined;
}

/**
 * `member remove`: {@link canRemoveSafely} (safety rule 1), the planner's own check before every
 * removal. An unreachable member counts as unhealthy: uncertain information never adds to the quorum.
 */
export function checkRemove(members: readonly MemberView[], target: MemberView): OpVerdict {
  const v = canRemoveSafely(members, target.id);
  if (v.ok) return { ok: true, summary: `remove ${describeMember(target)}: ${v.summary}` };
  const votersAfter = votersOf(members).length - (target.isLearner ? 0 : 1);
  return {
    ok: false,
    reason: `removing ${describeMember(target)} would break quorum: ${v.reason}`,
    risk:
      `the cluster keeps ${votersAfter} voter${votersAfter === 1 ? '' : 's'} and needs ${quorumSize(votersAfter)} to commit: ` +
      'writes (and the agents’ own membership changes) stop until enough voters are back, and if they never come back only `etcd-spot recover` (a forced new cluster or a snapshot) brings the cluster back',
  };
}

/** `member promote`: {@link canPromote}, with the planner's catch-up bound. */
export function checkPromote(
  members: readonly MemberView[],
  target: MemberView,
  catchUpEntries: number,
): OpVerdict {
  const v = canPromote(members, target.id, agreedLeader(members), catchUpEntries);
  if (v.ok) return { ok: true, summary: `promote ${describeMember(target)}: ${v.summary}` };
  return {
    ok: false,
    reason: `promoting ${describeMember(target)} is not safe now: ${v.reason}`,
    risk: target.isLearner
      ? 'a voter that is behind or not following the leader raises the quorum without adding a working vote; etcd itself still refuses a learner that is not ready'
      : 'nothing: etcd refuses to promote a voter',
  };
}

/**
 * `member move-leader`: the planner hands leadership only to a healthy voter (reachable, following
 * the leader) that is not the leader, and only when the cluster has one agreed leader to ask.
 */
export function checkMoveLeader(members: readonly MemberView[], target: MemberView): OpVerdict {
  const leaderId = agreedLeader(members);
  const leader = members.find((m) => m.id === leaderId);
  const refuse = (reason: string, risk: string): OpVerdict => ({ ok: false, reason, risk });
  if (leader === undefined)
    return refuse(
      'the cluster has no agreed leader (an election, or no quorum): there is no leader to hand over',
      'nothing useful: etcd only accepts the request from the current leader',
    );
  if (target.id === leader.id) return refuse(`${describeMember(target)} is already the leader`, 'nothing');
  if (target.isLearner)
    return refuse(`${describeMember(target)} is a learner: it holds no vote`, 'nothing: etcd refuses it');
  if (!isHealthyVoter(target))
    return refuse(
      `${describeMember(target)} is not a healthy voter (${target.reachable ? 'follows no leader' : 'unreachable'}); ${healthyText(healthyVoters(members).length)}`,
      'an unhealthy leader costs an election (a write gap) as soon as it steps down again',
    );
  return {
    ok: true,
    summary: `move leadership from ${describeMember(leader)} to ${describeMember(target)} (raft index ${target.raftIndex ?? 'unknown'})`,
  };
}

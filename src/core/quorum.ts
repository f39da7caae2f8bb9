/**
 * Quorum arithmetic over a member list. Pure. Every exported predicate lists its preconditions; the
 * planner (src/core/plan.ts) uses these and nothing else to decide whether a membership change is safe.
 *
 * A **healthy voter** is a voter that answered this cycle (`reachable`) and follows a leader
 * (`leaderId` set). Learners never count towards quorum.
 */
import type { MemberId } from './ids.ts';
import type { MemberView } from './observation.ts';

/** Votes needed to commit in a cluster of `voters` voters: floor(n/2)+1 (1 for an empty cluster). */
export function quorumSize(voters: number): number {
  return Math.floor(Math.max(0, voters) / 2) + 1;
}

/** Voters that may fail while the rest still form a quorum (0 for 0, 1 or 2 voters). */
export function faultTolerance(voters: number): number {
  return Math.max(0, voters - quorumSize(voters));
}

/** The largest odd number ≤ n, at least 1. */
export function largestOddAtMost(n: number): number {
  const k = Math.max(1, Math.floor(n));
  return k % 2 === 1 ? k : k - 1;
}

export function votersOf(members: readonly MemberView[]): MemberView[] {
  return members.filter((m) => !m.isLearner);
}

export function learnersOf(members: readonly MemberView[]): MemberView[] {
  return members.filter((m) => m.isLearner);
}

/** Added but never started: etcd lists it with an empty name. */
export function isUnstarted(m: MemberView): boolean {
  return m.name === '';
}

/**
 * A voter that counts towards quorum right now.
 * - it is a voter (not a learner);
 * - it answered Maintenance.Status this cycle (`reachable`);
 * - it follows a leader (`leaderId` set).
 */
export function isHealthyVoter(m: MemberView): boolean {
  return !m.isLearner && m.reachable && m.leaderId !== undefined;
}

/** The healthy voters of `members` (see {@link isHealthyVoter}). */
export function healthyVoters(members: readonly MemberView[]): MemberView[] {
  return members.filter(isHealthyVoter);
}

export type Verdict = { ok: true; summary: string } | { ok: false; reason: string };

/**
 * Whether removing `memberId` keeps the cluster able to commit (safety rule 1).
 * - the member is in `members`;
 * - after the removal, healthy voters ≥ quorum(voters). Removing an unreachable voter or a learner does
 *   not lower the healthy count; removing a healthy voter lowers both sides, and must still pass.
 *
 * `summary` (ok) and `reason` (refused) state the arithmetic, e.g. "3 healthy voters of 4 remain ≥ quorum 3".
 */
export function canRemoveSafely(members: readonly MemberView[], memberId: MemberId): Verdict {
  const target = members.find((m) => m.id === memberId);
  if (target === undefined) return { ok: false, reason: `member ${memberId} is not in the member list` };
  const votersAfter = votersOf(members).length - (target.isLearner ? 0 : 1);
  const healthyAfter = healthyVoters(members).length - (isHealthyVoter(target) ? 1 : 0);
  const q = quorumSize(votersAfter);
  if (healthyAfter >= q) {
    return { ok: true, summary: `${healthyText(healthyAfter)} of ${votersAfter} remain ≥ quorum ${q}` };
  }
  return {
    ok: false,
    reason: `only ${healthyText(healthyAfter)} of ${votersAfter} would remain < quorum ${q}`,
  };
}

/**
 * Whether etcd would accept adding a new learner now (safety rule 2; etcd's strict reconfig).
 * - fewer learners than the learner limit (`maxLearners`: 1 on etcd 3.4/3.5, `--max-learners` on 3.6+,
 *   see {@link learnerLimit} in etcd-version.ts);
 * - no unstarted member exists (a pending add is still in flight: one membership change at a time);
 * - every voter is reachable (etcd refuses adds while a voter is down: "unhealthy cluster");
 * - at least one healthy voter exists to take the request.
 */
export function canAddLearner(members: readonly MemberView[], maxLearners = 1): Verdict {
  const limit = Math.max(1, Math.floor(maxLearners));
  const learners = learnersOf(members);
  const first = learners[0];
  if (first !== undefined && learners.length >= limit)
    return {
      ok: false,
      reason:
        limit === 1
          ? `learner ${describeMember(first)} exists; one learner at a time`
          : `${learners.length} learners (${learners.map(describeMember).join(', ')}) reach the limit of ${limit}`,
    };
  const unstarted = members.find(isUnstarted);
  if (unstarted !== undefined)
    return {
      ok: false,
      reason: `member ${describeMember(unstarted)} was added but never started; one add at a time`,
    };
  const down = votersOf(members).find((m) => !m.reachable);
  if (down !== undefined) {
    return {
      ok: false,
      reason: `etcd refuses adds while voter ${describeMember(down)} is down; the leader's agent reaps it after the TTL`,
    };
  }
  const healthy = healthyVoters(members).length;
  if (healthy === 0) return { ok: false, reason: 'no healthy voter to take the add' };
  return {
    ok: true,
    summary: `${healthyText(healthy)}, ${learners.length} of ${limit} learner${limit === 1 ? '' : 's'}, no unstarted member`,
  };
}

/**
 * Whether an instance without a member has no slot to join into: a **cold standby** (design row D3).
 * - voters ≥ maxVoters (no voter slot: the leader's agent promotes no further learner);
 * - learners (started or not) ≥ the learner limit (no learner slot: etcd refuses the add).
 * It joins as soon as one frees (a member leaves or is reaped, or a learner is promoted).
 * Returns the reason, or undefined when a slot is free (or will be: a learner gets promoted).
 */
export function coldStandbyReason(
  members: readonly MemberView[],
  maxVoters: number,
  maxLearners: number,
): string | undefined {
  const voters = votersOf(members).length;
  const learners = learnersOf(members).length;
  const limit = Math.max(1, Math.floor(maxLearners));
  if (voters < maxVoters || learners < limit) return undefined;
  return `cold standby: ${voters} voter${voters === 1 ? '' : 's'} (maxVoters ${maxVoters}) and ${learners} learner${learners === 1 ? '' : 's'} (limit ${limit}) leave no slot; joins when a slot frees`;
}

/**
 * Whether a learner is in sync enough to be promoted.
 * - it is a learner and answered this cycle;
 * - both its raft index and the leader's are known;
 * - the leader is at most `catchUpEntries` entries ahead.
 */
export function isCaughtUp(
  learner: MemberView,
  leader: MemberView | undefined,
  catchUpEntries: number,
): boolean {
  if (!learner.isLearner || !learner.reachable) return false;
  if (leader === undefined || leader.raftIndex === undefined || learner.raftIndex === undefined) return false;
  return leader.raftIndex - learner.raftIndex <= catchUpEntries;
}

/**
 * The host of a member's first peer URL (`http://10.0.0.5:2380` → `10.0.0.5`, `http://[::1]:2380` →
 * `::1`), or undefined when it has none or it does not parse. A member belongs to the instance with
 * that private IP.
 */
export function peerHostOf(m: Pick<MemberView, 'peerUrls'>): string | undefined {
  for (const url of m.peerUrls) {
    const host = hostOfUrl(url);
    if (host !== undefined) return host;
  }
  return undefined;
}

export function hostOfUrl(url: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)/i.exec(url.trim());
  if (match === null || match[1] === undefined) return undefined;
  const host = match[1].toLowerCase();
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** `8e9e05c52164694d (i-0abc)` or `8e9e05c52164694d (unstarted at 10.0.0.5)`. */
export function describeMember(m: MemberView): string {
  return `${m.id} (${m.name === '' ? `unstarted at ${peerHostOf(m) ?? 'no peer URL'}` : m.name})`;
}

/**
 * Whether promoting `learnerId` is useful and safe now.
 * - the cluster has a leader and it is in the member list;
 * - the member is a learner, caught up with the leader ({@link isCaughtUp});
 * - after the promotion, healthy voters ≥ quorum(voters) (a caught-up learner that follows the leader
 *   counts as healthy once promoted; one that does not would weaken the quorum).
 */
export function canPromote(
  members: readonly MemberView[],
  learnerId: MemberId,
  leaderId: MemberId | undefined,
  catchUpEntries: number,
): Verdict {
  const leader = members.find((m) => m.id === leaderId);
  if (leaderId === undefined || leader === undefined)
    return { ok: false, reason: 'the cluster has no leader' };
  const learner = members.find((m) => m.id === learnerId);
  if (learner === undefined) return { ok: false, reason: `member ${learnerId} is not in the member list` };
  if (!learner.isLearner)
    return { ok: false, reason: `member ${describeMember(learner)} is already a voter` };
  if (!isCaughtUp(learner, leader, catchUpEntries)) {
    return {
      ok: false,
      reason: `learner ${describeMember(learner)} is not caught up with the leader (${lagText(learner, leader)})`,
    };
  }
  const votersAfter = votersOf(members).length + 1;
  const healthyAfter = healthyVoters(members).length + (learner.leaderId !== undefined ? 1 : 0);
  const q = quorumSize(votersAfter);
  if (healthyAfter < q)
    return {
      ok: false,
      reason: `only ${healthyText(healthyAfter)} of ${votersAfter} would remain < quorum ${q}`,
    };
  return {
    ok: true,
    summary: `${lagText(learner, leader)}; ${healthyText(healthyAfter)} of ${votersAfter} ≥ quorum ${q}`,
  };
}

/** "12 entries behind the leader" or "raft index unknown". */
export function lagText(learner: MemberView, leader: MemberView): string {
  if (!learner.reachable) return 'unreachable';
  if (learner.raftIndex === undefined || leader.raftIndex === undefined) return 'raft index unknown';
  return `${Math.max(0, leader.raftIndex - learner.raftIndex)} entries behind the leader`;
}

/** "1 healthy voter", "3 healthy voters". */
export function healthyText(n: number): string {
  return `${n} healthy voter${n === 1 ? '' : 's'}`;
}

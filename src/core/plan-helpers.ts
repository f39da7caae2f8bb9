/**
 * Named predicates the planner composes (src/core/plan.ts). Pure. Each exported predicate lists its
 * preconditions; each precondition has a test in plan.test.ts.
 */
import type { InstanceId, MemberId } from './ids.ts';
import type {
  GroupInstanceView,
  GroupView,
  MemberView,
  NoticeView,
  Observation,
  SelfView,
} from './observation.ts';
import type { Policy } from './policy.ts';
import { hostOfUrl, isUnstarted, peerHostOf } from './quorum.ts';

/** A group list the planner may act destructively on. */
export type PlausibleGroup = {
  ok: true;
  instances: GroupInstanceView[];
  desiredCapacity: number | undefined;
  /** Why the desired capacity is unknown, when it could not be read. */
  desiredCapacityError?: string;
  groupId: string | undefined;
};

/**
 * Whether the group list is this agent's own answer from the cloud, not a copy another agent shared
 * (`sharedBy`). A shared list is signed by a peer agent and fresh, but it is one more hop from the cloud
 * (a peer's bug, a stale cache, a stolen peer key): it may stand in for the cloud where nothing is
 * destroyed (a calm follower's view), never as proof for a removal, a wipe, a bootstrap or a forced
 * new cluster. So it is never more trusted than a direct list.
 */
export function isDirectGroupList(group: GroupView): boolean {
  return group.ok && group.sharedBy === undefined;
}

/**
 * Whether the group list is proof enough for destructive actions (safety rule 4).
 * - the list was fetched (`ok`): an API error or a timeout is "unknown", never "empty";
 * - it is this agent's own answer from the cloud ({@link isDirectGroupList}), not a peer's shared copy;
 * - it is non-empty: a group with no instances cannot hold the agent that asks;
 * - it contains self: a list that misses the instance reading it is stale or from another group.
 */
export function plausibleGroup(
  group: GroupView,
  selfId: InstanceId,
): PlausibleGroup | { ok: false; reason: string } {
  if (!group.ok) return { ok: false, reason: `the group list is unknown (${group.error})` };
  if (!isDirectGroupList(group))
    return {
      ok: false,
      reason: `the group list is the copy shared by ${group.sharedBy}'s agent, not this agent's own answer from the cloud; nothing destructive rests on a shared list`,
    };
  if (group.instances.length === 0)
    return { ok: false, reason: 'the group list is empty, which cannot be true while we run' };
  if (!group.instances.some((i) => i.id === selfId)) {
    return {
      ok: false,
      reason: `the group list (${group.instances.length} instances) does not contain self ${selfId}`,
    };
  }
  return {
    ok: true,
    instances: group.instances,
    desiredCapacity: group.desiredCapacity,
    ...(group.desiredCapacityError !== undefined ? { desiredCapacityError: group.desiredCapacityError } : {}),
    groupId: group.groupId,
  };
}

/**
 * Safety rule (warm pools): self joins the cluster (add-self-as-learner, collect-votes, bootstrap,
 * restore) only while the cloud does not say it is out of service. A warmed instance runs its agent
 * before it serves (and may come back from a scale-in with an old data dir); a Pending or Standby one is
 * not part of the desired capacity. Unknown (no provider answer) does not block: the provider says so
 * explicitly (`the group has not been read yet`).
 */
export function selfMayJoin(
  obs: Pick<Observation, 'selfNotInService'>,
): { ok: true } | { ok: false; reason: string } {
  return obs.selfNotInService === undefined
    ? { ok: true }
    : { ok: false, reason: `${obs.selfNotInService}; an instance that is not in service never joins` };
}

/** The notices that make self leave: every non-advisory one, and advisory ones when `leaveOnRebalance`. */
export function effectiveNotices(
  notices: readonly NoticeView[],
  policy: Pick<Policy, 'leaveOnRebalance'>,
): NoticeView[] {
  return notices.filter((n) => n.advisory !== true || policy.leaveOnRebalance);
}

/** The member whose peer URL points at self's IP (self's peer URL host). */
export function findSelfMember(members: readonly MemberView[], self: SelfView): MemberView | undefined {
  const selfHost = hostOfUrl(self.peerUrl) ?? self.privateIp;
  return (
    members.find((m) => m.peerUrls.includes(self.peerUrl)) ?? members.find((m) => peerHostOf(m) === selfHost)
  );
}

/** The group instance whose private IP is the member's peer host. */
export function instanceAtPeerIp(
  m: MemberView,
  instances: readonly GroupInstanceView[],
): GroupInstanceView | undefined {
  const host = peerHostOf(m);
  return host === undefined ? undefined : instances.find((i) => i.privateIp === host);
}

/**
 * The member's instance is confirmed gone by the cloud.
 * - the group list is plausible (see {@link plausibleGroup});
 * - the member's peer host is known (a peer URL that does not parse proves nothing);
 * - no instance of the list has the member's peer IP;
 * - the member is not named after an instance that is in the list (an instance never changes its IP).
 */
export function isInstanceGone(m: MemberView, group: PlausibleGroup): boolean {
  if (peerHostOf(m) === undefined || instanceAtPeerIp(m, group.instances) !== undefined) return false;
  return !(m.name !== '' && group.instances.some((i) => i.id === m.name));
}

export function unreachableFor(m: MemberView, now: number): number | undefined {
  if (m.reachable || m.unreachableSince === undefined) return undefined;
  return Math.max(0, now - m.unreachableSince);
}

export function unstartedFor(m: MemberView, now: number): number | undefined {
  if (!isUnstarted(m) || m.unstartedSince === undefined) return undefined;
  return Math.max(0, now - m.unstartedSince);
}

export type ReapCandidate = {
  member: MemberView;
  why: 'dead' | 'unstarted' | 'stale-peer-url';
  since: number;
  detail: string;
};

/**
 * How long a member whose instance is gone must have been unreachable before it is reaped: the shorter
 * `terminatedMemberDeadAfterMs` only with the cloud's own word that the instance is terminated
 * (`instanceTerminated`), else `memberDeadAfterMs` (the cloud is silent or unsure: one list that lacks
 * the instance proves little).
 */
export function deadAfterMs(m: MemberView, policy: Policy): number {
  return m.instanceTerminated === true
    ? Math.min(policy.terminatedMemberDeadAfterMs, policy.memberDeadAfterMs)
    : policy.memberDeadAfterMs;
}

/**
 * A member the leader's agent removes as dead.
 * - the group list is plausible;
 * - the member's instance is gone from it ({@link isInstanceGone});
 * - the member is unreachable, and has been for longer than {@link deadAfterMs} (this agent's memory
 *   of `unreachableSince`; an unknown start never counts as long enough).
 */
export function deadMember(
  m: MemberView,
  group: PlausibleGroup,
  now: number,
  policy: Policy,
): ReapCandidate | undefined {
  if (!isInstanceGone(m, group)) return undefined;
  const down = unreachableFor(m, now);
  const ttl = deadAfterMs(m, policy);
  if (down === undefined || down <= ttl || m.unreachableSince === undefined) return undefined;
  const proof = m.instanceTerminated === true ? 'the cloud says its instance is terminated; ' : '';
  return {
    member: m,
    why: 'dead',
    since: m.unreachableSince,
    detail: `${proof}instance gone from the group and unreachable for ${formatDuration(down)} > ${formatDuration(ttl)}`,
  };
}

/**
 * A member the leader's agent removes because it was added but never started.
 * - the member is unstarted (empty name) and unreachable;
 * - it has been seen unstarted for longer than `unstartedMemberTtlMs` (`unstartedSince`).
 * The group list needs to be plausible too (checked by the caller, like every reap).
 */
export function unstartedMember(m: MemberView, now: number, policy: Policy): ReapCandidate | undefined {
  const age = unstartedFor(m, now);
  if (
    age === undefined ||
    m.reachable ||
    age <= policy.unstartedMemberTtlMs ||
    m.unstartedSince === undefined
  )
    return undefined;
  return {
    member: m,
    why: 'unstarted',
    since: m.unstartedSince,
    detail: `added but never started for ${formatDuration(age)} > ${formatDuration(policy.unstartedMemberTtlMs)}`,
  };
}

/**
 * A member whose peer IP now belongs to another instance (the cloud reused the IP of a terminated one).
 * - the group list is plausible;
 * - the member is named after an instance (it started once) that is not in the list;
 * - a running instance with another id has the member's peer IP;
 * - the member is unreachable, for longer than `memberDeadAfterMs` when the leader's agent reaps it
 *   (`minUnreachableMs`); the new owner of the IP removes it at once (design row D1: it is self's peer URL).
 */
export function stalePeerUrlMember(
  m: MemberView,
  group: PlausibleGroup,
  now: number,
  minUnreachableMs: number,
): ReapCandidate | undefined {
  if (isUnstarted(m) || m.reachable) return undefined;
  if (group.instances.some((i) => i.id === m.name)) return undefined;
  const owner = instanceAtPeerIp(m, group.instances);
  if (owner === undefined || owner.id === m.name) return undefined;
  const down = unreachableFor(m, now);
  if (minUnreachableMs > 0 && (down === undefined || down <= minUnreachableMs)) return undefined;
  const since = m.unreachableSince ?? now;
  return {
    member: m,
    why: 'stale-peer-url',
    since,
    detail:
      `its instance ${m.name} is gone and its peer IP ${owner.privateIp} now belongs to ${owner.id}` +
      (down === undefined ? '' : `; unreachable for ${formatDuration(down)}`),
  };
}

/**
 * Every member the leader's agent may reap, oldest first (by the time it was first seen dead/unstarted).
 * Self is never a candidate. The caller still checks quorum ({@link canRemoveSafely}).
 */
export function reapCandidates(
  members: readonly MemberView[],
  selfMemberId: MemberId | undefined,
  group: PlausibleGroup,
  now: number,
  policy: Policy,
): ReapCandidate[] {
  const out: ReapCandidate[] = [];
  for (const m of members) {
    if (m.id === selfMemberId) continue;
    const c =
      deadMember(m, group, now, policy) ??
      stalePeerUrlMember(m, group, now, policy.memberDeadAfterMs) ??
      unstartedMember(m, now, policy);
    if (c !== undefined) out.push(c);
  }
  return out.sort((a, b) => a.since - b.since || (a.member.id < b.member.id ? -1 : 1));
}

/** Group instances that have no member at their IP (they are waiting to join), self excluded. */
export function instancesWaitingToJoin(
  members: readonly MemberView[],
  group: PlausibleGroup,
  selfId: InstanceId,
): GroupInstanceView[] {
  const hosts = new Set(members.map(peerHostOf));
  return group.instances.filter((i) => i.id !== selfId && !hosts.has(i.privateIp));
}

/**
 * Members whose instance is running: with a plausible list, members at an instance's IP that are not
 * named after another instance; without one, the reachable members (the best we know).
 */
export function membersWithRunningInstance(
  members: readonly MemberView[],
  group: PlausibleGroup | undefined,
): MemberView[] {
  if (group === undefined) return members.filter((m) => m.reachable);
  return members.filter((m) => {
    const inst = instanceAtPeerIp(m, group.instances);
    return inst !== undefined && (m.name === '' || m.name === inst.id);
  });
}

/**
 * `initialCluster` for `start-etcd`: every started member under its name, self's own unstarted member
 * under self's instance id (the name it is about to publish), and every other unstarted member as
 * `unstarted-<id>`: etcd refuses an `existing` start whose `--initial-cluster` does not list every
 * member ("member count is unequal"; it matches them by peer URL), and after a start of the whole
 * group at once several members of the plan may still be unstarted.
 */
export function initialClusterFor(
  members: readonly MemberView[],
  self: SelfView,
): { name: string; peerUrl: string }[] {
  const selfMember = findSelfMember(members, self);
  const out: { name: string; peerUrl: string }[] = [];
  for (const m of members) {
    const peerUrl = m.peerUrls[0];
    if (peerUrl === undefined) continue;
    if (m === selfMember) out.push({ name: m.name === '' ? self.instanceId : m.name, peerUrl });
    else out.push({ name: isUnstarted(m) ? `unstarted-${m.id}` : m.name, peerUrl });
  }
  return out;
}

/** The lowest instance id of the list (string order): the only agent that may seed a new cluster. */
export function seederOf(instances: readonly { id: InstanceId }[]): InstanceId | undefined {
  let min: InstanceId | undefined;
  for (const i of instances) if (min === undefined || i.id < min) min = i.id;
  return min;
}

/** `74s`, `1.5s`, `12m05s` (minutes from 10 minutes on). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 600) return `${Math.round(s * 10) / 10}s`;
  const whole = Math.floor(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

/** For reasons: "i-1, i-2 and i-3". */
export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** `https` for `https://…`, else the URL's scheme without the colon (`http`), or '' when it does not parse. */
function schemeOfUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  return m === null ? '' : (m[1] as string).toLowerCase();
}

/**
 * Mixed TLS and plain (design row D0): the members whose peer URL (or, once started, client URL) uses
 * another scheme than self's, each as `<member> peer http://… `, or undefined when every member matches.
 * Joining, starting or bootstrapping across schemes splits the cluster (etcd-druid's users lost
 * clusters switching running peers to TLS), so the planner waits and names them instead.
 */
export function schemeMismatch(members: readonly MemberView[], self: SelfView): string | undefined {
  const peer = schemeOfUrl(self.peerUrl);
  const client = schemeOfUrl(self.clientUrl);
  const odd: string[] = [];
  for (const m of members) {
    const name = `${m.id}${m.name !== '' ? ` (${m.name})` : ''}`;
    const badPeer = m.peerUrls.find((u) => schemeOfUrl(u) !== peer);
    const badClient = m.clientUrls.find((u) => schemeOfUrl(u) !== client);
    if (badPeer !== undefined) odd.push(`${name} peer ${badPeer}`);
    else if (badClient !== undefined) odd.push(`${name} client ${badClient}`);
  }
  if (odd.length === 0) return undefined;
  return `mixed TLS and plain: ${odd.join(', ')} ${odd.length === 1 ? 'does' : 'do'} not match this agent's ${peer}:// peer and ${client}:// client URLs; not joining, starting or adding (switch a running cluster by hand: docs/deploy.md, "Turning TLS on")`;
}

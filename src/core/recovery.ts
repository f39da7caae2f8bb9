/**
 * Quorum-loss recovery (docs/design.md rows Q and C5; issue 8 §3). Pure. When a majority of the voters
 * vanished for good, etcd stays leaderless forever; the only ways back are `--force-new-cluster` on the
 * survivor holding the most data, or, when no survivor holds data, a restore of the newest snapshot.
 * Both lose something, so each step rests on named predicates, each with a test that the step is NOT
 * taken without its proof:
 * - {@link hasNoLeader}: the cluster answers and nobody in it follows a leader;
 * - {@link leaderlessLongEnough}: that has lasted longer than `policy.noLeaderForMs` (this agent's memory);
 * - {@link confirmedTwice}: two distinct, plausible fetches of the group list;
 * - {@link goneVoters} / {@link quorumLossProof}: in BOTH lists, so many voters' instances are gone that
 *   the rest cannot make a quorum. A voter whose instance still runs is never gone, however unreachable
 *   it is: that is a partition or a stopped etcd, and forcing a new cluster then would split the data;
 * - every voter whose instance runs is a survivor whose raft index is known (self's own status, or its
 *   agent's signed answer for the same member id); one unknown answer means wait;
 * - {@link bestSurvivor}: the highest raft (commit) index, then term, then the lowest instance id; only
 *   it forces, the others (and the replacements) wipe and rejoin it as learners through rows D/E.
 */
import type { Action } from './actions.ts';
import type { InstanceId, MemberId } from './ids.ts';
import type {
  ClusterView,
  GroupInstanceView,
  MemberView,
  Observation,
  PeerBootstrapView,
} from './observation.ts';
import type { Policy } from './policy.ts';
import {
  findSelfMember,
  formatDuration,
  instanceAtPeerIp,
  isInstanceGone,
  listWords,
  plausibleGroup,
  stalePeerUrlMember,
} from './plan-helpers.ts';
import type { PlausibleGroup } from './plan-helpers.ts';
import { describeMember, quorumSize, votersOf } from './quorum.ts';

type Reachable = Extract<ClusterView, { reachable: true }>;

/** A voter whose instance still runs, with the data it holds. */
export interface Survivor {
  member: MemberView;
  instanceId: InstanceId;
  isSelf: boolean;
  /** Its raft commit index: what `--force-new-cluster` keeps (etcd discards uncommitted WAL entries). */
  raftIndex: number;
  raftTerm: number | undefined;
}

export type QuorumLossProof =
  | {
      ok: true;
      voters: number;
      gone: MemberView[];
      survivors: Survivor[];
      best: Survivor;
      /** The evidence, for the decision log line. */
      evidence: string;
    }
  | { ok: false; reason: string };

/**
 * The cluster answers and has no leader.
 * - it answered (a member list came back);
 * - the member that listed it reports no leader;
 * - no reachable member reports a leader either (one that does means an election is under way or done).
 */
export function hasNoLeader(cluster: ClusterView): cluster is Reachable {
  if (!cluster.reachable || cluster.leaderId !== undefined) return false;
  return !cluster.members.some((m) => m.reachable && m.leaderId !== undefined);
}

/**
 * No leader has been seen for longer than `policy.noLeaderForMs`.
 * - this agent remembers when the leaderless streak began (`obs.recovery.noLeaderSince`); an unknown
 *   start (a fresh agent) is never long enough.
 */
export function leaderlessLongEnough(
  obs: Pick<Observation, 'recovery'>,
  now: number,
  policy: Pick<Policy, 'noLeaderForMs'>,
): boolean {
  const since = obs.recovery?.noLeaderSince;
  return since !== undefined && now - since > policy.noLeaderForMs;
}

/**
 * The group list was observed twice: the current fetch and an earlier, distinct one are both plausible.
 * - the current list is plausible ({@link plausibleGroup}: fetched, non-empty, contains self);
 * - a previous fetch is remembered (a failed fetch in between forgets it);
 * - it is older than the current one (a cached list read twice is one observation);
 * - it is plausible too.
 */
export function confirmedTwice(
  obs: Pick<Observation, 'group' | 'recovery' | 'self'>,
): { ok: true; lists: [PlausibleGroup, PlausibleGroup] } | { ok: false; reason: string } {
  const cur = plausibleGroup(obs.group, obs.self.instanceId);
  if (!cur.ok) return { ok: false, reason: cur.reason };
  const prev = obs.recovery?.previousGroup;
  if (prev === undefined)
    return { ok: false, reason: 'the group list was read only once (two observations are needed)' };
  if (!obs.group.ok || prev.fetchedAt >= obs.group.fetchedAt)
    return { ok: false, reason: 'the group list was not read again since the last observation' };
  const before = plausibleGroup(
    { ok: true, instances: prev.instances, fetchedAt: prev.fetchedAt },
    obs.self.instanceId,
  );
  if (!before.ok) return { ok: false, reason: `the previous group list was implausible: ${before.reason}` };
  return { ok: true, lists: [before, cur] };
}

/**
 * Voters the cloud says are gone for good.
 * - the member is a voter;
 * - it does not answer (a reachable member is alive, whatever the list says);
 * - in EVERY list given, its instance is gone ({@link isInstanceGone}), or its peer IP was reused by
 *   another instance while the instance it is named after is not listed ({@link stalePeerUrlMember}).
 */
export function goneVoters(
  members: readonly MemberView[],
  lists: readonly PlausibleGroup[],
  now: number,
): MemberView[] {
  return votersOf(members).filter(
    (m) =>
      !m.reachable &&
      lists.every((g) => isInstanceGone(m, g) || stalePeerUrlMember(m, g, now, 0) !== undefined),
  );
}

/**
 * What a survivor's data is, from self's own status or its agent's answer; a string says why unknown.
 * - self: its member answers (its etcd runs) and reports a raft index;
 * - a peer: its instance is in the list, its agent answered (signed), for this member id, with a raft
 *   index, and its etcd follows no leader either.
 */
export function survivorData(
  m: MemberView,
  selfMemberId: MemberId | undefined,
  selfId: InstanceId,
  group: PlausibleGroup,
  peers: readonly PeerBootstrapView[],
): Survivor | string {
  if (m.id === selfMemberId) {
    if (!m.reachable || m.raftIndex === undefined)
      return `self ${describeMember(m)} does not report its raft index (is its etcd running?)`;
    return { member: m, instanceId: selfId, isSelf: true, raftIndex: m.raftIndex, raftTerm: m.raftTerm };
  }
  const inst: GroupInstanceView | undefined = instanceAtPeerIp(m, group.instances);
  if (inst === undefined) return `voter ${describeMember(m)} has no instance in the group list`;
  const p = peers.find((x) => x.instanceId === inst.id);
  if (p === undefined || !p.reachable)
    return `voter ${describeMember(m)} runs on ${inst.id}, whose agent did not answer`;
  if (p.memberId !== m.id || p.raftIndex === undefined)
    return `voter ${describeMember(m)} runs on ${inst.id}, whose agent does not report that member's raft index`;
  if (p.leaderId !== undefined) return `${inst.id} says its etcd follows leader ${p.leaderId}`;
  return { member: m, instanceId: inst.id, isSelf: false, raftIndex: p.raftIndex, raftTerm: p.raftTerm };
}

/** The survivor that keeps the most: highest raft index, then term, then the lowest instance id. */
export function bestSurvivor(survivors: readonly Survivor[]): Survivor | undefined {
  return [...survivors].sort(
    (a, b) =>
      b.raftIndex - a.raftIndex ||
      (b.raftTerm ?? -1) - (a.raftTerm ?? -1) ||
      (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0),
  )[0];
}

/**
 * Proof that quorum is lost for good, and who holds the most data. Preconditions, in order (each has a
 * test that recovery is not planned without it):
 * - {@link hasNoLeader};
 * - {@link leaderlessLongEnough};
 * - {@link confirmedTwice};
 * - the voters left after {@link goneVoters} are fewer than quorum (so no election can ever succeed);
 * - every voter left is a survivor with known data ({@link survivorData}): an unknown one may hold more;
 * - at least one survivor exists (otherwise: restore from a snapshot, row C5).
 */
export function quorumLossProof(obs: Observation, policy: Policy, now: number): QuorumLossProof {
  const c = obs.cluster;
  if (!hasNoLeader(c)) return { ok: false, reason: 'the cluster has a leader or does not answer' };
  if (!leaderlessLongEnough(obs, now, policy)) {
    const since = obs.recovery?.noLeaderSince;
    return {
      ok: false,
      reason:
        since === undefined
          ? 'since when the cluster has had no leader is unknown'
          : `no leader for ${formatDuration(now - since)} ≤ ${formatDuration(policy.noLeaderForMs)}`,
    };
  }
  const twice = confirmedTwice(obs);
  if (!twice.ok) return twice;
  const [, current] = twice.lists;
  const voters = votersOf(c.members);
  const gone = goneVoters(c.members, twice.lists, now);
  const left = voters.filter((m) => !gone.includes(m));
  const need = quorumSize(voters.length);
  if (left.length >= need) {
    const elsewhere = left.filter((m) => !m.reachable).map(describeMember);
    return {
      ok: false,
      reason:
        `not a quorum loss: ${gone.length} of ${voters.length} voters' instances are gone per the cloud, ` +
        `${left.length} ≥ quorum ${need} still run` +
        (elsewhere.length > 0
          ? ` (${listWords(elsewhere)} unreachable but running: a partition or a stopped etcd, never proof)`
          : ''),
    };
  }
  const selfMember = findSelfMember(c.members, obs.self);
  const survivors: Survivor[] = [];
  for (const m of left) {
    const s = survivorData(m, selfMember?.id, obs.self.instanceId, current, obs.peers ?? []);
    if (typeof s === 'string') return { ok: false, reason: `a survivor's data is unknown: ${s}` };
    survivors.push(s);
  }
  const best = bestSurvivor(survivors);
  if (best === undefined)
    return {
      ok: false,
      reason: `every voter is gone (${listWords(gone.map(describeMember))}); no survivor to force a new cluster from`,
    };
  const evidence =
    `${gone.length} of ${voters.length} voters' instances are gone in two group lists ` +
    `(${listWords(gone.map(describeMember))}), ${left.length} < quorum ${need} left, no leader for ` +
    `${formatDuration(now - (obs.recovery?.noLeaderSince ?? now))}; survivors by raft index: ` +
    survivors
      .sort((a, b) => b.raftIndex - a.raftIndex)
      .map((s) => `${s.instanceId} ${s.raftIndex}${s.raftTerm === undefined ? '' : `/term ${s.raftTerm}`}`)
      .join(', ');
  return { ok: true, voters: voters.length, gone, survivors, best, evidence };
}

/**
 * Row Q, checked before rows D/E/F whenever the cluster answers without a leader. Returns undefined when
 * it has nothing to say (the normal rows then wait for an election).
 * - proof and self is the best survivor: `force-new-cluster` (mode auto, or an operator's order naming
 *   self), else a wait that names the command and what it would lose;
 * - proof and someone else is the best survivor: wait for it (then rows D/E wipe and rejoin us);
 * - no proof, leaderless for longer than the threshold, and self is a running voter: a wait that says
 *   why nothing is forced.
 */
export function planQuorumLoss(
  obs: Observation,
  policy: Policy,
  now: number,
  selfMember: MemberView | undefined,
): Action[] | undefined {
  const c = obs.cluster;
  if (!hasNoLeader(c)) return undefined;
  const proof = quorumLossProof(obs, policy, now);
  const selfId = obs.self.instanceId;
  if (!proof.ok) {
    const runningVoter = selfMember !== undefined && !selfMember.isLearner && obs.local.etcdRunning;
    if (!runningVoter || !leaderlessLongEnough(obs, now, policy)) return undefined;
    return [
      wait(
        `cluster ${c.clusterId} has no leader for ${formatDuration(now - (obs.recovery?.noLeaderSince ?? now))}; not forcing a new cluster: ${proof.reason}`,
      ),
    ];
  }
  const { best } = proof;
  const lost = `writes acknowledged after raft index ${best.raftIndex} by the lost voters alone (if any) are lost; ${listWords(proof.gone.map(describeMember))} ${proof.gone.length === 1 ? 'is' : 'are'} removed from the member list`;
  const order = obs.recovery?.order;
  const ordered = order !== undefined && order.from === selfId;
  const elsewhere = order?.from !== undefined && order.from !== selfId ? order.from : undefined;
  if (elsewhere !== undefined && proof.survivors.some((s) => s.instanceId === elsewhere))
    return [
      wait(
        `quorum lost (${proof.evidence}); the operator ordered recovery from ${elsewhere}: waiting for it to force a new cluster`,
      ),
    ];
  if (best.isSelf || ordered) {
    const me = best.isSelf ? best : proof.survivors.find((s) => s.isSelf);
    if (me === undefined)
      return [wait(`quorum lost (${proof.evidence}); the order names self, but self is not a survivor`)];
    if (policy.recoveryMode === 'manual' && !(ordered || (order !== undefined && order.from === undefined))) {
      return [
        wait(
          `quorum lost (${proof.evidence}); recovery.mode is manual: run \`etcd-spot recover --from ${selfId}\` on ${selfId} ` +
            `to restart its etcd with --force-new-cluster (its data dir is copied aside first); it keeps every write ` +
            `committed up to raft index ${me.raftIndex}; ${lost}`,
        ),
      ];
    }
    const who = best.isSelf
      ? `self ${selfId} holds the most data (raft index ${me.raftIndex})`
      : `the operator ordered recovery from self ${selfId} (raft index ${me.raftIndex}; ${best.instanceId} has ${best.raftIndex})`;
    return [
      {
        kind: 'force-new-cluster',
        memberId: me.member.id,
        raftIndex: me.raftIndex,
        reason: `quorum lost: ${proof.evidence}; ${who}: copying the data dir aside and restarting etcd with --force-new-cluster; ${lost}`,
      },
    ];
  }
  const role =
    selfMember === undefined
      ? 'then self joins it as a learner'
      : selfMember.isLearner
        ? 'then self (a learner) wipes and rejoins it'
        : 'then self (a survivor with less data) wipes and rejoins it as a learner';
  return [
    wait(
      `quorum lost (${proof.evidence}); waiting for ${best.instanceId} (member ${best.member.id}, raft index ${best.raftIndex}) to force a new cluster; ${role}`,
    ),
  ];
}

/**
 * Row C5: the seeder of an all-lost group restores the newest verified snapshot instead of
 * bootstrapping an empty cluster. Applied to row C's plan (the vote that makes exactly one seeder is
 * unchanged); each `bootstrap` becomes:
 * - `restore-snapshot` when the store lists a snapshot of this group (and the operator did not order
 *   `recover --empty`);
 * - a wait when the store could not be read: it may hold this group's data, and an empty cluster would
 *   hide it (unless the operator ordered `--empty`);
 * - itself when no store is configured or the store holds no snapshot of this group.
 */
export function withSnapshotRestore(obs: Observation, actions: Action[]): Action[] {
  return actions.map((a) => {
    // A start on an agreed plan (the whole group at once) is never turned into a restore: the seeder
    // proposed and started it only when no snapshot needed restoring (bootstrap-plan.ts
    // snapshotProblem), and a voter restoring alone would found a second cluster.
    if (a.kind !== 'bootstrap' || a.plan !== undefined) return a;
    const snap = obs.snapshot;
    if (snap === undefined) return a;
    const empty = obs.recovery?.order?.empty === true;
    if (!snap.ok) {
      if (empty)
        return {
          ...a,
          reason: `${a.reason}; the snapshot store is unreadable (${snap.error}), and the operator ordered \`recover --empty\``,
        };
      return wait(
        `${a.reason}; but the snapshot store could not be read (${snap.error}): it may hold this group's data, so not bootstrapping an empty cluster (\`etcd-spot recover --empty\` overrides)`,
      );
    }
    const newest = snap.newest;
    if (newest === undefined)
      return { ...a, reason: `${a.reason}; the snapshot store holds no snapshot of this group` };
    if (empty)
      return {
        ...a,
        reason: `${a.reason}; the operator ordered \`recover --empty\`: bootstrapping an empty cluster although snapshot ${newest.name} (revision ${newest.revision}) exists`,
      };
    return {
      kind: 'restore-snapshot',
      snapshot: newest.name,
      revision: newest.revision,
      token: a.token,
      reason: `${a.reason}; every instance lost its data: restoring the newest verified snapshot ${newest.name} (revision ${newest.revision}, taken at ${new Date(newest.takenAt).toISOString()}) instead of an empty cluster; writes after it are lost`,
    };
  });
}

function wait(reason: string): Action {
  return { kind: 'wait', reason };
}

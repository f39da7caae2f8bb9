/**
 * The membership planner: docs/design.md's decision table (rows A–F, first match wins) as one pure
 * function. `planMembership` returns the actions in order; the executor applies only the first and the
 * agent observes again. The rest of the list is the expected continuation if nothing changes (shown by
 * `etcd-spot plan`); it is re-decided every cycle and never executed blindly.
 *
 * Safety rules (design.md "Safety rules", property-tested in plan.property.test.ts):
 * quorum arithmetic before every removal, one membership change at a time, never remove a reachable
 * member whose instance runs (except self leaving on a notice), nothing destructive on an unknown or
 * implausible group list, wipe only with proof from a cluster with a leader, cluster-wide duties only
 * on the leader's agent, leave only on a notice from the cloud.
 */
import type { Action, RemoveWhy } from './actions.ts';
import type { MemberId } from './ids.ts';
import type { ClusterView, MemberView, NoticeView, Observation } from './observation.ts';
import type { Policy } from './policy.ts';
import {
  effectiveNotices,
  findSelfMember,
  formatDuration,
  initialClusterFor,
  instancesWaitingToJoin,
  isInstanceGone,
  listWords,
  membersWithRunningInstance,
  plausibleGroup,
  selfMayJoin,
  reapCandidates,
  deadAfterMs,
  seederOf,
  stalePeerUrlMember,
  unreachableFor,
  schemeMismatch,
  unstartedFor,
} from './plan-helpers.ts';
import type { PlausibleGroup } from './plan-helpers.ts';
import {
  canAddLearner,
  canPromote,
  canRemoveSafely,
  coldStandbyReason,
  describeMember,
  healthyVoters,
  isCaughtUp,
  isHealthyVoter,
  lagText,
  largestOddAtMost,
  learnersOf,
  quorumSize,
  votersOf,
} from './quorum.ts';

import { canJoinWithVersion, learnerLimit } from './etcd-version.ts';
import { planPeriodicSnapshot, snapshotBeforeRemoval } from './snapshot-policy.ts';
import { planQuorumLoss, withSnapshotRestore } from './recovery.ts';
import { proposePlan, snapshotProblem } from './bootstrap-plan.ts';
import { recordedPlanToStart, wholeGroupAgreed } from './vote.ts';

export { initialClusterFor } from './plan-helpers.ts';

type Reachable = Extract<ClusterView, { reachable: true }>;

interface Ctx {
  obs: Observation;
  policy: Policy;
  now: number;
  /** The plausible group list, or undefined with `groupProblem` saying why not. */
  group: PlausibleGroup | undefined;
  groupProblem: string;
  notices: NoticeView[];
}

interface ClusterCtx extends Ctx {
  cluster: Reachable;
  members: MemberView[];
  selfMember: MemberView | undefined;
  leader: MemberView | undefined;
}

/** What the agent does next (first action) and the expected continuation. Never empty. */
export function planMembership(obs: Observation, policy: Policy, now: number): Action[] {
  const pg = plausibleGroup(obs.group, obs.self.instanceId);
  const ctx: Ctx = {
    obs,
    policy,
    now,
    group: pg.ok ? pg : undefined,
    groupProblem: pg.ok ? '' : pg.reason,
    notices: effectiveNotices(obs.termination.notices, policy),
  };
  const actions = rowA(ctx) ?? rowB(ctx) ?? rowCWithRestore(ctx) ?? rowDEF(ctx);
  const planned = actions.length > 0 ? actions : [wait('nothing to do')];
  return obs.local.recordError === undefined ? planned : withUnreadableRecord(planned, obs.local.recordError);
}

/**
 * Whether an action relies on the durable local record (state.json): its member id, cluster id, the
 * `left` mark or the bootstrap vote. With the record unreadable these are unknown, not absent.
 */
export function needsLocalRecord(a: Action): boolean {
  switch (a.kind) {
    case 'wipe-data':
    case 'bootstrap':
    case 'mark-left':
    case 'clear-left':
    case 'collect-votes':
    case 'force-new-cluster':
    case 'restore-snapshot':
      return true;
    case 'remove-member':
      return a.why !== 'self-leave';
    default:
      return false;
  }
}

/**
 * Safety rule: with state.json unreadable, nothing that relies on it runs (the plan keeps the actions
 * that don't, e.g. starting etcd on its data or a leave on a notice), and every wait says why the agent
 * is not healthy: "converged" must never hide a corrupt state file.
 */
function withUnreadableRecord(actions: Action[], recordError: string): Action[] {
  const note = `the state file is unreadable (${recordError}); fix or delete it`;
  return actions.map((a) => {
    if (needsLocalRecord(a)) return wait(`refusing ${a.kind} (${a.reason}): ${note}`);
    if (a.kind === 'wait') return wait(`${a.reason}; but ${note}`);
    return a;
  });
}

// ---------------------------------------------------------------------------------------------------
// A. Self has left before.

function rowA(ctx: Ctx): Action[] | undefined {
  const { local } = ctx.obs;
  const left = local.record.left;
  if (left === undefined) return undefined;
  const leftText = `left the cluster ${formatDuration(ctx.now - left.at)} ago (${left.reason})`;
  if (ctx.notices.length > 0) {
    const out: Action[] = [];
    if (local.etcdRunning) out.push({ kind: 'stop-etcd', reason: `${leftText}; etcd must not run any more` });
    if (!local.signalledReady) {
      out.push({
        kind: 'signal-ready-to-shutdown',
        reason: `${leftText}; telling the cloud we are ready to shut down (${noticeText(ctx)})`,
      });
    }
    out.push(wait(`${leftText}; ${awaitingEnd(ctx)} (${noticeText(ctx)})`));
    return out;
  }
  // The notice is gone: the instance survived or rebooted. Rejoin as a fresh instance.
  const out: Action[] = [];
  if (local.etcdRunning)
    out.push({
      kind: 'stop-etcd',
      reason: `${leftText} and the termination notice is gone; stopping etcd to rejoin fresh`,
    });
  if (local.hasData) {
    const c = ctx.obs.cluster;
    if (!c.reachable || c.leaderId === undefined) {
      out.push(
        wait(
          `${leftText} and the notice is gone, but no cluster with a leader answers (${c.reachable ? 'no leader' : c.error}); ` +
            'keeping the data dir, it may be the last copy',
        ),
      );
      return out;
    }
    const recorded = local.record.memberId;
    const stillListed = recorded !== undefined && c.members.some((m) => m.id === recorded);
    if (!stillListed) {
      out.push({
        kind: 'wipe-data',
        reason: `${leftText}; the data dir belongs to a removed member (cluster ${c.clusterId} has leader ${c.leaderId})`,
      });
    }
    // Still listed: the removal never committed, the data is a current member's; keep it and rejoin.
  }
  out.push({
    kind: 'clear-left',
    reason: `${leftText} and the termination notice is gone; rejoining as a fresh instance`,
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// B. Termination notice: leave.

function rowB(ctx: Ctx): Action[] | undefined {
  if (ctx.notices.length === 0) return undefined;
  const { local } = ctx.obs;
  const why = noticeText(ctx);
  const c = ctx.obs.cluster;
  if (!c.reachable) {
    if (!local.hasData && !local.etcdRunning) {
      return [
        {
          kind: 'mark-left',
          reason: `${why}; no cluster answers, but there is no data and no etcd here to hand over`,
        },
        { kind: 'signal-ready-to-shutdown', reason: `${why}; nothing left to hand over` },
      ];
    }
    return [
      wait(
        `${why}: cannot reach the cluster to leave (${c.error}); the leader's agent will reap us once the instance is gone`,
      ),
    ];
  }
  const cc = clusterCtx(ctx, c);
  const { members, selfMember } = cc;
  if (selfMember === undefined) {
    const out: Action[] = [];
    if (local.etcdRunning)
      out.push({
        kind: 'stop-etcd',
        reason: `${why}; self is not in the member list of cluster ${c.clusterId} any more`,
      });
    out.push({ kind: 'mark-left', reason: `${why}; self is no longer a member of cluster ${c.clusterId}` });
    out.push({ kind: 'signal-ready-to-shutdown', reason: `${why}; left the cluster` });
    out.push(wait(`${why}; left, ${awaitingEnd(ctx)}`));
    return out;
  }
  const leaveTail: Action[] = [
    { kind: 'mark-left', reason: `${why}; recording that self left` },
    { kind: 'signal-ready-to-shutdown', reason: `${why}; left the cluster` },
  ];

  // B3. A learner leaves at once (it holds no vote).
  if (selfMember.isLearner) {
    const r = removal(cc, selfMember, 'self-leave', why);
    return typeof r === 'string'
      ? [wait(`${why}; self is a learner but cannot be removed yet: ${r}`)]
      : [r, ...leaveTail];
  }

  const before: Action[] = [];
  const voters = votersOf(members).length;
  const spare = pickCaughtUpLearner(cc, selfMember.id);
  // B4a. Time enough and a replacement on its way: stay a voter until it is a caught-up learner.
  if (spare === undefined) {
    const coming = awaitReplacement(cc, selfMember);
    if (coming !== undefined) return [wait(`${why}; ${coming}`)];
  }
  // B4. Promote a caught-up spare first, so the cluster keeps its voter count after we go.
  if (spare !== undefined && voters <= ctx.policy.maxVoters) {
    const v = canPromote(members, spare.id, c.leaderId, ctx.policy.catchUpEntries);
    if (v.ok) {
      before.push({
        kind: 'promote-member',
        memberId: spare.id,
        reason: `promote hot spare ${describeMember(spare)} before leaving (${why}) so the cluster keeps ${voters} voters: ${v.summary}`,
      });
    }
  }
  // B5. Hand leadership over instead of costing an election.
  if (c.leaderId === selfMember.id) {
    const to = bestOtherHealthyVoter(members, selfMember.id);
    if (to !== undefined) {
      before.push({
        kind: 'move-leader',
        from: selfMember.id,
        to: to.id,
        reason: `${why}; self ${describeMember(selfMember)} is the leader: handing leadership to ${describeMember(to)} (raft index ${to.raftIndex ?? 'unknown'}) before leaving`,
      });
    }
  }
  // B6. Remove self when quorum holds without us.
  const selfRemoval = removal(cc, selfMember, 'self-leave', why);
  if (typeof selfRemoval !== 'string') return [...before, selfRemoval, ...leaveTail];
  // B7. Removing self would break quorum: remove a confirmed-dead member first (no TTL: we are leaving,
  // but the cloud must confirm its instance is gone).
  if (ctx.group !== undefined) {
    for (const m of members) {
      if (m.id === selfMember.id || m.reachable || !isInstanceGone(m, ctx.group)) continue;
      const detail = `instance gone from the group and unreachable; removing it before self leaves (${why}) because ${selfRemoval} without self`;
      const r = removal(cc, m, 'dead', detail);
      if (typeof r !== 'string') return [...before, r, selfRemoveProjection(selfMember, why), ...leaveTail];
    }
  }
  if (before.length > 0) {
    // Promote or hand over leadership first; show what follows once the spare votes.
    const promoted = before.find((a) => a.kind === 'promote-member');
    const projected =
      promoted === undefined
        ? cc
        : {
            ...cc,
            members: members.map((m) => (m.id === promoted.memberId ? { ...m, isLearner: false } : m)),
          };
    const next = removal(projected, selfMember, 'self-leave', why);
    return typeof next === 'string'
      ? [...before, wait(`then remove self once quorum allows: ${next} without self`)]
      : [...before, next, ...leaveTail];
  }
  // B8. Nothing safe to do.
  return [
    wait(
      `${why}, but removing self ${describeMember(selfMember)} is not safe: ${selfRemoval} without self, and no member is confirmed dead to remove first${ctx.group === undefined ? ` (${ctx.groupProblem})` : ''}`,
    ),
  ];
}

/**
 * Row B4a, leave after the replacement. A voter with a notice stays (returns the reason) only while
 * every one of these holds, else it leaves at once as before (B4–B8):
 * - `leaveAfterReplacement` is on;
 * - the earliest deadline among the notices is known and more than `leaveMarginMs` away (a notice
 *   without a deadline, or a near one, never waits);
 * - the group list is plausible (no list, no knowledge of a replacement);
 * - a replacement is on its way: a learner or never-started member other than self (joining), an
 *   instance of the list without a member that was launched after the notice came (an instance that
 *   left earlier is still listed until the cloud ends it, so older ones do not count), or — within
 *   `replacementWaitMs` of the notice — none yet (the cloud launches it at the notice; the list may lag).
 * Only ever a `wait`: it delays the leave, and never past the margin, so a leave that would have made
 * the deadline still makes it.
 */
function awaitReplacement(cc: ClusterCtx, selfMember: MemberView): string | undefined {
  const { policy, now, notices } = cc;
  if (!policy.leaveAfterReplacement || cc.group === undefined) return undefined;
  const deadlines = notices.flatMap((n) => (n.deadline === undefined ? [] : [n.deadline]));
  if (deadlines.length === 0) return undefined;
  const left = Math.min(...deadlines) - now;
  if (left <= policy.leaveMarginMs) return undefined;
  const noticeAt = Math.min(...notices.map((n) => n.seenAt));
  const joining = cc.members.find((m) => m.id !== selfMember.id && (m.isLearner || m.name === ''));
  const launched = instancesWaitingToJoin(cc.members, cc.group, cc.obs.self.instanceId).find(
    (i) => i.launchedAt !== undefined && i.launchedAt >= noticeAt - policy.replacementWaitMs,
  );
  let coming: string;
  if (joining !== undefined)
    coming = `replacement ${describeMember(joining)} is joining (${joining.name === '' ? 'not started yet' : 'learner, not caught up yet'})`;
  else if (launched !== undefined) coming = `replacement ${launched.id} is waiting to join`;
  else if (now - noticeAt < policy.replacementWaitMs)
    coming = `no replacement in the group list yet (waiting up to ${formatDuration(policy.replacementWaitMs)} after the notice for one)`;
  else return undefined;
  return `staying a voter until the replacement can take over: ${coming}; ${formatDuration(left)} to the deadline, leaving at the latest with ${formatDuration(policy.leaveMarginMs)} left`;
}

function selfRemoveProjection(selfMember: MemberView, why: string): Action {
  return {
    kind: 'remove-member',
    memberId: selfMember.id,
    why: 'self-leave',
    reason: `remove self ${describeMember(selfMember)}: ${why}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// C. No cluster answers: start on our data, or bootstrap by vote.

/** Row C, with C5: an all-lost group's seeder restores the newest snapshot instead of an empty bootstrap. */
function rowCWithRestore(ctx: Ctx): Action[] | undefined {
  const c = rowC(ctx);
  return c === undefined ? undefined : withSnapshotRestore(ctx.obs, c);
}

function rowC(ctx: Ctx): Action[] | undefined {
  const c = ctx.obs.cluster;
  if (c.reachable) return undefined;
  const { local, self } = ctx.obs;
  const none = `no cluster answers (${c.error})`;
  if (local.hasData) {
    if (local.etcdRunning)
      return [wait(`${none}; etcd runs on the local data, waiting for it to find its peers`)];
    const rec = local.record;
    const whose =
      rec.memberId === undefined
        ? ''
        : ` (member ${rec.memberId}${rec.clusterId === undefined ? '' : ` of cluster ${rec.clusterId}`})`;
    return [
      startEtcd(
        ctx,
        [{ name: self.instanceId, peerUrl: self.peerUrl }],
        `${none}; starting etcd on the local data${whose}; never wiping or bootstrapping over it`,
      ),
    ];
  }
  if (local.etcdRunning)
    return [wait(`${none}; etcd was started without data yet, waiting for it to answer`)];
  const serving = selfMayJoin(ctx.obs);
  if (!serving.ok) return [wait(`${none}; not bootstrapping: ${serving.reason}`)];
  // C4'. The whole group at once: a member of the plan it recorded with its vote starts once another
  // member announced its start (the seeder first), before "a peer has data": the seeder now has some.
  const onPlan = recordedPlanToStart({
    record: local.record,
    peers: ctx.obs.peers,
    self: self.instanceId,
    now: ctx.now,
    voteTtlMs: ctx.policy.voteTtlMs,
  });
  if (onPlan?.start === true)
    return [
      backedOff(ctx, {
        kind: 'bootstrap',
        token: onPlan.plan.token,
        plan: onPlan.plan,
        reason: `${none}; ${onPlan.reason}`,
      }),
    ];
  const planNote = onPlan === undefined ? '' : ` (${onPlan.reason})`;
  const group = ctx.group;
  if (group === undefined)
    return [wait(`${none} and ${ctx.groupProblem}; not bootstrapping on an uncertain list${planNote}`)];
  const withData = (ctx.obs.peers ?? []).find(
    (p) => p.hasData === true || (p.clusterId !== undefined && p.clusterId !== ''),
  );
  if (withData !== undefined) {
    const what =
      withData.clusterId !== undefined && withData.clusterId !== ''
        ? `cluster ${withData.clusterId}`
        : 'local data';
    return [wait(`${none}; peer ${withData.instanceId} has ${what}; waiting for it${planNote}`)];
  }
  const seeder = seederOf(group.instances);
  if (seeder !== self.instanceId)
    return [
      wait(
        `${none}; waiting for seeder ${seeder} (the lowest instance id of ${group.instances.length}) to bootstrap${planNote}`,
      ),
    ];

  const ids = group.instances.map((i) => i.id);
  const desired = group.desiredCapacity;
  // C3'. The majority is counted over the group's desired capacity, the one number every agent reads
  // the same; never over this agent's own list, which may be partial (two partial lists that don't
  // overlap would each hold "a majority" of themselves: two clusters).
  if (desired === undefined || !Number.isInteger(desired) || desired < 1) {
    const why =
      desired === undefined
        ? (group.desiredCapacityError ?? 'it was not read')
        : `the cloud says ${desired}, which cannot be true while we run`;
    return [
      wait(
        `${none}; the group's desired capacity is unknown (${why}); a majority of an unknown size proves nothing, so not bootstrapping`,
      ),
    ];
  }
  const capacity = Math.max(desired, ids.length);
  const need = quorumSize(capacity);
  const bootstrapReason = (granted: number): string =>
    `${none}; self ${self.instanceId} is the seeder and ${granted} of ${capacity} instances granted their vote (≥ ${need} needed)`;
  const token = `${group.groupId ?? ids[0]}-${seeder}-${ctx.now}`;
  // C4'. With the whole group in the list, the votes carry one agreed initial cluster.
  const emptyOrder = ctx.obs.recovery?.order?.empty === true;
  const proposal = proposePlan({
    instances: group.instances,
    desiredCapacity: desired,
    selfPeerUrl: self.peerUrl,
    maxVoters: ctx.policy.maxVoters,
    token,
    snapshot: ctx.obs.snapshot,
    emptyOrder,
  });
  const collect = (reason: string): Action => ({
    kind: 'collect-votes',
    from: ids,
    desiredCapacity: desired,
    ...(proposal.ok ? { plan: proposal.plan } : {}),
    reason: `${reason}${proposal.ok ? `, with one initial cluster of ${proposal.plan.members.length} for the whole group` : `; one by one: ${proposal.reason}`}`,
  });
  const tally = ctx.obs.votes;
  const age = tally === undefined ? undefined : ctx.now - tally.requestedAt;
  const fresh = tally !== undefined && age !== undefined && age >= 0 && age < ctx.policy.voteTtlMs / 2;
  if (tally !== undefined && fresh) {
    const inGroup = new Set(ids);
    const granted = [...new Set(tally.granted)].filter((id) => inGroup.has(id));
    const whole = wholeGroupAgreed({
      tally,
      record: local.record,
      self: self.instanceId,
      now: ctx.now,
      voteTtlMs: ctx.policy.voteTtlMs,
      fullGroupWaitMs: ctx.policy.fullGroupWaitMs,
    });
    const snapBlock = snapshotProblem(ctx.obs.snapshot, emptyOrder);
    if (whole?.kind === 'start' && snapBlock === undefined) {
      return [
        backedOff(ctx, {
          kind: 'bootstrap',
          token: whole.plan.token,
          plan: whole.plan,
          reason: `${none}; self ${self.instanceId} is the seeder and ${whole.reason}: starting its ${whole.plan.members.length} initial members at once`,
        }),
      ];
    }
    if (whole?.kind === 'ask-again' && snapBlock === undefined)
      return [collect(`${none}; asking again for bootstrap votes: ${whole.reason}`)];
    const notAll =
      whole === undefined
        ? ''
        : `; one by one (${snapBlock ?? (whole.kind === 'start' ? '' : whole.reason)})`;
    if (granted.includes(self.instanceId) && granted.length >= need) {
      return [
        backedOff(ctx, { kind: 'bootstrap', token, reason: `${bootstrapReason(granted.length)}${notAll}` }),
      ];
    }
    const answered = new Set([...tally.granted, ...tally.refused.map((r) => r.instanceId)]);
    const silent = ids.filter((id) => !answered.has(id));
    const refused = tally.refused.map((r) => `${r.instanceId} (${r.reason})`);
    const status =
      `${granted.length} of ${capacity} granted, ${need} needed` +
      (granted.includes(self.instanceId) ? '' : '; self has not granted its own vote') +
      (refused.length > 0 ? `; refused: ${refused.join('; ')}` : '') +
      (silent.length > 0 ? `; no answer from ${listWords(silent)}` : '');
    if (silent.length === 0) {
      const retryIn = tally.requestedAt + ctx.policy.voteTtlMs / 2 - ctx.now;
      return [wait(`${none}; bootstrap vote failed: ${status}; asking again in ${formatDuration(retryIn)}`)];
    }
    return [
      collect(`${none}; asking again for bootstrap votes (last round: ${status})`),
      { kind: 'bootstrap', token, reason: bootstrapReason(need) },
    ];
  }
  return [
    collect(
      `${none}; self ${self.instanceId} is the lowest instance id of ${ids.length}: asking for bootstrap votes (${need} of ${capacity} needed)`,
    ),
    { kind: 'bootstrap', token, reason: bootstrapReason(need) },
  ];
}

// ---------------------------------------------------------------------------------------------------
// D. The cluster answers and self is not running as a member; E/F. Self is a running member.

function rowDEF(ctx: Ctx): Action[] {
  const c = ctx.obs.cluster;
  if (!c.reachable) return [wait('no cluster answers')]; // rowC handles this; kept for the type narrowing
  const cc = clusterCtx(ctx, c);
  const { selfMember } = cc;
  const self = ctx.obs.self;
  // Q. Quorum-loss recovery (src/core/recovery.ts), before the rows that wait for an election.
  const recovery = planQuorumLoss(ctx.obs, ctx.policy, ctx.now, selfMember);
  if (recovery !== undefined) return recovery;
  if (ctx.obs.local.etcdRunning && selfMember !== undefined && selfMember.name === self.instanceId) {
    return cc.leader !== undefined && c.leaderId === selfMember.id && selfMember.reachable
      ? rowE(cc, selfMember)
      : rowF(cc, selfMember);
  }
  return rowD(cc);
}

function rowD(cc: ClusterCtx): Action[] {
  const { obs, now } = cc;
  const { local, self } = obs;
  const { cluster: c, members, selfMember } = cc;
  const leaderText = c.leaderId === undefined ? 'no leader' : `leader ${c.leaderId}`;
  const addSelf = (): Action => ({
    kind: 'add-self-as-learner',
    reason: `join cluster ${c.clusterId} as a learner through a healthy voter`,
  });

  // D0. Mixed TLS and plain: never join, start, stop or wipe across schemes.
  const mixed = schemeMismatch(members, self);
  if (mixed !== undefined) return [wait(`cluster ${c.clusterId}: ${mixed}`)];

  if (selfMember !== undefined && selfMember.name !== '' && selfMember.name !== self.instanceId) {
    // D1. Our peer URL belongs to a member of a terminated instance whose IP we inherited.
    if (cc.group === undefined)
      return [
        wait(
          `member ${describeMember(selfMember)} holds our peer URL, but ${cc.groupProblem}; not removing it`,
        ),
      ];
    const stale = stalePeerUrlMember(selfMember, cc.group, now, 0);
    if (stale === undefined) {
      return [
        wait(
          `member ${describeMember(selfMember)} holds our peer URL ${self.peerUrl}, but it ${selfMember.reachable ? 'answers' : `is named after an instance still in the group`}; not removing it`,
        ),
      ];
    }
    const r = removal(cc, selfMember, 'stale-peer-url', `${stale.detail} (self)`);
    if (typeof r === 'string')
      return [
        wait(`member ${describeMember(selfMember)} holds our peer URL but cannot be removed yet: ${r}`),
      ];
    return [r, addSelf()];
  }

  if (selfMember !== undefined) {
    if (local.etcdRunning) {
      return [
        wait(
          `etcd runs; waiting for member ${describeMember(selfMember)} to publish its name (${leaderText})`,
        ),
      ];
    }
    // D2. Our member exists and etcd is not running.
    const rec = local.record;
    if (local.hasData) {
      let proof: string | undefined;
      if (rec.clusterId !== undefined && rec.clusterId !== c.clusterId) {
        proof = `the local data belongs to cluster ${rec.clusterId}, not ${c.clusterId}`;
      } else if (rec.memberId !== undefined && rec.memberId !== selfMember.id) {
        proof = `the local data belongs to member ${rec.memberId}, but our peer URL is member ${selfMember.id}`;
      } else if (rec.memberId === undefined && local.lastExit?.removed === true) {
        proof = `etcd last exited saying it was permanently removed, and member ${selfMember.id} is a new member at our peer URL`;
      }
      if (proof !== undefined) return wipeThenRejoin(cc, proof);
      return [
        startEtcd(
          cc,
          initialClusterFor(members, self),
          `start etcd on the local data of member ${describeMember(selfMember)} in cluster ${c.clusterId} (${leaderText})`,
        ),
      ];
    }
    if (selfMember.name === '') {
      return [
        startEtcd(
          cc,
          initialClusterFor(members, self),
          `member ${selfMember.id} was added for us but never started; starting etcd to join cluster ${c.clusterId}`,
        ),
      ];
    }
    if (cc.group === undefined)
      return [
        wait(
          `our member ${describeMember(selfMember)} started before but the local data is gone; ${cc.groupProblem}, so not removing it`,
        ),
      ];
    if (selfMember.reachable)
      return [
        wait(
          `our member ${describeMember(selfMember)} answers although our etcd is not running and there is no data; waiting`,
        ),
      ];
    const r = removal(
      cc,
      selfMember,
      'own-data-lost',
      'our member started before but the local data dir is gone; removing it to rejoin with fresh data',
    );
    if (typeof r === 'string')
      return [wait(`our member ${describeMember(selfMember)} lost its data but cannot be removed yet: ${r}`)];
    return [r, addSelf()];
  }

  // D3. Self is not in the member list.
  if (local.etcdRunning || local.hasData) {
    if (c.leaderId === undefined) {
      return [
        wait(
          `self is not in the member list of cluster ${c.clusterId}, but it has no leader, so the list may not be committed; keeping local etcd and data`,
        ),
      ];
    }
    const proof = `self is not in the committed member list of cluster ${c.clusterId} (leader ${c.leaderId})`;
    if (local.etcdRunning) {
      return [
        { kind: 'stop-etcd', reason: `${proof}; stopping the local etcd` },
        ...(local.hasData ? wipeThenRejoin(cc, proof) : [addSelf()]),
      ];
    }
    return wipeThenRejoin(cc, proof);
  }
  if (c.leaderId === undefined) return [wait(`cluster ${c.clusterId} has no leader; waiting to join`)];
  const serving = selfMayJoin(obs);
  if (!serving.ok) return [wait(`not joining cluster ${c.clusterId}: ${serving.reason}`)];
  // D3'. etcd's own rules before an add it would refuse, or a member it would refuse to run.
  const version = canJoinWithVersion(local.etcdVersion, members);
  if (!version.ok) return [wait(`not joining cluster ${c.clusterId}: ${version.reason}`)];
  const limit = learnerLimit(members, cc.policy.maxLearners, local.etcdVersion);
  const standby = coldStandbyReason(members, cc.policy.maxVoters, limit.limit);
  if (standby !== undefined) return [wait(`${standby} (cluster ${c.clusterId}, learner ${limit.why})`)];
  const v = canAddLearner(members, limit.limit);
  if (!v.ok) return [wait(`waiting to join cluster ${c.clusterId}: ${v.reason}`)];
  return [
    {
      kind: 'add-self-as-learner',
      reason: `join cluster ${c.clusterId} (${leaderText}) as a learner: ${v.summary}; ${version.summary}`,
    },
  ];
}

/** wipe-data, which needs proof from a cluster with a leader and a plausible group list (safety rule 4). */
function wipeThenRejoin(cc: ClusterCtx, proof: string): Action[] {
  if (cc.cluster.leaderId === undefined)
    return [wait(`${proof}, but the cluster has no leader to confirm it; keeping the data`)];
  if (cc.group === undefined) return [wait(`${proof}, but ${cc.groupProblem}; keeping the data`)];
  return [
    {
      kind: 'wipe-data',
      reason: `${proof} (leader ${cc.cluster.leaderId}); wiping the stale data dir to rejoin`,
    },
  ];
}

function rowE(cc: ClusterCtx, selfMember: MemberView): Action[] {
  const { policy, now, members } = cc;
  const notes: string[] = [];
  // E1/E2. Reap, only on a plausible group list.
  if (cc.group === undefined) {
    notes.push(`not reaping: ${cc.groupProblem}`);
  } else {
    for (const cand of reapCandidates(members, selfMember.id, cc.group, now, policy)) {
      const r = removal(cc, cand.member, cand.why, cand.detail);
      if (typeof r !== 'string') {
        const snap = snapshotBeforeRemoval(
          cc.obs.snapshotSchedule,
          !cand.member.isLearner,
          describeMember(cand.member),
          now,
        );
        return snap === undefined ? [r] : [snap, r];
      }
      notes.push(`cannot remove ${describeMember(cand.member)} yet: ${r}`);
    }
    notes.push(...pendingReaps(cc, selfMember.id, cc.group));
  }
  // E3. Promote.
  const promote = planPromotion(cc);
  if (promote.action !== undefined) return [promote.action];
  if (promote.note !== undefined) notes.push(promote.note);
  const snap = planPeriodicSnapshot(cc.obs.snapshotSchedule, selfMember.revision, now);
  if (snap !== undefined) return [snap];
  return [wait(`${summary(cc)}${notes.length > 0 ? `; ${notes.join('; ')}` : '; converged'}`)];
}

function planPromotion(cc: ClusterCtx): { action?: Action; note?: string } {
  const { policy, members, cluster: c } = cc;
  const spare = pickCaughtUpLearner(cc, undefined);
  const voters = votersOf(members).length;
  if (spare === undefined) {
    const learner = learnersOf(members)[0];
    return learner === undefined || cc.leader === undefined
      ? {}
      : { note: `learner ${describeMember(learner)} is not caught up (${lagText(learner, cc.leader)})` };
  }
  const running = membersWithRunningInstance(members, cc.group).length;
  const target = largestOddAtMost(Math.min(policy.maxVoters, running));
  const healthy = healthyVoters(members).length;
  const waiting =
    cc.group === undefined ? [] : instancesWaitingToJoin(members, cc.group, cc.obs.self.instanceId);
  if (voters >= policy.maxVoters) {
    const standby = coldStandbyReason(
      members,
      policy.maxVoters,
      learnerLimit(members, policy.maxLearners).limit,
    );
    const cold =
      standby === undefined || waiting.length === 0
        ? ''
        : `; ${listWords(waiting.map((i) => i.id))}: ${standby}`;
    return {
      note: `learner ${describeMember(spare)} stays a hot spare: ${voters} voters reached maxVoters ${policy.maxVoters}${cold}`,
    };
  }
  const limit = learnerLimit(members, policy.maxLearners);
  const slotsFull = learnersOf(members).length >= limit.limit;
  let why: string | undefined;
  if (voters % 2 === 0) why = `${voters} voters is even`;
  else if (healthy < target) why = `${healthy} healthy voters < target ${target}`;
  else if (waiting.length > 0 && slotsFull)
    why = `${listWords(waiting.map((i) => i.id))} ${waiting.length === 1 ? 'is' : 'are'} waiting to join and no learner slot is free (${limit.why})`;
  if (why === undefined)
    return {
      note: `learner ${describeMember(spare)} stays a hot spare: ${voters} voters = target ${target}`,
    };
  const v = canPromote(members, spare.id, c.leaderId, policy.catchUpEntries);
  if (!v.ok) return { note: `cannot promote ${describeMember(spare)}: ${v.reason}` };
  return {
    action: {
      kind: 'promote-member',
      memberId: spare.id,
      reason: `promote learner ${describeMember(spare)}: ${why}, ${voters} < maxVoters ${policy.maxVoters}; ${v.summary}`,
    },
  };
}

function rowF(cc: ClusterCtx, selfMember: MemberView): Action[] {
  const { cluster: c, leader } = cc;
  if (c.leaderId === undefined)
    return [wait(`${summary(cc)}; the cluster has no leader; waiting for an election`)];
  if (selfMember.isLearner) {
    const lag = leader === undefined ? 'leader unknown' : lagText(selfMember, leader);
    return [wait(`${summary(cc)}; self is a learner (${lag}); the leader's agent promotes it when needed`)];
  }
  return [wait(`${summary(cc)}; converged (cluster-wide duties belong to the leader's agent)`)];
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces.

function clusterCtx(ctx: Ctx, c: Reachable): ClusterCtx {
  const members = c.members;
  return {
    ...ctx,
    cluster: c,
    members,
    selfMember: findSelfMember(members, ctx.obs.self),
    leader: c.leaderId === undefined ? undefined : members.find((m) => m.id === c.leaderId),
  };
}

/**
 * A `remove-member` action, or why not: the cluster must have a leader in the list and the quorum
 * arithmetic must hold (safety rule 1).
 */
function removal(cc: ClusterCtx, m: MemberView, why: RemoveWhy, detail: string): Action | string {
  if (cc.cluster.leaderId === undefined || cc.leader === undefined) return 'the cluster has no leader';
  const v = canRemoveSafely(cc.members, m.id);
  if (!v.ok) return v.reason;
  const who =
    why === 'self-leave' || why === 'own-data-lost'
      ? `self ${describeMember(m)}`
      : `member ${describeMember(m)}`;
  return { kind: 'remove-member', memberId: m.id, why, reason: `remove ${who}: ${detail}; ${v.summary}` };
}

function pickCaughtUpLearner(cc: ClusterCtx, exclude: MemberId | undefined): MemberView | undefined {
  const leader = cc.leader;
  if (leader === undefined) return undefined;
  return learnersOf(cc.members)
    .filter((m) => m.id !== exclude && isCaughtUp(m, leader, cc.policy.catchUpEntries))
    .sort((a, b) => (b.raftIndex ?? 0) - (a.raftIndex ?? 0) || (a.id < b.id ? -1 : 1))[0];
}

function bestOtherHealthyVoter(members: readonly MemberView[], selfId: MemberId): MemberView | undefined {
  return members
    .filter((m) => m.id !== selfId && isHealthyVoter(m))
    .sort((a, b) => (b.raftIndex ?? -1) - (a.raftIndex ?? -1) || (a.id < b.id ? -1 : 1))[0];
}

/** Members that look dead but are not reapable yet, for the wait reason. */
function pendingReaps(cc: ClusterCtx, selfId: MemberId, group: PlausibleGroup): string[] {
  const out: string[] = [];
  for (const m of cc.members) {
    if (m.id === selfId) continue;
    const down = unreachableFor(m, cc.now);
    const unstarted = unstartedFor(m, cc.now);
    if (unstarted !== undefined && unstarted <= cc.policy.unstartedMemberTtlMs) {
      out.push(
        `${describeMember(m)} unstarted for ${formatDuration(unstarted)} ≤ ${formatDuration(cc.policy.unstartedMemberTtlMs)}`,
      );
    } else if (!m.reachable && m.name !== '') {
      const gone = isInstanceGone(m, group);
      const since = down === undefined ? 'unreachable' : `unreachable for ${formatDuration(down)}`;
      if (!gone && stalePeerUrlMember(m, group, cc.now, 0) === undefined)
        out.push(`${describeMember(m)} ${since} but its instance is still in the group`);
      else if (gone && (down === undefined || down <= deadAfterMs(m, cc.policy))) {
        const proof = m.instanceTerminated === true ? ' (the cloud says its instance is terminated)' : '';
        out.push(`${describeMember(m)} ${since} ≤ ${formatDuration(deadAfterMs(m, cc.policy))}${proof}`);
      } else if (!gone && (down === undefined || down <= cc.policy.memberDeadAfterMs))
        out.push(`${describeMember(m)} ${since} ≤ ${formatDuration(cc.policy.memberDeadAfterMs)}`);
    }
  }
  return out;
}

function summary(cc: ClusterCtx): string {
  const voters = votersOf(cc.members).length;
  const learners = learnersOf(cc.members).length;
  const healthy = healthyVoters(cc.members).length;
  const leader = cc.leader === undefined ? 'no leader' : `leader ${describeMember(cc.leader)}`;
  return `cluster ${cc.cluster.clusterId}: ${voters} voters (${healthy} healthy, quorum ${quorumSize(voters)}), ${learners} learner${learners === 1 ? '' : 's'}, ${leader}`;
}

function startEtcd(ctx: Ctx, initialCluster: { name: string; peerUrl: string }[], reason: string): Action {
  return backedOff(ctx, { kind: 'start-etcd', state: 'existing', initialCluster, reason });
}

/** An action that starts etcd, or a wait while the start back-off (failed starts in a row) runs. */
function backedOff(ctx: Ctx, start: Extract<Action, { kind: 'start-etcd' | 'bootstrap' }>): Action {
  const { nextStartAt, startFailures } = ctx.obs.local;
  if (nextStartAt !== undefined && ctx.now < nextStartAt) {
    return wait(
      `${start.reason}; but ${startFailures} start${startFailures === 1 ? '' : 's'} failed in a row: next try in ${formatDuration(nextStartAt - ctx.now)}`,
    );
  }
  return start;
}

/**
 * What a left instance waits for: the cloud's termination, or, when the only notice is the operator's
 * `etcd-spot drain` order, the operator (it stays out until the order is withdrawn).
 */
function awaitingEnd(ctx: Ctx): string {
  return ctx.notices.every((n) => n.source === 'operator-drain')
    ? 'staying out while the drain order stands (etcd-spot drain --cancel rejoins)'
    : 'waiting for the cloud to terminate this instance';
}

function noticeText(ctx: Ctx): string {
  const n = ctx.notices[0];
  if (n === undefined) return 'no termination notice';
  const deadline = n.deadline === undefined ? '' : `, deadline in ${formatDuration(n.deadline - ctx.now)}`;
  const more = ctx.notices.length > 1 ? ` and ${ctx.notices.length - 1} more` : '';
  return `termination notice from ${n.source}${n.advisory === true ? ' (advisory, leaveOnRebalance)' : ''}: ${n.detail}${deadline}${more}`;
}

function wait(reason: string): Action {
  return { kind: 'wait', reason };
}

/** One line per action, numbered, for `etcd-spot plan`. */
export function describePlan(actions: readonly Action[]): string {
  return actions.map((a, i) => `${i + 1}. ${headline(a)}: ${a.reason}`).join('\n');
}

function headline(a: Action): string {
  switch (a.kind) {
    case 'remove-member':
      return `remove-member ${a.memberId} (${a.why})`;
    case 'promote-member':
      return `promote-member ${a.memberId}`;
    case 'move-leader':
      return `move-leader ${a.from} → ${a.to}`;
    case 'collect-votes':
      return `collect-votes from ${a.from.join(', ')}`;
    case 'bootstrap':
      return a.plan === undefined
        ? `bootstrap ${a.token}`
        : `bootstrap ${a.token} [${a.plan.members.map((m) => `${m.instanceId}=${m.peerUrl}`).join(',')}]`;
    case 'start-etcd':
      return `start-etcd ${a.state}${a.initialCluster.length > 0 ? ` [${a.initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(',')}]` : ''}`;
    default:
      return a.kind;
  }
}

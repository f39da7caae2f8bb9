/**
 * Bootstrap votes (docs/design.md, row C4). While no cluster answers, the seeder candidate asks every
 * instance of the group for a vote; each agent answers with {@link decideVote} and stores a granted vote
 * durably (LocalRecord.vote) before replying.
 *
 * Why at most one cluster forms: a voter holds at most one unexpired vote at a time (a vote for another
 * candidate is refused until the recorded one is `voteTtlMs` old, and a re-grant to the same candidate
 * never moves the record back in time), so the windows in which a voter's votes count are disjoint
 * across candidates. A seeder bootstraps on a strict majority of the group's desired capacity D, which
 * every voter checks against its own reading of D (a voter that cannot read D, or reads another value,
 * refuses). Two candidates would need two disjoint sets of voters of at least ⌊D/2⌋+1 each, i.e. more
 * than D instances voting at once: impossible while the group runs at most D instances at boot,
 * whatever partial list each agent sees. The majority is never counted over an agent's own list, which
 * differs between agents (that is how two clusters formed before: {A,C} and {B,D} in a group of 4).
 *
 * The whole group at once (./bootstrap-plan.ts): when the seeder's list holds exactly D instances, its
 * request carries a plan (one `--initial-cluster` of the lowest `largestOddAtMost(min(D, maxVoters))`
 * instances, and a token unique to the round). A voter grants exactly as above, and records the plan
 * with the vote only when its own list is the plan's set and its entry is its own peer URL. Why this
 * still forms at most one cluster:
 * - the seeder starts the plan only on a fresh tally in which all D instances granted AND recorded that
 *   very plan ({@link wholeGroupAgreed}): more than the majority the one-by-one path needs, under the
 *   same votes, so no other candidate can hold a majority while those votes bind;
 * - every other member starts only on the plan it recorded itself, with its vote for that seeder still
 *   unexpired, once a member of the plan announces (signed GET /v1/bootstrap) that it started on the
 *   same token, or the seeder pushes that word (POST /v1/bootstrap/started, {@link decideStartNotice})
 *   ({@link recordedPlanToStart}); an announcement exists only after the seeder's decision (the seeder
 *   is the only one that starts without one), and every new grant replaces the record, so a voter that
 *   voted again since cannot start an older plan; a member that recorded its start resumes it whatever
 *   the vote's age (it committed while the vote bound);
 * - all who start use the same `--initial-cluster` and token, so etcd computes the same member ids and
 *   cluster id on each of them (ids are a hash of the peer URLs and the token): they form one cluster,
 *   whoever starts first or last; a member that started is a data holder and refuses every later vote;
 * - a member that never starts is an unstarted member of a cluster that has a quorum once a majority of
 *   the plan started; it starts later through row D2 (an unstarted member at its peer URL) or is reaped
 *   as unstarted. If fewer than a majority ever start, the started ones keep their data and wait (row
 *   C1: never wiped); the rest see a peer with data and wait too: no second cluster, at the cost of
 *   liveness (design.md, known limits).
 */
import { planAcceptance, samePlan } from './bootstrap-plan.ts';
import type { InstanceId } from './ids.ts';
import type { BootstrapPlan, LocalRecord, PeerBootstrapView, VoteTally } from './observation.ts';

export interface VoteRequest {
  /** The instance asking to be the seeder. */
  candidate: InstanceId;
  /** The group's desired capacity the candidate counts its majority over (from its request). */
  desiredCapacity: number | undefined;
  /** The voter's own view of the group's instance ids; undefined when its group list is unknown. */
  localView: readonly InstanceId[] | undefined;
  /** The voter's own reading of the group's desired capacity; undefined when it could not be read. */
  localDesiredCapacity: number | undefined;
  local: {
    hasData: boolean;
    clusterId?: string | undefined;
    vote?: LocalRecord['vote'];
    planStarted?: LocalRecord['planStarted'];
  };
  now: number;
  voteTtlMs: number;
  /** The seeder's plan (the whole group at once), when the request carries one. */
  plan?: BootstrapPlan;
  /** The voter itself (its own peer URL is checked against its entry in the plan); undefined: unknown yet. */
  voter?: { instanceId: InstanceId; peerUrl: string };
  /** The voter's agent.maxVoters (the plan's voter count is checked against it). */
  maxVoters?: number;
}

export interface VoteDecision {
  granted: boolean;
  reason: string;
  /** The vote to store durably when granted (before answering), with the plan when accepted. */
  record?: LocalRecord['vote'];
  /** Granted, and the request's plan recorded with the vote. */
  planAccepted?: boolean;
}

/** Whether a recorded vote still binds at `now` (granted less than `voteTtlMs` ago, or in the future). */
export function isVoteUnexpired(vote: LocalRecord['vote'], now: number, voteTtlMs: number): boolean {
  return vote !== undefined && now - vote.at < voteTtlMs;
}

/**
 * A voter's answer to a bootstrap vote request. Grants only when:
 * - the voter has no local data (a cluster may already exist here);
 * - the voter belongs to no cluster (no cluster id recorded or served);
 * - the voter knows its group list (an unknown list cannot vouch for anyone);
 * - the candidate is in the voter's group list (a stranger is nobody's seeder);
 * - the voter knows the group's desired capacity and it equals the one the candidate counts over;
 * - the candidate is the lowest id of the voter's view (string order);
 * - the voter holds no unexpired vote for another candidate;
 * - the voter has not started etcd on an agreed plan (it is a member of that cluster, data or not).
 *
 * A re-grant to the same candidate refreshes the vote, never to an earlier time. With a plan, a grant
 * also records it when the voter accepts it ({@link planAcceptance}); every grant replaces the plan of
 * the previous one (none when not accepted).
 */
export function decideVote(req: VoteRequest): VoteDecision {
  const { candidate, localView, local, now, voteTtlMs, desiredCapacity, localDesiredCapacity } = req;
  if (local.hasData) return { granted: false, reason: 'I have local etcd data; a cluster may already exist' };
  if (local.planStarted !== undefined)
    return {
      granted: false,
      reason: `I started etcd on an agreed initial cluster (token ${local.planStarted.token}); I am a member of it`,
    };
  if (local.clusterId !== undefined && local.clusterId !== '') {
    return { granted: false, reason: `I already belong to cluster ${local.clusterId}` };
  }
  if (localView === undefined) return { granted: false, reason: 'my group list is unknown' };
  if (!localView.includes(candidate)) {
    return { granted: false, reason: `${candidate} is not in my group list (${localView.length} instances)` };
  }
  if (localDesiredCapacity === undefined) {
    return {
      granted: false,
      reason: "I cannot read the group's desired capacity, so I cannot tell what a majority is",
    };
  }
  if (desiredCapacity === undefined || desiredCapacity !== localDesiredCapacity) {
    return {
      granted: false,
      reason:
        desiredCapacity === undefined
          ? `the request does not say which desired capacity its majority counts (mine: ${localDesiredCapacity})`
          : `the candidate counts a majority of ${desiredCapacity} instances, but the group's desired capacity is ${localDesiredCapacity} here`,
    };
  }
  const lower = localView.filter((id) => id < candidate).sort();
  if (lower.length > 0) {
    return {
      granted: false,
      reason: `${lower[0]} is lower than ${candidate} in my group list; it is the seeder`,
    };
  }
  const prior = local.vote;
  if (prior !== undefined && prior.candidate !== candidate && isVoteUnexpired(prior, now, voteTtlMs)) {
    const left = Math.max(0, prior.at + voteTtlMs - now);
    return {
      granted: false,
      reason: `I voted for ${prior.candidate} ${formatSeconds(Math.max(0, now - prior.at))} ago; that vote binds for ${formatSeconds(left)} more`,
    };
  }
  const at = prior !== undefined && prior.candidate === candidate ? Math.max(now, prior.at) : now;
  const granted =
    prior?.candidate === candidate ? `renewed my vote for ${candidate}` : `granted my vote to ${candidate}`;
  const plan = req.plan;
  if (plan === undefined) return { granted: true, reason: granted, record: { candidate, at } };
  const acceptance =
    req.maxVoters === undefined
      ? { accepted: false as const, reason: 'my maxVoters is unknown' }
      : planAcceptance({
          plan,
          candidate,
          voter: req.voter,
          localView,
          desiredCapacity: localDesiredCapacity,
          maxVoters: req.maxVoters,
        });
  if (!acceptance.accepted)
    return {
      granted: true,
      reason: `${granted}, one by one: not its plan of ${plan.instances.length} at once (${acceptance.reason})`,
      record: { candidate, at },
      planAccepted: false,
    };
  return {
    granted: true,
    reason: `${granted} and recorded its plan: ${plan.members.length} initial members of ${plan.instances.length} instances at once (token ${plan.token})`,
    record: { candidate, at, plan },
    planAccepted: true,
  };
}

/** The seeder's choice once a fresh tally carried a plan ({@link wholeGroupAgreed}). */
export type WholeGroupDecision =
  | { kind: 'start'; plan: BootstrapPlan; reason: string }
  | { kind: 'ask-again'; reason: string }
  | { kind: 'one-by-one'; reason: string };

/**
 * The seeder's fast path: start the plan's members at once (`start`) only when
 * - the fresh tally carried a plan and every one of its D instances granted AND recorded it;
 * - self's own record holds that very plan with its unexpired vote for itself (nobody starts on a plan
 *   it did not record).
 * Else, while the plan's instances that did not accept only failed to answer (their agents are not up
 * yet, none refused) and the series of rounds is younger than `fullGroupWaitMs`: `ask-again`. Otherwise
 * `one-by-one` (today's path: a majority bootstraps self alone, the rest join as learners). Undefined
 * when the tally carried no plan.
 */
export function wholeGroupAgreed(args: {
  tally: VoteTally;
  record: LocalRecord;
  self: InstanceId;
  now: number;
  voteTtlMs: number;
  fullGroupWaitMs: number;
}): WholeGroupDecision | undefined {
  const { tally, record, self, now } = args;
  const plan = tally.plan;
  if (plan === undefined) return undefined;
  const accepted = new Set((tally.planAccepted ?? []).filter((id) => tally.granted.includes(id)));
  const pending = plan.instances.filter((id) => !accepted.has(id));
  if (pending.length === 0) {
    const own = record.vote;
    if (own?.candidate !== self || !samePlan(own.plan, plan))
      return { kind: 'one-by-one', reason: 'my own record does not hold the plan every instance accepted' };
    if (!isVoteUnexpired(own, now, args.voteTtlMs))
      return { kind: 'one-by-one', reason: 'my own vote for the plan expired' };
    return {
      kind: 'start',
      plan,
      reason: `all ${plan.instances.length} instances of the desired capacity granted their vote and recorded the plan`,
    };
  }
  const noAnswer = new Set(tally.noAnswer ?? []);
  const refusedPlan = pending.filter((id) => !noAnswer.has(id));
  const why = (ids: InstanceId[]): string =>
    ids
      .map((id) => {
        const r = tally.refused.find((x) => x.instanceId === id);
        return r === undefined ? `${id} (granted, plan not recorded)` : `${id} (${r.reason})`;
      })
      .join('; ');
  if (refusedPlan.length > 0)
    return { kind: 'one-by-one', reason: `not the whole group at once: ${why(refusedPlan)}` };
  const waited = now - (tally.since ?? tally.requestedAt);
  if (waited >= 0 && waited < args.fullGroupWaitMs)
    return {
      kind: 'ask-again',
      reason: `${pending.length} of the whole group did not answer yet (${why(pending)}); asking again for up to ${Math.round((args.fullGroupWaitMs - waited) / 100) / 10}s more before bootstrapping alone`,
    };
  return {
    kind: 'one-by-one',
    reason: `not the whole group at once: no answer from ${pending.join(', ')} within ${Math.round(args.fullGroupWaitMs / 100) / 10}s`,
  };
}

/**
 * Whether this agent starts etcd `new` on the plan it recorded with its vote: `start` (with the reason),
 * `wait` (with why not), or undefined when its record holds no plan naming self as a member.
 * - the record holds a vote whose plan names self as a member (nobody starts on a plan it did not record);
 * - self already started on this very plan (`planStarted`, same token: etcd exited before it could
 *   serve) → resume; otherwise
 * - the vote is unexpired: the window in which no other candidate can hold a majority;
 * - another member of the plan announces (its signed GET /v1/bootstrap, `planStarted`) that it started
 *   on the same token; a different token is another round's plan and proves nothing.
 */
export function recordedPlanToStart(args: {
  record: LocalRecord;
  peers: readonly PeerBootstrapView[] | undefined;
  self: InstanceId;
  now: number;
  voteTtlMs: number;
}): { start: boolean; plan: BootstrapPlan; reason: string } | undefined {
  const { record, self, now } = args;
  const vote = record.vote;
  const plan = vote?.plan;
  if (vote === undefined || plan === undefined || !plan.members.some((m) => m.instanceId === self))
    return undefined;
  const what = `the agreed initial cluster of ${plan.members.length} (token ${plan.token}) that ${vote.candidate} proposed and I recorded`;
  if (record.planStarted?.token === plan.token)
    return { start: true, plan, reason: `resuming my start on ${what}` };
  if (!isVoteUnexpired(vote, now, args.voteTtlMs))
    return {
      start: false,
      plan,
      reason: `my vote for ${vote.candidate} expired ${formatSeconds(now - vote.at - args.voteTtlMs)} ago, so I no longer start on ${what}`,
    };
  const members = new Set(plan.members.map((m) => m.instanceId));
  const starter = (args.peers ?? []).find(
    (p) => p.reachable && p.instanceId !== self && members.has(p.instanceId) && p.planStarted === plan.token,
  );
  if (starter === undefined) return { start: false, plan, reason: `no member of ${what} has started it yet` };
  return {
    start: true,
    plan,
    reason: `${starter.instanceId} started ${what}; my vote is ${formatSeconds(Math.max(0, now - vote.at))} old: starting etcd new as one of its members`,
  };
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/**
 * A voter's answer to the seeder's start notice (POST /v1/bootstrap/started, pushed by the seeder once
 * it decided to start the plan, so the members start at once instead of on their next look at its
 * GET /v1/bootstrap). Accepted (and `planStarted` recorded with the answer: the member is committed to
 * that plan and starts it on its next cycle, refusing every later vote) only when:
 * - the voter has no local data and has not started another plan;
 * - its record holds its vote for that candidate, with a plan of that token naming the voter as a member;
 * - the vote is unexpired (as for a start on an announcement: {@link recordedPlanToStart}).
 * The notice is the same word as the seeder's announcement, pushed: it proves no more and no less.
 */
export function decideStartNotice(args: {
  candidate: InstanceId;
  token: string;
  self: InstanceId;
  record: LocalRecord;
  hasData: boolean;
  now: number;
  voteTtlMs: number;
}): { accepted: boolean; reason: string; planStarted?: { token: string; at: number } } {
  const { record, now, token, candidate } = args;
  if (record.planStarted !== undefined)
    return record.planStarted.token === token
      ? { accepted: true, reason: `already started on ${token}` }
      : { accepted: false, reason: `I started on another plan (${record.planStarted.token})` };
  if (args.hasData) return { accepted: false, reason: 'I have local etcd data' };
  const vote = record.vote;
  if (vote === undefined || vote.candidate !== candidate)
    return { accepted: false, reason: `I hold no vote for ${candidate}` };
  if (vote.plan === undefined || vote.plan.token !== token)
    return { accepted: false, reason: `I did not record ${candidate}'s plan with token ${token}` };
  if (!vote.plan.members.some((m) => m.instanceId === args.self))
    return { accepted: false, reason: "I am not one of the plan's initial members (I join afterwards)" };
  if (!isVoteUnexpired(vote, now, args.voteTtlMs))
    return { accepted: false, reason: `my vote for ${candidate} expired` };
  return {
    accepted: true,
    reason: `${candidate} started the plan I recorded (token ${token}): starting as one of its members`,
    planStarted: { token, at: now },
  };
}

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
 */
import type { InstanceId } from './ids.ts';
import type { LocalRecord } from './observation.ts';

export interface VoteRequest {
  /** The instance asking to be the seeder. */
  candidate: InstanceId;
  /** The group's desired capacity the candidate counts its majority over (from its request). */
  desiredCapacity: number | undefined;
  /** The voter's own view of the group's instance ids; undefined when its group list is unknown. */
  localView: readonly InstanceId[] | undefined;
  /** The voter's own reading of the group's desired capacity; undefined when it could not be read. */
  localDesiredCapacity: number | undefined;
  local: { hasData: boolean; clusterId?: string | undefined; vote?: LocalRecord['vote'] };
  now: number;
  voteTtlMs: number;
}

export interface VoteDecision {
  granted: boolean;
  reason: string;
  /** The vote to store durably when granted (before answering). */
  record?: LocalRecord['vote'];
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
 * - the voter holds no unexpired vote for another candidate.
 *
 * A re-grant to the same candidate refreshes the vote, never to an earlier time.
 */
export function decideVote(req: VoteRequest): VoteDecision {
  const { candidate, localView, local, now, voteTtlMs, desiredCapacity, localDesiredCapacity } = req;
  if (local.hasData) return { granted: false, reason: 'I have local etcd data; a cluster may already exist' };
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
  return {
    granted: true,
    reason:
      prior?.candidate === candidate ? `renewed my vote for ${candidate}` : `granted my vote to ${candidate}`,
    record: { candidate, at },
  };
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

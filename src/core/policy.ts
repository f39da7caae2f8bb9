/** The planner's tunables, from config (agent.*). All durations in ms. */
export interface Policy {
  /** Odd, 1..9. Instances beyond this stay learners (standbys). */
  maxVoters: number;
  /**
   * Learners at once: etcd's `--max-learners` (3.6+; 3.4/3.5 allow 1 whatever this says). Instances
   * beyond maxVoters + this are cold standbys (no member) until a slot frees.
   */
  maxLearners: number;
  /** A member must be unreachable this long, AND its instance gone per the cloud, before it is reaped. */
  memberDeadAfterMs: number;
  /**
   * The shorter wait when the cloud has positively said the member's instance is terminated (not just
   * missing from one list): `MemberView.instanceTerminated`. Never longer than memberDeadAfterMs.
   */
  terminatedMemberDeadAfterMs: number;
  /**
   * Leave after the replacement (design row B4a): with a notice whose deadline is more than
   * `leaveMarginMs` away and a replacement on its way, a voter stays until the replacement is a
   * caught-up learner, promotes it, then leaves. false: leave at once (the cluster runs a voter short
   * until the replacement joins).
   */
  leaveAfterReplacement: boolean;
  /** Time kept for the leave itself (etcd's ~5 s refusal after a change, hand-off, removal, signal). */
  leaveMarginMs: number;
  /** How long after a notice a voter waits for a replacement to appear in the group list at all. */
  replacementWaitMs: number;
  /** An added-but-never-started member is removed after this. */
  unstartedMemberTtlMs: number;
  /** Treat an advisory rebalance recommendation as a termination notice. */
  leaveOnRebalance: boolean;
  /** A bootstrap vote is valid this long after it was granted. */
  voteTtlMs: number;
  /**
   * How long the seeder keeps asking, when its list holds the whole group (D instances) and only some
   * agents did not answer yet, before it gives up seeding them all at once and bootstraps alone (row C4).
   */
  fullGroupWaitMs: number;
  /** A learner whose raft index is within this many entries of the leader's counts as caught up. */
  catchUpEntries: number;
  /**
   * Quorum-loss recovery (src/core/recovery.ts): `auto` forces a new cluster from the best survivor once
   * the loss is proven; `manual` waits and names the command that would recover, and what it would lose.
   */
  recoveryMode: 'auto' | 'manual';
  /** No leader seen for longer than this is one of the proofs of a quorum loss. */
  noLeaderForMs: number;
}

export const DEFAULT_POLICY: Policy = {
  maxVoters: 5,
  maxLearners: 1,
  memberDeadAfterMs: 60_000,
  terminatedMemberDeadAfterMs: 5_000,
  unstartedMemberTtlMs: 120_000,
  leaveAfterReplacement: true,
  leaveMarginMs: 15_000,
  replacementWaitMs: 15_000,
  leaveOnRebalance: false,
  voteTtlMs: 30_000,
  fullGroupWaitMs: 10_000,
  catchUpEntries: 1000,
  recoveryMode: 'auto',
  noLeaderForMs: 10_000,
};

/** A notice that this instance will go away. Several sources are merged into the earliest deadline. */
export interface TerminationNotice {
  /** Which source saw it: `spot-api`, `imds-spot`, `imds-asg-lifecycle`, `imds-rebalance`, … */
  source: string;
  /** ms since epoch when the notice was first seen. */
  seenAt: number;
  /** ms since epoch when the instance will be terminated, when the source says so. */
  deadline?: number;
  /** Free text for logs, e.g. the raw IMDS payload or lifeCycleState. */
  detail: string;
  /** Rebalance recommendations are advisory; they never trigger a leave by themselves. */
  advisory?: boolean;
}

/**
 * One way of learning that this instance is being terminated. `poll` returns null when there is no
 * notice and throws when it cannot tell (an error is never read as "no notice" or as "notice").
 */
export interface TerminationSource {
  readonly name: string;
  /**
   * Poll no more often than this (± the watcher's jitter), whatever the watcher's interval: a cloud API
   * call counts against a rate limit shared by the whole organisation, while instance metadata is free.
   * Read before every poll: it may change (e.g. once the group's settings have been read).
   */
  readonly minIntervalMs?: number;
  poll(signal?: AbortSignal): Promise<TerminationNotice | null>;
}

/**
 * Termination notices from the Spot.io API: the instance's `lifeCycleState` (cloud-apis.md §1.6),
 * which shows Spot-initiated scale-in and replacement that AWS IMDS never shows.
 */
import { MalformedResponseError } from '../../core/errors.ts';
import type { InstanceId } from '../../core/ids.ts';
import type { Clock } from '../../ports/clock.ts';
import type { InstanceGroup } from '../../ports/instance-group.ts';
import type { TerminationNotice, TerminationSource } from '../../ports/termination-source.ts';

export interface SpotTerminationSourceOptions {
  group: Pick<InstanceGroup, 'lifecycleState'>;
  /** This instance. */
  instanceId: InstanceId;
  clock: Clock;
  /**
   * The deadline of a TERMINATING state that began after `startedAfter` (when the last ACTIVE answer
   * was asked for), when known: Spot holds the instance for the group's INSTANCE_READY_TO_SHUTDOWN
   * signal timeout at most. Asked only when an ACTIVE answer came before: a TERMINATING state found at
   * the first poll may be as old as the whole hold. Undefined (the default): the notice has no
   * deadline, and the planner treats it as "leave now".
   */
  deadlineFor?: (startedAfter: number) => number | undefined;
  /**
   * Poll no more often than this (`agent.cloudStatusPollInterval`, or shorter from the group's signal
   * timeout): Spot's rate limit is per organisation. A function is read before every poll.
   */
  minIntervalMs?: number | (() => number);
}

/**
 * `terminating` → a notice; `active` → none; `gone` is implausible for the instance this code runs
 * on, so it is an error (never acted on) rather than a notice.
 */
export function createSpotTerminationSource(opts: SpotTerminationSourceOptions): TerminationSource {
  let firstSeenAt: number | undefined;
  /** When the last ACTIVE answer was asked for: a TERMINATING state seen later began after it. */
  let lastActiveAskedAt: number | undefined;
  /** The deadline fixed at the first sight of the state (undefined until the hold is known). */
  let deadline: number | undefined;
  /** When the state began at the earliest, for a deadline computed once the hold becomes known. */
  let startedAfter: number | undefined;
  const interval = opts.minIntervalMs;
  const source: TerminationSource = {
    name: 'spot-api',
    async poll(signal?: AbortSignal): Promise<TerminationNotice | null> {
      const askedAt = opts.clock.now();
      const state = await opts.group.lifecycleState(opts.instanceId, signal);
      switch (state) {
        case 'terminating': {
          if (firstSeenAt === undefined) {
            firstSeenAt = opts.clock.now();
            startedAfter = lastActiveAskedAt;
          }
          if (deadline === undefined && startedAfter !== undefined)
            deadline = opts.deadlineFor?.(startedAfter);
          return {
            source: 'spot-api',
            seenAt: firstSeenAt,
            detail: 'lifeCycleState=TERMINATING',
            ...(deadline === undefined ? {} : { deadline }),
          };
        }
        case 'active':
        case 'not-in-service':
          firstSeenAt = undefined;
          startedAfter = undefined;
          deadline = undefined;
          lastActiveAskedAt = askedAt;
          return null;
        case 'gone':
          throw new MalformedResponseError(
            `implausible answer: Spot.io says instance ${opts.instanceId}, which is running this agent, does not exist; not acting on it`,
          );
      }
    },
  };
  if (interval !== undefined)
    Object.defineProperty(source, 'minIntervalMs', {
      enumerable: true,
      get: typeof interval === 'number' ? () => interval : interval,
    });
  return source;
}

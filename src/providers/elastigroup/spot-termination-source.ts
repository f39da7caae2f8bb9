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
   * The deadline of a TERMINATING state first seen at `seenAt`, when known: Spot holds the instance
   * for the group's INSTANCE_READY_TO_SHUTDOWN signal timeout at most. Undefined (the default): the
   * notice has no deadline, and the planner treats it as "leave now".
   */
  deadlineFor?: (seenAt: number) => number | undefined;
  /** Poll no more often than this (`agent.cloudStatusPollInterval`): Spot's rate limit is per organisation. */
  minIntervalMs?: number;
}

/**
 * `terminating` → a notice; `active` → none; `gone` is implausible for the instance this code runs
 * on, so it is an error (never acted on) rather than a notice.
 */
export function createSpotTerminationSource(opts: SpotTerminationSourceOptions): TerminationSource {
  let firstSeenAt: number | undefined;
  return {
    name: 'spot-api',
    ...(opts.minIntervalMs !== undefined ? { minIntervalMs: opts.minIntervalMs } : {}),
    async poll(signal?: AbortSignal): Promise<TerminationNotice | null> {
      const state = await opts.group.lifecycleState(opts.instanceId, signal);
      switch (state) {
        case 'terminating': {
          firstSeenAt ??= opts.clock.now();
          const deadline = opts.deadlineFor?.(firstSeenAt);
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
          return null;
        case 'gone':
          throw new MalformedResponseError(
            `implausible answer: Spot.io says instance ${opts.instanceId}, which is running this agent, does not exist; not acting on it`,
          );
      }
    },
  };
}

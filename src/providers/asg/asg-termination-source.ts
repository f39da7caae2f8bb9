/**
 * Termination notices from the Auto Scaling API: self's LifecycleState (DescribeAutoScalingInstances).
 * `Terminating:Wait` is the state a termination lifecycle hook holds the instance in; `Terminating`,
 * `Terminating:Proceed` and `Detaching` are leaving too. IMDS `autoscaling/target-lifecycle-state` says
 * the same sooner and cheaper; this source confirms it, and sees it where IMDS does not (an older
 * instance that never transitioned, a metadata service that is off).
 */
import { MalformedResponseError } from '../../core/errors.ts';
import type { InstanceId } from '../../core/ids.ts';
import type { Clock } from '../../ports/clock.ts';
import type { TerminationNotice, TerminationSource } from '../../ports/termination-source.ts';
import type { AsgStateClass } from './states.ts';

export interface AsgTerminationSourceOptions {
  /** Self's raw LifecycleState and its class; `gone` when not in the group. */
  state(signal?: AbortSignal): Promise<{ state?: string; cls: AsgStateClass }>;
  instanceId: InstanceId;
  clock: Clock;
}

export const ASG_API_SOURCE = 'asg-api';

/**
 * `terminating` → a notice; `running` or `not-in-service` → none; `gone` is implausible for the instance
 * this code runs on (it is an error, never acted on).
 */
export function createAsgTerminationSource(opts: AsgTerminationSourceOptions): TerminationSource {
  let firstSeenAt: number | undefined;
  return {
    name: ASG_API_SOURCE,
    async poll(signal?: AbortSignal): Promise<TerminationNotice | null> {
      const { state, cls } = await opts.state(signal);
      switch (cls) {
        case 'terminating':
          firstSeenAt ??= opts.clock.now();
          return {
            source: ASG_API_SOURCE,
            seenAt: firstSeenAt,
            detail: `LifecycleState=${state ?? 'terminating'}`,
          };
        case 'running':
        case 'not-in-service':
          firstSeenAt = undefined;
          return null;
        case 'gone':
          throw new MalformedResponseError(
            `implausible answer: Auto Scaling says instance ${opts.instanceId}, which is running this agent, is in no group${state ? ` (${state})` : ''}; not acting on it`,
          );
      }
    },
  };
}

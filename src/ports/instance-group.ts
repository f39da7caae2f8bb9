import type { InstanceId } from '../core/ids.ts';

/** One running (or terminating) instance of the group, as the cloud reports it. */
export interface GroupInstance {
  id: InstanceId;
  privateIp: string;
  availabilityZone?: string;
  /** ms since epoch, when the cloud says so. */
  launchedAt?: number;
}

/** What the cloud says about one instance's lifecycle. `gone` = terminated or unknown to the group. */
export type LifecycleState = 'active' | 'terminating' | 'gone';

/**
 * The cloud's instance group (Spot.io Elastigroup, a static list, later AWS Auto Scaling).
 * Every method throws (CloudApiError, RateLimitedError, MalformedResponseError, TimeoutError) rather
 * than returning a guess: an error means "unknown", and the caller must not act destructively on it.
 */
export interface InstanceGroup {
  /** Human-readable kind and id, e.g. `elastigroup sig-1234`. */
  readonly description: string;
  /** The group's running instances (including ones the cloud is terminating but has not yet stopped). */
  listInstances(signal?: AbortSignal): Promise<GroupInstance[]>;
  /** The lifecycle state of one instance (Spot: GET /aws/ec2/instance/{id} lifeCycleState). */
  lifecycleState(id: InstanceId, signal?: AbortSignal): Promise<LifecycleState>;
  /** Tells the cloud this instance has finished leaving and may be terminated now (Spot: INSTANCE_READY_TO_SHUTDOWN). No-op where unsupported. */
  signalReadyToShutdown(id: InstanceId, signal?: AbortSignal): Promise<void>;
  /**
   * True only when the cloud positively answers that this instance is terminated or no longer exists
   * (Spot: `INSTANCE_DOESNT_EXIST` from the instance-status call). False when it says the instance is
   * active or terminating; throws when it cannot tell. Absent where the provider has no such proof (a
   * static list): then a dead member waits the full `memberDeadAfter`.
   */
  confirmTerminated?(id: InstanceId, signal?: AbortSignal): Promise<boolean>;
  /** Desired capacity when the cloud tells it, else undefined. */
  desiredCapacity?(signal?: AbortSignal): Promise<number | undefined>;
}

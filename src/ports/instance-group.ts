import type { InstanceId } from '../core/ids.ts';

/** One running (or terminating) instance of the group, as the cloud reports it. */
export interface GroupInstance {
  id: InstanceId;
  privateIp: string;
  availabilityZone?: string;
  /** ms since epoch, when the cloud says so. */
  launchedAt?: number;
}

/**
 * What the cloud says about one instance's lifecycle. `gone` = terminated or unknown to the group;
 * `not-in-service` = part of the group but not serving (ASG: Pending, Warmed:*, Standby): its agent
 * must not join; it is neither running for the planner nor leaving.
 */
export type LifecycleState = 'active' | 'terminating' | 'not-in-service' | 'gone';

/**
 * The cloud's instance group (Spot.io Elastigroup, AWS Auto Scaling, a static list).
 * Every method throws (CloudApiError, RateLimitedError, MalformedResponseError, TimeoutError) rather
 * than returning a guess: an error means "unknown", and the caller must not act destructively on it.
 */
export interface InstanceGroup {
  /** Human-readable kind and id, e.g. `elastigroup sig-1234`. */
  readonly description: string;
  /** The group's id once known (Elastigroup `sig-…`, Auto Scaling group name): bootstrap token, snapshots. */
  readonly groupId?: string | undefined;
  /**
   * True when listing costs no cloud API call (a list in the configuration): every agent then reads it
   * itself, and a calm follower never asks the leader's agent for its copy.
   */
  readonly listIsLocal?: boolean;
  /**
   * The group's running instances (including ones the cloud is terminating but has not yet stopped).
   * Instances that are not in service (ASG: Pending, Warmed:*, Standby) are not listed.
   */
  listInstances(signal?: AbortSignal): Promise<GroupInstance[]>;
  /** The lifecycle state of one instance (Spot: GET /aws/ec2/instance/{id} lifeCycleState). */
  lifecycleState(id: InstanceId, signal?: AbortSignal): Promise<LifecycleState>;
  /**
   * The release call: tells the cloud this instance has finished leaving and may be terminated now
   * (Spot: INSTANCE_READY_TO_SHUTDOWN; ASG: CompleteLifecycleAction CONTINUE). No-op where unsupported.
   */
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
  /**
   * From the latest successful list, without a call: why this instance, though it may belong to the
   * group, is not in service (`Warmed:Running`, `Pending`, `Standby`, not listed at all); undefined when
   * it is in service or leaving, or when the provider cannot tell (then nothing changes). An agent whose
   * instance is not in service never joins the cluster (safety: warm pools run the agent early).
   */
  notInService?(id: InstanceId): string | undefined;
}

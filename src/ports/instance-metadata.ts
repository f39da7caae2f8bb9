import type { InstanceId } from '../core/ids.ts';

export interface InstanceIdentity {
  instanceId: InstanceId;
  privateIp: string;
  availabilityZone?: string;
  /** Elastigroup id from the `spotinst:aws:ec2:group:id` instance tag, when tags are exposed. */
  groupId?: string;
}

/** The instance's own metadata service (AWS IMDS, or the emulator's per-instance IMDS). */
export interface InstanceMetadata {
  identity(signal?: AbortSignal): Promise<InstanceIdentity>;
  /** Raw read of a metadata path under /latest/meta-data/; undefined when the service answers 404. */
  get(path: string, signal?: AbortSignal): Promise<string | undefined>;
}

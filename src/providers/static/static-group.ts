/**
 * An {@link InstanceGroup} from a fixed list in the configuration (`group.provider: static`), for
 * bare-metal or hand-managed clusters and for tests. An instance not in the list counts as gone; there
 * is nobody to signal.
 */
import type { InstanceId } from '../../core/ids.ts';
import type { GroupInstance, InstanceGroup, LifecycleState } from '../../ports/instance-group.ts';

export interface StaticGroupOptions {
  instances: readonly { id: InstanceId; privateIp: string; availabilityZone?: string | undefined }[];
}

/**
 * @example
 * const group = createStaticGroup({ instances: [{ id: 'i-1', privateIp: '10.0.0.1' }] });
 */
export function createStaticGroup(opts: StaticGroupOptions): InstanceGroup {
  const instances: GroupInstance[] = opts.instances.map((i) => ({
    id: i.id,
    privateIp: i.privateIp,
    ...(i.availabilityZone ? { availabilityZone: i.availabilityZone } : {}),
  }));
  const ids = new Set(instances.map((i) => i.id));
  return {
    description: `static (${instances.length} instance${instances.length === 1 ? '' : 's'})`,
    listIsLocal: true,
    async listInstances(signal?: AbortSignal): Promise<GroupInstance[]> {
      signal?.throwIfAborted();
      return instances.map((i) => ({ ...i }));
    },
    async lifecycleState(id: InstanceId, signal?: AbortSignal): Promise<LifecycleState> {
      signal?.throwIfAborted();
      return ids.has(id) ? 'active' : 'gone';
    },
    async signalReadyToShutdown(_id: InstanceId, signal?: AbortSignal): Promise<void> {
      signal?.throwIfAborted();
    },
    async desiredCapacity(signal?: AbortSignal): Promise<number | undefined> {
      signal?.throwIfAborted();
      return instances.length;
    },
  };
}

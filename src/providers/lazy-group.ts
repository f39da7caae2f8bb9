/**
 * An {@link InstanceGroup} whose real adapter is built on first use: the Elastigroup id or the Auto
 * Scaling group name may come from the instance's tags, and the AWS SDK is loaded only when the group is
 * first asked. A failed build is retried at the next call (the metadata service may answer later).
 */
import type { InstanceGroup } from '../ports/instance-group.ts';

export type LazyGroup = InstanceGroup & { resolve(): Promise<InstanceGroup> };

export function lazyGroup(description: string, build: () => Promise<InstanceGroup>): LazyGroup {
  let built: Promise<InstanceGroup> | undefined;
  let resolved: InstanceGroup | undefined;
  const resolve = () => {
    built ??= build().then(
      (g) => (resolved = g),
      (err: unknown) => {
        built = undefined;
        throw err;
      },
    );
    return built;
  };
  return {
    get description() {
      return resolved?.description ?? description;
    },
    resolve,
    listInstances: async (signal) => (await resolve()).listInstances(signal),
    lifecycleState: async (id, signal) => (await resolve()).lifecycleState(id, signal),
    signalReadyToShutdown: async (id, signal) => (await resolve()).signalReadyToShutdown(id, signal),
    desiredCapacity: async (signal) => {
      const g = await resolve();
      return g.desiredCapacity ? g.desiredCapacity(signal) : undefined;
    },
    notInService: (id) => resolved?.notInService?.(id),
  };
}

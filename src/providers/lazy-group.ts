/**
 * An {@link InstanceGroup} whose real adapter is built on first use: the Elastigroup id or the Auto
 * Scaling group name may come from the instance's tags, and the AWS SDK is loaded only when the group is
 * first asked. A failed build is retried at the next call (the metadata service may answer later).
 */
import type { InstanceGroup } from '../ports/instance-group.ts';

export type LazyGroup = InstanceGroup & { resolve(): Promise<InstanceGroup> };

/**
 * `notBuiltYet`: what `notInService` says before the group is built (a provider that can tell whether
 * an instance is in service must not answer "in service" while it cannot read the group).
 */
export function lazyGroup(
  description: string,
  build: () => Promise<InstanceGroup>,
  opts: { notBuiltYet?: string } = {},
): LazyGroup {
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
    get groupId() {
      return resolved?.groupId;
    },
    get listIsLocal() {
      return resolved?.listIsLocal;
    },
    resolve,
    listInstances: async (signal) => (await resolve()).listInstances(signal),
    lifecycleState: async (id, signal) => (await resolve()).lifecycleState(id, signal),
    signalReadyToShutdown: async (id, signal) => (await resolve()).signalReadyToShutdown(id, signal),
    confirmTerminated: async (id, signal) => {
      const g = await resolve();
      return g.confirmTerminated ? g.confirmTerminated(id, signal) : false;
    },
    desiredCapacity: async (signal) => {
      const g = await resolve();
      return g.desiredCapacity ? g.desiredCapacity(signal) : undefined;
    },
    notInService: (id) => (resolved === undefined ? opts.notBuiltYet : resolved.notInService?.(id)),
  };
}

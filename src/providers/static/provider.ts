/**
 * The static provider (`group.provider: static`): a fixed list from the config, for bare metal,
 * hand-managed clusters and tests. Termination notices come only from instance metadata (where there is
 * one); there is nobody to release, no credential and nothing to check.
 */
import { randomBytes } from 'node:crypto';
import { createImdsTerminationSources } from '../../adapters/imds/imds-termination-sources.ts';
import type { ProviderFactory } from '../provider.ts';
import { createStaticGroup } from './static-group.ts';

/** Deadline of a call to the (local) group: the static list answers at once. */
const STATIC_CLOUD_TIMEOUT_MS = 5000;

export const staticProvider: ProviderFactory<'static'> = {
  name: 'static',
  settings: () => ({ cloudTimeoutMs: STATIC_CLOUD_TIMEOUT_MS }),
  create(config, deps) {
    return {
      name: 'static',
      group: deps.group ?? createStaticGroup({ instances: config.group.instances }),
      // A lone instance has no peers: a random key nobody else knows.
      ...(config.group.instances.length <= 1
        ? { sharedSecret: { value: randomBytes(32).toString('hex'), derive: 'secret' as const } }
        : {}),
      terminationSources: () => createImdsTerminationSources({ metadata: deps.metadata, clock: deps.clock }),
      checkDeployment: async () => [],
      close: async () => {},
    };
  },
};

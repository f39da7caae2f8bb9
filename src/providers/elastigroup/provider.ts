/**
 * The Spot.io Elastigroup provider (`group.provider: elastigroup`, the default): the REST API adapter,
 * the Spot.io instance-state termination source next to the IMDS ones, INSTANCE_READY_TO_SHUTDOWN as
 * the release call, the Spot.io token as credentials (and the seed of the agents' peer key), and the
 * start-up check of the group's shutdown signal.
 */
import { resolveSpotCredentials } from '../../config/credentials.ts';
import { ConfigError } from '../../core/errors.ts';
import { createImdsTerminationSources } from '../../adapters/imds/imds-termination-sources.ts';
import type { InstanceGroup } from '../../ports/instance-group.ts';
import { lazyGroup } from '../lazy-group.ts';
import type { ProviderFactory } from '../provider.ts';
import { createElastigroup } from './elastigroup.ts';
import { runDeploymentChecks } from './deploy-checks.ts';
import { createSpotTerminationSource } from './spot-termination-source.ts';

export const elastigroupProvider: ProviderFactory<'elastigroup'> = {
  name: 'elastigroup',
  settings: (g) => ({
    cloudTimeoutMs: g.requestTimeoutMs,
    ...(g.groupId !== undefined ? { groupId: g.groupId } : {}),
  }),
  create(config, deps) {
    const gcfg = config.group;
    // Checked at once: a missing token is a configuration error, not a cycle error.
    const credentials = deps.group === undefined ? resolveSpotCredentials(config, deps.env) : undefined;
    const group: InstanceGroup =
      deps.group ??
      lazyGroup(`elastigroup ${gcfg.groupId ?? '(id from instance tags)'}`, async () => {
        const groupId =
          gcfg.groupId ?? (await deps.metadata.identity(AbortSignal.timeout(gcfg.requestTimeoutMs))).groupId;
        if (groupId === undefined) {
          throw new ConfigError([
            'group.groupId: not set, and the instance has no spotinst:aws:ec2:group:id tag in its metadata; set group.groupId (ETCD_SPOT_GROUP_GROUP_ID)',
          ]);
        }
        return createElastigroup({
          apiUrl: gcfg.apiUrl,
          token: (credentials as { token: string }).token,
          account: credentials?.account,
          groupId,
          requestTimeoutMs: gcfg.requestTimeoutMs,
          clock: deps.clock,
          logger: deps.logger,
          onCall: (c) => deps.onCloudCall?.(c.route, c.status),
        });
      });
    /** The group's INSTANCE_READY_TO_SHUTDOWN timeout, once the start-up check has read it. */
    let signalTimeoutMs: number | undefined;
    return {
      name: 'elastigroup',
      group,
      ...(credentials !== undefined
        ? { sharedSecret: { value: credentials.token, derive: 'spot-token' as const } }
        : {}),
      terminationSources: (self) => [
        createSpotTerminationSource({
          group,
          instanceId: self.instanceId,
          clock: deps.clock,
          // Spot's rate limit is per organisation: its own status of self is asked rarely (IMDS is free).
          minIntervalMs: config.agent.cloudStatusPollIntervalMs,
          // Spot holds a TERMINATING instance for the shutdown signal's timeout at most; the state may
          // have begun up to one poll before this agent saw it.
          deadlineFor: (seenAt) =>
            signalTimeoutMs === undefined
              ? undefined
              : seenAt + signalTimeoutMs - config.agent.terminationPollIntervalMs,
        }),
        ...createImdsTerminationSources({ metadata: deps.metadata, clock: deps.clock }),
      ],
      checkDeployment: (identity, signal) =>
        runDeploymentChecks({
          group,
          identity,
          config,
          logger: deps.logger.child({ component: 'deploy-check' }),
          ...(signal !== undefined ? { signal } : {}),
          onSettings: (st) => {
            const sec = st.shutdownSignal?.timeoutSec;
            if (typeof sec === 'number' && sec > 0) signalTimeoutMs = sec * 1000;
          },
        }),
      close: async () => {},
    };
  },
};

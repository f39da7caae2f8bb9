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
import { SPOT_DEFAULT_SIGNAL_TIMEOUT_SEC, runDeploymentChecks } from './deploy-checks.ts';
import type { GroupDeploymentSettings } from './elastigroup.ts';
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
    /** How long Spot holds a TERMINATING instance at most, once read (see {@link spotHoldMs}). */
    let holdMs: number | undefined;
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
          // Spot's rate limit is per organisation: its own status of self is asked rarely (IMDS is free),
          // yet often enough to see a scale-in or replacement (which only this call shows) in time.
          minIntervalMs: () =>
            spotStatusPollIntervalMs(
              config.agent.cloudStatusPollIntervalMs,
              holdMs,
              config.agent.terminationPollIntervalMs,
            ),
          // Spot holds a TERMINATING instance for the shutdown signal's timeout at most, counted from
          // when the state began: after the last ACTIVE answer.
          deadlineFor: (startedAfter) =>
            signalTimeoutMs === undefined ? undefined : startedAfter + signalTimeoutMs,
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
            holdMs = spotHoldMs(st);
          },
        }),
      close: async () => {},
    };
  },
};

/** Own-status polls per hold: a TERMINATING state is seen with about two thirds of the hold left. */
export const SPOT_STATUS_POLLS_PER_HOLD = 3;

/**
 * How long Spot.io holds a TERMINATING instance at most, from the group's settings: the
 * INSTANCE_READY_TO_SHUTDOWN signal's timeout (its documented default, 120 s, when the signal sets
 * none), else, without the signal, the draining timeout; undefined when neither is known.
 */
export function spotHoldMs(st: GroupDeploymentSettings): number | undefined {
  if (st.shutdownSignal !== undefined) {
    const sec = st.shutdownSignal.timeoutSec;
    return (typeof sec === 'number' && sec > 0 ? sec : SPOT_DEFAULT_SIGNAL_TIMEOUT_SEC) * 1000;
  }
  const draining = st.drainingTimeoutSec;
  return typeof draining === 'number' && draining > 0 ? draining * 1000 : undefined;
}

/**
 * The interval of the Spot.io instance-status poll of self (the only place Spot's own scale-in and
 * replacement show): `agent.cloudStatusPollInterval` (`capMs`), shortened to a third of the hold when
 * that is known and shorter, so the state is seen {@link SPOT_STATUS_POLLS_PER_HOLD} times per hold;
 * never below the termination poll (`floorMs`), whose rounds it rides on.
 * @example spotStatusPollIntervalMs(60_000, 120_000, 5000) // 40_000: 3 polls per 120 s signal timeout
 */
export function spotStatusPollIntervalMs(capMs: number, holdMs: number | undefined, floorMs: number): number {
  if (holdMs === undefined) return capMs;
  return Math.max(floorMs, Math.min(capMs, Math.floor(holdMs / SPOT_STATUS_POLLS_PER_HOLD)));
}

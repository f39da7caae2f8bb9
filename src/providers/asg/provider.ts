/**
 * The AWS Auto Scaling provider (`group.provider: asg`, issue 10). The group's name comes from the
 * config or the instance's `aws:autoscaling:groupName` tag (else DescribeAutoScalingInstances), the
 * region from the config or the instance metadata, the credentials from the AWS SDK's default chain
 * (the instance profile). The SDK is loaded on the group's first use, never by an agent of another
 * provider. Termination sources: the three IMDS ones (target-lifecycle-state `Terminated`, the spot
 * `instance-action`, the advisory rebalance recommendation) and self's LifecycleState from the API.
 * Release: CompleteLifecycleAction(CONTINUE), with heartbeats from the first notice until then.
 */
import { ConfigError, describeError } from '../../core/errors.ts';
import { createImdsTerminationSources } from '../../adapters/imds/imds-termination-sources.ts';
import type { InstanceGroup } from '../../ports/instance-group.ts';
import { lazyGroup } from '../lazy-group.ts';
import type { ProviderFactory } from '../provider.ts';
import type { AsgGroup } from './asg-group.ts';
import { createAsgTerminationSource } from './asg-termination-source.ts';
import { credentialsFor } from './credentials.ts';
import { asgDeploymentWarnings } from './deploy-checks.ts';

/** The tag Auto Scaling puts on every instance of a group. */
export const ASG_NAME_TAG = 'aws:autoscaling:groupName';

/** `us-east-1a` → `us-east-1` (Local Zones and Wavelength zones have longer names: not guessed). */
export function regionFromZone(zone: string | undefined): string | undefined {
  const m = zone === undefined ? null : /^([a-z]{2}(?:-[a-z]+)+-\d+)[a-z]$/.exec(zone);
  return m?.[1];
}

export const asgProvider: ProviderFactory<'asg'> = {
  name: 'asg',
  settings: (g) => ({
    cloudTimeoutMs: g.requestTimeoutMs,
    ...(g.groupName !== undefined ? { groupId: g.groupName } : {}),
  }),
  create(config, deps) {
    const g = config.group;
    const log = deps.logger.child({ component: 'asg' });
    let taggedName: string | undefined;
    let asg: AsgGroup | undefined;
    const build = async (): Promise<InstanceGroup> => {
      const sig = () => AbortSignal.timeout(g.requestTimeoutMs);
      const identity = await deps.metadata.identity(sig());
      const trim = (s: string | undefined) => (s?.trim() ? s.trim() : undefined);
      const region =
        g.region ??
        trim(await deps.metadata.get('placement/region', sig())) ??
        regionFromZone(identity.availabilityZone);
      if (region === undefined) {
        throw new ConfigError([
          'group.region: not set, and the instance metadata has no placement/region; set group.region (ETCD_SPOT_GROUP_REGION)',
        ]);
      }
      taggedName = trim(await deps.metadata.get(`tags/instance/${ASG_NAME_TAG}`, sig()));
      // Loaded here: only an agent of an Auto Scaling group pays for the AWS SDK.
      const { createAsgGroup } = await import('./asg-group.ts');
      const credentials = credentialsFor({
        metadataUrl: config.metadata.url,
        env: deps.env,
        metadata: deps.metadata,
        clock: deps.clock,
      });
      asg = await createAsgGroup({
        ...(credentials !== undefined ? { credentials } : {}),
        groupName: g.groupName ?? taggedName,
        selfId: identity.instanceId,
        region,
        autoscalingEndpoint: g.autoscalingEndpoint,
        ec2Endpoint: g.ec2Endpoint,
        lifecycleHookName: g.lifecycleHookName,
        heartbeatIntervalMs: g.heartbeatIntervalMs,
        requestTimeoutMs: g.requestTimeoutMs,
        clock: deps.clock,
        logger: deps.logger,
        env: deps.env,
        onCall: (c) => deps.onCloudCall?.(c.route, c.status),
      });
      log.info(
        { groupName: asg.groupName, region, hook: g.lifecycleHookName ?? '(discovered)' },
        'Auto Scaling group',
      );
      return asg;
    };
    const lazy =
      deps.group === undefined
        ? lazyGroup(`asg ${g.groupName ?? '(name from instance tags)'}`, build, {
            notBuiltYet: 'the Auto Scaling group could not be read yet',
          })
        : undefined;
    const group: InstanceGroup = deps.group ?? (lazy as InstanceGroup);
    const resolveAsg = async (): Promise<AsgGroup | undefined> =>
      lazy === undefined ? undefined : ((await lazy.resolve()) as AsgGroup);
    return {
      name: 'asg',
      group,
      terminationSources: (self) => [
        ...createImdsTerminationSources({ metadata: deps.metadata, clock: deps.clock }),
        createAsgTerminationSource({
          instanceId: self.instanceId,
          clock: deps.clock,
          state: async (signal) => {
            const a = await resolveAsg();
            if (a !== undefined) return a.instanceState(self.instanceId, signal);
            const s = await group.lifecycleState(self.instanceId, signal);
            return { cls: s === 'active' ? 'running' : s };
          },
        }),
      ],
      onNotice(notice, self) {
        if (notice.advisory === true) return;
        void resolveAsg().then(
          (a) => a?.startHeartbeats(self.instanceId),
          (err: unknown) => log.warn({ err: describeError(err) }, 'cannot start lifecycle action heartbeats'),
        );
      },
      // The instance's tag was read when the group was built (taggedName); the identity adds nothing.
      async checkDeployment(_identity, signal) {
        const clog = deps.logger.child({ component: 'deploy-check' });
        try {
          const a = await resolveAsg();
          if (a === undefined) return [];
          const settings = await a.deploymentSettings(signal);
          const warnings = asgDeploymentWarnings({
            settings,
            heartbeatIntervalMs: g.heartbeatIntervalMs,
            ...(g.lifecycleHookName !== undefined ? { configHookName: g.lifecycleHookName } : {}),
            ...(g.groupName !== undefined ? { configGroupName: g.groupName } : {}),
            ...(taggedName !== undefined ? { taggedGroupName: taggedName } : {}),
          });
          for (const w of warnings) clog.warn({ check: 'deployment' }, w);
          if (warnings.length === 0)
            clog.info({ check: 'deployment', settings }, 'the Auto Scaling group waits for the leave');
          return warnings;
        } catch (err) {
          if (!signal?.aborted)
            clog.warn(
              { check: 'deployment', err: describeError(err) },
              "could not read the Auto Scaling group's lifecycle hooks and maintenance policy (see docs/deploy.md)",
            );
          return [];
        }
      },
      async close() {
        await asg?.close();
      },
    };
  },
};

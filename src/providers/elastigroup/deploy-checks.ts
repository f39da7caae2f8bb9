/**
 * The agent's start-up check of the deployment (issue 9 §6): the guarantees that rest on the
 * Elastigroup's settings rather than on the agent. Spot.io waits for the agent's leave only when the
 * group's strategy lists the INSTANCE_READY_TO_SHUTDOWN signal with a long enough timeout; otherwise it
 * terminates after the draining timeout whatever the member's state. And the instance's group tag,
 * when visible, proves that `group.groupId` is this instance's own group. Each broken guarantee is one
 * warning line in the log, naming the setting and the fix; nothing is refused (the agent still works,
 * with less margin). See docs/deploy.md.
 */
import type { GroupDeploymentSettings } from './elastigroup.ts';
import type { Config } from '../../config/schema.ts';
import { describeError } from '../../core/errors.ts';
import { noticeToSignalMs } from '../../deploy/timing.ts';
import type { InstanceGroup } from '../../ports/instance-group.ts';
import type { InstanceIdentity } from '../../ports/instance-metadata.ts';
import type { Logger } from '../../ports/logger.ts';

/** Spot.io's signal timeout when a signal lists none: 120 s per its help pages (the OpenAPI says 1800). */
export const SPOT_DEFAULT_SIGNAL_TIMEOUT_SEC = 120;

export interface DeploymentCheckInput {
  /** The group the agent follows. */
  groupId: string;
  /** `group.groupId` as configured (undefined: taken from the instance tag). */
  configGroupId?: string;
  /** The instance's `spotinst:aws:ec2:group:id` tag, when instance metadata shows tags. */
  taggedGroupId?: string;
  settings: GroupDeploymentSettings;
  /** From a notice to INSTANCE_READY_TO_SHUTDOWN at most (termination poll + leave + etcd stop). */
  noticeToSignalMs: number;
}

/** The warnings for a deployment, one line each; [] when every checked guarantee holds. Pure. */
export function deploymentWarnings(i: DeploymentCheckInput): string[] {
  const out: string[] = [];
  const needSec = Math.ceil(i.noticeToSignalMs / 1000);
  const sig = i.settings.shutdownSignal;
  if (sig === undefined) {
    const draining =
      i.settings.drainingTimeoutSec === undefined ? 'unset' : `${i.settings.drainingTimeoutSec} s`;
    out.push(
      `Elastigroup ${i.groupId} has no INSTANCE_READY_TO_SHUTDOWN signal in strategy.signals: Spot.io terminates a replaced or scaled-in instance after its draining timeout (${draining}) whether or not its etcd member has left; add the signal with a timeout of at least ${needSec} s (see docs/deploy.md)`,
    );
  } else {
    const timeout = sig.timeoutSec ?? SPOT_DEFAULT_SIGNAL_TIMEOUT_SEC;
    if (timeout < needSec) {
      const what =
        sig.timeoutSec === undefined ? `default timeout (${timeout} s, none set)` : `timeout (${timeout} s)`;
      out.push(
        `Elastigroup ${i.groupId}: the INSTANCE_READY_TO_SHUTDOWN signal's ${what} is shorter than a leave may take with this config (${needSec} s: termination poll, etcd calls, the signal and etcd's stop); raise it to at least ${needSec} s`,
      );
    }
  }
  if (i.configGroupId !== undefined && i.taggedGroupId !== undefined && i.taggedGroupId !== i.configGroupId) {
    out.push(
      `group.groupId is ${i.configGroupId} but this instance's spotinst:aws:ec2:group:id tag says ${i.taggedGroupId}: the agent follows the instances of ${i.configGroupId}, not of this instance's group; fix group.groupId or leave it out to use the tag`,
    );
  } else if (i.configGroupId !== undefined && i.taggedGroupId === undefined) {
    const tags = i.settings.instanceMetadataTags;
    out.push(
      tags === 'enabled'
        ? `Elastigroup ${i.groupId} enables instance metadata tags but this instance shows no spotinst:aws:ec2:group:id tag (launched before the change?): the agent cannot check that it belongs to ${i.configGroupId}`
        : `instance metadata tags are ${tags ?? 'not set'} on Elastigroup ${i.groupId} (compute.launchSpecification.metadataOptions.instanceMetadataTags): the agent cannot check that this instance belongs to group.groupId ${i.configGroupId}; enable them (see docs/deploy.md)`,
    );
  }
  return out;
}

type WithSettings = InstanceGroup & {
  groupId?: string;
  deploymentSettings?: (signal?: AbortSignal) => Promise<GroupDeploymentSettings>;
};

/**
 * Reads the group's settings once and logs each warning of {@link deploymentWarnings}. Never throws: a
 * failed read is logged (the loop reports an unreachable API anyway). Returns the warnings (tests).
 */
export async function runDeploymentChecks(o: {
  group: InstanceGroup & { resolve?: () => Promise<InstanceGroup> };
  identity: InstanceIdentity;
  config: Config;
  logger: Logger;
  signal?: AbortSignal;
  /** Receives the settings once read (the agent derives the Spot notice's deadline from them). */
  onSettings?: (settings: GroupDeploymentSettings) => void;
}): Promise<string[]> {
  const gcfg = o.config.group;
  if (gcfg.provider !== 'elastigroup') return [];
  try {
    const g = (o.group.resolve ? await o.group.resolve() : o.group) as WithSettings;
    if (g.deploymentSettings === undefined) return [];
    const settings = await g.deploymentSettings(o.signal);
    o.onSettings?.(settings);
    const warnings = deploymentWarnings({
      groupId: g.groupId ?? gcfg.groupId ?? o.identity.groupId ?? '(unknown)',
      ...(gcfg.groupId !== undefined ? { configGroupId: gcfg.groupId } : {}),
      ...(o.identity.groupId !== undefined ? { taggedGroupId: o.identity.groupId } : {}),
      settings,
      noticeToSignalMs: noticeToSignalMs(o.config),
    });
    for (const w of warnings) o.logger.warn({ check: 'deployment' }, w);
    if (warnings.length === 0)
      o.logger.info({ check: 'deployment', settings }, 'the Elastigroup waits for the leave');
    return warnings;
  } catch (err) {
    if (!o.signal?.aborted)
      o.logger.warn(
        { check: 'deployment', err: describeError(err) },
        "could not read the Elastigroup's settings to check its shutdown signal and tags (see docs/deploy.md)",
      );
    return [];
  }
}

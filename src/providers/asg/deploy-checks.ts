/**
 * The agent's start-up check of an Auto Scaling group (docs/deploy.md "AWS Auto Scaling groups"): the
 * guarantees that rest on the group's settings rather than on the agent. Each broken one is a warning
 * line naming the setting and the fix; nothing is refused.
 */
import type { AsgDeploymentSettings } from './asg-group.ts';

export interface AsgCheckInput {
  settings: AsgDeploymentSettings;
  /** `group.lifecycleHookName` as configured. */
  configHookName?: string;
  heartbeatIntervalMs: number;
  /** `group.groupName` as configured, and the instance's `aws:autoscaling:groupName` tag when visible. */
  configGroupName?: string;
  taggedGroupName?: string;
}

/** The warnings for a group, one line each; [] when every checked guarantee holds. Pure. */
export function asgDeploymentWarnings(i: AsgCheckInput): string[] {
  const out: string[] = [];
  const g = i.settings.groupName;
  const hooks = i.settings.terminatingHooks;
  const hook =
    i.configHookName !== undefined
      ? hooks.find((h) => h.name === i.configHookName)
      : hooks.length === 1
        ? hooks[0]
        : undefined;
  if (hooks.length === 0) {
    out.push(
      `Auto Scaling group ${g} has no EC2_INSTANCE_TERMINATING lifecycle hook: a scale-in, refresh or rebalance terminates an instance without waiting for its etcd member to leave; create one (docs/deploy.md)`,
    );
  } else if (i.configHookName !== undefined && hook === undefined) {
    out.push(
      `group.lifecycleHookName is ${i.configHookName} but Auto Scaling group ${g}'s EC2_INSTANCE_TERMINATING hooks are ${hooks.map((h) => h.name).join(', ')}: the release call will fail and the instance waits for the hook's timeout; fix group.lifecycleHookName`,
    );
  } else if (hook === undefined) {
    out.push(
      `Auto Scaling group ${g} has ${hooks.length} EC2_INSTANCE_TERMINATING hooks (${hooks.map((h) => h.name).join(', ')}): set group.lifecycleHookName to the one etcd-spot completes`,
    );
  }
  if (
    hook?.heartbeatTimeoutSec !== undefined &&
    hook.heartbeatTimeoutSec * 1000 < 2 * i.heartbeatIntervalMs
  ) {
    out.push(
      `lifecycle hook ${hook.name} times out after ${hook.heartbeatTimeoutSec} s but group.heartbeatInterval is ${Math.round(i.heartbeatIntervalMs / 1000)} s: a slow leave may be cut off; set heartbeatInterval to at most ${Math.floor(hook.heartbeatTimeoutSec / 2)} s`,
    );
  }
  const min = i.settings.minHealthyPercentage;
  if (min === undefined || min < 100) {
    out.push(
      `Auto Scaling group ${g} has ${min === undefined ? 'no instance maintenance policy' : `an instance maintenance policy with MinHealthyPercentage ${min}`}: an instance refresh or health replacement terminates before it launches, so the cluster runs a voter short meanwhile; set MinHealthyPercentage=100 and MaxHealthyPercentage 110-200 (launch before terminating)`,
    );
  }
  if (
    i.configGroupName !== undefined &&
    i.taggedGroupName !== undefined &&
    i.configGroupName !== i.taggedGroupName
  ) {
    out.push(
      `group.groupName is ${i.configGroupName} but this instance's aws:autoscaling:groupName tag says ${i.taggedGroupName}: the agent follows the instances of ${i.configGroupName}; fix group.groupName or leave it out to use the tag`,
    );
  }
  return out;
}

/**
 * How long a leave takes at most, from the config: what the agent's stop timeout (the rendered unit)
 * and the Elastigroup's shutdown-signal timeout (the agent's start-up check) must cover. Pure.
 */
import type { Config } from '../config/schema.ts';

/** etcd's SIGTERM grace in supervise mode before SIGKILL (the supervised runner's default). */
export const ETCD_STOP_GRACE_MS = 10_000;

/**
 * The longest a leave can take once started, plus etcd's stop: promote a spare, move leadership and
 * remove self (one etcd call each), the release call to the cloud (Spot.io's signal, ASG's CompleteLifecycleAction), etcd's graceful stop, and 5 s of slack.
 */
export function leaveBudgetMs(config: Config): number {
  const requestTimeout = 'requestTimeoutMs' in config.group ? config.group.requestTimeoutMs : 0;
  return 3 * config.etcd.callTimeoutMs + requestTimeout + ETCD_STOP_GRACE_MS + 5_000;
}

/** From a cloud notice to the signal: the notice is seen within one poll, then the leave runs. */
export function noticeToSignalMs(config: Config): number {
  return config.agent.terminationPollIntervalMs + leaveBudgetMs(config);
}

/**
 * An AWS Auto Scaling group as an {@link InstanceGroup} (issue 10), spoken to with the real
 * `@aws-sdk/client-auto-scaling` (loaded here, on first use, only when `group.provider: asg`) and one
 * SigV4-signed EC2 Query call for the private IPs (`DescribeInstances`: `@aws-sdk/client-ec2` would cost
 * ~56 MB of RSS for that one call; docs/deploy.md has the numbers). Wire shapes: cloud-apis.md §3.
 *
 * Like the Spot.io adapter: every call has a deadline, nothing retries inside the adapter (the SDK's
 * own retries are off: `maxAttempts: 1`), and an operation that was throttled or failed transiently is
 * not called again until its back-off has passed (calls during it fail at once, throttling with
 * `retryAfterMs`, which the observer honours). Every failure is an error, never a guess.
 *
 * The release call is CompleteLifecycleAction(CONTINUE) on the group's EC2_INSTANCE_TERMINATING hook
 * (configured, or found with DescribeLifecycleHooks); RecordLifecycleActionHeartbeat runs every
 * `heartbeatIntervalMs` from the first notice until the release.
 */
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import type { AutoScalingClientConfig } from '@aws-sdk/client-auto-scaling';
import { isIP } from 'node:net';
import {
  CloudApiError,
  MalformedResponseError,
  RateLimitedError,
  TimeoutError,
  describeError,
  isRetryable,
} from '../../core/errors.ts';
import type { InstanceId } from '../../core/ids.ts';
import type { Clock } from '../../ports/clock.ts';
import type { GroupInstance, InstanceGroup, LifecycleState } from '../../ports/instance-group.ts';
import type { Logger } from '../../ports/logger.ts';
import { NO_ACTIVE_ACTION, failureOf, mapAwsError } from './aws-errors.ts';
import { signQueryRequest } from './sigv4.ts';
import type { AwsCredentials } from './sigv4.ts';
import { classifyAsgState, isListed } from './states.ts';
import type { AsgStateClass } from './states.ts';
import { child, childrenNamed, parseXml, textAt } from './xml.ts';
import type { XmlElement } from './xml.ts';

export const TERMINATING_TRANSITION = 'autoscaling:EC2_INSTANCE_TERMINATING';

export interface AsgGroupOptions {
  /** The group; undefined: the group `selfId` belongs to (DescribeAutoScalingInstances). */
  groupName?: string | undefined;
  /** This instance (to find the group when no name is given). */
  selfId: InstanceId;
  region: string;
  /** Endpoint overrides (the emulator's); default: the SDK's resolution (AWS_ENDPOINT_URL_*, then AWS). */
  autoscalingEndpoint?: string | undefined;
  ec2Endpoint?: string | undefined;
  /** The termination hook; undefined: the group's only EC2_INSTANCE_TERMINATING hook. */
  lifecycleHookName?: string | undefined;
  heartbeatIntervalMs: number;
  requestTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL for the EC2 call (the SDK reads them for Auto Scaling). */
  env?: Record<string, string | undefined>;
  /** Told about every request made (metrics). Must not throw. */
  onCall?: (call: { route: string; status: number | 'timeout' | 'unreachable' }) => void;
  /** Tests: the SDK's request handler (no sockets) and the EC2 call's fetch. */
  requestHandler?: AutoScalingClientConfig['requestHandler'];
  fetchImpl?: typeof fetch;
  /** Credentials (or a provider of them) instead of the SDK's default chain (see credentials.ts). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  random?: () => number;
}

/** What the agent's start-up check reads from the group. */
export interface AsgDeploymentSettings {
  groupName: string;
  /** The EC2_INSTANCE_TERMINATING hooks. */
  terminatingHooks: { name: string; heartbeatTimeoutSec?: number; defaultResult?: string }[];
  capacityRebalance?: boolean;
  minHealthyPercentage?: number;
  maxHealthyPercentage?: number;
}

export type AsgGroup = InstanceGroup & {
  readonly groupName: string;
  readonly region: string;
  /** Self's raw LifecycleState and its class (DescribeAutoScalingInstances); `gone` when not in the group. */
  instanceState(id: InstanceId, signal?: AbortSignal): Promise<{ state?: string; cls: AsgStateClass }>;
  /** The hook the release completes; undefined when the group has no termination hook. */
  hookName(signal?: AbortSignal): Promise<string | undefined>;
  /** Starts RecordLifecycleActionHeartbeat every heartbeatIntervalMs (idempotent). */
  startHeartbeats(id: InstanceId): void;
  stopHeartbeats(): void;
  deploymentSettings(signal?: AbortSignal): Promise<AsgDeploymentSettings>;
  close(): Promise<void>;
};

export const BASE_BACKOFF_MS = 1000;
/** How long a release that found no lifecycle action open yet is not tried again (a few calls a minute). */
export const NO_ACTION_RETRY_MS = 10_000;
export const MAX_BACKOFF_MS = 60_000;
const JITTER = 0.2;

interface Backoff {
  until: number;
  failures: number;
  lastError: Error;
}

interface GroupSnapshot {
  desired: number | undefined;
  instances: { id: string; state: string; cls: AsgStateClass; az?: string }[];
  capacityRebalance?: boolean;
  minHealthyPercentage?: number;
  maxHealthyPercentage?: number;
}

const IAM = {
  DescribeAutoScalingGroups: 'autoscaling:DescribeAutoScalingGroups',
  DescribeAutoScalingInstances: 'autoscaling:DescribeAutoScalingInstances',
  DescribeLifecycleHooks: 'autoscaling:DescribeLifecycleHooks',
  RecordLifecycleActionHeartbeat: 'autoscaling:RecordLifecycleActionHeartbeat',
  CompleteLifecycleAction: 'autoscaling:CompleteLifecycleAction',
  DescribeInstances: 'ec2:DescribeInstances',
} as const;
type Operation = keyof typeof IAM;

/**
 * Builds the adapter (finds the group when no name is given).
 * @example
 * const group = await createAsgGroup({ selfId: 'i-0abc', region: 'eu-west-1', heartbeatIntervalMs: 60_000,
 *   requestTimeoutMs: 5000, clock: systemClock, logger });
 * await group.listInstances();
 */
export async function createAsgGroup(opts: AsgGroupOptions): Promise<AsgGroup> {
  const random = opts.random ?? Math.random;
  const log = opts.logger.child({ component: 'asg' });
  const client = new AutoScalingClient({
    region: opts.region,
    maxAttempts: 1,
    ...(opts.autoscalingEndpoint !== undefined ? { endpoint: opts.autoscalingEndpoint } : {}),
    ...(opts.requestHandler !== undefined ? { requestHandler: opts.requestHandler } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
  });
  const asgEndpoint = opts.autoscalingEndpoint ?? `https://autoscaling.${opts.region}.amazonaws.com`;
  const env = opts.env ?? {};
  const ec2Url =
    opts.ec2Endpoint ??
    env.AWS_ENDPOINT_URL_EC2 ??
    env.AWS_ENDPOINT_URL ??
    `https://ec2.${opts.region}.amazonaws.com/`;
  const doFetch = opts.fetchImpl ?? fetch;
  const backoffs = new Map<Operation, Backoff>();

  function report(route: string, status: number | 'timeout' | 'unreachable'): void {
    try {
      opts.onCall?.({ route, status });
    } catch {
      // Metrics never fail a call.
    }
  }

  function recordFailure(op: Operation, err: Error): Error {
    const prev = backoffs.get(op);
    const failures = (prev?.failures ?? 0) + 1;
    const exp = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (failures - 1));
    const waitMs = Math.round(exp * (1 + (random() * 2 - 1) * JITTER));
    backoffs.set(op, { until: opts.clock.now() + waitMs, failures, lastError: err });
    log.debug({ op, failures, waitMs, err: err.message }, 'AWS operation backing off');
    // Throttling carries the back-off, so the observer does not ask again before it ends.
    return err instanceof RateLimitedError
      ? new RateLimitedError(`${err.message}; backing off ${waitMs} ms`, { retryAfterMs: waitMs, cause: err })
      : err;
  }

  function refuseDuringBackoff(op: Operation): void {
    const b = backoffs.get(op);
    if (b === undefined) return;
    const left = b.until - opts.clock.now();
    if (left <= 0) return;
    if (b.lastError instanceof RateLimitedError)
      throw new RateLimitedError(`AWS ${op}: throttled, not calling again for ${left} ms`, {
        retryAfterMs: left,
        cause: b.lastError,
      });
    throw b.lastError;
  }

  /** One AWS call with a deadline, mapped errors and back-off. */
  async function call<T>(
    op: Operation,
    endpoint: string,
    send: (signal: AbortSignal) => Promise<{ out: T; status: number }>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    refuseDuringBackoff(op);
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(opts.requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const what = `${op === 'DescribeInstances' ? 'EC2' : 'Auto Scaling'} ${op}`;
    try {
      const { out, status } = await send(combined);
      report(op, status);
      backoffs.delete(op);
      return out;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const f = failureOf(err);
      const e =
        err instanceof CloudApiError || err instanceof TimeoutError
          ? err
          : mapAwsError(err, {
              what,
              endpoint,
              iamAction: IAM[op],
              timeoutMs: opts.requestTimeoutMs,
              timedOut: timeout.aborted,
            });
      // AWS throttles with a 400 (`Throttling`): counted as 429, what the metric calls rate-limited.
      report(
        op,
        e instanceof RateLimitedError ? 429 : (f.status ?? (timeout.aborted ? 'timeout' : 'unreachable')),
      );
      if (isRetryable(e) && !(e instanceof MalformedResponseError)) throw recordFailure(op, e);
      if (e instanceof MalformedResponseError)
        log.warn({ op, err: e.message }, `${what}: malformed response`);
      throw e;
    }
  }

  async function sdk<T = unknown>(
    op: Exclude<Operation, 'DescribeInstances'>,
    command: object,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    return call(
      op,
      asgEndpoint,
      async (abortSignal) => {
        const out = (await client.send(command as never, { abortSignal })) as {
          $metadata?: { httpStatusCode?: number };
        };
        return { out: out as T, status: out.$metadata?.httpStatusCode ?? 200 };
      },
      signal,
    );
  }

  // --- the group ----------------------------------------------------------------------------------

  async function findGroupName(signal?: AbortSignal): Promise<string> {
    const out = await sdk<{ AutoScalingInstances?: { AutoScalingGroupName?: string }[] }>(
      'DescribeAutoScalingInstances',
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [opts.selfId] }),
      signal,
    );
    const name = out.AutoScalingInstances?.[0]?.AutoScalingGroupName;
    if (!name) {
      throw new CloudApiError(
        `instance ${opts.selfId} is in no Auto Scaling group of region ${opts.region} (DescribeAutoScalingInstances); set group.groupName, enable instance metadata tags, or check group.region`,
        { retryable: false, code: 'ASG_GROUP_NOT_FOUND' },
      );
    }
    return name;
  }

  const groupName = opts.groupName ?? (await findGroupName(AbortSignal.timeout(opts.requestTimeoutMs * 2)));
  const glog = log.child({ groupName });

  let inflight: Promise<GroupSnapshot> | undefined;
  let latest: GroupSnapshot | undefined;

  async function describeGroupOnce(signal?: AbortSignal): Promise<GroupSnapshot> {
    const what = `Auto Scaling DescribeAutoScalingGroups ${groupName}`;
    const out = await sdk<{
      AutoScalingGroups?: {
        AutoScalingGroupName?: string;
        DesiredCapacity?: number;
        CapacityRebalance?: boolean;
        InstanceMaintenancePolicy?: { MinHealthyPercentage?: number; MaxHealthyPercentage?: number };
        Instances?: { InstanceId?: string; LifecycleState?: string; AvailabilityZone?: string }[];
      }[];
    }>(
      'DescribeAutoScalingGroups',
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
      signal,
    );
    const groups = (out.AutoScalingGroups ?? []).filter((g) => g.AutoScalingGroupName === groupName);
    if (groups.length === 0) {
      throw new CloudApiError(
        `${what}: no such group in region ${opts.region} (check group.groupName and group.region)`,
        { retryable: false, code: 'ASG_GROUP_NOT_FOUND' },
      );
    }
    const g = groups[0] as NonNullable<typeof groups>[number];
    const seen = new Set<string>();
    const instances: GroupSnapshot['instances'] = [];
    for (const [i, inst] of (g.Instances ?? []).entries()) {
      const id = inst.InstanceId;
      const state = inst.LifecycleState;
      if (!id || !state)
        throw new MalformedResponseError(`${what}: Instances[${i}] has no InstanceId or LifecycleState`);
      if (seen.has(id)) throw new MalformedResponseError(`${what}: instance ${id} is listed twice`);
      seen.add(id);
      const cls = classifyAsgState(state);
      if (cls === undefined)
        throw new MalformedResponseError(`${what}: instance ${id} has an unknown LifecycleState '${state}'`);
      instances.push({ id, state, cls, ...(inst.AvailabilityZone ? { az: inst.AvailabilityZone } : {}) });
    }
    const desired = g.DesiredCapacity;
    if (desired !== undefined && (!Number.isInteger(desired) || desired < 0))
      throw new MalformedResponseError(`${what}: DesiredCapacity is ${String(desired)}`);
    const snap: GroupSnapshot = { desired, instances };
    if (g.CapacityRebalance !== undefined) snap.capacityRebalance = g.CapacityRebalance;
    const mp = g.InstanceMaintenancePolicy;
    if (mp?.MinHealthyPercentage !== undefined) snap.minHealthyPercentage = mp.MinHealthyPercentage;
    if (mp?.MaxHealthyPercentage !== undefined) snap.maxHealthyPercentage = mp.MaxHealthyPercentage;
    latest = snap;
    return snap;
  }

  /** Concurrent callers (the list and the desired capacity, asked together) share one request. */
  function describeGroup(signal?: AbortSignal): Promise<GroupSnapshot> {
    inflight ??= describeGroupOnce(signal).finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  // --- EC2 DescribeInstances (signed Query call) ------------------------------------------------

  async function credentials(): Promise<AwsCredentials> {
    if (typeof opts.credentials === 'function') return opts.credentials();
    if (opts.credentials !== undefined) return opts.credentials;
    const provider = (client.config as unknown as { credentials: () => Promise<AwsCredentials> }).credentials;
    return provider();
  }

  async function describeInstances(
    ids: readonly string[],
    signal?: AbortSignal,
  ): Promise<Map<string, { privateIp?: string; launchedAt?: number; state?: string }>> {
    const found = new Map<string, { privateIp?: string; launchedAt?: number; state?: string }>();
    let nextToken: string | undefined;
    const what = 'EC2 DescribeInstances';
    for (let page = 0; page < 20; page++) {
      const params = [
        'Action=DescribeInstances',
        'Version=2016-11-15',
        'Filter.1.Name=instance-id',
        ...ids.map((id, i) => `Filter.1.Value.${i + 1}=${encodeURIComponent(id)}`),
        ...(nextToken !== undefined ? [`NextToken=${encodeURIComponent(nextToken)}`] : []),
      ];
      const body = params.join('&');
      const doc = await call(
        'DescribeInstances',
        ec2Url,
        async (abortSignal) => {
          const headers = signQueryRequest({
            url: ec2Url,
            body,
            region: opts.region,
            service: 'ec2',
            credentials: await credentials(),
            now: opts.clock.now(),
          });
          const res = await doFetch(ec2Url, { method: 'POST', headers, body, signal: abortSignal });
          const text = await res.text();
          let xml: XmlElement;
          try {
            xml = parseXml(text);
          } catch (err) {
            if (res.status >= 500)
              throw new CloudApiError(`${what}: HTTP ${res.status} with a body that is not AWS XML`, {
                status: res.status,
                retryable: true,
                cause: err,
              });
            throw new MalformedResponseError(
              `${what}: the answer (HTTP ${res.status}) is not well-formed XML: ${(err as Error).message}`,
              err,
            );
          }
          if (res.status !== 200 || xml.name === 'Response') {
            const e = child(child(xml, 'Errors'), 'Error');
            const code = textAt(e, 'Code');
            if (code === undefined)
              throw new MalformedResponseError(`${what}: HTTP ${res.status} without an AWS error code`);
            // Shaped like an SDK exception, so the one table maps it.
            const fail = Object.assign(new Error(textAt(e, 'Message') ?? code), {
              name: code,
              Code: code,
              $metadata: { httpStatusCode: res.status },
            });
            throw mapAwsError(fail, {
              what,
              endpoint: ec2Url,
              iamAction: IAM.DescribeInstances,
              timeoutMs: opts.requestTimeoutMs,
              timedOut: false,
            });
          }
          if (xml.name !== 'DescribeInstancesResponse')
            throw new MalformedResponseError(`${what}: unexpected root element <${xml.name}>`);
          return { out: xml, status: res.status };
        },
        signal,
      );
      for (const r of childrenNamed(child(doc, 'reservationSet'), 'item')) {
        for (const inst of childrenNamed(child(r, 'instancesSet'), 'item')) {
          const id = textAt(inst, 'instanceId');
          if (!id) throw new MalformedResponseError(`${what}: an instance without instanceId`);
          const ip = textAt(inst, 'privateIpAddress');
          if (ip !== undefined && ip !== '' && isIP(ip) === 0)
            throw new MalformedResponseError(
              `${what}: instance ${id} has privateIpAddress '${ip.slice(0, 60)}'`,
            );
          const launch = Date.parse(textAt(inst, 'launchTime') ?? '');
          const state = textAt(inst, 'instanceState', 'name');
          found.set(id, {
            ...(ip ? { privateIp: ip } : {}),
            ...(Number.isFinite(launch) ? { launchedAt: launch } : {}),
            ...(state ? { state } : {}),
          });
        }
      }
      nextToken = textAt(doc, 'nextToken') || undefined;
      if (nextToken === undefined) return found;
    }
    throw new MalformedResponseError(`${what}: more than 20 pages for ${ids.length} instances`);
  }

  // --- lifecycle hooks ---------------------------------------------------------------------------

  async function terminatingHooks(signal?: AbortSignal): Promise<AsgDeploymentSettings['terminatingHooks']> {
    const out = await sdk<{
      LifecycleHooks?: {
        LifecycleHookName?: string;
        LifecycleTransition?: string;
        HeartbeatTimeout?: number;
        DefaultResult?: string;
      }[];
    }>(
      'DescribeLifecycleHooks',
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: groupName }),
      signal,
    );
    return (out.LifecycleHooks ?? [])
      .filter((h) => h.LifecycleTransition === TERMINATING_TRANSITION && h.LifecycleHookName)
      .map((h) => ({
        name: h.LifecycleHookName as string,
        ...(h.HeartbeatTimeout !== undefined ? { heartbeatTimeoutSec: h.HeartbeatTimeout } : {}),
        ...(h.DefaultResult !== undefined ? { defaultResult: h.DefaultResult } : {}),
      }));
  }

  let hook: { name: string | undefined } | undefined =
    opts.lifecycleHookName !== undefined ? { name: opts.lifecycleHookName } : undefined;

  async function hookName(signal?: AbortSignal): Promise<string | undefined> {
    if (hook !== undefined) return hook.name;
    const hooks = await terminatingHooks(signal);
    if (hooks.length > 1) {
      throw new CloudApiError(
        `Auto Scaling group ${groupName} has ${hooks.length} EC2_INSTANCE_TERMINATING hooks (${hooks.map((h) => h.name).join(', ')}); set group.lifecycleHookName to the one etcd-spot completes`,
        { retryable: false, code: 'ASG_HOOK_AMBIGUOUS' },
      );
    }
    hook = { name: hooks[0]?.name };
    if (hook.name === undefined)
      glog.warn(
        {},
        'the group has no EC2_INSTANCE_TERMINATING lifecycle hook: nothing holds a terminating instance until its member has left (docs/deploy.md)',
      );
    return hook.name;
  }

  /** Whether a lifecycle call failed only because the action is over (timed out, completed, or none yet). */
  function actionIsOver(err: unknown): boolean {
    const e = err as { apiCode?: unknown; message?: unknown };
    return (
      e.apiCode === 'ValidationError' && typeof e.message === 'string' && NO_ACTIVE_ACTION.test(e.message)
    );
  }

  function hookHint(err: unknown, name: string): Error {
    const e = err as { apiCode?: unknown; message?: unknown };
    if (e.apiCode === 'ValidationError' && typeof e.message === 'string' && /hook|not found/i.test(e.message))
      return new CloudApiError(
        `${e.message}; is lifecycle hook '${name}' on group ${groupName} (group.lifecycleHookName)?`,
        { retryable: false, code: 'ASG_HOOK_NOT_FOUND', cause: err },
      );
    return err as Error;
  }

  async function instanceState(
    id: InstanceId,
    signal?: AbortSignal,
  ): Promise<{ state?: string; cls: AsgStateClass }> {
    const out = await sdk<{
      AutoScalingInstances?: {
        InstanceId?: string;
        AutoScalingGroupName?: string;
        LifecycleState?: string;
      }[];
    }>(
      'DescribeAutoScalingInstances',
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [id] }),
      signal,
    );
    const mine = (out.AutoScalingInstances ?? []).filter((x) => x.InstanceId === id);
    const item = mine[0];
    if (item === undefined) return { cls: 'gone' as const };
    if (item.AutoScalingGroupName !== undefined && item.AutoScalingGroupName !== groupName) {
      throw new CloudApiError(
        `instance ${id} belongs to Auto Scaling group ${item.AutoScalingGroupName}, not ${groupName}; fix group.groupName`,
        { retryable: false, code: 'ASG_WRONG_GROUP' },
      );
    }
    const state = item.LifecycleState;
    const cls = state === undefined ? undefined : classifyAsgState(state);
    if (state === undefined || cls === undefined)
      throw new MalformedResponseError(
        `Auto Scaling DescribeAutoScalingInstances: instance ${id} has LifecycleState '${String(state)}'`,
      );
    return { state, cls };
  }

  let heartbeat: AbortController | undefined;
  let heartbeatLoop: Promise<void> | undefined;
  /** The last release found no action open yet; retried after NO_ACTION_RETRY_MS. */
  let noActionYet: { until: number; error: CloudApiError } | undefined;

  async function complete(id: InstanceId, name: string, signal?: AbortSignal): Promise<void> {
    await sdk(
      'CompleteLifecycleAction',
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: groupName,
        LifecycleHookName: name,
        InstanceId: id,
        LifecycleActionResult: 'CONTINUE',
      }),
      signal,
    );
  }

  async function beat(id: InstanceId, signal: AbortSignal): Promise<void> {
    let lastProblem: string | undefined;
    while (!signal.aborted) {
      try {
        const name = await hookName(signal);
        if (name === undefined) return;
        await sdk(
          'RecordLifecycleActionHeartbeat',
          new RecordLifecycleActionHeartbeatCommand({
            AutoScalingGroupName: groupName,
            LifecycleHookName: name,
            InstanceId: id,
          }),
          signal,
        );
        glog.debug({ instanceId: id, hook: name }, 'lifecycle action heartbeat');
        lastProblem = undefined;
      } catch (err) {
        if (signal.aborted) return;
        // Before ASG puts the instance in Terminating:Wait (a spot notice comes first) there is no
        // action yet; after the release there is none any more.
        const problem = actionIsOver(err) ? 'no active lifecycle action (yet)' : describeError(err);
        if (problem !== lastProblem)
          (actionIsOver(err) ? glog.debug.bind(glog) : glog.warn.bind(glog))(
            { instanceId: id, err: problem },
            'lifecycle action heartbeat not recorded',
          );
        lastProblem = problem;
      }
      try {
        await opts.clock.sleep(opts.heartbeatIntervalMs, signal);
      } catch {
        return;
      }
    }
  }

  function stopHeartbeats(): void {
    heartbeat?.abort(new Error('heartbeats stopped'));
    heartbeat = undefined;
  }

  function startHeartbeats(id: InstanceId): void {
    if (heartbeat !== undefined) return;
    const ctl = new AbortController();
    heartbeat = ctl;
    heartbeatLoop = beat(id, ctl.signal);
  }

  return {
    description: `asg ${groupName}`,
    groupId: groupName,
    groupName,
    region: opts.region,

    async listInstances(signal?: AbortSignal): Promise<GroupInstance[]> {
      const snap = await describeGroup(signal);
      const listed = snap.instances.filter((i) => isListed(i.cls));
      if (listed.length === 0) return [];
      const ec2 = await describeInstances(
        listed.map((i) => i.id),
        signal,
      );
      const out: GroupInstance[] = [];
      for (const i of listed) {
        const e = ec2.get(i.id);
        if (e?.privateIp === undefined) {
          // A leaving instance that EC2 already stopped is simply gone; one in service without an IP
          // makes the list unknown (EC2 is eventually consistent right after a launch).
          if (i.cls === 'terminating') continue;
          throw new CloudApiError(
            `instance ${i.id} (${i.state}) has no private IP in EC2 DescribeInstances yet${e === undefined ? ' (not listed)' : ''}; the group list is unknown until it has one`,
            { retryable: true, code: 'ASG_INSTANCE_WITHOUT_IP' },
          );
        }
        out.push({
          id: i.id,
          privateIp: e.privateIp,
          ...(i.az !== undefined ? { availabilityZone: i.az } : {}),
          ...(e.launchedAt !== undefined ? { launchedAt: e.launchedAt } : {}),
        });
      }
      return out;
    },

    async desiredCapacity(signal?: AbortSignal): Promise<number | undefined> {
      return (await describeGroup(signal)).desired;
    },

    notInService(id: InstanceId): string | undefined {
      if (latest === undefined) return `the Auto Scaling group ${groupName} has not been read yet`;
      const i = latest.instances.find((x) => x.id === id);
      if (i === undefined)
        return `instance ${id} is not in Auto Scaling group ${groupName} (in a warm pool, detached, or not attached yet)`;
      if (i.cls === 'not-in-service')
        return `instance ${id} is ${i.state} in Auto Scaling group ${groupName}`;
      return undefined;
    },

    instanceState,

    async lifecycleState(id: InstanceId, signal?: AbortSignal): Promise<LifecycleState> {
      const { cls } = await instanceState(id, signal);
      return cls === 'running' ? 'active' : cls;
    },

    /** The proof that shortens a dead member's reap wait: EC2 itself says `terminated` (nothing else). */
    async confirmTerminated(id: InstanceId, signal?: AbortSignal): Promise<boolean> {
      const found = await describeInstances([id], signal);
      return found.get(id)?.state === 'terminated';
    },

    async signalReadyToShutdown(id: InstanceId, signal?: AbortSignal): Promise<void> {
      // Asked again within seconds of 'no action yet' (every cycle): answered without a call.
      if (noActionYet !== undefined && opts.clock.now() < noActionYet.until) throw noActionYet.error;
      noActionYet = undefined;
      const name = await hookName(signal);
      if (name === undefined) {
        stopHeartbeats();
        glog.warn({ instanceId: id }, 'no termination lifecycle hook to complete; AWS terminates on its own');
        return;
      }
      try {
        await complete(id, name, signal);
        stopHeartbeats();
        glog.info({ instanceId: id, hook: name }, 'completed the lifecycle action (CONTINUE)');
      } catch (err) {
        if (actionIsOver(err)) {
          // No action open: it timed out or was completed (by us before a restart, or an operator),
          // which is done; or Auto Scaling has not opened it yet (a spot notice or rebalance comes
          // first), which is not: the release is then retried by the next cycles, for as long as the
          // notice lasts, so the action is completed when it opens (never a later one after a rejoin).
          const { state, cls } = await instanceState(id, signal);
          if (cls === 'running' || cls === 'not-in-service') {
            noActionYet = {
              until: opts.clock.now() + NO_ACTION_RETRY_MS,
              error: new CloudApiError(
                `no lifecycle action is open for ${id} yet (LifecycleState ${state ?? cls}); the release is retried until Auto Scaling opens one`,
                { retryable: true, code: 'ASG_NO_ACTION_YET', cause: err },
              ),
            };
            throw noActionYet.error;
          }
          stopHeartbeats();
          glog.info(
            { instanceId: id, hook: name, state, err: (err as Error).message },
            'no active lifecycle action to complete (it timed out or was completed); treated as done',
          );
          return;
        }
        throw hookHint(err, name);
      }
    },

    hookName,

    startHeartbeats,

    stopHeartbeats,

    async deploymentSettings(signal?: AbortSignal): Promise<AsgDeploymentSettings> {
      const [snap, hooks] = await Promise.all([describeGroup(signal), terminatingHooks(signal)]);
      const out: AsgDeploymentSettings = { groupName, terminatingHooks: hooks };
      if (snap.capacityRebalance !== undefined) out.capacityRebalance = snap.capacityRebalance;
      if (snap.minHealthyPercentage !== undefined) out.minHealthyPercentage = snap.minHealthyPercentage;
      if (snap.maxHealthyPercentage !== undefined) out.maxHealthyPercentage = snap.maxHealthyPercentage;
      return out;
    },

    async close(): Promise<void> {
      stopHeartbeats();
      await heartbeatLoop;
      client.destroy();
    },
  };
}

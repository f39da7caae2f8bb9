/**
 * The Spot.io Elastigroup REST API as an {@link InstanceGroup}. Wire shapes: shared reference
 * cloud-apis.md §1. Every call has a deadline, nothing retries inside the adapter, and a route that
 * was rate-limited (429) or failed transiently (5xx, timeout, unreachable) is not called again until
 * its back-off has passed: calls during a back-off fail at once without a request.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  CloudApiError,
  fetchFailureReason,
  MalformedResponseError,
  RateLimitedError,
  TimeoutError,
} from '../../core/errors.ts';
import type { InstanceId } from '../../core/ids.ts';
import type { Clock } from '../../ports/clock.ts';
import type { GroupInstance, InstanceGroup, LifecycleState } from '../../ports/instance-group.ts';
import type { Logger } from '../../ports/logger.ts';

export interface ElastigroupOptions {
  /** Base URL, e.g. `https://api.spotinst.io` (or the emulator's). */
  apiUrl: string;
  token: string;
  /** Sent as the `accountId` query parameter when set. */
  account?: string | undefined;
  groupId: string;
  requestTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  fetchImpl?: typeof fetch;
  /** Source of jitter for back-offs, in [0, 1). */
  random?: () => number;
  /**
   * Told about every request made (not about calls refused during a back-off): its route template,
   * the HTTP status, or `timeout` / `unreachable` when no answer came (metrics). Must not throw.
   */
  onCall?: (call: { route: string; status: number | 'timeout' | 'unreachable'; durationMs: number }) => void;
}

/** First back-off after a transient failure; doubles per consecutive failure up to {@link MAX_BACKOFF_MS}. */
export const BASE_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 60_000;
const JITTER = 0.2;
const SNIPPET = 200;

export const SIGNAL_READY_TO_SHUTDOWN = 'INSTANCE_READY_TO_SHUTDOWN';

const envelope = z.object({
  request: z.object({ id: z.string().optional() }).loose().optional(),
  response: z
    .object({
      items: z.array(z.unknown()).optional(),
      count: z.number().optional(),
    })
    .loose(),
});

const errorEnvelope = z.object({
  request: z.object({ id: z.string().optional() }).loose().optional(),
  response: z
    .object({
      errors: z
        .array(z.object({ code: z.string().optional(), message: z.string().optional() }).loose())
        .optional(),
    })
    .loose()
    .optional(),
});

const statusItem = z.object({
  instanceId: z.string().min(1),
  privateIp: z.string().refine((s) => isIP(s) !== 0, { error: 'expected an IP address' }),
  availabilityZone: z.string().nullish(),
  createdAt: z.string().nullish(),
});

const instanceItem = z.object({
  instanceId: z.string().nullish(),
  lifeCycleState: z.string(),
});

const groupItem = z.object({
  capacity: z.object({ target: z.number().int().nonnegative().nullish() }).loose().nullish(),
});

/** The parts of a group's configuration that etcd-spot's guarantees rest on (docs/deploy.md). */
const groupDeploymentItem = z.object({
  strategy: z
    .object({
      drainingTimeout: z.number().nullish(),
      signals: z.array(z.object({ name: z.string(), timeout: z.number().nullish() }).loose()).nullish(),
    })
    .loose()
    .nullish(),
  compute: z
    .object({
      launchSpecification: z
        .object({
          metadataOptions: z.object({ instanceMetadataTags: z.string().nullish() }).loose().nullish(),
        })
        .loose()
        .nullish(),
    })
    .loose()
    .nullish(),
});

/** What `GET /aws/ec2/group/{id}` says about termination and instance tags; undefined = not set. */
export interface GroupDeploymentSettings {
  /** `strategy.drainingTimeout`, seconds. */
  drainingTimeoutSec?: number;
  /** The INSTANCE_READY_TO_SHUTDOWN entry of `strategy.signals`, when configured (timeout in seconds). */
  shutdownSignal?: { timeoutSec?: number };
  /** `compute.launchSpecification.metadataOptions.instanceMetadataTags`, lower case (`enabled`/`disabled`). */
  instanceMetadataTags?: string;
}

interface RouteBackoff {
  until: number;
  failures: number;
  lastError: Error;
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function parseResetMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const n = Number(header);
  if (!Number.isFinite(n) || n < 0) return undefined;
  // The documented value is seconds until the reset; a value that looks like a Unix time is read as one.
  const ms = n > 1e9 ? n * 1000 - now : n * 1000;
  return Math.max(0, Math.ceil(ms));
}

/**
 * `Retry-After` (RFC 9110: whole seconds, or an HTTP date) in ms from `now`; undefined when absent or
 * unreadable. Spot.io documents `X-RateLimit-Reset`; this is the standard header a proxy in front of it
 * may send instead, read only when that one is missing.
 */
export function parseRetryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * Creates the Elastigroup adapter.
 * @example
 * const group = createElastigroup({ apiUrl: 'https://api.spotinst.io', token, groupId: 'sig-12345678',
 *   requestTimeoutMs: 5000, clock: systemClock, logger });
 * const instances = await group.listInstances();
 */
export function createElastigroup(opts: ElastigroupOptions): InstanceGroup & {
  readonly groupId: string;
  deploymentSettings(signal?: AbortSignal): Promise<GroupDeploymentSettings>;
} {
  const doFetch = opts.fetchImpl ?? fetch;
  const random = opts.random ?? Math.random;
  const base = opts.apiUrl.replace(/\/+$/, '');
  const log = opts.logger.child({ component: 'elastigroup', groupId: opts.groupId });
  const backoffs = new Map<string, RouteBackoff>();
  const enc = encodeURIComponent;

  function report(route: string, status: number | 'timeout' | 'unreachable', startedAt: number): void {
    try {
      opts.onCall?.({ route, status, durationMs: opts.clock.now() - startedAt });
    } catch {
      // Metrics never fail a call.
    }
  }

  function recordFailure(route: string, err: Error): void {
    const now = opts.clock.now();
    const prev = backoffs.get(route);
    const failures = (prev?.failures ?? 0) + 1;
    let waitMs: number;
    if (err instanceof RateLimitedError && err.retryAfterMs !== undefined) {
      waitMs = err.retryAfterMs;
    } else {
      const exp = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (failures - 1));
      waitMs = Math.round(exp * (1 + (random() * 2 - 1) * JITTER));
    }
    backoffs.set(route, { until: now + waitMs, failures, lastError: err });
    log.debug({ route, failures, waitMs, err: err.message }, 'Spot.io route backing off');
  }

  /**
   * A success that spent the route's last request of the window (`X-RateLimit-Remaining: 0`): the next
   * one would be refused with a 429 and, per Spot.io, push the reset further out, so the route waits
   * for `X-RateLimit-Reset` without a request.
   */
  function spentBudget(route: string, headers: Headers): void {
    if (headers.get('x-ratelimit-remaining')?.trim() !== '0') return;
    const resetMs = parseResetMs(headers.get('x-ratelimit-reset'), opts.clock.now());
    if (resetMs === undefined || resetMs <= 0) return;
    const err = new RateLimitedError(
      `Spot.io ${route}: the rate limit's budget is spent (X-RateLimit-Remaining: 0), reset in ${resetMs} ms`,
      { retryAfterMs: resetMs },
    );
    backoffs.set(route, { until: opts.clock.now() + resetMs, failures: 0, lastError: err });
    log.info({ route, resetMs }, 'Spot.io rate limit reached; not calling this route until its reset');
  }

  function refuseDuringBackoff(route: string): void {
    const b = backoffs.get(route);
    if (!b) return;
    const left = b.until - opts.clock.now();
    if (left <= 0) return;
    if (b.lastError instanceof RateLimitedError) {
      throw new RateLimitedError(`Spot.io ${route}: rate-limited, not calling again for ${left} ms`, {
        retryAfterMs: left,
        cause: b.lastError,
      });
    }
    throw b.lastError;
  }

  /** One HTTP exchange; returns the success envelope's items (or [] when it has none). */
  async function call(
    route: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<unknown[]> {
    refuseDuringBackoff(route);
    signal?.throwIfAborted();
    const url = `${base}${path}${opts.account ? `?accountId=${enc(opts.account)}` : ''}`;
    const what = `Spot.io ${method} ${path}`;
    const timeout = AbortSignal.timeout(opts.requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const startedAt = opts.clock.now();
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          authorization: `Bearer ${opts.token}`,
          accept: 'application/json',
          'content-type': 'application/json',
          'user-agent': 'etcd-spot',
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: combined,
      });
    } catch (err) {
      // A caller's abort (shutdown) is no answer of the API's: not reported, as it is not backed off.
      if (!signal?.aborted) report(route, timeout.aborted ? 'timeout' : 'unreachable', startedAt);
      throw transportFailure(route, what, err, signal, timeout);
    }
    const { status, headers } = res;
    report(route, status, startedAt);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (signal?.aborted || timeout.aborted) throw transportFailure(route, what, err, signal, timeout);
      throw malformed(what, `the body was cut off (${(err as Error).message})`, '', err);
    }

    if (status !== 200) {
      const e = httpError(what, status, text, headers);
      if (e.retryable) recordFailure(route, e);
      throw e;
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw malformed(what, `the body is not JSON (${(err as Error).message})`, text, err);
    }
    const env = envelope.safeParse(json);
    if (!env.success)
      throw malformed(what, `not a Spot.io envelope: ${describeIssues(env.error)}`, text, env.error);
    const items = env.data.response.items ?? [];
    const count = env.data.response.count;
    if (count !== undefined && env.data.response.items !== undefined && count !== items.length) {
      throw malformed(what, `response.count is ${count} but ${items.length} items came`, text);
    }
    backoffs.delete(route);
    spentBudget(route, headers);
    log.debug(
      {
        route,
        status,
        items: items.length,
        rateLimitRemaining: headers.get('x-ratelimit-remaining') ?? undefined,
      },
      'Spot.io call',
    );
    return items;
  }

  function transportFailure(
    route: string,
    what: string,
    err: unknown,
    signal: AbortSignal | undefined,
    timeout: AbortSignal,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    let e: Error;
    if (timeout.aborted) {
      e = new TimeoutError(`${what} did not answer within ${opts.requestTimeoutMs} ms`, err);
    } else {
      e = new CloudApiError(`cannot reach Spot.io at ${base} (${fetchFailureReason(err)})`, {
        retryable: true,
        cause: err,
      });
    }
    recordFailure(route, e);
    return e;
  }

  function malformed(what: string, why: string, text: string, cause?: unknown): MalformedResponseError {
    log.warn({ body: text.slice(0, SNIPPET), why }, `${what}: malformed response`);
    return new MalformedResponseError(`${what}: ${why}`, cause);
  }

  function httpError(what: string, status: number, text: string, headers: Headers): CloudApiError {
    let apiCode: string | undefined;
    let apiMessage: string | undefined;
    let requestId: string | undefined;
    try {
      const parsed = errorEnvelope.safeParse(JSON.parse(text));
      if (parsed.success) {
        apiCode = parsed.data.response?.errors?.[0]?.code;
        apiMessage = parsed.data.response?.errors?.[0]?.message;
        requestId = parsed.data.request?.id;
      }
    } catch {
      // A non-JSON error body still yields an error from its status; the snippet goes into the message.
    }
    const detail = apiCode
      ? `${apiCode}: ${apiMessage ?? ''}`.replace(/: $/, '')
      : text.slice(0, SNIPPET).trim();
    const suffix = `${detail ? ` (${detail})` : ''}${requestId ? ` [request ${requestId}]` : ''}`;
    const extra = { status, ...(apiCode ? { apiCode } : {}) };
    if (status === 429) {
      const now = opts.clock.now();
      const retryAfterMs =
        parseResetMs(headers.get('x-ratelimit-reset'), now) ??
        parseRetryAfterMs(headers.get('retry-after'), now);
      return new RateLimitedError(
        `${what}: rate-limited by Spot.io (HTTP 429)${retryAfterMs !== undefined ? `, reset in ${retryAfterMs} ms` : ''}`,
        retryAfterMs !== undefined ? { retryAfterMs } : {},
      );
    }
    if (status === 401) {
      return new CloudApiError(
        `${what}: Spot.io rejected the token (HTTP 401)${suffix}; check the token (group.token, SPOTINST_TOKEN or ~/.spotinst/credentials) and the account`,
        { ...extra, retryable: false, code: 'SPOT_UNAUTHORIZED' },
      );
    }
    if (status === 403) {
      return new CloudApiError(
        `${what}: the token may not access this group or account (HTTP 403)${suffix}; check group.account and the token's permissions`,
        { ...extra, retryable: false, code: 'SPOT_FORBIDDEN' },
      );
    }
    if (apiCode === 'GROUP_DOESNT_EXIST') {
      return new CloudApiError(
        `${what}: Elastigroup ${opts.groupId} does not exist (HTTP ${status})${suffix}; check group.groupId and group.account`,
        { ...extra, retryable: false, code: 'SPOT_GROUP_NOT_FOUND' },
      );
    }
    const retryable = status >= 500 || status === 408;
    return new CloudApiError(`${what}: HTTP ${status}${suffix}`, { ...extra, retryable });
  }

  /** `GET /aws/ec2/group/{id}`: its one item, parsed with `schema`. */
  async function getGroup<T>(schema: z.ZodType<T>, signal: AbortSignal | undefined): Promise<T> {
    const path = `/aws/ec2/group/${enc(opts.groupId)}`;
    const items = await call('GET /aws/ec2/group/{id}', 'GET', path, undefined, signal);
    const what = `Spot.io GET ${path}`;
    if (items.length !== 1)
      throw malformed(what, `expected 1 item, got ${items.length}`, JSON.stringify(items));
    const p = schema.safeParse(items[0]);
    if (!p.success)
      throw malformed(
        what,
        `items[0]: ${describeIssues(p.error)}`,
        JSON.stringify(items[0]).slice(0, SNIPPET),
      );
    return p.data;
  }

  return {
    description: `elastigroup ${opts.groupId}`,
    groupId: opts.groupId,

    async listInstances(signal?: AbortSignal): Promise<GroupInstance[]> {
      const path = `/aws/ec2/group/${enc(opts.groupId)}/status`;
      const items = await call('GET /aws/ec2/group/{id}/status', 'GET', path, undefined, signal);
      const out: GroupInstance[] = [];
      const seen = new Set<string>();
      for (const [i, raw] of items.entries()) {
        const p = statusItem.safeParse(raw);
        if (!p.success) {
          throw malformed(
            `Spot.io GET ${path}`,
            `items[${i}]: ${describeIssues(p.error)}`,
            JSON.stringify(raw),
          );
        }
        const item = p.data;
        if (seen.has(item.instanceId)) {
          throw malformed(
            `Spot.io GET ${path}`,
            `instance ${item.instanceId} is listed twice`,
            JSON.stringify(raw),
          );
        }
        seen.add(item.instanceId);
        const launchedAt = item.createdAt ? Date.parse(item.createdAt) : NaN;
        out.push({
          id: item.instanceId,
          privateIp: item.privateIp,
          ...(item.availabilityZone ? { availabilityZone: item.availabilityZone } : {}),
          ...(Number.isFinite(launchedAt) ? { launchedAt } : {}),
        });
      }
      return out;
    },

    async lifecycleState(id: InstanceId, signal?: AbortSignal): Promise<LifecycleState> {
      const path = `/aws/ec2/instance/${enc(id)}`;
      let items: unknown[];
      try {
        items = await call('GET /aws/ec2/instance/{id}', 'GET', path, undefined, signal);
      } catch (err) {
        const e = err as { apiCode?: unknown; status?: unknown };
        if (e.apiCode === 'INSTANCE_DOESNT_EXIST' && (e.status === 400 || e.status === 404)) return 'gone';
        throw err;
      }
      const what = `Spot.io GET ${path}`;
      if (items.length !== 1)
        throw malformed(what, `expected 1 item, got ${items.length}`, JSON.stringify(items));
      const p = instanceItem.safeParse(items[0]);
      if (!p.success) throw malformed(what, `items[0]: ${describeIssues(p.error)}`, JSON.stringify(items[0]));
      if (p.data.instanceId && p.data.instanceId !== id) {
        throw malformed(what, `answered for instance ${p.data.instanceId}`, JSON.stringify(items[0]));
      }
      switch (p.data.lifeCycleState.toUpperCase()) {
        case 'ACTIVE':
          return 'active';
        case 'TERMINATING':
          return 'terminating';
        default:
          throw malformed(
            what,
            `unknown lifeCycleState '${p.data.lifeCycleState}'`,
            JSON.stringify(items[0]),
          );
      }
    },

    /** Spot's proof of a termination: the instance-status call answers INSTANCE_DOESNT_EXIST. */
    async confirmTerminated(id: InstanceId, signal?: AbortSignal): Promise<boolean> {
      return (await this.lifecycleState(id, signal)) === 'gone';
    },

    async signalReadyToShutdown(id: InstanceId, signal?: AbortSignal): Promise<void> {
      await call(
        'POST /aws/ec2/instance/signal',
        'POST',
        '/aws/ec2/instance/signal',
        { instanceId: id, signal: SIGNAL_READY_TO_SHUTDOWN },
        signal,
      );
      log.info({ instanceId: id }, 'signalled INSTANCE_READY_TO_SHUTDOWN');
    },

    async desiredCapacity(signal?: AbortSignal): Promise<number | undefined> {
      return (await getGroup(groupItem, signal)).capacity?.target ?? undefined;
    },

    /** The group's termination and metadata settings, for the agent's start-up check. */
    async deploymentSettings(signal?: AbortSignal): Promise<GroupDeploymentSettings> {
      const g = await getGroup(groupDeploymentItem, signal);
      const out: GroupDeploymentSettings = {};
      const draining = g.strategy?.drainingTimeout;
      if (typeof draining === 'number') out.drainingTimeoutSec = draining;
      const sig = g.strategy?.signals?.find((s) => s.name === SIGNAL_READY_TO_SHUTDOWN);
      if (sig) out.shutdownSignal = typeof sig.timeout === 'number' ? { timeoutSec: sig.timeout } : {};
      const tags = g.compute?.launchSpecification?.metadataOptions?.instanceMetadataTags;
      if (typeof tags === 'string') out.instanceMetadataTags = tags.toLowerCase();
      return out;
    },
  };
}

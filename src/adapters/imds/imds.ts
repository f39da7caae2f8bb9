/**
 * The instance's own metadata service (AWS IMDS, or the emulator's) as {@link InstanceMetadata}.
 * Wire behaviour: shared reference cloud-apis.md §2. A small own client rather than
 * `@aws-sdk/ec2-metadata-service`, which PUTs a fresh token before every GET (§2.8): termination
 * polling every few seconds needs the token cached.
 *
 * - IMDSv2 token cached until 30 s before it expires (half its lifetime for TTLs under a minute);
 *   concurrent callers share one token request.
 * - A GET answered 401 drops the token and is retried once with a fresh one.
 * - A token PUT answered 403/404/405, or timing out, switches to IMDSv1 (like the AWS SDKs) unless
 *   `requireV2`; a later 401 switches back to trying tokens.
 * - Every request has its own deadline of `timeoutMs`.
 */
import { isIP } from 'node:net';
import { fetchFailureReason, MetadataError, TimeoutError } from '../../core/errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type { InstanceIdentity, InstanceMetadata } from '../../ports/instance-metadata.ts';
import type { Logger } from '../../ports/logger.ts';
import { raceAbort } from '../local/abort.ts';

export interface ImdsOptions {
  /** Base URL, e.g. `http://169.254.169.254`. */
  url: string;
  /** Never fall back to IMDSv1. */
  requireV2: boolean;
  timeoutMs: number;
  /** Lifetime asked for each token, 1…21600 s. */
  tokenTtlSec: number;
  clock: Clock;
  logger: Logger;
  fetchImpl?: typeof fetch;
}

/** The tag Elastigroup puts on its instances. */
export const GROUP_ID_TAG = 'spotinst:aws:ec2:group:id';

const TOKEN_PATH = '/latest/api/token';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const REFRESH_MARGIN_MS = 30_000;

type Answer = { status: number; body: string };

/** Waits for `p`, or rejects with the signal's reason as soon as it aborts. */
function withAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return raceAbort(p, signal, () => (signal as AbortSignal).reason);
}

/**
 * @example
 * const imds = createImds({ url: 'http://169.254.169.254', requireV2: false, timeoutMs: 2000,
 *   tokenTtlSec: 21600, clock: systemClock, logger });
 * const { instanceId, privateIp, groupId } = await imds.identity();
 */
export function createImds(opts: ImdsOptions): InstanceMetadata {
  const doFetch = opts.fetchImpl ?? fetch;
  const base = opts.url.replace(/\/+$/, '');
  const log = opts.logger.child({ component: 'imds' });
  const ttlMs = opts.tokenTtlSec * 1000;
  const marginMs = Math.min(REFRESH_MARGIN_MS, ttlMs / 2);
  let token: { value: string; expiresAt: number } | undefined;
  let pendingToken: Promise<string | undefined> | undefined;
  let v1 = false;

  /** One HTTP exchange with its own deadline; maps transport failures to MetadataError / TimeoutError. */
  async function send(
    method: 'GET' | 'PUT',
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Answer> {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const res = await doFetch(`${base}${path}`, { method, headers, signal: combined });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted)
        throw new TimeoutError(`IMDS ${method} ${path} did not answer within ${opts.timeoutMs} ms`, err);
      throw new MetadataError(
        `cannot reach the instance metadata service at ${base} (${fetchFailureReason(err)})`,
        {
          retryable: true,
          cause: err,
        },
      );
    }
  }

  function fallBackToV1(why: string, cause?: unknown): undefined {
    if (opts.requireV2) {
      throw new MetadataError(
        `IMDS would not issue a session token (${why}) and metadata.requireV2 is true; enable IMDSv2 on the instance (HttpTokens, hop limit ≥ 2 in containers) or set metadata.requireV2: false`,
        { retryable: false, cause },
      );
    }
    if (!v1) log.warn({ why }, 'IMDSv2 token refused; falling back to IMDSv1');
    v1 = true;
    return undefined;
  }

  async function fetchToken(): Promise<string | undefined> {
    const startedAt = opts.clock.now();
    let answer: Answer;
    try {
      answer = await send('PUT', TOKEN_PATH, { [TTL_HEADER]: String(opts.tokenTtlSec) });
    } catch (err) {
      if (err instanceof TimeoutError)
        return fallBackToV1(`token request timed out after ${opts.timeoutMs} ms`, err);
      throw err;
    }
    const { status, body } = answer;
    if (status === 200) {
      const value = body.trim();
      if (!value)
        throw new MetadataError('IMDS answered the token request with an empty token', {
          status,
          retryable: true,
        });
      token = { value, expiresAt: startedAt + ttlMs };
      return value;
    }
    if (status === 403 || status === 404 || status === 405)
      return fallBackToV1(`HTTP ${status} on PUT ${TOKEN_PATH}`);
    throw new MetadataError(`IMDS refused the token request (HTTP ${status}): ${body.slice(0, 200).trim()}`, {
      status,
      retryable: status >= 500 || status === 429,
    });
  }

  async function currentToken(signal?: AbortSignal): Promise<string | undefined> {
    if (v1) return undefined;
    if (token && opts.clock.now() < token.expiresAt - marginMs) return token.value;
    pendingToken ??= fetchToken().finally(() => {
      pendingToken = undefined;
    });
    return withAbort(pendingToken, signal);
  }

  async function get(path: string, signal?: AbortSignal): Promise<string | undefined> {
    const full = `/latest/meta-data/${path.replace(/^\/+/, '')}`;
    for (let attempt = 0; ; attempt++) {
      let t: string | undefined;
      let answer: Answer;
      try {
        t = await currentToken(signal);
        answer = await send('GET', full, t ? { [TOKEN_HEADER]: t } : {}, signal);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof MetadataError) throw err;
        if (err instanceof TimeoutError) {
          throw new MetadataError(`${err.message} (reading ${full})`, { retryable: true, cause: err });
        }
        throw new MetadataError(`reading ${full} from IMDS failed`, { retryable: true, cause: err });
      }
      const { status, body } = answer;
      if (status === 200) return body;
      if (status === 404) return undefined;
      if (status === 401 && attempt === 0) {
        log.debug({ path: full, hadToken: t !== undefined }, 'IMDS answered 401; fetching a new token');
        token = undefined;
        v1 = false;
        continue;
      }
      const hint =
        status === 401
          ? '; the service requires a valid IMDSv2 token and rejected a fresh one'
          : status === 403
            ? '; the metadata service is turned off or blocks this request'
            : '';
      throw new MetadataError(`IMDS answered HTTP ${status} for ${full}${hint}`, {
        status,
        retryable: status >= 500 || status === 429 || status === 401,
      });
    }
  }

  return {
    get,
    async identity(signal?: AbortSignal): Promise<InstanceIdentity> {
      const [instanceId, privateIp, az, groupId] = await Promise.all([
        get('instance-id', signal),
        get('local-ipv4', signal),
        get('placement/availability-zone', signal),
        get(`tags/instance/${GROUP_ID_TAG}`, signal),
      ]);
      const id = instanceId?.trim();
      if (!id) throw new MetadataError('IMDS has no instance-id', { status: 404, retryable: true });
      const ip = privateIp?.trim();
      if (!ip) {
        throw new MetadataError('IMDS has no local-ipv4 (an IPv6-only instance is not supported)', {
          status: 404,
          retryable: false,
        });
      }
      if (isIP(ip) === 0)
        throw new MetadataError(`IMDS local-ipv4 is not an IP address: '${ip.slice(0, 60)}'`, {
          retryable: true,
        });
      const zone = az?.trim();
      const group = groupId?.trim();
      return {
        instanceId: id,
        privateIp: ip,
        ...(zone ? { availabilityZone: zone } : {}),
        ...(group ? { groupId: group } : {}),
      };
    },
  };
}

/**
 * One table from AWS failures (SDK exceptions of Auto Scaling, EC2 Query error codes, transport
 * failures) to etcd-spot's error classes. Retryable vs terminal is data; every wrap keeps `cause`.
 * Nothing here decides to act: a caller treats every error as "unknown" and waits.
 */
import { CloudApiError, MalformedResponseError, RateLimitedError, TimeoutError } from '../../core/errors.ts';

/** The error codes AWS SDKs treat as throttling (cloud-apis.md §3.1). */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

/** Codes meaning the credentials may not do this: never retried, the fix is the instance role. */
export const ACCESS_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'AuthFailure',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'CredentialsProviderError',
]);

/** The message AWS answers CompleteLifecycleAction/RecordLifecycleActionHeartbeat with once the action is over. */
export const NO_ACTIVE_ACTION = /no active lifecycle action/i;

/** A failure of one AWS call, as data the adapter can map (from the SDK or from the Query client). */
export interface AwsFailure {
  /** The AWS error code (`err.name` of SDK exceptions), when the service answered one. */
  code?: string;
  message: string;
  status?: number;
  cause: unknown;
}

/** Reads an SDK exception (or any thrown value) into an {@link AwsFailure}. */
export function failureOf(err: unknown): AwsFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $fault?: unknown;
    Code?: unknown;
  };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  // An SDK service exception carries $fault; its name is the AWS code.
  const code =
    typeof e.Code === 'string'
      ? e.Code
      : e.$fault !== undefined && typeof e.name === 'string'
        ? e.name
        : e.name === 'CredentialsProviderError'
          ? 'CredentialsProviderError'
          : undefined;
  return {
    ...(code !== undefined ? { code } : {}),
    message,
    ...(status !== undefined ? { status } : {}),
    cause: err,
  };
}

function transportCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 4 && typeof cur === 'object' && cur !== null; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && /^E[A-Z_]+$/.test(c)) return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps one failed call. `what` names the call (`Auto Scaling DescribeAutoScalingGroups`), `endpoint` where
 * it went (for unreachable endpoints and wrong regions), `iamAction` the permission it needs.
 * `aborted`: the caller's signal aborted (shutdown): its reason is returned untouched.
 */
export function mapAwsError(
  err: unknown,
  ctx: { what: string; endpoint: string; iamAction: string; timeoutMs: number; timedOut: boolean },
): Error {
  const f = failureOf(err);
  const { what } = ctx;
  if (ctx.timedOut || (err as { name?: unknown })?.name === 'TimeoutError')
    return new TimeoutError(`${what} did not answer within ${ctx.timeoutMs} ms`, err);
  if (f.code !== undefined && THROTTLING_CODES.has(f.code))
    return new RateLimitedError(`${what}: throttled by AWS (${f.code}: ${f.message})`, { cause: err });
  if (f.status === 429) return new RateLimitedError(`${what}: throttled by AWS (HTTP 429)`, { cause: err });
  if (
    f.code !== undefined &&
    /region/i.test(f.message) &&
    /Signature|Credential|Endpoint|Region/i.test(f.code)
  ) {
    // A request signed for another region than the endpoint's: the configuration, not the role.
    return new CloudApiError(
      `${what}: AWS refused the request's region (${f.code}: ${f.message}); check group.region (or placement/region) against the endpoint ${ctx.endpoint}`,
      {
        ...(f.status !== undefined ? { status: f.status } : {}),
        apiCode: f.code,
        retryable: false,
        code: 'AWS_WRONG_REGION',
        cause: err,
      },
    );
  }
  if (f.code !== undefined && ACCESS_CODES.has(f.code)) {
    return new CloudApiError(
      `${what}: AWS refused the credentials or the permission (${f.code}: ${f.message}); the instance role needs ${ctx.iamAction} (see the IAM policy in docs/deploy.md)`,
      {
        ...(f.status !== undefined ? { status: f.status } : {}),
        apiCode: f.code,
        retryable: false,
        code: 'AWS_ACCESS_DENIED',
        cause: err,
      },
    );
  }
  if (f.code !== undefined) {
    const retryable =
      (f.status ?? 400) >= 500 ||
      /^(InternalFailure|ServiceUnavailable|Unavailable|InternalError)$/.test(f.code);
    return new CloudApiError(
      `${what}: ${f.code}: ${f.message}${f.status !== undefined ? ` (HTTP ${f.status})` : ''}`,
      {
        ...(f.status !== undefined ? { status: f.status } : {}),
        apiCode: f.code,
        retryable,
        code: retryable ? 'CLOUD_API_ERROR' : 'AWS_REQUEST_REFUSED',
        cause: err,
      },
    );
  }
  if (/XML parse error|Deserialization error|not well-formed|expected one root/i.test(f.message)) {
    if (f.status !== undefined && f.status >= 500)
      return new CloudApiError(`${what}: HTTP ${f.status} with a body that is not AWS XML`, {
        status: f.status,
        retryable: true,
        cause: err,
      });
    return new MalformedResponseError(
      `${what}: the answer is not well-formed XML (${f.message.split('\n')[0] ?? ''})`,
      err,
    );
  }
  const net = transportCode(err);
  if (net !== undefined) {
    const hint = net === 'ENOTFOUND' ? '; is the region right (group.region, placement/region)?' : '';
    return new CloudApiError(`cannot reach AWS at ${ctx.endpoint} (${net})${hint}`, {
      retryable: true,
      cause: err,
    });
  }
  if (f.status !== undefined && f.status >= 500)
    return new CloudApiError(`${what}: HTTP ${f.status}`, { status: f.status, retryable: true, cause: err });
  return new CloudApiError(`${what} failed: ${f.message.split('\n')[0] ?? ''}`, {
    retryable: true,
    cause: err,
  });
}

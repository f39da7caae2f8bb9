/**
 * Error classes shared by every layer. Every wrap passes `{ cause }`. Whether an error is worth retrying
 * is data (`retryable`), checked with {@link isRetryable} rather than `instanceof`, so it survives
 * duplicated modules. `code` is a stable machine-readable name used in logs, JSON output and exit codes.
 */
export class EtcdSpotError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(message: string, opts: { code: string; retryable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retryable = opts.retryable;
  }
}

export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

export function errorCode(err: unknown): string | undefined {
  const c = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof c === 'string' ? c : undefined;
}

/**
 * The messages of `err` and its causes, outermost first (at most 12), skipping a cause whose text is
 * already said. An AggregateError contributes each of its errors' chains (e.g. one per etcd endpoint).
 */
export function errorChain(err: unknown): string[] {
  const parts: string[] = [];
  const add = (text: string) => {
    // A wrap that repeats its cause's text (ExitError(configError.message, …, configError)), or a cause
    // already quoted in full by its wrapper, adds nothing.
    const t = text.trim();
    if (t !== '' && parts.length < 12 && !parts.some((p) => p.includes(t))) parts.push(t);
  };
  const walk = (start: unknown, depth: number) => {
    let e: unknown = start;
    for (let i = 0; e !== undefined && e !== null && i < 8; i++) {
      add(e instanceof Error ? e.message : String(e));
      if (e instanceof AggregateError && depth < 2) for (const inner of e.errors) walk(inner, depth + 1);
      e = e instanceof Error ? (e as { cause?: unknown }).cause : undefined;
    }
  };
  walk(err, 0);
  return parts;
}

/** One line for logs: the message followed by each cause's message that adds something. */
export function describeError(err: unknown): string {
  return errorChain(err).join(': caused by: ');
}

/** The error's own message without its causes: what a user reads. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const NETWORK_REASONS: [RegExp, string][] = [
  [/ECONNREFUSED|connection refused/i, 'connection refused'],
  [/EHOSTUNREACH|ENETUNREACH|no route to host|network is unreachable/i, 'host unreachable'],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo|name resolution/i, 'host name not found'],
  [/ECONNRESET|socket hang up/i, 'connection reset'],
  [/EADDRNOTAVAIL/i, 'address not available'],
  [/ETIMEDOUT|deadline|timed? ?out|TimeoutError|aborted due to timeout/i, 'timed out'],
  [/EPROTO|wrong version number|\bSSL\b|\bTLS\b/, 'TLS handshake failed'],
];

/**
 * A few words on why a network call failed ("connection refused", "timed out"), read from the whole
 * cause chain; undefined when nothing recognisable is in it.
 */
export function networkReason(err: unknown): string | undefined {
  const text = errorChain(err).join('\n');
  const code = errorCodes(err).join(' ');
  for (const [re, reason] of NETWORK_REASONS) if (re.test(code) || re.test(text)) return reason;
  return undefined;
}

/**
 * Why a fetch() failed, in a few words: undici's "fetch failed" says nothing, its cause does (a code
 * such as ECONNREFUSED, or a message such as "bad port").
 */
export function fetchFailureReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let i = 0; typeof e === 'object' && e !== null && i < 8; i++) {
    const c = errorCode(e);
    if (c !== undefined) codes.push(c);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Invalid configuration. `issues` lists every problem at once, each naming the field and the fix. */
export class ConfigError extends EtcdSpotError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], cause?: unknown) {
    super(`invalid configuration:\n  - ${issues.join('\n  - ')}`, {
      code: 'CONFIG_INVALID',
      retryable: false,
      cause,
    });
    this.issues = issues;
  }
}

/** A cloud API (Spot.io, AWS) answered with an error or could not be reached. */
export class CloudApiError extends EtcdSpotError {
  readonly status: number | undefined;
  readonly apiCode: string | undefined;
  constructor(
    message: string,
    opts: { status?: number; apiCode?: string; retryable: boolean; code?: string; cause?: unknown },
  ) {
    super(message, { code: opts.code ?? 'CLOUD_API_ERROR', retryable: opts.retryable, cause: opts.cause });
    this.status = opts.status;
    this.apiCode = opts.apiCode;
  }
}

/** The cloud API said "too many requests". `retryAfterMs` comes from X-RateLimit-Reset when present. */
export class RateLimitedError extends CloudApiError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { retryAfterMs?: number; cause?: unknown }) {
    super(message, { status: 429, retryable: true, code: 'RATE_LIMITED', cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The reply could not be understood (malformed JSON, missing fields). Logged and survived, never acted on. */
export class MalformedResponseError extends CloudApiError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, code: 'MALFORMED_RESPONSE', cause });
  }
}

/** Instance metadata could not be read. */
export class MetadataError extends EtcdSpotError {
  readonly status: number | undefined;
  constructor(message: string, opts: { status?: number; retryable: boolean; cause?: unknown }) {
    super(message, { code: 'METADATA_ERROR', retryable: opts.retryable, cause: opts.cause });
    this.status = opts.status;
  }
}

/** A deadline passed before an external call answered. */
export class TimeoutError extends EtcdSpotError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'TIMEOUT', retryable: true, cause });
  }
}

/**
 * An etcd call failed. `code` is one of the ETCD_* names in the etcd adapter's error table
 * (src/adapters/etcd/etcd-errors.ts), e.g. ETCD_MEMBER_NOT_FOUND, ETCD_UNHEALTHY_CLUSTER.
 */
export class EtcdError extends EtcdSpotError {}

/**
 * A command-line failure with the exit code to use. Only src/cli/main.ts turns it into process.exit.
 * The message is what the user reads (one line naming what failed and the fix); the cause is printed
 * only with --verbose. `code` names the failure in JSON error documents (e.g. ETCD_UNREACHABLE).
 */
export class ExitError extends EtcdSpotError {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, opts: { cause?: unknown; code?: string } = {}) {
    super(message, { code: opts.code ?? 'EXIT', retryable: false, cause: opts.cause });
    this.exitCode = exitCode;
  }
}

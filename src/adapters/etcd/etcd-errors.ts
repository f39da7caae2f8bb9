/**
 * The one table that turns etcd / gRPC failures into {@link EtcdError}s with a stable `code` and a
 * `retryable` flag. etcd3 (npm 1.1.2) picks its error class from the gRPC status code, not from the
 * etcd condition (etcd-physics.md §6, quirk 4): "unhealthy cluster", "no leader", "request timed out",
 * "rpc not supported for learner" and "connection refused" all arrive as GRPCUnavailableError. So the
 * server's message decides first (most specific substring first), then the gRPC status code.
 *
 * The message texts are etcd's own, and the same in 3.4, 3.5 and 3.6 (api/v3rpc/rpctypes/error.go,
 * server/etcdserver/errors.go and membership/errors.go at v3.4.23, v3.5.33, v3.6.14; the tests quote
 * them per tag). What changed between the lines is the gRPC status of a few (so a rule never relies on
 * the status when etcd's text is there) and a few texts that only newer lines send:
 * - "rpc not supported for learner" and "not capable": UNAVAILABLE (14) in 3.4/3.5, FAILED_PRECONDITION
 *   (9) from 3.6.0;
 * - "cluster ID mismatch" (3.4.45+, 3.5, 3.6), "request canceled" and "context deadline exceeded" with
 *   the "etcdserver: " prefix (3.5+, when the server's own context ends);
 * - the learner limit: one learner hard-coded in 3.4/3.5, `--max-learners` from 3.6, same error text.
 *
 * `retryable` means "the same request may succeed later without anyone changing it".
 */
import { ClientClosedError, GRPCGenericError } from 'etcd3';
import { isBrokenCircuitError } from 'cockatiel';
import { EtcdError, errorCode } from '../../core/errors.ts';

export type EtcdErrorCode =
  | 'ETCD_MEMBER_NOT_FOUND'
  | 'ETCD_PEER_URL_EXISTS'
  | 'ETCD_MEMBER_EXISTS'
  | 'ETCD_BAD_PEER_URLS'
  | 'ETCD_UNHEALTHY_CLUSTER'
  | 'ETCD_NOT_ENOUGH_STARTED'
  | 'ETCD_TOO_MANY_LEARNERS'
  | 'ETCD_LEARNER_NOT_READY'
  | 'ETCD_NOT_A_LEARNER'
  | 'ETCD_NOT_LEADER'
  | 'ETCD_BAD_LEADER_TRANSFEREE'
  | 'ETCD_NO_LEADER'
  | 'ETCD_LEADER_CHANGED'
  | 'ETCD_LEARNER_RPC'
  | 'ETCD_REQUEST_TIMEOUT'
  | 'ETCD_SERVER_STOPPED'
  | 'ETCD_MEMBER_REMOVED'
  | 'ETCD_NOT_CAPABLE'
  | 'ETCD_CLUSTER_ID_MISMATCH'
  | 'ETCD_NO_SPACE'
  | 'ETCD_TOO_MANY_REQUESTS'
  | 'ETCD_CORRUPT'
  | 'ETCD_UNAVAILABLE'
  | 'ETCD_TIMEOUT'
  | 'ETCD_ABORTED'
  | 'ETCD_CLIENT_CLOSED'
  | 'ETCD_PROCESS_EXITED'
  | 'ETCD_SPAWN_FAILED'
  | 'ETCD_UNKNOWN';

/** One row: matched by a lower-cased substring of the message, or by the gRPC status code. */
export interface EtcdErrorRule {
  code: EtcdErrorCode;
  retryable: boolean;
  /** Lower-case substring of the error message (etcd's own text, or grpc-js's). */
  message?: string;
  /** gRPC status code (e.g. 14 = UNAVAILABLE), used when no message rule matched. */
  grpcStatus?: number;
  /** Why, for readers of logs and of this table. */
  meaning: string;
}

/**
 * Message rules are tried in order, so a message that contains another (e.g. "…learner member which is
 * in sync with leader" contains "…learner member") comes first.
 */
export const ETCD_ERROR_RULES: readonly EtcdErrorRule[] = [
  {
    code: 'ETCD_MEMBER_NOT_FOUND',
    retryable: false,
    message: 'etcdserver: member not found',
    meaning:
      'no member with that id (remove: already gone). On add it really is ErrIDRemoved: the same peer URL was added within the same second as an earlier add (etcd-physics §3b); the adapter marks that case retryable',
  },
  {
    code: 'ETCD_PEER_URL_EXISTS',
    retryable: false,
    message: 'etcdserver: peer urls already exists',
    meaning: 'a member with this peer URL is already in the cluster',
  },
  {
    code: 'ETCD_MEMBER_EXISTS',
    retryable: false,
    message: 'etcdserver: member id already exist',
    meaning: 'the computed member id is already in the cluster',
  },
  {
    code: 'ETCD_BAD_PEER_URLS',
    retryable: false,
    message: 'etcdserver: given member urls are invalid',
    meaning: 'the peer URL is malformed',
  },
  {
    code: 'ETCD_UNHEALTHY_CLUSTER',
    retryable: true,
    message: 'etcdserver: unhealthy cluster',
    meaning:
      'strict reconfig check: a voter is down or was (re)started less than ~5 s ago, or the change would cost quorum',
  },
  {
    code: 'ETCD_NOT_ENOUGH_STARTED',
    retryable: true,
    message: 'etcdserver: re-configuration failed due to not enough started members',
    meaning: 'too few started voters to add/remove a voter safely',
  },
  {
    code: 'ETCD_TOO_MANY_LEARNERS',
    retryable: true,
    // No prefix: the same text is "membership: …" inside the server (membership/errors.go) and
    // "etcdserver: …" on the wire (rpctypes ErrGRPCTooManyLearners), in 3.4, 3.5 and 3.6.
    message: 'too many learner members in cluster',
    meaning:
      'the learner limit is reached: one learner in 3.4/3.5 (hard-coded), --max-learners (default 1) from 3.6; promote or remove one first',
  },
  {
    code: 'ETCD_LEARNER_NOT_READY',
    retryable: true,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
    meaning: 'the learner has not started or not caught up with the leader yet',
  },
  {
    code: 'ETCD_NOT_A_LEARNER',
    retryable: false,
    message: 'etcdserver: can only promote a learner member',
    meaning: 'promote of a member that is already a voter',
  },
  {
    code: 'ETCD_BAD_LEADER_TRANSFEREE',
    retryable: false,
    message: 'etcdserver: bad leader transferee',
    meaning: 'move-leader target is not a voting member',
  },
  {
    code: 'ETCD_NOT_LEADER',
    retryable: false,
    message: 'etcdserver: not leader',
    meaning: 'the call (move-leader) must be sent to the current leader',
  },
  {
    code: 'ETCD_NO_LEADER',
    retryable: true,
    message: 'etcdserver: no leader',
    meaning: 'the member has no leader: election in progress or quorum lost',
  },
  {
    code: 'ETCD_LEADER_CHANGED',
    retryable: true,
    message: 'etcdserver: leader changed',
    meaning: 'the leader changed while the request was in flight',
  },
  {
    code: 'ETCD_LEARNER_RPC',
    retryable: false,
    message: 'etcdserver: rpc not supported for learner',
    meaning:
      'the endpoint is a learner; ask a voter (gRPC UNAVAILABLE in 3.4/3.5, FAILED_PRECONDITION from 3.6)',
  },
  {
    code: 'ETCD_NOT_CAPABLE',
    retryable: false,
    message: 'etcdserver: not capable',
    meaning:
      "the cluster version does not enable the call's capability yet (mixed versions during an upgrade); UNAVAILABLE in 3.4/3.5, FAILED_PRECONDITION from 3.6",
  },
  {
    code: 'ETCD_CLUSTER_ID_MISMATCH',
    retryable: false,
    message: 'etcdserver: cluster id mismatch',
    meaning: 'the endpoint belongs to another cluster than the request names (3.4.45+, 3.5, 3.6)',
  },
  {
    code: 'ETCD_REQUEST_TIMEOUT',
    retryable: true,
    message: 'etcdserver: request timed out',
    meaning: "etcd's own 7 s request timeout (leader failure, lost connection, no quorum)",
  },
  {
    code: 'ETCD_SERVER_STOPPED',
    retryable: true,
    message: 'etcdserver: server stopped',
    meaning: 'the member is shutting down',
  },
  {
    code: 'ETCD_MEMBER_REMOVED',
    retryable: false,
    message: 'the member has been permanently removed',
    meaning: 'this member was removed from the cluster; its data dir must be wiped before it rejoins',
  },
  {
    code: 'ETCD_NO_SPACE',
    retryable: false,
    message: 'etcdserver: mvcc: database space exceeded',
    meaning: 'NOSPACE alarm: compact and defragment',
  },
  {
    code: 'ETCD_TOO_MANY_REQUESTS',
    retryable: true,
    message: 'etcdserver: too many requests',
    meaning: 'the server is overloaded',
  },
  {
    code: 'ETCD_CORRUPT',
    retryable: false,
    message: 'etcdserver: corrupt cluster',
    meaning: 'CORRUPT alarm raised',
  },
  {
    code: 'ETCD_TIMEOUT',
    retryable: true,
    message: 'context deadline exceeded',
    meaning:
      'our deadline (propagated to the server as grpc-timeout) passed; 3.5+ sends it as "etcdserver: context deadline exceeded"',
  },
  {
    code: 'ETCD_ABORTED',
    retryable: true,
    // 3.5+ on the wire: "etcdserver: request canceled"; 3.4's server-side ErrCanceled: "…cancelled".
    message: 'etcdserver: request cancel',
    meaning:
      "the server's context for the request was cancelled (client went away, or the member is stopping)",
  },
  {
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
    message: 'no connection established',
    meaning: 'could not connect to the endpoint',
  },
  {
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
    message: 'econnrefused',
    meaning: 'nothing listens on the endpoint',
  },
  {
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
    message: 'circuit breaker is open',
    meaning: "etcd3's per-host circuit breaker refused the call",
  },
  {
    code: 'ETCD_TIMEOUT',
    retryable: true,
    grpcStatus: 4,
    meaning: 'our deadline passed (DEADLINE_EXCEEDED)',
  },
  { code: 'ETCD_ABORTED', retryable: true, grpcStatus: 1, meaning: 'the call was cancelled (CANCELLED)' },
  {
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
    grpcStatus: 14,
    meaning: 'endpoint unreachable or connection dropped (UNAVAILABLE)',
  },
  { code: 'ETCD_UNKNOWN', retryable: false, meaning: 'anything not listed above' },
];

const STATUS_NAMES: Record<string, number> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/**
 * The gRPC status of an error: raw grpc-js errors carry a numeric `code`; etcd3's cast errors only keep
 * the message, which grpc-js formats as "14 UNAVAILABLE: …".
 */
export function grpcStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') return code;
  const message = (err as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  const m = /^(?:\w+: )?(\d{1,2}) ([A-Z_]+):/.exec(message);
  if (m && STATUS_NAMES[m[2] ?? ''] === Number(m[1])) return Number(m[1]);
  return undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

/** The rule that applies to `err` (the last, ETCD_UNKNOWN, when nothing else matches). */
export function classifyEtcdFailure(err: unknown): EtcdErrorRule {
  const text = messageOf(err).toLowerCase();
  for (const rule of ETCD_ERROR_RULES) {
    if (rule.message !== undefined && text.includes(rule.message)) return rule;
  }
  if (isBrokenCircuitError(err)) return ruleFor('ETCD_UNAVAILABLE');
  const status = grpcStatusOf(err);
  if (status !== undefined) {
    for (const rule of ETCD_ERROR_RULES) {
      if (rule.grpcStatus === status) return rule;
    }
  }
  return ruleFor('ETCD_UNKNOWN');
}

function ruleFor(code: EtcdErrorCode): EtcdErrorRule {
  const rule = ETCD_ERROR_RULES.find((r) => r.code === code);
  if (rule === undefined) throw new Error(`no rule for ${code}`);
  return rule;
}

/**
 * Maps any failure of an etcd call to an {@link EtcdError}. An error that already is an EtcdError with an
 * ETCD_* code is returned as it is; an AbortSignal's reason becomes ETCD_TIMEOUT (a TimeoutError reason)
 * or ETCD_ABORTED.
 *
 * @example
 * try { await client.cluster.memberRemove({ ID }) } catch (e) { throw toEtcdError(e, `remove ${id} via ${url}`) }
 */
export function toEtcdError(err: unknown, context: string): EtcdError {
  if (err instanceof EtcdError && errorCode(err)?.startsWith('ETCD_')) return err;
  const message = messageOf(err);
  if (err instanceof ClientClosedError) {
    return new EtcdError(`${context}: ${message}`, {
      code: 'ETCD_CLIENT_CLOSED',
      retryable: false,
      cause: err,
    });
  }
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  if (!(err instanceof GRPCGenericError) && (name === 'TimeoutError' || errorCode(err) === 'TIMEOUT')) {
    return new EtcdError(`${context}: deadline passed (${message})`, {
      code: 'ETCD_TIMEOUT',
      retryable: true,
      cause: err,
    });
  }
  if (!(err instanceof GRPCGenericError) && name === 'AbortError') {
    return new EtcdError(`${context}: aborted (${message})`, {
      code: 'ETCD_ABORTED',
      retryable: false,
      cause: err,
    });
  }
  const rule = classifyEtcdFailure(err);
  return new EtcdError(`${context}: ${message}`, { code: rule.code, retryable: rule.retryable, cause: err });
}

/**
 * The error for an aborted signal, whose reason is usually a DOMException (TimeoutError from
 * AbortSignal.timeout, AbortError from AbortController.abort()).
 */
export function abortedError(signal: AbortSignal, context: string): EtcdError {
  const reason: unknown = signal.reason ?? new Error('aborted');
  const name =
    typeof reason === 'object' && reason !== null ? (reason as { name?: unknown }).name : undefined;
  const isTimeout =
    name === 'TimeoutError' || errorCode(reason) === 'TIMEOUT' || errorCode(reason) === 'ETCD_TIMEOUT';
  return new EtcdError(`${context}: ${isTimeout ? 'deadline passed' : 'aborted'} (${messageOf(reason)})`, {
    code: isTimeout ? 'ETCD_TIMEOUT' : 'ETCD_ABORTED',
    retryable: isTimeout,
    cause: reason,
  });
}

/**
 * A "member not found" answer to a member add means the peer URL was re-added within the same second as
 * an earlier add, so etcd computed an id it had already removed (etcd-physics §3b). Retrying after ≥1 s
 * works, so that case is retryable.
 */
export function memberNotFoundOnAdd(err: EtcdError): EtcdError {
  if (err.code !== 'ETCD_MEMBER_NOT_FOUND') return err;
  return new EtcdError(
    `${err.message} (on add this means the peer URL was re-added within the same second as an earlier add and got a removed id; retry after 1 s)`,
    { code: 'ETCD_MEMBER_NOT_FOUND', retryable: true, cause: err.cause },
  );
}

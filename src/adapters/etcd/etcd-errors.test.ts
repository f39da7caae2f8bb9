import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EtcdError as Etcd3EtcdError,
  GRPCFailedPreconditionError,
  GRPCNotFoundError,
  GRPCUnavailableError,
  GRPCUnknownError,
  ClientClosedError,
} from 'etcd3';
import { BrokenCircuitError } from 'cockatiel';
import { EtcdError, TimeoutError, isRetryable } from '../../core/errors.ts';
import {
  ETCD_ERROR_RULES,
  abortedError,
  classifyEtcdFailure,
  grpcStatusOf,
  memberNotFoundOnAdd,
  toEtcdError,
  type EtcdErrorCode,
} from './etcd-errors.ts';

// Exact texts quoted in etcd-physics.md §4 (etcdctl) and §6 (etcd3 npm), as etcd3 delivers them.
const cases: { what: string; err: unknown; code: EtcdErrorCode; retryable: boolean }[] = [
  {
    what: 'remove of an unknown id',
    err: new GRPCNotFoundError('5 NOT_FOUND: etcdserver: member not found'),
    code: 'ETCD_MEMBER_NOT_FOUND',
    retryable: false,
  },
  {
    what: 'add of an existing peer URL',
    err: new GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: Peer URLs already exists'),
    code: 'ETCD_PEER_URL_EXISTS',
    retryable: false,
  },
  {
    what: 'add while a voter is down or just restarted',
    err: new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: unhealthy cluster'),
    code: 'ETCD_UNHEALTHY_CLUSTER',
    retryable: true,
  },
  {
    what: 'second learner',
    err: new GRPCFailedPreconditionError(
      '9 FAILED_PRECONDITION: etcdserver: too many learner members in cluster',
    ),
    code: 'ETCD_TOO_MANY_LEARNERS',
    retryable: true,
  },
  {
    what: 'promote of a learner not yet in sync',
    err: new GRPCFailedPreconditionError(
      '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader',
    ),
    code: 'ETCD_LEARNER_NOT_READY',
    retryable: true,
  },
  {
    what: 'promote of a voter',
    err: new GRPCFailedPreconditionError(
      '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member',
    ),
    code: 'ETCD_NOT_A_LEARNER',
    retryable: false,
  },
  {
    what: 'move-leader sent to a follower',
    err: new GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: not leader'),
    code: 'ETCD_NOT_LEADER',
    retryable: false,
  },
  {
    what: 'move-leader to an unknown target',
    err: new GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: bad leader transferee'),
    code: 'ETCD_BAD_LEADER_TRANSFEREE',
    retryable: false,
  },
  {
    what: 'promote without quorum',
    err: new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: no leader'),
    code: 'ETCD_NO_LEADER',
    retryable: true,
  },
  {
    what: 'KV / member list on a learner',
    err: new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: rpc not supported for learner'),
    code: 'ETCD_LEARNER_RPC',
    retryable: false,
  },
  {
    what: "etcd's 7 s request timeout",
    err: new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: request timed out'),
    code: 'ETCD_REQUEST_TIMEOUT',
    retryable: true,
  },
  {
    what: "etcd's request timeout after a leader kill",
    err: new GRPCUnavailableError(
      '14 UNAVAILABLE: etcdserver: request timed out, possibly due to previous leader failure',
    ),
    code: 'ETCD_REQUEST_TIMEOUT',
    retryable: true,
  },
  {
    what: 'a removed member',
    err: new Etcd3EtcdError('etcdserver: the member has been permanently removed from the cluster'),
    code: 'ETCD_MEMBER_REMOVED',
    retryable: false,
  },
  {
    what: 'a dead endpoint',
    err: new GRPCUnavailableError(
      '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.21.99:2379',
    ),
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
  },
  {
    what: "etcd3's circuit breaker",
    err: new BrokenCircuitError('Execution prevented because the circuit breaker is open'),
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
  },
  {
    what: 'a dropped connection (UNAVAILABLE without an etcd message)',
    err: new GRPCUnavailableError('14 UNAVAILABLE: Connection dropped'),
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
  },
  {
    what: 'the server gave up at our propagated deadline',
    err: new GRPCUnknownError('2 UNKNOWN: context deadline exceeded'),
    code: 'ETCD_TIMEOUT',
    retryable: true,
  },
  {
    what: 'a raw grpc-js DEADLINE_EXCEEDED (stream errors are not cast by etcd3)',
    err: Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), {
      code: 4,
      details: 'Deadline exceeded',
    }),
    code: 'ETCD_TIMEOUT',
    retryable: true,
  },
  {
    what: 'a raw grpc-js UNAVAILABLE',
    err: Object.assign(new Error('14 UNAVAILABLE: read ECONNRESET'), { code: 14 }),
    code: 'ETCD_UNAVAILABLE',
    retryable: true,
  },
  {
    what: 'an AbortSignal.timeout reason',
    err: new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    code: 'ETCD_TIMEOUT',
    retryable: true,
  },
  {
    what: 'our own TimeoutError',
    err: new TimeoutError('waited too long'),
    code: 'ETCD_TIMEOUT',
    retryable: true,
  },
  {
    what: 'an AbortController.abort() reason',
    err: new DOMException('This operation was aborted', 'AbortError'),
    code: 'ETCD_ABORTED',
    retryable: false,
  },
  {
    what: 'a closed client',
    err: new ClientClosedError('Cluster'),
    code: 'ETCD_CLIENT_CLOSED',
    retryable: false,
  },
  {
    what: 'anything else',
    err: new Error('something odd'),
    code: 'ETCD_UNKNOWN',
    retryable: false,
  },
];

for (const c of cases) {
  test(`toEtcdError: ${c.what} → ${c.code}`, () => {
    const e = toEtcdError(c.err, 'remove 8e9e05c52164694d via http://127.0.21.11:2379');
    assert.ok(e instanceof EtcdError);
    assert.equal(e.code, c.code);
    assert.equal(e.retryable, c.retryable);
    assert.equal(isRetryable(e), c.retryable);
    assert.equal(e.cause, c.err, 'the original error is kept as cause');
    assert.match(e.message, /^remove 8e9e05c52164694d via http:\/\/127\.0\.21\.11:2379: /);
  });
}

test('every message rule classifies its own message, also when wrapped in gRPC framing', () => {
  for (const rule of ETCD_ERROR_RULES) {
    if (rule.message === undefined) continue;
    const upper = rule.message.replace('peer urls', 'Peer URLs').replace('member id', 'member ID');
    assert.equal(
      classifyEtcdFailure(new Error(`9 FAILED_PRECONDITION: ${upper}`)).code,
      rule.code,
      rule.message,
    );
  }
});

test('an EtcdError that already carries an ETCD_* code passes through unchanged', () => {
  const e = new EtcdError('x', { code: 'ETCD_NOT_LEADER', retryable: false });
  assert.equal(toEtcdError(e, 'ctx'), e);
});

test('grpcStatusOf reads a numeric code or the "N NAME:" prefix, and nothing else', () => {
  assert.equal(grpcStatusOf({ code: 14 }), 14);
  assert.equal(grpcStatusOf(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded')), 4);
  assert.equal(grpcStatusOf(new Error('GRPCUnavailableError: 14 UNAVAILABLE: x')), 14);
  assert.equal(grpcStatusOf(new Error('14 DEADLINE_EXCEEDED: mismatched')), undefined);
  assert.equal(grpcStatusOf(new Error('no status here')), undefined);
  assert.equal(grpcStatusOf('string'), undefined);
});

test('"member not found" on add is the re-added-within-a-second case: retryable', () => {
  const raw = new GRPCNotFoundError('5 NOT_FOUND: etcdserver: member not found');
  const e = memberNotFoundOnAdd(toEtcdError(raw, 'add http://127.0.21.14:2380'));
  assert.equal(e.code, 'ETCD_MEMBER_NOT_FOUND');
  assert.equal(e.retryable, true);
  assert.match(e.message, /same second/);
  assert.equal(e.cause, raw);
  const other = toEtcdError(new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: unhealthy cluster'), 'add');
  assert.equal(memberNotFoundOnAdd(other), other);
});

test('abortedError tells a deadline from a cancellation', () => {
  assert.equal(
    abortedError(AbortSignal.abort(new DOMException('t', 'TimeoutError')), 'ctx').code,
    'ETCD_TIMEOUT',
  );
  const c = new AbortController();
  c.abort();
  const e = abortedError(c.signal, 'ctx');
  assert.equal(e.code, 'ETCD_ABORTED');
  assert.equal(e.retryable, false);
});

/**
 * etcd's own texts and gRPC codes, quoted from its source at three tags (read with
 * `git show <tag>:<file>` in etcd-io/etcd):
 * - v3.4.23: etcdserver/api/v3rpc/rpctypes/error.go, etcdserver/errors.go
 * - v3.5.33: api/v3rpc/rpctypes/error.go, server/etcdserver/errors.go
 * - v3.6.14: api/v3rpc/rpctypes/error.go, server/etcdserver/errors/errors.go
 * and membership/errors.go (`ErrTooManyLearners = errors.New("membership: too many learner members in
 * cluster")`, same at all three). grpc-js prints a status as "<code> <NAME>: <text>", which is what
 * etcd3 keeps in `message`. Only "rpc not supported for learner" and "not capable" changed code (14 →
 * 9 in 3.6.0); the rest is identical.
 */
type Quoted = {
  tag: string;
  status: [number, string];
  text: string;
  code: EtcdErrorCode;
  retryable: boolean;
};
const UNAVAILABLE: [number, string] = [14, 'UNAVAILABLE'];
const FAILED_PRECONDITION: [number, string] = [9, 'FAILED_PRECONDITION'];
const NOT_FOUND: [number, string] = [5, 'NOT_FOUND'];
const INVALID_ARGUMENT: [number, string] = [3, 'INVALID_ARGUMENT'];
const RESOURCE_EXHAUSTED: [number, string] = [8, 'RESOURCE_EXHAUSTED'];
const DATA_LOSS: [number, string] = [15, 'DATA_LOSS'];
const CANCELLED: [number, string] = [1, 'CANCELLED'];
const DEADLINE_EXCEEDED: [number, string] = [4, 'DEADLINE_EXCEEDED'];

/** Same text and code in every line we support. */
const everyTag = (
  status: [number, string],
  text: string,
  code: EtcdErrorCode,
  retryable: boolean,
): Quoted[] => ['v3.4.23', 'v3.5.33', 'v3.6.14'].map((tag) => ({ tag, status, text, code, retryable }));

const QUOTED: Quoted[] = [
  // ErrGRPCMemberNotFound, ErrGRPCPeerURLExist, ErrGRPCMemberExist, ErrGRPCMemberBadURLs
  ...everyTag(NOT_FOUND, 'etcdserver: member not found', 'ETCD_MEMBER_NOT_FOUND', false),
  ...everyTag(FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists', 'ETCD_PEER_URL_EXISTS', false),
  ...everyTag(FAILED_PRECONDITION, 'etcdserver: member ID already exist', 'ETCD_MEMBER_EXISTS', false),
  ...everyTag(INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid', 'ETCD_BAD_PEER_URLS', false),
  // ErrGRPCMemberNotEnoughStarted, ErrGRPCUnhealthy
  ...everyTag(
    FAILED_PRECONDITION,
    'etcdserver: re-configuration failed due to not enough started members',
    'ETCD_NOT_ENOUGH_STARTED',
    true,
  ),
  ...everyTag(UNAVAILABLE, 'etcdserver: unhealthy cluster', 'ETCD_UNHEALTHY_CLUSTER', true),
  // ErrGRPCTooManyLearners (wire) and membership.ErrTooManyLearners (server text)
  ...everyTag(
    FAILED_PRECONDITION,
    'etcdserver: too many learner members in cluster',
    'ETCD_TOO_MANY_LEARNERS',
    true,
  ),
  ...everyTag(
    FAILED_PRECONDITION,
    'membership: too many learner members in cluster',
    'ETCD_TOO_MANY_LEARNERS',
    true,
  ),
  // ErrGRPCLearnerNotReady, ErrGRPCMemberNotLearner
  ...everyTag(
    FAILED_PRECONDITION,
    'etcdserver: can only promote a learner member which is in sync with leader',
    'ETCD_LEARNER_NOT_READY',
    true,
  ),
  ...everyTag(
    FAILED_PRECONDITION,
    'etcdserver: can only promote a learner member',
    'ETCD_NOT_A_LEARNER',
    false,
  ),
  // ErrGRPCNotLeader, ErrGRPCBadLeaderTransferee, ErrGRPCNoLeader, ErrGRPCLeaderChanged
  ...everyTag(FAILED_PRECONDITION, 'etcdserver: not leader', 'ETCD_NOT_LEADER', false),
  ...everyTag(FAILED_PRECONDITION, 'etcdserver: bad leader transferee', 'ETCD_BAD_LEADER_TRANSFEREE', false),
  ...everyTag(UNAVAILABLE, 'etcdserver: no leader', 'ETCD_NO_LEADER', true),
  ...everyTag(UNAVAILABLE, 'etcdserver: leader changed', 'ETCD_LEADER_CHANGED', true),
  // ErrGRPCTimeout and its variants, ErrGRPCStopped
  ...everyTag(UNAVAILABLE, 'etcdserver: request timed out', 'ETCD_REQUEST_TIMEOUT', true),
  ...everyTag(
    UNAVAILABLE,
    'etcdserver: request timed out, possibly due to previous leader failure',
    'ETCD_REQUEST_TIMEOUT',
    true,
  ),
  ...everyTag(
    UNAVAILABLE,
    'etcdserver: request timed out, possibly due to connection lost',
    'ETCD_REQUEST_TIMEOUT',
    true,
  ),
  ...everyTag(
    UNAVAILABLE,
    'etcdserver: request timed out, waiting for the applied index took too long',
    'ETCD_REQUEST_TIMEOUT',
    true,
  ),
  ...everyTag(UNAVAILABLE, 'etcdserver: server stopped', 'ETCD_SERVER_STOPPED', true),
  // ErrGRPCNoSpace, ErrGRPCRequestTooManyRequests, ErrGRPCCorrupt
  ...everyTag(RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded', 'ETCD_NO_SPACE', false),
  ...everyTag(RESOURCE_EXHAUSTED, 'etcdserver: too many requests', 'ETCD_TOO_MANY_REQUESTS', true),
  ...everyTag(DATA_LOSS, 'etcdserver: corrupt cluster', 'ETCD_CORRUPT', false),
  // ErrGPRCNotSupportedForLearner (3.4/3.5 spelling) → ErrGRPCNotSupportedForLearner (3.6): new code
  {
    tag: 'v3.4.23',
    status: UNAVAILABLE,
    text: 'etcdserver: rpc not supported for learner',
    code: 'ETCD_LEARNER_RPC',
    retryable: false,
  },
  {
    tag: 'v3.5.33',
    status: UNAVAILABLE,
    text: 'etcdserver: rpc not supported for learner',
    code: 'ETCD_LEARNER_RPC',
    retryable: false,
  },
  {
    tag: 'v3.6.14',
    status: FAILED_PRECONDITION,
    text: 'etcdserver: rpc not supported for learner',
    code: 'ETCD_LEARNER_RPC',
    retryable: false,
  },
  // ErrGRPCNotCapable: 14 → 9 in 3.6
  {
    tag: 'v3.4.23',
    status: UNAVAILABLE,
    text: 'etcdserver: not capable',
    code: 'ETCD_NOT_CAPABLE',
    retryable: false,
  },
  {
    tag: 'v3.5.33',
    status: UNAVAILABLE,
    text: 'etcdserver: not capable',
    code: 'ETCD_NOT_CAPABLE',
    retryable: false,
  },
  {
    tag: 'v3.6.14',
    status: FAILED_PRECONDITION,
    text: 'etcdserver: not capable',
    code: 'ETCD_NOT_CAPABLE',
    retryable: false,
  },
  // ErrGRPCClusterIdMismatch (3.5.33; also 3.4.45, not in 3.4.23) → ErrGRPCClusterIDMismatch (3.6)
  {
    tag: 'v3.5.33',
    status: FAILED_PRECONDITION,
    text: 'etcdserver: cluster ID mismatch',
    code: 'ETCD_CLUSTER_ID_MISMATCH',
    retryable: false,
  },
  {
    tag: 'v3.6.14',
    status: FAILED_PRECONDITION,
    text: 'etcdserver: cluster ID mismatch',
    code: 'ETCD_CLUSTER_ID_MISMATCH',
    retryable: false,
  },
  // ErrGRPCCanceled / ErrGRPCDeadlineExceeded: only 3.5+ (toGRPCErrorMap maps context errors to them)
  {
    tag: 'v3.5.33',
    status: CANCELLED,
    text: 'etcdserver: request canceled',
    code: 'ETCD_ABORTED',
    retryable: true,
  },
  {
    tag: 'v3.6.14',
    status: CANCELLED,
    text: 'etcdserver: request canceled',
    code: 'ETCD_ABORTED',
    retryable: true,
  },
  {
    tag: 'v3.5.33',
    status: DEADLINE_EXCEEDED,
    text: 'etcdserver: context deadline exceeded',
    code: 'ETCD_TIMEOUT',
    retryable: true,
  },
  {
    tag: 'v3.6.14',
    status: DEADLINE_EXCEEDED,
    text: 'etcdserver: context deadline exceeded',
    code: 'ETCD_TIMEOUT',
    retryable: true,
  },
  // server-side ErrCanceled ("cancelled"), errors.go at all three tags; not in toGRPCErrorMap, so gRPC UNKNOWN
  ...everyTag([2, 'UNKNOWN'], 'etcdserver: request cancelled', 'ETCD_ABORTED', true),
  // rafthttp/util.go errMemberRemoved, the text a removed member logs and exits with, all three tags
  ...everyTag(
    [2, 'UNKNOWN'],
    'the member has been permanently removed from the cluster',
    'ETCD_MEMBER_REMOVED',
    false,
  ),
];

for (const q of QUOTED) {
  test(`etcd ${q.tag}: "${q.text}" (${q.status[0]} ${q.status[1]}) → ${q.code}`, () => {
    const wire = `${q.status[0]} ${q.status[1]}: ${q.text}`;
    // As etcd3 delivers it (message only) and as raw grpc-js does (numeric code + details).
    for (const err of [
      new Error(wire),
      Object.assign(new Error(wire), { code: q.status[0], details: q.text }),
    ]) {
      const e = toEtcdError(err, 'ctx');
      assert.equal(e.code, q.code, wire);
      assert.equal(e.retryable, q.retryable, wire);
    }
  });
}

test('the 3.6 code change alone cannot misclassify a learner refusal: the text decides, not the status', () => {
  // A FAILED_PRECONDITION without an etcd text is not a learner refusal, and UNAVAILABLE without one is
  // a connection problem: only the quoted text makes it ETCD_LEARNER_RPC.
  assert.equal(classifyEtcdFailure(new Error('9 FAILED_PRECONDITION: something else')).code, 'ETCD_UNKNOWN');
  assert.equal(
    classifyEtcdFailure(new Error('9 FAILED_PRECONDITION: etcdserver: rpc not supported for learner')).code,
    'ETCD_LEARNER_RPC',
  );
});

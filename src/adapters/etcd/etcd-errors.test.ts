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

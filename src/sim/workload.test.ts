import { test } from 'node:test';
import assert from 'node:assert/strict';
import { neverSent, padValue, pageSize, tagOfValue } from './workload.ts';

test('values are padded to the asked size with a filler that depends on the tag', () => {
  assert.equal(padValue('s1-0-1', 0), 's1-0-1');
  assert.equal(padValue('s1-0-1', 4), 's1-0-1');
  const a = padValue('s1-0-1', 100);
  const b = padValue('s1-0-2', 100);
  assert.equal(a.length, 100);
  assert.ok(a.startsWith('s1-0-1:'));
  assert.notEqual(a.slice(7), b.slice(7));
  assert.equal(padValue('s1-0-1', 100), a);
});

test('tagOfValue gives back the tag of a padded value and flags a value whose padding is not its own', () => {
  assert.equal(tagOfValue(padValue('s1-0-1', 8192), 8192), 's1-0-1');
  assert.equal(tagOfValue('s1-c4-2', 0), 's1-c4-2');
  const swapped = padValue('s1-0-1', 64).slice(0, 7) + padValue('s1-0-2', 64).slice(7);
  assert.equal(tagOfValue(swapped, 64), 'corrupt:s1-0-1');
});

test('pages stay near 1 MiB whatever the value size (gRPC refuses replies over 4 MiB)', () => {
  for (const size of [0, 100, 8192, 65_536, 1_048_576]) {
    const n = pageSize(size);
    assert.ok(n >= 1);
    assert.ok(n === 1 || n * (size + 64) <= 1_048_576, `${size} B → ${n} per page`);
  }
  assert.equal(pageSize(0), 5000);
  assert.equal(pageSize(8192), 127);
});

test('a write is sent again only when it never reached etcd (the soak caught a put applied twice)', () => {
  // What grpc-js says when no connection could be made: nothing was sent.
  assert.equal(
    neverSent(
      new Error(
        '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.9.250:2379.',
      ),
    ),
    true,
  );
  // Sent, outcome unknown: a deadline, etcd's own timeout, a reset mid-call, no leader. Retrying any of
  // these can apply the write a second time after another client's write (a linearizability violation).
  for (const msg of [
    '4 DEADLINE_EXCEEDED: Deadline exceeded',
    '2 UNKNOWN: context deadline exceeded',
    '14 UNAVAILABLE: etcdserver: request timed out',
    '14 UNAVAILABLE: Connection dropped',
    '14 UNAVAILABLE: etcdserver: no leader',
    '13 INTERNAL: Received RST_STREAM with code 2',
  ])
    assert.equal(neverSent(new Error(msg)), false, msg);
});

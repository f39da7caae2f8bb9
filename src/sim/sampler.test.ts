import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writerEndpoints } from './sampler.ts';
import type { FleetSnapshot, MemberRow } from './snapshot.ts';

const url = (n: number) => `http://127.0.9.${n}:2379`;
const inst = (n: number) => ({
  id: `i-${n}`,
  privateIp: `127.0.9.${n}`,
  state: 'running',
  agent: 'running' as const,
});
const member = (n: number, over: Partial<MemberRow> = {}): MemberRow => ({
  id: `m${n}`,
  name: `i-${n}`,
  peerUrl: `http://127.0.9.${n}:2380`,
  isLearner: false,
  instanceId: `i-${n}`,
  role: 'follower',
  ...over,
});
const snap = (members: MemberRow[], over: Partial<FleetSnapshot> = {}): FleetSnapshot => ({
  at: 0,
  instances: [1, 2, 3, 4].map(inst),
  members,
  ...over,
});
const live = [1, 2, 3, 4].map(url);

test('the writers use the started voters only: not a replacement that has no etcd yet, not a learner, not a member never started', () => {
  assert.deepEqual(writerEndpoints(snap([member(1), member(2), member(3)]), live), [url(1), url(2), url(3)]);
  assert.deepEqual(
    writerEndpoints(
      snap([member(1), member(2), member(3, { isLearner: true }), member(4, { name: '' })]),
      live,
    ),
    [url(1), url(2)],
  );
  // A member whose instance is gone (no instance id) is left out too.
  assert.deepEqual(writerEndpoints(snap([member(1), member(2, { instanceId: undefined })]), live), [url(1)]);
});

test('an unreadable member list keeps the current set; no started voter yet means every live instance (boot)', () => {
  assert.equal(writerEndpoints(snap([member(1)], { memberListError: 'timeout' }), live), undefined);
  assert.deepEqual(writerEndpoints(snap([]), live), live);
  assert.deepEqual(writerEndpoints(snap([member(1, { name: '' })]), live), live);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guardViolations, linearizabilityProblem } from './run.ts';
import type { LinearizabilityReport } from './linearizability.ts';
import type { DisruptionRecord } from './measure.ts';
import type { FleetSnapshot, InstanceRow } from './snapshot.ts';

function snap(rows: { id: string; state: InstanceRow['state']; memberId?: string }[]): FleetSnapshot {
  return {
    at: 0,
    members: [],
    instances: rows.map((r) => ({
      id: r.id,
      privateIp: '127.0.91.10',
      state: r.state,
      agent: 'running',
      ...(r.memberId !== undefined
        ? {
            etcd: {
              memberId: r.memberId,
              clusterId: 'c',
              leaderId: r.memberId,
              raftIndex: 1,
              isLearner: false,
              errors: [],
            },
          }
        : {}),
    })),
  };
}

const guarded = [{ step: 2, instanceId: 'i-a', memberId: 'aaaa' }];

test('a partitioned instance that kept its member is fine', () => {
  assert.deepEqual(
    guardViolations(guarded, snap([{ id: 'i-a', state: 'running', memberId: 'aaaa' }]), []),
    [],
  );
});

test('a running instance whose member changed (removed and re-added, or wiped) is a violation', () => {
  const v = guardViolations(guarded, snap([{ id: 'i-a', state: 'running', memberId: 'bbbb' }]), []);
  assert.equal(v.length, 1);
  assert.match(
    v[0] as string,
    /i-a still runs but its member aaaa \(cut off or frozen at step 3\) is now bbbb/,
  );
  assert.match(
    guardViolations(guarded, snap([{ id: 'i-a', state: 'running' }]), [])[0] as string,
    /is not serving/,
  );
});

test('an instance that is gone, or that a later step killed or wiped, is not held to it', () => {
  assert.deepEqual(guardViolations(guarded, snap([{ id: 'i-a', state: 'terminated' }]), []), []);
  const wiped = { index: 5, kind: 'wipe', instanceId: 'i-a' } as DisruptionRecord;
  assert.deepEqual(
    guardViolations(guarded, snap([{ id: 'i-a', state: 'running', memberId: 'bbbb' }]), [wiped]),
    [],
  );
});

const lin = (verdict: LinearizabilityReport['verdict']): LinearizabilityReport => ({
  verdict,
  operations: 10,
  registerOperations: 5,
  keys: 2,
  checkMs: 1,
  steps: 10,
  droppedMaybe: 0,
  boundedMaybe: 0,
  violations: verdict === 'violation' ? [{ key: 'l/1', window: [] }] : [],
  unknownKeys: verdict === 'unknown' ? ['l/2'] : [],
});

test('a non-linearizable or unknown history fails the run, unless a quorum-loss recovery lost writes on purpose', () => {
  assert.equal(linearizabilityProblem(lin('ok'), 0), undefined);
  assert.equal(linearizabilityProblem(lin('violation'), 0), 'not linearizable: l/1');
  assert.match(linearizabilityProblem(lin('unknown'), 0) ?? '', /step budget .* \(l\/2\)/);
  assert.equal(linearizabilityProblem(lin('violation'), 1), undefined);
});

test('a member still listed whose etcd does not answer was neither removed nor wiped', () => {
  const s = snap([{ id: 'i-a', state: 'running' }]);
  const listed = {
    ...s,
    members: [
      {
        id: 'aaaa',
        name: 'i-a',
        peerUrl: 'http://127.0.91.10:2380',
        isLearner: false,
        instanceId: 'i-a',
        role: 'unreachable',
      },
    ],
  } as FleetSnapshot;
  assert.deepEqual(guardViolations(guarded, listed, []), []);
  assert.equal(guardViolations(guarded, s, []).length, 1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FleetEvent } from './fleet.ts';
import { eventName, measureEvents, summariseTimings, writesInWindow } from './measure.ts';
import type { DisruptionRecord, EventTimings } from './measure.ts';
import { Monitor } from './monitor.ts';
import type { FleetSnapshot, MemberRow } from './snapshot.ts';

test('writes in a window: counts, and the longest stretch without a success measured from the window start', () => {
  const w = { acked: [100, 200, 300, 1500, 1600, 5000], failed: [400, 900, 1200, 6000] };
  assert.deepEqual(writesInWindow(w, 250, 2000), { acknowledged: 3, failed: 3, longestGapMs: 1200 });
  // Nothing succeeded in the window: the whole window is the gap.
  assert.deepEqual(writesInWindow(w, 2000, 4000), { acknowledged: 0, failed: 0, longestGapMs: 2000 });
  // The writers stopped at 5200: the tail after that is not a gap.
  assert.deepEqual(writesInWindow({ ...w, stoppedAt: 5200 }, 4000, 9000), {
    acknowledged: 1,
    failed: 1,
    longestGapMs: 1000,
  });
});

function member(id: string, instanceId: string, role: MemberRow['role']): MemberRow {
  return {
    id,
    name: instanceId,
    peerUrl: `http://127.0.9.${id.slice(-1)}:2380`,
    isLearner: role === 'learner',
    instanceId,
    role,
    leaderId: '00000000000000a1',
  };
}

function snap(at: number, members: MemberRow[], instances: string[]): FleetSnapshot {
  return {
    at,
    instances: instances.map((id) => ({
      id,
      privateIp: '127.0.9.1',
      state: 'running',
      agent: 'running',
      etcd: {
        memberId: 'x',
        clusterId: 'c',
        leaderId: '00000000000000a1',
        raftIndex: 1,
        isLearner: false,
        errors: [],
      },
    })),
    members,
  };
}

test('timings come from the monitor alone when there are no agent logs; simultaneous events share a window and split the replacements', () => {
  const monitor = new Monitor(5);
  const A = member('00000000000000a1', 'i-a', 'leader');
  const B = member('00000000000000b2', 'i-b', 'follower');
  const C = member('00000000000000c3', 'i-c', 'follower');
  monitor.observe(snap(1000, [A, B, C], ['i-a', 'i-b', 'i-c']));
  // t=2000: B and C interrupted at once; both gone by 4000; replacements D, E learners at 6000, voters at 8000.
  monitor.observe(snap(3000, [A, B], ['i-a', 'i-b', 'i-c']));
  monitor.observe(snap(4000, [A], ['i-a']));
  const D = member('00000000000000d4', 'i-d', 'learner');
  const E = member('00000000000000e5', 'i-e', 'learner');
  monitor.observe(snap(6000, [A, D, E], ['i-a', 'i-d', 'i-e']));
  monitor.observe(
    snap(
      8000,
      [A, { ...D, isLearner: false, role: 'follower' }, { ...E, isLearner: false, role: 'follower' }],
      ['i-a', 'i-d', 'i-e'],
    ),
  );
  const events: FleetEvent[] = [
    { at: 2100, type: 'launched', instanceId: 'i-d', text: '' },
    { at: 2200, type: 'launched', instanceId: 'i-e', text: '' },
    { at: 3500, type: 'terminated', instanceId: 'i-c', text: '' },
    { at: 4500, type: 'terminated', instanceId: 'i-b', text: '' },
  ];
  const rec = (instanceId: string, memberId: string): DisruptionRecord => ({
    index: 2,
    kind: 'interrupt',
    description: 'interrupt 2 followers at once (notice 15s)',
    instanceId,
    memberId,
    wasLeader: false,
    at: 2000,
    instancesBefore: ['i-a', 'i-b', 'i-c'],
    final: true,
  });
  const timings = measureEvents([rec('i-b', B.id), rec('i-c', C.id)], 10_000, 0, monitor, events, [], {
    acked: [1500, 2500, 9000],
    failed: [3000],
  });
  assert.equal(timings.length, 2);
  const [tb, tc] = timings as [(typeof timings)[0], (typeof timings)[0]];
  assert.equal(tb.windowMs, 8000, 'events of one step share the window until the end');
  assert.equal(tb.timingSource, 'monitor');
  assert.equal(tb.memberRemovedAfterMs, 2000); // first sample without B
  assert.equal(tc.memberRemovedAfterMs, 1000);
  assert.equal(tb.removedBeforeTerminated, true);
  assert.deepEqual(tb.agentActions, []);
  assert.deepEqual(
    tb.replacements.map((r) => r.instanceId),
    ['i-d'],
  );
  assert.deepEqual(
    tc.replacements.map((r) => r.instanceId),
    ['i-e'],
  );
  assert.equal(tb.replacements[0]?.learnerAfterMs, 4000);
  assert.equal(tb.replacements[0]?.voterAfterMs, 6000);
  assert.deepEqual(tb.writes, { acknowledged: 2, failed: 1, longestGapMs: 6500 });
  assert.match(summariseTimings(tb), /writes in window: 2 ok, 1 failed, longest gap 6\.5 s/);
});

test('a killed leader is not a hand-over (no leaderMovedFirst); an announced leave with the same observations is; events are numbered 1..n', () => {
  const withLeader = (
    at: number,
    leader: string,
    members: MemberRow[],
    instances: string[],
  ): FleetSnapshot => {
    const s = snap(at, members, instances);
    for (const i of s.instances) if (i.etcd) i.etcd.leaderId = leader;
    return s;
  };
  const A = member('00000000000000a1', 'i-a', 'leader');
  const B = member('00000000000000b2', 'i-b', 'follower');
  const C = member('00000000000000c3', 'i-c', 'follower');
  const run = (kind: 'kill9' | 'interrupt') => {
    const monitor = new Monitor(5);
    monitor.observe(withLeader(1000, A.id, [A, B, C], ['i-a', 'i-b', 'i-c']));
    // B takes over at 3500 (an election after the kill, or the hand-over before the leave), A goes at 6000
    monitor.observe(withLeader(3500, B.id, [A, { ...B, role: 'leader' }, C], ['i-b', 'i-c']));
    monitor.observe(withLeader(6000, B.id, [{ ...B, role: 'leader' }, C], ['i-b', 'i-c']));
    const rec = (index: number, at: number): DisruptionRecord => ({
      index,
      kind,
      description: kind,
      instanceId: 'i-a',
      memberId: A.id,
      wasLeader: true,
      at,
      instancesBefore: ['i-a', 'i-b', 'i-c'],
      final: true,
      targetVoters: 3,
      ...(kind === 'interrupt' ? { noticeMs: 15_000 } : {}),
    });
    return measureEvents([rec(2, 2000), rec(5, 8000)], 10_000, 0, monitor, [], []);
  };
  const [killed] = run('kill9');
  assert.equal(killed?.leaderMovedFirst, undefined, 'nothing moved leadership: an election followed');
  assert.match(
    summariseTimings(killed as EventTimings),
    /the leader was killed: no hand-over possible, an election followed/,
  );
  assert.doesNotMatch(summariseTimings(killed as EventTimings), /leadership moved first/);
  const left = run('interrupt');
  assert.equal(left[0]?.leaderMovedFirst, true);
  assert.equal(left[0]?.noticeMs, 15_000);
  assert.equal(left[0]?.targetVoters, 3);
  assert.match(summariseTimings(left[0] as EventTimings), /below target voters \(3\)/);
  // the one numbering: 1..n in order, whatever the steps
  assert.deepEqual(
    left.map((e) => [e.n, e.step]),
    [
      [1, 2],
      [2, 5],
    ],
  );
  assert.equal(eventName(left[1] as EventTimings), 'event 2 (step 6)');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { CloudState } from './state.ts';
import type { EmulatorEvent, InstanceView } from './types.ts';

const T0 = Date.UTC(2026, 0, 1);

function setup(seed = 7): { clock: ManualClock; state: CloudState } {
  const clock = new ManualClock(T0);
  return { clock, state: new CloudState({ clock, token: 'tok', seed }) };
}

function active(state: CloudState, groupId: string): InstanceView[] {
  return state.listInstances({ groupId }).filter((i) => i.state === 'pending' || i.state === 'running');
}

test('createGroup launches target capacity with unique ids and IPs from the pool', () => {
  const { state } = setup();
  const g = state.createGroup({ id: 'sig-aaaa1111', name: 'etcd', targetCapacity: 5 });
  assert.equal(g.targetCapacity, 5);
  const insts = state.listInstances({ groupId: g.id });
  assert.equal(insts.length, 5);
  for (const i of insts) {
    assert.match(i.id, /^i-[0-9a-f]{17}$/);
    assert.match(i.spotInstanceRequestId, /^sir-[a-z0-9]{8}$/);
    assert.equal(i.state, 'running');
    assert.equal(i.lifeCycleState, 'ACTIVE');
    assert.equal(i.targetLifecycleState, 'InService');
  }
  assert.deepEqual(
    insts.map((i) => i.privateIp),
    ['127.0.100.10', '127.0.100.11', '127.0.100.12', '127.0.100.13', '127.0.100.14'],
  );
  assert.equal(new Set(insts.map((i) => i.id)).size, 5);
  assert.deepEqual(
    insts.map((i) => i.availabilityZone),
    ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1a', 'us-east-1b'],
  );
  const generated = state.createGroup({ name: 'other', targetCapacity: 0 });
  assert.match(generated.id, /^sig-[0-9a-f]{8}$/);
});

test('the same seed gives the same ids; two states in one process do not interfere', () => {
  const a = setup(42).state;
  const b = setup(42).state;
  const c = new CloudState({ clock: new ManualClock(T0), token: 'x', seed: 43, ipPrefix: '127.0.55' });
  a.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 3 });
  b.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 3 });
  c.createGroup({ id: 'sig-1', name: 'c', targetCapacity: 1 });
  assert.deepEqual(
    a.listInstances().map((i) => i.id),
    b.listInstances().map((i) => i.id),
  );
  assert.notEqual(c.listInstances()[0]?.id, a.listInstances()[0]?.id);
  assert.equal(c.listInstances()[0]?.privateIp, '127.0.55.10');
  a.terminateInstance(a.listInstances()[0]!.id);
  assert.equal(
    b.listInstances({ includeTerminated: true }).filter((i) => i.state === 'terminated').length,
    0,
  );
});

test('interrupt: TERMINATING now with a spot notice, replaced at once, terminated when the grace ends', async () => {
  const { clock, state } = setup();
  state.createGroup({ id: 'sig-1', name: 'etcd', targetCapacity: 3 });
  const victim = state.listInstances()[0]!;
  const v = state.interruptInstance(victim.id);
  assert.equal(v.state, 'terminating');
  assert.equal(v.lifeCycleState, 'TERMINATING');
  assert.equal(v.targetLifecycleState, 'Terminated');
  assert.deepEqual(v.spotNotice, { action: 'terminate', time: T0 + 120_000 });
  assert.equal(v.rebalanceNoticeTime, T0);
  assert.equal(v.terminateAt, T0 + 120_000);
  // replaceOn defaults to 'terminating': a replacement is launched right away.
  assert.equal(active(state, 'sig-1').length, 3);
  assert.equal(state.listInstances({ groupId: 'sig-1' }).length, 4);

  await clock.advance(119_999);
  state.advance();
  assert.equal(state.getInstance(victim.id)?.state, 'terminating');
  await clock.advance(1);
  assert.equal(state.advance(), 1);
  const gone = state.getInstance(victim.id)!;
  assert.equal(gone.state, 'terminated');
  assert.equal(gone.terminatedAt, T0 + 120_000);
  assert.equal(gone.terminationReason, 'interrupt');
  assert.equal(active(state, 'sig-1').length, 3);
});

test('INSTANCE_READY_TO_SHUTDOWN terminates a TERMINATING instance at once; on an ACTIVE one it is only recorded', () => {
  const { state } = setup();
  state.createGroup({ id: 'sig-1', name: 'etcd', targetCapacity: 2 });
  const [a, b] = state.listInstances();
  assert.deepEqual(state.signal(b!.id, 'INSTANCE_READY_TO_SHUTDOWN').effect, 'recorded');
  assert.equal(state.getInstance(b!.id)?.state, 'running');
  state.interruptInstance(a!.id);
  const r = state.signal(a!.id, 'INSTANCE_READY_TO_SHUTDOWN');
  assert.equal(r.effect, 'terminated');
  const gone = state.getInstance(a!.id)!;
  assert.equal(gone.state, 'terminated');
  assert.equal(gone.terminationReason, 'signal');
  assert.throws(() => state.signal(a!.id, 'INSTANCE_READY'), /does not exist/);
  assert.throws(() => state.signal('i-00000000000000000', 'INSTANCE_READY'), /does not exist/);
});

test('the signal timeout caps the grace: terminated after min(noticeMs, signalTimeoutMs)', async () => {
  const { clock, state } = setup();
  state.createGroup({ id: 'sig-1', name: 'etcd', targetCapacity: 1, signalTimeoutMs: 30_000 });
  const [a] = state.listInstances();
  state.interruptInstance(a!.id, { noticeMs: 90_000 });
  assert.equal(state.getInstance(a!.id)?.spotNotice?.time, T0 + 90_000);
  await clock.advance(30_000);
  state.advance();
  assert.equal(state.getInstance(a!.id)?.state, 'terminated');
  assert.equal(state.getInstance(a!.id)?.terminationReason, 'timeout');
  // A second, shorter interrupt brings termination forward; a longer one does not delay it.
  const [b] = state.listInstances({ groupId: 'sig-1' });
  state.interruptInstance(b!.id, { noticeMs: 20_000 });
  state.interruptInstance(b!.id, { noticeMs: 5_000 });
  state.interruptInstance(b!.id, { noticeMs: 60_000 });
  assert.equal(state.getInstance(b!.id)?.terminateAt, clock.now() + 5_000);
});

test('interrupt options: no spot notice, no rebalance, no lifecycle flip; noticeMs 0 terminates at once', () => {
  const { state } = setup();
  state.createGroup({ id: 'sig-1', name: 'etcd', targetCapacity: 2 });
  const [a, b] = state.listInstances();
  const v = state.interruptInstance(a!.id, { spotNotice: false, rebalance: false, lifecycle: false });
  assert.equal(v.spotNotice, undefined);
  assert.equal(v.rebalanceNoticeTime, undefined);
  assert.equal(v.targetLifecycleState, 'InService');
  assert.equal(v.lifeCycleState, 'TERMINATING');
  assert.equal(state.interruptInstance(b!.id, { noticeMs: 0 }).state, 'terminated');
  const r = state.recommendRebalance(
    state.listInstances({ groupId: 'sig-1' }).find((i) => i.state === 'running')!.id,
  );
  assert.equal(r.rebalanceNoticeTime, T0);
  assert.equal(r.state, 'running');
});

test('replaceOn=terminated launches the replacement only when the interrupted instance is gone', async () => {
  const { clock, state } = setup();
  state.createGroup({
    id: 'sig-1',
    name: 'etcd',
    targetCapacity: 3,
    replaceOn: 'terminated',
    signalTimeoutMs: 10_000,
  });
  const [a] = state.listInstances();
  state.interruptInstance(a!.id);
  assert.equal(state.listInstances({ groupId: 'sig-1' }).length, 3);
  assert.equal(active(state, 'sig-1').length, 2);
  await clock.advance(10_000);
  state.advance();
  assert.equal(active(state, 'sig-1').length, 3);
});

test('autoReplace=false leaves the group short; a hard terminate is replaced when autoReplace is on', () => {
  const { state } = setup();
  state.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 2, autoReplace: false });
  state.createGroup({ id: 'sig-2', name: 'b', targetCapacity: 2 });
  state.terminateInstance(state.listInstances({ groupId: 'sig-1' })[0]!.id);
  assert.equal(active(state, 'sig-1').length, 1);
  const victim = state.listInstances({ groupId: 'sig-2' })[0]!;
  const t = state.terminateInstance(victim.id);
  assert.equal(t.state, 'terminated');
  assert.equal(t.terminationReason, 'terminate');
  assert.equal(active(state, 'sig-2').length, 2);
  assert.throws(() => state.terminateInstance(victim.id), /already terminated/);
});

test('launchDelayMs: pending until the delay has passed on the clock', async () => {
  const { clock, state } = setup();
  state.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 2, launchDelayMs: 5_000 });
  assert.deepEqual(
    state.listInstances().map((i) => i.state),
    ['pending', 'pending'],
  );
  assert.equal(state.nextDueAt(), T0 + 5_000);
  await clock.advance(4_999);
  state.advance();
  assert.equal(state.listInstances()[0]?.state, 'pending');
  await clock.advance(1);
  assert.equal(state.advance(), 2);
  assert.deepEqual(
    state.listInstances().map((i) => [i.state, i.runningAt]),
    [
      ['running', T0 + 5_000],
      ['running', T0 + 5_000],
    ],
  );
});

test('scale up launches; scale down interrupts the newest with the signal timeout and no spot notice', async () => {
  const { clock, state } = setup();
  state.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 2, signalTimeoutMs: 60_000 });
  await clock.advance(1_000);
  state.setTargetCapacity('sig-1', 4);
  assert.equal(active(state, 'sig-1').length, 4);
  const newest = state.listInstances({ groupId: 'sig-1' }).slice(2);
  await clock.advance(1_000);
  state.setTargetCapacity('sig-1', 2);
  const list = state.listInstances({ groupId: 'sig-1' });
  assert.equal(active(state, 'sig-1').length, 2);
  for (const n of newest) {
    const v = list.find((i) => i.id === n.id)!;
    assert.equal(v.state, 'terminating');
    assert.equal(v.spotNotice, undefined);
    assert.equal(v.targetLifecycleState, 'Terminated');
    assert.equal(v.terminateAt, clock.now() + 60_000);
  }
  await clock.advance(60_000);
  state.advance();
  assert.equal(state.listInstances({ groupId: 'sig-1' }).length, 2);
  assert.equal(state.getInstance(newest[0]!.id)?.terminationReason, 'scale-in');
  assert.throws(() => state.setTargetCapacity('sig-1', 1_000), /outside the group's capacity bounds/);
  assert.throws(() => state.setTargetCapacity('sig-nope', 1), /does not exist/);
});

test('IPs are unique among live instances; never-reuse walks the pool, prefer takes the most recently freed', () => {
  const { state } = setup();
  state.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 3 });
  state.createGroup({ id: 'sig-2', name: 'b', targetCapacity: 3, ipReuse: 'prefer' });
  const [a1, a2] = state.listInstances({ groupId: 'sig-1' });
  state.terminateInstance(a1!.id); // frees .10; sig-1's replacement gets a fresh address
  const fresh = state.listInstances({ groupId: 'sig-1' }).at(-1)!;
  assert.equal(fresh.privateIp, '127.0.100.16');
  state.terminateInstance(a2!.id); // frees .11, replaced by .17
  const b1 = state.listInstances({ groupId: 'sig-2' })[0]!;
  state.terminateInstance(b1.id); // frees .13; 'prefer' takes the most recently freed: .13 itself
  assert.equal(state.listInstances({ groupId: 'sig-2' }).at(-1)?.privateIp, '127.0.100.13');
  // explicit reuse and explicit address
  const reused = state.launchInstance('sig-1', { reuseIp: true });
  assert.equal(reused.privateIp, '127.0.100.11');
  const pinned = state.launchInstance('sig-1', { privateIp: '127.0.100.10' });
  assert.equal(pinned.privateIp, '127.0.100.10');
  assert.throws(() => state.launchInstance('sig-1', { privateIp: '127.0.100.10' }), /held by live instance/);
  const live = state.listInstances();
  assert.equal(new Set(live.map((i) => i.privateIp)).size, live.length);
  assert.equal(state.instanceByIp('127.0.100.10')?.id, pinned.id);
});

test('the pool has 241 addresses; a group that does not fit is refused', () => {
  const { state } = setup();
  assert.throws(
    () => state.createGroup({ name: 'big', targetCapacity: 242, maximum: 300 }),
    /more addresses than the 241 free/,
  );
  state.createGroup({ id: 'sig-1', name: 'full', targetCapacity: 241, maximum: 300 });
  assert.throws(() => state.launchInstance('sig-1'), /no free address/);
  // auto-replace after a termination reuses the only free address instead of failing
  const first = state.listInstances()[0]!;
  state.terminateInstance(first.id);
  assert.equal(state.listInstances().length, 241);
  assert.equal(state.listInstances().at(-1)?.privateIp, first.privateIp);
});

test('event log: ordered, filtered by seq, pushed to subscribers; subscribers can be removed', async () => {
  const { clock, state } = setup();
  const seen: EmulatorEvent[] = [];
  const unsubscribe = state.subscribe((e) => seen.push(e));
  const onEvents: string[] = [];
  const fn = (e: EmulatorEvent): void => void onEvents.push(e.type);
  state.on('event', fn);
  state.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 1 });
  const [a] = state.listInstances();
  state.interruptInstance(a!.id, { noticeMs: 1_000 });
  await clock.advance(1_000);
  state.advance();
  state.addFault('group-status', { kind: 'empty', count: 1 });
  state.clearFaults();
  state.setTargetCapacity('sig-1', 2);
  assert.deepEqual(
    state.events().map((e) => e.type),
    [
      'group-created',
      'launched',
      'running',
      'interrupted',
      'launched',
      'running',
      'terminated',
      'fault-added',
      'fault-cleared',
      'capacity-changed',
      'launched',
      'running',
    ],
  );
  assert.deepEqual(
    state.events().map((e) => e.seq),
    state.events().map((_, i) => i + 1),
  );
  const at = state.events().map((e) => e.at);
  assert.deepEqual(
    at,
    [...at].sort((x, y) => x - y),
  );
  assert.equal(state.events().find((e) => e.type === 'terminated')?.at, T0 + 1_000);
  assert.deepEqual(
    state.events(10).map((e) => e.seq),
    [11, 12],
  );
  assert.equal(seen.length, 12);
  assert.equal(onEvents.length, 12);
  unsubscribe();
  state.off('event', fn);
  state.setTargetCapacity('sig-1', 1);
  assert.equal(seen.length, 12);
  assert.equal(onEvents.length, 12);
});

test('a subscriber that reacts by changing the state sees consistent results', () => {
  const { state } = setup();
  // Like the fleet simulator: as soon as an instance runs, it signals INSTANCE_READY.
  state.subscribe((e) => {
    if (e.type === 'running' && e.instanceId) state.signal(e.instanceId, 'INSTANCE_READY');
  });
  state.createGroup({ id: 'sig-1', name: 'a', targetCapacity: 2 });
  for (const i of state.listInstances())
    assert.deepEqual(
      i.signals.map((s) => s.signal),
      ['INSTANCE_READY'],
    );
});

test('faults: count and untilMs clear them; kinds apply only where they mean something', async () => {
  const { clock, state } = setup();
  const f1 = state.addFault('group-status', { kind: 'status', status: 503, count: 2 });
  const f2 = state.addFault('all', { kind: 'partial', dropRandom: 1, untilMs: T0 + 1_000 });
  assert.equal(state.faults().length, 2);
  assert.deepEqual(
    state.takeFaults('instance-status').map((f) => f.id),
    [],
  );
  assert.deepEqual(
    state.takeFaults('group-status').map((f) => f.id),
    [f1, f2],
  );
  assert.equal(state.faults().find((f) => f.id === f1)?.remaining, 1);
  state.takeFaults('group-status');
  assert.deepEqual(
    state.faults().map((f) => f.id),
    [f2],
  );
  await clock.advance(1_000);
  state.advance();
  assert.deepEqual(state.faults(), []);
  const cleared = state
    .events()
    .filter((e) => e.type === 'fault-cleared')
    .map((e) => e.detail.reason);
  assert.deepEqual(cleared, ['count', 'expired']);
  const f3 = state.addFault('imds', { kind: 'latency', ms: 10, instanceId: 'i-0123456789abcdef0' });
  assert.equal(state.takeFaults('imds', { instanceId: 'i-00000000000000000' }).length, 0);
  assert.equal(state.takeFaults('imds', { instanceId: 'i-0123456789abcdef0' })[0]?.id, f3);
  assert.equal(state.clearFaults('nope'), 0);
  assert.equal(state.clearFaults(f3), 1);
  assert.throws(() => state.addFault('group-status', { kind: 'latency', ms: 600_000 }), /ms: Too big/);
  assert.throws(() => state.addFault('nowhere' as 'all', { kind: 'empty' }), /invalid fault route/);
});

test('stats count calls per route; resetStats starts over', async () => {
  const { clock, state } = setup();
  state.recordCall('group-status', { status: 200 });
  state.recordCall('group-status', { status: 429 });
  state.recordCall('imds', { status: 503, faulted: true });
  state.recordCall('imds', { dropped: true, faulted: true });
  const s = state.stats();
  assert.deepEqual(s.routes['group-status'], {
    requests: 2,
    ok: 1,
    clientErrors: 1,
    serverErrors: 0,
    rateLimited: 1,
    faulted: 0,
    dropped: 0,
    noNotice: 0,
  });
  assert.deepEqual(s.routes.imds, {
    requests: 2,
    ok: 0,
    clientErrors: 0,
    serverErrors: 1,
    rateLimited: 0,
    faulted: 2,
    dropped: 1,
    noNotice: 0,
  });
  await clock.advance(5);
  state.resetStats();
  assert.equal(state.stats().since, T0 + 5);
  assert.equal(state.stats().routes['group-status'].requests, 0);
});

test('IMDS tokens are per instance and expire on the state clock', async () => {
  const { clock, state } = setup();
  const t = state.issueImdsToken('i-aaaaaaaaaaaaaaaaa', 10);
  assert.deepEqual(state.checkImdsToken('i-aaaaaaaaaaaaaaaaa', t), { ok: true, remainingSec: 10 });
  assert.deepEqual(state.checkImdsToken('i-bbbbbbbbbbbbbbbbb', t), { ok: false, reason: 'unknown' });
  await clock.advance(9_500);
  assert.deepEqual(state.checkImdsToken('i-aaaaaaaaaaaaaaaaa', t), { ok: true, remainingSec: 1 });
  await clock.advance(500);
  assert.deepEqual(state.checkImdsToken('i-aaaaaaaaaaaaaaaaa', t), { ok: false, reason: 'expired' });
});

test('constructor and inputs are validated with the field named', () => {
  const clock = new ManualClock(T0);
  assert.throws(() => new CloudState({ clock, token: '' }), /token/);
  assert.throws(() => new CloudState({ clock, token: 't', ipPrefix: '10.0' }), /ipPrefix/);
  const state = new CloudState({ clock, token: 't', seed: 1 });
  assert.throws(() => state.createGroup({ name: 'x', targetCapacity: -1 }), /targetCapacity/);
  assert.throws(() => state.createGroup({ id: 'bad', name: 'x', targetCapacity: 1 }), /id: expected sig-/);
  state.createGroup({ id: 'sig-1', name: 'x', targetCapacity: 1 });
  assert.throws(() => state.createGroup({ id: 'sig-1', name: 'x', targetCapacity: 1 }), /already exists/);
  assert.throws(() => state.updateGroup('sig-1', { minimum: 5 }), /outside the group's capacity bounds/);
  assert.throws(() => state.interruptInstance(state.listInstances()[0]!.id, { noticeMs: -1 }), /noticeMs/);
  const g = state.updateGroup('sig-1', { imds: { requireV2: true }, signalTimeoutMs: 5 });
  assert.deepEqual(g.imds, { requireV2: true, tokenPut: 'ok', tagsEnabled: true, down: false });
  assert.equal(g.signalTimeoutMs, 5);
});

test('property: under any sequence of operations, live IPs stay unique, auto-replace holds the target, and the log stays ordered', async () => {
  const fc = await import('fast-check');
  const op = fc.oneof(
    fc.record({
      k: fc.constant('interrupt' as const),
      pick: fc.nat(),
      noticeMs: fc.integer({ min: 0, max: 200_000 }),
    }),
    fc.record({ k: fc.constant('terminate' as const), pick: fc.nat() }),
    fc.record({ k: fc.constant('signal' as const), pick: fc.nat() }),
    fc.record({ k: fc.constant('capacity' as const), target: fc.integer({ min: 0, max: 8 }) }),
    fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150_000 }) }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { maxLength: 40 }),
      fc.constantFrom('terminating' as const, 'terminated' as const),
      fc.constantFrom('never' as const, 'prefer' as const),
      fc.integer({ min: 0, max: 5_000 }),
      async (ops, replaceOn, ipReuse, launchDelayMs) => {
        const clock = new ManualClock(T0);
        const state = new CloudState({ clock, token: 't', seed: 1 });
        state.createGroup({
          id: 'sig-p',
          name: 'p',
          targetCapacity: 3,
          replaceOn,
          ipReuse,
          launchDelayMs,
          signalTimeoutMs: 60_000,
        });
        for (const o of ops) {
          const live = state.listInstances({ groupId: 'sig-p' });
          const target = live[('pick' in o ? o.pick : 0) % Math.max(1, live.length)];
          if (o.k === 'interrupt' && target) state.interruptInstance(target.id, { noticeMs: o.noticeMs });
          if (o.k === 'terminate' && target) state.terminateInstance(target.id);
          if (o.k === 'signal' && target) state.signal(target.id, 'INSTANCE_READY_TO_SHUTDOWN');
          if (o.k === 'capacity') state.setTargetCapacity('sig-p', o.target);
          if (o.k === 'advance') {
            await clock.advance(o.ms);
            state.advance();
          }
          const now = state.listInstances({ groupId: 'sig-p' });
          assert.equal(new Set(now.map((i) => i.privateIp)).size, now.length, 'live IPs unique');
          const target2 = state.getGroup('sig-p')!.targetCapacity;
          const activeCount = now.filter((i) => i.state !== 'terminating').length;
          const held = replaceOn === 'terminated' ? now.length : activeCount;
          assert.ok(held >= target2, 'never below target');
          if (replaceOn === 'terminating') assert.equal(activeCount, target2, 'active == target');
          for (const i of now)
            if (i.state === 'terminating')
              assert.ok(i.terminateAt! > clock.now(), 'nothing overdue after advance');
        }
        const at = state.events().map((e) => e.at);
        assert.deepEqual(
          at,
          [...at].sort((x, y) => x - y),
        );
      },
    ),
    { numRuns: 200, seed: 20260101 },
  );
});

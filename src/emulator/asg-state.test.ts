// The Auto Scaling side of the emulator's model: pure state, ManualClock, no sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { EmulatorError } from './errors.ts';
import { CloudState } from './state.ts';
import type { AsgSpec, InstanceView } from './types.ts';

const T0 = Date.UTC(2026, 0, 1);
const HOOK = 'etcd-drain';
const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING' as const;

function setup(
  asg: AsgSpec = {},
  extra: { targetCapacity?: number; launchDelayMs?: number; region?: string } = {},
): { clock: ManualClock; state: CloudState; name: string } {
  const clock = new ManualClock(T0);
  const state = new CloudState({ clock, token: 'tok', seed: 11, region: extra.region ?? 'us-east-1' });
  state.createGroup({
    provider: 'asg',
    name: 'etcd-asg',
    targetCapacity: extra.targetCapacity ?? 3,
    maximum: 10,
    launchDelayMs: extra.launchDelayMs ?? 0,
    asg,
  });
  return { clock, state, name: 'etcd-asg' };
}

const withHook = (heartbeatTimeoutSec = 60, defaultResult: 'CONTINUE' | 'ABANDON' = 'ABANDON'): AsgSpec => ({
  lifecycleHooks: [{ name: HOOK, transition: TERMINATING, heartbeatTimeoutSec, defaultResult }],
});

function inst(state: CloudState, id: string): InstanceView {
  const i = state.getInstance(id);
  assert.ok(i, `instance ${id} exists`);
  return i;
}

function lifecycle(state: CloudState, id: string): string | undefined {
  return state.getInstance(id)?.asg?.lifecycleState;
}

function inService(state: CloudState, name: string): string[] {
  return state
    .listInstances({ groupId: name })
    .filter((i) => i.asg?.lifecycleState === 'InService')
    .map((i) => i.id);
}

function awsError(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EmulatorError);
    assert.equal(err.awsCode, code);
    assert.match(err.message, message);
    return true;
  });
}

test('an asg group: id = name, InService members with the region AZs; the Spot flavour stays the default', () => {
  const { state, name } = setup({}, { region: 'eu-west-1' });
  const g = state.getGroup(name);
  assert.equal(g?.provider, 'asg');
  assert.match(
    g?.asg?.arn ?? '',
    /^arn:aws:autoscaling:eu-west-1:\d{12}:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/etcd-asg$/,
  );
  const members = state.listInstances({ groupId: name });
  assert.equal(members.length, 3);
  for (const i of members) {
    assert.equal(i.asg?.lifecycleState, 'InService');
    assert.equal(i.targetLifecycleState, 'InService');
    assert.match(i.availabilityZone, /^eu-west-1[abc]$/);
  }
  const spot = state.createGroup({ id: 'sig-1', name: 'spot', targetCapacity: 1 });
  assert.equal(spot.provider, 'elastigroup');
  assert.equal(spot.asg, undefined);
  assert.equal(state.listInstances({ groupId: 'sig-1' })[0]?.asg, undefined);
  assert.throws(
    () => state.createGroup({ name: 'x', targetCapacity: 0, asg: {} }),
    /asg: only with provider 'asg'/,
  );
  assert.throws(
    () => state.createGroup({ provider: 'asg', name: 'etcd-asg', targetCapacity: 0 }),
    /already exists/,
  );
});

test('scale-in with a termination hook: Terminating:Wait (IMDS Terminated) until CompleteLifecycleAction(CONTINUE)', () => {
  const { state, name } = setup(withHook(300));
  state.setTargetCapacity(name, 2);
  const leaving = state.listInstances({ groupId: name }).find((i) => i.state === 'terminating');
  assert.ok(leaving);
  assert.equal(leaving.asg?.lifecycleState, 'Terminating:Wait');
  assert.equal(leaving.targetLifecycleState, 'Terminated');
  assert.equal(leaving.asg?.lifecycleActions.length, 1);
  assert.match(leaving.asg?.lifecycleActions[0]?.token ?? '', /^[0-9a-f-]{36}$/);
  state.completeLifecycleAction({
    groupName: name,
    hookName: HOOK,
    instanceId: leaving.id,
    result: 'CONTINUE',
  });
  const gone = inst(state, leaving.id);
  assert.equal(gone.state, 'terminated');
  assert.equal(gone.asg?.lifecycleState, 'Terminated');
  assert.deepEqual(
    gone.asg?.completedActions.map((a) => [a.hookName, a.result, a.how]),
    [[HOOK, 'CONTINUE', 'complete']],
  );
  assert.equal(inService(state, name).length, 2);
  // the second complete finds no pending action: AWS's 400 ValidationError text
  awsError(
    () =>
      state.completeLifecycleAction({
        groupName: name,
        hookName: HOOK,
        instanceId: leaving.id,
        result: 'CONTINUE',
      }),
    'ValidationError',
    new RegExp(`^No active Lifecycle Action found with instance ID ${leaving.id}$`),
  );
});

test('completing by token; unknown hook, unknown group and a missing id/token are ValidationErrors', () => {
  const { state, name } = setup(withHook(300));
  const id = state.listInstances({ groupId: name })[0]!.id;
  state.terminateInAutoScalingGroup(id, false);
  const token = inst(state, id).asg!.lifecycleActions[0]!.token;
  awsError(
    () =>
      state.completeLifecycleAction({ groupName: name, hookName: HOOK, token: 'nope', result: 'CONTINUE' }),
    'ValidationError',
    /No active Lifecycle Action found with token nope/,
  );
  awsError(
    () =>
      state.completeLifecycleAction({
        groupName: name,
        hookName: 'other',
        instanceId: id,
        result: 'CONTINUE',
      }),
    'ValidationError',
    /No Lifecycle Hook found with name other/,
  );
  awsError(
    () =>
      state.completeLifecycleAction({
        groupName: 'nope',
        hookName: HOOK,
        instanceId: id,
        result: 'CONTINUE',
      }),
    'ValidationError',
    /AutoScalingGroup name not found/,
  );
  awsError(
    () => state.completeLifecycleAction({ groupName: name, hookName: HOOK, result: 'CONTINUE' }),
    'ValidationError',
    /Either LifecycleActionToken or InstanceId/,
  );
  state.completeLifecycleAction({ groupName: name, hookName: HOOK, token, result: 'ABANDON' });
  assert.equal(inst(state, id).state, 'terminated');
  // not decremented: a replacement keeps desired capacity
  assert.equal(inService(state, name).length, 3);
});

test('heartbeat timeout: the default result applies; a heartbeat restarts it; the global timeout caps it', () => {
  const { clock, state, name } = setup(withHook(60, 'CONTINUE'));
  const id = state.listInstances({ groupId: name })[0]!.id;
  state.terminateInAutoScalingGroup(id, true);
  clock.advance(50_000);
  state.advance();
  state.recordLifecycleActionHeartbeat({ groupName: name, hookName: HOOK, instanceId: id });
  assert.equal(inst(state, id).asg?.lifecycleActions[0]?.timeoutAt, T0 + 110_000);
  clock.advance(59_000); // T0 + 109 s: still held
  state.advance();
  assert.equal(lifecycle(state, id), 'Terminating:Wait');
  clock.advance(1_000); // T0 + 110 s
  state.advance();
  const i = inst(state, id);
  assert.equal(i.state, 'terminated');
  assert.equal(i.terminatedAt, T0 + 110_000);
  assert.deepEqual(
    i.asg?.completedActions.map((a) => [a.result, a.how]),
    [['CONTINUE', 'timeout']],
  );
  awsError(
    () => state.recordLifecycleActionHeartbeat({ groupName: name, hookName: HOOK, instanceId: id }),
    'ValidationError',
    /No active Lifecycle Action found with instance ID/,
  );

  // global timeout = 100 × heartbeat: heartbeats every 50 s never get past it
  const other = inService(state, name)[0]!;
  const started = clock.now();
  state.terminateInAutoScalingGroup(other, true);
  for (let t = 0; t < 100 * 60_000; t += 50_000) {
    if (inst(state, other).state === 'terminated') break;
    state.recordLifecycleActionHeartbeat({ groupName: name, hookName: HOOK, instanceId: other });
    clock.advance(50_000);
    state.advance();
  }
  clock.advance(60_000);
  state.advance();
  assert.equal(inst(state, other).state, 'terminated');
  assert.equal(inst(state, other).terminatedAt, started + 100 * 60_000);
});

test('a spot interruption on an ASG instance: notices in IMDS, the hook holds it, but not past the 2-minute notice', () => {
  const { clock, state, name } = setup(withHook(3600));
  const id = state.listInstances({ groupId: name })[0]!.id;
  state.interruptInstance(id);
  const i = inst(state, id);
  assert.deepEqual(i.spotNotice, { action: 'terminate', time: T0 + 120_000 });
  assert.equal(i.rebalanceNoticeTime, T0);
  assert.equal(i.asg?.lifecycleState, 'Terminating:Wait');
  assert.equal(i.targetLifecycleState, 'Terminated');
  // the replacement launches at once (Terminating instances do not count towards desired capacity)
  assert.equal(inService(state, name).length, 3);
  clock.advance(119_999);
  state.advance();
  assert.equal(lifecycle(state, id), 'Terminating:Wait');
  clock.advance(1);
  state.advance();
  assert.equal(inst(state, id).state, 'terminated');
  assert.equal(inst(state, id).terminationReason, 'interrupt');
  assert.equal(inst(state, id).asg?.completedActions[0]?.how, 'interrupted');
});

test('without a hook: straight through Terminating:Proceed, which lasts proceedMs', () => {
  const { clock, state, name } = setup({ proceedMs: 5_000 });
  const id = state.listInstances({ groupId: name })[0]!.id;
  state.terminateInAutoScalingGroup(id, true);
  assert.equal(lifecycle(state, id), 'Terminating:Proceed');
  assert.equal(state.getGroup(name)?.targetCapacity, 2);
  clock.advance(5_000);
  state.advance();
  assert.equal(inst(state, id).state, 'terminated');
  awsError(
    () => state.terminateInAutoScalingGroup(id, false),
    'ValidationError',
    /No managed instance found/,
  );
});

test('a launch hook holds new instances in Pending:Wait; CONTINUE → InService, ABANDON → terminated and replaced', () => {
  const { state, name } = setup({
    lifecycleHooks: [
      { name: 'boot', transition: 'autoscaling:EC2_INSTANCE_LAUNCHING', heartbeatTimeoutSec: 60 },
    ],
  });
  const ids = state.listInstances({ groupId: name }).map((i) => i.id);
  for (const id of ids) {
    assert.equal(lifecycle(state, id), 'Pending:Wait');
    assert.equal(inst(state, id).state, 'running');
    assert.equal(inst(state, id).targetLifecycleState, 'InService');
  }
  state.completeLifecycleAction({
    groupName: name,
    hookName: 'boot',
    instanceId: ids[0]!,
    result: 'CONTINUE',
  });
  assert.equal(lifecycle(state, ids[0]!), 'InService');
  state.completeInstanceAction(ids[1]!, { result: 'ABANDON' });
  assert.equal(inst(state, ids[1]!).state, 'terminated');
  assert.equal(state.listInstances({ groupId: name }).length, 3);
});

test('capacity rebalancing: replacement first; the old one goes to the hook only once the new one is InService', () => {
  const { clock, state, name } = setup(
    { ...withHook(300), capacityRebalance: true },
    { launchDelayMs: 10_000 },
  );
  clock.advance(10_000);
  state.advance();
  const old = inService(state, name)[0]!;
  state.recommendRebalance(old);
  const fresh = state.listInstances({ groupId: name }).find((i) => i.asg?.replaces === old);
  assert.ok(fresh);
  assert.equal(fresh.asg?.lifecycleState, 'Pending');
  assert.equal(lifecycle(state, old), 'InService');
  state.recommendRebalance(old); // a second recommendation launches no second replacement
  assert.equal(state.listInstances({ groupId: name }).length, 4);
  clock.advance(10_000);
  state.advance();
  assert.equal(lifecycle(state, fresh.id), 'InService');
  assert.equal(lifecycle(state, old), 'Terminating:Wait');
  assert.equal(inst(state, old).terminationReason, 'rebalance');
  state.completeInstanceAction(old);
  assert.equal(inst(state, old).state, 'terminated');
  assert.equal(inService(state, name).length, 3);
});

test('instance refresh, MinHealthyPercentage 100: launch before terminate, never below desired InService', () => {
  const { clock, state, name } = setup(withHook(300), { launchDelayMs: 5_000 });
  clock.advance(5_000);
  state.advance();
  const before = inService(state, name);
  assert.throws(
    () => state.startInstanceRefresh(name, { minHealthyPercentage: 100 }),
    /MaxHealthyPercentage above 100/,
  );
  const r = state.startInstanceRefresh(name, {
    minHealthyPercentage: 100,
    maxHealthyPercentage: 110,
    instanceWarmupMs: 1_000,
  });
  assert.deepEqual(r.toReplace, before);
  assert.throws(
    () => state.startInstanceRefresh(name),
    (e: unknown) => (e as EmulatorError).awsCode === 'InstanceRefreshInProgress',
  );
  for (let step = 0; step < 50 && state.instanceRefreshes(name)[0]?.status === 'InProgress'; step++) {
    assert.ok(inService(state, name).length >= 3, 'never below desired InService');
    const held = state
      .listInstances({ groupId: name })
      .find((i) => i.asg?.lifecycleState === 'Terminating:Wait');
    if (held) state.completeInstanceAction(held.id);
    else {
      clock.advance(1_000);
      state.advance();
    }
  }
  const done = state.instanceRefreshes(name)[0]!;
  assert.equal(done.status, 'Successful');
  assert.equal(done.percentageComplete, 100);
  assert.equal(done.replaced, 3);
  const now = inService(state, name);
  assert.equal(now.length, 3);
  assert.ok(now.every((id) => !before.includes(id)));
  for (const id of before) assert.equal(inst(state, id).terminationReason, 'refresh');
});

test('instance refresh below 100 %: terminate first, wait for the group to be back, next', () => {
  const { state, name } = setup({
    instanceMaintenancePolicy: { minHealthyPercentage: 66, maxHealthyPercentage: 100 },
  });
  const before = inService(state, name);
  const r = state.startInstanceRefresh(name);
  assert.equal(r.minHealthyPercentage, 66);
  // no hook, no delays: everything happens at once
  const done = state.instanceRefreshes(name)[0]!;
  assert.equal(done.status, 'Successful');
  assert.ok(inService(state, name).every((id) => !before.includes(id)));
  state.startInstanceRefresh(name);
  assert.equal(state.instanceRefreshes(name).length, 2);
  awsError(() => state.cancelInstanceRefresh(name), 'ActiveInstanceRefreshNotFound', /No in progress/);
});

test('scale-in protection exempts an instance from scale-in', () => {
  const { state, name } = setup();
  const ids = state.listInstances({ groupId: name }).map((i) => i.id);
  const newest = ids[2]!;
  state.setInstanceProtection(name, [newest], true);
  assert.equal(inst(state, newest).asg?.protectedFromScaleIn, true);
  state.setTargetCapacity(name, 2);
  assert.equal(inst(state, newest).state, 'running');
  assert.equal(inst(state, ids[1]!).state, 'terminated');
  awsError(
    () => state.setInstanceProtection(name, ['i-0000000000000000a'], true),
    'ValidationError',
    /not part of Auto Scaling group/,
  );
});

test('warm pool: Warmed:Running is not a member until a scale-out takes it into service', () => {
  const { state, name } = setup({}, { targetCapacity: 2 });
  const warm = state.launchInstance(name, { warmed: true });
  assert.equal(warm.asg?.lifecycleState, 'Warmed:Running');
  assert.equal(warm.targetLifecycleState, 'Warmed:Running');
  assert.equal(warm.state, 'running');
  assert.equal(inService(state, name).length, 2);
  state.setTargetCapacity(name, 3);
  assert.equal(lifecycle(state, warm.id), 'InService');
  assert.equal(inst(state, warm.id).targetLifecycleState, 'InService');
  assert.equal(state.listInstances({ groupId: name }).length, 3, 'no new launch: the warm instance was used');
  assert.throws(() => state.enterServiceFromWarmPool(warm.id), /not in a warm pool/);
});

test('UpdateAutoScalingGroup / SetDesiredCapacity bounds with AWS messages', () => {
  const { state, name } = setup();
  awsError(
    () => state.updateAutoScalingGroup(name, { desiredCapacity: 11 }, 'SetDesiredCapacity'),
    'ValidationError',
    /New SetDesiredCapacity value 11 is above max value 10/,
  );
  awsError(
    () => state.updateAutoScalingGroup(name, { minSize: 4, maxSize: 3 }),
    'ValidationError',
    /Max bound, 3, must be greater than or equal to min bound, 4/,
  );
  const g = state.updateAutoScalingGroup(name, { minSize: 4, capacityRebalance: true });
  assert.equal(g.targetCapacity, 4, 'desired follows a raised min');
  assert.equal(g.asg?.capacityRebalance, true);
  assert.equal(inService(state, name).length, 4);
});

test('AWS fault routes: a service-wide route matches its actions; aws-error never applies to Spot routes', () => {
  const { state } = setup();
  state.addFault('autoscaling', { kind: 'rate-limit', count: 1 });
  state.addFault('all', { kind: 'aws-error', code: 'AccessDenied' });
  assert.equal(state.takeFaults('ec2:DescribeInstances').length, 1);
  assert.deepEqual(
    state.takeFaults('autoscaling:CompleteLifecycleAction').map((f) => f.fault.kind),
    ['rate-limit', 'aws-error'],
  );
  assert.deepEqual(state.takeFaults('group-status'), []);
  state.recordCall('autoscaling:CompleteLifecycleAction', { status: 400 });
  assert.deepEqual(state.stats().aws['autoscaling:CompleteLifecycleAction']?.clientErrors, 1);
  assert.equal(state.stats().aws['ec2:DescribeInstances'], undefined);
});

test('Standby: out of service (IMDS Standby) without termination; replaced unless decremented; ExitStandby grows desired', () => {
  const { state, name } = setup();
  const [a, b] = state.listInstances({ groupId: name }).map((i) => i.id) as [string, string];
  state.enterStandby(name, [a], false);
  assert.equal(lifecycle(state, a), 'Standby');
  assert.equal(inst(state, a).targetLifecycleState, 'Standby');
  assert.equal(inst(state, a).state, 'running');
  assert.equal(inService(state, name).length, 3, 'a replacement keeps desired capacity');
  state.enterStandby(name, [b], true);
  assert.equal(state.getGroup(name)?.targetCapacity, 2);
  assert.equal(inService(state, name).length, 2);
  awsError(
    () => state.enterStandby(name, [a], true),
    'ValidationError',
    new RegExp(`The instance ${a} is not in InService`),
  );
  state.exitStandby(name, [b]);
  assert.equal(lifecycle(state, b), 'InService');
  assert.equal(inst(state, b).targetLifecycleState, 'InService');
  assert.equal(state.getGroup(name)?.targetCapacity, 3);
  assert.equal(inService(state, name).length, 3);
  awsError(() => state.exitStandby(name, [b]), 'ValidationError', /is not in Standby/);
});

test('SetInstanceHealth Unhealthy: replaced through the termination hook', () => {
  const { state, name } = setup(withHook(300));
  const id = state.listInstances({ groupId: name })[0]!.id;
  const v = state.setInstanceHealth(id, 'Unhealthy');
  assert.equal(v.asg?.healthStatus, 'Unhealthy');
  assert.equal(v.asg?.lifecycleState, 'Terminating:Wait');
  assert.equal(v.terminationReason, 'unhealthy');
  assert.equal(inService(state, name).length, 3);
  assert.ok(state.events().some((e) => e.type === 'health' && e.instanceId === id));
});

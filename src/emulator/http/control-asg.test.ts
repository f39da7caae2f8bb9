// The control API's Auto Scaling routes, in-process (Hono app.request, ManualClock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { CloudState } from '../state.ts';
import type { GroupView, InstanceView } from '../types.ts';
import { createEmulatorApp } from './app.ts';

const T0 = Date.UTC(2026, 0, 1);
const HOOK = 'etcd-drain';

function setup() {
  const clock = new ManualClock(T0);
  const state = new CloudState({ clock, token: 'tok', seed: 5 });
  const app = createEmulatorApp(state);
  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await app.request(path, init);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { clock, state, app, call };
}

const ASG_BODY = {
  provider: 'asg',
  name: 'etcd-asg',
  targetCapacity: 3,
  asg: {
    lifecycleHooks: [
      { name: HOOK, transition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeoutSec: 30 },
    ],
  },
};

test('create an asg group, drive a termination through the hook, complete it', async () => {
  const { call, state } = setup();
  const created = await call('POST', '/emulator/groups', ASG_BODY);
  assert.equal(created.status, 201);
  const group = created.json.group as GroupView;
  assert.equal(group.id, 'etcd-asg');
  assert.equal(group.provider, 'asg');
  const ids = (created.json.instances as InstanceView[]).map((i) => i.id);
  assert.equal(ids.length, 3);

  const t = await call('POST', `/emulator/instances/${ids[0]}/terminate-in-group`, {
    shouldDecrementDesiredCapacity: true,
  });
  assert.equal(t.status, 200);
  assert.equal((t.json.instance as InstanceView).asg?.lifecycleState, 'Terminating:Wait');
  assert.equal((t.json.group as GroupView).targetCapacity, 2);

  const imds = await createEmulatorApp(state).request(
    `/emulator/instances/${ids[0]}/imds/latest/meta-data/autoscaling/target-lifecycle-state`,
  );
  assert.equal(await imds.text(), 'Terminated');

  const done = await call('POST', `/emulator/instances/${ids[0]}/lifecycle-action`, { result: 'CONTINUE' });
  assert.equal(done.status, 200);
  assert.equal((done.json.instance as InstanceView).state, 'terminated');
  const again = await call('POST', `/emulator/instances/${ids[0]}/lifecycle-action`, {});
  assert.equal(again.status, 409, 'a terminated instance has no action to complete');

  const second = await call('POST', `/emulator/instances/${ids[1]}/lifecycle-action`, {});
  assert.equal(second.status, 400);
  assert.match(String(second.json.error), /No active Lifecycle Action found with instance ID/);
});

test('hooks, protection, warm pool and instance refresh through the control API', async () => {
  const { call, state } = setup();
  await call('POST', '/emulator/groups', { ...ASG_BODY, asg: {} });
  const put = await call('PUT', `/emulator/groups/etcd-asg/lifecycle-hooks/${HOOK}`, {
    transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    heartbeatTimeoutSec: 60,
    defaultResult: 'CONTINUE',
  });
  assert.equal(put.status, 200);
  assert.equal(state.getGroup('etcd-asg')?.asg?.lifecycleHooks[0]?.defaultResult, 'CONTINUE');

  const ids = state.listInstances({ groupId: 'etcd-asg' }).map((i) => i.id);
  const prot = await call('POST', `/emulator/instances/${ids[2]}/protection`, { protected: true });
  assert.equal((prot.json.instance as InstanceView).asg?.protectedFromScaleIn, true);

  const sb = await call('POST', `/emulator/instances/${ids[0]}/standby`, {
    shouldDecrementDesiredCapacity: true,
  });
  assert.equal((sb.json.instance as InstanceView).asg?.lifecycleState, 'Standby');
  const back = await call('POST', `/emulator/instances/${ids[0]}/exit-standby`);
  assert.equal((back.json.instance as InstanceView).asg?.lifecycleState, 'InService');

  const warm = await call('POST', '/emulator/groups/etcd-asg/instances', { warmed: true });
  assert.equal(warm.status, 201);
  const warmId = (warm.json.instance as InstanceView).id;
  assert.equal((warm.json.instance as InstanceView).asg?.lifecycleState, 'Warmed:Running');
  const entered = await call('POST', `/emulator/instances/${warmId}/enter-service`);
  assert.equal((entered.json.instance as InstanceView).asg?.lifecycleState, 'InService');

  const started = await call('POST', '/emulator/groups/etcd-asg/instance-refresh', {
    minHealthyPercentage: 100,
    maxHealthyPercentage: 150,
  });
  assert.equal(started.status, 201);
  const listed = await call('GET', '/emulator/groups/etcd-asg/instance-refresh');
  assert.equal((listed.json.instanceRefreshes as { status: string }[])[0]?.status, 'InProgress');
  const cancelled = await call('DELETE', '/emulator/groups/etcd-asg/instance-refresh');
  assert.equal((cancelled.json.instanceRefresh as { status: string }).status, 'Cancelled');

  const del = await call('DELETE', `/emulator/groups/etcd-asg/lifecycle-hooks/${HOOK}`);
  assert.equal(del.status, 200);
  assert.deepEqual(state.getGroup('etcd-asg')?.asg?.lifecycleHooks, []);

  const limit = await call('PUT', '/emulator/rate-limits/autoscaling:CompleteLifecycleAction', { limit: 2 });
  assert.equal(limit.status, 200);
  assert.deepEqual(state.rateLimits()['autoscaling:CompleteLifecycleAction'], { limit: 2, windowMs: 60_000 });
  const fault = await call('POST', '/emulator/faults', {
    route: 'autoscaling',
    kind: 'aws-error',
    code: 'AccessDenied',
  });
  assert.equal(fault.status, 201);
});

test('bad asg input → 400 naming the field', async () => {
  const { call } = setup();
  for (const [body, re] of [
    [{ ...ASG_BODY, name: 'has space' }, /name: expected letters/],
    [{ ...ASG_BODY, id: 'other' }, /id: an asg group's id is its name/],
    [{ name: 'x', targetCapacity: 1, asg: {} }, /asg: only with provider 'asg'/],
    [{ id: 'abc', name: 'x', targetCapacity: 1 }, /id: expected sig-/],
    [
      { ...ASG_BODY, asg: { lifecycleHooks: [{ name: HOOK, transition: 'autoscaling:NOPE' }] } },
      /asg.lifecycleHooks.0.transition/,
    ],
  ] as const) {
    const r = await call('POST', '/emulator/groups', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(String(r.json.error), re);
  }
  await call('POST', '/emulator/groups', { id: 'sig-1', name: 'spot', targetCapacity: 1 });
  const patch = await call('PATCH', '/emulator/groups/sig-1', { asg: { capacityRebalance: true } });
  assert.equal(patch.status, 400);
  assert.match(String(patch.json.error), /not an asg group/);
  const spotInst = (await call('GET', '/emulator/groups/sig-1')).json.instances as InstanceView[];
  const r = await call('POST', `/emulator/instances/${spotInst[0]?.id}/terminate-in-group`, {});
  assert.equal(r.status, 400);
  assert.match(String(r.json.error), /No managed instance found/);
});

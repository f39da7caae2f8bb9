import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { CloudState } from '../state.ts';
import type { EmulatorEvent, GroupView, InstanceView } from '../types.ts';
import { createEmulatorApp } from './app.ts';

const T0 = Date.UTC(2026, 0, 1);

function setup() {
  const clock = new ManualClock(T0);
  const state = new CloudState({ clock, token: 'tok', seed: 11 });
  const app = createEmulatorApp(state);
  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await app.request(path, init);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { clock, state, app, call };
}

test('groups: create, read, capacity, patch, launch; state and stats', async () => {
  const { call, state } = setup();
  const created = await call('POST', '/emulator/groups', {
    id: 'sig-abc',
    name: 'etcd',
    targetCapacity: 2,
    launchDelayMs: 0,
  });
  assert.equal(created.status, 201);
  assert.equal((created.json.group as GroupView).id, 'sig-abc');
  assert.equal((created.json.instances as InstanceView[]).length, 2);
  const got = await call('GET', '/emulator/groups/sig-abc');
  assert.equal((got.json.instances as InstanceView[]).length, 2);
  const scaled = await call('PUT', '/emulator/groups/sig-abc/capacity', { target: 4 });
  assert.equal((scaled.json.group as GroupView).targetCapacity, 4);
  assert.equal((scaled.json.instances as InstanceView[]).length, 4);
  const patched = await call('PATCH', '/emulator/groups/sig-abc', {
    imds: { requireV2: true },
    ipReuse: 'prefer',
    signalTimeoutMs: 30_000,
  });
  const g = patched.json.group as GroupView;
  assert.deepEqual([g.imds.requireV2, g.ipReuse, g.signalTimeoutMs], [true, 'prefer', 30_000]);
  const launched = await call('POST', '/emulator/groups/sig-abc/instances', { privateIp: '127.0.100.200' });
  assert.equal(launched.status, 201);
  assert.equal((launched.json.instance as InstanceView).privateIp, '127.0.100.200');
  const snap = await call('GET', '/emulator/state');
  assert.equal((snap.json.instances as InstanceView[]).length, 5);
  assert.equal(snap.json.seed, 11);
  assert.equal(state.listGroups().length, 1);
});

test('instances: interrupt, rebalance, terminate; events since N', async () => {
  const { call, state, clock } = setup();
  state.createGroup({ id: 'sig-abc', name: 'etcd', targetCapacity: 2 });
  const [a, b] = state.listInstances();
  const r = await call('POST', `/emulator/instances/${a!.id}/interrupt`, {
    noticeMs: 30_000,
    rebalance: false,
  });
  assert.equal(r.status, 200);
  const v = r.json.instance as InstanceView;
  assert.equal(v.state, 'terminating');
  assert.equal(v.spotNotice?.time, T0 + 30_000);
  assert.equal(v.rebalanceNoticeTime, undefined);
  assert.equal((await call('POST', `/emulator/instances/${b!.id}/rebalance`)).status, 200);
  assert.equal(
    ((await call('POST', `/emulator/instances/${b!.id}/terminate`)).json.instance as InstanceView).state,
    'terminated',
  );
  assert.equal((await call('POST', `/emulator/instances/${b!.id}/terminate`)).status, 409);
  assert.equal((await call('POST', '/emulator/instances/i-00000000000000000/interrupt', {})).status, 404);
  await clock.advance(30_000);
  const ev = await call('GET', '/emulator/events?since=3');
  const events = ev.json.events as EmulatorEvent[];
  assert.equal(events[0]?.seq, 4);
  assert.equal(events.at(-1)?.type, 'terminated');
  assert.equal(events.at(-1)?.instanceId, a!.id);
  assert.equal(ev.json.lastSeq, events.at(-1)?.seq);
  // the main listener serves each instance's IMDS by path
  const live = state.listInstances()[0]!;
  const res = await createEmulatorApp(state).request(
    `/emulator/instances/${live.id}/imds//latest/meta-data/local-ipv4`,
  );
  assert.equal(await res.text(), live.privateIp);
  const gone = await createEmulatorApp(state).request(
    `/emulator/instances/${a!.id}/imds/latest/meta-data/instance-id`,
  );
  assert.equal(gone.status, 502);
});

test('faults and rate limits through the control API, visible on the Spot API', async () => {
  const { call, state, app } = setup();
  state.createGroup({ id: 'sig-abc', name: 'etcd', targetCapacity: 1 });
  const added = await call('POST', '/emulator/faults', {
    route: 'group-status',
    kind: 'status',
    status: 503,
    count: 1,
  });
  assert.equal(added.status, 201);
  assert.match(String(added.json.id), /^fault-\d+$/);
  assert.equal(((await call('GET', '/emulator/faults')).json.faults as unknown[]).length, 1);
  const status = await app.request('/aws/ec2/group/sig-abc/status', {
    headers: { Authorization: 'Bearer tok' },
  });
  assert.equal(status.status, 503);
  const f2 = await call('POST', '/emulator/faults', { route: 'all', kind: 'empty' });
  assert.equal((await call('DELETE', `/emulator/faults/${String(f2.json.id)}`)).json.cleared, 1);
  assert.equal((await call('DELETE', `/emulator/faults/${String(f2.json.id)}`)).status, 404);
  await call('POST', '/emulator/faults', { route: 'all', kind: 'empty' });
  assert.equal((await call('DELETE', '/emulator/faults')).json.cleared, 1);
  const rl = await call('PUT', '/emulator/rate-limits/group-status', { limit: 1 });
  assert.deepEqual(rl.json, { route: 'group-status', limit: 1, windowMs: 60_000 });
  const h = { headers: { Authorization: 'Bearer tok' } };
  assert.equal((await app.request('/aws/ec2/group/sig-abc/status', h)).status, 200);
  assert.equal((await app.request('/aws/ec2/group/sig-abc/status', h)).status, 429);
  const stats = await call('GET', '/emulator/stats');
  const routes = stats.json.routes as Record<string, { requests: number; rateLimited: number }>;
  assert.equal(routes['group-status']?.requests, 3);
  assert.equal(routes['group-status']?.rateLimited, 1);
  assert.equal((await call('DELETE', '/emulator/rate-limits/group-status')).status, 200);
  assert.equal((await app.request('/aws/ec2/group/sig-abc/status', h)).status, 200);
});

test('bad input → 400 with a message naming the field; unknown things → 404', async () => {
  const { call, state } = setup();
  state.createGroup({ id: 'sig-abc', name: 'etcd', targetCapacity: 1 });
  const cases: [string, string, unknown, RegExp][] = [
    ['POST', '/emulator/groups', { name: 'x', targetCapacity: 'three' }, /targetCapacity: .*expected number/],
    [
      'POST',
      '/emulator/groups',
      { name: 'x', targetCapacity: 1, colour: 'red' },
      /Unrecognized key: "colour"/,
    ],
    ['POST', '/emulator/groups', '{not json', /not valid JSON/],
    ['POST', '/emulator/groups', { id: 'abc', name: 'x', targetCapacity: 1 }, /id: expected sig-/],
    ['PUT', '/emulator/groups/sig-abc/capacity', { target: -1 }, /target: /],
    ['PUT', '/emulator/groups/sig-abc/capacity', { target: 1_000 }, /outside the group's capacity bounds/],
    ['PATCH', '/emulator/groups/sig-abc', { imds: { tokenPut: 500 } }, /imds.tokenPut/],
    [
      'POST',
      '/emulator/groups/sig-abc/instances',
      { privateIp: '300.1.1.1' },
      /privateIp: expected a dotted IPv4/,
    ],
    ['POST', '/emulator/faults', { kind: 'latency', ms: 5 }, /route/],
    ['POST', '/emulator/faults', { route: 'group-status', kind: 'latency' }, /ms: /],
    ['POST', '/emulator/faults', { route: 'group-status', kind: 'explode' }, /kind: /],
    ['POST', '/emulator/faults', { route: 'group-status', kind: 'timeout', ms: 120_000 }, /ms: Too big/],
    ['PUT', '/emulator/rate-limits/group-status', { limit: 'many' }, /limit: /],
    ['PUT', '/emulator/rate-limits/everything', { limit: 1 }, /route: /],
    ['GET', '/emulator/events?since=abc', undefined, /since: /],
    [
      'POST',
      `/emulator/instances/${state.listInstances()[0]!.id}/interrupt`,
      { noticeMs: 'soon' },
      /noticeMs: /,
    ],
  ];
  for (const [method, path, body, re] of cases) {
    const r = await call(method, path, body);
    assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    assert.match(String(r.json.error), re, `${method} ${path}`);
  }
  assert.equal((await call('GET', '/emulator/groups/sig-nope')).status, 404);
  assert.equal((await call('PUT', '/emulator/groups/sig-nope/capacity', { target: 1 })).status, 404);
  assert.equal((await call('GET', '/emulator/nothing')).status, 404);
  assert.equal(
    (await call('POST', '/emulator/groups', { id: 'sig-abc', name: 'dup', targetCapacity: 0 })).status,
    409,
  );
});

test('a control body over 1 MiB gets 413 with the control error shape, never read whole (B10)', async () => {
  const { app, state } = setup();
  const big = JSON.stringify({
    route: 'group-status',
    kind: 'status',
    status: 500,
    pad: 'x'.repeat(2 << 20),
  });
  const res = await app.request('/emulator/faults', { method: 'POST', body: big });
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), {
    error: 'request body is larger than 1048576 bytes',
    code: 'EMULATOR_PAYLOAD_TOO_LARGE',
  });
  let pulled = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const streamed = await app.request('/emulator/groups', {
    method: 'POST',
    body: endless,
    duplex: 'half',
  } as RequestInit);
  assert.equal(streamed.status, 413);
  assert.ok(pulled < 2 * 1024 * 1024, `pulled ${pulled} bytes`);
  assert.deepEqual(state.faults(), [], 'nothing was added');
  assert.deepEqual(state.listGroups(), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { CloudState } from '../state.ts';
import { createSpotApp } from './spot.ts';

const T0 = Date.UTC(2026, 0, 1);
const AUTH = { Authorization: 'Bearer tok' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Envelope {
  request: { id: string; url: string; method: string; timestamp: string };
  response: {
    status: { code: number; message: string };
    kind?: string;
    items?: Record<string, unknown>[];
    count?: number;
    errors?: { code: string; message: string; field?: string }[];
    data?: string;
  };
}

function setup(opts: { account?: string } = {}) {
  const clock = new ManualClock(T0);
  const state = new CloudState({ clock, token: 'tok', seed: 3, ...opts });
  state.createGroup({ id: 'sig-12345678', name: 'etcd', targetCapacity: 3 });
  const app = createSpotApp(state);
  const get = async (path: string, headers: Record<string, string> = AUTH) => {
    const res = await app.request(path, { headers });
    return { res, body: (await res.json()) as Envelope };
  };
  return { clock, state, app, get };
}

test('GET group status: envelope, kind, exactly the documented item fields, count == items.length', async () => {
  const { state, get } = setup();
  const { res, body } = await get('/aws/ec2/group/sig-12345678/status?accountId=act-1');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.match(body.request.id, UUID);
  assert.equal(body.request.url, '/aws/ec2/group/sig-12345678/status?accountId=act-1');
  assert.equal(body.request.method, 'GET');
  assert.equal(body.request.timestamp, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(body.response.status, { code: 200, message: 'OK' });
  assert.equal(body.response.kind, 'spotinst:aws:ec2:group');
  assert.equal(body.response.count, 3);
  const first = state.listInstances()[0]!;
  assert.deepEqual(body.response.items?.[0], {
    instanceId: first.id,
    spotInstanceRequestId: first.spotInstanceRequestId,
    instanceType: 'm5.large',
    product: 'Linux/UNIX',
    groupId: 'sig-12345678',
    availabilityZone: 'us-east-1a',
    privateIp: '127.0.100.10',
    createdAt: '2026-01-01T00:00:00.000Z',
    status: 'fulfilled',
  });
});

test('group status lists running and terminating instances, not pending or terminated ones', async () => {
  const { state, get } = setup();
  state.updateGroup('sig-12345678', { launchDelayMs: 10_000 });
  const [a, b] = state.listInstances();
  state.interruptInstance(a!.id); // replacement is pending
  state.terminateInstance(b!.id); // replacement is pending
  const ids = (await get('/aws/ec2/group/sig-12345678/status')).body.response.items!.map((i) => i.instanceId);
  const byId = new Map(state.listInstances().map((i) => [i.id, i.state]));
  assert.equal(ids.length, 2);
  assert.deepEqual(ids.map((id) => byId.get(id as string)).sort(), ['running', 'terminating']);
});

test('GET group and group list', async () => {
  const { get } = setup();
  const one = await get('/aws/ec2/group/sig-12345678');
  assert.equal(one.body.response.kind, 'spotinst:aws:ec2:group');
  const g = one.body.response.items![0] as {
    id: string;
    capacity: { target: number };
    strategy: { signals: { timeout: number }[] };
  };
  assert.equal(g.id, 'sig-12345678');
  assert.equal(g.capacity.target, 3);
  assert.equal(g.strategy.signals[0]?.timeout, 120);
  const list = await get('/aws/ec2/group');
  assert.equal(list.body.response.count, 1);
});

test('401 with the envelope and UNAUTHORIZED for a missing or wrong token, or a wrong account', async () => {
  const { get } = setup({ account: 'act-12345678' });
  const bad: Record<string, string>[] = [{}, { Authorization: 'Bearer nope' }, { Authorization: 'tok' }];
  for (const headers of bad) {
    const { res, body } = await get('/aws/ec2/group/sig-12345678/status', headers);
    assert.equal(res.status, 401);
    assert.deepEqual(body.response.status, { code: 401, message: 'Unauthorized' });
    assert.equal(body.response.errors?.[0]?.code, 'UNAUTHORIZED');
    assert.equal(body.response.items, undefined);
    assert.ok(res.headers.get('x-ratelimit-limit'));
  }
  assert.equal((await get('/aws/ec2/group/sig-12345678/status?accountId=act-00000000')).res.status, 401);
  assert.equal((await get('/aws/ec2/group/sig-12345678/status?accountId=act-12345678')).res.status, 200);
  assert.equal(
    (await get('/aws/ec2/group/sig-12345678/status', { authorization: 'bearer tok' })).res.status,
    200,
  );
});

test('unknown group → 400 GROUP_DOESNT_EXIST; unknown route → JSON 404', async () => {
  const { get } = setup();
  for (const path of ['/aws/ec2/group/sig-00000000/status', '/aws/ec2/group/sig-00000000']) {
    const { res, body } = await get(path);
    assert.equal(res.status, 400);
    assert.equal(body.response.errors?.[0]?.code, 'GROUP_DOESNT_EXIST');
    assert.equal(body.response.items, undefined);
  }
  const nf = await get('/aws/ec2/nothing');
  assert.equal(nf.res.status, 404);
  assert.equal(nf.body.response.errors?.[0]?.code, 'NOT_FOUND');
});

test('instance status: ACTIVE, TERMINATING after an interrupt, 400 INSTANCE_DOESNT_EXIST once terminated', async () => {
  const { clock, state, get } = setup();
  const id = state.listInstances()[0]!.id;
  let r = await get(`/aws/ec2/instance/${id}`);
  assert.equal(r.body.response.kind, 'spotinst:aws:ec2:instance');
  assert.deepEqual(r.body.response.items, [{ instanceId: id, lifeCycleState: 'ACTIVE' }]);
  state.interruptInstance(id);
  r = await get(`/aws/ec2/instance/${id}`);
  assert.deepEqual(r.body.response.items, [{ instanceId: id, lifeCycleState: 'TERMINATING' }]);
  await clock.advance(120_000);
  r = await get(`/aws/ec2/instance/${id}`); // the request itself advances the model
  assert.equal(r.res.status, 400);
  assert.equal(r.body.response.errors?.[0]?.code, 'INSTANCE_DOESNT_EXIST');
  assert.equal((await get('/aws/ec2/instance/i-00000000000000000')).res.status, 400);
});

test('POST signal: INSTANCE_READY_TO_SHUTDOWN ends a TERMINATING instance; bad bodies are ValidationErrors naming the field', async () => {
  const { state, app } = setup();
  const id = state.listInstances()[0]!.id;
  state.interruptInstance(id);
  const post = async (body: string) => {
    const res = await app.request('/aws/ec2/instance/signal', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body,
    });
    return { res, body: (await res.json()) as Envelope };
  };
  const ok = await post(JSON.stringify({ instanceId: id, signal: 'INSTANCE_READY_TO_SHUTDOWN' }));
  assert.equal(ok.res.status, 200);
  assert.deepEqual(ok.body.response.status, { code: 200, message: 'OK' });
  assert.equal(state.getInstance(id)?.state, 'terminated');
  const cases: [string, string][] = [
    ['not json', 'body'],
    ['[]', 'body'],
    [JSON.stringify({ signal: 'INSTANCE_READY' }), 'body:instanceId'],
    [JSON.stringify({ instanceId: id, signal: 'GO_AWAY' }), 'body:signal'],
  ];
  for (const [raw, field] of cases) {
    const r = await post(raw);
    assert.equal(r.res.status, 400, raw);
    assert.deepEqual(
      { code: r.body.response.errors?.[0]?.code, field: r.body.response.errors?.[0]?.field },
      { code: 'ValidationError', field },
    );
  }
  const gone = await post(JSON.stringify({ instanceId: id, signal: 'INSTANCE_READY' }));
  assert.equal(gone.body.response.errors?.[0]?.code, 'INSTANCE_DOESNT_EXIST');
});

test('rate limit: X-RateLimit-* on normal replies, 429 with the documented body over the limit, sliding window', async () => {
  const { clock, state, get } = setup();
  state.setRateLimit('group-status', { limit: 2, windowMs: 60_000 });
  const a = await get('/aws/ec2/group/sig-12345678/status');
  assert.deepEqual(
    ['limit', 'remaining', 'reset'].map((h) => a.res.headers.get(`x-ratelimit-${h}`)),
    ['2', '1', '0'],
  );
  await clock.advance(10_000);
  const b = await get('/aws/ec2/group/sig-12345678/status');
  assert.deepEqual(
    ['limit', 'remaining', 'reset'].map((h) => b.res.headers.get(`x-ratelimit-${h}`)),
    ['2', '0', '50'],
  );
  const c = await get('/aws/ec2/group/sig-12345678/status');
  assert.equal(c.res.status, 429);
  assert.deepEqual(c.body.response, {
    status: { code: 429, message: 'Too Many Requests' },
    data: 'Rate limit exceeded',
  });
  assert.equal(c.res.headers.get('x-ratelimit-remaining'), '0');
  assert.equal(c.res.headers.get('x-ratelimit-reset'), '60'); // the rejected request counts too
  // other routes are not limited
  assert.equal((await get('/aws/ec2/group/sig-12345678')).res.status, 200);
  await clock.advance(30_000);
  const d = await get('/aws/ec2/group/sig-12345678/status');
  assert.equal(d.res.status, 429);
  assert.equal(d.res.headers.get('x-ratelimit-reset'), '30');
  await clock.advance(29_999);
  const e = await get('/aws/ec2/group/sig-12345678/status');
  assert.equal(e.res.status, 429); // and e now counts as well: blocked until d leaves the window
  assert.equal(e.res.headers.get('x-ratelimit-reset'), '31');
  await clock.advance(31_000);
  assert.equal((await get('/aws/ec2/group/sig-12345678/status')).res.status, 200);
  assert.equal(state.stats().routes['group-status'].rateLimited, 3);
  state.setRateLimit('group-status', null);
  assert.equal(
    (await get('/aws/ec2/group/sig-12345678/status')).res.headers.get('x-ratelimit-limit'),
    '100000',
  );
});

test('rate-limit fault: 429 with and without X-RateLimit-Reset', async () => {
  const { state, get } = setup();
  state.addFault('group-status', { kind: 'rate-limit', resetSec: 7, count: 1 });
  const a = await get('/aws/ec2/group/sig-12345678/status');
  assert.equal(a.res.status, 429);
  assert.equal(a.body.response.data, 'Rate limit exceeded');
  assert.equal(a.res.headers.get('x-ratelimit-reset'), '7');
  assert.equal(a.res.headers.get('x-ratelimit-remaining'), '0');
  state.addFault('group-status', { kind: 'rate-limit', count: 1 });
  const b = await get('/aws/ec2/group/sig-12345678/status');
  assert.equal(b.res.status, 429);
  assert.equal(b.res.headers.get('x-ratelimit-reset'), null);
  assert.equal((await get('/aws/ec2/group/sig-12345678/status')).res.status, 200);
});

test('status fault with count: JSON error envelope, then back to normal', async () => {
  const { state, get } = setup();
  state.addFault('all', { kind: 'status', status: 503, count: 2 });
  for (const path of [
    '/aws/ec2/group/sig-12345678/status',
    `/aws/ec2/instance/${state.listInstances()[0]!.id}`,
  ]) {
    const { res, body } = await get(path);
    assert.equal(res.status, 503);
    assert.deepEqual(body.response.status, { code: 503, message: 'Service Unavailable' });
    assert.equal(body.response.errors?.[0]?.code, '503');
  }
  assert.equal((await get('/aws/ec2/group/sig-12345678/status')).res.status, 200);
  assert.equal(state.stats().routes['group-status'].faulted, 1);
});

test('untilMs: the fault holds until the clock reaches it', async () => {
  const { clock, state, get } = setup();
  state.addFault('group-status', { kind: 'status', status: 502, untilMs: T0 + 5_000 });
  assert.equal((await get('/aws/ec2/group/sig-12345678/status')).res.status, 502);
  await clock.advance(4_999);
  assert.equal((await get('/aws/ec2/group/sig-12345678/status')).res.status, 502);
  await clock.advance(1);
  assert.equal((await get('/aws/ec2/group/sig-12345678/status')).res.status, 200);
});

test('malformed fault: 200 with truncated JSON', async () => {
  const { state, app } = setup();
  state.addFault('group-status', { kind: 'malformed', count: 1 });
  const res = await app.request('/aws/ec2/group/sig-12345678/status', { headers: AUTH });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(text.startsWith('{"request":'));
  assert.throws(() => JSON.parse(text), SyntaxError);
});

test('empty fault: 200 with no items', async () => {
  const { state, get } = setup();
  state.addFault('all', { kind: 'empty', count: 2 });
  const a = await get('/aws/ec2/group/sig-12345678/status');
  assert.deepEqual([a.body.response.items, a.body.response.count], [[], 0]);
  const b = await get(`/aws/ec2/instance/${state.listInstances()[0]!.id}`);
  assert.deepEqual([b.body.response.items, b.body.response.count], [[], 0]);
});

test('stale fault: the group list as it was when the fault was added', async () => {
  const { state, get } = setup();
  const before = (await get('/aws/ec2/group/sig-12345678/status')).body.response.items!.map(
    (i) => i.instanceId,
  );
  const fid = state.addFault('group-status', { kind: 'stale' });
  state.addFault('instance-status', { kind: 'stale' });
  const victim = state.listInstances()[0]!.id;
  state.terminateInstance(victim); // replaced by a new instance
  const during = (await get('/aws/ec2/group/sig-12345678/status')).body.response.items!.map(
    (i) => i.instanceId,
  );
  assert.deepEqual(during, before);
  const inst = await get(`/aws/ec2/instance/${victim}`);
  assert.equal(inst.res.status, 200); // still ACTIVE in the stale view
  state.clearFaults(fid);
  const after = (await get('/aws/ec2/group/sig-12345678/status')).body.response.items!.map(
    (i) => i.instanceId,
  );
  assert.ok(!after.includes(victim));
  assert.equal(after.length, 3);
});

test('partial fault: named instances dropped; dropRandom gives different callers different lists', async () => {
  const { state, get } = setup();
  state.setTargetCapacity('sig-12345678', 6);
  const all = state.listInstances().map((i) => i.id);
  const f = state.addFault('group-status', { kind: 'partial', drop: [all[0]!, all[1]!] });
  const named = (await get('/aws/ec2/group/sig-12345678/status')).body.response.items!.map(
    (i) => i.instanceId,
  );
  assert.deepEqual(named, all.slice(2));
  state.clearFaults(f);
  state.addFault('group-status', { kind: 'partial', dropRandom: 2 });
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const items = (await get('/aws/ec2/group/sig-12345678/status')).body.response.items!;
    assert.equal(items.length, 4);
    seen.add(items.map((x) => x.instanceId).join(','));
  }
  assert.ok(seen.size > 1, 'random drops differ between requests');
});

test('timeout fault: the connection is dropped (in-process: the body errors), and counted', async () => {
  const { state, app } = setup();
  state.addFault('group-status', { kind: 'timeout', ms: 1, count: 1 });
  const res = await app.request('/aws/ec2/group/sig-12345678/status', { headers: AUTH });
  await assert.rejects(res.text(), /dropped the connection/);
  assert.equal(state.stats().routes['group-status'].dropped, 1);
  assert.equal((await app.request('/aws/ec2/group/sig-12345678/status', { headers: AUTH })).status, 200);
});

test('latency fault: the reply is delayed by at least the given real time', async () => {
  const { state, get } = setup();
  state.addFault('group-get', { kind: 'latency', ms: 40, count: 1 });
  const t = performance.now();
  const { res } = await get('/aws/ec2/group/sig-12345678');
  assert.equal(res.status, 200);
  assert.ok(performance.now() - t >= 35);
  assert.equal(state.stats().routes['group-get'].faulted, 1);
});

/** A body that never ends: counts how much of it the server pulled. */
function endlessBody(chunkBytes = 64 * 1024): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const chunk = new Uint8Array(chunkBytes).fill(0x20);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { body, pulled: () => pulled };
}

test('a body over 1 MiB gets 413 in the Spot envelope, from Content-Length or after 1 MiB of a stream (A8)', async () => {
  const { app, state } = setup();
  const big = `{"instanceId":"${'x'.repeat(2 * 1024 * 1024)}","signal":"INSTANCE_READY"}`;
  const res = await app.request('/aws/ec2/instance/signal', {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json', 'Content-Length': String(big.length) },
    body: big,
  });
  assert.equal(res.status, 413);
  const body = (await res.json()) as Envelope;
  assert.equal(body.request.url, '/aws/ec2/instance/signal');
  assert.deepEqual(body.response.status, { code: 413, message: 'Payload Too Large' });
  assert.deepEqual(body.response.errors, [
    { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is larger than 1048576 bytes', field: 'body' },
  ]);

  // No Content-Length (chunked): reading stops soon after the limit instead of buffering it all.
  const endless = endlessBody();
  const streamed = await app.request('/aws/ec2/instance/signal', {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json' },
    body: endless.body,
    duplex: 'half',
  } as RequestInit);
  assert.equal(streamed.status, 413);
  assert.ok(endless.pulled() < 2 * 1024 * 1024, `pulled ${endless.pulled()} bytes`);

  // A normal body still works.
  const id = state.listInstances()[0]?.id as string;
  const ok = await app.request('/aws/ec2/instance/signal', {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify({ instanceId: id, signal: 'INSTANCE_READY' }),
  });
  assert.equal(ok.status, 200);
});

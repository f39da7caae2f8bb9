import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { CloudState } from '../state.ts';
import type { ImdsSettings } from '../types.ts';
import { createImdsApp } from './imds.ts';

const T0 = Date.UTC(2026, 0, 1);
const TTL = 'X-aws-ec2-metadata-token-ttl-seconds';

function setup(imds: Partial<ImdsSettings> = {}) {
  const clock = new ManualClock(T0);
  const state = new CloudState({ clock, token: 'tok', seed: 5 });
  state.createGroup({ id: 'sig-12345678', name: 'etcd-prod', targetCapacity: 2, imds });
  const inst = state.listInstances()[0]!;
  const app = createImdsApp(state, inst.id);
  const req = async (path: string, init: RequestInit = {}) => {
    const res = await app.request(`http://imds${path}`, init);
    return { status: res.status, text: await res.text(), res };
  };
  const token = async (ttl = '60') =>
    (await req('/latest/api/token', { method: 'PUT', headers: { [TTL]: ttl } })).text;
  return { clock, state, inst, app, req, token };
}

test('static metadata as text/plain, with // and trailing slashes normalised', async () => {
  const { inst, req } = setup();
  const cases: [string, string][] = [
    ['/latest/meta-data/instance-id', inst.id],
    ['//latest/meta-data/instance-id', inst.id],
    ['/latest/meta-data/instance-id/', inst.id],
    ['/latest/meta-data/local-ipv4', inst.privateIp],
    ['/latest/meta-data/placement/availability-zone', 'us-east-1a'],
    ['/latest/meta-data/placement/region', 'us-east-1'],
    ['/latest/meta-data/instance-life-cycle', 'spot'],
    ['/latest/meta-data/autoscaling/target-lifecycle-state', 'InService'],
    [
      '/latest/meta-data/tags/instance',
      'Name\nspotinst:aws:ec2:group:createdBy\nspotinst:aws:ec2:group:id\nspotinst:aws:ec2:group:name',
    ],
    ['/latest/meta-data/tags/instance/spotinst:aws:ec2:group:id', 'sig-12345678'],
    ['/latest/meta-data/tags/instance/spotinst%3Aaws%3Aec2%3Agroup%3Aid', 'sig-12345678'],
    ['/latest/meta-data/tags/instance/Name', 'etcd-prod'],
    ['/latest/meta-data/placement', 'availability-zone\nregion'],
    ['/latest', 'dynamic/\nmeta-data/'],
  ];
  for (const [path, want] of cases) {
    const r = await req(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.text, want, path);
    assert.equal(r.res.headers.get('content-type'), 'text/plain', path);
  }
  const doc = JSON.parse((await req('/latest/dynamic/instance-identity/document')).text) as Record<
    string,
    unknown
  >;
  assert.equal(doc.instanceId, inst.id);
  assert.equal(doc.privateIp, inst.privateIp);
  assert.equal(doc.region, 'us-east-1');
  assert.match(String(doc.accountId), /^\d{12}$/);
});

test('404 with an HTML-ish body for unknown paths, notices not yet given, and disabled tags', async () => {
  const { req, state } = setup();
  for (const path of [
    '/latest/meta-data/nope',
    '/latest/meta-data/spot/instance-action',
    '/latest/meta-data/spot/termination-time',
    '/latest/meta-data/events/recommendations/rebalance',
    '/latest/meta-data/tags/instance/Nope',
    '/nonsense/meta-data/instance-id',
  ]) {
    const r = await req(path);
    assert.equal(r.status, 404, path);
    assert.match(r.text, /<title>404 - Not Found<\/title>/);
    assert.equal(r.res.headers.get('content-type'), 'text/html');
  }
  // The three notice polls answered "none yet" are counted as no notice, the other three 404s as errors.
  const counted = state.stats().routes.imds;
  assert.equal(counted.requests, 6);
  assert.equal(counted.noNotice, 3);
  assert.equal(counted.clientErrors, 3);
  state.updateGroup('sig-12345678', { imds: { tagsEnabled: false } });
  assert.equal((await req('/latest/meta-data/tags/instance')).status, 404);
  assert.equal((await req('/latest/meta-data/tags/instance/Name')).status, 404);
});

test('spot notice, termination time, rebalance and target lifecycle state after an interrupt', async () => {
  const { clock, req, state, inst } = setup();
  await clock.advance(3_500);
  state.interruptInstance(inst.id, { noticeMs: 120_000 });
  assert.equal(
    (await req('/latest/meta-data/spot/instance-action')).text,
    '{"action":"terminate","time":"2026-01-01T00:02:03Z"}',
  );
  assert.equal((await req('/latest/meta-data/spot/termination-time')).text, '2026-01-01T00:02:03Z');
  assert.equal(
    (await req('/latest/meta-data/events/recommendations/rebalance')).text,
    '{"noticeTime":"2026-01-01T00:00:03Z"}',
  );
  assert.equal((await req('/latest/meta-data/autoscaling/target-lifecycle-state')).text, 'Terminated');
  assert.equal(state.stats().routes.imds.noNotice, 0, 'a notice given is an ok answer');
  assert.equal(state.stats().routes.imds.ok, 4);
  await clock.advance(120_000);
  // terminated: the VM's metadata service is gone (the real listener is closed; in-process → 502)
  assert.equal((await req('/latest/meta-data/instance-id')).status, 502);
});

test('token PUT: TTL header required and 1..21600, echoed back; versioned path 403; GET on the token path 405', async () => {
  const { req } = setup();
  for (const ttl of [undefined, '', '0', '21601', 'abc', '1.5', '-1']) {
    const headers: Record<string, string> = ttl === undefined ? {} : { [TTL]: ttl };
    assert.equal((await req('/latest/api/token', { method: 'PUT', headers })).status, 400, String(ttl));
  }
  for (const ttl of ['1', '21600']) {
    const r = await req('/latest/api/token', { method: 'PUT', headers: { [TTL]: ttl } });
    assert.equal(r.status, 200);
    assert.match(r.text, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(r.res.headers.get(TTL), ttl);
  }
  assert.equal((await req('//latest/api/token', { method: 'PUT', headers: { [TTL]: '5' } })).status, 200);
  assert.equal((await req('/2021-03-23/api/token', { method: 'PUT', headers: { [TTL]: '5' } })).status, 403);
  assert.equal(
    (await req('/latest/api/token', { method: 'PUT', headers: { [TTL]: '5', 'X-Forwarded-For': '1.2.3.4' } }))
      .status,
    403,
  );
  assert.equal((await req('/latest/api/token')).status, 405);
  assert.equal((await req('/latest/meta-data/instance-id', { method: 'POST' })).status, 405);
});

test('IMDSv1 works by default; a valid token works too and the remaining TTL comes back', async () => {
  const { req, token, inst } = setup();
  assert.equal((await req('/latest/meta-data/instance-id')).text, inst.id);
  const t = await token('60');
  const r = await req('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': t } });
  assert.equal(r.text, inst.id);
  assert.equal(r.res.headers.get(TTL), '60');
  // a bad token is refused even when v1 is allowed
  assert.equal(
    (await req('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': 'bogus' } })).status,
    401,
  );
});

test('requireV2: 401 without a token, with a bad one, with an expired one, and with another instance token', async () => {
  const { clock, req, token, inst, state } = setup({ requireV2: true });
  assert.equal((await req('/latest/meta-data/instance-id')).status, 401);
  assert.match((await req('/latest/meta-data/instance-id')).text, /401 - Unauthorized/);
  assert.equal(
    (await req('/latest/meta-data/instance-id', { headers: { 'x-aws-ec2-metadata-token': 'bogus' } })).status,
    401,
  );
  const t = await token('10');
  assert.equal(
    (await req('/latest/meta-data/instance-id', { headers: { 'x-aws-ec2-metadata-token': t } })).text,
    inst.id,
  );
  const other = createImdsApp(state, state.listInstances()[1]!.id);
  assert.equal(
    (
      await other.request('http://imds/latest/meta-data/instance-id', {
        headers: { 'x-aws-ec2-metadata-token': t },
      })
    ).status,
    401,
  );
  await clock.advance(9_999);
  assert.equal(
    (await req('/latest/meta-data/instance-id', { headers: { 'x-aws-ec2-metadata-token': t } })).status,
    200,
  );
  await clock.advance(1);
  assert.equal(
    (await req('/latest/meta-data/instance-id', { headers: { 'x-aws-ec2-metadata-token': t } })).status,
    401,
  );
});

test('tokenPut modes 403/404/405 answer the PUT with that status; GETs still work without a token', async () => {
  for (const mode of [403, 404, 405] as const) {
    const { req, inst } = setup({ tokenPut: mode });
    assert.equal((await req('/latest/api/token', { method: 'PUT', headers: { [TTL]: '60' } })).status, mode);
    assert.equal((await req('/latest/meta-data/instance-id')).text, inst.id);
  }
});

test('down → 503 for everything; HEAD has no body', async () => {
  const { req, state } = setup();
  const head = await req('/latest/meta-data/instance-id', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  state.updateGroup('sig-12345678', { imds: { down: true } });
  assert.equal((await req('/latest/meta-data/instance-id')).status, 503);
  assert.equal((await req('/latest/api/token', { method: 'PUT', headers: { [TTL]: '60' } })).status, 503);
});

test('imds faults: per-instance status, empty, malformed, stale, timeout', async () => {
  const { req, state, inst, app } = setup();
  const otherId = state.listInstances()[1]!.id;
  state.addFault('imds', { kind: 'status', status: 500, instanceId: otherId });
  assert.equal((await req('/latest/meta-data/instance-id')).status, 200); // fault is for the other instance
  state.clearFaults();
  state.addFault('imds', { kind: 'status', status: 500, count: 1 });
  assert.equal((await req('/latest/meta-data/instance-id')).status, 500);
  state.addFault('imds', { kind: 'empty', count: 1 });
  assert.deepEqual([(await req('/latest/meta-data/instance-id')).text], ['']);
  state.addFault('imds', { kind: 'malformed', count: 1 });
  const half = (await req('/latest/meta-data/instance-id')).text;
  assert.ok(half.length > 0 && half.length < inst.id.length && inst.id.startsWith(half));
  state.addFault('imds', { kind: 'rate-limit', count: 1 });
  assert.equal((await req('/latest/meta-data/instance-id')).status, 429);
  const stale = state.addFault('imds', { kind: 'stale' });
  state.interruptInstance(inst.id);
  assert.equal((await req('/latest/meta-data/spot/instance-action')).status, 404);
  state.clearFaults(stale);
  assert.equal((await req('/latest/meta-data/spot/instance-action')).status, 200);
  state.addFault('imds', { kind: 'timeout', ms: 1, count: 1 });
  const res = await app.request('http://imds/latest/meta-data/instance-id');
  await assert.rejects(res.text(), /dropped the connection/);
  assert.equal(state.stats().routes.imds.dropped, 1);
});

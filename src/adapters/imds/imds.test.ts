import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createImds, GROUP_ID_TAG } from './imds.ts';
import type { ImdsOptions } from './imds.ts';
import { startHttpStub, unusedPort } from '../testing/http-stub.ts';
import type { HttpStub, StubRequest } from '../testing/http-stub.ts';
import { recordingLogger } from '../testing/recording-logger.ts';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { MetadataError, TimeoutError } from '../../core/errors.ts';

const DATA: Record<string, string> = {
  'instance-id': 'i-0aaaaaaaaaaaaaaa1',
  'local-ipv4': '10.0.1.11',
  'placement/availability-zone': 'us-east-1a',
  [`tags/instance/${GROUP_ID_TAG}`]: 'sig-12345678',
};

interface FakeImds {
  /** Token PUT answer: a status, 'hang' (never answers) or 'ok' (issues `tok-<n>`). */
  put?: number | 'hang' | 'ok';
  /** GETs need a token this server issued and still accepts. */
  requireToken?: boolean;
  /** Tokens issued before this count are rejected with 401 (simulates expiry server-side). */
  acceptFrom?: number;
  /** GET answer override. */
  get?: number | 'hang';
  data?: Record<string, string>;
}

let stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.map((s) => s.close()));
  stubs = [];
});

async function fakeImds(cfg: FakeImds) {
  let issued = 0;
  const s = await startHttpStub((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      const put = cfg.put ?? 'ok';
      if (put === 'hang') return;
      if (put !== 'ok') return void res.writeHead(put).end(`${put}`);
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!(ttl >= 1 && ttl <= 21600)) return void res.writeHead(400).end('400 - Bad Request');
      issued++;
      res.writeHead(200, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) }).end(`tok-${issued}`);
      return;
    }
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (cfg.get === 'hang') return;
    if (typeof cfg.get === 'number') return void res.writeHead(cfg.get).end();
    const tok = req.headers['x-aws-ec2-metadata-token'];
    if (tok !== undefined || cfg.requireToken) {
      const n = typeof tok === 'string' && tok.startsWith('tok-') ? Number(tok.slice(4)) : 0;
      if (n < 1 || n > issued || n < (cfg.acceptFrom ?? 1))
        return void res.writeHead(401).end('401 - Unauthorized');
    }
    const key = req.url.replace(/^\/latest\/meta-data\//, '');
    const value = (cfg.data ?? DATA)[key];
    if (value === undefined) return void res.writeHead(404).end('<title>404 - Not Found</title>');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(value);
  });
  stubs.push(s);
  const puts = () => s.requests.filter((r) => r.method === 'PUT').length;
  const gets = () => s.requests.filter((r) => r.method === 'GET');
  return { s, puts, gets };
}

function imds(url: string, extra: Partial<ImdsOptions> = {}) {
  const clock = new ManualClock();
  const logger = recordingLogger();
  const m = createImds({
    url,
    requireV2: false,
    timeoutMs: 1000,
    tokenTtlSec: 21600,
    clock,
    logger,
    ...extra,
  });
  return { m, clock, logger };
}

async function rejectsMetadata(p: Promise<unknown>, check: (e: MetadataError) => void) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MetadataError, `expected MetadataError, got ${String(err)}`);
    check(err);
    return true;
  });
}

test('the v2 token is cached until 30 s before expiry (count PUTs)', async () => {
  const { s, puts, gets } = await fakeImds({ requireToken: true });
  const { m, clock } = imds(s.url);
  assert.equal(await m.get('instance-id'), 'i-0aaaaaaaaaaaaaaa1');
  assert.equal(await m.get('/local-ipv4'), '10.0.1.11');
  assert.equal(puts(), 1);
  const put = s.requests.find((r) => r.method === 'PUT') as StubRequest;
  assert.equal(put.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
  assert.equal(gets()[0]?.headers['x-aws-ec2-metadata-token'], 'tok-1');
  assert.equal(gets()[1]?.url, '/latest/meta-data/local-ipv4');
  await clock.advance(21_600_000 - 30_001);
  await m.get('instance-id');
  assert.equal(puts(), 1, 'still cached 30.001 s before expiry');
  await clock.advance(1);
  await m.get('instance-id');
  assert.equal(puts(), 2, 'renewed 30 s before expiry');
  assert.equal(gets().at(-1)?.headers['x-aws-ec2-metadata-token'], 'tok-2');
});

test('concurrent callers share one token request', async () => {
  const { s, puts } = await fakeImds({ requireToken: true });
  const { m } = imds(s.url);
  const values = await Promise.all([m.get('instance-id'), m.get('local-ipv4'), m.identity()]);
  assert.equal(values[0], 'i-0aaaaaaaaaaaaaaa1');
  assert.equal(puts(), 1);
});

test('401 on a GET drops the token and retries once with a new one', async () => {
  const cfg: FakeImds = { requireToken: true };
  const { s, puts, gets } = await fakeImds(cfg);
  const { m } = imds(s.url);
  await m.get('instance-id');
  cfg.acceptFrom = 2; // the server no longer accepts tok-1
  assert.equal(await m.get('instance-id'), 'i-0aaaaaaaaaaaaaaa1');
  assert.equal(puts(), 2);
  assert.equal(gets().length, 3);
  cfg.acceptFrom = 1000; // rejects every token: one retry, then an error
  await rejectsMetadata(m.get('instance-id'), (e) => {
    assert.equal(e.status, 401);
    assert.match(e.message, /requires a valid IMDSv2 token/);
  });
  assert.equal(gets().length, 5);
  assert.equal(puts(), 3);
});

for (const status of [403, 404, 405]) {
  test(`token PUT answered ${status} → IMDSv1 from then on (no more PUTs)`, async () => {
    const { s, puts, gets } = await fakeImds({ put: status });
    const { m, logger } = imds(s.url);
    assert.equal(await m.get('instance-id'), 'i-0aaaaaaaaaaaaaaa1');
    assert.equal(await m.get('local-ipv4'), '10.0.1.11');
    assert.equal(puts(), 1);
    assert.ok(gets().every((g) => g.headers['x-aws-ec2-metadata-token'] === undefined));
    assert.equal(logger.entries.filter((e) => e.level === 'warn').length, 1);
  });
}

test('a 401 while on IMDSv1 tries tokens again', async () => {
  const cfg: FakeImds = { put: 403 };
  const { s, puts } = await fakeImds(cfg);
  const { m } = imds(s.url);
  await m.get('instance-id');
  cfg.put = 'ok';
  cfg.requireToken = true;
  assert.equal(await m.get('instance-id'), 'i-0aaaaaaaaaaaaaaa1');
  assert.equal(puts(), 2);
});

test('requireV2 refuses the fallback with a MetadataError naming the fix, and sends no GET', async () => {
  const { s, gets } = await fakeImds({ put: 403 });
  const { m } = imds(s.url, { requireV2: true });
  await rejectsMetadata(m.get('instance-id'), (e) => {
    assert.equal(e.retryable, false);
    assert.match(e.message, /metadata\.requireV2/);
    assert.match(e.message, /HTTP 403/);
  });
  assert.equal(gets().length, 0);
});

test('a token PUT that times out falls back to v1; with requireV2 it is an error', async () => {
  const { s, gets } = await fakeImds({ put: 'hang' });
  const { m } = imds(s.url, { timeoutMs: 100 });
  assert.equal(await m.get('instance-id'), 'i-0aaaaaaaaaaaaaaa1');
  assert.equal(gets().length, 1);
  const strict = imds(s.url, { timeoutMs: 100, requireV2: true }).m;
  await rejectsMetadata(strict.get('instance-id'), (e) => {
    assert.match(e.message, /timed out/);
    assert.ok(e.cause instanceof TimeoutError);
  });
});

test('404 → undefined', async () => {
  const { s } = await fakeImds({});
  const { m } = imds(s.url);
  assert.equal(await m.get('spot/instance-action'), undefined);
});

test('other statuses are MetadataErrors with the status; 5xx retryable, 403 not', async () => {
  const cfg: FakeImds = { get: 500 };
  const { s } = await fakeImds(cfg);
  const { m } = imds(s.url);
  await rejectsMetadata(m.get('instance-id'), (e) => {
    assert.equal(e.status, 500);
    assert.equal(e.retryable, true);
  });
  cfg.get = 403;
  await rejectsMetadata(m.get('instance-id'), (e) => {
    assert.equal(e.status, 403);
    assert.equal(e.retryable, false);
    assert.match(e.message, /turned off/);
  });
});

test('IMDS down (connection refused) → retryable MetadataError', async () => {
  const port = await unusedPort();
  const { m } = imds(`http://127.0.0.1:${port}`);
  await rejectsMetadata(m.get('instance-id'), (e) => {
    assert.equal(e.retryable, true);
    assert.match(e.message, /cannot reach the instance metadata service/);
    assert.match(e.message, /ECONNREFUSED/);
    assert.ok(e.cause);
  });
});

test('a GET that never answers → MetadataError caused by a TimeoutError', async () => {
  const { s } = await fakeImds({ get: 'hang' });
  const { m } = imds(s.url, { timeoutMs: 100 });
  await rejectsMetadata(m.get('instance-id'), (e) => {
    assert.ok(e.cause instanceof TimeoutError);
    assert.equal(e.retryable, true);
    assert.match(e.message, /did not answer within 100 ms/);
  });
});

test("a caller's abort is passed through", async () => {
  const { s } = await fakeImds({ get: 'hang' });
  const { m } = imds(s.url, { timeoutMs: 5000 });
  const ac = new AbortController();
  const p = m.get('instance-id', ac.signal);
  setTimeout(() => ac.abort(new Error('stopping')), 20);
  await assert.rejects(p, /stopping/);
});

test('identity reads id, IP, zone and the Elastigroup tag; a missing tag is undefined', async () => {
  const { s } = await fakeImds({ requireToken: true });
  const { m } = imds(s.url);
  assert.deepEqual(await m.identity(), {
    instanceId: 'i-0aaaaaaaaaaaaaaa1',
    privateIp: '10.0.1.11',
    availabilityZone: 'us-east-1a',
    groupId: 'sig-12345678',
  });
  assert.ok(s.requests.some((r) => r.url === '/latest/meta-data/tags/instance/spotinst:aws:ec2:group:id'));
  const bare = await fakeImds({ data: { 'instance-id': 'i-1', 'local-ipv4': '10.0.0.1' } });
  assert.deepEqual(await imds(bare.s.url).m.identity(), { instanceId: 'i-1', privateIp: '10.0.0.1' });
});

test('identity without local-ipv4 or instance-id is a MetadataError', async () => {
  const noIp = await fakeImds({ data: { 'instance-id': 'i-1' } });
  await rejectsMetadata(imds(noIp.s.url).m.identity(), (e) => assert.match(e.message, /local-ipv4/));
  const noId = await fakeImds({ data: { 'local-ipv4': '10.0.0.1' } });
  await rejectsMetadata(imds(noId.s.url).m.identity(), (e) => assert.match(e.message, /instance-id/));
});

import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { createElastigroup, parseRetryAfterMs, SIGNAL_READY_TO_SHUTDOWN } from './elastigroup.ts';
import type { ElastigroupOptions } from './elastigroup.ts';
import { sendJson, startHttpStub, unusedPort } from '../../adapters/testing/http-stub.ts';
import type { HttpStub, StubHandler, StubRequest } from '../../adapters/testing/http-stub.ts';
import { recordingLogger } from '../../adapters/testing/recording-logger.ts';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import {
  CloudApiError,
  MalformedResponseError,
  RateLimitedError,
  TimeoutError,
  isRetryable,
} from '../../core/errors.ts';

const GROUP = 'sig-12345678';

function envelope(kind: string, items: unknown[], url = '/aws/ec2/group/sig-12345678/status') {
  return {
    request: {
      id: '3c0f1f6e-0000-4000-8000-000000000001',
      url,
      method: 'GET',
      timestamp: '2024-05-01T10:00:00.000Z',
    },
    response: { status: { code: 200, message: 'OK' }, kind, items, count: items.length },
  };
}

function errorBody(status: number, code: string, message: string) {
  return {
    request: {
      id: '26608a5e-2a1d-4aa4-9da6-f23aefed6ade',
      url: '/x',
      method: 'GET',
      timestamp: '2024-05-01T10:00:00.000Z',
    },
    response: { status: { code: status, message: 'Bad Request' }, errors: [{ code, message }] },
  };
}

const STATUS_ITEMS = [
  {
    spotInstanceRequestId: 'sir-3thgagpn',
    instanceId: 'i-0aaaaaaaaaaaaaaa1',
    instanceType: 'm5.large',
    product: 'Linux/UNIX',
    groupId: GROUP,
    availabilityZone: 'us-east-1a',
    privateIp: '10.0.1.11',
    createdAt: '2024-05-01T09:00:00.000Z',
    status: 'fulfilled',
    lockStatus: 'unlocked',
  },
  {
    spotInstanceRequestId: null,
    instanceId: 'i-0aaaaaaaaaaaaaaa2',
    instanceType: 'm5.large',
    product: 'Linux/UNIX',
    groupId: GROUP,
    availabilityZone: 'us-east-1b',
    privateIp: '10.0.2.12',
    createdAt: '2024-05-01T09:01:00.000Z',
    status: 'running',
  },
];

let stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.map((s) => s.close()));
  stubs = [];
});

async function stub(handler: StubHandler): Promise<HttpStub> {
  const s = await startHttpStub(handler);
  stubs.push(s);
  return s;
}

function group(url: string, extra: Partial<ElastigroupOptions> = {}) {
  const clock = (extra.clock as ManualClock | undefined) ?? new ManualClock();
  const logger = recordingLogger();
  const g = createElastigroup({
    apiUrl: url,
    token: 'secret-token',
    groupId: GROUP,
    requestTimeoutMs: 2000,
    clock,
    logger,
    random: () => 0.5,
    ...extra,
  });
  return { g, clock, logger };
}

async function rejects<T extends Error>(
  p: Promise<unknown>,
  cls: new (...a: never[]) => T,
  check?: (e: T) => void,
) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    check?.(err);
    return true;
  });
}

describe('elastigroup happy paths', () => {
  test('listInstances reads group status items with auth, accountId and JSON headers', async () => {
    const s = await stub((_req, res) => sendJson(res, 200, envelope('spotinst:aws:ec2:group', STATUS_ITEMS)));
    const { g } = group(s.url, { account: 'act-12345678' });
    assert.equal(g.description, 'elastigroup sig-12345678');
    const list = await g.listInstances();
    assert.deepEqual(list, [
      {
        id: 'i-0aaaaaaaaaaaaaaa1',
        privateIp: '10.0.1.11',
        availabilityZone: 'us-east-1a',
        launchedAt: Date.parse('2024-05-01T09:00:00.000Z'),
      },
      {
        id: 'i-0aaaaaaaaaaaaaaa2',
        privateIp: '10.0.2.12',
        availabilityZone: 'us-east-1b',
        launchedAt: Date.parse('2024-05-01T09:01:00.000Z'),
      },
    ]);
    const req = s.requests[0] as StubRequest;
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/aws/ec2/group/sig-12345678/status?accountId=act-12345678');
    assert.equal(req.headers.authorization, 'Bearer secret-token');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers['content-type'], 'application/json');
  });

  test('no accountId query without an account; an empty group is an empty list', async () => {
    const s = await stub((_req, res) => sendJson(res, 200, envelope('spotinst:aws:ec2:group', [])));
    const { g } = group(`${s.url}/`);
    assert.deepEqual(await g.listInstances(), []);
    assert.equal(s.requests[0]?.url, '/aws/ec2/group/sig-12345678/status');
  });

  test('lifecycleState maps ACTIVE and TERMINATING, case-insensitively', async () => {
    const states: Record<string, string> = {
      'i-a': 'ACTIVE',
      'i-t': 'TERMINATING',
      'i-l': 'terminating',
      'i-m': 'Active',
    };
    const s = await stub((req, res) => {
      const id = req.url.split('/').pop() as string;
      sendJson(
        res,
        200,
        envelope('spotinst:aws:ec2:instance', [{ instanceId: id, lifeCycleState: states[id] }], req.url),
      );
    });
    const { g } = group(s.url);
    assert.equal(await g.lifecycleState('i-a'), 'active');
    assert.equal(await g.lifecycleState('i-t'), 'terminating');
    assert.equal(await g.lifecycleState('i-l'), 'terminating');
    assert.equal(await g.lifecycleState('i-m'), 'active');
    assert.equal(s.requests[0]?.url, '/aws/ec2/instance/i-a');
  });

  test('INSTANCE_DOESNT_EXIST (HTTP 400) → gone', async () => {
    const s = await stub((_req, res) =>
      sendJson(res, 400, errorBody(400, 'INSTANCE_DOESNT_EXIST', "Instance doesn't exist")),
    );
    const { g } = group(s.url);
    assert.equal(await g.lifecycleState('i-0aaaaaaaaaaaaaaa9'), 'gone');
  });

  test('confirmTerminated: true only on INSTANCE_DOESNT_EXIST; ACTIVE/TERMINATING are false; other errors throw', async () => {
    const replies: Array<(res: ServerResponse, url: string) => void> = [
      (res) => sendJson(res, 400, errorBody(400, 'INSTANCE_DOESNT_EXIST', "Instance doesn't exist")),
      (res, url) =>
        sendJson(
          res,
          200,
          envelope('spotinst:aws:ec2:instance', [{ instanceId: 'i-a', lifeCycleState: 'TERMINATING' }], url),
        ),
      (res, url) =>
        sendJson(
          res,
          200,
          envelope('spotinst:aws:ec2:instance', [{ instanceId: 'i-a', lifeCycleState: 'ACTIVE' }], url),
        ),
      (res) => sendJson(res, 503, errorBody(503, 'SERVICE_UNAVAILABLE', 'try later')),
    ];
    let n = 0;
    const s = await stub((req, res) => replies[n++]?.(res, req.url));
    const { g } = group(s.url);
    assert.equal(await g.confirmTerminated?.('i-a'), true);
    assert.equal(await g.confirmTerminated?.('i-a'), false);
    assert.equal(await g.confirmTerminated?.('i-a'), false);
    await assert.rejects(g.confirmTerminated!('i-a'));
  });

  test('an unknown lifeCycleState, an answer for another instance or no item is malformed, never guessed', async () => {
    const replies = [
      [{ instanceId: 'i-a', lifeCycleState: 'HIBERNATING' }],
      [{ instanceId: 'i-b', lifeCycleState: 'ACTIVE' }],
      [],
      [{ instanceId: 'i-a' }],
    ];
    let n = 0;
    const s = await stub((req, res) =>
      sendJson(res, 200, envelope('spotinst:aws:ec2:instance', replies[n++] ?? [], req.url)),
    );
    const { g, logger } = group(s.url);
    await rejects(g.lifecycleState('i-a'), MalformedResponseError, (e) =>
      assert.match(e.message, /unknown lifeCycleState 'HIBERNATING'/),
    );
    await rejects(g.lifecycleState('i-a'), MalformedResponseError, (e) =>
      assert.match(e.message, /answered for instance i-b/),
    );
    await rejects(g.lifecycleState('i-a'), MalformedResponseError, (e) =>
      assert.match(e.message, /expected 1 item, got 0/),
    );
    await rejects(g.lifecycleState('i-a'), MalformedResponseError);
    assert.equal(logger.entries.filter((e) => e.level === 'warn').length, 4);
  });

  test('signalReadyToShutdown POSTs the documented body', async () => {
    const s = await stub((_req, res) =>
      sendJson(res, 200, { request: { id: 'x' }, response: { status: { code: 200, message: 'OK' } } }),
    );
    const { g } = group(s.url, { account: 'act-1' });
    await g.signalReadyToShutdown('i-0aaaaaaaaaaaaaaa1');
    const req = s.requests[0] as StubRequest;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/aws/ec2/instance/signal?accountId=act-1');
    assert.deepEqual(JSON.parse(req.body), {
      instanceId: 'i-0aaaaaaaaaaaaaaa1',
      signal: SIGNAL_READY_TO_SHUTDOWN,
    });
    assert.equal(SIGNAL_READY_TO_SHUTDOWN, 'INSTANCE_READY_TO_SHUTDOWN');
  });

  test('desiredCapacity reads capacity.target, undefined when absent', async () => {
    let withCapacity = true;
    const s = await stub((req, res) =>
      sendJson(
        res,
        200,
        envelope(
          'spotinst:aws:ec2:group',
          [
            withCapacity
              ? { id: GROUP, capacity: { minimum: 1, maximum: 9, target: 3, unit: 'instance' } }
              : { id: GROUP },
          ],
          req.url,
        ),
      ),
    );
    const { g } = group(s.url);
    assert.equal(await g.desiredCapacity?.(), 3);
    withCapacity = false;
    assert.equal(await g.desiredCapacity?.(), undefined);
    assert.equal(s.requests[0]?.url, '/aws/ec2/group/sig-12345678');
  });
});

describe('elastigroup errors', () => {
  test('401 is terminal and says to check the token; the token is never in the message', async () => {
    const s = await stub((_req, res) => sendJson(res, 401, errorBody(401, 'UNAUTHORIZED', 'Unauthorized')));
    const { g } = group(s.url);
    await rejects(g.listInstances(), CloudApiError, (e) => {
      assert.equal(e.status, 401);
      assert.equal(e.retryable, false);
      assert.equal(e.code, 'SPOT_UNAUTHORIZED');
      assert.match(e.message, /check the token/);
      assert.doesNotMatch(e.message, /secret-token/);
    });
    // Terminal errors set no back-off: the next call goes out.
    await rejects(g.listInstances(), CloudApiError);
    assert.equal(s.requests.length, 2);
  });

  test('GROUP_DOESNT_EXIST is terminal, with the API code', async () => {
    const s = await stub((_req, res) =>
      sendJson(res, 400, errorBody(400, 'GROUP_DOESNT_EXIST', "Group doesn't exist")),
    );
    const { g } = group(s.url);
    await rejects(g.listInstances(), CloudApiError, (e) => {
      assert.equal(e.apiCode, 'GROUP_DOESNT_EXIST');
      assert.equal(e.status, 400);
      assert.equal(isRetryable(e), false);
      assert.equal(e.code, 'SPOT_GROUP_NOT_FOUND');
      assert.match(e.message, /sig-12345678 does not exist/);
      assert.match(e.message, /26608a5e/);
    });
  });

  test('429 with X-RateLimit-Reset: later calls on that route are refused without a request until the reset', async () => {
    let limited = true;
    const s = await stub((req, res) => {
      if (limited && req.url.endsWith('/status')) {
        sendJson(
          res,
          429,
          {
            request: { id: '546eeaef', url: req.url, method: 'GET', timestamp: '2025-06-30T11:45:44.765Z' },
            response: { status: { code: 429, message: 'Too Many Requests' }, data: 'Rate limit exceeded' },
          },
          { 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '7' },
        );
      } else if (req.url.endsWith('/status'))
        sendJson(res, 200, envelope('spotinst:aws:ec2:group', STATUS_ITEMS));
      else
        sendJson(
          res,
          200,
          envelope('spotinst:aws:ec2:instance', [{ instanceId: 'i-a', lifeCycleState: 'ACTIVE' }]),
        );
    });
    const { g, clock } = group(s.url);
    await rejects(g.listInstances(), RateLimitedError, (e) => {
      assert.equal(e.retryAfterMs, 7000);
      assert.equal(e.status, 429);
      assert.equal(isRetryable(e), true);
    });
    assert.equal(s.requests.length, 1);
    limited = false;
    await clock.advance(6000);
    await rejects(g.listInstances(), RateLimitedError, (e) => assert.equal(e.retryAfterMs, 1000));
    assert.equal(s.requests.length, 1, 'refused without sending');
    // Another route is not blocked.
    assert.equal(await g.lifecycleState('i-a'), 'active');
    assert.equal(s.requests.length, 2);
    await clock.advance(1000);
    assert.equal((await g.listInstances()).length, 2);
    assert.equal(s.requests.length, 3);
  });

  test('429 with Retry-After only (a proxy in front of Spot.io): honoured like X-RateLimit-Reset', async () => {
    const s = await stub((req, res) =>
      sendJson(res, 429, { response: { status: { code: 429 } } }, { 'retry-after': '4' }),
    );
    const { g, clock } = group(s.url);
    await rejects(g.listInstances(), RateLimitedError, (e) => assert.equal(e.retryAfterMs, 4000));
    await clock.advance(3000);
    await rejects(g.listInstances(), RateLimitedError, (e) => assert.equal(e.retryAfterMs, 1000));
    assert.equal(s.requests.length, 1, 'refused without sending until Retry-After has passed');
    assert.equal(
      parseRetryAfterMs(new Date(clock.now() + 9000).toUTCString(), clock.now()) !== undefined,
      true,
    );
    assert.equal(parseRetryAfterMs('soon', clock.now()), undefined);
  });

  test('a success with X-RateLimit-Remaining 0: the route waits for X-RateLimit-Reset instead of drawing a 429', async () => {
    let remaining = '1';
    const s = await stub((req, res) =>
      sendJson(res, 200, envelope('spotinst:aws:ec2:group', STATUS_ITEMS, req.url), {
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': remaining,
        'x-ratelimit-reset': remaining === '0' ? '5' : '0',
      }),
    );
    const { g, clock } = group(s.url);
    assert.equal((await g.listInstances()).length, 2);
    assert.equal((await g.listInstances()).length, 2, 'budget left: no wait');
    remaining = '0';
    assert.equal((await g.listInstances()).length, 2, 'the call that spent the budget still answers');
    assert.equal(s.requests.length, 3);
    await rejects(g.listInstances(), RateLimitedError, (e) => assert.equal(e.retryAfterMs, 5000));
    await clock.advance(4999);
    await rejects(g.listInstances(), RateLimitedError);
    assert.equal(s.requests.length, 3, 'no request until the reset');
    remaining = '1';
    await clock.advance(1);
    assert.equal((await g.listInstances()).length, 2);
    assert.equal(s.requests.length, 4);
  });

  test('429 without the header, 5xx and timeouts back off exponentially (1 s doubling to 60 s, jittered); a success resets', async () => {
    let mode: '429' | '503' | 'ok' = '429';
    const s = await stub((req, res) => {
      if (mode === '429') sendJson(res, 429, { response: { status: { code: 429 } } });
      else if (mode === '503') res.writeHead(503).end('<html>Service Unavailable</html>');
      else sendJson(res, 200, envelope('spotinst:aws:ec2:group', STATUS_ITEMS, req.url));
    });
    let r = 0.5;
    const { g, clock } = group(s.url, { random: () => r });
    await rejects(g.listInstances(), RateLimitedError, (e) => assert.equal(e.retryAfterMs, undefined));
    // Back-off 1 s (jitter 0 at random 0.5): refused during it, with the remaining time.
    await clock.advance(999);
    await rejects(g.listInstances(), RateLimitedError, (e) => assert.equal(e.retryAfterMs, 1));
    assert.equal(s.requests.length, 1);
    await clock.advance(1);
    mode = '503';
    await rejects(g.listInstances(), CloudApiError, (e) => {
      assert.equal(e.status, 503);
      assert.equal(e.retryable, true);
    });
    assert.equal(s.requests.length, 2);
    // Second failure: 2 s. During it, the same (last) error comes back without a request.
    await clock.advance(1999);
    await rejects(g.listInstances(), CloudApiError, (e) => assert.equal(e.status, 503));
    assert.equal(s.requests.length, 2);
    await clock.advance(1);
    r = 0.999; // +20 % jitter from now on
    await rejects(g.listInstances(), CloudApiError); // third failure
    // Measures, in 100 ms steps of the injected clock, how long each back-off refuses calls.
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = s.requests.length;
      let waited = 0;
      while (s.requests.length === before) {
        await clock.advance(100);
        waited += 100;
        await g.listInstances().catch(() => undefined);
      }
      waits.push(waited);
    }
    // 4 s, 8 s, 16 s, 32 s, 60 s (cap) … each +20 % (rounded up to the probe step).
    assert.deepEqual(waits, [4800, 9600, 19200, 38400, 72000, 72000, 72000]);
    mode = 'ok';
    await clock.advance(72_000);
    assert.equal((await g.listInstances()).length, 2);
    mode = '503';
    await rejects(g.listInstances(), CloudApiError);
    const n = s.requests.length;
    await clock.advance(1200);
    await rejects(g.listInstances(), CloudApiError);
    assert.equal(s.requests.length, n + 1, 'after a success the back-off starts again at 1 s');
  });

  test('timeout: a server that never answers gives TimeoutError within the request timeout, then backs off', async () => {
    const s = await stub(() => {
      /* never answers */
    });
    const { g, clock } = group(s.url, { requestTimeoutMs: 150 });
    await rejects(g.listInstances(), TimeoutError, (e) => {
      assert.equal(e.retryable, true);
      assert.match(e.message, /did not answer within 150 ms/);
    });
    await rejects(g.listInstances(), TimeoutError);
    assert.equal(s.requests.length, 1, 'second call refused during back-off');
    await clock.advance(1000);
    await rejects(g.listInstances(), TimeoutError);
    assert.equal(s.requests.length, 2);
  });

  test("a caller's abort is passed through, not turned into a timeout or a back-off", async () => {
    const s = await stub(() => {
      /* never answers */
    });
    const { g } = group(s.url);
    const ac = new AbortController();
    const p = g.listInstances(ac.signal);
    setTimeout(() => ac.abort(new Error('shutting down')), 20);
    await assert.rejects(p, /shutting down/);
    await assert.rejects(g.listInstances(AbortSignal.abort(new Error('already'))), /already/);
    const ac2 = new AbortController();
    const p2 = g.listInstances(ac2.signal);
    setTimeout(() => ac2.abort(new Error('again')), 20);
    await assert.rejects(p2, /again/);
    assert.equal(s.requests.length, 2);
  });

  test('connection refused → retryable CloudApiError', async () => {
    const port = await unusedPort();
    const { g } = group(`http://127.0.0.1:${port}`);
    await rejects(g.listInstances(), CloudApiError, (e) => {
      assert.equal(e.retryable, true);
      assert.match(e.message, /cannot reach Spot\.io/);
      assert.match(e.message, /ECONNREFUSED/);
    });
  });

  test("a port fetch refuses to use (9, 'discard') names the reason, not just 'fetch failed'", async () => {
    const { g } = group('http://127.0.0.1:9');
    await rejects(g.listInstances(), CloudApiError, (e) => {
      assert.match(e.message, /cannot reach Spot\.io at http:\/\/127\.0\.0\.1:9 \(bad port\)/);
    });
  });

  test('malformed JSON, truncated JSON, a cut-off body and a wrong shape → MalformedResponseError, logged with a snippet', async () => {
    const bodies: ((res: ServerResponse) => void)[] = [
      (res) => sendJson(res, 200, '<html>proxy error</html>'),
      (res) =>
        sendJson(res, 200, JSON.stringify(envelope('spotinst:aws:ec2:group', STATUS_ITEMS)).slice(0, 120)),
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
        res.write('{"request":{"id":"x"},"response":{"items":[');
        setTimeout(() => res.destroy(), 20);
      },
      (res) => sendJson(res, 200, { response: { items: 'nope' } }),
      (res) => sendJson(res, 200, { hello: 'world' }),
      (res) => sendJson(res, 200, { response: { items: [STATUS_ITEMS[0]], count: 2 } }),
    ];
    let n = 0;
    const s = await stub((_req, res) => (bodies[n++] as (res: ServerResponse) => void)(res));
    const { g, logger } = group(s.url);
    for (let i = 0; i < bodies.length; i++) {
      await rejects(g.listInstances(), MalformedResponseError, (e) => assert.equal(e.retryable, true));
    }
    assert.equal(s.requests.length, bodies.length, 'malformed answers set no back-off');
    const warns = logger.entries.filter((e) => e.level === 'warn');
    assert.equal(warns.length, bodies.length);
    assert.equal(warns[0]?.obj.body, '<html>proxy error</html>');
    assert.ok(String(warns[1]?.obj.body).length <= 200);
  });

  test('a list item without privateIp or instanceId, or with a bad IP, or listed twice, is malformed', async () => {
    const lists = [
      [{ instanceId: 'i-1', availabilityZone: 'us-east-1a' }],
      [{ privateIp: '10.0.0.1' }],
      [{ instanceId: 'i-1', privateIp: 'not-an-ip' }],
      [STATUS_ITEMS[0], STATUS_ITEMS[0]],
    ];
    let n = 0;
    const s = await stub((_req, res) =>
      sendJson(res, 200, envelope('spotinst:aws:ec2:group', lists[n++] ?? [])),
    );
    const { g } = group(s.url);
    await rejects(g.listInstances(), MalformedResponseError, (e) =>
      assert.match(e.message, /items\[0\]: privateIp/),
    );
    await rejects(g.listInstances(), MalformedResponseError, (e) =>
      assert.match(e.message, /items\[0\]: instanceId/),
    );
    await rejects(g.listInstances(), MalformedResponseError, (e) =>
      assert.match(e.message, /expected an IP address/),
    );
    await rejects(g.listInstances(), MalformedResponseError, (e) => assert.match(e.message, /listed twice/));
  });

  test('other 4xx are terminal CloudApiErrors with the API code; non-JSON error bodies still give the status', async () => {
    let n = 0;
    const s = await stub((_req, res) => {
      if (n++ === 0) sendJson(res, 400, errorBody(400, 'ValidationError', 'bad field'));
      else res.writeHead(502).end('Bad Gateway');
    });
    const { g } = group(s.url);
    await rejects(g.signalReadyToShutdown('i-1'), CloudApiError, (e) => {
      assert.equal(e.apiCode, 'ValidationError');
      assert.equal(e.retryable, false);
      assert.match(e.message, /ValidationError: bad field/);
    });
    await rejects(g.signalReadyToShutdown('i-1'), CloudApiError, (e) => {
      assert.equal(e.status, 502);
      assert.equal(e.retryable, true);
      assert.match(e.message, /Bad Gateway/);
    });
  });
});

describe('elastigroup onCall (metrics)', () => {
  test('reports every request with its route template and status, never a call refused during a back-off', async () => {
    let mode: 'ok' | '503' | 'hang' = 'ok';
    const s = await stub((req, res) => {
      if (mode === 'hang') return;
      if (mode === '503') res.writeHead(503).end('unavailable');
      else if (req.url.endsWith('/status'))
        sendJson(res, 200, envelope('spotinst:aws:ec2:group', STATUS_ITEMS));
      else
        sendJson(
          res,
          200,
          envelope('spotinst:aws:ec2:instance', [{ instanceId: 'i-a', lifeCycleState: 'ACTIVE' }]),
        );
    });
    const calls: [string, number | string][] = [];
    const { g, clock } = group(s.url, {
      requestTimeoutMs: 150,
      onCall: (c) => {
        calls.push([c.route, c.status]);
        throw new Error('a broken metrics hook fails no call');
      },
    });
    assert.equal((await g.listInstances()).length, 2);
    assert.equal(await g.lifecycleState('i-a'), 'active');
    mode = '503';
    await rejects(g.listInstances(), CloudApiError);
    await rejects(g.listInstances(), CloudApiError); // refused during the back-off: no request
    await clock.advance(1000);
    mode = 'hang';
    await rejects(g.listInstances(), TimeoutError);
    assert.deepEqual(calls, [
      ['GET /aws/ec2/group/{id}/status', 200],
      ['GET /aws/ec2/instance/{id}', 200],
      ['GET /aws/ec2/group/{id}/status', 503],
      ['GET /aws/ec2/group/{id}/status', 'timeout'],
    ]);
    assert.equal(s.requests.length, 4);

    const port = await unusedPort();
    const refused: (number | string)[] = [];
    const r = group(`http://127.0.0.1:${port}`, { onCall: (c) => void refused.push(c.status) });
    await rejects(r.g.listInstances(), CloudApiError);
    assert.deepEqual(refused, ['unreachable']);
  });
});

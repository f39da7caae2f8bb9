import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GroupView } from '../core/observation.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { LocalStateStore } from './local-state.ts';
import { PeerAuthVerifier, peerKeyFromSecret, signRequest } from './peer-auth.ts';
import { createStatusApp, startStatusServer } from './status-server.ts';
import { createPrometheusMetrics } from '../adapters/metrics/prometheus.ts';
import { parsePrometheusText } from '../../test/support/prom-text.ts';
import { recordingLogger } from './testing/fakes.ts';
import { VoteKeeper } from './votes.ts';

describe('status server', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-status-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const AUTHORITY = '127.0.0.12:2378';
  const key = peerKeyFromSecret('a shared secret of the group, 32+ chars');

  function setup(opts: { hasData?: boolean; group?: GroupView; stateError?: string } = {}) {
    const store = new LocalStateStore(join(dir, `s${++n}`));
    const clock = new ManualClock(1_000_000);
    const current: { group: GroupView } = {
      group: opts.group ?? {
        ok: true,
        fetchedAt: 0,
        desiredCapacity: 3,
        instances: [
          { id: 'i-1', privateIp: '127.0.0.11' },
          { id: 'i-2', privateIp: '127.0.0.12' },
          { id: 'i-3', privateIp: '127.0.0.13' },
        ],
      },
    };
    const votes = new VoteKeeper({
      store,
      clock,
      logger: recordingLogger(),
      voteTtlMs: 30_000,
      maxVoters: 5,
      self: () => ({ instanceId: 'i-2', peerUrl: 'http://127.0.0.12:2380' }),
      groupView: () => current.group,
      localFacts: async () => ({ hasData: opts.hasData ?? false }),
    });
    const app = createStatusApp({
      auth: new PeerAuthVerifier({ key, authority: () => AUTHORITY, now: () => clock.now() }),
      problem: () => opts.stateError,
      status: () => ({ cycle: 3 }),
      bootstrapView: async () => ({ instanceId: 'i-2', reachable: true, hasData: false }),
      castVote: (c, capacity, plan) => votes.cast(c, capacity, plan),
      planStarted: (c, token) => votes.noteStarted(c, token),
    });
    /** A request as a peer agent sends it: signed for this agent's address. */
    const signed = (
      path: string,
      init: { method?: string; body?: string; headers?: Record<string, string> } = {},
    ) => {
      const method = init.method ?? 'GET';
      const auth = signRequest(key, {
        method,
        url: `http://${AUTHORITY}${path}`,
        ...(init.body !== undefined ? { body: init.body } : {}),
        now: clock.now(),
      });
      return {
        headers: { ...auth, ...init.headers },
        send: () =>
          app.request(path, {
            method,
            ...(init.body !== undefined ? { body: init.body } : {}),
            headers: { 'content-type': 'application/json', ...auth, ...init.headers },
          }),
      };
    };
    const vote = (body: unknown) =>
      signed('/v1/bootstrap/vote', {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }).send();
    return { store, clock, app, vote, signed, current };
  }

  type Answer = { granted: boolean; reason: string };

  it('grants a vote and stores it before answering; refuses another candidate until the vote expires', async () => {
    const s = setup();
    const res = await s.vote({ candidate: 'i-1', desiredCapacity: 3 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Answer;
    assert.equal(body.granted, true, body.reason);
    // Synchronously after the answer: the file already holds the vote.
    assert.deepEqual(JSON.parse(await readFile(s.store.path, 'utf8')), {
      vote: { candidate: 'i-1', at: 1_000_000 },
    });

    // i-1 disappears from the list: i-2 is now the lowest, but the vote for i-1 still binds.
    s.current.group = {
      ok: true,
      fetchedAt: 0,
      desiredCapacity: 3,
      instances: [
        { id: 'i-2', privateIp: '127.0.0.12' },
        { id: 'i-3', privateIp: '127.0.0.13' },
      ],
    };
    const other = (await (await s.vote({ candidate: 'i-2', desiredCapacity: 3 })).json()) as Answer;
    assert.equal(other.granted, false);
    assert.match(other.reason, /voted for i-1/);

    await s.clock.advance(30_001);
    const later = (await (await s.vote({ candidate: 'i-2', desiredCapacity: 3 })).json()) as Answer;
    assert.equal(later.granted, true, 'an expired vote binds no more');
  });

  it('refuses with local data, with an unknown group list, for a candidate that is not the lowest, and for a capacity it does not share', async () => {
    const withData = (await (
      await setup({ hasData: true }).vote({ candidate: 'i-1', desiredCapacity: 3 })
    ).json()) as Answer;
    assert.deepEqual(withData.granted, false);
    const unknown = (await (
      await setup({ group: { ok: false, error: 'HTTP 503' } }).vote({ candidate: 'i-1', desiredCapacity: 3 })
    ).json()) as Answer;
    assert.equal(unknown.granted, false);
    const s = setup();
    const notLowest = (await (await s.vote({ candidate: 'i-2', desiredCapacity: 3 })).json()) as Answer;
    assert.equal(notLowest.granted, false);
    assert.match(notLowest.reason, /i-1/);
    const otherCapacity = (await (await s.vote({ candidate: 'i-1', desiredCapacity: 2 })).json()) as Answer;
    assert.equal(otherCapacity.granted, false);
    assert.match(otherCapacity.reason, /majority of 2 instances, but the group's desired capacity is 3 here/);
    const stranger = (await (await s.vote({ candidate: '-attacker', desiredCapacity: 3 })).json()) as Answer;
    assert.equal(stranger.granted, false);
    assert.match(stranger.reason, /-attacker is not in my group list/);
    const rec = await s.store.read();
    assert.deepEqual(rec.ok && rec.record, {}, 'no vote was stored');
  });

  it('a corrupt state file refuses the vote and stays untouched', async () => {
    const s = setup();
    await s.store.write({});
    await writeFile(s.store.path, 'garbage');
    const body = (await (await s.vote({ candidate: 'i-1', desiredCapacity: 3 })).json()) as Answer;
    assert.equal(body.granted, false);
    assert.match(body.reason, /cannot vote/);
    assert.equal(await readFile(s.store.path, 'utf8'), 'garbage');
  });

  it('rejects a malformed request', async () => {
    const s = setup();
    assert.equal((await s.vote('not json')).status, 400);
    assert.equal((await s.vote({ candidate: 7 })).status, 400);
    assert.equal((await s.vote({ candidate: 'a b' })).status, 400);
    assert.equal((await s.vote({ candidate: 'i-1', desiredCapacity: -1 })).status, 400);
    assert.equal((await s.vote({ candidate: 'i-1', desiredCapacity: '3' })).status, 400);
  });

  it('serves /healthz to anyone, /v1/status and /v1/bootstrap to signed requests only', async () => {
    const s = setup();
    assert.deepEqual(await (await s.app.request('/healthz')).json(), { ok: true });
    assert.deepEqual(await (await s.signed('/v1/status').send()).json(), { cycle: 3 });
    assert.deepEqual(await (await s.signed('/v1/bootstrap').send()).json(), {
      instanceId: 'i-2',
      reachable: true,
      hasData: false,
    });
    for (const path of ['/v1/status', '/v1/bootstrap']) {
      const res = await s.app.request(path);
      assert.equal(res.status, 401, path);
      const text = await res.text();
      assert.match(text, /unauthenticated/);
      assert.doesNotMatch(text, /i-2|cycle/, 'nothing is disclosed');
    }
  });

  it('/healthz answers 503 while the state file is unreadable, without the details', async () => {
    const s = setup({ stateError: '/var/lib/etcd-spot/state.json is not valid JSON' });
    const res = await s.app.request('/healthz');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ok: false, reason: 'state file unreadable (see the agent log)' });
  });

  describe('forged, replayed and misdirected votes change nothing', () => {
    async function assertNoVote(s: ReturnType<typeof setup>): Promise<void> {
      const rec = await s.store.read();
      assert.deepEqual(rec.ok && rec.record, {}, 'no vote was stored');
    }

    it('an unsigned vote (the "-attacker" of the review) gets 401', async () => {
      const s = setup();
      const res = await s.app.request('/v1/bootstrap/vote', {
        method: 'POST',
        body: JSON.stringify({ candidate: '-attacker', desiredCapacity: 3 }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 401);
      await assertNoVote(s);
    });

    it('a vote signed with another key gets 401 and names the likely cause', async () => {
      const s = setup();
      const body = JSON.stringify({ candidate: 'i-1', desiredCapacity: 3 });
      const forged = signRequest(peerKeyFromSecret('not the group secret, guessed'), {
        method: 'POST',
        url: `http://${AUTHORITY}/v1/bootstrap/vote`,
        body,
        now: s.clock.now(),
      });
      const res = await s.app.request('/v1/bootstrap/vote', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...forged },
      });
      assert.equal(res.status, 401);
      assert.match(await res.text(), /bad signature \(is agent.peerSecret the same on every agent\?\)/);
      await assertNoVote(s);
    });

    it('a signed body swapped for another candidate gets 401', async () => {
      const s = setup();
      const req = s.signed('/v1/bootstrap/vote', {
        method: 'POST',
        body: JSON.stringify({ candidate: 'i-1', desiredCapacity: 3 }),
      });
      const res = await s.app.request('/v1/bootstrap/vote', {
        method: 'POST',
        body: JSON.stringify({ candidate: 'i-2', desiredCapacity: 3 }),
        headers: { 'content-type': 'application/json', ...req.headers },
      });
      assert.equal(res.status, 401);
      await assertNoVote(s);
    });

    it('a replayed vote gets 401, and so does one replayed after the skew window', async () => {
      const s = setup();
      const req = s.signed('/v1/bootstrap/vote', {
        method: 'POST',
        body: JSON.stringify({ candidate: 'i-1', desiredCapacity: 3 }),
      });
      assert.equal((await req.send()).status, 200);
      const again = await req.send();
      assert.equal(again.status, 401);
      assert.match(await again.text(), /replayed request/);
      await s.clock.advance(121_000);
      const late = await req.send();
      assert.equal(late.status, 401);
      assert.match(await late.text(), /timestamp is -121s off/);
    });

    it('a vote signed for another agent (another address) gets 401', async () => {
      const s = setup();
      const body = JSON.stringify({ candidate: 'i-1', desiredCapacity: 3 });
      const forOther = signRequest(key, {
        method: 'POST',
        url: 'http://127.0.0.13:2378/v1/bootstrap/vote',
        body,
        now: s.clock.now(),
      });
      const res = await s.app.request('/v1/bootstrap/vote', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...forOther },
      });
      assert.equal(res.status, 401);
      await assertNoVote(s);
    });

    it('a body over 16 KiB gets 413 before anything is decided', async () => {
      const s = setup();
      const res = await s.vote({ candidate: 'i-1', desiredCapacity: 3, pad: 'x'.repeat(20_000) });
      assert.equal(res.status, 413);
      await assertNoVote(s);
    });
  });

  describe('a vote request with a plan (the whole group at once)', () => {
    const plan = {
      token: 'sig-1-i-1-1000',
      instances: ['i-1', 'i-2', 'i-3'],
      members: [
        { instanceId: 'i-1', peerUrl: 'http://127.0.0.11:2380' },
        { instanceId: 'i-2', peerUrl: 'http://127.0.0.12:2380' },
        { instanceId: 'i-3', peerUrl: 'http://127.0.0.13:2380' },
      ],
    };
    type PlanAnswer = Answer & { planAccepted?: boolean };

    it('grants and records the plan before answering when the list is the plan’s', async () => {
      const s = setup();
      const res = await s.vote({ candidate: 'i-1', desiredCapacity: 3, plan });
      assert.equal(res.status, 200);
      const body = (await res.json()) as PlanAnswer;
      assert.equal(body.granted, true, body.reason);
      assert.equal(body.planAccepted, true, body.reason);
      assert.deepEqual(JSON.parse(await readFile(s.store.path, 'utf8')), {
        vote: { candidate: 'i-1', at: 1_000_000, plan },
      });
    });

    it('grants one by one (no plan recorded) when its own list differs from the plan’s', async () => {
      const s = setup();
      s.current.group = {
        ok: true,
        fetchedAt: 0,
        desiredCapacity: 3,
        instances: [
          { id: 'i-1', privateIp: '127.0.0.11' },
          { id: 'i-2', privateIp: '127.0.0.12' },
        ],
      };
      const body = (await (
        await s.vote({ candidate: 'i-1', desiredCapacity: 3, plan })
      ).json()) as PlanAnswer;
      assert.equal(body.granted, true, body.reason);
      assert.equal(body.planAccepted, undefined);
      assert.match(body.reason, /one by one: .*my list of 2 lacks i-3/);
      assert.deepEqual(JSON.parse(await readFile(s.store.path, 'utf8')), {
        vote: { candidate: 'i-1', at: 1_000_000 },
      });
    });

    it('the seeder’s start notice: accepted for the recorded plan (the start is stored before answering), refused otherwise', async () => {
      const s = setup();
      await s.vote({ candidate: 'i-1', desiredCapacity: 3, plan });
      const notice = (body: unknown) =>
        s.signed('/v1/bootstrap/started', { method: 'POST', body: JSON.stringify(body) }).send();
      const wrong = await notice({ candidate: 'i-1', token: 'sig-1-i-1-999' });
      assert.equal(wrong.status, 200);
      assert.equal(((await wrong.json()) as { accepted: boolean }).accepted, false);
      assert.equal(JSON.parse(await readFile(s.store.path, 'utf8')).planStarted, undefined);
      const right = (await (await notice({ candidate: 'i-1', token: plan.token })).json()) as {
        accepted: boolean;
        reason: string;
      };
      assert.equal(right.accepted, true, right.reason);
      assert.deepEqual(JSON.parse(await readFile(s.store.path, 'utf8')).planStarted, {
        token: plan.token,
        at: 1_000_000,
      });
      assert.equal((await notice({ candidate: 'i 1', token: plan.token })).status, 400);
      // Unsigned: 401, like every /v1 route.
      const unsigned = await s.app.request('/v1/bootstrap/started', {
        method: 'POST',
        body: JSON.stringify({ candidate: 'i-1', token: plan.token }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(unsigned.status, 401);
    });

    for (const [field, bad] of [
      ['plan.token', { ...plan, token: '' }],
      ['plan.instances[1]', { ...plan, instances: ['i-1', 'i 2', 'i-3'] }],
      ['plan.members[0].peerUrl', { ...plan, members: [{ instanceId: 'i-1', peerUrl: 'ftp://x' }] }],
      ['plan', 'i-1,i-2,i-3'],
    ] as const) {
      it(`a malformed plan is a 400 naming ${field}, and no vote`, async () => {
        const s = setup();
        const res = await s.vote({ candidate: 'i-1', desiredCapacity: 3, plan: bad });
        assert.equal(res.status, 400);
        const body = (await res.json()) as Answer;
        assert.equal(body.granted, false);
        assert.ok(body.reason.startsWith(`${field}:`), body.reason);
        await assert.rejects(readFile(s.store.path, 'utf8'), /ENOENT/);
      });
    }
  });

  it('listens on a concrete loopback address only', async () => {
    const s = setup();
    await assert.rejects(startStatusServer({ app: s.app, hostname: '0.0.0.0', port: 0 }));
    const server = await startStatusServer({ app: s.app, hostname: '127.0.32.250', port: 0 });
    try {
      const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      assert.equal(res.status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('status server: /metrics and /readyz', () => {
  const key = peerKeyFromSecret('a shared secret of the group, 32+ chars');
  const auth = new PeerAuthVerifier({ key, authority: () => '127.0.0.12:2378', now: () => 1_000_000 });
  const base = {
    auth,
    status: () => ({ cycle: 3 }),
    bootstrapView: async () => ({ instanceId: 'i-2', reachable: true }),
    castVote: async () => ({ granted: false, reason: 'no' }),
  };

  it('serves the Prometheus text to an unsigned scraper, with prom-client’s content type', async () => {
    const metrics = createPrometheusMetrics({ now: () => 0 });
    metrics.decision('add-self-as-learner', 'progressed');
    metrics.etcdReachable(true);
    const app = createStatusApp({ ...base, metrics });
    const res = await app.request('/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), metrics.contentType);
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
    const scrape = parsePrometheusText(await res.text());
    assert.equal(
      scrape.value('etcd_spot_decisions_total', { action: 'add-self-as-learner', outcome: 'progressed' }),
      1,
    );
    assert.equal(scrape.value('etcd_spot_etcd_reachable'), 1);
    // Opening /metrics opens nothing else.
    assert.equal((await app.request('/v1/status')).status, 401);
  });

  it('/readyz: 200 when ready, 503 when not, with one word and nothing else', async () => {
    let verdict = { ready: true, reason: 'member' };
    const app = createStatusApp({ ...base, ready: () => verdict });
    const ok = await app.request('/readyz');
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ready: true, reason: 'member' });
    verdict = { ready: false, reason: 'no-leader' };
    const no = await app.request('/readyz');
    assert.equal(no.status, 503);
    assert.deepEqual(await no.json(), { ready: false, reason: 'no-leader' });
  });

  it('without metrics (agent.metrics: false) /metrics is not served; nor /readyz without a verdict', async () => {
    const app = createStatusApp(base);
    assert.equal((await app.request('/metrics')).status, 404);
    assert.equal((await app.request('/readyz')).status, 404);
    assert.equal((await app.request('/healthz')).status, 200);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GroupView } from '../core/observation.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { LocalStateStore } from './local-state.ts';
import { createStatusApp, startStatusServer } from './status-server.ts';
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

  function setup(opts: { hasData?: boolean; group?: GroupView } = {}) {
    const store = new LocalStateStore(join(dir, `s${++n}`));
    const clock = new ManualClock(1_000_000);
    const group: GroupView = opts.group ?? {
      ok: true,
      fetchedAt: 0,
      instances: [
        { id: 'i-1', privateIp: '127.0.0.11' },
        { id: 'i-2', privateIp: '127.0.0.12' },
      ],
    };
    const votes = new VoteKeeper({
      store,
      clock,
      logger: recordingLogger(),
      voteTtlMs: 30_000,
      groupView: () => group,
      localFacts: async () => ({ hasData: opts.hasData ?? false }),
    });
    const app = createStatusApp({
      status: () => ({ cycle: 3 }),
      bootstrapView: async () => ({ instanceId: 'i-2', reachable: true, hasData: false }),
      castVote: (c) => votes.cast(c),
    });
    const vote = (body: unknown) =>
      app.request('/v1/bootstrap/vote', {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    return { store, clock, app, vote };
  }

  it('grants a vote and stores it before answering; refuses another candidate until the vote expires', async () => {
    const s = setup();
    const res = await s.vote({ candidate: 'i-1' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { granted: boolean; reason: string };
    assert.equal(body.granted, true, body.reason);
    // Synchronously after the answer: the file already holds the vote.
    assert.deepEqual(JSON.parse(await readFile(s.store.path, 'utf8')), {
      vote: { candidate: 'i-1', at: 1_000_000 },
    });

    const other = (await (await s.vote({ candidate: 'i-0' })).json()) as { granted: boolean; reason: string };
    assert.equal(other.granted, false);
    assert.match(other.reason, /voted for i-1/);

    await s.clock.advance(30_001);
    const later = (await (await s.vote({ candidate: 'i-0' })).json()) as { granted: boolean };
    assert.equal(later.granted, true, 'an expired vote binds no more');
  });

  it('refuses with local data, with an unknown group list, and for a candidate that is not the lowest', async () => {
    const withData = (await (await setup({ hasData: true }).vote({ candidate: 'i-1' })).json()) as {
      granted: boolean;
      reason: string;
    };
    assert.deepEqual(withData.granted, false);
    const unknown = (await (
      await setup({ group: { ok: false, error: 'HTTP 503' } }).vote({ candidate: 'i-1' })
    ).json()) as { granted: boolean };
    assert.equal(unknown.granted, false);
    const s = setup();
    const notLowest = (await (await s.vote({ candidate: 'i-2' })).json()) as {
      granted: boolean;
      reason: string;
    };
    assert.equal(notLowest.granted, false);
    assert.match(notLowest.reason, /i-1/);
    assert.equal((await s.store.read()).ok && (await s.store.read()).ok, true);
  });

  it('a corrupt state file refuses the vote and stays untouched', async () => {
    const s = setup();
    await s.store.write({});
    await writeFile(s.store.path, 'garbage');
    const body = (await (await s.vote({ candidate: 'i-1' })).json()) as { granted: boolean; reason: string };
    assert.equal(body.granted, false);
    assert.match(body.reason, /cannot vote/);
    assert.equal(await readFile(s.store.path, 'utf8'), 'garbage');
  });

  it('rejects a malformed request', async () => {
    const s = setup();
    assert.equal((await s.vote('not json')).status, 400);
    assert.equal((await s.vote({ candidate: 7 })).status, 400);
    assert.equal((await s.vote({ candidate: 'a b' })).status, 400);
  });

  it('serves /healthz, /v1/status and /v1/bootstrap', async () => {
    const s = setup();
    assert.deepEqual(await (await s.app.request('/healthz')).json(), { ok: true });
    assert.deepEqual(await (await s.app.request('/v1/status')).json(), { cycle: 3 });
    assert.deepEqual(await (await s.app.request('/v1/bootstrap')).json(), {
      instanceId: 'i-2',
      reachable: true,
      hasData: false,
    });
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

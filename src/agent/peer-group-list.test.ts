/**
 * `GET /v1/group` over loopback (127.0.170.x): the status server shares the agent's own group list with
 * the answer signed for the request, and the peer client uses only an answer signed with the group's
 * key, for this very request, from the agent it asked, in the expected shape.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, describe, it } from 'node:test';
import { AUTH_HEADERS, PeerAuthVerifier, peerKeyFromSecret, signRequest } from './peer-auth.ts';
import { createHttpPeerAgents, parseSharedGroupList } from './peer-client.ts';
import { createStatusApp, startStatusServer } from './status-server.ts';
import type { StatusServer } from './status-server.ts';
import type { SharedGroupList } from './types.ts';

const IP = '127.0.170.12';
const FAKE_IP = '127.0.170.13';
const key = peerKeyFromSecret('a shared secret of the group, 32+ chars');
const LIST: SharedGroupList = {
  instanceId: 'i-2',
  source: 'elastigroup sig-1',
  fetchedAt: 1_000_000,
  ageMs: 3000,
  pollIntervalMs: 60_000,
  instances: [
    { id: 'i-1', privateIp: '10.0.0.1' },
    { id: 'i-2', privateIp: '10.0.0.2', launchedAt: 999_000 },
  ],
  groupId: 'sig-1',
};

describe('the shared group list on the agents’ authenticated endpoint', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  async function agentServer(list: () => SharedGroupList | undefined): Promise<StatusServer> {
    let port = 0;
    const app = createStatusApp({
      auth: new PeerAuthVerifier({ key, authority: () => `${IP}:${port}`, now: () => Date.now() }),
      status: () => ({}),
      bootstrapView: async () => ({ instanceId: 'i-2', reachable: true }),
      castVote: async () => ({ granted: false, reason: 'x' }),
      groupList: list,
    });
    const server = await startStatusServer({ app, hostname: IP, port: 0 });
    port = Number(new URL(server.url).port);
    closers.push(() => server.close());
    return server;
  }

  /** A server that answers whatever `reply` says (an impostor, a replaying man in the middle). */
  async function fakeServer(
    reply: (headers: Record<string, string | string[] | undefined>) => {
      status: number;
      body: string;
      signature?: string;
    },
  ): Promise<number> {
    const server: Server = createServer((req, res) => {
      const r = reply(req.headers);
      res.writeHead(r.status, {
        'content-type': 'application/json',
        ...(r.signature !== undefined ? { [AUTH_HEADERS.responseSignature]: r.signature } : {}),
      });
      res.end(r.body);
    });
    await new Promise<void>((resolve) => server.listen(0, FAKE_IP, resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const addr = server.address();
    return typeof addr === 'object' && addr !== null ? addr.port : 0;
  }

  const client = (port: number, k = key) =>
    createHttpPeerAgents({ statusPort: port, key: k, now: () => Date.now(), timeoutMs: 2000 });

  it("reads the peer's own list, signed for this request", async () => {
    const server = await agentServer(() => LIST);
    const port = Number(new URL(server.url).port);
    const got = await client(port).groupList!({ id: 'i-2', privateIp: IP });
    assert.deepEqual(got, { ok: true, list: LIST });
  });

  it('404 before the peer has a list; 401 for an unsigned request', async () => {
    const server = await agentServer(() => undefined);
    const port = Number(new URL(server.url).port);
    const got = await client(port).groupList!({ id: 'i-2', privateIp: IP });
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.error, /HTTP 404: this agent has no group list from the cloud yet/);
    const res = await fetch(`${server.url}/v1/group`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get(AUTH_HEADERS.responseSignature), null);
  });

  it('an answer of another agent at that address (IP reuse) is refused', async () => {
    const server = await agentServer(() => ({ ...LIST, instanceId: 'i-9' }));
    const port = Number(new URL(server.url).port);
    const got = await client(port).groupList!({ id: 'i-2', privateIp: IP });
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.error, /from i-9, not i-2/);
  });

  it('a client with another key refuses the answer (and the server refuses its request)', async () => {
    const server = await agentServer(() => LIST);
    const port = Number(new URL(server.url).port);
    const got = await client(port, peerKeyFromSecret('another secret of 32 characters!!')).groupList!({
      id: 'i-2',
      privateIp: IP,
    });
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.error, /HTTP 401/);
  });

  it('an unsigned answer, one signed with another key, and a replayed one are refused', async () => {
    const body = JSON.stringify(LIST);
    const unsigned = await fakeServer(() => ({ status: 200, body }));
    let got = await client(unsigned).groupList!({ id: 'i-2', privateIp: FAKE_IP });
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.error, /the answer is not signed/);

    // A genuine agent's signed answer, captured for one request and replayed for the next.
    const server = await agentServer(() => LIST);
    const port = Number(new URL(server.url).port);
    const url = `${server.url}/v1/group`;
    const captured = await fetch(url, { headers: signRequest(key, { method: 'GET', url, now: Date.now() }) });
    const capturedBody = await captured.text();
    const capturedSig = captured.headers.get(AUTH_HEADERS.responseSignature) ?? '';
    assert.match(capturedSig, /^[0-9a-f]{64}$/);
    const replay = await fakeServer(() => ({ status: 200, body: capturedBody, signature: capturedSig }));
    got = await client(replay).groupList!({ id: 'i-2', privateIp: FAKE_IP });
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.error, /bad answer signature/);

    // Signed by an impostor holding another key, for the very request.
    const other = new PeerAuthVerifier({
      key: peerKeyFromSecret('an impostor secret, 32 characters'),
      authority: () => `${FAKE_IP}:${forged}`,
      now: () => Date.now(),
    });
    const forged = await fakeServer((h) => ({
      status: 200,
      body,
      signature: other.signResponse({
        method: 'GET',
        path: '/v1/group',
        nonce: String(h[AUTH_HEADERS.nonce]),
        status: 200,
        body,
      }),
    }));
    got = await client(forged).groupList!({ id: 'i-2', privateIp: FAKE_IP });
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.error, /bad answer signature/);
    // The control: the same fake signing with the group's key is believed (the checks above can fail).
    const honest = new PeerAuthVerifier({
      key,
      authority: () => `${FAKE_IP}:${fine}`,
      now: () => Date.now(),
    });
    const fine = await fakeServer((h) => ({
      status: 200,
      body,
      signature: honest.signResponse({
        method: 'GET',
        path: '/v1/group',
        nonce: String(h[AUTH_HEADERS.nonce]),
        status: 200,
        body,
      }),
    }));
    got = await client(fine).groupList!({ id: 'i-2', privateIp: FAKE_IP });
    assert.equal(got.ok, true);
    // Nobody answers: an error, never an exception.
    got = await client(port).groupList!({ id: 'i-2', privateIp: '127.0.170.14' });
    assert.equal(got.ok, false);
  });

  it('parseSharedGroupList names the field it refuses', () => {
    const bad = (patch: Record<string, unknown>) => parseSharedGroupList({ ...LIST, ...patch }, 'i-2');
    assert.deepEqual(parseSharedGroupList(JSON.parse(JSON.stringify(LIST)), 'i-2'), LIST);
    assert.match(String(bad({ ageMs: -1 })), /^ageMs:/);
    assert.match(String(bad({ fetchedAt: 'now' })), /^fetchedAt:/);
    assert.match(String(bad({ pollIntervalMs: 0 })), /^pollIntervalMs:/);
    assert.match(String(bad({ instances: 'all' })), /^instances:/);
    assert.match(
      String(bad({ instances: [{ id: 'i-1', privateIp: 'nowhere' }] })),
      /^instances\[0\]\.privateIp:/,
    );
    assert.match(String(bad({ instances: [{ id: 'i 1', privateIp: '10.0.0.1' }] })), /^instances\[0\]\.id:/);
    assert.match(
      String(bad({ instances: [LIST.instances[0], LIST.instances[0]] })),
      /^instances\[1\]: i-1 is listed twice/,
    );
    assert.match(String(bad({ desiredCapacity: 1.5 })), /^desiredCapacity:/);
    assert.match(String(parseSharedGroupList([], 'i-2')), /not a JSON object/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AUTH_HEADERS,
  PeerAuthVerifier,
  peerKeyFromSecret,
  peerKeyFromSpotToken,
  signRequest,
} from './peer-auth.ts';

const key = peerKeyFromSecret('group secret 0123456789abcdef');
const T = 1_700_000_000_000;

function verifier(now: { t: number }, k = key) {
  return new PeerAuthVerifier({ key: k, authority: () => '10.0.0.5:2378', now: () => now.t });
}

function request(headers: Record<string, string>, body = '', path = '/v1/bootstrap/vote', method = 'POST') {
  return { method, path, body, header: (name: string) => headers[name] };
}

describe('peer request authentication', () => {
  it('accepts a request signed with the group key for this agent, once', () => {
    const now = { t: T };
    const v = verifier(now);
    const body = '{"candidate":"i-1","desiredCapacity":3}';
    const h = signRequest(key, {
      method: 'POST',
      url: 'http://10.0.0.5:2378/v1/bootstrap/vote',
      body,
      now: T,
    });
    assert.deepEqual(v.verify(request(h, body)), { ok: true });
    assert.deepEqual(v.verify(request(h, body)), {
      ok: false,
      reason: 'replayed request (nonce already used)',
    });
  });

  it('refuses a missing, malformed or wrong signature without saying what was expected', () => {
    const now = { t: T };
    const v = verifier(now);
    assert.match((v.verify(request({})) as { reason: string }).reason, /^unauthenticated/);
    const h = signRequest(key, { method: 'GET', url: 'http://10.0.0.5:2378/v1/status', now: T });
    assert.match(
      (v.verify(request({ ...h, [AUTH_HEADERS.signature]: 'zz' })) as { reason: string }).reason,
      /malformed/,
    );
    const other = signRequest(peerKeyFromSecret('another group secret!!'), {
      method: 'GET',
      url: 'http://10.0.0.5:2378/v1/status',
      now: T,
    });
    const r = v.verify(request(other, '', '/v1/status', 'GET'));
    assert.equal(r.ok, false);
    assert.doesNotMatch(JSON.stringify(r), /[0-9a-f]{64}/, 'no signature is echoed');
  });

  it('binds method, path, body and the address the caller meant', () => {
    const now = { t: T };
    const v = verifier(now);
    const h = signRequest(key, { method: 'GET', url: 'http://10.0.0.5:2378/v1/status', now: T });
    assert.equal(v.verify(request(h, '', '/v1/bootstrap', 'GET')).ok, false, 'another path');
    const h2 = signRequest(key, { method: 'GET', url: 'http://10.0.0.5:2378/v1/status', now: T });
    assert.equal(v.verify(request(h2, '', '/v1/status', 'POST')).ok, false, 'another method');
    const h3 = signRequest(key, {
      method: 'POST',
      url: 'http://10.0.0.5:2378/v1/bootstrap/vote',
      body: 'a',
      now: T,
    });
    assert.equal(v.verify(request(h3, 'b')).ok, false, 'another body');
    const h4 = signRequest(key, { method: 'GET', url: 'http://10.0.0.6:2378/v1/status', now: T });
    assert.equal(v.verify(request(h4, '', '/v1/status', 'GET')).ok, false, 'signed for another agent');
  });

  it('refuses a timestamp more than the skew window away, either way', () => {
    const now = { t: T };
    const v = verifier(now);
    for (const at of [T - 61_000, T + 61_000]) {
      const h = signRequest(key, { method: 'GET', url: 'http://10.0.0.5:2378/v1/status', now: at });
      const r = v.verify(request(h, '', '/v1/status', 'GET'));
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, /off this agent's clock \(at most 60s allowed\)/);
    }
    const h = signRequest(key, { method: 'GET', url: 'http://10.0.0.5:2378/v1/status', now: T - 59_000 });
    assert.equal(v.verify(request(h, '', '/v1/status', 'GET')).ok, true, 'within the window');
  });

  it('forgets nonces only after they are too old to pass the timestamp check anyway', () => {
    const now = { t: T };
    const v = verifier(now);
    const h = signRequest(key, { method: 'GET', url: 'http://10.0.0.5:2378/v1/status', now: T });
    assert.equal(v.verify(request(h, '', '/v1/status', 'GET')).ok, true);
    now.t = T + 59_000;
    assert.equal(v.verify(request(h, '', '/v1/status', 'GET')).ok, false);
    now.t = T + 200_000;
    assert.equal(v.verify(request(h, '', '/v1/status', 'GET')).ok, false);
  });

  it('derives the default key from the Spot token: same token, same key; another token, another key', () => {
    assert.deepEqual(peerKeyFromSpotToken('tok-a'), peerKeyFromSpotToken('tok-a'));
    assert.notDeepEqual(peerKeyFromSpotToken('tok-a'), peerKeyFromSpotToken('tok-b'));
    assert.notDeepEqual(peerKeyFromSpotToken('tok-a'), peerKeyFromSecret('tok-a'));
  });
});

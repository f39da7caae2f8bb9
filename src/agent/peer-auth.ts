/**
 * Authentication of the agents' own endpoints (status, bootstrap view, votes): an HMAC-SHA256 over
 * the request with a shared secret, a timestamp and a one-time nonce (docs/design.md "Agent-to-agent
 * endpoints").
 *
 * The signed text binds the method, the path, the address the caller meant to reach (so a request
 * signed for one agent can't be replayed to another), the timestamp, the nonce and a SHA-256 of the
 * body. A receiver accepts a request only when the signature matches, the timestamp is within
 * `maxSkewMs` of its clock, and it has not seen the nonce before; it remembers nonces for twice the
 * skew window, after which the timestamp check alone refuses a replay.
 *
 * Why an HMAC rather than mutual TLS: it works without TLS (which not every group runs) and needs
 * nothing but a secret every legitimate agent already has; when TLS exists it adds to it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const AUTH_HEADERS = {
  timestamp: 'x-etcd-spot-timestamp',
  nonce: 'x-etcd-spot-nonce',
  signature: 'x-etcd-spot-signature',
  /** On answers whose content a peer acts on (`GET /v1/group`): see {@link signResponse}. */
  responseSignature: 'x-etcd-spot-response-signature',
} as const;

/** How far a request's timestamp may be from the receiver's clock (ms). */
export const DEFAULT_MAX_SKEW_MS = 60_000;

/** The HMAC key from the configured secret. */
export type PeerKey = Buffer & { readonly __peerKey: unique symbol };

export function peerKeyFromSecret(secret: string): PeerKey {
  return createHash('sha256').update(`etcd-spot peer secret v1\n${secret}`).digest() as PeerKey;
}

/**
 * The default key when no `agent.peerSecret` is configured: derived from the Spot.io token, which
 * every agent of the group holds (and which already allows far more than a vote).
 */
export function peerKeyFromSpotToken(token: string): PeerKey {
  return createHmac('sha256', token).update('etcd-spot peer key v1').digest() as PeerKey;
}

function stringToSign(p: {
  method: string;
  authority: string;
  path: string;
  timestamp: string;
  nonce: string;
  body: string;
}): string {
  const bodyHash = createHash('sha256').update(p.body).digest('hex');
  return ['etcd-spot-v1', p.method.toUpperCase(), p.authority, p.path, p.timestamp, p.nonce, bodyHash].join(
    '\n',
  );
}

function hmac(key: PeerKey, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

/** Headers that authenticate one request to `url` (the authority and path are taken from it). */
export function signRequest(
  key: PeerKey,
  req: { method: string; url: string; body?: string; now: number; nonce?: string },
): Record<string, string> {
  const u = new URL(req.url);
  const timestamp = String(Math.trunc(req.now));
  const nonce = req.nonce ?? randomBytes(16).toString('hex');
  const signature = hmac(
    key,
    stringToSign({
      method: req.method,
      authority: u.host,
      path: u.pathname + u.search,
      timestamp,
      nonce,
      body: req.body ?? '',
    }),
  );
  return {
    [AUTH_HEADERS.timestamp]: timestamp,
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: signature,
  };
}

function responseToSign(p: {
  method: string;
  authority: string;
  path: string;
  nonce: string;
  status: number;
  body: string;
}): string {
  const bodyHash = createHash('sha256').update(p.body).digest('hex');
  return [
    'etcd-spot-v1-response',
    p.method.toUpperCase(),
    p.authority,
    p.path,
    p.nonce,
    String(p.status),
    bodyHash,
  ].join('\n');
}

/**
 * The signature of an answer: HMAC over the request it answers (method, the authority the caller
 * addressed, path, the caller's one-time nonce) and the answer (status, SHA-256 of the body). The
 * caller checks it with {@link verifyResponse}, so an answer that a third party forged, replayed from an
 * earlier request or moved from another agent is refused, with or without TLS.
 */
export function signResponse(
  key: PeerKey,
  res: { method: string; authority: string; path: string; nonce: string; status: number; body: string },
): string {
  return hmac(key, responseToSign(res));
}

/** The caller's side of {@link signResponse}: `url` and `nonce` are those of the request it sent. */
export function verifyResponse(
  key: PeerKey,
  req: { method: string; url: string; nonce: string },
  res: { status: number; body: string; signature: string | undefined },
): VerifyResult {
  if (res.signature === undefined) return { ok: false, reason: 'the answer is not signed' };
  if (!SIGNATURE.test(res.signature)) return { ok: false, reason: 'malformed answer signature' };
  const u = new URL(req.url);
  const expected = hmac(
    key,
    responseToSign({
      method: req.method,
      authority: u.host,
      path: u.pathname + u.search,
      nonce: req.nonce,
      status: res.status,
      body: res.body,
    }),
  );
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(res.signature, 'hex'))
    ? { ok: true }
    : { ok: false, reason: 'bad answer signature (is agent.peerSecret the same on every agent?)' };
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

const NONCE = /^[0-9a-f]{16,64}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

/**
 * The receiver's side: checks one request and remembers its nonce. `authority` is this server's own
 * `host:port` as callers address it (its private IP), not the Host header, which a caller chooses.
 */
export class PeerAuthVerifier {
  private readonly seen = new Map<string, number>();
  private readonly key: PeerKey;
  private readonly authority: () => string;
  private readonly now: () => number;
  private readonly maxSkewMs: number;

  constructor(opts: { key: PeerKey; authority: () => string; now: () => number; maxSkewMs?: number }) {
    this.key = opts.key;
    this.authority = opts.authority;
    this.now = opts.now;
    this.maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  }

  verify(req: {
    method: string;
    path: string;
    body: string;
    header: (name: string) => string | undefined;
  }): VerifyResult {
    const timestamp = req.header(AUTH_HEADERS.timestamp);
    const nonce = req.header(AUTH_HEADERS.nonce);
    const signature = req.header(AUTH_HEADERS.signature);
    if (timestamp === undefined || nonce === undefined || signature === undefined) {
      return { ok: false, reason: 'unauthenticated: this endpoint takes requests signed by a peer agent' };
    }
    if (!/^\d{1,16}$/.test(timestamp) || !NONCE.test(nonce) || !SIGNATURE.test(signature)) {
      return { ok: false, reason: 'malformed authentication headers' };
    }
    const now = this.now();
    const skew = Number(timestamp) - now;
    if (Math.abs(skew) > this.maxSkewMs) {
      return {
        ok: false,
        reason: `request timestamp is ${Math.round(skew / 1000)}s off this agent's clock (at most ${this.maxSkewMs / 1000}s allowed)`,
      };
    }
    const expected = hmac(
      this.key,
      stringToSign({
        method: req.method,
        authority: this.authority(),
        path: req.path,
        timestamp,
        nonce,
        body: req.body,
      }),
    );
    if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'))) {
      return { ok: false, reason: 'bad signature (is agent.peerSecret the same on every agent?)' };
    }
    this.prune(now);
    if (this.seen.has(nonce)) return { ok: false, reason: 'replayed request (nonce already used)' };
    this.seen.set(nonce, now + 2 * this.maxSkewMs);
    return { ok: true };
  }

  /**
   * Signs an answer to a request this verifier accepted (its nonce), for {@link verifyResponse}: the
   * authority is this server's own, as in {@link verify}.
   */
  signResponse(res: { method: string; path: string; nonce: string; status: number; body: string }): string {
    return signResponse(this.key, { ...res, authority: this.authority() });
  }

  private prune(now: number): void {
    // Insertion order is expiry order (one clock), so the expired ones are at the front.
    for (const [nonce, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(nonce);
    }
  }
}

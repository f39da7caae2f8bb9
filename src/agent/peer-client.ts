/**
 * HTTP client for the other agents' status servers (`http(s)://<privateIp>:<statusPort>`). Every request
 * is signed with the group's peer key (./peer-auth.ts); a peer that refuses it (401) is reported with
 * its reason, never mistaken for a refusal of the vote itself.
 */
import { EtcdSpotError, describeError } from '../core/errors.ts';
import type { GroupInstanceView, PeerBootstrapView } from '../core/observation.ts';
import type { PeerAgents, StartNoticeAnswer, VoteAnswer } from './types.ts';
import { withDeadline } from './deadline.ts';
import { signRequest } from './peer-auth.ts';
import { requestText } from '../adapters/local/https-get.ts';
import type { ClientTls } from '../adapters/local/https-get.ts';
import type { PeerKey } from './peer-auth.ts';

export interface HttpPeerAgentsOptions {
  statusPort: number;
  /** Deadline of each request (default 1 s: peers are on the same network). */
  timeoutMs?: number;
  /** Signs every request. */
  key: PeerKey;
  now: () => number;
  /** With it, peers are called over https:// presenting this certificate (the group's CA verifies both ends). */
  tls?: () => ClientTls;
}

function hostPart(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function createHttpPeerAgents(opts: HttpPeerAgentsOptions): PeerAgents {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const scheme = opts.tls === undefined ? 'http' : 'https';
  const base = (peer: GroupInstanceView) => `${scheme}://${hostPart(peer.privateIp)}:${opts.statusPort}`;
  const tlsInit = () => {
    const t = opts.tls?.();
    return t === undefined ? {} : { tls: t };
  };
  const deadline = (signal?: AbortSignal) => withDeadline(timeoutMs, signal);

  return {
    async bootstrapView(peer, signal) {
      try {
        const url = `${base(peer)}/v1/bootstrap`;
        const res = await requestText(url, {
          headers: signRequest(opts.key, { method: 'GET', url, now: opts.now() }),
          signal: deadline(signal),
          ...tlsInit(),
        });
        const body: unknown = JSON.parse(res.text);
        if (res.status !== 200 || !isObject(body)) return { instanceId: peer.id, reachable: false };
        const view: PeerBootstrapView = { instanceId: peer.id, reachable: true };
        if (typeof body.instanceId === 'string' && body.instanceId !== peer.id) {
          // Another agent answers on that IP (reused address): what it says is not about this peer.
          return { instanceId: peer.id, reachable: false };
        }
        if (typeof body.hasData === 'boolean') view.hasData = body.hasData;
        if (typeof body.clusterId === 'string' && body.clusterId !== '') view.clusterId = body.clusterId;
        if (typeof body.memberId === 'string' && /^[0-9a-f]{16}$/.test(body.memberId))
          view.memberId = body.memberId;
        if (typeof body.raftIndex === 'number' && Number.isSafeInteger(body.raftIndex) && body.raftIndex >= 0)
          view.raftIndex = body.raftIndex;
        if (typeof body.raftTerm === 'number' && Number.isSafeInteger(body.raftTerm) && body.raftTerm >= 0)
          view.raftTerm = body.raftTerm;
        if (typeof body.leaderId === 'string' && body.leaderId !== '') view.leaderId = body.leaderId;
        if (typeof body.planStarted === 'string' && body.planStarted !== '')
          view.planStarted = body.planStarted;
        const vote = body.vote;
        if (isObject(vote) && typeof vote.candidate === 'string' && typeof vote.at === 'number') {
          view.vote = { candidate: vote.candidate, at: vote.at };
        }
        return view;
      } catch {
        return { instanceId: peer.id, reachable: false };
      }
    },

    async requestVote(peer, request, signal): Promise<VoteAnswer> {
      let res: { status: number };
      let body: unknown;
      try {
        const url = `${base(peer)}/v1/bootstrap/vote`;
        const payload = JSON.stringify(request);
        const answer = await requestText(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...signRequest(opts.key, { method: 'POST', url, body: payload, now: opts.now() }),
          },
          body: payload,
          signal: deadline(signal),
          ...tlsInit(),
        });
        res = answer;
        body = JSON.parse(answer.text);
      } catch (err) {
        throw new EtcdSpotError(
          `vote request to ${peer.id} (${peer.privateIp}) failed: ${describeError(err)}`,
          {
            code: 'PEER_UNREACHABLE',
            retryable: true,
            cause: err,
          },
        );
      }
      if (res.status === 401) {
        const why = isObject(body) && typeof body.error === 'string' ? body.error : 'HTTP 401';
        throw new EtcdSpotError(`${peer.id} refused our signed vote request: ${why}`, {
          code: 'PEER_UNAUTHORIZED',
          retryable: true,
        });
      }
      if (!isObject(body) || typeof body.granted !== 'boolean') {
        throw new EtcdSpotError(`vote request to ${peer.id}: unexpected answer (HTTP ${res.status})`, {
          code: 'PEER_MALFORMED',
          retryable: true,
        });
      }
      const answer: VoteAnswer = {
        granted: body.granted,
        reason: typeof body.reason === 'string' ? body.reason : '',
      };
      if (body.granted && body.planAccepted === true) answer.planAccepted = true;
      return answer;
    },

    async announcePlanStart(peer, notice, signal): Promise<StartNoticeAnswer> {
      const url = `${base(peer)}/v1/bootstrap/started`;
      const payload = JSON.stringify(notice);
      let res: { status: number; text: string };
      try {
        res = await requestText(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...signRequest(opts.key, { method: 'POST', url, body: payload, now: opts.now() }),
          },
          body: payload,
          signal: deadline(signal),
          ...tlsInit(),
        });
      } catch (err) {
        throw new EtcdSpotError(
          `start notice to ${peer.id} (${peer.privateIp}) failed: ${describeError(err)}`,
          { code: 'PEER_UNREACHABLE', retryable: true, cause: err },
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(res.text);
      } catch {
        body = undefined;
      }
      if (!isObject(body) || typeof body.accepted !== 'boolean')
        throw new EtcdSpotError(`start notice to ${peer.id}: unexpected answer (HTTP ${res.status})`, {
          code: 'PEER_MALFORMED',
          retryable: true,
        });
      return { accepted: body.accepted, reason: typeof body.reason === 'string' ? body.reason : '' };
    },
  };
}

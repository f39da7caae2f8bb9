/** HTTP client for the other agents' status servers (`http://<privateIp>:<statusPort>`). */
import { EtcdSpotError, describeError } from '../core/errors.ts';
import type { GroupInstanceView, PeerBootstrapView } from '../core/observation.ts';
import type { PeerAgents, VoteAnswer } from './types.ts';
import { withDeadline } from './deadline.ts';

export interface HttpPeerAgentsOptions {
  statusPort: number;
  /** Deadline of each request (default 1 s: peers are on the same network). */
  timeoutMs?: number;
}

function hostPart(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function createHttpPeerAgents(opts: HttpPeerAgentsOptions): PeerAgents {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const base = (peer: GroupInstanceView) => `http://${hostPart(peer.privateIp)}:${opts.statusPort}`;
  const deadline = (signal?: AbortSignal) => withDeadline(timeoutMs, signal);

  return {
    async bootstrapView(peer, signal) {
      try {
        const res = await fetch(`${base(peer)}/v1/bootstrap`, { signal: deadline(signal) });
        const body: unknown = await res.json();
        if (!res.ok || !isObject(body)) return { instanceId: peer.id, reachable: false };
        const view: PeerBootstrapView = { instanceId: peer.id, reachable: true };
        if (typeof body.instanceId === 'string' && body.instanceId !== peer.id) {
          // Another agent answers on that IP (reused address): what it says is not about this peer.
          return { instanceId: peer.id, reachable: false };
        }
        if (typeof body.hasData === 'boolean') view.hasData = body.hasData;
        if (typeof body.clusterId === 'string' && body.clusterId !== '') view.clusterId = body.clusterId;
        const vote = body.vote;
        if (isObject(vote) && typeof vote.candidate === 'string' && typeof vote.at === 'number') {
          view.vote = { candidate: vote.candidate, at: vote.at };
        }
        return view;
      } catch {
        return { instanceId: peer.id, reachable: false };
      }
    },

    async requestVote(peer, candidate, signal): Promise<VoteAnswer> {
      let res: Response;
      let body: unknown;
      try {
        res = await fetch(`${base(peer)}/v1/bootstrap/vote`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ candidate }),
          signal: deadline(signal),
        });
        body = await res.json();
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
      if (!isObject(body) || typeof body.granted !== 'boolean') {
        throw new EtcdSpotError(`vote request to ${peer.id}: unexpected answer (HTTP ${res.status})`, {
          code: 'PEER_MALFORMED',
          retryable: true,
        });
      }
      return { granted: body.granted, reason: typeof body.reason === 'string' ? body.reason : '' };
    },
  };
}

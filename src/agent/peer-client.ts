/**
 * HTTP client for the other agents' status servers (`http(s)://<privateIp>:<statusPort>`). Every request
 * is signed with the group's peer key (./peer-auth.ts); a peer that refuses it (401) is reported with
 * its reason, never mistaken for a refusal of the vote itself.
 */
import { isIP } from 'node:net';
import { EtcdSpotError, describeError } from '../core/errors.ts';
import type { GroupInstanceView, PeerBootstrapView } from '../core/observation.ts';
import type {
  PeerAgents,
  SharedGroupAnswer,
  SharedGroupList,
  StartNoticeAnswer,
  VoteAnswer,
} from './types.ts';
import { withDeadline } from './deadline.ts';
import { AUTH_HEADERS, signRequest, verifyResponse } from './peer-auth.ts';
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

const INSTANCE_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** More instances than any group holds: a longer list is nonsense, not a group. */
const MAX_SHARED_INSTANCES = 10_000;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * A `GET /v1/group` body, checked field by field: the peer it came from (`expectedId`), finite
 * non-negative times, instance ids and IPs that parse, no instance listed twice. Returns why not.
 */
export function parseSharedGroupList(body: unknown, expectedId: string): SharedGroupList | string {
  if (!isObject(body)) return 'the answer is not a JSON object';
  const { instanceId, source, fetchedAt, ageMs, pollIntervalMs, instances, desiredCapacity, groupId } = body;
  if (instanceId !== expectedId)
    return `the answer is from ${typeof instanceId === 'string' ? instanceId : 'an unnamed agent'}, not ${expectedId} (another agent at that address?)`;
  if (typeof source !== 'string') return 'source: expected a string';
  if (!isCount(fetchedAt)) return 'fetchedAt: expected a time in ms';
  if (!isCount(ageMs)) return 'ageMs: expected a non-negative number of ms';
  if (!isCount(pollIntervalMs) || pollIntervalMs === 0)
    return 'pollIntervalMs: expected a positive number of ms';
  if (!Array.isArray(instances) || instances.length > MAX_SHARED_INSTANCES)
    return `instances: expected a list of at most ${MAX_SHARED_INSTANCES}`;
  const out: GroupInstanceView[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of instances.entries()) {
    if (!isObject(raw)) return `instances[${i}]: expected an object`;
    const { id, privateIp, launchedAt } = raw;
    if (typeof id !== 'string' || !INSTANCE_ID.test(id)) return `instances[${i}].id: expected an instance id`;
    if (typeof privateIp !== 'string' || isIP(privateIp) === 0)
      return `instances[${i}].privateIp: expected an IP address`;
    if (seen.has(id)) return `instances[${i}]: ${id} is listed twice`;
    seen.add(id);
    const v: GroupInstanceView = { id, privateIp };
    if (launchedAt !== undefined) {
      if (!isCount(launchedAt)) return `instances[${i}].launchedAt: expected a time in ms`;
      v.launchedAt = launchedAt;
    }
    out.push(v);
  }
  const list: SharedGroupList = { instanceId, source, fetchedAt, ageMs, pollIntervalMs, instances: out };
  if (desiredCapacity !== undefined) {
    if (!isCount(desiredCapacity)) return 'desiredCapacity: expected a whole number';
    list.desiredCapacity = desiredCapacity;
  }
  if (groupId !== undefined) {
    if (typeof groupId !== 'string') return 'groupId: expected a string';
    list.groupId = groupId;
  }
  return list;
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
  /** A signed POST of a JSON body (the bootstrap vote and the start notice). */
  const postSigned = (url: string, payload: string, signal?: AbortSignal) =>
    requestText(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signRequest(opts.key, { method: 'POST', url, body: payload, now: opts.now() }),
      },
      body: payload,
      signal: deadline(signal),
      ...tlsInit(),
    });

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

    async groupList(peer, signal): Promise<SharedGroupAnswer> {
      const url = `${base(peer)}/v1/group`;
      const headers = signRequest(opts.key, { method: 'GET', url, now: opts.now() });
      let res: { status: number; text: string; signature: string | undefined };
      try {
        const r = await requestText(url, {
          headers,
          signal: deadline(signal),
          ...tlsInit(),
          withHeaders: true,
        });
        const sig = r.headers?.[AUTH_HEADERS.responseSignature];
        res = { status: r.status, text: r.text, signature: typeof sig === 'string' ? sig : undefined };
      } catch (err) {
        return { ok: false, error: `${peer.id} (${peer.privateIp}) did not answer: ${describeError(err)}` };
      }
      if (res.status !== 200) {
        let why = `HTTP ${res.status}`;
        try {
          const body: unknown = JSON.parse(res.text);
          if (isObject(body) && typeof body.error === 'string') why += `: ${body.error}`;
        } catch {
          // The status alone says enough.
        }
        return { ok: false, error: `${peer.id} has no list to share (${why})` };
      }
      const verdict = verifyResponse(
        opts.key,
        { method: 'GET', url, nonce: headers[AUTH_HEADERS.nonce] as string },
        { status: res.status, body: res.text, signature: res.signature },
      );
      if (!verdict.ok) return { ok: false, error: `${peer.id}'s answer was refused: ${verdict.reason}` };
      let body: unknown;
      try {
        body = JSON.parse(res.text);
      } catch {
        return { ok: false, error: `${peer.id}'s answer is not JSON` };
      }
      const list = parseSharedGroupList(body, peer.id);
      return typeof list === 'string'
        ? { ok: false, error: `${peer.id}'s answer was refused: ${list}` }
        : { ok: true, list };
    },

    async requestVote(peer, request, signal): Promise<VoteAnswer> {
      let res: { status: number };
      let body: unknown;
      try {
        const url = `${base(peer)}/v1/bootstrap/vote`;
        const payload = JSON.stringify(request);
        const answer = await postSigned(url, payload, signal);
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
        res = await postSigned(url, payload, signal);
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

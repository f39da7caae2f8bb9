/**
 * The {@link EtcdCluster} port over the etcd3 npm client (1.1.2), shaped by its measured quirks
 * (etcd-physics.md §6):
 * - one single-host `Etcd3` client per client URL, so "which member answers" is never random;
 * - no retries and no circuit breaker inside etcd3 (`noop` policies): a breaker opened by one failed
 *   call would block status/memberList on that host for 5 s. Callers retry; multi-endpoint calls walk
 *   the endpoints in the given order;
 * - every unary call has a deadline (`defaultCallOptions` is a function, so each call gets a fresh one,
 *   and each method passes its own), and the caller's AbortSignal is honoured as well;
 * - member ids are decimal strings in etcd3 and 16-digit hex everywhere else: converted only here,
 *   never through a JS number.
 */
import { Readable } from 'node:stream';
import { Etcd3 } from 'etcd3';
import type { IMember, ISnapshotResponse, IStatusResponse } from 'etcd3';
import { noop } from 'cockatiel';
import { EtcdError } from '../../core/errors.ts';
import { memberIdFromDecimal, memberIdToDecimal, type MemberId } from '../../core/ids.ts';
import type { EtcdCluster, Member, MemberStatus } from '../../ports/etcd-cluster.ts';
import { abortedError, memberNotFoundOnAdd, toEtcdError, type EtcdErrorCode } from './etcd-errors.ts';
import { raceAbort } from '../local/abort.ts';
import { requestText } from '../local/https-get.ts';
import type { ClientTls } from '../local/https-get.ts';

/** The client identity for https:// endpoints; `generation` changes when the files were rotated. */
export type EtcdClientTls = ClientTls & { generation: number };

export interface EtcdClusterOptions {
  /** Deadline of each unary call (member list/add/promote, status, move-leader, health read). */
  callTimeoutMs?: number;
  /** Deadline of a member remove, which without quorum never returns on its own (etcd-physics §5). */
  removeTimeoutMs?: number;
  /** Deadline of a whole snapshot stream. */
  snapshotTimeoutMs?: number;
  /**
   * The client certificate, key and CA for https:// endpoints, asked before each call (cheap: the
   * source re-reads its files only when they change). A new generation closes every client, so the
   * next call connects with the rotated certificate. Without it, an https:// endpoint is verified
   * against the system's CAs and presents no certificate.
   */
  tls?: () => EtcdClientTls;
}

type CallOptions = { deadline: number };

/** Errors after which a multi-endpoint call moves on to the next endpoint (nothing was changed). */
const SKIP_FOR_MUTATION: ReadonlySet<string> = new Set<EtcdErrorCode>([
  'ETCD_UNAVAILABLE',
  'ETCD_LEARNER_RPC',
]);
/** A read can also move on after a timeout or a member that is stopping. */
const SKIP_FOR_READ: ReadonlySet<string> = new Set<EtcdErrorCode>([
  'ETCD_UNAVAILABLE',
  'ETCD_LEARNER_RPC',
  'ETCD_TIMEOUT',
  'ETCD_REQUEST_TIMEOUT',
  'ETCD_SERVER_STOPPED',
  'ETCD_MEMBER_REMOVED',
]);
/** When every endpoint failed, the error to report is the first of these codes found (most telling). */
const LEAST_INFORMATIVE: readonly string[] = ['ETCD_UNAVAILABLE', 'ETCD_LEARNER_RPC'];

/**
 * Maps etcd3's member record (decimal id) to ours (hex id). A member without client URLs never started
 * (it publishes its name and client URLs together when it does): its name is '' here, as for a member
 * added and never started, also when etcd shows the name a bootstrap's `--initial-cluster` gave it
 * (a member of an agreed initial cluster that has not started yet: etcd 3.4.23 lists it under that
 * name with no client URL, also after a restart of the others).
 */
export function toMember(m: IMember): Member {
  const clientUrls = [...(m.clientURLs ?? [])];
  return {
    id: memberIdFromDecimal(m.ID),
    name: clientUrls.length === 0 ? '' : (m.name ?? ''),
    peerUrls: [...(m.peerURLs ?? [])],
    clientUrls,
    isLearner: m.isLearner === true,
  };
}

/** Maps Maintenance.Status. Leader "0" (or missing, as the HTTP gateway sends it) means no leader. */
export function toMemberStatus(r: IStatusResponse): MemberStatus {
  const leader = r.leader ?? '0';
  return {
    memberId: memberIdFromDecimal(r.header.member_id),
    clusterId: memberIdFromDecimal(r.header.cluster_id),
    leaderId: leader === '0' || leader === '' ? undefined : memberIdFromDecimal(leader),
    raftIndex: Number(r.raftIndex ?? 0),
    raftAppliedIndex: Number(r.raftAppliedIndex ?? 0),
    raftTerm: Number(r.raftTerm ?? 0),
    ...(r.header.revision !== undefined ? { revision: Number(r.header.revision) } : {}),
    dbSize: Number(r.dbSize ?? 0),
    isLearner: r.isLearner === true,
    version: r.version ?? '',
    errors: [...(r.errors ?? [])],
  };
}

/** `http://10.0.0.1:2379/` → `http://10.0.0.1:2379`: etcd3 wants scheme://host:port and nothing else. */
function normalizeClientUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new EtcdError(`not a client URL: ${JSON.stringify(url)}`, {
      code: 'ETCD_UNKNOWN',
      retryable: false,
      cause,
    });
  }
  return `${u.protocol}//${u.host}`;
}

/** Rejects with the mapped abort error when `signal` fires first; the call itself ends at its deadline. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, context: string): Promise<T> {
  return raceAbort(p, signal, () => abortedError(signal as AbortSignal, context));
}

/**
 * Builds the etcd3-backed cluster adapter.
 *
 * @example
 * const etcd = createEtcdCluster({ callTimeoutMs: 2000 });
 * const members = await etcd.listMembers(['http://10.0.0.5:2379', 'http://10.0.0.6:2379']);
 * await etcd.close();
 */
export function createEtcdCluster(options: EtcdClusterOptions = {}): EtcdCluster {
  const callTimeoutMs = options.callTimeoutMs ?? 2000;
  const removeTimeoutMs = options.removeTimeoutMs ?? 5000;
  const snapshotTimeoutMs = options.snapshotTimeoutMs ?? 120_000;
  const clients = new Map<string, Etcd3>();
  let closed = false;
  let generation = 0;

  function clientFor(url: string, context: string): Etcd3 {
    if (closed) {
      throw new EtcdError(`${context}: the etcd cluster adapter is closed`, {
        code: 'ETCD_CLIENT_CLOSED',
        retryable: false,
      });
    }
    const key = normalizeClientUrl(url);
    const tls = options.tls?.();
    if (tls !== undefined && tls.generation !== generation) {
      // Rotated files: every connection made with the old certificate goes.
      generation = tls.generation;
      for (const c of clients.values()) c.close();
      clients.clear();
    }
    let client = clients.get(key);
    if (client === undefined) {
      client = new Etcd3({
        hosts: key,
        ...(tls !== undefined && key.startsWith('https:')
          ? { credentials: { rootCertificate: tls.ca, privateKey: tls.key, certChain: tls.cert } }
          : {}),
        faultHandling: { host: () => noop, global: noop },
        // A function, so that every call gets a fresh deadline (a static object would fix one instant).
        defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      });
      clients.set(key, client);
    }
    return client;
  }

  /**
   * Forgets the client of an endpoint that could not be reached, so a long-running agent does not keep
   * one client per instance that ever existed. A new one is built on the next call.
   */
  function dropClient(url: string): void {
    const key = normalizeClientUrl(url);
    const client = clients.get(key);
    if (client !== undefined) {
      clients.delete(key);
      client.close();
    }
  }

  async function onEndpoint<T>(
    url: string,
    context: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    fn: (client: Etcd3, opts: CallOptions) => Promise<T>,
  ): Promise<T> {
    const ctx = `${context} via ${url}`;
    if (signal?.aborted) throw abortedError(signal, ctx);
    const client = clientFor(url, ctx);
    try {
      return await raceSignal(fn(client, { deadline: Date.now() + timeoutMs }), signal, ctx);
    } catch (e) {
      const err = toEtcdError(e, ctx);
      if (err.code === 'ETCD_UNAVAILABLE') dropClient(url);
      throw err;
    }
  }

  async function onAnyEndpoint<T>(
    endpoints: string[],
    context: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    skip: ReadonlySet<string>,
    fn: (client: Etcd3, opts: CallOptions) => Promise<T>,
  ): Promise<T> {
    if (endpoints.length === 0) {
      throw new EtcdError(`${context}: no endpoints given`, { code: 'ETCD_UNAVAILABLE', retryable: false });
    }
    const failures: EtcdError[] = [];
    for (const url of endpoints) {
      try {
        return await onEndpoint(url, context, timeoutMs, signal, fn);
      } catch (e) {
        const err = e instanceof EtcdError ? e : toEtcdError(e, `${context} via ${url}`);
        if (!skip.has(err.code) || signal?.aborted) throw err;
        failures.push(err);
      }
    }
    if (failures.length === 1) throw failures[0];
    const rank = (e: EtcdError) => {
      const i = LEAST_INFORMATIVE.indexOf(e.code);
      return i === -1 ? -1 : LEAST_INFORMATIVE.length - i;
    };
    const chosen = [...failures].sort((a, b) => rank(a) - rank(b))[0] as EtcdError;
    throw new EtcdError(
      `${context}: all ${endpoints.length} endpoints failed: ${failures.map((f) => f.message).join('; ')}`,
      { code: chosen.code, retryable: failures.some((f) => f.retryable), cause: chosen },
    );
  }

  return {
    listMembers(endpoints, signal) {
      return onAnyEndpoint(endpoints, 'member list', callTimeoutMs, signal, SKIP_FOR_READ, async (c, o) => {
        const r = await c.cluster.memberList({}, o);
        return r.members.map(toMember);
      });
    },

    async addLearner(endpoints, peerUrl, signal) {
      try {
        return await onAnyEndpoint(
          endpoints,
          `member add --learner ${peerUrl}`,
          callTimeoutMs,
          signal,
          SKIP_FOR_MUTATION,
          async (c, o) => {
            const r = await c.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true }, o);
            return { member: toMember(r.member), members: r.members.map(toMember) };
          },
        );
      } catch (e) {
        throw e instanceof EtcdError ? memberNotFoundOnAdd(e) : e;
      }
    },

    async promote(endpoints, id, signal) {
      await onAnyEndpoint(
        endpoints,
        `member promote ${id}`,
        callTimeoutMs,
        signal,
        SKIP_FOR_MUTATION,
        (c, o) => c.cluster.memberPromote({ ID: memberIdToDecimal(id) }, o),
      );
    },

    async remove(endpoints, id, signal) {
      await onAnyEndpoint(
        endpoints,
        `member remove ${id}`,
        removeTimeoutMs,
        signal,
        SKIP_FOR_MUTATION,
        (c, o) => c.cluster.memberRemove({ ID: memberIdToDecimal(id) }, o),
      );
    },

    status(clientUrl, signal) {
      return onEndpoint(clientUrl, 'status', callTimeoutMs, signal, async (c, o) =>
        toMemberStatus(await c.maintenance.status(o)),
      );
    },

    async moveLeader(leaderClientUrl, target: MemberId, signal) {
      await onEndpoint(leaderClientUrl, `move-leader to ${target}`, callTimeoutMs, signal, (c, o) =>
        c.maintenance.moveLeader({ targetID: memberIdToDecimal(target) }, o),
      );
    },

    async isHealthy(clientUrl, signal) {
      try {
        // The same linearizable read etcd's own /health does; a learner or a member without quorum fails it.
        await onEndpoint(clientUrl, 'health read', callTimeoutMs, signal, (c, o) =>
          c.kv.range({ key: Buffer.from('health') }, o),
        );
        return true;
      } catch (e) {
        if (signal?.aborted) throw e;
        return false;
      }
    },

    async snapshot(clientUrl, signal) {
      const ctx = `snapshot via ${clientUrl}`;
      type GrpcStream = AsyncIterable<ISnapshotResponse> & { cancel(): void };
      const stream = (await onEndpoint(clientUrl, 'snapshot', callTimeoutMs, signal, (c) =>
        c.maintenance.snapshot({ deadline: Date.now() + snapshotTimeoutMs }),
      )) as unknown as GrpcStream;
      const it = stream[Symbol.asyncIterator]();
      let done = false;
      const cancel = () => {
        if (!done) stream.cancel();
      };
      signal?.addEventListener('abort', cancel, { once: true });
      const fail = (e: unknown): EtcdError =>
        signal?.aborted ? abortedError(signal, ctx) : toEtcdError(e, ctx);
      const release = () => {
        signal?.removeEventListener('abort', cancel);
        cancel();
        done = true;
      };
      // Wait for the first message, so an unreachable member rejects here instead of in the stream.
      const firstDeadline = AbortSignal.timeout(callTimeoutMs);
      let first: IteratorResult<ISnapshotResponse>;
      try {
        first = await raceSignal(
          it.next(),
          signal ? AbortSignal.any([signal, firstDeadline]) : firstDeadline,
          ctx,
        );
      } catch (e) {
        release();
        throw e instanceof EtcdError ? e : fail(e);
      }
      async function* blobs(): AsyncGenerator<Buffer> {
        try {
          let r = first;
          while (r.done !== true) {
            if (r.value.blob.length > 0) yield r.value.blob;
            r = await it.next();
          }
          done = true;
        } catch (e) {
          throw fail(e);
        } finally {
          release();
        }
      }
      return Readable.from(blobs(), { objectMode: false });
    },

    async close() {
      closed = true;
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}

/**
 * Plain HTTP `GET <clientUrl>/health`: true only for 200 `{"health":"true"}`. A learner says true, a
 * member without quorum answers 503. Never throws: any failure (refused, timeout, abort) is false.
 * Cheap enough for readiness polling every few ms.
 */
export async function etcdHealth(clientUrl: string, signal?: AbortSignal, tls?: ClientTls): Promise<boolean> {
  const timeout = AbortSignal.timeout(2000);
  try {
    const res = await requestText(`${normalizeClientUrl(clientUrl)}/health`, {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      ...(tls !== undefined ? { tls } : {}),
    });
    if (res.status !== 200) return false;
    return (JSON.parse(res.text) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}

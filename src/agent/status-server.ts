/**
 * The agent's status server on `http://<privateIp>:<statusPort>`, or `https://` when `etcd.tls` has a
 * client set: then every connection must present a certificate issued by the same CA (checked in the
 * TLS handshake, before any route, /healthz and /metrics included), and a rotated certificate is taken
 * up with `setSecureContext` without a restart. The HMAC check of /v1 stays on in both modes:
 * - `GET /healthz` — the loop is alive and the state file readable (no details without authentication);
 * - `GET /readyz` — self is a healthy member or legitimately waiting (200), else 503, with one word why;
 * - `GET /metrics` — Prometheus text (docs/metrics.md), open like /healthz: scrapers cannot sign, and
 *   the server listens on the private IP only; `agent.metrics: false` turns it off (404);
 * - `GET /v1/status` — self, the last plan with its reasons, the last observation summary, cycle count;
 * - `GET /v1/bootstrap` — this agent's PeerBootstrapView (used by peers while no cluster answers; with
 *   `planStarted`, the token of the agreed initial cluster it started on);
 * - `POST /v1/bootstrap/vote {candidate, desiredCapacity, plan?}` — a bootstrap vote; a granted vote (with
 *   the plan, when accepted: `planAccepted`) is stored before answering.
 * - `POST /v1/bootstrap/started {candidate, token}` — the seeder's start notice for the plan recorded
 *   with our vote (the member records its start before answering and starts at once);
 * - `GET /v1/group` — the group list this agent last fetched from the cloud itself ({@link SharedGroupList},
 *   404 before it has one), with the answer signed for the request (`x-etcd-spot-response-signature`):
 *   calm followers read it instead of asking the cloud.
 * Everything under /v1 answers only requests signed by a peer agent (./peer-auth.ts): anything else
 * gets 401 and changes nothing.
 */
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { describeError } from '../core/errors.ts';
import { parseBootstrapPlan } from '../core/bootstrap-plan.ts';
import type { BootstrapPlan, PeerBootstrapView } from '../core/observation.ts';
import type { MetricsExposition } from '../ports/metrics.ts';
import { AUTH_HEADERS } from './peer-auth.ts';
import type { PeerAuthVerifier } from './peer-auth.ts';
import type { SharedGroupList, StartNoticeAnswer, VoteAnswer } from './types.ts';

export interface StatusAppDeps {
  /** JSON for GET /v1/status. */
  status: () => unknown;
  /** False once the loop has stopped or is stuck (GET /healthz answers 503 then). */
  healthy?: () => boolean;
  /** Why the agent is not healthy although its loop runs (e.g. an unreadable state file). */
  problem?: () => string | undefined;
  bootstrapView: () => Promise<PeerBootstrapView>;
  castVote: (
    candidate: string,
    desiredCapacity: number | undefined,
    plan?: BootstrapPlan,
  ) => Promise<VoteAnswer>;
  /** The seeder's start notice for the plan recorded with our vote; without it, the route is not served. */
  planStarted?: (candidate: string, token: string) => Promise<StartNoticeAnswer>;
  /** Checks that a request comes from a peer agent (and signs the answers peers act on). */
  auth: Pick<PeerAuthVerifier, 'verify'> & Partial<Pick<PeerAuthVerifier, 'signResponse'>>;
  /**
   * What GET /v1/group shares: this agent's last list from the cloud, undefined before it has one (404).
   * Without it (or without `auth.signResponse`), /v1/group is not served.
   */
  groupList?: () => SharedGroupList | undefined;
  /** The verdict of GET /readyz (`reason`: one word); without it, /readyz is not served. */
  ready?: () => { ready: boolean; reason: string };
  /** What GET /metrics serves; without it (agent.metrics: false), /metrics is not served. */
  metrics?: MetricsExposition;
}

const INSTANCE_ID = /^[A-Za-z0-9._-]{1,128}$/;
/**
 * A vote request is a few dozen bytes, a few KiB with a plan (at most 64 instances, ids of up to 128
 * characters); nothing under /v1 takes more than this.
 */
const MAX_BODY_BYTES = 16_384;

export function createStatusApp(deps: StatusAppDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const alive = deps.healthy ? deps.healthy() : true;
    const problem = deps.problem?.();
    const ok = alive && problem === undefined;
    // Unauthenticated: says whether, and why not in a word, never what the agent knows.
    return c.json(
      ok ? { ok } : { ok, reason: alive ? 'state file unreadable (see the agent log)' : 'loop stopped' },
      ok ? 200 : 503,
    );
  });
  const { ready, metrics } = deps;
  if (ready !== undefined) {
    app.get('/readyz', (c) => {
      const r = ready();
      return c.json({ ready: r.ready, reason: r.reason }, r.ready ? 200 : 503);
    });
  }
  if (metrics !== undefined) {
    app.get('/metrics', async (c) => {
      const text = await metrics.text();
      return c.body(text, 200, { 'content-type': metrics.contentType });
    });
  }
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 413),
    }),
  );
  app.use('/v1/*', async (c, next) => {
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? '' : await c.req.text();
    const url = new URL(c.req.url);
    const verdict = deps.auth.verify({
      method: c.req.method,
      path: url.pathname + url.search,
      body,
      header: (name) => c.req.header(name),
    });
    if (!verdict.ok) return c.json({ error: verdict.reason }, 401);
    await next();
  });
  app.get('/v1/status', (c) => c.json(deps.status() as object));
  const { groupList } = deps;
  const signResponse = deps.auth.signResponse?.bind(deps.auth);
  if (groupList !== undefined && signResponse !== undefined) {
    app.get('/v1/group', (c) => {
      const list = groupList();
      const status = list === undefined ? 404 : 200;
      const body = JSON.stringify(list ?? { error: 'this agent has no group list from the cloud yet' });
      const url = new URL(c.req.url);
      const signature = signResponse({
        method: 'GET',
        path: url.pathname + url.search,
        // The middleware above accepted the request, so its nonce is there.
        nonce: c.req.header(AUTH_HEADERS.nonce) ?? '',
        status,
        body,
      });
      return c.body(body, status, {
        'content-type': 'application/json',
        [AUTH_HEADERS.responseSignature]: signature,
      });
    });
  }
  app.get('/v1/bootstrap', async (c) => c.json(await deps.bootstrapView()));
  app.post('/v1/bootstrap/vote', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(
        {
          granted: false,
          reason: 'expected a JSON body {"candidate": "<instance id>", "desiredCapacity": <n>}',
        },
        400,
      );
    }
    const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const { candidate, desiredCapacity } = fields;
    if (typeof candidate !== 'string' || !INSTANCE_ID.test(candidate)) {
      return c.json({ granted: false, reason: 'candidate: expected an instance id' }, 400);
    }
    if (
      desiredCapacity !== undefined &&
      (typeof desiredCapacity !== 'number' || !Number.isInteger(desiredCapacity) || desiredCapacity < 1)
    ) {
      return c.json({ granted: false, reason: 'desiredCapacity: expected a positive integer' }, 400);
    }
    let plan: BootstrapPlan | undefined;
    if (fields.plan !== undefined) {
      const parsed = parseBootstrapPlan(fields.plan);
      if (!parsed.ok) return c.json({ granted: false, reason: parsed.error }, 400);
      plan = parsed.plan;
    }
    return c.json(await deps.castVote(candidate, desiredCapacity, plan));
  });
  const { planStarted } = deps;
  if (planStarted !== undefined) {
    app.post('/v1/bootstrap/started', async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json(
          {
            accepted: false,
            reason: 'expected a JSON body {"candidate": "<instance id>", "token": "<token>"}',
          },
          400,
        );
      }
      const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const { candidate, token } = fields;
      if (typeof candidate !== 'string' || !INSTANCE_ID.test(candidate))
        return c.json({ accepted: false, reason: 'candidate: expected an instance id' }, 400);
      if (typeof token !== 'string' || token === '' || token.length > 1024)
        return c.json({ accepted: false, reason: 'token: expected a non-empty string' }, 400);
      return c.json(await planStarted(candidate, token));
    });
  }
  app.onError((err, c) => c.json({ error: describeError(err) }, 500));
  return app;
}

export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

/** The server's identity over TLS: its certificate and key, and the CA its clients' certificates must come from. */
export interface StatusServerTls {
  current(): { cert: Buffer; key: Buffer; ca: Buffer; generation: number };
  /** Called with each rotated generation (the server swaps its context; open connections keep theirs). */
  onChange(listener: (m: { cert: Buffer; key: Buffer; ca: Buffer }) => void): void;
}

/** Listens on `hostname:port` (a concrete address: never a wildcard); HTTPS with client certificates when `tls` is given. */
export async function startStatusServer(opts: {
  app: Hono;
  hostname: string;
  port: number;
  tls?: StatusServerTls;
}): Promise<StatusServer> {
  if (opts.hostname === '0.0.0.0' || opts.hostname === '::' || opts.hostname === '') {
    throw new Error(
      `the status server listens on the instance's private IP, never ${opts.hostname || 'an empty host'}`,
    );
  }
  const tls = opts.tls;
  let server: Server;
  if (tls === undefined) server = createAdaptorServer({ fetch: opts.app.fetch }) as Server;
  else {
    const m = tls.current();
    server = createAdaptorServer({
      fetch: opts.app.fetch,
      createServer: createHttpsServer,
      serverOptions: { cert: m.cert, key: m.key, ca: m.ca, requestCert: true, rejectUnauthorized: true },
    }) as unknown as Server;
    tls.onChange((n) =>
      (server as unknown as HttpsServer).setSecureContext({ cert: n.cert, key: n.key, ca: n.ca }),
    );
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  const host = opts.hostname.includes(':') ? `[${opts.hostname}]` : opts.hostname;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The agent's status server on `http://<privateIp>:<statusPort>`:
 * - `GET /healthz` — the agent's loop is alive;
 * - `GET /v1/status` — self, the last plan with its reasons, the last observation summary, cycle count;
 * - `GET /v1/bootstrap` — this agent's PeerBootstrapView (used by peers while no cluster answers);
 * - `POST /v1/bootstrap/vote {candidate}` — a bootstrap vote; a granted vote is stored before answering.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { describeError } from '../core/errors.ts';
import type { PeerBootstrapView } from '../core/observation.ts';
import type { VoteAnswer } from './types.ts';

export interface StatusAppDeps {
  /** JSON for GET /v1/status. */
  status: () => unknown;
  /** False once the loop has stopped or is stuck (GET /healthz answers 503 then). */
  healthy?: () => boolean;
  bootstrapView: () => Promise<PeerBootstrapView>;
  castVote: (candidate: string) => Promise<VoteAnswer>;
}

const INSTANCE_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function createStatusApp(deps: StatusAppDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const ok = deps.healthy ? deps.healthy() : true;
    return c.json({ ok }, ok ? 200 : 503);
  });
  app.get('/v1/status', (c) => c.json(deps.status() as object));
  app.get('/v1/bootstrap', async (c) => c.json(await deps.bootstrapView()));
  app.post('/v1/bootstrap/vote', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ granted: false, reason: 'expected a JSON body {"candidate": "<instance id>"}' }, 400);
    }
    const candidate =
      typeof body === 'object' && body !== null ? (body as { candidate?: unknown }).candidate : undefined;
    if (typeof candidate !== 'string' || !INSTANCE_ID.test(candidate)) {
      return c.json({ granted: false, reason: 'candidate: expected an instance id' }, 400);
    }
    return c.json(await deps.castVote(candidate));
  });
  app.onError((err, c) => c.json({ error: describeError(err) }, 500));
  return app;
}

export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

/** Listens on `hostname:port` (a concrete address: never a wildcard). */
export async function startStatusServer(opts: {
  app: Hono;
  hostname: string;
  port: number;
}): Promise<StatusServer> {
  if (opts.hostname === '0.0.0.0' || opts.hostname === '::' || opts.hostname === '') {
    throw new Error(
      `the status server listens on the instance's private IP, never ${opts.hostname || 'an empty host'}`,
    );
  }
  const server = createAdaptorServer({ fetch: opts.app.fetch }) as Server;
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
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

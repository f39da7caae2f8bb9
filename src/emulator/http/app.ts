/**
 * The emulator's main listener: the Spot API at `/aws/…`, the AWS Auto Scaling and EC2 Query APIs at
 * `/` (form-encoded `Action=…`), the control API at `/emulator/…`, and every
 * live instance's metadata service at `/emulator/instances/{id}/imds/latest/…` (for tools that cannot
 * reach the per-instance listeners).
 */
import { Hono } from 'hono';
import type { CloudState } from '../state.ts';
import { createAwsApp, isAwsRequest } from './aws.ts';
import { createControlApp } from './control.ts';
import { handleImds } from './imds.ts';
import { createSpotApp } from './spot.ts';

export interface EmulatorAppOptions {
  /**
   * Awaited after every non-GET request before the reply goes out (the server uses it so that an
   * instance launched or terminated by a request has its IMDS listener opened or closed by then).
   * `sinceSeq` is the event seq before the request. A returned message is a failure caused by the
   * request (an IMDS listener that could not be opened): a control API caller gets 409 with it instead
   * of the success reply; a Spot API caller's reply stands (its call did succeed).
   */
  afterMutation?: (sinceSeq: number) => Promise<string | undefined>;
}

const IMDS_PREFIX = /^\/emulator\/instances\/([^/]+)\/imds(?=\/|$)/;

function isControlPath(pathname: string): boolean {
  return pathname === '/emulator' || pathname.startsWith('/emulator/');
}

export function createEmulatorApp(state: CloudState, opts: EmulatorAppOptions = {}): Hono {
  const spot = createSpotApp(state);
  const control = createControlApp(state);
  const aws = createAwsApp(state);
  const app = new Hono();

  if (opts.afterMutation) {
    const after = opts.afterMutation;
    app.use('*', async (c, next) => {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
      const sinceSeq = state.lastSeq();
      await next();
      const problem = await after(sinceSeq);
      if (problem !== undefined && isControlPath(new URL(c.req.url).pathname)) {
        c.res = Response.json({ error: problem, code: 'EMULATOR_IMDS_UNAVAILABLE' }, { status: 409 });
      }
    });
  }

  app.all('*', (c) => {
    const pathname = new URL(c.req.url).pathname;
    const m = IMDS_PREFIX.exec(pathname);
    if (m) {
      return handleImds(state, decodeURIComponent(m[1] as string), {
        method: c.req.method,
        path: pathname.slice(m[0].length) || '/',
        headers: c.req.raw.headers,
        signal: c.req.raw.signal,
        env: c.env,
      });
    }
    if (isControlPath(pathname)) return control.fetch(c.req.raw, c.env);
    if (isAwsRequest(c.req.method, new URL(c.req.url), c.req.header('content-type')))
      return aws.fetch(c.req.raw, c.env);
    return spot.fetch(c.req.raw, c.env);
  });

  return app;
}

/**
 * The emulator's main listener: the Spot API at `/aws/…`, the control API at `/emulator/…`, and every
 * live instance's metadata service at `/emulator/instances/{id}/imds/latest/…` (for tools that cannot
 * reach the per-instance listeners).
 */
import { Hono } from 'hono';
import type { CloudState } from '../state.ts';
import { createControlApp } from './control.ts';
import { handleImds } from './imds.ts';
import { createSpotApp } from './spot.ts';

export interface EmulatorAppOptions {
  /**
   * Awaited after every non-GET request before the reply goes out (the server uses it so that an
   * instance launched or terminated by a request has its IMDS listener opened or closed by then).
   */
  afterMutation?: () => Promise<void>;
}

const IMDS_PREFIX = /^\/emulator\/instances\/([^/]+)\/imds(?=\/|$)/;

export function createEmulatorApp(state: CloudState, opts: EmulatorAppOptions = {}): Hono {
  const spot = createSpotApp(state);
  const control = createControlApp(state);
  const app = new Hono();

  if (opts.afterMutation) {
    const after = opts.afterMutation;
    app.use('*', async (c, next) => {
      await next();
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') await after();
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
    if (pathname === '/emulator' || pathname.startsWith('/emulator/')) return control.fetch(c.req.raw, c.env);
    return spot.fetch(c.req.raw, c.env);
  });

  return app;
}

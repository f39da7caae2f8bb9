/** Helpers shared by the emulator's HTTP skins: time formats, real-time holds, dropped connections. */
import { setTimeout as delay } from 'node:timers/promises';
import type { IncomingMessage } from 'node:http';
import { MAX_HOLD_MS } from '../schemas.ts';

/**
 * The largest request body the Spot and control APIs accept (their real bodies are a few hundred
 * bytes). A larger one is refused with 413 from its Content-Length, or once that many bytes of a
 * chunked body have arrived, never read whole (campaign A8, B10).
 */
export const MAX_BODY_BYTES = 1024 * 1024;

/** `2026-01-01T00:02:00.000Z` */
export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** `2026-01-01T00:02:00Z` (IMDS style: whole seconds, no fraction). */
export function isoSec(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Holds a request for `ms` of real time (latency and timeout faults exercise clients' real deadlines,
 * so they do not follow the model clock). Resolves false when the client went away first.
 */
export async function hold(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  const bounded = Math.min(Math.max(0, ms), MAX_HOLD_MS);
  if (bounded === 0) return !signal?.aborted;
  try {
    await delay(bounded, undefined, signal ? { signal } : undefined);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends the exchange without a reply. Over a real socket the connection is destroyed (the client sees a
 * reset / empty reply); in-process (`app.request`) the returned Response's body errors when read.
 */
export function dropConnection(env: unknown): Response {
  const socket = (env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
  if (socket) {
    socket.destroy();
    return new Response(null, { status: 204 }); // written to nowhere: the socket is gone
  }
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.error(new Error('emulator dropped the connection (timeout fault)'));
      },
    }),
    { status: 200 },
  );
}

/** Removes repeated slashes (`//latest/…` → `/latest/…`) and a trailing slash. */
export function normalisePath(pathname: string): string {
  const p = pathname.replace(/\/{2,}/g, '/');
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

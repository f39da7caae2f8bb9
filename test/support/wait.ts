import { setTimeout as delay } from 'node:timers/promises';
import { TimeoutError, describeError } from '../../src/core/errors.ts';

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between tries (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the error message ("leader to move to m2"). */
  what: string;
}

/**
 * Calls `fn` until it returns a truthy value (which is returned), or rejects with a TimeoutError that
 * names `what` and the last error / last value once `timeoutMs` has passed. Errors thrown by `fn`
 * count as "not yet".
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  let last = 'never tried';
  for (let attempt = 1; ; attempt++) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = `returned ${JSON.stringify(v)}`;
    } catch (e) {
      last = `threw ${describeError(e)}`;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new TimeoutError(
        `timed out after ${opts.timeoutMs} ms (${attempt} tries) waiting for ${opts.what}; last: ${last}`,
      );
    }
    await delay(Math.min(interval, remaining));
  }
}

/**
 * Retries `fn` while it throws an error whose `code` is in `codes`, until `timeoutMs`; any other error,
 * or the last retryable one at the deadline, is thrown as it is.
 */
export async function retryOnCodes<T>(
  fn: () => Promise<T>,
  codes: readonly string[],
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code !== 'string' || !codes.includes(code) || Date.now() >= deadline) throw e;
    }
    await delay(Math.min(opts.intervalMs ?? 100, Math.max(0, deadline - Date.now())));
  }
}

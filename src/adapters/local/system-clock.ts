import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../../ports/clock.ts';

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: async (ms, signal) => {
    await delay(Math.max(0, ms), undefined, signal ? { signal } : undefined);
  },
};

/**
 * TEST HOOKS (the fleet simulator's clock-step fault; not a setting, never set them in production):
 * `ETCD_SPOT_CLOCK_OFFSET_MS` shifts the agent's wall clock by a fixed number of ms (negative = behind);
 * `ETCD_SPOT_CLOCK_OFFSET_FILE` names a file holding that number, re-read at most every
 * {@link OFFSET_FILE_REREAD_MS}, so the simulator can step the clock of a running agent (a missing or
 * unreadable file counts as 0). Only `now()` moves, like a stepped host clock: sleeps and timers run on
 * Node's monotonic clock and are not affected.
 */
export const CLOCK_OFFSET_ENV = 'ETCD_SPOT_CLOCK_OFFSET_MS';
export const CLOCK_OFFSET_FILE_ENV = 'ETCD_SPOT_CLOCK_OFFSET_FILE';
export const OFFSET_FILE_REREAD_MS = 200;

/**
 * The agent's clock: {@link systemClock} itself unless one of the test hooks above is set. Throws on an
 * offset that is not a whole number (a hook set wrong must not silently do nothing).
 */
export function clockFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  /** Tests: the wall clock and the monotonic clock the hook reads (default Date.now, performance.now). */
  time: { wall?: () => number; mono?: () => number } = {},
): Clock {
  const wall = time.wall ?? Date.now;
  const mono = time.mono ?? (() => performance.now());
  const fixed = env[CLOCK_OFFSET_ENV];
  const file = env[CLOCK_OFFSET_FILE_ENV];
  if ((fixed === undefined || fixed === '') && (file === undefined || file === '')) return systemClock;
  let base = 0;
  if (fixed !== undefined && fixed !== '') {
    base = Number(fixed);
    if (!Number.isInteger(base))
      throw new Error(`${CLOCK_OFFSET_ENV} must be a whole number of ms (got ${JSON.stringify(fixed)})`);
  }
  if (file === undefined || file === '')
    return { now: () => wall() + base, monotonic: mono, sleep: systemClock.sleep };
  let fromFile = 0;
  let readAt = -Infinity;
  const offset = (): number => {
    const t = mono();
    if (t - readAt >= OFFSET_FILE_REREAD_MS) {
      readAt = t;
      try {
        const n = Number(readFileSync(file, 'utf8').trim());
        fromFile = Number.isFinite(n) ? n : 0;
      } catch {
        fromFile = 0;
      }
    }
    return fromFile;
  };
  return { now: () => wall() + base + offset(), monotonic: mono, sleep: systemClock.sleep };
}

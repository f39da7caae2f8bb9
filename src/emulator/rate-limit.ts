/**
 * A sliding-window request limiter modelled on Spot.io's (cloud-apis.md §1.4): `limit` requests per
 * `windowMs` per route. Rejected requests are recorded too ("sending more requests while blocked
 * delays the reset"), so a client that ignores X-RateLimit-Reset stays blocked.
 */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until a request will be allowed again (0 when one is allowed now). */
  resetSec: number;
}

export class SlidingWindow {
  readonly limit: number;
  readonly windowMs: number;
  private hits: number[] = [];

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  private prune(now: number): void {
    let i = 0;
    while (i < this.hits.length && (this.hits[i] as number) <= now - this.windowMs) i++;
    if (i > 0) this.hits.splice(0, i);
  }

  private decision(now: number, allowed: boolean): RateLimitDecision {
    const n = this.hits.length;
    const remaining = Math.max(0, this.limit - n);
    let resetSec = 0;
    if (remaining === 0) {
      // The window admits a request once fewer than `limit` hits are left in it.
      const t = this.hits[n - this.limit] ?? now;
      resetSec = Math.max(1, Math.ceil((t + this.windowMs - now) / 1000));
    }
    return { allowed, limit: this.limit, remaining, resetSec };
  }

  /** Counts one request at `now` and says whether it is allowed. */
  take(now: number): RateLimitDecision {
    this.prune(now);
    const allowed = this.hits.length < this.limit;
    this.hits.push(now);
    return this.decision(now, allowed);
  }

  /** The numbers a reply would carry now, without counting a request. */
  peek(now: number): RateLimitDecision {
    this.prune(now);
    return this.decision(now, this.hits.length < this.limit);
  }
}

import type { Clock } from '../../src/ports/clock.ts';

/** A clock that moves only when told to. `sleep` resolves when `advance` passes its wake-up time. */
export class ManualClock implements Clock {
  private t: number;
  /** Time that really passed (advance), unlike `t`, which `step` also moves. */
  private mono = 0;
  private sleepers: { at: number; resolve: () => void }[] = [];
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.mono;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const entry = { at: this.t + ms, resolve };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(signal.reason);
      });
    });
  }
  /** How many sleeps are pending (a test advances once the loop it drives is asleep, not before). */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }
  /** Steps the wall clock (negative: back) without waking sleepers, like a host clock step. */
  step(ms: number): void {
    this.t += ms;
  }

  /** Moves time forward and wakes every sleeper whose time has come, in order. */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    this.mono += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t).sort((a, b) => a.at - b.at);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.resolve();
    await new Promise((r) => setImmediate(r));
  }
}

/** Time, injected. Core functions take `now` (ms since epoch); loops and adapters take a Clock. */
export interface Clock {
  now(): number;
  /**
   * Milliseconds from an arbitrary origin that never steps (performance.now): how much time really
   * passed, whatever the wall clock did meanwhile. Absent: `now()` stands in.
   */
  monotonic?(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

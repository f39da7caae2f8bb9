/** A signal that aborts after `ms`, or earlier when `signal` does: the deadline of one external call. */
export function withDeadline(ms: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(Math.max(1, ms));
  return signal ? AbortSignal.any([signal, t]) : t;
}

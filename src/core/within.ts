/**
 * Whether `now` is less than `windowMs` after `since`. A wall clock stepped back (now before since) is
 * outside: a cache, a back-off or a "recent enough" check measured on the wall clock must not last as
 * long as the step (the soak's clock-step-back finding).
 */
export function within(now: number, since: number, windowMs: number): boolean {
  const age = now - since;
  return age >= 0 && age < windowMs;
}

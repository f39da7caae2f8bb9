/**
 * Waits for `p`, or rejects with `abortError()` as soon as `signal` aborts. The call behind `p` is not
 * cancelled (it ends at its own deadline); its late rejection is swallowed.
 */
export function raceAbort<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  abortError: () => unknown,
): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

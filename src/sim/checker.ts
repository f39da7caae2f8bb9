/**
 * The write checker: pure functions over what the workload recorded and what the cluster returned at
 * the end. An acknowledged write is one etcd answered with success; it must still be readable with the
 * same value afterwards, and one writer's acknowledged revisions must increase (each writer is
 * sequential, so a later put can never be ordered before an earlier one).
 */

/** One put etcd acknowledged. `at` = completion time (ms since epoch). */
export interface AckedWrite {
  writer: number;
  seq: number;
  key: string;
  value: string;
  /** The header revision of the put response. */
  revision: number;
  startedAt: number;
  at: number;
}

/** One put that did not get an acknowledgement (it may or may not have been applied). */
export interface FailedWrite {
  writer: number;
  seq: number;
  key: string;
  startedAt: number;
  at: number;
  /** Error class / code, e.g. `GRPCDeadlineExceededError`, `ETCD_UNAVAILABLE`. */
  code: string;
}

/** What a linearizable read returned at the end: key → value. */
export type ReadBack = ReadonlyMap<string, string>;

export interface NonMonotonicWrite {
  writer: number;
  key: string;
  revision: number;
  previousKey: string;
  previousRevision: number;
}

export interface WriteGap {
  ms: number;
  /** Completion time of the success before the gap and of the one after it. */
  from: number;
  to: number;
}

export interface WriteCheck {
  acknowledged: number;
  /** Acknowledged keys missing from the read-back. */
  lost: string[];
  /** Acknowledged keys read back with another value. */
  mismatched: { key: string; expected: string; actual: string }[];
  failed: number;
  /** Failures counted by error code. */
  failedByCode: Record<string, number>;
  /** The largest interval between consecutive successful completions, across all writers. */
  longestGapMs: number;
  longestGap: WriteGap | undefined;
  nonMonotonic: NonMonotonicWrite[];
  /** True when nothing was lost, changed or reordered. Failed writes do not make a run unsafe. */
  ok: boolean;
}

/** The largest interval between consecutive completion times (any order in, 0 for fewer than two). */
export function longestGap(completions: readonly number[]): WriteGap | undefined {
  if (completions.length < 2) return undefined;
  const sorted = [...completions].sort((a, b) => a - b);
  let best: WriteGap | undefined;
  for (let i = 1; i < sorted.length; i++) {
    const from = sorted[i - 1] as number;
    const to = sorted[i] as number;
    if (!best || to - from > best.ms) best = { ms: to - from, from, to };
  }
  return best;
}

/**
 * Checks every acknowledged write against the read-back.
 * @example checkWrites([{ writer: 0, seq: 1, key: 'w0/1', value: 'a', revision: 5, startedAt: 0, at: 1 }], new Map()).lost // ['w0/1']
 */
export function checkWrites(
  acked: readonly AckedWrite[],
  readBack: ReadBack,
  failures: readonly FailedWrite[] = [],
): WriteCheck {
  const lost: string[] = [];
  const mismatched: WriteCheck['mismatched'] = [];
  for (const w of acked) {
    const actual = readBack.get(w.key);
    if (actual === undefined) lost.push(w.key);
    else if (actual !== w.value) mismatched.push({ key: w.key, expected: w.value, actual });
  }

  const nonMonotonic: NonMonotonicWrite[] = [];
  const byWriter = new Map<number, AckedWrite[]>();
  for (const w of acked) {
    const list = byWriter.get(w.writer) ?? [];
    list.push(w);
    byWriter.set(w.writer, list);
  }
  for (const list of byWriter.values()) {
    list.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as AckedWrite;
      const cur = list[i] as AckedWrite;
      if (cur.revision <= prev.revision) {
        nonMonotonic.push({
          writer: cur.writer,
          key: cur.key,
          revision: cur.revision,
          previousKey: prev.key,
          previousRevision: prev.revision,
        });
      }
    }
  }

  const failedByCode: Record<string, number> = {};
  for (const f of failures) failedByCode[f.code] = (failedByCode[f.code] ?? 0) + 1;

  const gap = longestGap(acked.map((w) => w.at));
  return {
    acknowledged: acked.length,
    lost,
    mismatched,
    failed: failures.length,
    failedByCode,
    longestGapMs: gap?.ms ?? 0,
    longestGap: gap,
    nonMonotonic,
    ok: lost.length === 0 && mismatched.length === 0 && nonMonotonic.length === 0,
  };
}

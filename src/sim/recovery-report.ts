/**
 * The simulator's quorum-loss recovery report (issue 8 §5), pure: for every `force-new-cluster` /
 * `restore-snapshot` an agent carried out, how long the cluster had no leader before it and until it
 * was writable again, and which acknowledged writes were lost, split into the ones no surviving copy
 * held (acknowledged at a revision above what the survivor or the snapshot kept: the physical minimum)
 * and the ones a surviving copy held (the verdict fails on any of those).
 */
import type { AgentDecision } from './agent-log.ts';
import type { AckedWrite } from './checker.ts';

export interface RecoveryTimings {
  instanceId: string;
  action: 'force-new-cluster' | 'restore-snapshot';
  /** ms since the run started. */
  decidedAtMs: number;
  /** When the monitor last saw the leader go, before the decision (ms since the run started). */
  noLeaderAtMs?: number;
  /** The first write acknowledged after the decision. */
  writableAgainAtMs?: number;
  /** No leader → writable again. */
  recoveryMs?: number;
  /** Decision → writable again. */
  decisionToWritableMs?: number;
  /** The store revision the survivor (or the snapshot) kept, when the agent's outcome line says it. */
  keptRevision?: number;
  /** Acknowledged writes lost (acknowledged before the decision). */
  lost: number;
  /** Lost writes acknowledged at a revision above `keptRevision`: on no surviving copy. */
  couldNotSurvive: number;
  /** Lost writes a surviving copy held (revision ≤ `keptRevision`), or unclassifiable: each one fails the verdict. */
  heldBySurvivor: string[];
  /** The agent's reason (the evidence) and outcome. */
  reason: string;
  detail?: string;
}

/** `… revision 1234 …` in an outcome detail (the executor writes it for both recovery actions). */
export function keptRevisionOf(detail: string | undefined): number | undefined {
  const m = /\brevision (\d+)\b/.exec(detail ?? '');
  return m === null ? undefined : Number(m[1]);
}

/**
 * One entry per recovery action that made progress. `lostKeys` are the acknowledged keys missing at
 * the end; `acked` every acknowledged write (for their revisions and times); `leaderLostAt` the times
 * the monitor saw the cluster lose its leader.
 */
export function measureRecoveries(opts: {
  decisions: readonly AgentDecision[];
  acked: readonly AckedWrite[];
  lostKeys: readonly string[];
  leaderLostAt: readonly number[];
  /** When disruptions started: the fallback for "no leader" when the monitor saw no sample without one (every member gone at once). */
  disruptedAt?: readonly number[];
  startedAt: number;
}): RecoveryTimings[] {
  const { decisions, acked, startedAt } = opts;
  const done = decisions
    .filter(
      (d) =>
        (d.action === 'force-new-cluster' || d.action === 'restore-snapshot') &&
        d.outcome?.progressed === true,
    )
    .sort((a, b) => a.at - b.at);
  const byKey = new Map(acked.map((w) => [w.key, w]));
  const ackTimes = acked.map((w) => w.at).sort((a, b) => a - b);
  const lost = opts.lostKeys.map((k) => ({ key: k, w: byKey.get(k) }));
  const out: RecoveryTimings[] = [];
  done.forEach((d, i) => {
    const next = done[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    const prev = done[i - 1]?.at ?? Number.NEGATIVE_INFINITY;
    const latest = (ts: readonly number[]) =>
      [...ts].filter((t) => t <= d.at && t > prev).sort((a, b) => b - a)[0];
    const noLeaderAt = latest(opts.leaderLostAt) ?? latest(opts.disruptedAt ?? []);
    const writable = ackTimes.find((t) => t > d.at);
    const kept = keptRevisionOf(d.outcome?.detail);
    // The writes this recovery could have lost: acknowledged before it, after the previous one.
    const mine = lost.filter((l) => l.w !== undefined && l.w.at <= d.at && l.w.at > prev);
    const held = mine
      .filter((l) => kept === undefined || (l.w as AckedWrite).revision <= kept)
      .map((l) => l.key);
    const t: RecoveryTimings = {
      instanceId: d.instanceId,
      action: d.action as RecoveryTimings['action'],
      decidedAtMs: d.at - startedAt,
      lost: mine.length,
      couldNotSurvive: mine.length - held.length,
      heldBySurvivor: held,
      reason: d.reason,
    };
    if (d.outcome?.detail !== undefined) t.detail = d.outcome.detail;
    if (kept !== undefined) t.keptRevision = kept;
    if (noLeaderAt !== undefined) t.noLeaderAtMs = noLeaderAt - startedAt;
    if (writable !== undefined && writable < next + 60_000) {
      t.writableAgainAtMs = writable - startedAt;
      t.decisionToWritableMs = writable - d.at;
      if (noLeaderAt !== undefined) t.recoveryMs = writable - noLeaderAt;
    }
    out.push(t);
  });
  return out;
}

/**
 * Whether every lost acknowledged write is explained by a recovery as one no surviving copy held.
 * Writes lost outside any recovery (or with no recovery at all) are never explained.
 */
export function lossesExplained(
  lostKeys: readonly string[],
  recoveries: readonly RecoveryTimings[],
): boolean {
  if (lostKeys.length === 0) return true;
  const classified = recoveries.reduce((n, r) => n + r.couldNotSurvive, 0);
  return recoveries.every((r) => r.heldBySurvivor.length === 0) && classified === lostKeys.length;
}

/** One verdict line per recovery, e.g. `recovery: i-1 force-new-cluster; no leader → writable 8.0 s; …`. */
export function recoveryLines(recoveries: readonly RecoveryTimings[]): string[] {
  const s = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`);
  return recoveries.map(
    (r) =>
      `recovery: ${r.instanceId} ${r.action} at ${s(r.decidedAtMs)}; no leader → writable again ${s(r.recoveryMs)} ` +
      `(decision → writable ${s(r.decisionToWritableMs)}); acknowledged writes lost ${r.lost}: ` +
      `${r.couldNotSurvive} on no surviving copy (above revision ${r.keptRevision ?? '?'}), ` +
      `${r.heldBySurvivor.length} held by a surviving copy`,
  );
}

/**
 * A snapshot restore rewinds the store's revision: a writer's first put after it is acknowledged at a
 * lower revision than its last (lost) one before. Such an order violation is explained when the earlier
 * write is above the revision a restore kept; any other one is a bug.
 */
export function orderViolationsExplained(
  violations: readonly { previousRevision: number }[],
  recoveries: readonly RecoveryTimings[],
): boolean {
  const kept = recoveries
    .filter((r) => r.action === 'restore-snapshot' && r.keptRevision !== undefined)
    .map((r) => r.keptRevision as number);
  return violations.every((v) => kept.some((k) => v.previousRevision > k));
}

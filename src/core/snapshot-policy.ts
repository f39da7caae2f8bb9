/**
 * Snapshot decisions as pure functions: what a snapshot is called, when one is due, and which stored
 * ones to keep. No I/O, no clock reads: `now` is passed in.
 */
import { within } from './within.ts';

/** Retention: the newest `keepLast`, plus the newest of each UTC hour for `hourlyDays` days and of each UTC day for `dailyDays` days. */
export interface SnapshotRetention {
  keepLast: number;
  hourlyDays: number;
  dailyDays: number;
}

export const DEFAULT_RETENTION: SnapshotRetention = { keepLast: 8, hourlyDays: 1, dailyDays: 7 };

/** Anything with a name and a time, e.g. a SnapshotManifest. */
export interface Dated {
  name: string;
  takenAt: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * `<UTC time>-<revision, 12 digits>`: names sort by time, then revision, as plain strings.
 * @example snapshotName(Date.UTC(2026, 10, 30, 12), 42) // '20261130T120000.000Z-000000000042'
 */
export function snapshotName(takenAt: number, revision: number): string {
  const t = new Date(takenAt).toISOString().replace(/[-:]/g, '');
  return `${t}-${String(Math.max(0, Math.trunc(revision))).padStart(12, '0')}`;
}

const NAME_RE = /^(\d{8}T\d{6}\.\d{3}Z)-(\d{12,})$/;

/** The time and revision a name encodes, or undefined when it is not one of ours. */
export function parseSnapshotName(name: string): { takenAt: number; revision: number } | undefined {
  const m = NAME_RE.exec(name);
  if (m === null) return undefined;
  const t = m[1] as string;
  const iso = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13)}`;
  const takenAt = Date.parse(iso);
  if (!Number.isFinite(takenAt)) return undefined;
  return { takenAt, revision: Number(m[2]) };
}

/**
 * Which snapshots to keep; everything else may be deleted. Newest first by `takenAt` (then name).
 * Preconditions that make it safe:
 * - only verified snapshots are passed in (an unverified one must never push a good one out);
 * - the newest one is always kept, whatever the settings (keepLast is at least 1);
 * - a snapshot from the future (clock skew) is kept, never counted as expired.
 */
export function selectRetained<T extends Dated>(
  snapshots: readonly T[],
  retention: SnapshotRetention,
  now: number,
): { keep: T[]; expire: T[] } {
  const sorted = [...snapshots].sort(
    (a, b) => b.takenAt - a.takenAt || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0),
  );
  const keepLast = Math.max(1, Math.trunc(retention.keepLast));
  const kept = new Set<T>(sorted.slice(0, keepLast));
  const hourSeen = new Set<number>();
  const daySeen = new Set<number>();
  for (const s of sorted) {
    if (s.takenAt > now) {
      kept.add(s);
      continue;
    }
    const age = now - s.takenAt;
    const hour = Math.floor(s.takenAt / HOUR_MS);
    if (age <= retention.hourlyDays * DAY_MS && !hourSeen.has(hour)) {
      hourSeen.add(hour);
      kept.add(s);
    }
    const day = Math.floor(s.takenAt / DAY_MS);
    if (age <= retention.dailyDays * DAY_MS && !daySeen.has(day)) {
      daySeen.add(day);
      kept.add(s);
    }
  }
  return { keep: sorted.filter((s) => kept.has(s)), expire: sorted.filter((s) => !kept.has(s)) };
}

/** The last snapshot attempt as the agent remembers it, for the planner. */
export interface SnapshotState {
  /** The newest verified snapshot of this cluster in the store (or taken by this agent). */
  last?: { takenAt: number; revision: number; name: string };
  /** The last failed attempt, when it is newer than `last`. */
  lastFailure?: { at: number; error: string };
}

/** How long a failed attempt holds back the next periodic one. */
export const SNAPSHOT_RETRY_AFTER_MS = 60_000;
/** A snapshot younger than this counts as "just taken" before a removal. */
export const SNAPSHOT_FRESH_FOR_REMOVE_MS = 60_000;

/**
 * Whether a periodic snapshot is due: none yet, or the last is at least `intervalMs` old and the
 * revision moved since. A failure less than a minute old waits (no hammering a broken store).
 */
export function isSnapshotDue(
  state: SnapshotState,
  currentRevision: number | undefined,
  intervalMs: number,
  now: number,
): { due: true; reason: string } | { due: false; reason: string } {
  const f = state.lastFailure;
  if (f !== undefined && within(now, f.at, SNAPSHOT_RETRY_AFTER_MS))
    return {
      due: false,
      reason: `the last snapshot failed ${Math.round((now - f.at) / 1000)}s ago (${f.error})`,
    };
  const last = state.last;
  if (last === undefined) return { due: true, reason: 'no snapshot of this cluster yet' };
  const age = now - last.takenAt;
  // A snapshot "from the future" (the clock stepped back) does not put the next one off for the step.
  if (within(now, last.takenAt, intervalMs))
    return { due: false, reason: `last snapshot ${last.name} is ${Math.round(age / 1000)}s old` };
  if (currentRevision !== undefined && currentRevision === last.revision)
    return { due: false, reason: `revision ${currentRevision} unchanged since snapshot ${last.name}` };
  return { due: true, reason: `last snapshot ${last.name} is ${Math.round(age / 1000)}s old` };
}

/**
 * Whether a removal of a voter should wait for a snapshot first: yes unless one is younger than a
 * minute, or an attempt failed within the minute (a broken store must not block a reap forever).
 */
export function needsSnapshotBeforeRemove(state: SnapshotState, now: number): boolean {
  if (state.last !== undefined && within(now, state.last.takenAt, SNAPSHOT_FRESH_FOR_REMOVE_MS)) return false;
  if (state.lastFailure !== undefined && within(now, state.lastFailure.at, SNAPSHOT_FRESH_FOR_REMOVE_MS))
    return false;
  return true;
}

/**
 * What the planner sees of the snapshot duty (observation `snapshotSchedule`); absent when no store is
 * configured, and then no snapshot is ever planned.
 */
export interface SnapshotScheduleView extends SnapshotState {
  intervalMs: number;
}

type TakeSnapshot = { kind: 'take-snapshot'; reason: string };

/**
 * Row E (leader's agent): a periodic snapshot when one is due; undefined otherwise. Never before a
 * membership change the planner chose (the caller asks only when nothing else is to be done).
 */
export function planPeriodicSnapshot(
  view: SnapshotScheduleView | undefined,
  currentRevision: number | undefined,
  now: number,
): TakeSnapshot | undefined {
  if (view === undefined) return undefined;
  const due = isSnapshotDue(view, currentRevision, view.intervalMs, now);
  if (!due.due) return undefined;
  return {
    kind: 'take-snapshot',
    reason: `periodic snapshot (every ${Math.round(view.intervalMs / 60_000)} min): ${due.reason}`,
  };
}

/**
 * Row E: a snapshot before a removal of a voter, unless one is younger than a minute (or the last
 * attempt failed within the minute: a broken store must not block the removal). Learners hold no
 * vote, so removing one needs no snapshot.
 */
export function snapshotBeforeRemoval(
  view: SnapshotScheduleView | undefined,
  removingVoter: boolean,
  what: string,
  now: number,
): TakeSnapshot | undefined {
  if (view === undefined || !removingVoter || !needsSnapshotBeforeRemove(view, now)) return undefined;
  return {
    kind: 'take-snapshot',
    reason: `snapshot before removing voter ${what} (none in the last minute)`,
  };
}

/**
 * Per-event timings, computed after the run from the monitor's history, the fleet's events and the
 * agents' decisions (pure). Every time is in ms after the event started.
 */
import type { AgentDecision } from './agent-log.ts';
import type { FleetEvent } from './fleet.ts';
import type { Monitor } from './monitor.ts';
import type { StepKind } from './scenario.ts';
import type { EventTargetCheck } from './bench-stats.ts';

/** What the runner wrote down when it started a disruption. */
export interface DisruptionRecord {
  index: number;
  kind: StepKind;
  description: string;
  /** The instance it hit (undefined for scale). */
  instanceId?: string;
  at: number;
  /** The instance's member id just before, when it had one. */
  memberId?: string;
  wasLeader?: boolean;
  /** Instances alive just before (a new one after `at` is a replacement). */
  instancesBefore: string[];
  /** The instance never comes back (interrupt, kill -9 with the instance gone): its termination and its
   * member's removal are looked for until the end of the run, not only until the next event. */
  final?: boolean;
  /** An interruption's notice. */
  noticeMs?: number;
  /** The voter count the agents aimed for just before (largest odd ≤ min(maxVoters, running)). */
  targetVoters?: number;
}

export interface ReplacementTimings {
  instanceId: string;
  launchedAfterMs: number;
  /** Its member first seen (as a learner, or directly as a voter). */
  memberAfterMs?: number;
  learnerAfterMs?: number;
  voterAfterMs?: number;
}

export interface EventTimings {
  /** The event's number, 1..n in the order the events happened: what the text, JSON and HTML show. */
  n?: number;
  /** The step that caused it: an index into the report's `steps` (0-based; shown as step `step + 1`). */
  step: number;
  kind: StepKind;
  description: string;
  instanceId?: string;
  memberId?: string;
  wasLeader?: boolean;
  /** ms since the run started. */
  startedAtMs: number;
  /** Interrupt: the member left (or, for kill -9 with the instance gone, was reaped). */
  memberRemovedAfterMs?: number;
  /** The emulator terminated the instance. */
  terminatedAfterMs?: number;
  /** The member was removed before the instance was terminated (what a clean leave means). */
  removedBeforeTerminated?: boolean;
  /**
   * An announced leave (interrupt) of the leader: leadership moved away before its member was removed.
   * Not set for kill -9 or a wipe of the leader: nothing can move leadership then, an election follows.
   */
  leaderMovedFirst?: boolean;
  /** An interruption's notice. */
  noticeMs?: number;
  /** Decisions of the hit instance's agent during the window, in order (e.g. move-leader, remove-member). */
  agentActions?: string[];
  /** kill -9 (reboot) / wipe: the instance's member after the event. */
  memberIdAfter?: string;
  memberIdUnchanged?: boolean;
  rejoinedAfterMs?: number;
  replacements: ReplacementTimings[];
  leaderChanges: number;
  /** The first leader change the monitor saw in the window. */
  leaderChangedAfterMs?: number;
  /** Time with fewer healthy voters than the target, within the window. */
  belowTargetMs: number;
  /** The fewest healthy voters the monitor saw within the window (undefined: no member list was read). */
  minHealthyVoters?: number;
  /** The target voter count when the event started (what `belowTargetMs` is measured against). */
  targetVoters?: number;
  /** The targets that apply to this event, each met (✓) or not (✗): see bench-stats.ts TARGET_LIMITS. */
  targets?: EventTargetCheck[];
  windowMs: number;
  /** The writes that completed within the window (see {@link writesInWindow}). */
  writes?: WindowWrites;
  /**
   * Where the times come from: the fleet monitor's samples (every 250 ms; any agent), refined by the
   * agents' decision logs when they are etcd-spot's.
   */
  timingSource?: 'monitor' | 'monitor+agent-log';
}

/** Writes within one event's window. */
export interface WindowWrites {
  acknowledged: number;
  failed: number;
  /**
   * The longest time within the window without a successful completion, counting from the window's
   * start and up to its end (a gap that began before the event counts from the event).
   */
  longestGapMs: number;
}

/** Completion times (ms since epoch) of the acknowledged and of the failed writes, each sorted. */
export interface WriteTimes {
  acked: readonly number[];
  failed: readonly number[];
  /** When the writers stopped (the window is cut there). */
  stoppedAt?: number;
}

function lowerBound(xs: readonly number[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Acknowledged and failed writes in [from, to), and the longest stretch without a success in it. */
export function writesInWindow(w: WriteTimes, from: number, to: number): WindowWrites {
  const end = w.stoppedAt !== undefined ? Math.min(to, w.stoppedAt) : to;
  const a0 = lowerBound(w.acked, from);
  const a1 = lowerBound(w.acked, to);
  const f0 = lowerBound(w.failed, from);
  const f1 = lowerBound(w.failed, to);
  let prev = from;
  let gap = 0;
  for (let i = a0; i < a1; i++) {
    const t = w.acked[i] as number;
    if (t - prev > gap) gap = t - prev;
    prev = t;
  }
  if (end - prev > gap) gap = end - prev;
  return { acknowledged: a1 - a0, failed: f1 - f0, longestGapMs: Math.max(0, gap) };
}

function after(t: number | undefined, t0: number): number | undefined {
  return t === undefined || t < t0 ? undefined : t - t0;
}

/** Timings of one disruption over the window [rec.at, windowEnd]. */
export function measureDisruption(
  rec: DisruptionRecord,
  windowEnd: number,
  runStartedAt: number,
  monitor: Monitor,
  events: readonly FleetEvent[],
  decisions: readonly AgentDecision[],
): EventTimings {
  const t0 = rec.at;
  const inWindow = (t: number) => t >= t0 && t < windowEnd;
  const ownWindow = rec.final ? (t: number) => t >= t0 : inWindow;
  /** When an action about `target` (a member id) last succeeded in the window, per the agents' logs. */
  const doneAt = (action: string, target: string | undefined, by?: string): number | undefined => {
    if (target === undefined) return undefined;
    const d = decisions.find(
      (x) =>
        x.action === action &&
        x.target === target &&
        (by === undefined || x.instanceId === by) &&
        x.outcome?.progressed === true &&
        ownWindow(x.outcome.at),
    );
    return d?.outcome?.at;
  };
  const out: EventTimings = {
    step: rec.index,
    kind: rec.kind,
    description: rec.description,
    ...(rec.instanceId !== undefined ? { instanceId: rec.instanceId } : {}),
    ...(rec.memberId !== undefined ? { memberId: rec.memberId } : {}),
    ...(rec.wasLeader !== undefined ? { wasLeader: rec.wasLeader } : {}),
    ...(rec.noticeMs !== undefined ? { noticeMs: rec.noticeMs } : {}),
    ...(rec.targetVoters !== undefined ? { targetVoters: rec.targetVoters } : {}),
    startedAtMs: t0 - runStartedAt,
    replacements: [],
    leaderChanges: monitor.leaderChangesBetween(t0, windowEnd).length,
    ...(() => {
      const first = monitor.leaderChangesBetween(t0, windowEnd)[0];
      return first ? { leaderChangedAfterMs: first.at - t0 } : {};
    })(),
    timingSource: decisions.length > 0 ? 'monitor+agent-log' : 'monitor',
    belowTargetMs: monitor.belowTargetMsBetween(t0, windowEnd),
    windowMs: windowEnd - t0,
  };
  const fewest = monitor.minHealthyVotersBetween(t0, windowEnd);
  if (fewest !== undefined) out.minHealthyVoters = fewest;

  const member = rec.memberId !== undefined ? monitor.members.get(rec.memberId) : undefined;
  if (rec.instanceId !== undefined) {
    const terminated = events.find(
      (e) => e.type === 'terminated' && e.instanceId === rec.instanceId && ownWindow(e.at),
    );
    if (terminated) out.terminatedAfterMs = terminated.at - t0;
    // The agents' logs time a removal to the ms; the monitor's sampling is the fallback.
    const removedAt =
      doneAt('remove-member', rec.memberId) ??
      (member?.removedAt !== undefined && ownWindow(member.removedAt) ? member.removedAt : undefined);
    if (removedAt !== undefined) out.memberRemovedAfterMs = removedAt - t0;
    if (rec.kind === 'interrupt' && removedAt !== undefined) {
      out.removedBeforeTerminated = terminated === undefined || removedAt <= terminated.at;
    }
    const actions = decisions.filter(
      (d) =>
        d.instanceId === rec.instanceId &&
        ownWindow(d.at) &&
        d.action !== 'wait' &&
        d.outcome?.progressed !== false,
    );
    out.agentActions = actions.map((d) => d.action);
    // Only an announced leave can hand leadership over; after a kill -9 or a wipe an election follows.
    if (rec.kind === 'interrupt' && rec.wasLeader && rec.memberId !== undefined) {
      const moveIdx = actions.findIndex((d) => d.action === 'move-leader');
      const removeIdx = actions.findIndex((d) => d.action === 'remove-member' && d.target === rec.memberId);
      const byDecisions = moveIdx >= 0 && (removeIdx < 0 || moveIdx < removeIdx);
      const change = monitor.leaderChanges.find((c) => c.from === rec.memberId && ownWindow(c.at));
      const byObservation =
        change !== undefined && change.to !== undefined && (removedAt === undefined || change.at < removedAt);
      out.leaderMovedFirst = byDecisions || byObservation;
    }
    if (rec.kind === 'kill9' || rec.kind === 'wipe') {
      const later = monitor
        .membersOfInstance(rec.instanceId)
        .filter((h) => h.voterAt !== undefined || h.learnerAt !== undefined);
      const now = later[later.length - 1];
      if (now && (now.removedAt === undefined || now.removedAt > windowEnd)) {
        out.memberIdAfter = now.id;
        if (rec.memberId !== undefined) out.memberIdUnchanged = now.id === rec.memberId;
        if (now.id !== rec.memberId) {
          const joined = after(now.voterAt ?? now.learnerAt, t0);
          if (joined !== undefined) out.rejoinedAfterMs = joined;
        }
      }
    }
  }

  const before = new Set(rec.instancesBefore);
  for (const e of events) {
    if (e.type !== 'launched' || e.instanceId === undefined || before.has(e.instanceId) || !inWindow(e.at))
      continue;
    const r: ReplacementTimings = { instanceId: e.instanceId, launchedAfterMs: e.at - t0 };
    const h = monitor.memberOfInstance(e.instanceId);
    if (h) {
      const m = after(h.firstSeenAt, t0);
      const l = after(learnerAddedAt(decisions, e.instanceId, inWindow) ?? h.learnerAt, t0);
      const v = after(doneAt('promote-member', h.id) ?? h.voterAt, t0);
      if (m !== undefined) r.memberAfterMs = m;
      if (l !== undefined) r.learnerAfterMs = l;
      if (v !== undefined && v <= windowEnd - t0) r.voterAfterMs = v;
    }
    out.replacements.push(r);
  }
  return out;
}

/**
 * Timings of every disruption of a run. Each event's window runs until the next step's first
 * disruption (events of one step, e.g. two interruptions at once, share their window) or the end of
 * the run; replacements launched in a shared window are handed out one per event, in launch order.
 * `decisions` are the agents' logs (pass [] for an agent that is not etcd-spot's: every time then
 * comes from the monitor's samples); `writes` adds the per-window write counts.
 */
export function measureEvents(
  disruptions: readonly DisruptionRecord[],
  endedAt: number,
  runStartedAt: number,
  monitor: Monitor,
  events: readonly FleetEvent[],
  decisions: readonly AgentDecision[],
  writes?: WriteTimes,
): EventTimings[] {
  const out = disruptions.map((d, k) => {
    const next = disruptions.slice(k + 1).find((x) => x.index !== d.index);
    const windowEnd = Math.max(d.at, next?.at ?? endedAt);
    const t = measureDisruption(d, windowEnd, runStartedAt, monitor, events, decisions);
    if (writes) t.writes = writesInWindow(writes, d.at, windowEnd);
    return t;
  });
  numberEvents(out);
  const byStep = new Map<number, EventTimings[]>();
  for (const t of out) byStep.set(t.step, [...(byStep.get(t.step) ?? []), t]);
  for (const group of byStep.values()) {
    if (group.length < 2) continue;
    const all = new Map<string, ReplacementTimings>();
    for (const t of group) for (const r of t.replacements) all.set(r.instanceId, r);
    const ordered = [...all.values()].sort((a, b) => a.launchedAfterMs - b.launchedAfterMs);
    group.forEach((t, i) => {
      const mine = ordered[i];
      t.replacements = mine ? [mine] : [];
    });
  }
  return out;
}

/** When the instance's own agent added itself as a learner (the add succeeded), per its log. */
function learnerAddedAt(
  decisions: readonly AgentDecision[],
  instanceId: string,
  inWindow: (t: number) => boolean,
): number | undefined {
  const d = decisions.find(
    (x) =>
      x.instanceId === instanceId &&
      x.action === 'add-self-as-learner' &&
      x.outcome?.progressed === true &&
      inWindow(x.outcome.at),
  );
  return d?.outcome?.at;
}

/**
 * Numbers the events 1..n in the order they happened (the order of `events`): the one numbering the
 * verdict, the JSON report and the HTML report show. Sets `n` where it is missing; returns `events`.
 */
export function numberEvents<T extends Pick<EventTimings, 'n'>>(events: T[]): T[] {
  events.forEach((e, i) => {
    e.n ??= i + 1;
  });
  return events;
}

/** `event 2 (step 5)`: how an event is named wherever a person reads it. */
export function eventName(e: Pick<EventTimings, 'n' | 'step'>): string {
  return `event ${e.n ?? '?'} (step ${e.step + 1})`;
}

/** ✓ / ✗ / ? and the target, with what was measured: one line per check. */
export function targetCheckText(c: EventTargetCheck): string {
  return `${c.met === undefined ? '?' : c.met ? '✓' : '✗'} ${c.target}: ${c.measured}`;
}

/** `1234` → `1.2 s`, `85` → `85 ms`. */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One or two lines summarising an event's timings for the verdict. */
export function summariseTimings(t: EventTimings): string {
  const parts: string[] = [];
  if (t.kind === 'interrupt') {
    parts.push(`left after ${fmtMs(t.memberRemovedAfterMs)}`);
    if (t.wasLeader)
      parts.push(t.leaderMovedFirst ? 'leadership moved first' : 'leadership did NOT move first');
    if (t.removedBeforeTerminated !== undefined)
      parts.push(t.removedBeforeTerminated ? 'before termination' : 'AFTER termination');
    parts.push(`terminated after ${fmtMs(t.terminatedAfterMs)}`);
  } else if (t.kind === 'kill9' && t.memberRemovedAfterMs !== undefined) {
    parts.push(`reaped after ${fmtMs(t.memberRemovedAfterMs)}`);
  }
  if ((t.kind === 'kill9' || t.kind === 'wipe') && t.wasLeader)
    parts.push(
      `the leader was ${t.kind === 'kill9' ? 'killed' : 'wiped'}: no hand-over possible, an election followed`,
    );
  if (t.kind !== 'interrupt' && t.memberIdUnchanged !== undefined) {
    parts.push(
      t.memberIdUnchanged
        ? 'rejoined with the same member id'
        : `rejoined as ${t.memberIdAfter} after ${fmtMs(t.rejoinedAfterMs)}`,
    );
  }
  for (const r of t.replacements) {
    parts.push(
      `replacement ${r.instanceId} launched ${fmtMs(r.launchedAfterMs)}, learner ${fmtMs(r.learnerAfterMs)}, voter ${fmtMs(r.voterAfterMs)}`,
    );
  }
  parts.push(
    `${t.leaderChanges} leader change(s)${t.leaderChangedAfterMs !== undefined ? ` (first after ${fmtMs(t.leaderChangedAfterMs)})` : ''}`,
    `below target voters${t.targetVoters !== undefined ? ` (${t.targetVoters})` : ''} ${fmtMs(t.belowTargetMs)}`,
  );
  if (t.writes) {
    parts.push(
      `writes in window: ${t.writes.acknowledged} ok, ${t.writes.failed} failed, longest gap ${fmtMs(t.writes.longestGapMs)}`,
    );
  }
  return parts.join('; ');
}

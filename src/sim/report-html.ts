/**
 * The simulator's report as one self-contained HTML page (inline CSS and SVG, a few lines of inline JS
 * for a time cursor; no external URL, font or library): the verdict at a glance, then one shared time
 * axis with a lane per member (a Gantt of roles), the leader, the healthy voters, the write throughput
 * and the churn events, then per-event timings. Pure: the page is a function of the report and the
 * role timeline, so it is tested on hand-built data.
 */
import type { AgentDecision } from './agent-log.ts';
import { decisionLog, outcomeText } from './decision-log.ts';
import { fmtMs, numberEvents, targetCheckText } from './measure.ts';
import type { EventTimings } from './measure.ts';
import type { SimReport, StepRecord } from './run.ts';
import { targetVoters } from './snapshot.ts';
import type { FleetSnapshot } from './snapshot.ts';
import { versionsText } from './versions.ts';
import { PASS_MEANING } from './view.ts';
import { failedWriteCause } from './write-causes.ts';
import type { AvailabilityBucket } from './workload.ts';

export type TimelineRole = 'leader' | 'follower' | 'learner' | 'unstarted' | 'unreachable' | 'absent';

export interface TimelineMember {
  /** Instance id, or member id when no instance was ever seen for the member. */
  key: string;
  memberId?: string;
  role: TimelineRole;
}

/** One moment of the timeline. */
export interface TimelineSample {
  /** ms since the run started (the report's time origin). */
  tMs: number;
  members: TimelineMember[];
  /** The voter count the agents aimed for (largest odd ≤ min(maxVoters, running instances)). */
  targetVoters?: number;
  /** Voting members in the member list (reachable or not): a quorum is a majority of these. */
  votingMembers?: number;
}

/** Membership over time, one entry per change (deduplicated monitor samples). */
export interface RoleTimeline {
  /** Ascending by `tMs`. */
  samples: TimelineSample[];
}

const ROLE_RANK: Record<TimelineRole, number> = {
  leader: 5,
  follower: 4,
  learner: 3,
  unstarted: 2,
  unreachable: 1,
  absent: 0,
};

/**
 * The role of every member and instance per snapshot, keeping only the samples where something
 * changed. A member is keyed by the instance it was first seen with (sticky, so a member that outlives
 * its instance stays on that instance's lane); a live instance that is not in a readable member list is
 * `absent`; when the member list could not be read, an instance's own etcd status gives its role, a
 * silent one is `unreachable` if it has been a member (else `absent`), and so are the members no live
 * instance answers for. Terminated instances disappear (the lane ends).
 */
export function timelineFromSnapshots(
  snaps: readonly { tMs: number; snapshot: FleetSnapshot }[],
  maxVoters?: number,
): RoleTimeline {
  const keyOfMember = new Map<string, string>();
  const samples: RoleTimeline['samples'] = [];
  let prevSig = '';
  let prev: TimelineMember[] = [];
  let votingMembers: number | undefined;
  for (const { tMs, snapshot: s } of [...snaps].sort((a, b) => a.tMs - b.tMs)) {
    const live = s.instances.filter((i) => i.state !== 'terminated');
    const ownMember = new Map<string, string>(); // member id → instance that reports it as itself
    for (const i of live) if (i.etcd) ownMember.set(i.etcd.memberId, i.id);
    const rows = new Map<string, TimelineMember>();
    const put = (m: TimelineMember, authoritative: boolean) => {
      const cur = rows.get(m.key);
      if (!cur || authoritative || ROLE_RANK[m.role] > ROLE_RANK[cur.role]) rows.set(m.key, m);
    };
    if (s.memberListError === undefined) {
      for (const m of s.members) {
        const key = keyOfMember.get(m.id) ?? ownMember.get(m.id) ?? m.instanceId ?? m.id;
        keyOfMember.set(m.id, key);
        put({ key, memberId: m.id, role: m.role }, ownMember.get(m.id) === key);
      }
      for (const i of live) if (!rows.has(i.id)) rows.set(i.id, { key: i.id, role: 'absent' });
    } else {
      const wasMember = new Set(keyOfMember.values());
      for (const i of live) {
        if (!i.etcd) {
          // Silent: unreachable if it has been a member, else (booting) not a member yet.
          rows.set(i.id, { key: i.id, role: wasMember.has(i.id) ? 'unreachable' : 'absent' });
          continue;
        }
        keyOfMember.set(i.etcd.memberId, keyOfMember.get(i.etcd.memberId) ?? i.id);
        const role: TimelineRole = i.etcd.isLearner
          ? 'learner'
          : i.etcd.leaderId === i.etcd.memberId
            ? 'leader'
            : 'follower';
        rows.set(i.id, { key: i.id, memberId: i.etcd.memberId, role });
      }
      // Members known from before that no live instance answers for: unknown now, shown as unreachable.
      for (const p of prev) {
        if (!rows.has(p.key) && p.memberId !== undefined)
          rows.set(p.key, { key: p.key, memberId: p.memberId, role: 'unreachable' });
      }
    }
    const members = [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // An unreadable member list keeps the last known count of voting members.
    if (s.memberListError === undefined) votingMembers = s.members.filter((m) => !m.isLearner).length;
    const target =
      maxVoters === undefined
        ? undefined
        : targetVoters(s.instances.filter((i) => i.state === 'running').length, maxVoters);
    const sig = JSON.stringify([
      members.map((m) => [m.key, m.memberId ?? '', m.role]),
      target,
      votingMembers,
    ]);
    if (samples.length === 0 || sig !== prevSig)
      samples.push({
        tMs,
        members,
        ...(target !== undefined ? { targetVoters: target } : {}),
        ...(votingMembers !== undefined ? { votingMembers } : {}),
      });
    prevSig = sig;
    prev = members;
  }
  return { samples };
}

// ---------------------------------------------------------------------------------------------------
// Formatting helpers

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML/SVG content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}
const esc = escapeHtml;

function num(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A coordinate with at most one decimal. */
function c(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function dateText(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The smallest "nice" step (1, 2, 5 × 10ⁿ, or 15/30 s, minutes) that gives at most `max` ticks. */
function niceStep(span: number, max: number, candidates: readonly number[]): number {
  for (const s of candidates) if (span / s <= max) return s;
  return candidates[candidates.length - 1] as number;
}

const TIME_STEPS_MS = [
  100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000,
];

// ---------------------------------------------------------------------------------------------------
// Styles of roles and events

interface RoleStyle {
  fill: string;
  text: string;
  label: string;
  means: string;
}

const ROLE_STYLE: Record<TimelineRole, RoleStyle> = {
  leader: { fill: '#6d28d9', text: '#fff', label: 'leader', means: 'voter that leads the Raft group' },
  follower: { fill: '#3b82f6', text: '#fff', label: 'follower', means: 'healthy voter following the leader' },
  learner: {
    fill: '#5eead4',
    text: '#134e4a',
    label: 'learner',
    means: 'non-voting member catching up (a replacement on its way)',
  },
  unstarted: {
    fill: 'url(#p-unstarted)',
    text: '#713f12',
    label: 'unstarted',
    means: 'added to the member list, etcd not started yet',
  },
  unreachable: {
    fill: 'url(#p-unreachable)',
    text: '#7f1d1d',
    label: 'unreachable',
    means: 'in the member list but its etcd does not answer',
  },
  absent: {
    fill: '#e5e7eb',
    text: '#4b5563',
    label: 'not a member',
    means: 'the instance is up but is not (or no longer) a member',
  },
};

const ROLE_ORDER: TimelineRole[] = ['leader', 'follower', 'learner', 'unstarted', 'unreachable', 'absent'];

type MarkKind =
  | 'interrupt'
  | 'kill9'
  | 'wipe'
  | 'scale'
  | 'fault'
  | 'clear-faults'
  | 'partition'
  | 'latency'
  | 'drop'
  | 'heal'
  | 'pause'
  | 'resume';

const KIND_STYLE: Record<MarkKind, { color: string; label: string }> = {
  interrupt: { color: '#ea580c', label: 'interrupt' },
  kill9: { color: '#be123c', label: 'kill -9' },
  wipe: { color: '#a21caf', label: 'wipe' },
  scale: { color: '#0e7490', label: 'scale' },
  fault: { color: '#475569', label: 'API fault' },
  'clear-faults': { color: '#94a3b8', label: 'faults cleared' },
  partition: { color: '#7c3aed', label: 'partition' },
  latency: { color: '#6d28d9', label: 'slow link' },
  drop: { color: '#6d28d9', label: 'drop' },
  heal: { color: '#a78bfa', label: 'heal' },
  pause: { color: '#0f766e', label: 'pause' },
  resume: { color: '#5eead4', label: 'resume' },
};

const OK_COLOR = '#059669';
const FAIL_COLOR = '#dc2626';

/** The step's kind: the record's `kind` (the runner always sets it), else the kind its description names. */
function stepKind(step: StepRecord, event: EventTimings | undefined): string {
  if (step.kind !== undefined) return step.kind;
  if (event) return event.kind;
  const d = step.description;
  if (d.startsWith('interrupt ')) return 'interrupt';
  if (d.startsWith('kill -9 ')) return 'kill9';
  if (d.startsWith('wipe ')) return 'wipe';
  if (d.startsWith('scale ')) return 'scale';
  if (d.startsWith('API fault')) return 'fault';
  if (d.startsWith('clear the API faults')) return 'clear-faults';
  if (d.startsWith('wait for convergence')) return 'converge';
  if (d.startsWith('keep writing')) return 'sleep';
  return 'other';
}

function isMarkKind(k: string): k is MarkKind {
  return k in KIND_STYLE;
}

/** A few words for the event's badge; the full description goes in the tooltip and the table. */
function shortLabel(kind: MarkKind, step: StepRecord): string {
  const d = step.description;
  if (kind === 'scale') return `scale → ${/to (\d+)/.exec(d)?.[1] ?? '?'}`;
  if (kind === 'fault') return `fault: ${/: (\S+)/.exec(d)?.[1] ?? 'API'}`;
  if (kind === 'clear-faults' || kind === 'heal' || kind === 'resume') return KIND_STYLE[kind].label;
  const target = /the leader/.test(d)
    ? 'leader'
    : /a follower/.test(d)
      ? 'follower'
      : /a random instance/.test(d)
        ? 'random'
        : '';
  return `${KIND_STYLE[kind].label}${target ? ` ${target}` : ''}`;
}

// ---------------------------------------------------------------------------------------------------
// Availability

/** Width of one bucket, inferred from the data (default 100 ms). */
function bucketWidth(b: readonly AvailabilityBucket[]): number {
  let w = Infinity;
  for (let i = 1; i < b.length; i++) {
    const d = (b[i] as AvailabilityBucket).t - (b[i - 1] as AvailabilityBucket).t;
    if (d > 0 && d < w) w = d;
  }
  return Number.isFinite(w) ? w : 100;
}

/** Sums groups of consecutive buckets so that at most `max` remain. */
export function aggregateBuckets(
  buckets: readonly AvailabilityBucket[],
  max: number,
): { buckets: AvailabilityBucket[]; widthMs: number } {
  const width = bucketWidth(buckets);
  const sorted = [...buckets].sort((a, b) => a.t - b.t);
  if (sorted.length <= max) return { buckets: sorted, widthMs: width };
  const f = Math.ceil(sorted.length / max);
  const origin = (sorted[0] as AvailabilityBucket).t;
  const out = new Map<number, AvailabilityBucket>();
  for (const b of sorted) {
    const t = origin + Math.floor((b.t - origin) / (width * f)) * width * f;
    const g = out.get(t) ?? { t, ok: 0, failed: 0 };
    g.ok += b.ok;
    g.failed += b.failed;
    out.set(t, g);
  }
  return { buckets: [...out.values()], widthMs: width * f };
}

/**
 * Failed writes and the longest run of buckets without an acknowledged write within [from, to): the
 * bucket-resolution fallback for events that carry no exact {@link EventTimings.writes}.
 */
export function bucketWritesInWindow(
  buckets: readonly AvailabilityBucket[],
  from: number,
  to: number,
): { failed: number; ok: number; longestGapMs: number } {
  const width = bucketWidth(buckets);
  let failed = 0;
  let ok = 0;
  let run = 0;
  let longest = 0;
  for (const b of [...buckets].sort((x, y) => x.t - y.t)) {
    if (b.t < from || b.t >= to) continue;
    failed += b.failed;
    ok += b.ok;
    run = b.ok === 0 ? run + width : 0;
    if (run > longest) longest = run;
  }
  return { failed, ok, longestGapMs: longest };
}

/** Runs of buckets without an acknowledged write, at least `minMs` long. */
function zeroRuns(
  buckets: readonly AvailabilityBucket[],
  width: number,
  minMs: number,
): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let start: number | undefined;
  let end = 0;
  for (const b of buckets) {
    if (b.ok === 0) {
      start ??= b.t;
      end = b.t + width;
    } else if (start !== undefined) {
      if (end - start >= minMs) out.push({ from: start, to: end });
      start = undefined;
    }
  }
  if (start !== undefined && end - start >= minMs) out.push({ from: start, to: end });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Lanes

interface Segment {
  from: number;
  to: number;
  role: TimelineRole;
  memberId: string | undefined;
}

interface Lane {
  key: string;
  firstSeen: number;
  segments: Segment[];
  memberIds: string[];
}

function lanesOf(timeline: RoleTimeline, endMs: number): Lane[] {
  const lanes = new Map<string, Lane>();
  const samples = [...timeline.samples].sort((a, b) => a.tMs - b.tMs);
  samples.forEach((s, i) => {
    const to = Math.max(
      s.tMs,
      i + 1 < samples.length ? (samples[i + 1] as (typeof samples)[number]).tMs : endMs,
    );
    for (const m of s.members) {
      let lane = lanes.get(m.key);
      if (!lane) {
        lane = { key: m.key, firstSeen: s.tMs, segments: [], memberIds: [] };
        lanes.set(m.key, lane);
      }
      if (m.memberId !== undefined && !lane.memberIds.includes(m.memberId)) lane.memberIds.push(m.memberId);
      const last = lane.segments[lane.segments.length - 1];
      if (last && last.to === s.tMs && last.role === m.role && last.memberId === m.memberId) last.to = to;
      else lane.segments.push({ from: s.tMs, to, role: m.role, memberId: m.memberId });
    }
  });
  return [...lanes.values()].sort((a, b) => a.firstSeen - b.firstSeen || (a.key < b.key ? -1 : 1));
}

/** One stretch of the leader lane. */
export interface LeaderStretch {
  from: number;
  to: number;
  /**
   * `leader`: the agreed leader answered; `unreachable`: the running members still named a leader
   * whose etcd did not answer (killed, frozen, cut off: an election is due); `none`: no agreed leader.
   */
  kind: 'leader' | 'unreachable' | 'none';
  memberId?: string;
  /** Its lane: the instance id, or the member id when no instance was seen. */
  key?: string;
}

/**
 * The leader lane: the leader the running members agreed on (`leaderChanges`), split where that
 * leader's own lane shows it not answering as leader or follower (or gone). A leader never seen in the
 * timeline is taken as answering (nothing says otherwise).
 */
export function leaderStretches(
  leaderChanges: SimReport['leaderChanges'],
  timeline: RoleTimeline,
  endMs: number,
): LeaderStretch[] {
  const lanes = new Map(lanesOf(timeline, endMs).map((l) => [l.key, l]));
  const keyOfMember = new Map<string, string>();
  for (const s of timeline.samples)
    for (const m of s.members) if (m.memberId) keyOfMember.set(m.memberId, m.key);
  const changes = [...leaderChanges].sort((a, b) => a.atMs - b.atMs);
  const out: LeaderStretch[] = [];
  const push = (st: LeaderStretch) => {
    if (st.to <= st.from) return;
    const last = out[out.length - 1];
    if (last && last.kind === st.kind && last.memberId === st.memberId && last.to === st.from)
      last.to = st.to;
    else out.push(st);
  };
  changes.forEach((ch, i) => {
    const a = ch.atMs;
    const b = Math.max(a, i + 1 < changes.length ? (changes[i + 1] as (typeof changes)[number]).atMs : endMs);
    if (ch.to === undefined) {
      push({ from: a, to: b, kind: 'none' });
      return;
    }
    const key = keyOfMember.get(ch.to);
    const lane = key === undefined ? undefined : lanes.get(key);
    const base = { memberId: ch.to, ...(key !== undefined ? { key } : {}) };
    if (lane === undefined) {
      push({ from: a, to: b, kind: 'leader', ...base });
      return;
    }
    // Where its lane shows this member answering (as leader or follower) it leads; elsewhere not.
    let t = a;
    const answering = lane.segments
      .filter((sg) => sg.memberId === ch.to && (sg.role === 'leader' || sg.role === 'follower'))
      .sort((x, y) => x.from - y.from);
    for (const sg of answering) {
      const from = Math.max(a, sg.from);
      const to = Math.min(b, sg.to);
      if (to <= from) continue;
      if (from > t) push({ from: t, to: from, kind: 'unreachable', ...base });
      push({ from, to, kind: 'leader', ...base });
      t = Math.max(t, to);
    }
    if (t < b) push({ from: t, to: b, kind: 'unreachable', ...base });
  });
  return out;
}

/** How the healthy voters compare with what the cluster needs. */
export type VoterLevel = 'ok' | 'below-target' | 'below-quorum' | 'unknown';

export interface VoterSegment {
  from: number;
  to: number;
  /** Healthy voters: leader and followers. */
  n: number;
  target: number | undefined;
  /** A majority of the voting members in the member list. */
  quorum: number | undefined;
  level: VoterLevel;
}

/**
 * Healthy voters (leader + followers) per change of the timeline, each judged: below quorum (the
 * cluster cannot commit), below the target voter count, or ok. Without a target nor a voter count
 * (a timeline built without them) the level is `unknown`.
 */
export function voterSegments(timeline: RoleTimeline, endMs: number): VoterSegment[] {
  const out: VoterSegment[] = [];
  const samples = [...timeline.samples].sort((a, b) => a.tMs - b.tMs);
  samples.forEach((s, i) => {
    const to = i + 1 < samples.length ? (samples[i + 1] as (typeof samples)[number]).tMs : endMs;
    const n = s.members.filter((m) => m.role === 'leader' || m.role === 'follower').length;
    const target = s.targetVoters;
    const quorum = s.votingMembers === undefined ? undefined : Math.floor(s.votingMembers / 2) + 1;
    const level: VoterLevel =
      quorum !== undefined && n < quorum
        ? 'below-quorum'
        : target !== undefined && n < target
          ? 'below-target'
          : target === undefined && quorum === undefined
            ? 'unknown'
            : 'ok';
    const last = out[out.length - 1];
    if (last && last.n === n && last.level === level && last.target === target && last.quorum === quorum)
      last.to = to;
    else out.push({ from: s.tMs, to, n, target, quorum, level });
  });
  return out;
}

/** Colours of the healthy-voters band: amber below the target, red below quorum. */
const VOTER_FILL: Record<VoterLevel, string> = {
  ok: '#334155',
  unknown: '#334155',
  'below-target': '#f59e0b',
  'below-quorum': '#dc2626',
};

// ---------------------------------------------------------------------------------------------------
// The chart

const VIEW_W = 1320;
const GUTTER = 178;
const RIGHT = 22;
const PLOT_W = VIEW_W - GUTTER - RIGHT;
const LANE_H = 22;
const LANE_GAP = 5;
const WRITES_H = 110;
const MAX_BUCKETS = 3000;

interface Marker {
  /** The step's number (1-based). */
  stepNo: number;
  step: StepRecord;
  kind: MarkKind;
  label: string;
  /** The events of this step (an interrupt of 2 instances is 2 events): their numbers go on the badge. */
  events: EventTimings[];
  /** The badge's text: the events' numbers (`2`, `2,3`), '' for a step that is no measured event. */
  badge: string;
}

function markersOf(report: SimReport, events: readonly EventTimings[]): Marker[] {
  const byStep = new Map<number, EventTimings[]>();
  for (const e of events) byStep.set(e.step, [...(byStep.get(e.step) ?? []), e]);
  const out: Marker[] = [];
  for (const step of report.steps) {
    if (step.skipped) continue;
    const evs = byStep.get(step.index) ?? [];
    const kind = stepKind(step, evs[0]);
    if (!isMarkKind(kind)) continue;
    const ns = evs.map((e) => e.n as number);
    const badge =
      ns.length === 0
        ? ''
        : ns.length > 2 && ns.every((v, i) => i === 0 || v === (ns[i - 1] as number) + 1)
          ? `${ns[0]}–${ns[ns.length - 1]}`
          : ns.join(',');
    out.push({ stepNo: step.index + 1, step, kind, label: shortLabel(kind, step), events: evs, badge });
  }
  return out;
}

/** `event 2 (step 5)` / `events 2,3 (step 5)` / `step 5`. */
function markerName(m: Marker): string {
  return m.events.length === 0
    ? `step ${m.stepNo}`
    : `event${m.events.length > 1 ? 's' : ''} ${m.badge} (step ${m.stepNo})`;
}

function chartEnd(report: SimReport, timeline: RoleTimeline, bucketMs: number): number {
  let end = report.durationMs;
  for (const s of timeline.samples) end = Math.max(end, s.tMs);
  const lastBucket = report.availability[report.availability.length - 1];
  if (lastBucket) end = Math.max(end, lastBucket.t + bucketMs);
  for (const s of report.steps) end = Math.max(end, s.startedAtMs);
  return Math.max(end, 1000);
}

function renderChart(report: SimReport, timeline: RoleTimeline, events: readonly EventTimings[]): string {
  const rawWidth = bucketWidth(report.availability);
  const endMs = chartEnd(report, timeline, rawWidth);
  const x = (t: number) => GUTTER + (Math.min(Math.max(t, 0), endMs) / endMs) * PLOT_W;
  const parts: string[] = [];
  const overlay: string[] = []; // drawn last, above everything
  const lanes = lanesOf(timeline, endMs);
  const markers = markersOf(report, events);

  // Many lanes (a long chaos run) are drawn thinner, labels and member ids move into the tooltips.
  const dense = lanes.length > 12;
  const laneH = dense ? 14 : LANE_H;
  const laneGap = dense ? 3 : LANE_GAP;

  // -- event badges, greedily placed on as few rows as keep their labels apart; when that takes more
  // than 3 rows, the badges go without labels (the numbers are in the table).
  const place = (withLabels: boolean) => {
    const rowEnds: number[] = [];
    const placed = markers.map((m) => {
      const x0 = x(m.step.startedAtMs);
      const w = withLabels ? 24 + (m.label.length + Math.max(0, m.badge.length - 1)) * 6.4 : 10;
      // Near the right edge the label goes to the left of its badge.
      const left = withLabels && x0 + w > VIEW_W - 4;
      const from = left ? x0 - w : x0 - 10;
      let row = rowEnds.findIndex((end) => end < from - 2);
      if (row < 0) {
        row = rowEnds.length;
        rowEnds.push(0);
      }
      rowEnds[row] = left ? x0 + 10 : x0 + w;
      return { m, x0, row, left, label: withLabels };
    });
    return { placed, rows: rowEnds.length };
  };
  let badges = place(true);
  if (badges.rows > 3) badges = place(false);
  const placed = badges.placed;
  const badgeRowH = 20;
  let y = 6;
  const badgesTop = y;
  y += Math.max(1, badges.rows) * badgeRowH + 4;

  // -- steps lane
  const stepsY = y;
  y += 12 + 10;

  // -- member lanes
  const membersTop = y;
  const laneY = new Map<string, number>();
  lanes.forEach((l, i) => laneY.set(l.key, membersTop + i * (laneH + laneGap)));
  y = membersTop + Math.max(1, lanes.length) * (laneH + laneGap) + 6;
  const votersY = y;
  y += 18 + 8;
  const leaderY = y;
  y += LANE_H + 12;
  const writesY = y;
  y += WRITES_H;
  const axisY = y;
  const height = axisY + 30;
  const plotTop = stepsY - 2;

  // background bands and grid
  lanes.forEach((l, i) => {
    const ly = laneY.get(l.key) as number;
    parts.push(
      `<rect x="${GUTTER}" y="${c(ly - (laneGap - 1) / 2)}" width="${PLOT_W}" height="${laneH + laneGap - 1}" fill="${i % 2 ? '#f8fafc' : '#f1f5f9'}"/>`,
    );
  });
  parts.push(`<rect x="${GUTTER}" y="${writesY}" width="${PLOT_W}" height="${WRITES_H}" fill="#f8fafc"/>`);
  const tick = niceStep(endMs, 16, TIME_STEPS_MS);
  for (let t = 0; t <= endMs + 1; t += tick) {
    const tx = c(x(t));
    parts.push(
      `<line x1="${tx}" y1="${plotTop}" x2="${tx}" y2="${axisY}" stroke="#e2e8f0" stroke-width="1"/>`,
      `<line x1="${tx}" y1="${axisY}" x2="${tx}" y2="${axisY + 5}" stroke="#64748b"/>`,
      `<text x="${tx}" y="${axisY + 17}" class="ax" text-anchor="middle">${tick < 1000 ? (t / 1000).toFixed(1) : Math.round(t / 1000)}</text>`,
    );
  }
  parts.push(
    `<line x1="${GUTTER}" y1="${axisY}" x2="${GUTTER + PLOT_W}" y2="${axisY}" stroke="#64748b"/>`,
    `<text x="${GUTTER - 8}" y="${axisY + 17}" class="ax" text-anchor="end">seconds since start</text>`,
  );

  // gutter labels
  const gl = (ly: number, text: string, sub?: string) =>
    parts.push(
      `<text x="${GUTTER - 10}" y="${c(ly)}" class="gl" text-anchor="end">${esc(text)}</text>` +
        (sub
          ? `<text x="${GUTTER - 10}" y="${c(ly + 11)}" class="gs" text-anchor="end">${esc(sub)}</text>`
          : ''),
    );
  gl(badgesTop + 13, 'events');
  gl(stepsY + 10, 'steps');
  if (lanes.length === 0) gl(membersTop + 15, 'members', 'no samples');

  // -- steps lane: every step as a segment (disruptions in their colour)
  for (const s of report.steps) {
    const kind = stepKind(s, undefined);
    const col = isMarkKind(kind) ? KIND_STYLE[kind].color : kind === 'converge' ? '#cbd5e1' : '#e2e8f0';
    const x0 = x(s.startedAtMs);
    const w = Math.max(2, x(s.startedAtMs + s.durationMs) - x0);
    const status = s.skipped ? ' (skipped)' : s.ok ? '' : ` FAILED: ${s.error ?? ''}`;
    parts.push(
      `<rect x="${c(x0)}" y="${stepsY}" width="${c(w)}" height="12" rx="2" fill="${s.ok ? col : FAIL_COLOR}" stroke="#fff" stroke-width="1"><title>${esc(`step ${s.index + 1} at ${secs(s.startedAtMs)} (${fmtMs(s.durationMs)}): ${s.description}${s.instanceId ? ` → ${s.instanceId}` : ''}${status}`)}</title></rect>`,
    );
  }

  // -- member lanes
  for (const l of lanes) {
    const ly = laneY.get(l.key) as number;
    const sub =
      l.memberIds.length === 0
        ? 'no member'
        : l.memberIds.length === 1
          ? `member ${l.memberIds[0]}`
          : `${l.memberIds.length} member ids`;
    if (dense)
      parts.push(
        `<text x="${GUTTER - 10}" y="${ly + 11}" class="gl dn" text-anchor="end">${esc(l.key)}<title>${esc(sub)}</title></text>`,
      );
    else gl(ly + 9, l.key, sub);
    parts.push(`<g class="lane" data-lane="${esc(l.key)}">`);
    for (const s of l.segments) {
      const st = ROLE_STYLE[s.role];
      const x0 = x(s.from);
      const w = Math.max(1, x(s.to) - x0);
      const tip = `${l.key} — ${st.label}${s.memberId ? ` (member ${s.memberId})` : ''}, ${secs(s.from)} → ${secs(s.to)}`;
      parts.push(
        `<rect x="${c(x0)}" y="${ly}" width="${c(w)}" height="${laneH}" fill="${st.fill}"${s.role === 'absent' ? ' stroke="#9ca3af" stroke-dasharray="3 2"' : ''}><title>${esc(tip)}</title></rect>`,
      );
      if (w > st.label.length * 6 + 10)
        parts.push(
          `<text x="${c(x0 + 5)}" y="${ly + (dense ? 11 : 15)}" class="seg${dense ? ' dn' : ''}" fill="${st.text}">${esc(st.label)}</text>`,
        );
    }
    parts.push('</g>');
  }

  // -- healthy voters
  gl(votersY + 12, 'healthy voters');
  const voters = voterSegments(timeline, endMs);
  const maxVoters = Math.max(1, ...voters.map((v) => v.n));
  for (const v of voters) {
    const x0 = x(v.from);
    const w = Math.max(1, x(v.to) - x0);
    // Below target or quorum: a solid warning colour; otherwise grey, darker for more voters.
    const shade = v.level === 'ok' || v.level === 'unknown' ? 0.18 + 0.5 * (v.n / maxVoters) : 1;
    const judged =
      v.level === 'below-quorum'
        ? `: BELOW QUORUM (${v.quorum ?? '?'} needed: no write can commit)`
        : v.level === 'below-target'
          ? `: below the target of ${v.target ?? '?'} (quorum ${v.quorum ?? '?'} holds)`
          : v.target !== undefined
            ? ` (target ${v.target}${v.quorum !== undefined ? `, quorum ${v.quorum}` : ''})`
            : '';
    parts.push(
      `<rect x="${c(x0)}" y="${votersY}" width="${c(w)}" height="18" fill="${VOTER_FILL[v.level]}" fill-opacity="${shade.toFixed(2)}" stroke="#fff" data-level="${v.level}"><title>${esc(`${v.n} healthy voter(s)${judged}, ${secs(v.from)} → ${secs(v.to)}`)}</title></rect>`,
    );
    if (w > 14)
      parts.push(
        `<text x="${c(x0 + w / 2)}" y="${votersY + 13}" class="seg" fill="#fff" text-anchor="middle">${v.n}</text>`,
      );
  }

  // -- leader
  gl(leaderY + 10, 'leader', `${report.leaderChanges.length} change(s)`);
  const keyOfMember = new Map<string, string>();
  for (const s of timeline.samples)
    for (const m of s.members) if (m.memberId) keyOfMember.set(m.memberId, m.key);
  const changes = [...report.leaderChanges].sort((a, b) => a.atMs - b.atMs);
  const midY = leaderY + LANE_H / 2;
  parts.push(
    `<line x1="${GUTTER}" y1="${midY}" x2="${GUTTER + PLOT_W}" y2="${midY}" stroke="#e2e8f0" stroke-width="2"/>`,
  );
  for (const st of leaderStretches(report.leaderChanges, timeline, endMs)) {
    const x0 = x(st.from);
    const x1 = x(st.to);
    const who = st.memberId === undefined ? undefined : (st.key ?? st.memberId);
    const member = who !== undefined && who !== st.memberId ? ` (member ${st.memberId})` : '';
    const span = `from ${secs(st.from)} to ${secs(st.to)}`;
    if (st.kind === 'leader') {
      parts.push(
        `<rect x="${c(x0)}" y="${midY - 4}" width="${c(Math.max(1, x1 - x0))}" height="8" rx="3" fill="${ROLE_STYLE.leader.fill}" data-leader="leader"><title>${esc(`leader ${who}${member} ${span}`)}</title></rect>`,
      );
      if (who !== undefined && x1 - x0 > who.length * 6.2 + 10)
        parts.push(`<text x="${c(x0 + 5)}" y="${midY - 7}" class="lt">${esc(who)}</text>`);
      continue;
    }
    const label = st.kind === 'none' ? 'no agreed leader' : 'leader unreachable';
    const tip =
      st.kind === 'none'
        ? `no agreed leader ${span}: the running members named none, or different ones (an election)`
        : `leader unreachable ${span}: the members still named ${who}${member}, whose etcd did not answer; no agreed leader that can commit (an election is due)`;
    parts.push(
      `<line x1="${c(x0)}" y1="${midY}" x2="${c(x1)}" y2="${midY}" stroke="${FAIL_COLOR}" stroke-width="4" stroke-dasharray="4 3" data-leader="${st.kind}"><title>${esc(tip)}</title></line>`,
    );
    if (x1 - x0 > label.length * 5.8 + 8)
      parts.push(`<text x="${c(x0 + 4)}" y="${midY - 7}" class="lt nl">${esc(label)}</text>`);
  }
  for (const ch of changes) {
    const x0 = x(ch.atMs);
    const name = (m: string | undefined) => (m === undefined ? 'none' : (keyOfMember.get(m) ?? m));
    parts.push(
      `<line x1="${c(x0)}" y1="${leaderY}" x2="${c(x0)}" y2="${leaderY + LANE_H}" stroke="#0f172a" stroke-width="2"><title>${esc(`${secs(ch.atMs)}: leader ${name(ch.from)} → ${name(ch.to)}`)}</title></line>`,
    );
  }

  // -- writes
  const { buckets, widthMs } = aggregateBuckets(report.availability, MAX_BUCKETS);
  const perSec = 1000 / widthMs;
  const maxRate = Math.max(1, ...buckets.map((b) => b.ok * perSec));
  const yStep = niceStep(
    maxRate,
    4,
    [1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000],
  );
  const yMax = Math.ceil(maxRate / yStep) * yStep;
  const wy = (rate: number) => writesY + WRITES_H - (rate / yMax) * (WRITES_H - 6);
  gl(writesY + 14, 'writes', `per s, ${widthMs} ms buckets`);
  for (let v = yStep; v <= yMax; v += yStep) {
    overlay.push(
      `<line x1="${GUTTER}" y1="${c(wy(v))}" x2="${GUTTER + PLOT_W}" y2="${c(wy(v))}" stroke="#334155" stroke-opacity="0.18" stroke-dasharray="2 3"/>`,
      `<text x="${GUTTER + 4}" y="${c(wy(v) + 4)}" class="ax yl">${num(v)}</text>`,
    );
  }
  const first = buckets[0];
  if (first && first.t > 0)
    parts.push(
      `<rect x="${GUTTER}" y="${writesY}" width="${c(x(first.t) - GUTTER)}" height="${WRITES_H}" fill="url(#p-idle)"><title>no writes yet: the workload starts once the fleet has converged</title></rect>`,
    );
  const gaps = zeroRuns(buckets, widthMs, Math.max(300, widthMs * 2));
  let longest: { from: number; to: number } | undefined;
  for (const g of gaps) {
    if (!longest || g.to - g.from > longest.to - longest.from) longest = g;
    parts.push(
      `<rect x="${c(x(g.from))}" y="${writesY}" width="${c(Math.max(1.5, x(g.to) - x(g.from)))}" height="${WRITES_H}" fill="${FAIL_COLOR}" fill-opacity="0.12"><title>${esc(`no acknowledged write for ≈${secs(g.to - g.from)} (${secs(g.from)} → ${secs(g.to)})`)}</title></rect>`,
    );
  }
  if (buckets.length > 0) {
    const base = writesY + WRITES_H;
    let d = `M${c(x((buckets[0] as AvailabilityBucket).t))} ${base}`;
    let lastY = NaN;
    for (const b of buckets) {
      const by = c(wy(b.ok * perSec));
      if (by !== String(lastY)) {
        d += `L${c(x(b.t))} ${by}`;
        lastY = Number(by);
      }
      d += `H${c(x(b.t + widthMs))}`;
    }
    d = d.replace(/H[\d.]+(?=H)/g, '');
    const lastB = buckets[buckets.length - 1] as AvailabilityBucket;
    d += `L${c(x(lastB.t + widthMs))} ${base}Z`;
    parts.push(
      `<path d="${d}" fill="${OK_COLOR}" fill-opacity="0.55" stroke="${OK_COLOR}" stroke-width="1"/>`,
    );
    for (const b of buckets) {
      if (b.failed === 0) continue;
      const h = Math.max(5, (b.failed * perSec * (WRITES_H - 6)) / yMax);
      const bx = x(b.t);
      parts.push(
        `<rect x="${c(bx)}" y="${c(base - h)}" width="${c(Math.max(1.5, x(b.t + widthMs) - bx))}" height="${c(h)}" fill="${FAIL_COLOR}"><title>${esc(`${secs(b.t)}: ${b.failed} failed, ${b.ok} acknowledged`)}</title></rect>`,
      );
    }
  } else {
    parts.push(`<text x="${GUTTER + 10}" y="${writesY + WRITES_H / 2}" class="gs">no writes recorded</text>`);
  }
  if (longest) {
    // Beside the band (not over it): the event line that caused the gap usually runs through the band.
    const right = x(longest.to) + 90 < GUTTER + PLOT_W;
    const lx = right ? x(longest.to) + 4 : x(longest.from) - 4;
    overlay.push(
      `<text x="${c(lx)}" y="${writesY + 12}" class="gap"${right ? '' : ' text-anchor="end"'}>gap ≈${esc(secs(longest.to - longest.from))}</text>`,
    );
  }

  // -- event markers: a line across every lane, a numbered badge on top
  for (const { m, x0, row, left, label } of placed) {
    const col = KIND_STYLE[m.kind].color;
    const by = badgesTop + row * badgeRowH + 9;
    parts.push(
      `<line x1="${c(x0)}" y1="${c(by)}" x2="${c(x0)}" y2="${axisY}" stroke="${col}" stroke-width="1.5" stroke-dasharray="5 3" opacity="0.85"/>`,
    );
    const tip = `${markerName(m)} at ${secs(m.step.startedAtMs)}: ${m.step.description}${m.step.instanceId ? ` → ${m.step.instanceId}` : ''}${m.step.ok ? '' : ` FAILED: ${m.step.error ?? ''}`}`;
    // A numbered badge for a measured event (the number of the table and the verdict); a plain
    // diamond for a step that is not one (an API fault, a partition, …).
    const rx = Math.max(8.5, 4 + m.badge.length * 3.2);
    const shape =
      m.badge === ''
        ? `<path d="M${c(x0)} ${c(by - 6)}l6 6l-6 6l-6 -6z" fill="${col}"/>`
        : `<rect x="${c(x0 - rx)}" y="${c(by - 8.5)}" width="${c(2 * rx)}" height="17" rx="8.5" fill="${col}"/><text x="${c(x0)}" y="${c(by + 3.5)}" class="bn" text-anchor="middle">${esc(m.badge)}</text>`;
    const lx = left ? x0 - rx - 4 : x0 + rx + 4;
    overlay.push(
      `<g class="ev" data-step="${m.stepNo}"${m.badge === '' ? '' : ` data-event="${esc(m.badge)}"`}><title>${esc(tip)}</title>${shape}${label ? `<text x="${c(lx)}" y="${c(by + 4)}" class="bl" fill="${col}"${left ? ' text-anchor="end"' : ''}>${esc(m.label)}</text>` : ''}</g>`,
    );
  }

  // -- quorum-loss recoveries: a band from "no leader" to "writable again", a solid line at the decision
  for (const r of report.recovery ?? []) {
    const from = x(r.noLeaderAtMs ?? r.decidedAtMs);
    const to = x(r.writableAgainAtMs ?? r.decidedAtMs);
    const xd = x(r.decidedAtMs);
    const tip = `${r.instanceId}: ${r.action} at ${secs(r.decidedAtMs)}; no leader → writable again ${r.recoveryMs === undefined ? '?' : secs(r.recoveryMs)}; ${r.lost} acknowledged write(s) lost, ${r.heldBySurvivor.length} of them held by a surviving copy`;
    parts.push(
      `<g class="recovery"><title>${esc(tip)}</title><rect x="${c(from)}" y="${c(badgesTop)}" width="${c(Math.max(2, to - from))}" height="${c(axisY - badgesTop)}" fill="#d97706" opacity="0.12"/><line x1="${c(xd)}" y1="${c(badgesTop)}" x2="${c(xd)}" y2="${axisY}" stroke="#d97706" stroke-width="2"/></g>`,
    );
    overlay.push(
      `<text x="${c(xd + 4)}" y="${c(axisY - 4)}" class="bl" fill="#b45309"><title>${esc(tip)}</title>${esc(r.action)}</text>`,
    );
  }

  // -- smaller marks: member removed / terminated on the hit lane; launch / learner / voter on replacements
  const laneOf = (instanceId: string | undefined, memberId: string | undefined): number | undefined => {
    if (instanceId !== undefined && laneY.has(instanceId)) return laneY.get(instanceId);
    if (memberId !== undefined) {
      const k = keyOfMember.get(memberId);
      if (k !== undefined) return laneY.get(k);
    }
    return undefined;
  };
  for (const e of events) {
    const ev = `event ${e.n} (step ${e.step + 1})`;
    const t0 = e.startedAtMs;
    const hy = laneOf(e.instanceId, e.memberId);
    if (e.memberRemovedAfterMs !== undefined) {
      const mx = x(t0 + e.memberRemovedAfterMs);
      const my = hy ?? stepsY;
      overlay.push(
        `<path d="M${c(mx - 5)} ${c(my - 3)}h10l-5 8z" fill="#0f172a" stroke="#fff" stroke-width="1"><title>${esc(`${ev}: member ${e.memberId ?? ''} removed ${fmtMs(e.memberRemovedAfterMs)} after the event (${secs(t0 + e.memberRemovedAfterMs)})`)}</title></path>`,
      );
    }
    if (e.terminatedAfterMs !== undefined && hy !== undefined) {
      const tx = x(t0 + e.terminatedAfterMs);
      overlay.push(
        `<path d="M${c(tx - 4)} ${c(hy + laneH / 2 - 4)}l8 8m0 -8l-8 8" stroke="#0f172a" stroke-width="2"><title>${esc(`${ev}: instance ${e.instanceId ?? ''} terminated ${fmtMs(e.terminatedAfterMs)} after the event`)}</title></path>`,
      );
    }
    for (const r of e.replacements) {
      const ry = laneOf(r.instanceId, undefined);
      if (ry === undefined) continue;
      const lx = x(t0 + r.launchedAfterMs);
      overlay.push(
        `<circle cx="${c(lx)}" cy="${c(ry + laneH / 2)}" r="4" fill="#fff" stroke="#0f172a" stroke-width="1.5"><title>${esc(`${ev}: replacement ${r.instanceId} launched ${fmtMs(r.launchedAfterMs)} after the event`)}</title></circle>`,
      );
      if (r.voterAfterMs !== undefined) {
        const vx = x(t0 + r.voterAfterMs);
        const vy = ry + laneH / 2;
        overlay.push(
          `<path d="M${c(vx)} ${c(vy - 6)}l6 6l-6 6l-6 -6z" fill="#facc15" stroke="#0f172a" stroke-width="1.2"><title>${esc(`${ev}: replacement ${r.instanceId} became a voter ${fmtMs(r.voterAfterMs)} after the event (learner after ${fmtMs(r.learnerAfterMs)})`)}</title></path>`,
        );
      }
    }
  }

  // time cursor (moved by the inline script)
  overlay.push(
    `<g id="cursor" visibility="hidden"><line y1="${plotTop}" y2="${axisY}" stroke="#0f172a" stroke-width="1"/><rect y="${axisY + 4}" width="56" height="17" rx="3" fill="#0f172a"/><text y="${axisY + 16}" class="cur" text-anchor="middle"></text></g>`,
  );

  const defs = `<defs>
<pattern id="p-unreachable" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fecaca"/><rect width="3" height="6" fill="#f87171"/></pattern>
<pattern id="p-unstarted" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="6" height="6" fill="#fef9c3"/><rect width="2" height="6" fill="#facc15"/></pattern>
<pattern id="p-idle" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#f8fafc"/><rect width="1" height="8" fill="#e2e8f0"/></pattern>
</defs>`;
  return `<svg id="chart" viewBox="0 0 ${VIEW_W} ${height}" width="100%" role="img" aria-label="Timeline of the run" data-x0="${GUTTER}" data-w="${PLOT_W}" data-end="${endMs}" data-vw="${VIEW_W}">${defs}${parts.join('')}${overlay.join('')}</svg>`;
}

// ---------------------------------------------------------------------------------------------------
// Page sections

function legend(): string {
  const roles = ROLE_ORDER.map((r) => {
    const st = ROLE_STYLE[r];
    const sw =
      r === 'unreachable'
        ? 'background:repeating-linear-gradient(45deg,#f87171 0 3px,#fecaca 3px 6px)'
        : r === 'unstarted'
          ? 'background:repeating-linear-gradient(-45deg,#facc15 0 2px,#fef9c3 2px 6px)'
          : r === 'absent'
            ? `background:${st.fill};border:1px dashed #9ca3af`
            : `background:${st.fill}`;
    return `<span class="lg" title="${esc(st.means)}"><i style="${sw}"></i>${esc(st.label)}</span>`;
  }).join('');
  const kinds = (Object.keys(KIND_STYLE) as MarkKind[])
    .map(
      (k) =>
        `<span class="lg"><i class="ln" style="border-color:${KIND_STYLE[k].color}"></i>${esc(KIND_STYLE[k].label)}</span>`,
    )
    .join('');
  const marks = [
    `<span class="lg"><svg width="12" height="10"><path d="M1 1h10l-5 8z" fill="#0f172a"/></svg>member removed</span>`,
    `<span class="lg"><svg width="12" height="12"><path d="M2 2l8 8m0 -8l-8 8" stroke="#0f172a" stroke-width="2"/></svg>instance terminated</span>`,
    `<span class="lg"><svg width="12" height="12"><circle cx="6" cy="6" r="4" fill="#fff" stroke="#0f172a" stroke-width="1.5"/></svg>replacement launched</span>`,
    `<span class="lg"><svg width="14" height="14"><path d="M7 1l6 6l-6 6l-6 -6z" fill="#facc15" stroke="#0f172a" stroke-width="1.2"/></svg>replacement is a voter</span>`,
    `<span class="lg"><i style="background:${OK_COLOR};opacity:.6"></i>acknowledged writes</span>`,
    `<span class="lg"><i style="background:${FAIL_COLOR}"></i>failed writes</span>`,
    `<span class="lg"><i style="background:rgba(220,38,38,.14)"></i>no acknowledged write</span>`,
    `<span class="lg"><i style="background:repeating-linear-gradient(45deg,#e2e8f0 0 1px,#f8fafc 1px 8px);border:1px solid #e2e8f0"></i>no writes yet (before the workload starts)</span>`,
  ].join('');
  const bands = [
    `<span class="lg"><i style="background:#334155;opacity:.55"></i>healthy voters at or above target</span>`,
    `<span class="lg"><i style="background:${VOTER_FILL['below-target']}"></i>below the target voter count</span>`,
    `<span class="lg"><i style="background:${VOTER_FILL['below-quorum']}"></i>below quorum (no write can commit)</span>`,
    `<span class="lg"><i style="background:${ROLE_STYLE.leader.fill}"></i>agreed leader</span>`,
    `<span class="lg"><i class="ln" style="border-color:${FAIL_COLOR}"></i>no agreed leader / leader unreachable</span>`,
  ].join('');
  return `<div class="legend"><div><b>Roles</b>${roles}</div><div><b>Events</b>${kinds}</div><div><b>Marks</b>${marks}</div><div><b>Cluster</b>${bands}</div></div>`;
}

function captions(): string {
  const items: [string, string][] = [
    [
      'events',
      'each numbered badge is a disruption the simulator started, numbered 1..n like the verdict, the JSON report and the table below; a diamond is a step that is not a measured event (an API fault, a partition, …). Its dashed line runs across every lane so you can see what it did to the members and the writes.',
    ],
    [
      'steps',
      'every step of the scenario in order, including the waits for convergence (grey) and the "keep writing" pauses (light); a red block is a step that failed. Hover for its text.',
    ],
    [
      'members',
      'one lane per instance (or per member that never had one): its role over time as etcd reported it. A lane starts when the instance first appears and ends when it is terminated. A wiped instance keeps its lane under a new member id.',
    ],
    [
      'healthy voters',
      'how many members were leader or follower at each moment: grey (darker is more) at or above the target voter count, amber below the target, red below quorum (a majority of the voting members: no write can commit). Hover for the target and the quorum.',
    ],
    [
      'leader',
      'the leader all running members agreed on; each black tick is a leader change. A dashed red stretch is a time without a leader that can commit: "no agreed leader" (the members named none, or different ones) or "leader unreachable" (they still named a leader whose etcd no longer answered, e.g. killed: an election is due).',
    ],
    [
      'writes',
      'acknowledged writes per second (green area) and failed ones (red bars, drawn at least 5 px high so that a single failure shows); a pink band is a stretch with no acknowledged write, the longest one is labelled.',
    ],
  ];
  return `<dl class="how">${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

function yesNo(v: boolean | undefined, goodWhen: boolean): string {
  if (v === undefined) return '<span class="dim">—</span>';
  const good = v === goodWhen;
  return `<span class="${good ? 'good' : 'bad'}">${v ? 'yes' : 'no'}</span>`;
}

/** "leader moved first?": only an announced leave can hand leadership over; a kill -9 or wipe cannot. */
function leaderMovedCell(e: EventTimings): string {
  if (!e.wasLeader) return '<span class="dim">n/a</span>';
  if (e.kind === 'kill9' || e.kind === 'wipe')
    return '<span class="bad" title="the leader was killed or wiped: nothing can move leadership, the others elect a new leader">no, election</span>';
  if (e.kind !== 'interrupt') return '<span class="dim">n/a</span>';
  return yesNo(e.leaderMovedFirst, true);
}

/** The event's targets, one ✓/✗ line each (from bench-stats.ts: the benchmark's table). */
function targetsCell(e: EventTimings): string {
  const ts = e.targets ?? [];
  if (ts.length === 0) return '';
  return ts
    .map((t) => {
      const cls = t.met === undefined ? 'dim' : t.met ? 'good' : 'bad';
      return `<div class="tg ${cls}" data-target="${esc(t.id)}" data-met="${t.met === undefined ? 'unknown' : String(t.met)}">${esc(targetCheckText(t))}</div>`;
    })
    .join('');
}

function eventsTable(report: SimReport, events: readonly EventTimings[]): string {
  if (events.length === 0) return '<p class="dim">No disruptions were run.</p>';
  const rows = events.map((e) => {
    const kind = isMarkKind(e.kind) ? e.kind : undefined;
    const col = kind ? KIND_STYLE[kind].color : '#64748b';
    // Exact counts from the runner when it recorded them, else the availability buckets (≈).
    const exact = e.writes;
    const w = exact ?? bucketWritesInWindow(report.availability, e.startedAtMs, e.startedAtMs + e.windowMs);
    const gap =
      exact !== undefined
        ? fmtMs(exact.longestGapMs)
        : w.longestGapMs > 0
          ? `≈${secs(w.longestGapMs)}`
          : '&lt; 0.1 s';
    const target = e.instanceId
      ? `<div class="mono">${esc(e.instanceId)}</div>${e.memberId ? `<div class="mono dim">${esc(e.memberId)}</div>` : ''}${e.wasLeader ? '<span class="tag">was leader</span>' : ''}`
      : '<span class="dim">—</span>';
    const repl =
      e.replacements.length === 0
        ? '<span class="dim">—</span>'
        : e.replacements
            .map(
              (r) =>
                `<div><span class="mono">${esc(r.instanceId)}</span><br>${fmtMs(r.launchedAfterMs)} → learner ${fmtMs(r.learnerAfterMs)} → <b>voter ${fmtMs(r.voterAfterMs)}</b></div>`,
            )
            .join('');
    const rejoin =
      e.memberIdUnchanged === undefined
        ? ''
        : `<div class="dim">${e.memberIdUnchanged ? 'rejoined with the same member id' : `rejoined as <span class="mono">${esc(e.memberIdAfter ?? '')}</span> after ${fmtMs(e.rejoinedAfterMs)}`}</div>`;
    const actions =
      e.agentActions && e.agentActions.length > 0
        ? `<div class="dim small">agent: ${esc(e.agentActions.join(' → '))}</div>`
        : '';
    return `<tr>
<td><span class="badge" style="background:${col}">${e.n}</span><div class="dim small">step ${e.step + 1}</div></td>
<td class="num">${secs(e.startedAtMs)}</td>
<td class="evt">${esc(e.description)}${rejoin}${actions}</td>
<td>${target}</td>
<td class="num">${fmtMs(e.memberRemovedAfterMs)}</td>
<td>${e.kind === 'interrupt' ? yesNo(e.removedBeforeTerminated, true) : '<span class="dim">—</span>'}</td>
<td>${leaderMovedCell(e)}</td>
<td class="num">${fmtMs(e.terminatedAfterMs)}</td>
<td>${repl}</td>
<td class="num">${e.leaderChanges}${e.leaderChangedAfterMs !== undefined ? `<div class="dim small">first after ${fmtMs(e.leaderChangedAfterMs)}</div>` : ''}</td>
<td class="num${e.belowTargetMs > 0 ? ' warn' : ''}">${fmtMs(e.belowTargetMs)}${e.targetVoters !== undefined ? `<div class="dim small">target ${e.targetVoters}</div>` : ''}</td>
<td class="num${w.failed > 0 ? ' bad' : ''}">${num(w.failed)}</td>
<td class="num${w.longestGapMs >= 5000 ? ' warn' : ''}">${gap}</td>
<td class="num dim">${secs(e.windowMs)}</td>
</tr>${(e.targets?.length ?? 0) > 0 ? `<tr class="tgrow"><td></td><td colspan="13"><span class="dim small">targets:</span> ${targetsCell(e)}</td></tr>` : ''}`;
  });
  return `<div class="scroll"><table class="t events"><thead><tr>
<th>#</th><th>at</th><th>event</th><th>target</th><th title="from the event (notice) until the member was removed">member removed after</th><th>removed before terminated?</th><th title="only for an announced leave (a notice) of the leader; a killed or wiped leader is replaced by an election">leader moved first?</th><th>terminated after</th><th>replacement: launch → learner → voter</th><th>leader changes</th><th title="time in the window with fewer healthy voters (leader and followers) than the target: the largest odd number ≤ min(voter cap, running instances)">below target voters</th><th title="failed puts in the event's window">failed writes</th><th title="longest time without an acknowledged write in the event's window">longest gap</th><th title="until the next event or the end">window</th>
</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function stepsTable(report: SimReport, events: readonly EventTimings[]): string {
  const eventsOf = new Map<number, number[]>();
  for (const e of events) eventsOf.set(e.step, [...(eventsOf.get(e.step) ?? []), e.n as number]);
  const rows = report.steps.map((s) => {
    const status = s.skipped
      ? '<span class="dim">skipped</span>'
      : s.ok
        ? '<span class="good">ok</span>'
        : `<span class="bad">failed</span> <span class="mono small">${esc(s.error ?? '')}</span>`;
    return `<tr><td class="num">${s.index + 1}</td><td class="num">${esc(eventsOf.get(s.index)?.join(', ') ?? '')}</td><td class="num">${secs(s.startedAtMs)}</td><td class="num">${fmtMs(s.durationMs)}</td><td>${esc(s.description)}</td><td class="mono">${esc(s.instanceId ?? '')}</td><td>${status}</td></tr>`;
  });
  return `<table class="t steps"><thead><tr><th>#</th><th>event</th><th>at</th><th>took</th><th>step</th><th>instance</th><th>result</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function timingSourceText(events: readonly EventTimings[]): string {
  const sources = new Set(events.map((e) => e.timingSource).filter((s) => s !== undefined));
  if (sources.size === 0) return '';
  if (sources.size === 1 && sources.has('monitor'))
    return 'Times come from the fleet monitor, which samples every 250 ms.';
  return "Times come from the fleet monitor's 250 ms samples, refined to the millisecond by the agents' decision logs.";
}

/** How the run was set up and what it cost: agent, workload, cloud API calls, processes' resources. */
function runDetails(report: SimReport): string {
  const blocks: string[] = [];
  const kv = (rows: [string, string][]) =>
    `<table class="t compact kv"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
  const setup: [string, string][] = [];
  if (report.agent) {
    setup.push([
      'agent',
      report.agent.etcdSpot
        ? "etcd-spot's agent"
        : `<span class="mono">${esc(report.agent.command)}</span> (not etcd-spot's)`,
    ]);
    const env = Object.keys(report.agent.env ?? {});
    if (env.length > 0) setup.push(['agent env', `<span class="mono small">${esc(env.join(' '))}</span>`]);
  }
  if (report.workload)
    setup.push([
      'workload',
      esc(
        `${report.workload.writers} writer(s), ${report.workload.writesPerSecond > 0 ? `${num(report.workload.writesPerSecond)} writes/s` : 'as fast as possible'}${report.workload.valueSize > 0 ? `, ${num(report.workload.valueSize)} B values` : ''}`,
      ),
    ]);
  if (report.scenarioFile !== undefined)
    setup.push(['scenario file', `<span class="mono small">${esc(report.scenarioFile)}</span>`]);
  if (report.clusterIds) {
    const split = report.clusterIds.length > 1;
    setup.push([
      'cluster ids seen',
      `<span class="mono${split ? ' bad' : ''}">${esc(report.clusterIds.join(', ') || '—')}</span>${split ? ' <span class="bad">split cluster</span>' : ''}`,
    ]);
  }
  if (setup.length > 0) blocks.push(`<div><h3>Setup</h3>${kv(setup)}</div>`);

  if (report.api) {
    const routes = Object.entries(report.api.routes ?? {}).filter(([, r]) => r.requests > 0);
    const perMin = report.api.callsPerMinute as Record<string, number>;
    blocks.push(
      `<div><h3>Cloud API calls by the agents</h3><p><b class="big">${esc(String(report.api.spotCallsPerMinute))}</b> Spot API calls per minute <span class="dim">over ${esc(secs(report.api.durationMs))}</span></p>${
        routes.length === 0
          ? ''
          : `<table class="t compact"><thead><tr><th>route</th><th>per min</th><th>requests</th><th title="the metadata service's 404 for a notice not given (spot/instance-action, termination-time, rebalance): the normal answer of a poll">no notice (404)</th><th>errors</th><th>rate limited</th><th>faulted</th></tr></thead><tbody>${routes
              .map(
                ([k, r]) =>
                  `<tr><td class="mono">${esc(k)}</td><td class="num">${esc(String(perMin[k] ?? 0))}</td><td class="num">${num(r.requests)}</td><td class="num">${k === 'imds' ? num(r.noNotice ?? 0) : '<span class="dim">–</span>'}</td><td class="num">${num(r.clientErrors + r.serverErrors)}</td><td class="num">${num(r.rateLimited)}</td><td class="num">${num(r.faulted + r.dropped)}</td></tr>`,
              )
              .join(
                '',
              )}</tbody></table><p class="dim small">A metadata poll for a notice answered 404 before any notice is counted as "no notice", not as an error.</p>`
      }</div>`,
    );
  }
  if (report.resources) {
    const row = (k: string, u: SimReport['resources']['agent']) =>
      `<tr><td>${esc(k)}</td><td class="num">${esc(u.peakRssMb.toFixed(1))} MB</td><td class="num">${esc(u.meanCpuPercent.toFixed(1))} %</td><td class="num">${esc(u.cpuSeconds.toFixed(1))} s</td></tr>`;
    blocks.push(
      `<div><h3>Resources per instance</h3><table class="t compact"><thead><tr><th></th><th>peak RSS</th><th>mean CPU</th><th>CPU time</th></tr></thead><tbody>${row('agent', report.resources.agent)}${row('etcd', report.resources.etcd)}</tbody></table><p class="dim small">${num(report.resources.samples)} samples every ${esc(fmtMs(report.resources.sampleIntervalMs))}; peak of any one instance, CPU averaged over the time the processes ran.</p></div>`,
    );
  }
  return blocks.length === 0
    ? ''
    : `<section><h2>Run</h2><div class="cols">${blocks.join('')}</div></section>`;
}

/** The quorum-loss recoveries: timings and the lost writes split by whether a surviving copy held them. */
export function recoverySection(report: Pick<SimReport, 'recovery'>): string {
  const rs = report.recovery ?? [];
  if (rs.length === 0) return '';
  const opt = (ms: number | undefined) => (ms === undefined ? '–' : esc(secs(ms)));
  const rows = rs
    .map(
      (r) =>
        `<tr><td class="mono">${esc(r.instanceId)}</td><td>${esc(r.action)}</td><td class="num">${opt(r.noLeaderAtMs)}</td><td class="num">${esc(secs(r.decidedAtMs))}</td><td class="num">${opt(r.writableAgainAtMs)}</td><td class="num"><b>${opt(r.recoveryMs)}</b></td><td class="num">${r.keptRevision === undefined ? '–' : num(r.keptRevision)}</td><td class="num">${num(r.lost)}</td><td class="num">${num(r.couldNotSurvive)}</td><td class="num${r.heldBySurvivor.length > 0 ? ' bad' : ''}">${num(r.heldBySurvivor.length)}</td></tr><tr><td colspan="10" class="small dim">${esc(r.reason)}${r.detail === undefined ? '' : ` → ${esc(r.detail)}`}</td></tr>`,
    )
    .join('');
  return `<section><h2>Quorum-loss recovery</h2><p class="dim small">No leader → writable again. Lost writes are acknowledged writes missing at the end: "on no surviving copy" were acknowledged at a revision above what the survivor (or the snapshot) kept, the physical minimum; any "held by a surviving copy" fails the run.</p><table class="t"><thead><tr><th>instance</th><th>action</th><th>no leader</th><th>decided</th><th>writable again</th><th>recovery</th><th>kept revision</th><th>writes lost</th><th>on no surviving copy</th><th>held by a surviving copy</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** The linearizability check: a line when it passed, the violating keys with their windows when not. */
function linearizabilitySection(report: SimReport): string {
  const l = report.linearizability;
  if (l === undefined) return '';
  const what = `${num(l.operations)} operations on ${num(l.keys)} keys (${num(l.registerOperations)} get/put/compare-and-swap on shared keys, the rest the writers' puts and the final read of every key), checked in ${esc(fmtMs(l.checkMs))} (${num(l.steps)} search steps; ${num(l.droppedMaybe)} failed writes nobody observed left out, ${num(l.boundedMaybe)} observed ones bounded by their first reader).`;
  const head =
    l.verdict === 'ok'
      ? `<p><b class="good">Linearizable.</b> ${what}</p>`
      : l.verdict === 'unknown'
        ? `<p><b class="bad">Unknown:</b> the search ran out of its step budget on ${num(l.unknownKeys.length)} key(s) (<span class="mono">${esc(l.unknownKeys.slice(0, 10).join(', '))}</span>). ${what}</p>`
        : `<p><b class="bad">Not linearizable.</b> ${what}</p>`;
  const keys = l.violations
    .map(
      (v) =>
        `<div><h3 class="bad">key <span class="mono">${esc(v.key)}</span></h3>${v.culprit !== undefined ? `<p class="small">No order of the operations explains <span class="mono">${esc(v.culprit)}</span>. These operations alone already fail (times in ms from the first of them):</p>` : ''}<ol class="mono small">${v.window.map((o) => `<li>${esc(o)}</li>`).join('')}</ol></div>`,
    )
    .join('');
  return `<section><h2>Linearizability</h2>${head}${keys ? `<div class="cols">${keys}</div>` : ''}</section>`;
}

function writesDetail(report: SimReport): string {
  const w = report.writes;
  const out: string[] = [];
  const codes = Object.entries(w.failedByCode).sort((a, b) => b[1] - a[1]);
  if (codes.length > 0)
    out.push(
      `<div><h3>Failed writes by cause</h3><p class="small">Outcome unknown, not lost: each may or may not have been applied, and every acknowledged write was read back.</p><table class="t compact"><tbody>${codes.map(([k, v]) => `<tr><td class="mono">${esc(k)}</td><td class="num">${num(v)}</td><td class="small">${esc(failedWriteCause(k))}</td></tr>`).join('')}</tbody></table></div>`,
    );
  if (w.lost.length > 0) {
    const shown = w.lost.slice(0, 50);
    out.push(
      `<div><h3 class="bad">Lost acknowledged writes (${num(w.lost.length)})</h3><p class="mono small">${shown.map((k) => esc(k)).join(', ')}${w.lost.length > shown.length ? ` … and ${num(w.lost.length - shown.length)} more` : ''}</p></div>`,
    );
  }
  if (w.mismatched.length > 0) {
    const shown = w.mismatched.slice(0, 20);
    out.push(
      `<div><h3 class="bad">Values read back differently (${num(w.mismatched.length)})</h3><table class="t compact"><thead><tr><th>key</th><th>expected</th><th>read back</th></tr></thead><tbody>${shown.map((m) => `<tr><td class="mono">${esc(m.key)}</td><td class="mono">${esc(m.expected)}</td><td class="mono">${esc(m.actual)}</td></tr>`).join('')}</tbody></table></div>`,
    );
  }
  if (w.nonMonotonic.length > 0)
    out.push(
      `<div><h3 class="bad">Revisions out of order</h3><p>${num(w.nonMonotonic.length)} acknowledged write(s) with a revision lower than an earlier one of the same writer.</p></div>`,
    );
  if (w.readBackError !== undefined)
    out.push(
      `<div><h3 class="bad">Read-back failed</h3><p class="mono small">${esc(w.readBackError)}</p></div>`,
    );
  return out.length === 0 ? '' : `<section><h2>Writes</h2><div class="cols">${out.join('')}</div></section>`;
}

/** A page-relative link to one instance's logs. */
export interface LogLink {
  instanceId: string;
  agentLog: string;
  etcdLog?: string;
}

/** What the page shows besides the report: the agents' decisions and links to the logs. */
export interface HtmlExtras {
  decisions?: readonly AgentDecision[];
  logLinks?: readonly LogLink[];
}

/** Decisions beyond this many: the newest are shown, the log files hold the rest. */
const MAX_DECISIONS = 2000;

/** A relative path as an href: never a scheme, a host or an absolute path (the page stays self-contained). */
function relHref(path: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/') || path.startsWith('\\')) return undefined;
  return path
    .split('/')
    .map((p) => encodeURIComponent(p))
    .join('/');
}

/** The agents' decision log, every agent in one list by time, with the links to each instance's logs. */
function decisionsSection(report: SimReport, extras: HtmlExtras): string {
  const links = extras.logLinks ?? [];
  const linkRows = links
    .map((l) => {
      const a = (path: string | undefined, text: string) => {
        const href = path === undefined ? undefined : relHref(path);
        return href === undefined
          ? `<span class="dim">${esc(text)}</span>`
          : `<a href="${esc(href)}">${esc(text)}</a>`;
      };
      return `<li><span class="mono">${esc(l.instanceId)}</span>: ${a(l.agentLog, 'agent.log')}${l.etcdLog !== undefined ? ` · ${a(l.etcdLog, 'etcd.log')}` : ''}</li>`;
    })
    .join('');
  const logs =
    links.length === 0
      ? ''
      : `<h3>Logs</h3><ul class="logs">${linkRows}</ul><p class="dim small">Relative to this page, in the run dir.</p>`;
  const all = decisionLog(extras.decisions ?? []);
  if (all.length === 0 && logs === '') return '';
  const shown = all.slice(-MAX_DECISIONS);
  const t0 = Date.parse(report.startedAt);
  const rel = (t: number) => (Number.isFinite(t0) ? secs(t - t0) : new Date(t).toISOString());
  const rows = shown
    .map((e) => {
      const out = outcomeText(e);
      const cls =
        e.status === 'failed' ? 'bad' : e.status === 'retrying' ? 'warn' : e.status === 'ok' ? 'good' : 'dim';
      const times =
        e.count > 1 ? `<div class="dim small">×${e.count} since ${esc(rel(e.firstAt))}</div>` : '';
      return `<tr data-status="${e.status}"><td class="num">${esc(rel(e.lastAt))}${times}</td><td class="mono">${esc(e.decision.instanceId)}</td><td class="mono">${esc(e.decision.action)}</td><td class="${cls}">${esc(out || 'running')}</td><td class="small">${esc(e.decision.reason)}</td></tr>`;
    })
    .join('');
  const table =
    all.length === 0
      ? `<p class="dim">${report.agent?.etcdSpot === false ? "The agent is not etcd-spot's: its decisions are in its own logs." : 'No decisions were read.'}</p>`
      : `<p class="dim small">Every agent's decisions but "wait", by time; an agent's repeats of one decision are one row with a count. "retrying" is a membership change etcd refused within its pause of ~5 s after the previous change or an etcd start: expected, and retried by the agent.${all.length > shown.length ? ` Only the newest ${num(shown.length)} of ${num(all.length)} are shown; the logs hold all.` : ''}</p><div class="scroll dl"><table class="t decisions"><thead><tr><th>at</th><th>instance</th><th>action</th><th>outcome</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  return `<section><h2>Agents' decisions</h2>${table}${logs}</section>`;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f1f5f9;color:#0f172a;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans","Liberation Sans",sans-serif}
main{max-width:1400px;margin:0 auto;padding:20px 24px 40px}
.t .mono{white-space:nowrap}
.mono,.t .mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:12px}
.small{font-size:12px}.dim{color:#64748b}.good{color:#047857;font-weight:600}.bad{color:#b91c1c;font-weight:600}.warn{color:#b45309}
header.top{display:flex;gap:22px;align-items:center;background:#fff;border-radius:12px;padding:18px 22px;box-shadow:0 1px 3px rgba(15,23,42,.12)}
.verdict{font-size:34px;font-weight:800;letter-spacing:.04em;color:#fff;border-radius:10px;padding:10px 22px;min-width:130px;text-align:center}
.verdict.pass{background:#059669}.verdict.fail{background:#dc2626}
.title h1{margin:0;font-size:22px}.meta{color:#475569;margin-top:4px}.meta b{color:#0f172a;font-weight:600}
.aborted{margin-top:6px;color:#b91c1c;font-weight:600}
.stats{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin:14px 0}
.stat{background:#fff;border-radius:10px;padding:12px 16px;box-shadow:0 1px 3px rgba(15,23,42,.1);border-top:4px solid #cbd5e1}
.stat .v{font-size:28px;font-weight:750;font-variant-numeric:tabular-nums}.stat .k{color:#475569;font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.stat.ok{border-top-color:#059669}.stat.ok .v{color:#047857}.stat.bad{border-top-color:#dc2626;background:#fef2f2}.stat.bad .v{color:#b91c1c}.stat.warn{border-top-color:#f59e0b}.stat.warn .v{color:#b45309}
.problems{background:#fef2f2;border:1px solid #fecaca;border-radius:10px;padding:10px 16px;margin-bottom:14px}
.problems h2{margin:0 0 4px;font-size:15px;color:#b91c1c}.problems ul{margin:0;padding-left:20px}
section{background:#fff;border-radius:12px;padding:16px 20px;margin-top:14px;box-shadow:0 1px 3px rgba(15,23,42,.1)}
h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:6px 0}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
.ax{font-size:11px;fill:#475569}.gl{font-size:12px;fill:#0f172a;font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace!important}
.gs{font-size:9.5px;fill:#64748b}.gl.dn{font-size:10px}.seg.dn{font-size:9px}.seg{font-size:10.5px;font-weight:600;pointer-events:none}
.lt{font-size:10.5px;fill:#4c1d95;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}.lt.nl{fill:#b91c1c}.bn{font-size:10px;font-weight:700;fill:#fff;pointer-events:none}.bl{font-size:11px;font-weight:650;paint-order:stroke;stroke:#fff;stroke-width:3px}
.yl{paint-order:stroke;stroke:#f8fafc;stroke-width:3px}
.gap{font-size:11px;font-weight:700;fill:#b91c1c;paint-order:stroke;stroke:#fff;stroke-width:3px}.cur{font-size:11px;fill:#fff}
.ev{cursor:default}
.legend{display:flex;flex-direction:column;gap:4px;margin:2px 0 8px;font-size:12.5px}
.legend b{display:inline-block;width:60px;color:#475569;font-weight:600}
.lg{display:inline-flex;align-items:center;gap:5px;margin-right:14px}
.lg i{display:inline-block;width:22px;height:12px;border-radius:2px}.lg i.ln{height:0;border-top:2px dashed;border-radius:0}
.how{display:grid;grid-template-columns:120px 1fr;gap:3px 12px;margin:10px 0 0;font-size:12.5px;color:#334155}
.how dt{font-weight:650;color:#0f172a}.how dd{margin:0}
.t{border-collapse:collapse;width:100%;font-size:12.5px}
.t th{text-align:left;font-weight:600;color:#475569;border-bottom:2px solid #e2e8f0;padding:6px 8px;vertical-align:bottom}
.t td{border-bottom:1px solid #eef2f7;padding:6px 7px;vertical-align:top}
.scroll{overflow-x:auto}
.t .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.kv th{border:none;padding:3px 12px 3px 0;white-space:nowrap}.kv td{border:none;padding:3px 0}.big{font-size:20px}
.t.compact{width:auto}.t td.evt{min-width:180px}.t.steps{width:auto;min-width:60%}
.badge{display:inline-block;min-width:22px;text-align:center;color:#fff;font-weight:700;border-radius:11px;padding:1px 6px}
.tag{display:inline-block;background:#ede9fe;color:#5b21b6;border-radius:4px;padding:0 5px;font-size:11px;font-weight:600;margin-top:2px}
.cols{display:flex;gap:28px;flex-wrap:wrap}
.meaning{margin:-4px 0 14px;color:#334155;font-size:12.5px}
.tg{display:inline-block;margin-right:18px;font-size:12px}.t tr.tgrow td{border-bottom:1px solid #e2e8f0;padding-top:0}.t tbody tr:has(+tr.tgrow) td{border-bottom:none}
.dl{max-height:640px;overflow-y:auto}.t.decisions td{padding:4px 7px}
ul.logs{margin:4px 0;padding-left:20px;columns:2}a{color:#1d4ed8}
footer{color:#64748b;font-size:12px;margin-top:16px}
`;

const SCRIPT = `(function(){var s=document.getElementById('chart'),c=document.getElementById('cursor');if(!s||!c)return;
var x0=+s.dataset.x0,w=+s.dataset.w,end=+s.dataset.end,vw=+s.dataset.vw,l=c.querySelector('line'),r=c.querySelector('rect'),t=c.querySelector('text');
s.addEventListener('mousemove',function(e){var b=s.getBoundingClientRect(),x=(e.clientX-b.left)*vw/b.width;if(x<x0||x>x0+w){c.setAttribute('visibility','hidden');return;}
c.setAttribute('visibility','visible');l.setAttribute('x1',x);l.setAttribute('x2',x);r.setAttribute('x',x-28);t.setAttribute('x',x);t.textContent=((x-x0)/w*end/1000).toFixed(1)+' s';});
s.addEventListener('mouseleave',function(){c.setAttribute('visibility','hidden');});})();`;

/**
 * The whole page. `timeline` times are ms since the run started, like every time in the report;
 * `extras` adds the agents' decision log and page-relative links to each instance's logs.
 */
export function renderHtmlReport(report: SimReport, timeline: RoleTimeline, extras: HtmlExtras = {}): string {
  const w = report.writes;
  // The one numbering of events (measure.ts numberEvents), also for a report written before it existed.
  const events = numberEvents(report.events.map((e) => ({ ...e })));
  const lost = w.lost.length;
  // A lost or changed acknowledged write can never be shown as a pass, whatever the flag says.
  const split = (report.clusterIds?.length ?? 0) > 1;
  const notLinearizable = report.linearizability?.verdict === 'violation';
  const pass = report.pass && lost === 0 && w.mismatched.length === 0 && !split && !notLinearizable;
  const problems: string[] = [];
  if (report.aborted !== undefined) problems.push(`run stopped early: ${report.aborted}`);
  if (lost > 0) problems.push(`${num(lost)} acknowledged write(s) lost`);
  if (w.mismatched.length > 0)
    problems.push(`${num(w.mismatched.length)} write(s) read back with another value`);
  if (w.nonMonotonic.length > 0)
    problems.push(`${num(w.nonMonotonic.length)} write(s) with out-of-order revisions`);
  if (w.readBackError !== undefined) problems.push(`read-back failed: ${w.readBackError}`);
  if (notLinearizable && !report.problems.some((p) => /linearizable/.test(p)))
    problems.push(`not linearizable: ${report.linearizability?.violations.map((v) => v.key).join(', ')}`);
  if (!report.converged) problems.push('the fleet did not converge at the end');
  if (split && !report.problems.some((p) => /cluster id/.test(p)))
    problems.push(`${report.clusterIds.length} cluster ids were seen during the run (a split)`);
  for (const p of report.problems) problems.push(p);
  for (const s of report.steps)
    if (!s.ok && !s.skipped)
      problems.push(`step ${s.index + 1} (${s.description}) failed: ${s.error ?? 'unknown error'}`);
  if (!pass && problems.length === 0) problems.push('the run did not pass (no detail recorded)');

  const stat = (k: string, v: string, cls: string, title?: string) =>
    `<div class="stat ${cls}"${title ? ` title="${esc(title)}"` : ''}><div class="v">${v}</div><div class="k">${esc(k)}</div></div>`;
  const stats = [
    stat('acknowledged writes', num(w.acknowledged), w.acknowledged > 0 ? 'ok' : 'warn'),
    stat(
      'lost writes',
      num(lost),
      lost > 0 ? 'bad' : 'ok',
      'acknowledged writes missing from the final read-back',
    ),
    stat(
      'failed writes',
      num(w.failed),
      w.failed > 0 ? 'warn' : 'ok',
      'puts that returned an error or timed out: their outcome is unknown (not acknowledged, so not lost); they do not fail the run',
    ),
    stat(
      'longest write gap',
      esc(fmtMs(w.longestGapMs)),
      w.longestGapMs >= 5000 ? 'warn' : '',
      'longest time between two consecutive acknowledged writes',
    ),
    ...(report.linearizability
      ? [
          stat(
            'linearizable',
            report.linearizability.verdict === 'ok'
              ? 'yes'
              : report.linearizability.verdict === 'unknown'
                ? 'unknown'
                : 'no',
            report.linearizability.verdict === 'ok' ? 'ok' : 'bad',
            `${report.linearizability.operations} operations checked`,
          ),
        ]
      : []),
    stat('leader changes', num(report.leaderChanges.length), ''),
    stat('converged at the end', report.converged ? 'yes' : 'no', report.converged ? 'ok' : 'bad'),
  ].join('');

  const meta = [
    ['scenario', report.scenario],
    ['seed', String(report.seed)],
    ['instances', String(report.instances)],
    ['voter cap', String(report.maxVoters)],
    ['duration', secs(report.durationMs)],
    ['started', dateText(report.startedAt)],
    ...(report.versions !== undefined ? [['ran', versionsText(report.versions)]] : []),
    ...(report.agent && !report.agent.etcdSpot ? [['agent', report.agent.command]] : []),
  ]
    .map(([k, v]) => `${esc(k)} <b>${esc(v)}</b>`)
    .join(' &nbsp;·&nbsp; ');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${pass ? 'PASS' : 'FAIL'} · etcd-spot sim · ${report.scenario} · seed ${report.seed}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="top">
<div class="verdict ${pass ? 'pass' : 'fail'}">${pass ? 'PASS' : 'FAIL'}</div>
<div class="title"><h1>etcd-spot sim: ${esc(report.scenario)}</h1><div class="meta">${meta}</div>${report.aborted !== undefined ? `<div class="aborted">stopped early: ${esc(report.aborted)}</div>` : ''}</div>
</header>
<div class="stats">${stats}</div>
<p class="meaning">${esc(PASS_MEANING)}</p>
${problems.length > 0 ? `<div class="problems"><h2>Problems</h2><ul>${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></div>` : ''}
<section>
<h2>Timeline</h2>
${legend()}
${renderChart(report, timeline, events)}
${captions()}
</section>
<section>
<h2>Per-event timings</h2>
<p class="dim small">Events are numbered 1..n as in the verdict and the JSON report (<span class="mono">n</span>); the step that caused each is under its number. Times are measured from the moment the step started (for an interrupt: the notice). Failed writes and the longest gap without an acknowledged write are counted in the event's window (until the next event)${events.some((e) => e.writes === undefined) ? `; a value marked ≈ comes from the ${esc(fmtMs(bucketWidth(report.availability)))} availability buckets` : ''}. Under each event, the benchmark's targets that apply to it (BENCHMARKS.md): ✓ met, ✗ missed, ? not measurable; goals, not the verdict${report.terminationPollMs !== undefined ? `, the removal one with the agents' termination poll of ${esc(fmtMs(report.terminationPollMs))}` : ''}. ${esc(timingSourceText(events))}</p>
${eventsTable(report, events)}
</section>
${recoverySection(report)}
${linearizabilitySection(report)}
${writesDetail(report)}
${runDetails(report)}
${decisionsSection(report, extras)}
<section>
<h2>Steps</h2>
${stepsTable(report, events)}
</section>
<footer>etcd-spot sim report · run dir <span class="mono">${esc(report.runDir)}</span> · times in seconds since the run started</footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/**
 * The benchmark's arithmetic (pure): one simulator report → the numbers `npm run bench` compares
 * ({@link runMetrics}), repeats → medians, ranges and percentiles ({@link summarise},
 * {@link aggregateCell}), and the issue's targets → met / not met ({@link evaluateTargets}).
 *
 * The inputs are structural subsets of the simulator's SimReport (src/sim/run.ts; the test checks that a
 * SimReport fits), so that this module stays pure and a report's other fields are ignored.
 */

/** The part of one event's timings (src/sim/measure.ts EventTimings) the benchmark reads. */
export interface BenchEventInput {
  kind: string;
  description?: string;
  wasLeader?: boolean;
  memberRemovedAfterMs?: number;
  removedBeforeTerminated?: boolean;
  belowTargetMs: number;
  replacements: readonly { launchedAfterMs: number; voterAfterMs?: number }[];
  /** The interruption's notice (the caller takes it from the scenario's step). */
  noticeMs?: number;
  /** The writes within the event's own window, when the report measures them per event. */
  writes?: { failed: number; longestGapMs: number };
  /** ms since the run started (quorum-loss rows). */
  startedAtMs?: number;
  /** The emulator terminated the instance, ms after the event started (quorum-loss rows). */
  terminatedAfterMs?: number;
  /** The fewest healthy voters the monitor saw in the event's window. */
  minHealthyVoters?: number;
}

/** The part of one quorum-loss recovery (SimReport.recovery[], src/sim/recovery-report.ts) read here. */
export interface RecoveryInput {
  action: string;
  decidedAtMs: number;
  writableAgainAtMs?: number;
  /** No leader → writable again. */
  recoveryMs?: number;
  keptRevision?: number;
  lost: number;
  /** Lost writes acknowledged above `keptRevision`: on no surviving copy. */
  couldNotSurvive: number;
  heldBySurvivor: readonly string[];
}

/** The part of a SimReport the benchmark reads. */
export interface BenchReportInput {
  pass: boolean;
  aborted?: string;
  converged: boolean;
  problems: readonly string[];
  durationMs: number;
  writes: {
    acknowledged: number;
    lost: readonly unknown[];
    failed: number;
    longestGapMs: number;
    readBackError?: string;
  };
  events: readonly BenchEventInput[];
  api?: ApiInput;
  resources?: ResourceInput;
  /** Completions per 100 ms bucket, `t` in ms since the run started (quorum-loss rows, any agent). */
  availability?: readonly { t: number; ok: number }[];
  /** Quorum-loss recoveries the agents carried out (etcd-spot's agent only). */
  recovery?: readonly RecoveryInput[];
  /** First launch and first convergence, ms since the run started. */
  boot?: { firstLaunchAtMs: number; convergedAtMs: number };
}

/** The report's API figures (SimReport.api), the part read here. */
export interface ApiInput {
  /** Requests per minute by route (Spot API routes and IMDS). */
  callsPerMinute: Readonly<Record<string, number>>;
  spotCallsPerMinute: number;
  spotCallsPerInstanceMinute?: number;
  /** The calm stretch only (first convergence → first step that is not a wait). */
  steady?: {
    durationMs: number;
    spotCallsPerInstanceMinute?: number;
    imdsCallsPerInstanceMinute?: number;
  };
}

/** The report's resource figures (SimReport.resources), the part read here. */
export interface ResourceInput {
  /** The agent's processes (etcd excluded): highest of any one instance, and mean CPU per instance. */
  agent: { peakRssMb: number; meanCpuPercent: number };
  etcd?: { peakRssMb: number; meanCpuPercent: number };
}

export interface DisruptionMetrics {
  kind: string;
  description?: string;
  noticeMs?: number;
  wasLeader?: boolean;
  /** Notice (or kill) → the member was removed; undefined: it was not removed within the run. */
  removedAfterMs?: number;
  removedBeforeTerminated?: boolean;
  /** Failed writes attributed to this event (see `writesScope`). */
  failedWrites?: number;
  longestGapMs?: number;
  /**
   * `event`: the report measured the event's own window. `run`: the run's writing period holds this
   * one disruption only, so the run's figures are the event's. `unknown`: neither.
   */
  writesScope: 'event' | 'run' | 'unknown';
  belowTargetMs: number;
  /** Per replacement: launched → voter (undefined: it never became a voter within the run). */
  replacementToVoterMs: (number | undefined)[];
  /** The fewest healthy voters in the event's window (sampled every 250 ms). */
  minHealthyVoters?: number;
}

export interface RunMetrics {
  passed: boolean;
  converged: boolean;
  /** Why the run stopped early (a step failed, e.g. the fleet did not converge), when it did. */
  stopped?: string;
  problems: string[];
  durationMs: number;
  acknowledged: number;
  /** Acknowledged writes missing on read-back; undefined when the read-back itself failed. */
  lost?: number;
  readBackError?: string;
  failedWrites: number;
  longestGapMs: number;
  disruptions: DisruptionMetrics[];
  /** Spot API calls per minute by route, over the whole run, all agents together. */
  apiPerMinByRoute?: Record<string, number>;
  apiPerMin?: number;
  /** Spot API calls per instance-minute. */
  apiPerInstanceMin?: number;
  /** The same over the calm stretch only (first convergence → first disturbance), and its length. */
  steadyApiPerInstanceMin?: number;
  steadyImdsPerInstanceMin?: number;
  steadyWindowMs?: number;
  /** Boot rows: the group's first launch → its first convergence. */
  bootConvergedMs?: number;
  /** The bench row's kind when it has its own target (boot, steady, every instance interrupted). */
  row?: BenchRowKind;
  /** The agent's processes (etcd excluded), highest of any one instance, MB. */
  peakRssMb?: number;
  /** The agent's mean CPU per instance, % of one core. */
  cpuPercent?: number;
  /** etcd's peak resident memory, highest of any one instance, MB. */
  etcdPeakRssMb?: number;
  /** Quorum-loss rows only: how the cluster came back, see {@link recoveryMetrics}. */
  recovery?: RecoveryMetrics;
}

const DISRUPTION_KINDS = new Set(['interrupt', 'kill9', 'wipe', 'scale']);

/** Bench rows judged by a target of their own (the interruption rows need no label). */
export type BenchRowKind = 'boot' | 'steady' | 'interrupt-all';

/**
 * One event's timings as the benchmark reads them. `runWrites`: the run's write figures, to stand for
 * an event without its own when it is the run's only disruption.
 */
export function disruptionMetrics(
  e: BenchEventInput,
  runWrites?: { failed: number; longestGapMs: number },
): DisruptionMetrics {
  const perEvent = e.writes !== undefined;
  const scope: DisruptionMetrics['writesScope'] = perEvent
    ? 'event'
    : runWrites !== undefined
      ? 'run'
      : 'unknown';
  const d: DisruptionMetrics = {
    kind: e.kind,
    writesScope: scope,
    belowTargetMs: e.belowTargetMs,
    replacementToVoterMs: e.replacements.map((r) =>
      r.voterAfterMs === undefined ? undefined : Math.max(0, r.voterAfterMs - r.launchedAfterMs),
    ),
  };
  if (e.description !== undefined) d.description = e.description;
  if (e.noticeMs !== undefined) d.noticeMs = e.noticeMs;
  if (e.wasLeader !== undefined) d.wasLeader = e.wasLeader;
  if (e.memberRemovedAfterMs !== undefined) d.removedAfterMs = e.memberRemovedAfterMs;
  if (e.removedBeforeTerminated !== undefined) d.removedBeforeTerminated = e.removedBeforeTerminated;
  if (e.minHealthyVoters !== undefined) d.minHealthyVoters = e.minHealthyVoters;
  if (e.writes !== undefined) {
    d.failedWrites = e.writes.failed;
    d.longestGapMs = e.writes.longestGapMs;
  } else if (runWrites !== undefined) {
    d.failedWrites = runWrites.failed;
    d.longestGapMs = runWrites.longestGapMs;
  }
  return d;
}

/**
 * Reduces one run's report to the benchmark's numbers. `spotRoutes` limits the per-route API figures
 * to the Spot API (IMDS calls are not Spot API calls).
 */
export function runMetrics(
  report: BenchReportInput,
  opts: { spotRoutes?: readonly string[]; recovery?: RecoveryKind; row?: BenchRowKind } = {},
): RunMetrics {
  const events = report.events.filter((e) => DISRUPTION_KINDS.has(e.kind));
  const single = events.length === 1;
  const disruptions = events.map((e) => disruptionMetrics(e, single ? report.writes : undefined));
  const out: RunMetrics = {
    passed: report.pass,
    converged: report.converged,
    problems: [...report.problems],
    durationMs: report.durationMs,
    acknowledged: report.writes.acknowledged,
    failedWrites: report.writes.failed,
    longestGapMs: report.writes.longestGapMs,
    disruptions,
  };
  if (report.aborted !== undefined) out.stopped = report.aborted;
  if (report.writes.readBackError === undefined) out.lost = report.writes.lost.length;
  else out.readBackError = report.writes.readBackError;
  if (report.api !== undefined) {
    const byRoute: Record<string, number> = {};
    for (const [route, perMin] of Object.entries(report.api.callsPerMinute)) {
      if (opts.spotRoutes === undefined || opts.spotRoutes.includes(route)) byRoute[route] = perMin;
    }
    out.apiPerMinByRoute = byRoute;
    out.apiPerMin = report.api.spotCallsPerMinute;
    if (report.api.spotCallsPerInstanceMinute !== undefined)
      out.apiPerInstanceMin = report.api.spotCallsPerInstanceMinute;
    // The calm stretch means something only in a row built for it (elsewhere it is a few seconds).
    const steady = opts.row === 'steady' ? report.api.steady : undefined;
    if (steady !== undefined) {
      out.steadyWindowMs = steady.durationMs;
      if (steady.spotCallsPerInstanceMinute !== undefined)
        out.steadyApiPerInstanceMin = steady.spotCallsPerInstanceMinute;
      if (steady.imdsCallsPerInstanceMinute !== undefined)
        out.steadyImdsPerInstanceMin = steady.imdsCallsPerInstanceMinute;
    }
  }
  if (report.boot !== undefined && opts.row === 'boot')
    out.bootConvergedMs = Math.max(0, report.boot.convergedAtMs - report.boot.firstLaunchAtMs);
  if (opts.row !== undefined) out.row = opts.row;
  if (report.resources !== undefined) {
    out.peakRssMb = report.resources.agent.peakRssMb;
    out.cpuPercent = report.resources.agent.meanCpuPercent;
    if (report.resources.etcd !== undefined) out.etcdPeakRssMb = report.resources.etcd.peakRssMb;
  }
  if (opts.recovery !== undefined) out.recovery = recoveryMetrics(report, opts.recovery);
  return out;
}

// ------------------------------------------------------------------------------------ quorum loss

/** The two quorum-loss rows: a majority of the voters gone for good (one survivor), or every instance. */
export type RecoveryKind = 'majority-lost' | 'all-lost';

export interface RecoveryMetrics {
  kind: RecoveryKind;
  /** The recovery actions the agents carried out (the report's `recovery` section), in order. */
  actions: string[];
  /** The first lost instance was hit, ms since the run started. */
  disruptedAtMs?: number;
  /**
   * Where the target's clock starts, ms since the run started. majority-lost: the cloud terminated the
   * last of the lost instances; all-lost: the group launched the first replacement.
   */
  fromAtMs?: number;
  /** The first write acknowledged after the loss, ms since the run started; undefined: never, within the run. */
  writableAgainAtMs?: number;
  /**
   * `recovery`: the recovery section's first write acknowledged after the agent's decision (ms).
   * `availability`: the writers' 100 ms buckets, the first with an acknowledged write after the outage
   * the loss began (any agent; the bucket's start, so up to 100 ms early).
   */
  writableSource?: 'recovery' | 'availability';
  /** `fromAtMs` → writable again; undefined when either is unknown (see `writableAgainAtMs`). */
  toWritableMs?: number;
  /** The recovery section's no leader → writable again. */
  noLeaderToWritableMs?: number;
  /** The store revision the survivor (majority-lost) or the restored snapshot (all-lost) kept. */
  keptRevision?: number;
  /** Acknowledged writes lost in the run; undefined when they could not be read back. */
  lost?: number;
  /** Of those, acknowledged above the kept revision: on no surviving copy (the physical minimum). */
  lostNoCopy: number;
  /** `lost − lostNoCopy`: lost although a surviving copy held them, or lost outside any recovery. */
  lostHeld?: number;
}

/** Bucket start of the first acknowledged write after the outage that began at or after `at`. */
function writableFromAvailability(
  buckets: readonly { t: number; ok: number }[],
  at: number,
): number | undefined {
  const start = buckets.findIndex((b) => b.t >= at && b.ok === 0);
  if (start < 0) return undefined;
  return buckets.slice(start).find((b) => b.ok > 0)?.t;
}

/**
 * How a quorum-loss run came back: when the cluster was writable again (from the recovery section when
 * the agent recorded one, else from the writers' availability timeline, so that an agent without a
 * recovery is measured too), counted from the target's starting point, and the lost acknowledged writes
 * split by whether a surviving copy held them.
 */
export function recoveryMetrics(report: BenchReportInput, kind: RecoveryKind): RecoveryMetrics {
  const events = report.events.filter((e) => DISRUPTION_KINDS.has(e.kind) && e.startedAtMs !== undefined);
  const starts = events.map((e) => e.startedAtMs as number);
  const disruptedAt = starts.length > 0 ? Math.min(...starts) : undefined;
  let fromAt: number | undefined;
  if (kind === 'majority-lost') {
    const terminated = events.map((e) =>
      e.terminatedAfterMs === undefined ? undefined : (e.startedAtMs as number) + e.terminatedAfterMs,
    );
    if (terminated.length > 0 && terminated.every((t) => t !== undefined))
      fromAt = Math.max(...(terminated as number[]));
  } else {
    const launched = events.flatMap((e) =>
      e.replacements.map((r) => (e.startedAtMs as number) + r.launchedAfterMs),
    );
    if (launched.length > 0) fromAt = Math.min(...launched);
  }
  const recs = report.recovery ?? [];
  const m: RecoveryMetrics = {
    kind,
    actions: recs.map((r) => r.action),
    lostNoCopy: recs.reduce((n, r) => n + r.couldNotSurvive, 0),
  };
  if (disruptedAt !== undefined) m.disruptedAtMs = disruptedAt;
  if (fromAt !== undefined) m.fromAtMs = fromAt;
  const writable = recs
    .filter((r) => r.writableAgainAtMs !== undefined)
    .sort((a, b) => (a.writableAgainAtMs as number) - (b.writableAgainAtMs as number))[0];
  if (writable !== undefined) {
    m.writableAgainAtMs = writable.writableAgainAtMs as number;
    m.writableSource = 'recovery';
    if (writable.recoveryMs !== undefined) m.noLeaderToWritableMs = writable.recoveryMs;
  } else if (disruptedAt !== undefined && report.availability !== undefined) {
    const t = writableFromAvailability(report.availability, disruptedAt);
    if (t !== undefined) {
      m.writableAgainAtMs = t;
      m.writableSource = 'availability';
    }
  }
  if (m.writableAgainAtMs !== undefined && fromAt !== undefined)
    m.toWritableMs = m.writableAgainAtMs - fromAt;
  const kept = recs.find((r) => r.keptRevision !== undefined)?.keptRevision;
  if (kept !== undefined) m.keptRevision = kept;
  if (report.writes.readBackError === undefined) {
    m.lost = report.writes.lost.length;
    m.lostHeld = Math.max(0, m.lost - m.lostNoCopy);
  }
  return m;
}

// ------------------------------------------------------------------------------------ statistics

export interface Summary {
  n: number;
  min: number;
  max: number;
  /** Mean of the middle pair for an even count. */
  median: number;
  /** Nearest-rank 50th percentile (a measured value, unlike the median of an even count). */
  p50: number;
  /** Nearest-rank 99th percentile: with fewer than 100 values this is the maximum. */
  p99: number;
}

/**
 * Nearest-rank percentile (the smallest value with at least p % of the values at or below it), so a
 * reported percentile is always a value that was measured. `p` in (0, 100]. Undefined for no values.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const finite = values.filter((v) => !Number.isNaN(v));
  if (finite.length === 0) return undefined;
  const sorted = [...finite].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

/** Median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number | undefined {
  const finite = values.filter((v) => !Number.isNaN(v));
  if (finite.length === 0) return undefined;
  const s = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function summarise(values: readonly (number | undefined)[]): Summary | undefined {
  const v = values.filter((x): x is number => x !== undefined && !Number.isNaN(x));
  if (v.length === 0) return undefined;
  return {
    n: v.length,
    min: Math.min(...v),
    max: Math.max(...v),
    median: median(v) as number,
    p50: percentile(v, 50) as number,
    p99: percentile(v, 99) as number,
  };
}

/** (max − min) / |median|: 0 for identical repeats; undefined when it means nothing (n < 2 or median 0). */
export function relativeSpread(s: Summary | undefined): number | undefined {
  if (s === undefined || s.n < 2) return undefined;
  if (s.median === 0) return s.max === s.min ? 0 : undefined;
  return (s.max - s.min) / Math.abs(s.median);
}

/** A word for a relative spread: ≤ 10 % steady, ≤ 50 % moderate, else noisy. */
export function noiseWord(spread: number | undefined): 'steady' | 'moderate' | 'noisy' | 'n/a' {
  if (spread === undefined) return 'n/a';
  if (spread <= 0.1) return 'steady';
  if (spread <= 0.5) return 'moderate';
  return 'noisy';
}

// ------------------------------------------------------------------------------------ aggregation

/** One run as the benchmark saw it: its metrics, or why there are none. */
export interface RunOutcome {
  scenarioId: string;
  agent: string;
  repeat: number;
  /** Wall-clock time of the whole run (process start to result), ms. */
  wallMs?: number;
  metrics?: RunMetrics;
  /** The run produced no report (crash, timeout, bad setup). */
  error?: string;
}

export interface CellSummary {
  scenarioId: string;
  agent: string;
  runs: number;
  /** Runs with a report. */
  measured: number;
  passed: number;
  /** One line per run that produced no report, or that did not pass. */
  failures: string[];
  removedAfterMs?: Summary;
  /** Disruptions whose member was never removed within the run. */
  notRemoved: number;
  disruptions: number;
  failedWrites?: Summary;
  longestGapMs?: Summary;
  belowTargetMs?: Summary;
  replacementToVoterMs?: Summary;
  replacements: number;
  replacementsNeverVoter: number;
  lost?: Summary;
  /** Runs whose acknowledged writes could not be read back (neither lost nor verified). */
  unverified: number;
  acknowledged?: Summary;
  apiPerMin?: Summary;
  apiPerInstanceMin?: Summary;
  steadyApiPerInstanceMin?: Summary;
  steadyImdsPerInstanceMin?: Summary;
  bootConvergedMs?: Summary;
  /** Per run: the fewest healthy voters in any of its disruptions. */
  minHealthyVoters?: Summary;
  apiPerMinByRoute: Record<string, Summary>;
  peakRssMb?: Summary;
  cpuPercent?: Summary;
  etcdPeakRssMb?: Summary;
  wallMs?: Summary;
}

/** The fewest healthy voters in any disruption of a run (undefined: none was measured). */
export function fewestHealthyVoters(m: RunMetrics): number | undefined {
  const v = m.disruptions.flatMap((d) => (d.minHealthyVoters === undefined ? [] : [d.minHealthyVoters]));
  return v.length === 0 ? undefined : Math.min(...v);
}

function runLabel(o: RunOutcome): string {
  return `repeat ${o.repeat + 1}`;
}

/** Aggregates the repeats of one scenario × agent. */
export function aggregateCell(outcomes: readonly RunOutcome[]): CellSummary {
  const first = outcomes[0];
  const measured = outcomes.filter((o) => o.metrics !== undefined);
  const ms = measured.map((o) => o.metrics as RunMetrics);
  const ds = ms.flatMap((m) => m.disruptions);
  const failures: string[] = [];
  for (const o of outcomes) {
    if (o.metrics === undefined) failures.push(`${runLabel(o)}: failed: ${o.error ?? 'no report'}`);
    else if (!o.metrics.passed) {
      const why = o.metrics.stopped ?? (o.metrics.converged ? 'verdict FAIL' : 'not converged at the end');
      failures.push(`${runLabel(o)}: did not pass: ${why}`);
    }
  }
  const repl = ds.flatMap((d) => d.replacementToVoterMs);
  const routes = new Set(ms.flatMap((m) => Object.keys(m.apiPerMinByRoute ?? {})));
  const apiPerMinByRoute: Record<string, Summary> = {};
  for (const r of [...routes].sort()) {
    const s = summarise(ms.map((m) => m.apiPerMinByRoute?.[r]));
    if (s) apiPerMinByRoute[r] = s;
  }
  const cell: CellSummary = {
    scenarioId: first?.scenarioId ?? '',
    agent: first?.agent ?? '',
    runs: outcomes.length,
    measured: measured.length,
    passed: ms.filter((m) => m.passed).length,
    failures,
    notRemoved: ds.filter((d) => d.removedAfterMs === undefined && d.kind !== 'scale').length,
    disruptions: ds.length,
    replacements: repl.length,
    replacementsNeverVoter: repl.filter((x) => x === undefined).length,
    unverified: ms.filter((m) => m.lost === undefined).length,
    apiPerMinByRoute,
  };
  const set = <K extends keyof CellSummary>(k: K, v: CellSummary[K] | undefined) => {
    if (v !== undefined) cell[k] = v;
  };
  set('removedAfterMs', summarise(ds.map((d) => d.removedAfterMs)));
  set('failedWrites', summarise(ds.map((d) => d.failedWrites)));
  set('longestGapMs', summarise(ds.map((d) => d.longestGapMs)));
  set('belowTargetMs', summarise(ds.map((d) => d.belowTargetMs)));
  set('replacementToVoterMs', summarise(repl));
  set('lost', summarise(ms.map((m) => m.lost)));
  set('acknowledged', summarise(ms.map((m) => m.acknowledged)));
  set('apiPerMin', summarise(ms.map((m) => m.apiPerMin)));
  set('apiPerInstanceMin', summarise(ms.map((m) => m.apiPerInstanceMin)));
  set('steadyApiPerInstanceMin', summarise(ms.map((m) => m.steadyApiPerInstanceMin)));
  set('steadyImdsPerInstanceMin', summarise(ms.map((m) => m.steadyImdsPerInstanceMin)));
  set('bootConvergedMs', summarise(ms.map((m) => m.bootConvergedMs)));
  set('minHealthyVoters', summarise(ms.map(fewestHealthyVoters)));
  set('peakRssMb', summarise(ms.map((m) => m.peakRssMb)));
  set('cpuPercent', summarise(ms.map((m) => m.cpuPercent)));
  set('etcdPeakRssMb', summarise(ms.map((m) => m.etcdPeakRssMb)));
  set('wallMs', summarise(outcomes.map((o) => o.wallMs)));
  return cell;
}

// ------------------------------------------------------------------------------------ targets

export type TargetStatus = 'met' | 'not met' | 'not measured';

export interface TargetResult {
  id:
    | 'no-lost-writes'
    | 'no-failed-writes-with-notice'
    | 'removal-within-2x-poll'
    | 'replacement-voter-5s'
    | 'replacement-first-long-notice'
    | 'all-interrupted-two-voters'
    | 'boot-converged-6s'
    | 'steady-api-2-per-instance-minute';
  agent: string;
  status: TargetStatus;
  /** The numbers behind the status, one sentence. */
  detail: string;
  /** Runs that could not be measured, so the status rests on the others. */
  caveat?: string;
}

/**
 * The targets' numbers: the one table the benchmark's verdicts ({@link evaluateTargets}) and the
 * simulator's per-event ✓/✗ ({@link eventTargetChecks}) both read.
 */
export const TARGET_LIMITS = {
  /** An interruption with a notice of at least `noticeMinMs`: 0 failed writes and a gap below this. */
  gapMs: 50,
  noticeMinMs: 10_000,
  /** Notices up to the agent's default leaveMargin are left at once; longer ones wait for the replacement. */
  leaveAtOnceMaxNoticeMs: 15_000,
  /** Notice → member removed within this many termination poll intervals. */
  removalPolls: 2,
  /** Replacement launched → voter. */
  voterMs: 5000,
  /** A notice this long: the replacement takes over first. */
  longNoticeMs: 30_000,
  /** 5 instances booting at once: first launch → converged (issue 11, at the simulator's settings). */
  bootMs: 6000,
  /** A calm 5-instance group: Spot API calls per instance-minute (issue 11, at the defaults). */
  steadyApiPerInstanceMin: 2,
  /** Every instance interrupted at once with a 2 min notice: the fewest healthy voters allowed. */
  minHealthyVoters: 2,
} as const;

export const TARGET_TEXT: Record<TargetResult['id'], string> = {
  'no-lost-writes': 'Zero acknowledged writes lost, in every scenario',
  'no-failed-writes-with-notice': `Zero failed writes and longest write gap < ${TARGET_LIMITS.gapMs} ms for an interruption with a notice ≥ ${TARGET_LIMITS.noticeMinMs / 1000} s`,
  'removal-within-2x-poll': `Notice → member removed within ${TARGET_LIMITS.removalPolls} × the termination poll interval, at p99 (notices ≤ ${TARGET_LIMITS.leaveAtOnceMaxNoticeMs / 1000} s; a longer one waits for its replacement by design, row B4a)`,
  'replacement-voter-5s': `Replacement launched → voter within ${TARGET_LIMITS.voterMs / 1000} s`,
  'replacement-first-long-notice': `Interruption with a notice ≥ ${TARGET_LIMITS.longNoticeMs / 1000} s and a replacement launched at once: 0 ms below target voters, 0 failed writes, removed before the deadline`,
  'all-interrupted-two-voters': `Every instance of a 3-instance group interrupted at once with a 2 min notice: never fewer than ${TARGET_LIMITS.minHealthyVoters} healthy voters (in every run)`,
  'boot-converged-6s': `5 instances booting at once: first launch → converged ≤ ${TARGET_LIMITS.bootMs / 1000} s in every run (the issue's target is at the simulator's settings; the defaults column shows what users get)`,
  'steady-api-2-per-instance-minute': `Steady 5-instance group: Spot API calls ≤ ${TARGET_LIMITS.steadyApiPerInstanceMin} per instance-minute in every run (the issue's target is at the product's defaults; the simulator's 1 s polls are not)`,
};

const BOOT_LIMIT_MS = TARGET_LIMITS.bootMs;
const STEADY_API_LIMIT = TARGET_LIMITS.steadyApiPerInstanceMin;
const MIN_HEALTHY_VOTERS = TARGET_LIMITS.minHealthyVoters;

const GAP_LIMIT_MS = TARGET_LIMITS.gapMs;
const NOTICE_MIN_MS = TARGET_LIMITS.noticeMinMs;
const VOTER_LIMIT_MS = TARGET_LIMITS.voterMs;
const LEAVE_AT_ONCE_MAX_NOTICE_MS = TARGET_LIMITS.leaveAtOnceMaxNoticeMs;
const LONG_NOTICE_MS = TARGET_LIMITS.longNoticeMs;

/** Target 2 applies: an interruption with a notice of at least 10 s. */
function wantsNoFailedWrites(d: DisruptionMetrics): boolean {
  return d.kind === 'interrupt' && (d.noticeMs ?? 0) >= NOTICE_MIN_MS;
}
/** Target 2 missed: a failed write or a gap of 50 ms or more (undefined: no write figures). */
function missesNoFailedWrites(d: DisruptionMetrics): boolean | undefined {
  if (d.failedWrites === undefined || d.longestGapMs === undefined) return undefined;
  return d.failedWrites > 0 || d.longestGapMs >= GAP_LIMIT_MS;
}
/** Target 3 applies: an interruption whose notice is left at once (≤ 15 s, or not known). */
function wantsPromptRemoval(d: DisruptionMetrics): boolean {
  return d.kind === 'interrupt' && (d.noticeMs ?? 0) <= LEAVE_AT_ONCE_MAX_NOTICE_MS;
}
/** Target 3 met by one interruption: removed within 2 × the poll interval (never removed: missed). */
function removedPromptly(d: DisruptionMetrics, terminationPollMs: number): boolean {
  return (d.removedAfterMs ?? Number.POSITIVE_INFINITY) <= TARGET_LIMITS.removalPolls * terminationPollMs;
}
/** Target 4 met by one replacement (launched → voter within 5 s; never a voter: missed). */
function voterInTime(toVoterMs: number | undefined): boolean {
  return (toVoterMs ?? Number.POSITIVE_INFINITY) <= VOTER_LIMIT_MS;
}
/** Target 5 applies: an interruption with a notice of at least 30 s. */
function wantsReplacementFirst(d: DisruptionMetrics): boolean {
  return d.kind === 'interrupt' && (d.noticeMs ?? 0) >= LONG_NOTICE_MS;
}
/** Target 5 missed: time below target, a failed write, or not removed before the deadline. */
function missesReplacementFirst(d: DisruptionMetrics): boolean {
  return (
    d.belowTargetMs > 0 ||
    (d.failedWrites ?? 0) > 0 ||
    d.removedAfterMs === undefined ||
    d.removedAfterMs > (d.noticeMs as number)
  );
}

/** One target judged on one event: the simulator's ✓/✗. */
export interface EventTargetCheck {
  id: TargetResult['id'];
  /** The target in a few words, with its numbers from {@link TARGET_LIMITS}. */
  target: string;
  /** ✓ / ✗; undefined when the event carries no figure to judge it by. */
  met: boolean | undefined;
  /** What was measured, e.g. "0 failed, longest gap 46 ms". */
  measured: string;
}

function secsOrMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The targets that apply to one event and whether it met each, by the same predicates as
 * {@link evaluateTargets}. `terminationPollMs` undefined (an agent whose poll interval is unknown):
 * the removal target is not judged.
 */
export function eventTargetChecks(
  d: DisruptionMetrics,
  terminationPollMs: number | undefined,
): EventTargetCheck[] {
  const out: EventTargetCheck[] = [];
  if (wantsNoFailedWrites(d)) {
    const miss = missesNoFailedWrites(d);
    out.push({
      id: 'no-failed-writes-with-notice',
      target: `0 failed writes and longest gap < ${GAP_LIMIT_MS} ms (notice ≥ ${NOTICE_MIN_MS / 1000} s)`,
      met: miss === undefined ? undefined : !miss,
      measured:
        miss === undefined
          ? 'no write figures for this event'
          : `${d.failedWrites} failed, longest gap ${fmt(d.longestGapMs as number)}`,
    });
  }
  if (wantsPromptRemoval(d)) {
    const known = terminationPollMs !== undefined && Number.isFinite(terminationPollMs);
    out.push({
      id: 'removal-within-2x-poll',
      target: known
        ? `removed within ${TARGET_LIMITS.removalPolls} × poll = ${secsOrMs(TARGET_LIMITS.removalPolls * terminationPollMs)}`
        : `removed within ${TARGET_LIMITS.removalPolls} × the termination poll interval`,
      met: known ? removedPromptly(d, terminationPollMs) : undefined,
      measured: `${d.removedAfterMs === undefined ? 'never removed' : `removed after ${secsOrMs(d.removedAfterMs)}`}${known ? '' : " (the agent's poll interval is not known)"}`,
    });
  }
  if (d.replacementToVoterMs.length > 0) {
    const worst = Math.max(...d.replacementToVoterMs.map((v) => v ?? Number.POSITIVE_INFINITY));
    out.push({
      id: 'replacement-voter-5s',
      target: `replacement launched → voter ≤ ${secsOrMs(VOTER_LIMIT_MS)}`,
      met: d.replacementToVoterMs.every(voterInTime),
      measured: d.replacementToVoterMs
        .map((v) => (v === undefined ? 'never a voter' : secsOrMs(v)))
        .join(', ')
        .concat(
          d.replacementToVoterMs.length > 1 && Number.isFinite(worst) ? ` (worst ${secsOrMs(worst)})` : '',
        ),
    });
  }
  if (wantsReplacementFirst(d)) {
    out.push({
      id: 'replacement-first-long-notice',
      target: `notice ≥ ${LONG_NOTICE_MS / 1000} s: 0 ms below target voters, 0 failed writes, removed before the deadline`,
      met: !missesReplacementFirst(d),
      measured: `${fmt(d.belowTargetMs)} below target, ${d.failedWrites ?? '?'} failed, ${d.removedAfterMs === undefined ? 'never removed' : `removed after ${secsOrMs(d.removedAfterMs)} of ${secsOrMs(d.noticeMs as number)}`}`,
    });
  }
  return out;
}

function fmt(ms: number): string {
  return `${Math.round(ms)} ms`;
}

/** `kill9-reaped ×3, short-notice ×1`: where the misses were, most first. */
function where(scenarios: readonly string[]): string {
  const n = new Map<string, number>();
  for (const s of scenarios) n.set(s, (n.get(s) ?? 0) + 1);
  return [...n.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([s, k]) => `${s} ×${k}`)
    .join(', ');
}

function missed(scenarios: readonly string[]): string {
  return scenarios.length > 0 ? `; missed in ${where(scenarios)}` : '';
}

/**
 * The issue's four targets for one agent, over all of its runs. A run without a report is never
 * counted as meeting a target: when the others all meet it, the status says so with a caveat; when
 * no run measured it, the status is `not measured`.
 */
export function evaluateTargets(
  agent: string,
  outcomes: readonly RunOutcome[],
  terminationPollMs: number,
): TargetResult[] {
  const mine = outcomes.filter((o) => o.agent === agent);
  const measured = mine.filter((o) => o.metrics !== undefined);
  const unmeasured = mine.length - measured.length;
  const caveatRuns =
    unmeasured > 0 ? `${unmeasured} of ${mine.length} run(s) failed and are not counted` : undefined;
  const ms = measured.map((o) => o.metrics as RunMetrics);
  /** Every disruption with the scenario it ran in. */
  const tagged = measured.flatMap((o) =>
    (o.metrics as RunMetrics).disruptions.map((d) => ({ scenario: o.scenarioId, d })),
  );
  const results: TargetResult[] = [];
  const push = (r: TargetResult) => {
    if (r.caveat === undefined) delete r.caveat;
    results.push(r);
  };

  // 1. no acknowledged write lost
  {
    const verified = ms.filter((m) => m.lost !== undefined);
    const lost = verified.reduce((a, m) => a + (m.lost as number), 0);
    const losing = verified.filter((m) => (m.lost as number) > 0).length;
    const losingIn = measured.filter((o) => (o.metrics?.lost ?? 0) > 0).map((o) => o.scenarioId);
    const unverified = ms.length - verified.length;
    const caveat = [caveatRuns, unverified > 0 ? `${unverified} run(s) could not read their writes back` : '']
      .filter((x) => x)
      .join('; ');
    push({
      id: 'no-lost-writes',
      agent,
      status: verified.length === 0 ? 'not measured' : lost > 0 ? 'not met' : 'met',
      detail:
        verified.length === 0
          ? 'no run read its writes back'
          : `${lost} acknowledged write(s) lost in ${losing} of ${verified.length} verified run(s)${losingIn.length > 0 ? ` (${where(losingIn)})` : ''}`,
      caveat: caveat || undefined,
    });
  }

  // 2. interruptions with a notice ≥ 10 s: no failed write, longest gap < 50 ms
  {
    const long = tagged.filter(({ d }) => wantsNoFailedWrites(d));
    const knownT = long.filter(({ d }) => missesNoFailedWrites(d) !== undefined);
    const known = knownT.map((x) => x.d);
    const badT = knownT.filter(({ d }) => missesNoFailedWrites(d) === true);
    const bad = badT.map((x) => x.d);
    const worstGap = Math.max(0, ...known.map((d) => d.longestGapMs as number));
    const failed = known.reduce((a, d) => a + (d.failedWrites as number), 0);
    const caveat = [
      caveatRuns,
      long.length > known.length
        ? `${long.length - known.length} interruption(s) without per-event write figures`
        : '',
    ]
      .filter((x) => x)
      .join('; ');
    push({
      id: 'no-failed-writes-with-notice',
      agent,
      status: known.length === 0 ? 'not measured' : bad.length > 0 ? 'not met' : 'met',
      detail:
        known.length === 0
          ? 'no interruption with a notice ≥ 10 s was measured'
          : `${bad.length} of ${known.length} interruption(s) missed it; ${failed} failed write(s) in all, worst gap ${fmt(worstGap)}${missed(badT.map((x) => x.scenario))}`,
      caveat: caveat || undefined,
    });
  }

  // 3. notice → member removed ≤ 2 × poll interval at p99 (a member never removed counts as ∞)
  {
    const dsT = tagged.filter(({ d }) => wantsPromptRemoval(d));
    const ds = dsT.map((x) => x.d);
    const limit = TARGET_LIMITS.removalPolls * terminationPollMs;
    const late = dsT.filter(({ d }) => !removedPromptly(d, terminationPollMs));
    const values = ds.map((d) => d.removedAfterMs ?? Number.POSITIVE_INFINITY);
    const p99 = percentile(values, 99);
    const never = ds.filter((d) => d.removedAfterMs === undefined).length;
    push({
      id: 'removal-within-2x-poll',
      agent,
      status: p99 === undefined ? 'not measured' : p99 <= limit ? 'met' : 'not met',
      detail:
        p99 === undefined
          ? 'no interruption was measured'
          : `p99 ${Number.isFinite(p99) ? fmt(p99) : 'never removed'} over ${ds.length} interruption(s) vs a limit of ${fmt(limit)} (poll interval ${fmt(terminationPollMs)})${never > 0 ? `; ${never} member(s) never removed` : ''}${missed(late.map((x) => x.scenario))}`,
      caveat: caveatRuns,
    });
  }

  // 4. replacement launched → voter ≤ 5 s (every replacement; one that never became a voter counts as ∞)
  {
    const replT = tagged.flatMap(({ scenario, d }) => d.replacementToVoterMs.map((v) => ({ scenario, v })));
    const repl = replT.map((x) => x.v);
    const slow = replT.filter(({ v }) => !voterInTime(v));
    const values = repl.map((v) => v ?? Number.POSITIVE_INFINITY);
    const worst = values.length === 0 ? undefined : Math.max(...values);
    const never = repl.filter((v) => v === undefined).length;
    const within = values.filter((v) => v <= VOTER_LIMIT_MS).length;
    push({
      id: 'replacement-voter-5s',
      agent,
      status: worst === undefined ? 'not measured' : worst <= VOTER_LIMIT_MS ? 'met' : 'not met',
      detail:
        worst === undefined
          ? 'no replacement was launched in a measured run'
          : `${within} of ${values.length} replacement(s) within 5 s; worst ${Number.isFinite(worst) ? fmt(worst) : 'never a voter'}${never > 0 ? `; ${never} never became a voter` : ''}${missed(slow.map((x) => x.scenario))}`,
      caveat: caveatRuns,
    });
  }
  // 5. notice ≥ 30 s: the replacement takes over first (0 ms below target, 0 failed, removed in time)
  {
    const longT = tagged.filter(({ d }) => wantsReplacementFirst(d));
    const badT = longT.filter(({ d }) => missesReplacementFirst(d));
    const worstBelow = Math.max(0, ...longT.map(({ d }) => d.belowTargetMs));
    const failed = longT.reduce((a, { d }) => a + (d.failedWrites ?? 0), 0);
    const removed = longT.flatMap(({ d }) => (d.removedAfterMs === undefined ? [] : [d.removedAfterMs]));
    push({
      id: 'replacement-first-long-notice',
      agent,
      status: longT.length === 0 ? 'not measured' : badT.length > 0 ? 'not met' : 'met',
      detail:
        longT.length === 0
          ? 'no interruption with a notice ≥ 30 s was measured'
          : `${badT.length} of ${longT.length} interruption(s) missed it; worst time below target ${fmt(worstBelow)}, ${failed} failed write(s), removed ${removed.length > 0 ? `${fmt(Math.min(...removed))}–${fmt(Math.max(...removed))} after the notice` : 'never'}${missed(badT.map((x) => x.scenario))}`,
      caveat: caveatRuns,
    });
  }
  // 6–8. the rows with a target of their own: judged over that row's runs only, worst run first.
  const rowRuns = (row: BenchRowKind) => measured.filter((o) => o.metrics?.row === row);
  const rowTarget = (
    id: TargetResult['id'],
    row: BenchRowKind,
    value: (m: RunMetrics) => number | undefined,
    ok: (v: number) => boolean,
    show: (v: number) => string,
    label: string,
  ) => {
    const rs = rowRuns(row);
    const vs = rs.map((o) => value(o.metrics as RunMetrics));
    const known = vs.filter((v): v is number => v !== undefined);
    const bad = known.filter((v) => !ok(v));
    const unknownRuns = vs.length - known.length;
    const s = summarise(known);
    const caveat = [caveatRuns, unknownRuns > 0 ? `${unknownRuns} run(s) without the figure` : '']
      .filter((x) => x)
      .join('; ');
    push({
      id,
      agent,
      status: known.length === 0 ? 'not measured' : bad.length > 0 ? 'not met' : 'met',
      detail:
        s === undefined
          ? `no run of this row was measured`
          : `${label}: median ${show(s.median)}${s.min === s.max ? '' : ` (${show(s.min)}–${show(s.max)})`} over ${known.length} run(s); ${bad.length} missed it`,
      caveat: caveat || undefined,
    });
  };
  rowTarget(
    'all-interrupted-two-voters',
    'interrupt-all',
    fewestHealthyVoters,
    (v) => v >= MIN_HEALTHY_VOTERS,
    (v) => String(v),
    'fewest healthy voters',
  );
  rowTarget(
    'boot-converged-6s',
    'boot',
    (m) => m.bootConvergedMs,
    (v) => v <= BOOT_LIMIT_MS,
    fmt,
    'first launch → converged',
  );
  rowTarget(
    'steady-api-2-per-instance-minute',
    'steady',
    (m) => m.steadyApiPerInstanceMin,
    (v) => v <= STEADY_API_LIMIT,
    (v) => String(v),
    'Spot calls per instance-minute in the calm stretch',
  );
  return results;
}

// ------------------------------------------------------------------------------------ quorum-loss rows

export interface RecoveryCellSummary {
  scenarioId: string;
  agent: string;
  kind: RecoveryKind;
  runs: number;
  measured: number;
  passed: number;
  /** One line per run that produced no report, or that did not pass. */
  failures: string[];
  /** Distinct recovery actions with how many runs took them, e.g. `force-new-cluster ×3`. */
  actions: string[];
  /** Start point → writable again, over the runs that were writable again. */
  toWritableMs?: Summary;
  /** Runs never writable again within the run. */
  neverWritable: number;
  /** Runs whose start point (termination / first replacement) the report did not give. */
  noStart: number;
  noLeaderToWritableMs?: Summary;
  lost?: Summary;
  lostNoCopy?: Summary;
  lostHeld?: Summary;
  /** Runs whose acknowledged writes could not be read back. */
  unverified: number;
  keptRevision?: Summary;
  acknowledged?: Summary;
  wallMs?: Summary;
}

/** Aggregates the repeats of one quorum-loss scenario × agent. */
export function aggregateRecoveryCell(
  outcomes: readonly RunOutcome[],
  kind: RecoveryKind,
): RecoveryCellSummary {
  const base = aggregateCell(outcomes);
  const rs = outcomes.map((o) => o.metrics?.recovery).filter((r): r is RecoveryMetrics => r !== undefined);
  const actions = new Map<string, number>();
  for (const r of rs) {
    const key = r.actions.length === 0 ? 'none' : r.actions.join(' + ');
    actions.set(key, (actions.get(key) ?? 0) + 1);
  }
  const cell: RecoveryCellSummary = {
    scenarioId: base.scenarioId,
    agent: base.agent,
    kind,
    runs: base.runs,
    measured: base.measured,
    passed: base.passed,
    failures: base.failures,
    actions: [...actions.entries()].map(([a, n]) => `${a} ×${n}`),
    neverWritable: rs.filter((r) => r.writableAgainAtMs === undefined).length,
    noStart: rs.filter((r) => r.fromAtMs === undefined).length,
    unverified: rs.filter((r) => r.lost === undefined).length,
  };
  const set = <K extends keyof RecoveryCellSummary>(k: K, v: RecoveryCellSummary[K] | undefined) => {
    if (v !== undefined) cell[k] = v;
  };
  set('toWritableMs', summarise(rs.map((r) => r.toWritableMs)));
  set('noLeaderToWritableMs', summarise(rs.map((r) => r.noLeaderToWritableMs)));
  set('lost', summarise(rs.map((r) => r.lost)));
  set('lostNoCopy', summarise(rs.filter((r) => r.lost !== undefined).map((r) => r.lostNoCopy)));
  set('lostHeld', summarise(rs.map((r) => r.lostHeld)));
  set('keptRevision', summarise(rs.map((r) => r.keptRevision)));
  set('acknowledged', base.acknowledged);
  set('wallMs', base.wallMs);
  return cell;
}

export interface RecoveryTargetResult {
  id: 'majority-lost-writable-15s' | 'majority-lost-writes' | 'all-lost-writable-30s' | 'all-lost-writes';
  agent: string;
  status: TargetStatus;
  detail: string;
  caveat?: string;
}

export const RECOVERY_TARGET_TEXT: Record<RecoveryTargetResult['id'], string> = {
  'majority-lost-writable-15s':
    'Majority lost, one survivor: writable again ≤ 15 s after the cloud confirms the instances terminated',
  'majority-lost-writes':
    'Majority lost: the acknowledged writes lost are only those the survivor never received (lost but held by a surviving copy = 0)',
  'all-lost-writable-30s': 'All instances lost: writable again ≤ 30 s after the first replacement boots',
  'all-lost-writes':
    "All instances lost: writes lost ≤ those acknowledged after the newest snapshot (lost at or below the snapshot's revision = 0)",
};

const RECOVERY_LIMIT_MS: Record<RecoveryKind, number> = { 'majority-lost': 15_000, 'all-lost': 30_000 };

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The issue's quorum-loss targets for one agent, over its runs of each kind. A run never writable again
 * counts as infinitely late; a run whose writes could not be read back is not counted for the lost
 * writes (and a run without a report for neither), which the caveat says.
 */
export function evaluateRecoveryTargets(
  agent: string,
  outcomes: readonly RunOutcome[],
  kindOf: (scenarioId: string) => RecoveryKind | undefined,
): RecoveryTargetResult[] {
  const out: RecoveryTargetResult[] = [];
  for (const kind of ['majority-lost', 'all-lost'] as const) {
    const mine = outcomes.filter((o) => o.agent === agent && kindOf(o.scenarioId) === kind);
    const failed = mine.filter((o) => o.metrics?.recovery === undefined).length;
    const rs = mine.map((o) => o.metrics?.recovery).filter((r): r is RecoveryMetrics => r !== undefined);
    const limit = RECOVERY_LIMIT_MS[kind];
    const failedNote = failed > 0 ? `${failed} run(s) failed without a report and are not counted` : '';
    const push = (r: RecoveryTargetResult, extra: string[]) => {
      const caveat = [failedNote, ...extra].filter((x) => x).join('; ');
      out.push(caveat ? { ...r, caveat } : r);
    };
    const ids =
      kind === 'majority-lost'
        ? (['majority-lost-writable-15s', 'majority-lost-writes'] as const)
        : (['all-lost-writable-30s', 'all-lost-writes'] as const);

    // writable again within the limit, in every run
    {
      const timed = rs.filter((r) => r.fromAtMs !== undefined);
      const values = timed.map((r) => r.toWritableMs ?? Number.POSITIVE_INFINITY);
      const never = timed.filter((r) => r.toWritableMs === undefined).length;
      const s = summarise(values.filter(Number.isFinite));
      const worst = values.length === 0 ? undefined : Math.max(...values);
      const from =
        kind === 'majority-lost' ? 'after the instances terminated' : 'after the first replacement launched';
      push(
        {
          id: ids[0],
          agent,
          status: worst === undefined ? 'not measured' : worst <= limit ? 'met' : 'not met',
          detail:
            worst === undefined
              ? 'no run was measured'
              : `${s ? `median ${secs(s.median)}${s.n > 1 && s.min !== s.max ? ` (${secs(s.min)}–${secs(s.max)})` : ''} ${from}` : 'never writable again'} over ${values.length} run(s) vs a limit of ${secs(limit)}${never > 0 && s ? `; ${never} never writable again` : ''}`,
        },
        [rs.length > timed.length ? `${rs.length - timed.length} run(s) without a start point` : ''],
      );
    }

    // lost writes: none that a surviving copy held
    {
      const verified = rs.filter((r) => r.lost !== undefined);
      const lost = verified.reduce((n, r) => n + (r.lost as number), 0);
      const held = verified.reduce((n, r) => n + (r.lostHeld as number), 0);
      const noCopy = verified.reduce((n, r) => n + r.lostNoCopy, 0);
      const above =
        kind === 'majority-lost' ? "above the survivor's revision" : "above the snapshot's revision";
      push(
        {
          id: ids[1],
          agent,
          status: verified.length === 0 ? 'not measured' : held > 0 ? 'not met' : 'met',
          detail:
            rs.length === 0
              ? 'no run was measured'
              : verified.length === 0
                ? `no run could read its writes back (${rs.length} run(s): the cluster was not readable at the end)`
                : `${lost} acknowledged write(s) lost over ${verified.length} run(s): ${noCopy} ${above} (on no surviving copy), ${held} held by a surviving copy or unexplained`,
        },
        [
          verified.length > 0 && verified.length < rs.length
            ? `${rs.length - verified.length} run(s) could not read their writes back`
            : '',
        ],
      );
    }
  }
  return out;
}

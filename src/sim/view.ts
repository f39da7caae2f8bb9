/**
 * The simulator's terminal output, as pure functions of the run's state: the live screen (redrawn
 * ~2×/s on a TTY), the plain progress line (when stdout is not a TTY) and the verdict.
 */
import { formatDuration } from '../config/duration.ts';
import type { AgentDecision } from './agent-log.ts';
import { decisionEntryLine, decisionLog } from './decision-log.ts';
import type { EventTimings } from './measure.ts';
import type { LinearizabilityReport } from './linearizability.ts';
import type { ResourceReport } from './resources.ts';
import { fmtMs, numberEvents, summariseTimings, targetCheckText } from './measure.ts';
import type { FleetSnapshot, MemberRow } from './snapshot.ts';
import type { WorkloadStats } from './workload.ts';

export interface ViewState {
  scenario: string;
  seed: number;
  runDir: string;
  startedAt: number;
  now: number;
  /** When the run will be stopped at the latest. */
  capAt: number | undefined;
  stepIndex: number;
  stepCount: number;
  /** What is happening now, e.g. "interrupt the leader (notice 15s)". */
  doing: string;
  snapshot: FleetSnapshot | undefined;
  writes: WorkloadStats;
  leaderChanges: number;
  belowTargetMs: number;
  /** The voter count the agents aim for now (the largest odd number ≤ running instances, ≤ maxVoters). */
  targetVoters?: number;
  decisions: readonly AgentDecision[];
}

function secs(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000) * 1000));
}

function pad(s: string, n: number): string {
  return s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length);
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => pad(c, (widths[i] ?? 0) + 2))
      .join('')
      .trimEnd(),
  );
}

/** `terminating (12 s left)` while a notice runs (`terminateAt` known), else the emulator's state. */
export function instanceStateText(state: string, terminateAt: number | undefined, now: number): string {
  if (state !== 'terminating' || terminateAt === undefined) return state;
  const left = terminateAt - now;
  return left > 0 ? `terminating (${Math.ceil(left / 1000)} s left)` : 'terminating (deadline passed)';
}

/**
 * Instances joined with their members, then members that no running instance owns. `now` (ms since
 * epoch, default the snapshot's time) counts down a terminating instance's notice.
 */
export function fleetTable(s: FleetSnapshot | undefined, now?: number): string[] {
  if (!s) return ['(no snapshot yet)'];
  const rows: string[][] = [['INSTANCE', 'IP', 'STATE', 'AGENT', 'MEMBER', 'ROLE', 'RAFT INDEX', 'HEALTH']];
  const byInstance = new Map<string, MemberRow>();
  for (const m of s.members) if (m.instanceId) byInstance.set(m.instanceId, m);
  for (const i of s.instances) {
    const m = byInstance.get(i.id);
    const role = m ? m.role : i.etcd ? (i.etcd.isLearner ? 'learner' : 'not in list') : '-';
    const health = i.etcd
      ? i.etcd.errors.length > 0
        ? i.etcd.errors.join(',')
        : i.etcd.leaderId
          ? 'ok'
          : 'no leader'
      : m
        ? 'down'
        : '-';
    const agent = i.agent === 'exited' ? `exited ${i.agentExit ?? ''}`.trim() : i.agent;
    rows.push([
      i.id,
      i.privateIp,
      instanceStateText(i.state, i.terminateAt, now ?? s.at),
      agent,
      m?.id ?? i.etcd?.memberId ?? '-',
      role,
      String(i.etcd?.raftIndex ?? m?.raftIndex ?? '-'),
      health,
    ]);
  }
  const owned = new Set(s.instances.map((i) => i.id));
  for (const m of s.members) {
    if (m.instanceId && owned.has(m.instanceId)) continue;
    rows.push([
      '(gone)',
      hostOf(m.peerUrl),
      '-',
      '-',
      m.id,
      m.role,
      String(m.raftIndex ?? '-'),
      m.name === '' ? 'unstarted' : 'no instance',
    ]);
  }
  const out = table(rows);
  if (s.memberListError) out.push(`member list: ${s.memberListError}`);
  return out;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

export function writesLine(w: WorkloadStats): string {
  const now = !w.running
    ? 'stopped'
    : w.currentGapMs > 500
      ? `NO SUCCESS FOR ${fmtMs(w.currentGapMs)}`
      : 'ok';
  return `writes: ${w.acknowledged} acknowledged · ${w.failed} failed · longest gap ${fmtMs(w.longestGapMs)} · now ${now}`;
}

/** One decision on one line, with its whole reason (the decision is the reason's useful part). */
export function decisionLine(d: AgentDecision, t0: number): string {
  const outcome =
    d.outcome === undefined
      ? ''
      : d.outcome.progressed
        ? ' ok'
        : ` failed${d.outcome.code ? ` ${d.outcome.code}` : ''}`;
  return `+${((d.at - t0) / 1000).toFixed(1)}s ${d.instanceId} ${d.action}${outcome}: ${d.reason}`;
}

/** The whole live screen. */
export function renderView(v: ViewState): string {
  const lines: string[] = [];
  lines.push(`etcd-spot sim · scenario ${v.scenario} · seed ${v.seed}`);
  lines.push(`run dir ${v.runDir}`);
  const left = v.capAt === undefined ? '' : ` · at most ${secs(v.capAt - v.now)} left`;
  lines.push(`elapsed ${secs(v.now - v.startedAt)}${left}`);
  lines.push(`now: [${Math.min(v.stepIndex + 1, v.stepCount)}/${v.stepCount}] ${v.doing}`);
  lines.push('');
  lines.push(...fleetTable(v.snapshot, v.now));
  lines.push('');
  lines.push(writesLine(v.writes));
  const target = v.targetVoters === undefined ? '' : ` (${v.targetVoters})`;
  lines.push(`leader changes: ${v.leaderChanges} · below target voters${target}: ${fmtMs(v.belowTargetMs)}`);
  lines.push('');
  lines.push('last agent decisions, oldest first (wait lines hidden):');
  const shown = decisionLog(v.decisions).slice(-8);
  if (shown.length === 0) lines.push('  (none yet)');
  for (const e of shown) lines.push(`  ${decisionEntryLine(e, v.startedAt)}`);
  return lines.join('\n');
}

/** One plain line for non-TTY output. */
export function progressLine(v: ViewState): string {
  const members = v.snapshot?.members ?? [];
  const roles = members.map((m) => `${m.instanceId ?? m.id}:${m.role}`).join(' ');
  return `[+${secs(v.now - v.startedAt)}] ${v.doing} | members ${roles || '-'} | ${writesLine(v.writes)}`;
}

export interface Verdict {
  pass: boolean;
  converged: boolean;
  problems: string[];
  acknowledged: number;
  lost: number;
  mismatched: number;
  nonMonotonic: number;
  failed: number;
  longestGapMs: number;
  readBackError?: string;
  /** The linearizability check (absent in verdicts built before it existed). */
  linearizability?: LinearizabilityReport;
  events: EventTimings[];
  aborted?: string;
  /** Cloud API calls per minute (see SimReport.api). */
  api?: {
    spotCallsPerMinute: number;
    spotCallsPerInstanceMinute?: number;
    awsCallsPerMinute?: number;
    callsPerMinute: Record<string, number>;
  };
  resources?: ResourceReport;
}

/** The verdict's linearizability line, then each violating key with its window of operations. */
export function linearizabilityLines(l: LinearizabilityReport): string[] {
  const what = `${l.operations} operations on ${l.keys} keys (${l.registerOperations} get/put/cas on shared keys) checked in ${fmtMs(l.checkMs)}`;
  const head =
    l.verdict === 'ok'
      ? `linearizable: yes, ${what}`
      : l.verdict === 'unknown'
        ? `linearizable: unknown (step budget exceeded on ${l.unknownKeys.length} key(s): ${l.unknownKeys.slice(0, 5).join(', ')}), ${what}`
        : `linearizable: NO, ${what}`;
  const out = [head];
  for (const v of l.violations) {
    out.push(
      `  key ${v.key}: no linearization places ${v.culprit ?? 'an operation'}; a window that alone fails:`,
    );
    for (const o of v.window.slice(0, 20)) out.push(`    ${o}`);
    if (v.window.length > 20) out.push(`    … ${v.window.length - 20} more`);
  }
  return out;
}

/** `cloud API calls/min: …` for the verdict. */
export function apiLine(api: NonNullable<Verdict['api']>): string {
  const routes = Object.entries(api.callsPerMinute)
    .filter(([r, n]) => r !== 'imds' && n > 0)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  const imds = api.callsPerMinute.imds ?? 0;
  const aws = api.awsCallsPerMinute !== undefined ? `; AWS ${api.awsCallsPerMinute}` : '';
  const perInstance =
    api.spotCallsPerInstanceMinute === undefined
      ? ''
      : `, ${api.spotCallsPerInstanceMinute} per instance-minute`;
  return `cloud API calls/min: Spot ${api.spotCallsPerMinute}${routes ? ` (${routes})` : ''}${perInstance}${aws}; metadata service ${imds}`;
}

/** `agents: peak RSS …, CPU …; etcd: …` for the verdict. */
export function resourcesLine(r: ResourceReport): string {
  const u = (x: ResourceReport['agent']) => `peak RSS ${x.peakRssMb} MB, CPU ${x.meanCpuPercent}% of a core`;
  return `resources per instance (mean over the run, peak of any one): agent ${u(r.agent)}; etcd ${u(r.etcd)}`;
}

/** What PASS means, under every verdict: the checks that decide it, and what does not. */
export const PASS_MEANING =
  'PASS = every step ran, the fleet converged, one cluster id, 0 acknowledged writes lost or changed, and the history is linearizable. ' +
  'A failed write is a put whose outcome is unknown (an error or no answer in time): it was never acknowledged, so it cannot be lost, and it does not fail the run. ' +
  'The ✓/✗ per event are the benchmark’s targets: goals, not the verdict.';

export function renderVerdict(
  v: Verdict,
  meta: { scenario: string; seed: number; runDir: string; durationMs: number },
): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `=== verdict: ${v.pass ? 'PASS' : 'FAIL'} (scenario ${meta.scenario}, seed ${meta.seed}, ${secs(meta.durationMs)})`,
  );
  lines.push(PASS_MEANING);
  if (v.aborted) lines.push(`stopped early: ${v.aborted}`);
  lines.push(`converged at the end: ${v.converged ? 'yes' : `no (${v.problems.join('; ')})`}`);
  if (v.converged) for (const p of v.problems) lines.push(`problem: ${p}`);
  lines.push(
    `writes: ${v.acknowledged} acknowledged, ${v.lost} lost, ${v.failed} failed${v.failed > 0 ? ' (outcome unknown, not lost)' : ''}, longest gap ${fmtMs(v.longestGapMs)}` +
      (v.mismatched > 0 ? `, ${v.mismatched} read back with another value` : '') +
      (v.nonMonotonic > 0 ? `, ${v.nonMonotonic} out of order` : ''),
  );
  if (v.readBackError) lines.push(`read-back failed: ${v.readBackError}`);
  if (v.linearizability) lines.push(...linearizabilityLines(v.linearizability));
  if (v.api) lines.push(apiLine(v.api));
  if (v.resources && v.resources.samples > 0) lines.push(resourcesLine(v.resources));
  const events = numberEvents(v.events.map((e) => ({ ...e })));
  if (events.length > 0)
    lines.push(
      events.some((e) => (e.targets?.length ?? 0) > 0)
        ? 'events (✓ met, ✗ missed: the targets that apply to each):'
        : 'events:',
    );
  for (const e of events) {
    lines.push(
      `  ${e.n}. ${e.description}${e.instanceId ? ` → ${e.instanceId}` : ''}${e.wasLeader ? ' (leader)' : ''} [step ${e.step + 1}]`,
    );
    lines.push(`     ${summariseTimings(e)}`);
    for (const c of e.targets ?? []) lines.push(`     ${targetCheckText(c)}`);
  }
  lines.push(`logs: ${meta.runDir}${v.pass ? '' : ' (etcd data dirs kept for inspection)'}`);
  return lines.join('\n');
}

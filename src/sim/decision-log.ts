/**
 * The agents' decision log as a person reads it, for the live view and the HTML report (pure): every
 * agent's decisions in one list sorted by time, repeats of one agent folded into a count, and each
 * outcome named. A membership change that etcd refuses within its reconfiguration pause (strict
 * reconfig: no add, promote or remove until every voter has been connected for 5 s, so for ~5 s after
 * a member starts or joins) is expected and retried by the agent: it is shown as `retrying`, not as a
 * failure.
 */
import type { AgentDecision } from './agent-log.ts';

/**
 * How long after a membership change or an etcd start a refusal with `unhealthy cluster` is etcd's
 * pause rather than a problem: the 5 s of strict reconfig's HealthInterval, plus the time the new
 * member's peer connections take (etcd-physics.md: "member add after bootstrap or any member restart:
 * retry up to ~7 s on `unhealthy cluster`").
 */
export const RECONFIG_PAUSE_MS = 7000;

/** Actions that change the member list (etcd refuses them during the pause). */
const MEMBERSHIP_ACTIONS = new Set(['add-self-as-learner', 'promote-member', 'remove-member']);
/** Actions after which etcd pauses membership changes: a change, or a member's etcd (re)started. */
const PAUSE_STARTERS = new Set([
  ...MEMBERSHIP_ACTIONS,
  'start-etcd',
  'bootstrap',
  'force-new-cluster',
  'restore-snapshot',
]);
/** The codes of etcd's pause: `unhealthy cluster`, and a learner not yet in sync for a promote. */
const PAUSE_CODES = new Set(['ETCD_UNHEALTHY_CLUSTER', 'ETCD_LEARNER_NOT_READY']);

/**
 * `ok`: the action progressed; `unchanged`: it had nothing to do (no error code, e.g. "etcd is not
 * running" for a stop, or a start back-off); `failed`: an error; `retrying`: etcd's pause (above);
 * `pending`: no outcome logged yet.
 */
export type DecisionStatus = 'ok' | 'unchanged' | 'failed' | 'retrying' | 'pending';

export interface DecisionEntry {
  /** The latest of the folded decisions. */
  decision: AgentDecision;
  /** How many identical decisions in a row this agent made (same action, reason and outcome). */
  count: number;
  firstAt: number;
  lastAt: number;
  status: DecisionStatus;
  /** For `retrying`: the change that started etcd's pause, e.g. "promote-member by i-… 1.2 s before". */
  pauseAfter?: string;
}

/** The successful change (or etcd start) that a refusal at `at` falls within the pause of, if any. */
function pauseStarter(
  starts: readonly AgentDecision[],
  at: number,
): { decision: AgentDecision; doneAt: number } | undefined {
  let best: { decision: AgentDecision; doneAt: number } | undefined;
  for (const d of starts) {
    const doneAt = d.outcome?.at ?? d.at;
    if (doneAt <= at && at - doneAt <= RECONFIG_PAUSE_MS && (!best || doneAt > best.doneAt))
      best = { decision: d, doneAt };
  }
  return best;
}

/**
 * Every decision but `wait`, sorted by time, with runs of the same decision by the same agent folded
 * into one entry (at its latest time), and each outcome classified.
 */
export function decisionLog(decisions: readonly AgentDecision[]): DecisionEntry[] {
  const sorted = decisions
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => d.action !== 'wait')
    .sort((a, b) => a.d.at - b.d.at || a.i - b.i)
    .map(({ d }) => d);
  const starts = sorted.filter((d) => PAUSE_STARTERS.has(d.action) && d.outcome?.progressed === true);
  const entries: DecisionEntry[] = [];
  const lastOf = new Map<string, DecisionEntry>();
  for (const d of sorted) {
    let status: DecisionStatus;
    let pauseAfter: string | undefined;
    if (d.outcome === undefined) status = 'pending';
    else if (d.outcome.progressed) status = 'ok';
    else if (d.outcome.code === undefined) status = 'unchanged';
    else {
      const starter =
        MEMBERSHIP_ACTIONS.has(d.action) && PAUSE_CODES.has(d.outcome.code ?? '')
          ? pauseStarter(starts, d.outcome.at)
          : undefined;
      if (starter === undefined) status = 'failed';
      else {
        status = 'retrying';
        pauseAfter = `${starter.decision.action} by ${starter.decision.instanceId} ${((d.outcome.at - starter.doneAt) / 1000).toFixed(1)} s before`;
      }
    }
    const key = `${d.action}\0${d.reason}\0${status}\0${d.outcome?.code ?? ''}`;
    const prev = lastOf.get(d.instanceId);
    const prevKey =
      prev === undefined
        ? undefined
        : `${prev.decision.action}\0${prev.decision.reason}\0${prev.status}\0${prev.decision.outcome?.code ?? ''}`;
    if (prev !== undefined && prevKey === key) {
      prev.count++;
      prev.decision = d;
      prev.lastAt = d.at;
      if (pauseAfter !== undefined) prev.pauseAfter = pauseAfter;
      continue;
    }
    const entry: DecisionEntry = {
      decision: d,
      count: 1,
      firstAt: d.at,
      lastAt: d.at,
      status,
      ...(pauseAfter !== undefined ? { pauseAfter } : {}),
    };
    entries.push(entry);
    lastOf.set(d.instanceId, entry);
  }
  return entries.sort((a, b) => a.lastAt - b.lastAt);
}

/** `ok`, `failed ETCD_…`, `retrying (etcd's pause after …; ETCD_…)` or '' while it runs. */
export function outcomeText(e: DecisionEntry): string {
  const code = e.decision.outcome?.code;
  switch (e.status) {
    case 'ok':
      return 'ok';
    case 'pending':
      return '';
    case 'unchanged':
      return `no change${e.decision.outcome?.detail ? ` (${e.decision.outcome.detail})` : ''}`;
    case 'failed':
      return `failed${code ? ` ${code}` : ''}`;
    case 'retrying':
      return `retrying: etcd refuses membership changes for ~5 s after one (${e.pauseAfter ?? 'a change'}; ${code ?? 'refused'})`;
  }
}

/** One line: `+18.0s i-… remove-member retrying: … (×2 since +17.0s): <the whole reason>`. */
export function decisionEntryLine(e: DecisionEntry, t0: number): string {
  const rel = (t: number) => `+${((t - t0) / 1000).toFixed(1)}s`;
  const outcome = outcomeText(e);
  const times = e.count > 1 ? ` (×${e.count} since ${rel(e.firstAt)})` : '';
  return `${rel(e.lastAt)} ${e.decision.instanceId} ${e.decision.action}${outcome ? ` ${outcome}` : ''}${times}: ${e.decision.reason}`;
}

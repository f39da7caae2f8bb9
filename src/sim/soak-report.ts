/**
 * The soak's report: what each chaos draw was, how long the fleet took to converge after it, per-kind
 * counts and p50/p99, and the soak verdict (every check named, each passed or not), plus the
 * BENCHMARKS.md section made from it. Pure: the runner records, bench/soak-section.ts writes the file.
 */
import { percentile } from './bench-stats.ts';

/** One chaos draw: the step or episode run, then the wait for convergence. */
export interface ChaosEventRecord {
  /** 1-based, in the order drawn. */
  n: number;
  /** The kind it counts under (see chaosKind). */
  kind: string;
  description: string;
  /** Ms since the run started. */
  startedAtMs: number;
  /** The step or the episode's steps (an episode's own sleeps included). */
  episodeMs: number;
  /** From the end of the episode to convergence (the number the soak is about). */
  convergeMs: number;
  /** The episode ran and the fleet converged after it. */
  ok: boolean;
  error?: string;
}

export interface ChaosKindSummary {
  kind: string;
  count: number;
  failed: number;
  convergeP50Ms?: number;
  convergeP99Ms?: number;
  convergeMaxMs?: number;
  episodeP50Ms?: number;
}

export interface ChaosSummary {
  events: number;
  /** The number of draws the scenario asked for (undefined: bounded by time only). */
  planned?: number;
  failed: number;
  byKind: ChaosKindSummary[];
  convergeP50Ms?: number;
  convergeP99Ms?: number;
  convergeMaxMs?: number;
}

/** Per-kind counts and convergence percentiles (over the draws that converged), kinds by name. */
export function summarizeChaos(events: readonly ChaosEventRecord[], planned?: number): ChaosSummary {
  const kinds = [...new Set(events.map((e) => e.kind))].sort();
  const conv = (es: readonly ChaosEventRecord[]) => es.filter((e) => e.ok).map((e) => e.convergeMs);
  const byKind = kinds.map((kind): ChaosKindSummary => {
    const es = events.filter((e) => e.kind === kind);
    const c = conv(es);
    return {
      kind,
      count: es.length,
      failed: es.filter((e) => !e.ok).length,
      ...opt('convergeP50Ms', percentile(c, 50)),
      ...opt('convergeP99Ms', percentile(c, 99)),
      ...opt('convergeMaxMs', c.length > 0 ? Math.max(...c) : undefined),
      ...opt(
        'episodeP50Ms',
        percentile(
          es.map((e) => e.episodeMs),
          50,
        ),
      ),
    };
  });
  const all = conv(events);
  return {
    events: events.length,
    ...(planned !== undefined ? { planned } : {}),
    failed: events.filter((e) => !e.ok).length,
    byKind,
    ...opt('convergeP50Ms', percentile(all, 50)),
    ...opt('convergeP99Ms', percentile(all, 99)),
    ...opt('convergeMaxMs', all.length > 0 ? Math.max(...all) : undefined),
  };
}

function opt<K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, number>);
}

/** What the soak verdict is made of (a subset of the sim report). */
export interface SoakReportInput {
  scenario: string;
  seed: number;
  startedAt: string;
  durationMs: number;
  instances: number;
  pass: boolean;
  aborted?: string;
  converged: boolean;
  problems: string[];
  clusterIds: string[];
  writes: { acknowledged: number; lost: string[]; failed: number; readBackError?: string };
  linearizability?: { verdict: string; operations?: number; keys?: number };
  chaos?: ChaosSummary;
  /** Written by hand into the saved report (findings, what changed since): printed under the tables. */
  notes?: string[];
}

export interface SoakCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** The soak's checks, each with what was measured. */
export function soakChecks(r: SoakReportInput): SoakCheck[] {
  const c = r.chaos;
  const guard = r.problems.filter((p) => p.includes('removed or wiped while its instance ran'));
  const lin = r.linearizability;
  return [
    {
      name: 'acknowledged writes lost',
      ok: r.writes.lost.length === 0 && r.writes.readBackError === undefined,
      detail:
        r.writes.readBackError !== undefined
          ? `read-back failed: ${r.writes.readBackError}`
          : `${r.writes.lost.length} of ${r.writes.acknowledged.toLocaleString('en-US')}`,
    },
    {
      name: 'history linearizable',
      ok: lin?.verdict === 'ok',
      detail:
        lin === undefined
          ? 'not checked'
          : `${lin.verdict}${lin.operations !== undefined ? ` (${lin.operations.toLocaleString('en-US')} operations)` : ''}`,
    },
    {
      name: 'cluster ids seen ≤ 1',
      ok: r.clusterIds.length <= 1,
      detail: `${r.clusterIds.length}`,
    },
    {
      name: 'no member removed whose instance ran and was reachable',
      ok: guard.length === 0,
      detail: guard.length === 0 ? 'none' : guard.join('; '),
    },
    {
      name: 'converged after every event',
      ok: c !== undefined && c.failed === 0 && r.converged && r.aborted === undefined,
      detail:
        c === undefined
          ? 'no chaos step ran'
          : `${c.events - c.failed} of ${c.events}${r.converged ? '' : '; not converged at the end'}${r.aborted !== undefined ? `; stopped: ${r.aborted}` : ''}`,
    },
  ];
}

function fmtS(ms: number | undefined): string {
  return ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`;
}

/** The `soak` section of BENCHMARKS.md (the body; the caller marks it). */
export function soakMarkdown(r: SoakReportInput, command: string): string {
  const c = r.chaos;
  const checks = soakChecks(r);
  const lines = [
    '## Soak (seeded random churn, converging after every event)',
    '',
    `\`${command}\` — scenario \`${r.scenario}\`, seed ${r.seed}, ${r.instances} instances, started ${r.startedAt}, ran ${(r.durationMs / 60_000).toFixed(1)} min.`,
    c === undefined
      ? 'No chaos step ran.'
      : `${c.events} events${c.planned !== undefined ? ` of the ${c.planned} the scenario draws` : ''} (${c.failed} did not converge). Convergence is measured from the end of each event (an episode's own sleeps excluded) to the fleet's next convergence (one member per running instance, the target voter count, an agreed leader); p50/p99 are nearest-rank over the events that converged.`,
    '',
    `**Verdict: ${checks.every((k) => k.ok) && r.pass ? 'PASS' : 'FAIL'}** — writes checked: ${r.writes.acknowledged.toLocaleString('en-US')} acknowledged (${r.writes.failed.toLocaleString('en-US')} failed or timed out, i.e. maybe applied).`,
    '',
    '| Check | Result | Measured |',
    '|---|---|---|',
    ...checks.map((k) => `| ${k.name} | ${k.ok ? 'ok' : '**FAIL**'} | ${k.detail} |`),
  ];
  if (c !== undefined && c.events > 0) {
    lines.push(
      '',
      '| Event kind | Count | Did not converge | Convergence p50 | p99 | max | Event itself p50 |',
      '|---|--:|--:|--:|--:|--:|--:|',
      ...c.byKind.map(
        (k) =>
          `| ${k.kind} | ${k.count} | ${k.failed} | ${fmtS(k.convergeP50Ms)} | ${fmtS(k.convergeP99Ms)} | ${fmtS(k.convergeMaxMs)} | ${fmtS(k.episodeP50Ms)} |`,
      ),
      `| **all** | **${c.events}** | ${c.failed} | ${fmtS(c.convergeP50Ms)} | ${fmtS(c.convergeP99Ms)} | ${fmtS(c.convergeMaxMs)} | |`,
    );
  }
  const other = r.problems.filter((p) => !p.includes('removed or wiped while its instance ran'));
  if (other.length > 0) lines.push('', 'Problems:', ...other.map((p) => `- ${p}`));
  if (r.notes !== undefined && r.notes.length > 0) lines.push('', 'Notes:', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/** Plain lines for the end of a run with a chaos step: the draws by kind with their convergence times. */
export function chaosLines(c: ChaosSummary): string[] {
  return [
    `chaos: ${c.events} event(s)${c.planned !== undefined ? ` of ${c.planned}` : ''}, ${c.failed} did not converge; convergence p50 ${fmtS(c.convergeP50Ms)}, p99 ${fmtS(c.convergeP99Ms)}, max ${fmtS(c.convergeMaxMs)}`,
    ...c.byKind.map(
      (k) =>
        `  ${k.kind.padEnd(24)} ${String(k.count).padStart(4)}×  converge p50 ${fmtS(k.convergeP50Ms)}, p99 ${fmtS(k.convergeP99Ms)}${k.failed > 0 ? `, ${k.failed} did not converge` : ''}`,
    ),
  ];
}

/**
 * The derived parts of bench-results.json (per-cell summaries, pooled interruptions, targets),
 * computed from the runs alone, so a saved JSON can be rendered again (`--from-json`) with the same
 * arithmetic as a live bench.
 */
import { aggregateCell, evaluateTargets, summarise } from '../src/sim/bench-stats.ts';
import type { BenchResults } from './results.ts';

export type BenchBase = Omit<BenchResults, 'cells' | 'pooled' | 'targets'>;

export function withSummaries(base: BenchBase): BenchResults {
  const { runs } = base;
  const agents = base.options.agents;
  const cells = base.options.scenarios.flatMap((id) =>
    agents
      .map((a) => runs.filter((x) => x.scenarioId === id && x.agent === a))
      .filter((xs) => xs.length > 0)
      .map((xs) => aggregateCell(xs)),
  );
  const targets = agents.flatMap((a) => {
    const polls = base.agents.find((x) => x.name === a)?.terminationPollMs ?? [];
    // Several intervals in one bench would each need their own limit; the largest is the most lenient.
    return evaluateTargets(a, runs, polls.length > 0 ? Math.max(...polls) : Number.NaN);
  });
  const pooled = agents.map((a) => {
    const ds = runs
      .filter((x) => x.agent === a)
      .flatMap((x) => x.metrics?.disruptions ?? [])
      .filter((d) => d.kind === 'interrupt');
    const s = summarise(ds.map((d) => d.removedAfterMs));
    return {
      agent: a,
      interruptions: ds.length,
      notRemoved: ds.filter((d) => d.removedAfterMs === undefined).length,
      ...(s ? { removedAfterMs: s } : {}),
    };
  });
  return { ...base, cells, pooled, targets };
}

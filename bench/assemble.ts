/**
 * The derived parts of bench-results.json (per-cell summaries, pooled interruptions, targets),
 * computed from the runs alone, so a saved JSON can be rendered again (`--from-json`) with the same
 * arithmetic as a live bench.
 */
import {
  aggregateCell,
  aggregateRecoveryCell,
  evaluateRecoveryTargets,
  evaluateTargets,
  summarise,
} from '../src/sim/bench-stats.ts';
import type { BenchResults } from './results.ts';
import { recoveryKindOf } from './scenarios.ts';

export type BenchBase = Omit<
  BenchResults,
  'cells' | 'pooled' | 'targets' | 'recoveryCells' | 'recoveryTargets'
>;

/**
 * The quorum-loss rows lose writes by design (only those no surviving copy held) and are judged by their
 * own targets: the standard cells, targets and pooled figures are computed without them.
 */
export function withSummaries(base: BenchBase): BenchResults {
  const runs = base.runs.filter((x) => recoveryKindOf(x.scenarioId) === undefined);
  const agents = base.options.agents;
  const standardIds = base.options.scenarios.filter((id) => recoveryKindOf(id) === undefined);
  const recoveryIds = base.options.scenarios.filter((id) => recoveryKindOf(id) !== undefined);
  const recoveryCells = recoveryIds.flatMap((id) =>
    agents
      .map((a) => base.runs.filter((x) => x.scenarioId === id && x.agent === a))
      .filter((xs) => xs.length > 0)
      .map((xs) => aggregateRecoveryCell(xs, recoveryKindOf(id) as 'majority-lost' | 'all-lost')),
  );
  const recoveryRuns = base.runs.filter((x) => recoveryKindOf(x.scenarioId) !== undefined);
  const recoveryTargets = agents.flatMap((a) => evaluateRecoveryTargets(a, recoveryRuns, recoveryKindOf));
  const cells = standardIds.flatMap((id) =>
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
  return {
    ...base,
    cells,
    pooled,
    targets,
    ...(recoveryIds.length > 0 ? { recoveryCells, recoveryTargets } : {}),
  };
}

/**
 * One benchmark run in its own process (bench/run.ts starts one per run, so that a run that crashes
 * or hangs cannot take the others with it): `node --import tsx bench/run-one.ts <spec.json>`.
 *
 * Runs the scenario with `runSim()` and writes a {@link RunOneResult} (its report and what the bench
 * needs to read it) to the spec's `resultPath`. The first SIGINT/SIGTERM
 * stops the scenario (the verdict so far is still written); a second one kills every process group at
 * once. The etcd data dirs are always deleted (64 MB of WAL per member); the agents' logs stay.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../src/core/errors.ts';
import { installStopSignals } from '../src/sim/processes.ts';
import { runSim } from '../src/sim/run.ts';
import type { SimReport } from '../src/sim/run.ts';
import { agentSetup, noticeByStep, resolveScenario } from './agents.ts';
import type { RunSpec } from './agents.ts';

export interface RunOneResult {
  spec: RunSpec;
  /** The scenario file, relative to the repository. */
  scenarioSource?: string;
  scenarioNote?: string;
  disruption?: string;
  /** The interruption notice of each step index of the scenario. */
  notices?: Record<number, number>;
  /** The agent's termination poll interval in this run. */
  terminationPollMs?: number;
  /** The seed's poll interval as its own `start` log lines state it (seconds), per distinct value. */
  seedPollSeenS?: number[];
  report?: SimReport;
  error?: string;
}

/** `poll-interval=N` from the seed's `run start` lines in every agent log of the run. */
function seedPollIntervals(runDir: string): number[] {
  const seen = new Set<number>();
  let dirs: string[] = [];
  try {
    dirs = readdirSync(runDir);
  } catch {
    return [];
  }
  for (const d of dirs) {
    let text: string;
    try {
      text = readFileSync(join(runDir, d, 'agent.log'), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/ seed run \S+ start .*?poll-interval=(\d+)/g)) seen.add(Number(m[1]));
  }
  return [...seen].sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const specPath = process.argv[2];
  if (specPath === undefined) throw new Error('usage: run-one.ts <spec.json>');
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as RunSpec;
  const result: RunOneResult = { spec };
  const controller = new AbortController();
  const uninstallSignals = installStopSignals((sig) => {
    process.stderr.write(`${sig}: stopping the run\n`);
    controller.abort();
  });
  try {
    const resolved = resolveScenario(spec.scenarioId);
    result.scenarioSource = resolved.source;
    result.disruption = resolved.disruption;
    if (resolved.note !== undefined) result.scenarioNote = resolved.note;
    result.notices = noticeByStep(resolved.scenario);
    const setup = agentSetup(spec.agent, resolved.scenario);
    result.terminationPollMs = setup.terminationPollMs;
    const { report, fleet } = await runSim({
      scenario: resolved.scenario,
      seed: spec.seed,
      ipPrefix: spec.ipPrefix,
      tty: false,
      keepFleet: true,
      signal: controller.signal,
      ...(setup.agentCommand !== undefined ? { agentCommand: setup.agentCommand } : {}),
      agentEnv: setup.agentEnv,
      fleet: { label: `bench-${spec.scenarioId}-${spec.agent}` },
    });
    result.report = report;
    await fleet.close({ removeData: true });
    if (spec.agent === 'seed') result.seedPollSeenS = seedPollIntervals(report.runDir);
  } catch (err) {
    result.error = describeError(err);
    process.stderr.write(`run failed: ${result.error}\n`);
  } finally {
    uninstallSignals();
  }
  writeFileSync(spec.resultPath, `${JSON.stringify(result, null, 2)}\n`);
}

await main();

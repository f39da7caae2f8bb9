/** The shape of bench-results.json (everything BENCHMARKS.md is rendered from). */
import type {
  CellSummary,
  RecoveryCellSummary,
  RecoveryTargetResult,
  RunOutcome,
  Summary,
  TargetResult,
} from '../src/sim/bench-stats.ts';

export interface MachineInfo {
  nproc: number;
  memoryMb: number;
  cpuModel: string;
  node: string;
  etcd: string;
  kernel: string;
  /** `git describe`-like: the commit the work tree is on, and whether it had local changes. */
  commit: string;
}

export interface AgentInfo {
  name: string;
  description: string;
  /** The termination poll interval(s) used in its runs, ms. */
  terminationPollMs: number[];
  /** Seed only: SEED_POLL_INTERVAL as its agents' own start lines stated it, seconds. */
  seedPollSeenS?: number[];
}

export interface ScenarioInfo {
  id: string;
  title: string;
  what: string;
  /** The scenario file(s) used, relative to the repository. */
  sources: string[];
  notes: string[];
  /** The writers as the runs' reports state them, e.g. "4 writers, 300 writes/s in all". */
  workload?: string;
  /** The scenario's extra environment for every agent (e.g. the recovery's no-leader wait). */
  agentEnv?: Record<string, string>;
}

export interface BenchRun extends RunOutcome {
  seed: number;
  ipPrefix: string;
  runDir?: string;
  logPath: string;
  scenarioSource?: string;
}

export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  wallMs: number;
  command: string;
  machine: MachineInfo;
  options: {
    repeats: number;
    quick: boolean;
    only?: string;
    scenarios: string[];
    agents: string[];
    /** Runs per scenario of an agent that ran fewer than `repeats` (`--seed-repeats`). */
    repeatsByAgent?: Record<string, number>;
  };
  /** Set when the bench was stopped before every run was done. */
  interrupted?: string;
  plannedRuns: number;
  agents: AgentInfo[];
  scenarios: ScenarioInfo[];
  runs: BenchRun[];
  cells: CellSummary[];
  /** Interruptions of every scenario pooled, per agent. */
  pooled: { agent: string; removedAfterMs?: Summary; interruptions: number; notRemoved: number }[];
  targets: TargetResult[];
  /** The quorum-loss rows (majority-lost, all-lost), kept out of `cells` and `targets`. */
  recoveryCells?: RecoveryCellSummary[];
  recoveryTargets?: RecoveryTargetResult[];
  benchDir: string;
  /** Set when this document was rendered again from a saved JSON (`--from-json`), not by the run itself. */
  renderedFrom?: string;
}

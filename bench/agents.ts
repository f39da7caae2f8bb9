/**
 * What the benchmark compares (etcd-spot's agent and the seed baseline, with the settings the document
 * states) and which scenario file each row runs.
 */
import { join, relative, resolve } from 'node:path';
import { parseDuration } from '../src/config/duration.ts';
import { envVarFor } from '../src/config/load.ts';
import { describeStep, loadScenario } from '../src/sim/scenario.ts';
import { SIM_TERMINATION_POLL_INTERVAL } from '../src/sim/fleet.ts';
import type { Scenario, Step } from '../src/sim/scenario.ts';
import { BENCH_SCENARIOS } from './scenarios.ts';
import type { BenchScenario } from './scenarios.ts';

export const AGENTS = ['etcd-spot', 'etcd-spot-defaults', 'seed'] as const;
export type AgentName = (typeof AGENTS)[number];

/** The repository root (the agents' and the seed command's working directory). */
export const REPO = resolve(import.meta.dirname, '..');

/** What run-one.ts is told to do. */
export interface RunSpec {
  scenarioId: string;
  agent: AgentName;
  repeat: number;
  seed: number;
  ipPrefix: string;
  resultPath: string;
}

/**
 * etcd-spot's termination poll interval when a scenario does not set one: the simulator's own setting
 * (src/sim/fleet.ts gives every etcd-spot agent ETCD_SPOT_AGENT_TERMINATION_POLL_INTERVAL=1s; the
 * product default is 5 s).
 */
export const FLEET_TERMINATION_POLL_MS = parseDuration(SIM_TERMINATION_POLL_INTERVAL) as number;

/** The seed's command line, as the simulator's `--agent-command` takes it. */
export const SEED_COMMAND = 'bash bench/baselines/seed/run.sh';

/** The seed's status-check interval: SEED_POLL_INTERVAL (whole seconds), 30 as in the 2017 guide. */
export function seedPollIntervalS(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 30;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`SEED_POLL_INTERVAL must be whole seconds ≥ 1 (got ${raw})`);
  return n;
}

/**
 * The agent's own defaults for every interval the simulator shortens (src/config/schema.ts): the
 * `etcd-spot-defaults` column runs with these, so users see what they will get.
 */
export const PRODUCT_DEFAULTS = {
  cycleInterval: '5s',
  terminationPollInterval: '5s',
  groupPollInterval: '10s',
  steadyGroupPollInterval: '60s',
  followerGroupPollInterval: '60s',
  cloudStatusPollInterval: '60s',
  memberDeadAfter: '60s',
  terminatedMemberDeadAfter: '5s',
  unstartedMemberTtl: '2m',
  replacementWait: '15s',
} as const;

export interface AgentSetup {
  /** A shell command run once per instance instead of etcd-spot's agent (runSim's `agentCommand`). */
  agentCommand?: string;
  agentEnv: Record<string, string>;
  /** The interval at which the agent looks for an interruption notice, ms. */
  terminationPollMs: number;
}

/** How to run `agent` in `scenario`: the scenario's settings, else the defaults above. */
export function agentSetup(
  agent: AgentName,
  scenario: Scenario,
  env: NodeJS.ProcessEnv = process.env,
): AgentSetup {
  if (agent === 'etcd-spot-defaults') {
    // The product's defaults (etcd-spot.example.yaml), whatever the scenario sets for the fast agent.
    const agentEnv = Object.fromEntries(
      Object.entries(PRODUCT_DEFAULTS).map(([k, v]) => [envVarFor(['agent', k]), v]),
    );
    return { agentEnv, terminationPollMs: parseDuration(PRODUCT_DEFAULTS.terminationPollInterval) as number };
  }
  if (agent === 'etcd-spot') {
    const set = scenario.agent.terminationPollInterval;
    const ms = set === undefined ? FLEET_TERMINATION_POLL_MS : parseDuration(set);
    if (ms === undefined) throw new Error(`scenario ${scenario.name}: bad terminationPollInterval ${set}`);
    return { agentEnv: {}, terminationPollMs: ms };
  }
  const poll = seedPollIntervalS(env.SEED_POLL_INTERVAL ?? scenario.agentEnv.SEED_POLL_INTERVAL);
  return {
    agentCommand: SEED_COMMAND,
    agentEnv: { SEED_POLL_INTERVAL: String(poll) },
    terminationPollMs: poll * 1000,
  };
}

/** One line per agent for the document. */
export const AGENT_DESCRIPTIONS: Record<AgentName, string> = {
  'etcd-spot':
    "etcd-spot's agent (`node bin/etcd-spot.js agent`, the simulator's default agent) with the simulator's settings: decision cycle 1 s, termination poll 1 s, group poll 2 s, member dead after 10 s",
  'etcd-spot-defaults':
    "etcd-spot's agent with the product's defaults (etcd-spot.example.yaml): decision cycle 5 s, termination poll 5 s (the cloud's own status 3 times per shutdown-signal timeout, at most every 60 s), group poll 10 s by the leader's agent (60 s while the cluster is steady; calm followers read its copy), member dead after 60 s (5 s once the cloud confirms the termination), replacement wait 15 s",
  seed: `the seed baseline, \`--agent-command '${SEED_COMMAND}'\` (bench/baselines/seed/README.md), with the 2017 guide's status-check interval unless SEED_POLL_INTERVAL is set`,
};

const DISRUPTIONS = new Set(['interrupt', 'kill9', 'wipe', 'scale', 'chaos']);

/** The steps of a scenario that disturb the fleet. */
export function disruptionSteps(scenario: Scenario): Step[] {
  return scenario.timeline.filter((s) => DISRUPTIONS.has(s.kind));
}

/** Why a scenario does not fit a bench row (undefined: it fits). */
export function misfit(scenario: Scenario, b: BenchScenario): string | undefined {
  const e = b.expect;
  const size = e.kind === 'boot' || e.kind === 'steady' ? e.size : 3;
  if (scenario.group.size !== size) return `its group has ${scenario.group.size} instances, not ${size}`;
  const provider = b.provider ?? 'elastigroup';
  if (scenario.group.provider !== provider)
    return `its group's provider is ${scenario.group.provider}, not ${provider}`;
  const ds = disruptionSteps(scenario);
  if (e.kind === 'boot' || e.kind === 'steady') {
    if (ds.length > 0) return `it has ${ds.length} disruption steps, not 0`;
    if (scenario.timeline.some((s) => s.kind === 'fault')) return 'it injects API faults';
    if (e.kind === 'boot' && !scenario.group.bootAllAtOnce) return 'its group does not boot all at once';
    return undefined;
  }
  if (ds.length !== 1) return `it has ${ds.length} disruption steps, not 1`;
  const d = ds[0] as Step;
  if (e.kind === 'majority-lost' || e.kind === 'all-lost') {
    if (d.kind !== 'kill9' || !d.instanceGone)
      return 'its disruption is not a kill -9 with the instances gone';
    const n = d.count ?? 1;
    if (e.kind === 'all-lost' && n !== size) return `it hits ${n} of ${size} instances, not all`;
    if (e.kind === 'majority-lost' && (n < Math.floor(size / 2) + 1 || n >= size))
      return `it hits ${n} of ${size} instances, not a majority with a survivor`;
    return undefined;
  }
  if (e.kind === 'interrupt-all') {
    if (d.kind !== 'interrupt') return `its disruption is ${d.kind}, not interrupt`;
    if ((d.count ?? 1) !== size) return `it hits ${d.count ?? 1} of ${size} instances, not all`;
    if (d.noticeMs < e.minNoticeMs) return `its notice of ${d.noticeMs} ms is under ${e.minNoticeMs} ms`;
    return undefined;
  }
  if (d.kind !== e.kind) return `its disruption is ${d.kind}, not ${e.kind}`;
  if (d.count !== undefined && d.count !== 1) return 'it hits more than one instance';
  if (d.target !== e.target) return `it hits ${String(d.target)}, not the ${e.target}`;
  if (
    d.kind === 'interrupt' &&
    e.kind === 'interrupt' &&
    (d.noticeMs < e.minNoticeMs || d.noticeMs > e.maxNoticeMs)
  )
    return `its notice of ${d.noticeMs} ms is outside ${e.minNoticeMs}–${e.maxNoticeMs} ms`;
  if (d.kind === 'kill9' && e.kind === 'kill9' && d.instanceGone !== e.instanceGone)
    return 'the instance does not stay gone';
  return undefined;
}

export interface ResolvedScenario {
  scenario: Scenario;
  /** The file, relative to the repository. */
  source: string;
  /** The disruption, in words (e.g. "interrupt the leader (notice 15s)"). */
  disruption: string;
  /** Why the file under scenarios/ was not used, when there was one. */
  note?: string;
}

/** The scenario to run for a bench row: scenarios/<id>.yaml, which must hold exactly the row's disruption. */
export function resolveScenario(id: string): ResolvedScenario {
  const b = BENCH_SCENARIOS.find((s) => s.id === id);
  if (b === undefined) throw new Error(`unknown bench scenario ${id}`);
  const path = join(REPO, 'scenarios', `${id}.yaml`);
  const scenario = loadScenario(path);
  const why = misfit(scenario, b);
  if (why !== undefined) throw new Error(`scenarios/${id}.yaml no longer fits the bench row ${id}: ${why}`);
  return described(scenario, path);
}

function described(scenario: Scenario, path: string): ResolvedScenario {
  const d = disruptionSteps(scenario)[0];
  return {
    scenario,
    source: relative(REPO, path),
    disruption: d === undefined ? 'nothing' : describeStep(d),
  };
}

/** The interruption notice of each step index (the timings name the step, not the notice). */
export function noticeByStep(scenario: Scenario): Record<number, number> {
  const out: Record<number, number> = {};
  scenario.timeline.forEach((s, i) => {
    if (s.kind === 'interrupt') out[i] = s.noticeMs;
  });
  return out;
}

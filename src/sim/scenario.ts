/**
 * Scenarios: a group, a workload and a timeline of steps run against a {@link Fleet} while the
 * workload writes. They live in `scenarios/*.yaml` (the single source of truth; see
 * docs/simulator.md and scenario-schema.ts for the format) and are loaded by name or by path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { formatDuration } from '../config/duration.ts';
import { Prng } from '../emulator/prng.ts';
import type { FaultRoute, FaultSpec } from '../emulator/types.ts';
import { ScenarioError, parseScenarioText } from './scenario-schema.ts';

/** The directory of the built-in scenarios (`<repo>/scenarios`). */
export const SCENARIOS_DIR = resolve(import.meta.dirname, '..', '..', 'scenarios');

/**
 * Which instance a step hits: the leader, a follower, any running instance (seeded choice), or the
 * index of a running instance, oldest first (0 = the oldest). An instance id (string) is accepted in code.
 */
export type Target = 'leader' | 'follower' | 'random' | number | string;

/** Steps that hit instances (and get per-event timings in the report). */
export type DisruptionStep =
  /** Spot interruption with a notice; `count` instances at once. */
  | { kind: 'interrupt'; target: Target; count?: number; noticeMs: number }
  /** SIGKILL the VM's processes; the instance is terminated too, or reboots. */
  | { kind: 'kill9'; target: Target; count?: number; instanceGone: boolean }
  /** Kill, wipe the etcd data dir, start again. */
  | { kind: 'wipe'; target: Target; count?: number };

export type Step =
  | DisruptionStep
  /** Wait until the fleet is converged (see checkConvergence). */
  | { kind: 'converge'; timeoutMs?: number; voters?: number }
  | { kind: 'scale'; to: number }
  /**
   * An instance refresh of an Auto Scaling group (`group.provider: asg`): every instance replaced one at
   * a time, launch before terminate, each new one counted healthy `warmupMs` after it is InService; the
   * step returns when the refresh has finished.
   */
  | { kind: 'instance-refresh'; warmupMs: number }
  /**
   * A cloud API fault; `durationMs` clears it by itself, `instance` limits it to one instance's IMDS
   * and instance-status calls. `label` is the scenario file's kind name (outage, 5xx, 429, …).
   */
  | {
      kind: 'fault';
      route: FaultRoute;
      fault: FaultSpec;
      durationMs?: number;
      instance?: Target;
      label?: string;
    }
  | { kind: 'clear-faults' }
  /** From now on, new instances take the most recently freed IP (or, with false, fresh ones). */
  | { kind: 'reuse-ip'; enabled: boolean }
  | { kind: 'sleep'; ms: number }
  /**
   * Network faults on peer traffic (through the fleet's peer proxies): cut the target(s) off from the
   * rest (`out`: only their traffic to the rest is lost; `in`: only the rest's to them), delay it,
   * reset a fraction of its connections; `heal` clears them all.
   */
  | { kind: 'partition'; target: Target; count?: number; direction: 'both' | 'in' | 'out' }
  | { kind: 'latency'; target: Target; count?: number; delayMs: number; jitterMs: number }
  | { kind: 'drop'; target: Target; count?: number; fraction: number }
  | { kind: 'heal' }
  /** SIGSTOP the instance's etcd or agent; `resume` SIGCONTs everything paused. */
  | { kind: 'pause'; target: Target; process: 'etcd' | 'agent' }
  | { kind: 'resume' }
  /**
   * Fill the instance's etcd data disk to ENOSPC (every instance's data dir is then a small tmpfs);
   * `free-disk` deletes the filler of every disk filled.
   */
  | { kind: 'fill-disk'; target: Target }
  | { kind: 'free-disk' }
  /** Step the wall clock of the instance's agent by `byMs` (negative: back), through the clock test hook. */
  | { kind: 'clock-step'; target: Target; byMs: number }
  /**
   * Seeded random churn: draw one of `choose`, run it, wait for convergence; repeat for `forMs` and/or
   * `events` draws (whichever ends first; at least one of them is set).
   */
  | { kind: 'chaos'; forMs?: number; events?: number; choose: Step[]; convergeTimeoutMs?: number }
  /**
   * Only inside a chaos step's `choose`: a named sequence of steps drawn as one event (e.g. partition,
   * keep writing, heal), after which the fleet must converge. `name` is its kind in the soak report.
   */
  | { kind: 'episode'; name: string; steps: Step[] };

export type StepKind = Step['kind'];

/** etcd-spot agent settings a scenario may set (`agent.<key>` of the agent's config). */
export type AgentSettingKey =
  | 'cycleInterval'
  | 'terminationPollInterval'
  | 'groupPollInterval'
  | 'steadyGroupPollInterval'
  | 'followerGroupPollInterval'
  | 'cloudStatusPollInterval'
  | 'memberDeadAfter'
  | 'terminatedMemberDeadAfter'
  | 'unstartedMemberTtl'
  | 'leaveOnRebalance'
  | 'leaveAfterReplacement'
  | 'leaveMargin'
  | 'replacementWait';

export interface Scenario {
  name: string;
  description: string;
  /** The file it was read from. */
  source?: string;
  /** Seeds every random choice (the CLI's --seed wins; random when neither is given). */
  seed?: number;
  /** Cap on the whole run. */
  durationMs: number;
  group: {
    /** Instances at start. */
    size: number;
    maxVoters: number;
    /** A TERMINATING instance is terminated after min(notice, this). */
    signalTimeoutMs: number;
    ipReuse: 'never' | 'prefer';
    /** false: launch one instance, then one more each time the fleet has converged. */
    bootAllAtOnce: boolean;
    /** The group's cloud: Spot.io (default) or AWS Auto Scaling with a termination lifecycle hook. */
    provider: 'elastigroup' | 'asg';
  };
  /** etcd-spot agent settings, canonical text (`'1s'`, `'true'`), passed as ETCD_SPOT_AGENT_* variables. */
  agent: Partial<Record<AgentSettingKey, string>>;
  /** Extra environment for every agent (any agent). */
  agentEnv: Record<string, string>;
  /** etcd's client and peer ports and the agents' status servers over TLS (certificates made per run). */
  tls: boolean;
  workload: {
    writers: number;
    /** Total over all writers; 0 = as fast as possible. */
    writesPerSecond: number;
    /** Bytes per value (0 = just the key's tag). */
    valueSize: number;
    /**
     * Clients doing get / put / compare-and-swap on a few shared keys (`l/<n>`), for the
     * linearizability check (0 = none); their keys; their total rate (0 = as fast as possible).
     */
    registerClients: number;
    registerKeys: number;
    registerOpsPerSecond: number;
  };
  timeline: Step[];
}

function targetText(t: Target, count = 1): string {
  if (count > 1) {
    if (t === 'leader') return `the leader and ${count - 1} follower(s) at once`;
    if (t === 'follower') return `${count} followers at once`;
    return `${count} random instances at once`;
  }
  if (t === 'leader') return 'the leader';
  if (t === 'follower') return 'a follower';
  if (t === 'random') return 'a random instance';
  if (typeof t === 'number') return `instance #${t}`;
  return t;
}

/** One line for the live view and the report. */
export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'converge':
      return s.voters === undefined ? 'wait for convergence' : `wait for convergence with ${s.voters} voters`;
    case 'interrupt':
      return `interrupt ${targetText(s.target, s.count)} (notice ${formatDuration(s.noticeMs)})`;
    case 'kill9':
      return `kill -9 ${targetText(s.target, s.count)} ${s.instanceGone ? '(instance gone)' : '(instance reboots)'}`;
    case 'wipe':
      return `wipe the data dir of ${targetText(s.target, s.count)}`;
    case 'scale':
      return `scale the group to ${s.to}`;
    case 'instance-refresh':
      return `instance refresh of the whole group (launch before terminate, warmup ${formatDuration(s.warmupMs)})`;
    case 'fault': {
      const what =
        s.label ??
        `${s.fault.kind}${'status' in s.fault ? ` ${s.fault.status}` : ''}${'ms' in s.fault ? ` ${s.fault.ms}ms` : ''}`;
      const extra = [
        s.label !== undefined && 'status' in s.fault && s.label !== 'outage'
          ? `status ${s.fault.status}`
          : '',
        s.label !== undefined && 'ms' in s.fault ? `${formatDuration(s.fault.ms)}` : '',
        s.fault.kind === 'partial' ? `drop ${s.fault.dropRandom ?? 0} random` : '',
        s.instance !== undefined ? `for ${targetText(s.instance)}` : '',
        s.durationMs !== undefined ? `for ${formatDuration(s.durationMs)}` : '',
      ].filter((x) => x !== '');
      return `API fault on ${s.route}: ${what}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
    }
    case 'clear-faults':
      return 'clear the API faults';
    case 'reuse-ip':
      return s.enabled ? 'new instances reuse freed IPs' : 'new instances get fresh IPs';
    case 'sleep':
      return `keep writing for ${formatDuration(s.ms)}`;
    case 'partition':
      return `partition ${targetText(s.target, s.count)} from the rest (${s.direction === 'both' ? 'both ways' : s.direction === 'out' ? 'one way: its traffic to the rest lost' : 'one way: traffic to it lost'})`;
    case 'latency':
      return `slow peer link on ${targetText(s.target, s.count)}: ${formatDuration(s.delayMs)}${s.jitterMs > 0 ? ` ± ${formatDuration(s.jitterMs)}` : ''}`;
    case 'drop':
      return `drop ${Math.round(s.fraction * 100)}% of the peer connections of ${targetText(s.target, s.count)}`;
    case 'heal':
      return 'heal the network';
    case 'pause':
      return `pause (SIGSTOP) the ${s.process} of ${targetText(s.target)}`;
    case 'resume':
      return 'resume (SIGCONT) every paused process';
    case 'fill-disk':
      return `fill the data disk of ${targetText(s.target)} (ENOSPC)`;
    case 'free-disk':
      return 'free the filled data disks';
    case 'clock-step':
      return `step the agent clock of ${targetText(s.target)} ${s.byMs >= 0 ? 'forward' : 'back'} by ${formatDuration(Math.abs(s.byMs))}`;
    case 'chaos': {
      const span = [
        s.events !== undefined ? `${s.events} events` : '',
        s.forMs !== undefined ? `${s.events !== undefined ? 'at most ' : ''}${formatDuration(s.forMs)}` : '',
      ].filter((x) => x !== '');
      return `chaos for ${span.join(', ')}: ${s.choose.map(describeStep).join(' | ')}, converging after each`;
    }
    case 'episode':
      return `${s.name} (${s.steps.map(describeStep).join(', then ')})`;
  }
}

/**
 * The kind a chaos draw counts under in the soak report: an episode's name, else the step's kind with
 * what tells its variants apart (the leader, k at once, instance gone or rebooting, the API fault).
 */
export function chaosKind(s: Step): string {
  switch (s.kind) {
    case 'episode':
      return s.name;
    case 'interrupt':
      return `interrupt${s.target === 'leader' ? '-leader' : ''}${(s.count ?? 1) > 1 ? `-${s.count}-at-once` : ''}`;
    case 'kill9':
      return `kill9-${s.instanceGone ? 'gone' : 'reboot'}${(s.count ?? 1) > 1 ? `-${s.count}-at-once` : ''}`;
    case 'wipe':
      return (s.count ?? 1) > 1 ? `wipe-${s.count}-at-once` : 'wipe';
    case 'fault':
      return `api-${s.label ?? s.fault.kind}`;
    case 'pause':
      return `pause-${s.process}`;
    case 'clock-step':
      return s.byMs >= 0 ? 'clock-step-forward' : 'clock-step-back';
    default:
      return s.kind;
  }
}

/** Every step of a timeline, chaos choices and episodes included (to see which machinery a run needs). */
export function allSteps(steps: readonly Step[]): Step[] {
  return steps.flatMap((s) =>
    s.kind === 'chaos' ? [s, ...allSteps(s.choose)] : s.kind === 'episode' ? [s, ...allSteps(s.steps)] : [s],
  );
}

/** Steps that need the peer proxies (network faults). */
export function isNetworkStep(s: Step): boolean {
  return s.kind === 'partition' || s.kind === 'latency' || s.kind === 'drop' || s.kind === 'heal';
}

/** Steps that disturb the fleet (and get per-event timings in the report). */
export function isDisruption(s: Step): boolean {
  return (
    s.kind === 'interrupt' ||
    s.kind === 'kill9' ||
    s.kind === 'wipe' ||
    s.kind === 'scale' ||
    s.kind === 'instance-refresh'
  );
}

/** The chaos step's draws: a seeded sequence, the same for the same seed. */
export function chaosDraws<T>(seed: number, choose: readonly T[]): () => T {
  const rng = new Prng(seed ^ 0x5eed);
  return () => {
    const s = choose[rng.int(choose.length)];
    if (s === undefined) throw new Error('chaos: nothing to choose from');
    return s;
  };
}

// ------------------------------------------------------------------------------------ loading

function isPath(nameOrPath: string): boolean {
  return nameOrPath.includes('/') || /\.ya?ml$/i.test(nameOrPath);
}

/** Names of the scenarios in `dir` (the built-in ones by default), sorted. */
export function scenarioNames(dir = SCENARIOS_DIR): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .filter((f) => /\.ya?ml$/i.test(f))
    .map((f) => basename(f, extname(f)))
    .sort();
}

/** The file a name (`demo` → `<dir>/demo.yaml`) or a path (`./my.yaml`) means. */
export function scenarioPath(nameOrPath: string, dir = SCENARIOS_DIR): string {
  if (isPath(nameOrPath)) return resolve(nameOrPath);
  for (const ext of ['.yaml', '.yml']) {
    const p = join(dir, `${nameOrPath}${ext}`);
    if (existsSync(p)) return p;
  }
  return join(dir, `${nameOrPath}.yaml`);
}

/**
 * Loads a scenario by name (a file in `scenarios/`) or by path. Throws a {@link ScenarioError} that
 * lists every problem of the file, or says which names exist when there is no such scenario.
 */
export function loadScenario(nameOrPath: string, dir = SCENARIOS_DIR): Scenario {
  const file = scenarioPath(nameOrPath, dir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    if (!isPath(nameOrPath)) {
      throw new ScenarioError(
        nameOrPath,
        [
          `no scenario named '${nameOrPath}' in ${dir}; choose one of ${scenarioNames(dir).join(', ')} or give a path to a .yaml file`,
        ],
        err,
      );
    }
    throw new ScenarioError(file, [`${file}: cannot read the file (${code}); check the path`], err);
  }
  return parseScenarioText(text, file);
}

/** Every scenario in `dir` with its description (or the reason it does not load). */
export function listScenarios(
  dir = SCENARIOS_DIR,
): { name: string; description: string; path: string; error?: string }[] {
  return scenarioNames(dir).map((name) => {
    const path = scenarioPath(name, dir);
    try {
      return { name, description: loadScenario(path, dir).description, path };
    } catch (err) {
      const issues = err instanceof ScenarioError ? err.issues : [String(err)];
      return { name, description: '', path, error: issues.join('; ') };
    }
  });
}

export { ScenarioError };

/**
 * Runs one scenario end to end: a fleet, writers holding all endpoints, the scenario's timeline, a
 * monitor that samples the fleet every 250 ms, a /proc sampler for the agents' CPU and memory, a live
 * view, then the verdict (converged? acknowledged writes lost? per-event timings, API calls,
 * resources) and an optional JSON report.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { renderHtmlReport, timelineFromSnapshots } from './report-html.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../core/errors.ts';
import { envVarFor } from '../config/load.ts';
import { parseDuration } from '../config/duration.ts';
import { disruptionMetrics, eventTargetChecks } from './bench-stats.ts';
import { runVersions } from './versions.ts';
import type { RunVersions } from './versions.ts';
import { SPOT_ROUTES } from '../emulator/types.ts';
import type { ApiRoute, EmulatorStats, FaultRoute, FaultSpec, RouteStats } from '../emulator/types.ts';
import { Fleet, SIM_TERMINATION_POLL_INTERVAL } from './fleet.ts';
import type { FleetEvent, FleetOptions } from './fleet.ts';
import { measureEvents } from './measure.ts';
import {
  lossesExplained,
  measureRecoveries,
  orderViolationsExplained,
  recoveryLines,
} from './recovery-report.ts';
import type { RecoveryTimings } from './recovery-report.ts';
import type { DisruptionRecord, EventTimings } from './measure.ts';
import { Monitor } from './monitor.ts';
import { ResourceSampler } from './resources.ts';
import type { ResourceReport } from './resources.ts';
import { FleetSampler } from './sampler.ts';
import { allSteps, chaosDraws, chaosKind, describeStep, isNetworkStep } from './scenario.ts';
import { chaosLines, summarizeChaos } from './soak-report.ts';
import type { ChaosEventRecord, ChaosSummary } from './soak-report.ts';
import type { Scenario, Step, StepKind } from './scenario.ts';
import type { FleetSnapshot } from './snapshot.ts';
import { progressLine, renderVerdict, renderView } from './view.ts';
import type { Verdict, ViewState } from './view.ts';
import { Workload } from './workload.ts';
import { linearizabilityReport } from './linearizability.ts';
import type { LinearizabilityReport } from './linearizability.ts';
import type { AvailabilityBucket } from './workload.ts';

export interface SimRunOptions {
  scenario: Scenario;
  /** Group size at start (default: the scenario's `group.size`). */
  instances?: number;
  maxVoters?: number;
  /** Cap on the whole run (default: the scenario's `duration`). */
  durationMs?: number;
  /** Seed of every random choice (default: the scenario's, else random). */
  seed?: number;
  ipPrefix?: string;
  /** Write the JSON report here. */
  reportPath?: string;
  /** Write the HTML report here (default: report.html in the run dir). */
  htmlPath?: string;
  /** Where the live view / progress lines go (default process.stdout). */
  out?: NodeJS.WritableStream;
  /** Redraw a live view (default: whether `out` is a TTY). */
  tty?: boolean;
  /** Aborting stops the scenario; the verdict so far is still computed. */
  signal?: AbortSignal;
  /** Concurrent writers (default: the scenario's). */
  writers?: number;
  /** Total writes per second, 0 = as fast as possible (default: the scenario's). */
  writesPerSecond?: number;
  /** Leave the fleet running (the caller closes it). */
  keepFleet?: boolean;
  /**
   * Write every client operation and the writers' client swaps to `<runDir>/workload-trace.json`
   * (monotonic ms with the process's `timeOrigin`), for a trace of a write gap (bench/trace-leader-gap.ts).
   */
  keepHistory?: boolean;
  /**
   * A shell command (`/bin/sh -c`) run once per instance instead of etcd-spot's agent, in the caller's
   * working directory, with the SIM_* environment (docs/simulator.md).
   */
  agentCommand?: string;
  /** Extra environment for every agent (wins over the scenario's `agentEnv`). */
  agentEnv?: Record<string, string>;
  /** etcd and the agents over TLS even when the scenario does not say `tls: true` (`sim --tls`). */
  tls?: boolean;
  /** Passed through to the fleet (tests: agent command, env). */
  fleet?: Partial<FleetOptions>;
  /** Overrides the number of draws of the scenario's chaos step(s) (`sim --events`). */
  chaosEvents?: number;
  /** Overrides how long the chaos step(s) keep drawing (`sim --chaos-for`). */
  chaosForMs?: number;
}

export interface StepRecord {
  index: number;
  /** The step's kind (always set by the runner; optional for records built elsewhere). */
  kind?: StepKind;
  description: string;
  startedAtMs: number;
  durationMs: number;
  ok: boolean;
  skipped?: boolean;
  error?: string;
  /** The instance(s) it hit, comma-separated. */
  instanceId?: string;
  instanceIds?: string[];
}

/** Cloud API calls the agents made, from the emulator's counters. */
export interface ApiCallStats {
  /** The time the counters cover. */
  durationMs: number;
  /** Requests per minute by route (the Spot API routes and the instances' metadata service). */
  callsPerMinute: Record<ApiRoute, number>;
  /** Requests per minute over the Spot API routes (what counts against Spot.io's rate limits). */
  spotCallsPerMinute: number;
  /** AWS Auto Scaling + EC2 calls per minute (asg groups), when any was made. */
  awsCallsPerMinute?: number;
  /** Spot API calls per instance-minute (the minutes each instance ran in the window, summed). */
  spotCallsPerInstanceMinute?: number;
  /** The raw counters by route: requests, ok, client/server errors, rate limited, faulted, dropped. */
  routes: Record<ApiRoute, RouteStats>;
  /**
   * The calm stretch only: from the first convergence to the first step that is not a wait (a fault,
   * a disruption, a scale change) or the end, so boot's and churn's extra calls are left out. What a
   * steady group costs; absent when the run never converged.
   */
  steady?: SteadyApiStats;
}

export interface SteadyApiStats {
  /** ms since the run started. */
  fromMs: number;
  durationMs: number;
  /** Requests per minute by route within the window. */
  callsPerMinute: Record<ApiRoute, number>;
  spotCallsPerMinute: number;
  spotCallsPerInstanceMinute?: number;
  /** Instance metadata requests per instance-minute (free and local, but counted). */
  imdsCallsPerInstanceMinute?: number;
}

/** The minutes (as ms) the instances ran within [since, now], summed. */
function instanceMsBetween(
  instances: readonly { launchedAt: number; terminatedAt?: number }[],
  since: number,
  now: number,
): number {
  return instances.reduce(
    (a, i) => a + Math.max(0, Math.min(i.terminatedAt ?? now, now) - Math.max(i.launchedAt, since)),
    0,
  );
}

/** Calls between two readings of the emulator's counters (taken without a reset in between). */
export function steadyApiStats(
  from: EmulatorStats,
  to: EmulatorStats,
  instances: readonly { launchedAt: number; terminatedAt?: number }[],
  runStartedAt: number,
): SteadyApiStats {
  const ms = Math.max(1, to.now - from.now);
  const perMin = (n: number) => round1((n * 60_000) / ms);
  const calls = (r: ApiRoute) => Math.max(0, to.routes[r].requests - (from.routes[r]?.requests ?? 0));
  const callsPerMinute = {} as Record<ApiRoute, number>;
  for (const r of Object.keys(to.routes) as ApiRoute[]) callsPerMinute[r] = perMin(calls(r));
  const spot = SPOT_ROUTES.reduce((n, r) => n + calls(r), 0);
  const out: SteadyApiStats = {
    fromMs: from.now - runStartedAt,
    durationMs: ms,
    callsPerMinute,
    spotCallsPerMinute: perMin(spot),
  };
  const instanceMs = instanceMsBetween(instances, from.now, to.now);
  if (instanceMs > 0) {
    out.spotCallsPerInstanceMinute = Math.round(((spot * 60_000) / instanceMs) * 100) / 100;
    out.imdsCallsPerInstanceMinute = Math.round(((calls('imds') * 60_000) / instanceMs) * 100) / 100;
  }
  return out;
}

export interface SimReport {
  /** 1: the shape documented in docs/simulator.md. */
  schemaVersion?: 1;
  scenario: string;
  /**
   * The first launch and the fleet's first convergence, ms since the run started (with
   * `bootAllAtOnce`, launch → converged is how long the whole group takes to form).
   */
  boot?: { firstLaunchAtMs: number; convergedAtMs: number };
  /** What ran: etcd-spot's version and commit, etcd's and Node's. */
  versions?: RunVersions;
  /** The scenario file. */
  scenarioFile?: string;
  seed: number;
  runDir: string;
  startedAt: string;
  durationMs: number;
  instances: number;
  maxVoters: number;
  pass: boolean;
  aborted?: string;
  converged: boolean;
  problems: string[];
  /** The agent that ran on every instance. */
  agent: { etcdSpot: boolean; command: string; env: Record<string, string> };
  workload: {
    writers: number;
    writesPerSecond: number;
    valueSize: number;
    registerClients?: number;
    registerKeys?: number;
    registerOpsPerSecond?: number;
  };
  /** The linearizability check of every client operation (see {@link LinearizabilityReport}). */
  linearizability?: LinearizabilityReport;
  writes: {
    acknowledged: number;
    lost: string[];
    failed: number;
    longestGapMs: number;
    mismatched: { key: string; expected: string; actual: string }[];
    nonMonotonic: unknown[];
    failedByCode: Record<string, number>;
    readBackError?: string;
  };
  /** 100 ms buckets, `t` in ms since the run started. */
  availability: AvailabilityBucket[];
  events: EventTimings[];
  steps: StepRecord[];
  leaderChanges: { atMs: number; from: string | undefined; to: string | undefined }[];
  /** Every cluster id any member reported during the run (more than one: a split cluster). */
  clusterIds: string[];
  api: ApiCallStats;
  resources: ResourceReport;
  /** Quorum-loss recoveries (force-new-cluster / restore-snapshot) and the writes each lost. */
  recovery?: RecoveryTimings[];
  /** Chaos steps: every draw (kind, how long the fleet took to converge after it) and per-kind p50/p99. */
  chaos?: ChaosSummary & { draws: ChaosEventRecord[] };
  /** Every instance's logs, in launch order (absolute paths). */
  instanceLogs?: { instanceId: string; agentLog: string; etcdLog?: string }[];
  /**
   * The termination poll interval of the agents, ms, which the removal target is judged against
   * (undefined for an agent other than etcd-spot's: not known).
   */
  terminationPollMs?: number;
}

/** One monitor sample, `tMs` after the run started. */
export interface TimelineSnapshot {
  tMs: number;
  snapshot: FleetSnapshot;
}

export interface SimRunResult {
  report: SimReport;
  verdictText: string;
  fleet: Fleet;
  /** Every fleet snapshot the monitor took, oldest first (for a role timeline; not in the JSON). */
  timeline: TimelineSnapshot[];
}

const MONITOR_INTERVAL_MS = 250;
/** Steps that leave a calm group calm (the steady API window runs through them). */
const CALM_STEPS = new Set<StepKind>(['converge', 'sleep']);
/** The size of each instance's data disk when a scenario fills one (etcd preallocates 64 MB WAL files). */
const SMALL_DISK_MB = 512;
const CONVERGE_TIMEOUT_MS = 180_000;

/** A rejected promise that carries an abort, told apart from a real failure. */
function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (err instanceof Error && err.name === 'AbortError');
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * Calls per minute by route from the emulator's counters; with the instances' lifetimes, also the
 * Spot API calls per instance-minute (calls ÷ the minutes instances were running in the window).
 */
export function apiCallStats(
  stats: EmulatorStats,
  instances: readonly { launchedAt: number; terminatedAt?: number }[] = [],
): ApiCallStats {
  const ms = Math.max(1, stats.now - stats.since);
  const perMin = (n: number) => round1((n * 60_000) / ms);
  const callsPerMinute = {} as Record<ApiRoute, number>;
  for (const [route, s] of Object.entries(stats.routes) as [ApiRoute, RouteStats][])
    callsPerMinute[route] = perMin(s.requests);
  const spot = SPOT_ROUTES.reduce((n, r) => n + stats.routes[r].requests, 0);
  // An Auto Scaling group's agents call AWS instead (counted per action once called).
  const aws = Object.values(stats.aws ?? {}).reduce((n, r) => n + (r?.requests ?? 0), 0);
  const out: ApiCallStats = {
    durationMs: ms,
    callsPerMinute,
    spotCallsPerMinute: perMin(spot),
    ...(aws > 0 ? { awsCallsPerMinute: perMin(aws) } : {}),
    routes: stats.routes,
  };
  const instanceMs = instanceMsBetween(instances, stats.since, stats.now);
  if (instanceMs > 0) out.spotCallsPerInstanceMinute = Math.round(((spot * 60_000) / instanceMs) * 100) / 100;
  return out;
}

export async function runSim(opts: SimRunOptions): Promise<SimRunResult> {
  const scenario = opts.scenario;
  const out = opts.out ?? process.stdout;
  const tty = opts.tty ?? (out as { isTTY?: boolean }).isTTY === true;
  const instances = opts.instances ?? scenario.group.size;
  const maxVoters = opts.maxVoters ?? scenario.group.maxVoters;
  const capMs = opts.durationMs ?? scenario.durationMs;
  const seed = opts.seed ?? scenario.seed;
  const workloadSpec = {
    writers: opts.writers ?? scenario.workload.writers,
    writesPerSecond: opts.writesPerSecond ?? scenario.workload.writesPerSecond,
    valueSize: scenario.workload.valueSize,
    registerClients: scenario.workload.registerClients,
    registerKeys: scenario.workload.registerKeys,
    registerOpsPerSecond: scenario.workload.registerOpsPerSecond,
  };
  const startedAt = Date.now();
  const capAt = startedAt + capMs;
  const write = (s: string) => void out.write(s.endsWith('\n') ? s : `${s}\n`);
  const stamp = (t = Date.now()) => `[+${((t - startedAt) / 1000).toFixed(1)}s]`;

  const controller = new AbortController();
  const stopReason = { text: undefined as string | undefined };
  const onAbort = () => {
    stopReason.text ??= 'interrupted (SIGINT)';
    controller.abort();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const capTimer = setTimeout(() => {
    stopReason.text ??= `the run's cap of ${Math.round(capMs / 1000)} s was reached`;
    controller.abort();
  }, capMs);
  capTimer.unref();
  const signal = controller.signal;

  // Faults at the very start of the timeline are in place before the first instance launches.
  const timeline = scenario.timeline;
  let lead = 0;
  while (
    timeline[lead]?.kind === 'fault' &&
    (timeline[lead] as { instance?: unknown }).instance === undefined
  )
    lead++;
  const bootFaults = (timeline.slice(0, lead) as Extract<Step, { kind: 'fault' }>[]).map((f) => ({
    route: f.route,
    fault: withUntil(f.fault, f.durationMs, startedAt),
  }));

  const foreign = opts.agentCommand;
  const agentSettings = Object.fromEntries(
    Object.entries(scenario.agent).map(([k, v]) => [envVarFor(['agent', k]), v as string]),
  );
  const agentEnv: Record<string, string> = {
    ...(foreign === undefined ? agentSettings : {}),
    ...scenario.agentEnv,
    ...opts.fleet?.agentEnv,
    ...opts.agentEnv,
  };
  const onEvent = (e: FleetEvent) => {
    if (!tty) write(`${stamp(e.at)} ${e.text}`);
  };
  const fleet = await Fleet.start({
    instances: scenario.group.bootAllAtOnce ? instances : Math.min(1, instances),
    maxVoters,
    label: scenario.name,
    signalTimeoutMs: scenario.group.signalTimeoutMs,
    ipReuse: scenario.group.ipReuse,
    provider: scenario.group.provider,
    ...(seed !== undefined ? { seed } : {}),
    ...(opts.ipPrefix !== undefined ? { ipPrefix: opts.ipPrefix } : {}),
    ...(bootFaults.length > 0 ? { faults: bootFaults } : {}),
    // Peer traffic goes through the simulator's proxies only when a step needs them (one hop less otherwise).
    ...(allSteps(timeline).some(isNetworkStep) ? { peerProxy: true } : {}),
    // A full-disk step: every data dir on its own small tmpfs; a clock step: the agents' clock hook.
    ...(allSteps(timeline).some((s) => s.kind === 'fill-disk') ? { smallDiskMb: SMALL_DISK_MB } : {}),
    ...(allSteps(timeline).some((s) => s.kind === 'clock-step') ? { clockHook: true } : {}),
    ...(foreign !== undefined
      ? {
          agentCommand: { command: '/bin/sh', args: ['-c', foreign] },
          agentCwd: process.cwd(),
          simEnvOnly: true,
        }
      : {}),
    ...(scenario.tls || opts.tls === true ? { tls: true } : {}),
    ...opts.fleet,
    agentEnv,
    onEvent: (e) => {
      onEvent(e);
      opts.fleet?.onEvent?.(e);
    },
  });
  const agentText =
    foreign ?? (fleet.agentIsEtcdSpot ? 'etcd-spot agent' : (opts.fleet?.agentCommand?.command ?? '?'));
  write(
    `etcd-spot sim: scenario ${scenario.name}, seed ${fleet.seed}, ${instances} instances, agent: ${agentText}${fleet.tls ? ', TLS' : ''}, run dir ${fleet.runDir}`,
  );
  write(`  ${scenario.description}`);

  const monitor = new Monitor(maxVoters);
  const workload = new Workload({
    writers: workloadSpec.writers,
    writesPerSecond: workloadSpec.writesPerSecond,
    valueSize: workloadSpec.valueSize,
    registerClients: workloadSpec.registerClients,
    registerKeys: workloadSpec.registerKeys,
    registerOpsPerSecond: workloadSpec.registerOpsPerSecond,
    seed: fleet.seed,
    runId: `s${fleet.seed}`,
    ...(fleet.clientTls() !== undefined ? { tls: fleet.clientTls() } : {}),
  });
  const stepRecords: StepRecord[] = [];
  const disruptions: DisruptionRecord[] = [];
  const guarded: GuardedMember[] = [];
  const view = { stepIndex: 0, doing: 'starting' };
  const snapshots: TimelineSnapshot[] = [];
  const clusterIds = new Set<string>();
  const keep = (s: FleetSnapshot) => {
    snapshots.push({ tMs: s.at - startedAt, snapshot: s });
    for (const i of s.instances) if (i.etcd) clusterIds.add(i.etcd.clusterId);
  };
  const sampler = new FleetSampler({ fleet, monitor, workload, intervalMs: MONITOR_INTERVAL_MS });
  sampler.onSnapshot(keep);
  sampler.start();
  const resources = new ResourceSampler({ groups: () => fleet.agentProcessGroups() });
  resources.start();
  let churnStartedAt: number | undefined;
  /** The emulator's counters at the first convergence and at the first step that is not a wait. */
  const steadyApi: { from?: EmulatorStats; to?: EmulatorStats } = {};
  const chaosRecords: ChaosEventRecord[] = [];
  let chaosPlanned = 0;

  const viewState = (): ViewState => ({
    scenario: scenario.name,
    seed: fleet.seed,
    runDir: fleet.runDir,
    startedAt,
    now: Date.now(),
    capAt,
    stepIndex: view.stepIndex,
    stepCount: timeline.length,
    doing: view.doing,
    snapshot: monitor.lastSnapshot,
    writes: workload.stats(),
    leaderChanges: monitor.leaderChanges.length,
    belowTargetMs:
      churnStartedAt === undefined ? 0 : monitor.belowTargetMsBetween(churnStartedAt, Date.now()),
    targetVoters: fleet.expectedVoters(),
    decisions: fleet.decisions(),
  });
  let lastProgress = 0;
  const render = () => {
    const v = viewState();
    if (tty) out.write(`\x1b[H\x1b[2J${renderView(v)}\n`);
    else if (v.now - lastProgress >= 10_000) {
      lastProgress = v.now;
      write(progressLine(v));
    }
  };
  const renderTimer = setInterval(render, 500);

  for (let i = 0; i < lead; i++) {
    const f = timeline[i] as Step;
    stepRecords.push({
      index: i,
      kind: f.kind,
      description: `${describeStep(f)}, before the first launch`,
      startedAtMs: 0,
      durationMs: 0,
      ok: true,
    });
  }

  let fatal: string | undefined;
  /** Runs one step with its record; false when the run must stop (aborted or failed). */
  const exec = async (step: Step): Promise<boolean> => {
    if (signal.aborted) return false;
    const t0 = Date.now();
    view.doing = describeStep(step);
    const rec: StepRecord = {
      index: stepRecords.length,
      kind: step.kind,
      description: view.doing,
      startedAtMs: t0 - startedAt,
      durationMs: 0,
      ok: true,
    };
    stepRecords.push(rec);
    if (steadyApi.from !== undefined && steadyApi.to === undefined && !CALM_STEPS.has(step.kind))
      steadyApi.to = fleet.state.stats();
    if (!tty) write(`${stamp(t0)} step ${rec.index + 1}: ${view.doing}`);
    try {
      const hit = await runStep(step, rec.index, fleet, monitor, keep, disruptions, signal, capAt, guarded);
      if (hit !== undefined && hit.length > 0) {
        rec.instanceId = hit.join(', ');
        rec.instanceIds = hit;
      }
    } catch (err) {
      rec.ok = false;
      rec.error = describeError(err);
      if (isAbort(err, signal)) {
        rec.error = 'stopped';
        return false;
      }
      fatal = `step ${rec.index + 1} (${view.doing}) failed: ${rec.error}`;
      write(`${stamp()} ${fatal}`);
      return false;
    } finally {
      rec.durationMs = Date.now() - t0;
    }
    if (step.kind === 'converge' && churnStartedAt === undefined) {
      churnStartedAt = Date.now();
      steadyApi.from = fleet.state.stats();
      workload.start();
    }
    return true;
  };

  try {
    // A rolling boot: one more instance each time the fleet has converged.
    if (!scenario.group.bootAllAtOnce) {
      for (let n = 2; n <= instances && !signal.aborted && fatal === undefined; n++) {
        view.doing = `boot: waiting for convergence with ${n - 1} instance(s), then launching one more`;
        try {
          await fleet.waitConverged({
            timeoutMs: Math.max(1000, Math.min(CONVERGE_TIMEOUT_MS, capAt - Date.now())),
            signal,
          });
          fleet.scaleTo(n);
        } catch (err) {
          if (!isAbort(err, signal)) fatal = `boot with ${n - 1} instance(s) failed: ${describeError(err)}`;
        }
      }
    }
    for (let i = lead; i < timeline.length && fatal === undefined && !signal.aborted; i++) {
      const step = timeline[i] as Step;
      view.stepIndex = i;
      if (step.kind !== 'chaos') {
        if (!(await exec(step))) break;
        continue;
      }
      const draw = chaosDraws(fleet.seed, step.choose);
      const forMs = opts.chaosForMs ?? step.forMs;
      const events = opts.chaosEvents ?? step.events;
      const until = forMs === undefined ? Infinity : Date.now() + forMs;
      if (events !== undefined) chaosPlanned += events;
      if (!tty) write(`${stamp()} ${describeStep(step)}`);
      let go = true;
      for (let n = 0; go && Date.now() < until && (events === undefined || n < events); n++) {
        const choice = draw();
        const t0 = Date.now();
        const rec: ChaosEventRecord = {
          n: chaosRecords.length + 1,
          kind: chaosKind(choice),
          description: describeStep(choice),
          startedAtMs: t0 - startedAt,
          episodeMs: 0,
          convergeMs: 0,
          ok: false,
        };
        chaosRecords.push(rec);
        if (!tty)
          write(`${stamp(t0)} chaos event ${rec.n}${events !== undefined ? `/${events}` : ''}: ${rec.kind}`);
        for (const s of choice.kind === 'episode' ? choice.steps : [choice]) {
          go = await exec(s);
          if (!go) break;
        }
        const t1 = Date.now();
        rec.episodeMs = t1 - t0;
        if (go)
          go = await exec({
            kind: 'converge',
            ...(step.convergeTimeoutMs !== undefined ? { timeoutMs: step.convergeTimeoutMs } : {}),
          });
        rec.convergeMs = Date.now() - t1;
        rec.ok = go;
        if (!go) rec.error = stepRecords[stepRecords.length - 1]?.error ?? 'stopped';
      }
      if (!go) break;
    }
  } finally {
    clearTimeout(capTimer);
  }

  view.doing = 'checking: reading every write back';
  const endedAt = Date.now();
  const finalStats = fleet.state.stats();
  const everyInstance = fleet.state.listInstances({ includeTerminated: true });
  const api = apiCallStats(finalStats, everyInstance);
  if (steadyApi.from !== undefined)
    api.steady = steadyApiStats(steadyApi.from, steadyApi.to ?? finalStats, everyInstance, startedAt);
  const firstLaunch = Math.min(...everyInstance.map((i) => i.launchedAt));
  const bootTimes =
    churnStartedAt !== undefined && Number.isFinite(firstLaunch)
      ? { firstLaunchAtMs: firstLaunch - startedAt, convergedAtMs: churnStartedAt - startedAt }
      : undefined;
  const resourceReport = resources.stop();
  const { convergence, snapshot: last } = await fleet.convergence();
  keep(last);
  const replacedWhileRunning = guardViolations(guarded, last, disruptions);
  const result = await workload.check(signal.aborted ? 10_000 : 30_000);
  await sampler.stop();
  clearInterval(renderTimer);
  if (tty) render();
  opts.signal?.removeEventListener('abort', onAbort);

  const decisions = fleet.agentIsEtcdSpot ? fleet.decisions() : [];
  const byTime = (a: number, b: number) => a - b;
  const events = measureEvents(disruptions, endedAt, startedAt, monitor, fleet.events, decisions, {
    acked: workload.acked.map((w) => w.at).sort(byTime),
    failed: workload.failures.map((w) => w.at).sort(byTime),
    stoppedAt: endedAt,
  });
  // Each event against the benchmark's targets (the same table and predicates: bench-stats.ts).
  const pollMs = fleet.agentIsEtcdSpot
    ? parseDuration(
        agentEnv[envVarFor(['agent', 'terminationPollInterval'])] ?? SIM_TERMINATION_POLL_INTERVAL,
      )
    : undefined;
  for (const e of events) e.targets = eventTargetChecks(disruptionMetrics(e), pollMs);
  const versions = await runVersions();
  const check = result.check;
  if (opts.keepHistory === true) {
    const tracePath = join(fleet.runDir, 'workload-trace.json');
    try {
      writeFileSync(
        tracePath,
        JSON.stringify({
          timeOrigin: performance.timeOrigin,
          history: result.history,
          endpointChanges: workload.endpointChanges,
        }),
      );
    } catch (err) {
      write(`could not write ${tracePath}: ${describeError(err)}`);
    }
  }
  const aborted = fatal ?? stopReason.text;
  const problems = [...convergence.problems, ...replacedWhileRunning];
  const lin = linearizabilityReport(result.linearizability, result.registerOps);
  if (lin.verdict !== 'ok') {
    // The whole history, one operation a line, to check again or by hand (`checkLinearizable`).
    const historyPath = join(fleet.runDir, 'history.jsonl');
    try {
      writeFileSync(historyPath, result.history.map((o) => JSON.stringify(o)).join('\n') + '\n');
      lin.historyFile = historyPath;
    } catch (err) {
      write(`could not write ${historyPath}: ${describeError(err)}`);
    }
  }
  // After a quorum-loss recovery writes may be lost on purpose (judged below); the register keys then
  // lose their history too, so only a run without a recovery is held to linearizability.
  const recoveries = measureRecoveries({
    decisions,
    acked: workload.acked,
    lostKeys: check.lost,
    leaderLostAt: monitor.leaderChanges.filter((c) => c.to === undefined).map((c) => c.at),
    disruptedAt: disruptions.map((d) => d.at),
    startedAt,
  });
  // After a quorum-loss recovery, writes that no surviving copy held are the physical minimum; any
  // acknowledged write lost that a surviving copy (a live member, the newest snapshot) held fails.
  const writesOk =
    check.ok ||
    (check.mismatched.length === 0 &&
      orderViolationsExplained(check.nonMonotonic, recoveries) &&
      recoveries.length > 0 &&
      lossesExplained(check.lost, recoveries));
  for (const r of recoveries)
    if (r.heldBySurvivor.length > 0)
      problems.push(
        `${r.heldBySurvivor.length} acknowledged write(s) lost that a surviving copy held (revision ≤ ${r.keptRevision ?? 'unknown'}): ${r.heldBySurvivor.slice(0, 5).join(', ')}`,
      );
  // A snapshot restore starts a new cluster (a new id) on purpose; anything beyond that is a split.
  const restores = recoveries.filter((r) => r.action === 'restore-snapshot').length;
  if (clusterIds.size > 1 + restores)
    problems.push(
      `${clusterIds.size} cluster ids were seen during the run (a split): ${[...clusterIds].join(', ')}`,
    );
  const linProblem = linearizabilityProblem(lin, recoveries.length);
  if (linProblem !== undefined) problems.push(linProblem);
  const verdict: Verdict = {
    pass:
      aborted === undefined &&
      convergence.converged &&
      clusterIds.size <= 1 + restores &&
      writesOk &&
      linProblem === undefined &&
      replacedWhileRunning.length === 0 &&
      result.readBackError === undefined &&
      stepRecords.every((s) => s.ok),
    converged: convergence.converged,
    problems,
    acknowledged: check.acknowledged,
    lost: check.lost.length,
    mismatched: check.mismatched.length,
    nonMonotonic: check.nonMonotonic.length,
    failed: check.failed,
    longestGapMs: check.longestGapMs,
    ...(result.readBackError !== undefined ? { readBackError: result.readBackError } : {}),
    linearizability: lin,
    events,
    ...(aborted !== undefined ? { aborted } : {}),
    api,
    resources: resourceReport,
  };
  const report: SimReport = {
    schemaVersion: 1,
    scenario: scenario.name,
    versions,
    ...(scenario.source !== undefined ? { scenarioFile: scenario.source } : {}),
    seed: fleet.seed,
    runDir: fleet.runDir,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: endedAt - startedAt,
    instances,
    maxVoters,
    ...(bootTimes !== undefined ? { boot: bootTimes } : {}),
    pass: verdict.pass,
    ...(aborted !== undefined ? { aborted } : {}),
    converged: convergence.converged,
    problems,
    agent: {
      etcdSpot: fleet.agentIsEtcdSpot,
      command: agentText,
      env: { ...scenario.agentEnv, ...opts.agentEnv },
    },
    workload: workloadSpec,
    linearizability: lin,
    writes: {
      acknowledged: check.acknowledged,
      lost: check.lost,
      failed: check.failed,
      longestGapMs: check.longestGapMs,
      mismatched: check.mismatched,
      nonMonotonic: check.nonMonotonic,
      failedByCode: check.failedByCode,
      ...(result.readBackError !== undefined ? { readBackError: result.readBackError } : {}),
    },
    availability: result.timeline.map((b) => ({ ...b, t: b.t - startedAt })),
    events,
    steps: stepRecords,
    leaderChanges: monitor.leaderChanges.map((c) => ({ atMs: c.at - startedAt, from: c.from, to: c.to })),
    clusterIds: [...clusterIds],
    api,
    resources: resourceReport,
    ...(recoveries.length > 0 ? { recovery: recoveries } : {}),
    ...(allSteps(timeline).some((s) => s.kind === 'chaos')
      ? {
          chaos: {
            ...summarizeChaos(chaosRecords, chaosPlanned > 0 ? chaosPlanned : undefined),
            draws: chaosRecords,
          },
        }
      : {}),
    instanceLogs: fleet.instanceLogs().map((l) => ({
      instanceId: l.instanceId,
      agentLog: l.agentLog,
      ...(existsSync(l.etcdLog) ? { etcdLog: l.etcdLog } : {}),
    })),
    ...(pollMs !== undefined ? { terminationPollMs: pollMs } : {}),
  };
  const verdictText = renderVerdict(verdict, {
    scenario: scenario.name,
    seed: fleet.seed,
    runDir: fleet.runDir,
    durationMs: endedAt - startedAt,
  });
  write(verdictText);
  if (report.chaos !== undefined) for (const line of chaosLines(report.chaos)) write(line);
  for (const line of recoveryLines(recoveries)) write(line);
  if (!verdict.pass) {
    write('--- trace (fleet events and the last agent decisions)');
    write(fleet.trace());
  }
  if (opts.reportPath !== undefined) {
    writeFileSync(opts.reportPath, `${JSON.stringify(report, null, 2)}\n`);
    write(`report written to ${opts.reportPath}`);
  }
  // The HTML report is cheap and is what a person opens first: always written, by default into the run dir.
  const htmlPath = opts.htmlPath ?? join(fleet.runDir, 'report.html');
  try {
    writeFileSync(
      htmlPath,
      renderHtmlReport(report, timelineFromSnapshots(snapshots, maxVoters), {
        decisions,
        // Links relative to the page, so that the run dir can be moved or served as a whole.
        logLinks: (report.instanceLogs ?? []).map((l) => ({
          instanceId: l.instanceId,
          agentLog: relative(dirname(htmlPath), l.agentLog),
          ...(l.etcdLog !== undefined ? { etcdLog: relative(dirname(htmlPath), l.etcdLog) } : {}),
        })),
      }),
    );
    write(`HTML report (open it in a browser): ${htmlPath}`);
  } catch (err) {
    write(`could not write the HTML report ${htmlPath}: ${describeError(err)}`);
  }
  await workload.close();
  // A passing run keeps its logs; its etcd data (64 MB of preallocated WAL per member) goes.
  if (!opts.keepFleet) await fleet.close({ removeData: verdict.pass });
  return { report, verdictText, fleet, timeline: snapshots };
}

function withUntil(fault: FaultSpec, durationMs: number | undefined, now: number): FaultSpec {
  return durationMs === undefined ? fault : { ...fault, untilMs: now + durationMs };
}

/**
 * Why the linearizability check fails the run, or undefined when it does not: a violation, or an
 * unknown (the search ran out of budget: not a proof). After a quorum-loss recovery the writes it lost
 * are judged by the recovery report instead, so the check is reported but does not decide.
 */
export function linearizabilityProblem(lin: LinearizabilityReport, recoveries: number): string | undefined {
  if (lin.verdict === 'ok' || recoveries > 0) return undefined;
  return lin.verdict === 'unknown'
    ? `linearizability unknown: the search ran out of its step budget on ${lin.unknownKeys.length} key(s) (${lin.unknownKeys.slice(0, 5).join(', ')})`
    : `not linearizable: ${lin.violations.map((v) => v.key).join(', ')}`;
}

/** A member whose instance a network fault or a pause hit: it must keep its member while the instance runs. */
export interface GuardedMember {
  step: number;
  instanceId: string;
  memberId: string;
}

/**
 * Members of instances that a partition, slow link, dropped connections or a pause hit, which are no
 * longer the same member although their instance still runs (and was not wiped or killed by a later
 * step): the agents removed or wiped a member that was only cut off or frozen.
 */
export function guardViolations(
  guarded: readonly GuardedMember[],
  last: FleetSnapshot,
  disruptions: readonly DisruptionRecord[],
): string[] {
  const out: string[] = [];
  for (const g of guarded) {
    const inst = last.instances.find((i) => i.id === g.instanceId);
    if (inst === undefined || inst.state !== 'running') continue;
    if (disruptions.some((d) => d.instanceId === g.instanceId && d.index > g.step && d.kind !== 'interrupt'))
      continue;
    const now = inst.etcd?.memberId;
    // Still listed but its etcd does not answer (e.g. crash-looping): not removed nor wiped; the
    // convergence check reports the member that does not serve.
    if (now === undefined && last.members.some((m) => m.id === g.memberId)) continue;
    if (now !== g.memberId)
      out.push(
        `${g.instanceId} still runs but its member ${g.memberId} (cut off or frozen at step ${g.step + 1}) is ${now === undefined ? 'not serving' : `now ${now}`}: removed or wiped while its instance ran`,
      );
  }
  return out;
}

/** Executes one step; returns the instances it hit, if any. */
async function runStep(
  step: Step,
  index: number,
  fleet: Fleet,
  monitor: Monitor,
  keep: (s: FleetSnapshot) => void,
  disruptions: DisruptionRecord[],
  signal: AbortSignal,
  capAt: number,
  guarded: GuardedMember[],
): Promise<string[] | undefined> {
  /** Remembers the members of instances a network fault or a pause hits (see guardViolations). */
  const guard = async (ids: string[]): Promise<void> => {
    const snap = await fleet.snapshot();
    monitor.observe(snap);
    keep(snap);
    for (const instanceId of ids) {
      const memberId = snap.instances.find((i) => i.id === instanceId)?.etcd?.memberId;
      if (
        memberId !== undefined &&
        !guarded.some((g) => g.instanceId === instanceId && g.memberId === memberId)
      )
        guarded.push({ step: index, instanceId, memberId });
    }
  };
  /** Writes down the disruption of each instance, from one snapshot taken just before. */
  const record = async (ids: (string | undefined)[], final = false): Promise<void> => {
    const snap = await fleet.snapshot();
    monitor.observe(snap);
    keep(snap);
    const at = Date.now();
    for (const instanceId of ids) {
      const member =
        instanceId === undefined ? undefined : snap.members.find((m) => m.instanceId === instanceId);
      disruptions.push({
        index,
        kind: step.kind,
        description: describeStep(step),
        at,
        ...(step.kind === 'interrupt' ? { noticeMs: step.noticeMs } : {}),
        targetVoters: fleet.expectedVoters(),
        instancesBefore: snap.instances.map((i) => i.id),
        ...(final ? { final } : {}),
        ...(instanceId !== undefined ? { instanceId } : {}),
        ...(member ? { memberId: member.id, wasLeader: member.role === 'leader' } : {}),
      });
    }
  };
  switch (step.kind) {
    case 'converge':
      await fleet.waitConverged({
        ...(step.voters !== undefined ? { voters: step.voters } : {}),
        timeoutMs: Math.max(1000, Math.min(step.timeoutMs ?? CONVERGE_TIMEOUT_MS, capAt - Date.now())),
        signal,
      });
      return undefined;
    case 'interrupt': {
      const ids = await fleet.pickMany(step.target, step.count ?? 1);
      await record(ids, true);
      for (const id of ids) await fleet.interrupt(id, { noticeMs: step.noticeMs });
      return ids;
    }
    case 'kill9': {
      const ids = await fleet.pickMany(step.target, step.count ?? 1);
      await record(ids, step.instanceGone);
      await Promise.all(ids.map((id) => fleet.kill9(id, { instanceGone: step.instanceGone })));
      return ids;
    }
    case 'wipe': {
      const ids = await fleet.pickMany(step.target, step.count ?? 1);
      await record(ids);
      await Promise.all(ids.map((id) => fleet.wipe(id)));
      return ids;
    }
    case 'scale':
      await record([undefined]);
      fleet.scaleTo(step.to);
      return undefined;
    case 'instance-refresh':
      await record([undefined]);
      await fleet.instanceRefresh({ warmupMs: step.warmupMs, signal });
      return undefined;
    case 'fault': {
      const instanceId = step.instance === undefined ? undefined : await fleet.pick(step.instance);
      const fault = withUntil(step.fault, step.durationMs, Date.now());
      fleet.fault(step.route as FaultRoute, instanceId !== undefined ? { ...fault, instanceId } : fault);
      return instanceId === undefined ? undefined : [instanceId];
    }
    case 'clear-faults':
      fleet.clearFaults();
      return undefined;
    case 'reuse-ip':
      fleet.setIpReuse(step.enabled ? 'prefer' : 'never');
      return undefined;
    case 'sleep':
      await delay(step.ms, undefined, { signal });
      return undefined;
    case 'partition': {
      const ids = await fleet.pickMany(step.target, step.count ?? 1);
      await guard(ids);
      fleet.partition(ids, step.direction);
      return ids;
    }
    case 'latency': {
      const ids = await fleet.pickMany(step.target, step.count ?? 1);
      await guard(ids);
      fleet.addLatency(ids, step.delayMs, step.jitterMs);
      return ids;
    }
    case 'drop': {
      const ids = await fleet.pickMany(step.target, step.count ?? 1);
      await guard(ids);
      fleet.dropConnections(ids, step.fraction);
      return ids;
    }
    case 'heal':
      fleet.heal();
      return undefined;
    case 'pause': {
      const id = await fleet.pick(step.target);
      await guard([id]);
      fleet.pause(id, step.process);
      return [id];
    }
    case 'resume':
      fleet.resume();
      return undefined;
    case 'fill-disk': {
      const id = await fleet.pick(step.target);
      await guard([id]);
      fleet.fillDisk(id);
      return [id];
    }
    case 'free-disk':
      fleet.freeDisks();
      return undefined;
    case 'clock-step': {
      const id = await fleet.pick(step.target);
      // A stepped clock must cost no member: the stepped agent's own, nor any other it might misjudge.
      const running = (await fleet.snapshot()).instances
        .filter((i) => i.state === 'running')
        .map((i) => i.id);
      await guard(running);
      fleet.stepClock(id, step.byMs);
      return [id];
    }
    case 'chaos':
    case 'episode':
      throw new Error(`a ${step.kind} step is expanded by the runner, not run as one step`);
  }
}

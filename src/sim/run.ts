/**
 * Runs one scenario end to end: a fleet, a writer holding all endpoints, the scenario's steps, a
 * monitor that samples the fleet every 250 ms, a live view, then the verdict (converged? acknowledged
 * writes lost? per-event timings) and an optional JSON report.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../core/errors.ts';
import { Fleet } from './fleet.ts';
import type { FleetEvent, FleetOptions } from './fleet.ts';
import { measureDisruption } from './measure.ts';
import type { DisruptionRecord, EventTimings } from './measure.ts';
import { Monitor } from './monitor.ts';
import { FleetSampler } from './sampler.ts';
import { describeStep } from './scenario.ts';
import type { Scenario, Step } from './scenario.ts';
import { progressLine, renderVerdict, renderView } from './view.ts';
import type { Verdict, ViewState } from './view.ts';
import { Workload } from './workload.ts';
import type { AvailabilityBucket } from './workload.ts';

export interface SimRunOptions {
  scenario: Scenario;
  /** Group size (default: the scenario's). */
  instances?: number;
  maxVoters?: number;
  /** Cap or churn time, as the scenario defines (default: the scenario's). */
  durationMs?: number;
  seed?: number;
  ipPrefix?: string;
  /** Write the JSON report here. */
  reportPath?: string;
  /** Where the live view / progress lines go (default process.stdout). */
  out?: NodeJS.WritableStream;
  /** Redraw a live view (default: whether `out` is a TTY). */
  tty?: boolean;
  /** Aborting stops the scenario; the verdict so far is still computed. */
  signal?: AbortSignal;
  /** Concurrent writers (default 4). */
  writers?: number;
  /** Leave the fleet running (the caller closes it). */
  keepFleet?: boolean;
  /** Passed through to the fleet (tests: agent command, env). */
  fleet?: Partial<FleetOptions>;
}

export interface StepRecord {
  index: number;
  description: string;
  startedAtMs: number;
  durationMs: number;
  ok: boolean;
  skipped?: boolean;
  error?: string;
  instanceId?: string;
}

export interface SimReport {
  scenario: string;
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
}

export interface SimRunResult {
  report: SimReport;
  verdictText: string;
  fleet: Fleet;
}

const MONITOR_INTERVAL_MS = 250;
const CONVERGE_TIMEOUT_MS = 180_000;

/** A rejected promise that carries an abort, told apart from a real failure. */
function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (err instanceof Error && err.name === 'AbortError');
}

export async function runSim(opts: SimRunOptions): Promise<SimRunResult> {
  const scenario = opts.scenario;
  const out = opts.out ?? process.stdout;
  const tty = opts.tty ?? (out as { isTTY?: boolean }).isTTY === true;
  const instances = opts.instances ?? scenario.instances;
  const maxVoters = opts.maxVoters ?? 5;
  const durationMs = opts.durationMs ?? scenario.defaultDurationMs;
  const startedAt = Date.now();
  const capMs = scenario.durationMeaning === 'cap' ? durationMs : durationMs + 180_000;
  const capAt = startedAt + capMs;
  const write = (s: string) => void out.write(s.endsWith('\n') ? s : `${s}\n`);

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

  const onEvent = (e: FleetEvent) => {
    if (!tty) write(`[+${((e.at - startedAt) / 1000).toFixed(1)}s] ${e.text}`);
  };
  const fleet = await Fleet.start({
    instances,
    maxVoters,
    label: scenario.name,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.ipPrefix !== undefined ? { ipPrefix: opts.ipPrefix } : {}),
    ...opts.fleet,
    onEvent: (e) => {
      onEvent(e);
      opts.fleet?.onEvent?.(e);
    },
  });
  write(
    `etcd-spot sim: scenario ${scenario.name}, seed ${fleet.seed}, ${instances} instances, run dir ${fleet.runDir}`,
  );
  write(`  ${scenario.description}`);

  const monitor = new Monitor(maxVoters);
  const workload = new Workload({ writers: opts.writers ?? 4, runId: `s${fleet.seed}` });
  const steps = scenario.steps({ seed: fleet.seed, durationMs, instances });
  const stepRecords: StepRecord[] = [];
  const disruptions: DisruptionRecord[] = [];
  const view = { stepIndex: 0, doing: 'starting' };
  const sampler = new FleetSampler({ fleet, monitor, workload, intervalMs: MONITOR_INTERVAL_MS });
  sampler.start();
  let churnStartedAt: number | undefined;

  const viewState = (): ViewState => ({
    scenario: scenario.name,
    seed: fleet.seed,
    runDir: fleet.runDir,
    startedAt,
    now: Date.now(),
    capAt,
    stepIndex: view.stepIndex,
    stepCount: steps.length,
    doing: view.doing,
    snapshot: monitor.lastSnapshot,
    writes: workload.stats(),
    leaderChanges: monitor.leaderChanges.length,
    belowTargetMs:
      churnStartedAt === undefined ? 0 : monitor.belowTargetMsBetween(churnStartedAt, Date.now()),
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

  let fatal: string | undefined;
  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as Step;
      if (signal.aborted) break;
      view.stepIndex = i;
      view.doing = describeStep(step);
      const t0 = Date.now();
      const rec: StepRecord = {
        index: i,
        description: view.doing,
        startedAtMs: t0 - startedAt,
        durationMs: 0,
        ok: true,
      };
      stepRecords.push(rec);
      const churnOver =
        scenario.durationMeaning === 'churn' &&
        churnStartedAt !== undefined &&
        t0 - churnStartedAt > durationMs;
      if (churnOver && step.kind !== 'converge' && i < steps.length - 1) {
        rec.skipped = true;
        continue;
      }
      if (!tty)
        write(`[+${((t0 - startedAt) / 1000).toFixed(1)}s] step ${i + 1}/${steps.length}: ${view.doing}`);
      try {
        const hit = await runStep(step, i, fleet, monitor, disruptions, signal, capAt);
        if (hit !== undefined) rec.instanceId = hit;
      } catch (err) {
        rec.ok = false;
        rec.error = describeError(err);
        if (isAbort(err, signal)) {
          rec.error = 'stopped';
          break;
        }
        fatal = `step ${i + 1} (${view.doing}) failed: ${rec.error}`;
        write(`[+${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${fatal}`);
        break;
      } finally {
        rec.durationMs = Date.now() - t0;
      }
      if (step.kind === 'converge' && churnStartedAt === undefined) {
        churnStartedAt = Date.now();
        workload.start();
      }
    }
  } finally {
    clearTimeout(capTimer);
  }

  view.doing = 'checking: reading every write back';
  const endedAt = Date.now();
  const { convergence } = await fleet.convergence();
  const result = await workload.check(signal.aborted ? 10_000 : 30_000);
  await sampler.stop();
  clearInterval(renderTimer);
  if (tty) render();
  opts.signal?.removeEventListener('abort', onAbort);

  const decisions = fleet.decisions();
  const events = disruptions.map((d, k) =>
    measureDisruption(d, disruptions[k + 1]?.at ?? endedAt, startedAt, monitor, fleet.events, decisions),
  );
  const check = result.check;
  const aborted = fatal ?? stopReason.text;
  const verdict: Verdict = {
    pass:
      aborted === undefined &&
      convergence.converged &&
      check.ok &&
      result.readBackError === undefined &&
      stepRecords.every((s) => s.ok),
    converged: convergence.converged,
    problems: convergence.problems,
    acknowledged: check.acknowledged,
    lost: check.lost.length,
    mismatched: check.mismatched.length,
    nonMonotonic: check.nonMonotonic.length,
    failed: check.failed,
    longestGapMs: check.longestGapMs,
    ...(result.readBackError !== undefined ? { readBackError: result.readBackError } : {}),
    events,
    ...(aborted !== undefined ? { aborted } : {}),
  };
  const report: SimReport = {
    scenario: scenario.name,
    seed: fleet.seed,
    runDir: fleet.runDir,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: endedAt - startedAt,
    instances,
    maxVoters,
    pass: verdict.pass,
    ...(aborted !== undefined ? { aborted } : {}),
    converged: convergence.converged,
    problems: convergence.problems,
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
  };
  const verdictText = renderVerdict(verdict, {
    scenario: scenario.name,
    seed: fleet.seed,
    runDir: fleet.runDir,
    durationMs: endedAt - startedAt,
  });
  write(verdictText);
  if (!verdict.pass) {
    write('--- trace (fleet events and the last agent decisions)');
    write(fleet.trace());
  }
  if (opts.reportPath !== undefined) {
    writeFileSync(opts.reportPath, `${JSON.stringify(report, null, 2)}\n`);
    write(`report written to ${opts.reportPath}`);
  }
  await workload.close();
  // A passing run keeps its logs; its etcd data (64 MB of preallocated WAL per member) goes.
  if (!opts.keepFleet) await fleet.close({ removeData: verdict.pass });
  return { report, verdictText, fleet };
}

/** Executes one step; returns the instance it hit, if any. */
async function runStep(
  step: Step,
  index: number,
  fleet: Fleet,
  monitor: Monitor,
  disruptions: DisruptionRecord[],
  signal: AbortSignal,
  capAt: number,
): Promise<string | undefined> {
  const record = async (instanceId: string | undefined, final = false): Promise<DisruptionRecord> => {
    const snap = await fleet.snapshot();
    monitor.observe(snap);
    const member =
      instanceId === undefined ? undefined : snap.members.find((m) => m.instanceId === instanceId);
    const rec: DisruptionRecord = {
      index,
      kind: step.kind,
      description: describeStep(step),
      at: Date.now(),
      instancesBefore: snap.instances.map((i) => i.id),
      ...(final ? { final } : {}),
      ...(instanceId !== undefined ? { instanceId } : {}),
      ...(member ? { memberId: member.id, wasLeader: member.role === 'leader' } : {}),
    };
    disruptions.push(rec);
    return rec;
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
      const id = await fleet.pick(step.target);
      await record(id, true);
      await fleet.interrupt(id, { noticeMs: step.noticeMs });
      return id;
    }
    case 'kill9': {
      const id = await fleet.pick(step.target);
      await record(id, step.instanceGone);
      await fleet.kill9(id, { instanceGone: step.instanceGone });
      return id;
    }
    case 'wipe': {
      const id = await fleet.pick(step.target);
      await record(id);
      await fleet.wipe(id);
      return id;
    }
    case 'scale':
      await record(undefined);
      fleet.scaleTo(step.to);
      return undefined;
    case 'fault':
      fleet.fault(step.route, step.fault);
      return undefined;
    case 'clear-faults':
      fleet.clearFaults();
      return undefined;
    case 'sleep':
      await delay(step.ms, undefined, { signal });
      return undefined;
  }
}

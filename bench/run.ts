/**
 * `npm run bench`: etcd-spot's agent and the seed baseline side by side on the fleet simulator's
 * standard scenarios, each repeated, one run at a time; writes BENCHMARKS.md and a JSON of every
 * number behind it.
 *
 *   node --import tsx bench/run.ts [--quick] [--repeats N] [--seed-repeats N] [--only etcd-spot|etcd-spot-defaults|seed]
 *                                  [--scenario id[,id…]] [--seed N] [--out BENCHMARKS.md] [--json file]
 *
 * Every run is its own process (bench/run-one.ts) on its own loopback prefix (127.0.70 … 127.0.79 in
 * turn), with a deadline; a run that fails is reported as failed with its reason. Ctrl-C stops the
 * current run, and the document is written from the runs done so far; a second Ctrl-C kills at once.
 *
 * BENCHMARKS.md: a bench rewrites only what it ran. The standard rows are the main part; the
 * quorum-loss rows (majority-lost, all-lost) are the marked "recovery" section; every other marked
 * section (agent footprint, snapshot memory) is carried over unchanged.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError } from '../src/core/errors.ts';
import { SPOT_ROUTES } from '../src/emulator/types.ts';
import { fewestHealthyVoters, runMetrics } from '../src/sim/bench-stats.ts';
import { mergeDocument } from '../src/sim/bench-doc-sections.ts';
import { withSummaries } from './assemble.ts';
import type { BenchReportInput, RunOutcome } from '../src/sim/bench-stats.ts';
import { AGENTS, AGENT_DESCRIPTIONS, REPO, resolveScenario } from './agents.ts';
import type { AgentName, ResolvedScenario, RunSpec } from './agents.ts';
import { renderMarkdown, renderRecoverySection } from './markdown.ts';
import type { BenchResults, BenchRun, MachineInfo, ScenarioInfo } from './results.ts';
import type { RunOneResult } from './run-one.ts';
import { BENCH_SCENARIOS, recoveryKindOf, rowKindOf } from './scenarios.ts';

const USAGE = `usage: npm run bench -- [--quick] [--repeats N] [--seed-repeats N] [--only etcd-spot|etcd-spot-defaults|seed]
                         [--scenario id[,id...]] [--seed N] [--out BENCHMARKS.md] [--json bench-results.json]
  --quick       1 repeat of the two 15 s interruptions only
  --repeats N   runs per scenario and agent (default: BENCH_REPEATS or 3)
  --seed-repeats N  runs per scenario for the seed, at most --repeats (its failing runs last until the cap)
  --only A      run one agent only
  --scenario    only these rows (${BENCH_SCENARIOS.map((s) => s.id).join(', ')})
  --seed N      base seed (default 1000); run r of scenario k uses seed N + 100·k + r, for both agents
  --out FILE    the document (default BENCHMARKS.md)
  --json FILE   also write every number as JSON here (always written to the bench's run directory)
  --from-json F render F (a bench-results.json) into --out again, without running anything`;

/** Time a run may take beyond its scenario's cap: boot, the final read-back (≤ 30 s) and cleanup. */
const RUN_SLACK_MS = 180_000;
/** After asking a run to stop: how long before asking again (kill all), then SIGKILL. */
const STOP_GRACE_MS = 90_000;
const KILL_GRACE_MS = 15_000;

class UsageError extends Error {}

const readIfExists = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');

interface Options {
  quick: boolean;
  repeats: number;
  /** Fewer runs per scenario for some agents (`--seed-repeats`). */
  repeatsByAgent: Partial<Record<AgentName, number>>;
  agents: AgentName[];
  scenarios: string[];
  seed: number;
  out: string;
  json?: string;
  /** Render a saved bench-results.json again instead of running. */
  fromJson?: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      'seed-repeats': { type: 'string' },
      only: { type: 'string' },
      scenario: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string', default: 'BENCHMARKS.md' },
      json: { type: 'string' },
      'from-json': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new UsageError('');
  const whole = (name: string, raw: string | undefined, def: number, min: number): number => {
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`${name} must be a whole number ≥ ${min} (got ${raw})`);
    return n;
  };
  const repeats = values.quick
    ? whole('--repeats', values.repeats, 1, 1)
    : whole('--repeats', values.repeats ?? process.env.BENCH_REPEATS, 3, 1);
  let agents: AgentName[] = [...AGENTS];
  if (values.only !== undefined) {
    if (!(AGENTS as readonly string[]).includes(values.only))
      throw new UsageError(`--only must be one of ${AGENTS.join(', ')} (got ${values.only})`);
    agents = [values.only as AgentName];
  }
  let scenarios = BENCH_SCENARIOS.filter((s) => !values.quick || s.quick).map((s) => s.id);
  if (values.scenario !== undefined) {
    const want = values.scenario.split(',').map((s) => s.trim());
    const unknown = want.filter((w) => !BENCH_SCENARIOS.some((s) => s.id === w));
    if (unknown.length > 0)
      throw new UsageError(
        `unknown --scenario ${unknown.join(', ')}; choose from ${BENCH_SCENARIOS.map((s) => s.id).join(', ')}`,
      );
    scenarios = BENCH_SCENARIOS.map((s) => s.id).filter((id) => want.includes(id));
  }
  const seedRepeats = whole('--seed-repeats', values['seed-repeats'], repeats, 1);
  if (seedRepeats > repeats)
    throw new UsageError(`--seed-repeats must be at most --repeats (${repeats}); got ${seedRepeats}`);
  return {
    quick: values.quick,
    repeats,
    repeatsByAgent: seedRepeats < repeats && agents.includes('seed') ? { seed: seedRepeats } : {},
    agents,
    scenarios,
    seed: whole('--seed', values.seed, 1000, 0),
    out: resolve(values.out),
    ...(values.json !== undefined ? { json: resolve(values.json) } : {}),
    ...(values['from-json'] !== undefined ? { fromJson: resolve(values['from-json']) } : {}),
  };
}

// ------------------------------------------------------------------------------------ machine

function firstLine(cmd: string, args: string[]): string {
  try {
    return (
      execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')[0]
        ?.trim() ?? ''
    );
  } catch (err) {
    return `unknown (${describeError(err)})`;
  }
}

function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    // not Linux
  }
  const head = firstLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  let dirty = '';
  try {
    dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain'], {
      encoding: 'utf8',
      timeout: 10_000,
    }).trim()
      ? ' with uncommitted changes'
      : '';
  } catch {
    // not a git checkout
  }
  return {
    nproc: availableParallelism(),
    memoryMb: Math.round(totalmem() / 2 ** 20),
    cpuModel,
    node: process.version,
    etcd: firstLine('etcd', ['--version']).replace(/^etcd Version:\s*/, ''),
    kernel: release(),
    commit: `${head}${dirty}`,
  };
}

// ------------------------------------------------------------------------------------ one run

interface Child {
  /** SIGINT: the first stops the run (verdict still written), the second kills its processes at once. */
  stop(): void;
  kill(): void;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startRun(specPath: string, logPath: string): Child {
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'run-one.ts'), specPath], {
    cwd: REPO,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('exit', (code, signal) => res({ code, signal }));
    child.on('error', () => res({ code: -1, signal: null }));
  });
  return {
    stop: () => {
      try {
        child.kill('SIGINT');
      } catch {
        // gone
      }
    },
    kill: () => {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    },
    done,
  };
}

/** Runs one spec with a deadline; resolves with what run-one.ts wrote, or why there is nothing. */
async function runOne(
  spec: RunSpec,
  specPath: string,
  logPath: string,
  deadlineMs: number,
  onChild: (c: Child | undefined) => void,
): Promise<{ result?: RunOneResult; error?: string; wallMs: number }> {
  writeFileSync(specPath, `${JSON.stringify(spec, null, 2)}\n`);
  const t0 = Date.now();
  const child = startRun(specPath, logPath);
  onChild(child);
  let timedOut = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  timers.push(
    setTimeout(() => {
      timedOut = true;
      child.stop();
      timers.push(
        setTimeout(() => {
          child.stop();
          timers.push(setTimeout(() => child.kill(), KILL_GRACE_MS));
        }, STOP_GRACE_MS),
      );
    }, deadlineMs),
  );
  const exit = await child.done;
  for (const t of timers) clearTimeout(t);
  onChild(undefined);
  const wallMs = Date.now() - t0;
  let result: RunOneResult | undefined;
  if (existsSync(spec.resultPath)) {
    try {
      result = JSON.parse(readFileSync(spec.resultPath, 'utf8')) as RunOneResult;
    } catch (err) {
      return { error: `unreadable result ${spec.resultPath}: ${describeError(err)}`, wallMs };
    }
  }
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  if (result === undefined) {
    return {
      error: `${timedOut ? `deadline of ${Math.round(deadlineMs / 1000)} s passed; ` : ''}no result (${how}); see ${relative(REPO, logPath)}`,
      wallMs,
    };
  }
  if (timedOut && result.report !== undefined) {
    result.report.aborted ??= `stopped by the bench's deadline of ${Math.round(deadlineMs / 1000)} s`;
  }
  return { result, wallMs };
}

/** The report with each event's notice (from the scenario's step) filled in. */
function withNotices(result: RunOneResult): BenchReportInput | undefined {
  const r = result.report;
  if (r === undefined) return undefined;
  const notices = result.notices ?? {};
  return { ...r, events: r.events.map((e) => ({ ...e, noticeMs: notices[e.step] })) };
}

/**
 * The parts of BENCHMARKS.md a bench rewrites: the main part when it ran any standard row, the
 * "recovery" section when it ran any quorum-loss row.
 */
function documentParts(doc: BenchResults): Parameters<typeof mergeDocument>[1] {
  const standard = doc.options.scenarios.some((id) => recoveryKindOf(id) === undefined);
  const recovery = renderRecoverySection(doc);
  return {
    ...(standard ? { main: renderMarkdown(doc) } : {}),
    ...(recovery ? { sections: [recovery] } : {}),
  };
}

function oneLine(o: RunOutcome): string {
  if (o.metrics === undefined) return `FAILED: ${o.error ?? 'no report'}`;
  const m = o.metrics;
  const rec = m.recovery;
  if (rec !== undefined) {
    return [
      m.passed ? 'pass' : `did not pass (${m.stopped ?? (m.converged ? 'verdict FAIL' : 'not converged')})`,
      `recovery: ${rec.actions.join(' + ') || 'none'}`,
      rec.toWritableMs !== undefined
        ? `writable again ${Math.round(rec.toWritableMs)} ms after ${rec.kind === 'majority-lost' ? 'termination' : 'the first replacement'}`
        : rec.writableAgainAtMs === undefined
          ? 'never writable again'
          : 'writable again (start point unknown)',
      rec.lost === undefined
        ? 'writes not read back'
        : `${rec.lost} lost (${rec.lostNoCopy} on no surviving copy, ${rec.lostHeld ?? '?'} held)`,
    ].join(', ');
  }
  if (m.row === 'boot' || m.row === 'steady') {
    return [
      m.passed ? 'pass' : `did not pass (${m.stopped ?? (m.converged ? 'verdict FAIL' : 'not converged')})`,
      m.bootConvergedMs !== undefined ? `launch → converged ${Math.round(m.bootConvergedMs)} ms` : '',
      m.steadyApiPerInstanceMin !== undefined
        ? `calm stretch: ${m.steadyApiPerInstanceMin} Spot calls per instance-minute`
        : '',
      `${m.lost ?? '?'} lost`,
    ]
      .filter((x) => x)
      .join(', ');
  }
  const d = m.disruptions[0];
  const parts = [
    m.passed ? 'pass' : `did not pass (${m.stopped ?? (m.converged ? 'verdict FAIL' : 'not converged')})`,
    d?.removedAfterMs !== undefined
      ? `removed after ${Math.round(d.removedAfterMs)} ms`
      : 'member not removed',
    `${d?.failedWrites ?? m.failedWrites} failed write(s)`,
    `longest gap ${Math.round(d?.longestGapMs ?? m.longestGapMs)} ms`,
    `${m.lost ?? '?'} lost`,
  ];
  const fewest = fewestHealthyVoters(m);
  if (m.row === 'interrupt-all' && fewest !== undefined) parts.push(`fewest healthy voters ${fewest}`);
  return parts.join(', ');
}

// ------------------------------------------------------------------------------------ main

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      if (err.message === '') {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.fromJson !== undefined) {
    const saved = JSON.parse(readFileSync(opts.fromJson, 'utf8')) as BenchResults;
    const doc = { ...withSummaries(saved), renderedFrom: relative(REPO, opts.fromJson) };
    writeFileSync(opts.out, mergeDocument(readIfExists(opts.out), documentParts(doc)));
    if (opts.json) writeFileSync(opts.json, `${JSON.stringify(doc, null, 2)}\n`);
    process.stdout.write(
      `bench: rendered ${relative(process.cwd(), opts.fromJson)} into ${relative(process.cwd(), opts.out)}\n`,
    );
    return 0;
  }
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const benchDir = join(REPO, '.runs', `bench-${stamp}`);
  mkdirSync(benchDir, { recursive: true });
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const machine = machineInfo();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`bench: ${machine.nproc} CPUs, ${machine.cpuModel}, ${machine.node}, ${machine.etcd}`);

  // Which file each row runs (resolved once here for the document; each run resolves it again).
  const resolved = new Map<string, ResolvedScenario | Error>();
  for (const id of opts.scenarios) {
    try {
      resolved.set(id, resolveScenario(id));
    } catch (err) {
      resolved.set(id, err instanceof Error ? err : new Error(String(err)));
    }
  }

  interface Planned {
    spec: RunSpec;
    index: number;
  }
  const plan: Planned[] = [];
  for (let r = 0; r < opts.repeats; r++) {
    opts.scenarios.forEach((id) => {
      const k = BENCH_SCENARIOS.findIndex((s) => s.id === id);
      const rowAgents = BENCH_SCENARIOS[k]?.agents;
      for (const agent of r % 2 === 0 ? opts.agents : [...opts.agents].reverse()) {
        if (r >= (opts.repeatsByAgent[agent] ?? opts.repeats)) continue;
        if (rowAgents !== undefined && !rowAgents.includes(agent)) continue;
        // The seed's scripts speak plain HTTP: a TLS row measures etcd-spot alone.
        const res = resolved.get(id);
        if (agent === 'seed' && res !== undefined && !(res instanceof Error) && res.scenario.tls) continue;
        const index = plan.length;
        const name = `${String(index + 1).padStart(2, '0')}-${id}-${agent}-r${r + 1}`;
        plan.push({
          index,
          spec: {
            scenarioId: id,
            agent,
            repeat: r,
            seed: opts.seed + 100 * k + r,
            ipPrefix: `127.0.${200 + (index % 10)}`, // clear of the test suites' fixed prefixes (127.0.2x–11x)
            resultPath: join(benchDir, `${name}.json`),
          },
        });
      }
    });
  }
  say(
    `bench: ${plan.length} run(s): ${opts.scenarios.join(', ')} × ${opts.agents.join(' & ')} × ${opts.repeats} repeat(s)${opts.repeatsByAgent.seed !== undefined ? ` (seed: ${opts.repeatsByAgent.seed})` : ''}; logs in ${relative(REPO, benchDir)}`,
  );

  let current: Child | undefined;
  let interrupted: string | undefined;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    interrupted ??= `stopped by ${sig}`;
    if (signals === 1)
      say(`\nbench: ${sig}: stopping the current run; the document is written from the runs done`);
    current?.stop();
    if (signals >= 3) process.kill(process.pid, 'SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const runs: BenchRun[] = [];
  const results: RunOneResult[] = [];
  for (const { spec, index } of plan) {
    if (interrupted) break;
    const label = `[${index + 1}/${plan.length}] ${spec.scenarioId} · ${spec.agent} · repeat ${spec.repeat + 1}`;
    const res = resolved.get(spec.scenarioId);
    const logPath = spec.resultPath.replace(/\.json$/, '.log');
    const base: BenchRun = {
      scenarioId: spec.scenarioId,
      agent: spec.agent,
      repeat: spec.repeat,
      seed: spec.seed,
      ipPrefix: spec.ipPrefix,
      logPath: relative(REPO, logPath),
    };
    if (res === undefined || res instanceof Error) {
      const why = res?.message ?? 'not resolved';
      runs.push({ ...base, error: `scenario not loadable: ${why}` });
      say(`${label}: FAILED: scenario not loadable: ${why}`);
      continue;
    }
    process.stdout.write(`${label} (${res.source}, ${spec.ipPrefix}.x) … `);
    const deadline = res.scenario.durationMs + RUN_SLACK_MS;
    const out = await runOne(
      spec,
      spec.resultPath.replace(/\.json$/, '.spec.json'),
      logPath,
      deadline,
      (c) => {
        current = c;
        if (c && interrupted) c.stop();
      },
    );
    const run: BenchRun = { ...base, wallMs: out.wallMs };
    if (out.result) {
      results.push(out.result);
      if (out.result.scenarioSource) run.scenarioSource = out.result.scenarioSource;
      if (out.result.report) run.runDir = relative(REPO, out.result.report.runDir);
      const input = withNotices(out.result);
      const recovery = recoveryKindOf(spec.scenarioId);
      const row = rowKindOf(spec.scenarioId);
      if (input)
        run.metrics = runMetrics(input, {
          spotRoutes: SPOT_ROUTES,
          ...(recovery ? { recovery } : {}),
          ...(row ? { row } : {}),
        });
      else run.error = out.result.error ?? 'no report';
    } else run.error = out.error ?? 'no result';
    if (interrupted && run.metrics && !run.metrics.passed) {
      // A run the user stopped says nothing about the agent: leave it out.
      say(`stopped (${(out.wallMs / 1000).toFixed(0)} s), not counted`);
      break;
    }
    runs.push(run);
    say(`${oneLine(run)} (${(out.wallMs / 1000).toFixed(0)} s)`);
    writeDocs(false); // after every run, into the bench's directory, so a killed bench still leaves its numbers
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const final = writeDocs(true);
  say(
    `bench: wrote ${relative(process.cwd(), opts.out) || opts.out}${opts.json ? ` and ${relative(process.cwd(), opts.json)}` : ''} (${(final.wallMs / 60_000).toFixed(1)} min)`,
  );
  const standard = opts.scenarios.some((id) => recoveryKindOf(id) === undefined);
  for (const t of [...(standard ? final.targets : []), ...(final.recoveryTargets ?? [])])
    say(`  ${t.agent.padEnd(9)} ${t.status.padEnd(12)} ${t.id}: ${t.detail}`);
  return 0;

  /** Writes the JSON and the document into the bench's directory, and with `final` to --out / --json. */
  function writeDocs(final: boolean): BenchResults {
    const finishedAt = new Date();
    const scenarios: ScenarioInfo[] = opts.scenarios.map((id) => {
      const res = resolved.get(id);
      const mine = results.filter((x) => x.spec.scenarioId === id);
      const sources = [
        ...new Set(mine.map((x) => x.scenarioSource).filter((x): x is string => x !== undefined)),
      ];
      const notes = [...new Set(mine.map((x) => x.scenarioNote).filter((x): x is string => x !== undefined))];
      const disruption =
        mine.find((x) => x.disruption)?.disruption ?? (res instanceof Error ? undefined : res?.disruption);
      const wl = mine.find((x) => x.report?.workload)?.report?.workload;
      return {
        id,
        ...(wl
          ? {
              workload: `${wl.writers} writers, ${wl.writesPerSecond > 0 ? `${wl.writesPerSecond} writes/s in all` : 'as fast as they can'}${wl.valueSize > 0 ? `, ${wl.valueSize}-byte values` : ''}`,
            }
          : {}),
        title: `${id}: ${disruption ?? 'scenario not loadable'}`,
        what: res instanceof Error ? `not loadable: ${res.message}` : (res?.scenario.description ?? ''),
        sources: sources.length > 0 ? sources : res instanceof Error || res === undefined ? [] : [res.source],
        notes: notes.length > 0 ? notes : res instanceof Error || res?.note === undefined ? [] : [res.note],
        ...(res !== undefined && !(res instanceof Error) && Object.keys(res.scenario.agentEnv).length > 0
          ? { agentEnv: { ...res.scenario.agentEnv } }
          : {}),
      };
    });
    const pollOf = (a: AgentName) => [
      ...new Set(
        results
          .filter((x) => x.spec.agent === a && x.terminationPollMs !== undefined)
          .map((x) => x.terminationPollMs as number),
      ),
    ];
    const doc = withSummaries({
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      wallMs: finishedAt.getTime() - startedAt.getTime(),
      command,
      machine,
      options: {
        repeats: opts.repeats,
        quick: opts.quick,
        ...(opts.agents.length === 1 ? { only: opts.agents[0] } : {}),
        scenarios: opts.scenarios,
        agents: opts.agents,
        ...(Object.keys(opts.repeatsByAgent).length > 0
          ? { repeatsByAgent: opts.repeatsByAgent as Record<string, number> }
          : {}),
      },
      ...(interrupted ? { interrupted } : {}),
      plannedRuns: plan.length,
      agents: opts.agents.map((a) => {
        const seen = [
          ...new Set(results.filter((x) => x.spec.agent === a).flatMap((x) => x.seedPollSeenS ?? [])),
        ];
        return {
          name: a,
          description: AGENT_DESCRIPTIONS[a],
          terminationPollMs: pollOf(a),
          ...(a === 'seed' ? { seedPollSeenS: seen } : {}),
        };
      }),
      scenarios,
      runs,
      benchDir: relative(REPO, benchDir),
    });
    const json = `${JSON.stringify(doc, null, 2)}\n`;
    writeFileSync(join(benchDir, 'bench-results.json'), json);
    writeFileSync(join(benchDir, 'BENCHMARKS.md'), mergeDocument('', documentParts(doc)));
    if (final) {
      if (opts.json) writeFileSync(opts.json, json);
      // Only what this bench ran is rewritten; the footprint and snapshot-memory sections come from
      // their own tools, and rows not run keep their previous figures.
      writeFileSync(opts.out, mergeDocument(readIfExists(opts.out), documentParts(doc)));
    }
    return doc;
  }
}

process.exitCode = await main();

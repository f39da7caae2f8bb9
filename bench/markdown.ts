/**
 * Renders BENCHMARKS.md from a {@link BenchResults}. Every number printed comes from the results (no
 * constants but the issue's targets); a run without a report shows as failed, with its reason.
 */
import { RECOVERY_TARGET_TEXT, TARGET_TEXT, noiseWord, relativeSpread } from '../src/sim/bench-stats.ts';
import type {
  CellSummary,
  DisruptionMetrics,
  RecoveryCellSummary,
  RecoveryTargetResult,
  RunMetrics,
  Summary,
  TargetResult,
} from '../src/sim/bench-stats.ts';
import { markSection } from '../src/sim/bench-doc-sections.ts';
import type { MarkedSection } from '../src/sim/bench-doc-sections.ts';
import type { BenchResults } from './results.ts';
import { recoveryKindOf } from './scenarios.ts';

const DASH = '—';

function int(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

function num(v: number, digits = 1): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** `812 ms` / `1,204 ms (980–1,530)` / `∞` for a value that never happened. */
function ms(s: Summary | undefined, unit = 'ms'): string {
  if (s === undefined) return DASH;
  const v = (x: number) => (Number.isFinite(x) ? int(x) : 'never');
  const head = `${v(s.median)} ${unit}`;
  return s.n === 1 || s.min === s.max ? head : `${head} (${v(s.min)}–${v(s.max)})`;
}

function count(s: Summary | undefined): string {
  if (s === undefined) return DASH;
  return s.n === 1 || s.min === s.max ? int(s.median) : `${int(s.median)} (${int(s.min)}–${int(s.max)})`;
}

function dec(s: Summary | undefined, unit: string): string {
  if (s === undefined) return DASH;
  return s.n === 1 || s.min === s.max
    ? `${num(s.median)} ${unit}`
    : `${num(s.median)} ${unit} (${num(s.min)}–${num(s.max)})`;
}

function status(r: TargetResult | RecoveryTargetResult | undefined): string {
  if (r === undefined) return DASH;
  const mark = r.status === 'met' ? '✅ met' : r.status === 'not met' ? '❌ not met' : '➖ not measured';
  return `**${mark}**: ${r.detail}${r.caveat ? ` (${r.caveat})` : ''}`;
}

/** A run's stop reason without the parts the table already shows (seed, run directory). */
function short(reason: string): string {
  return reason
    .replace(/ \(seed \d+, run dir [^)]*\)/, '')
    .replace(/^step \d+ \(wait for convergence\) failed: /, '');
}

function table(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function duration(msTotal: number): string {
  const s = Math.round(msTotal / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/** A metric row: label, then one cell per agent. */
function metricRows(cells: (CellSummary | undefined)[]): string[][] {
  const per = (f: (c: CellSummary) => string) => cells.map((c) => (c === undefined ? DASH : f(c)));
  const rows: string[][] = [
    ['Runs passed (converged, nothing lost, every step ok)', ...per((c) => `${c.passed} of ${c.runs}`)],
    [
      'Notice / kill → member removed',
      ...per(
        (c) =>
          `${ms(c.removedAfterMs)}${c.notRemoved > 0 ? `; **${c.notRemoved} of ${c.disruptions} never removed**` : ''}`,
      ),
    ],
    ['Failed writes in the disruption', ...per((c) => count(c.failedWrites))],
    ['Longest write gap in the disruption', ...per((c) => ms(c.longestGapMs))],
    ['Time below target voters', ...per((c) => ms(c.belowTargetMs))],
    [
      'Replacement launched → voter',
      ...per(
        (c) =>
          `${ms(c.replacementToVoterMs)}${c.replacementsNeverVoter > 0 ? `; **${c.replacementsNeverVoter} of ${c.replacements} never a voter**` : ''}`,
      ),
    ],
    [
      'Acknowledged writes lost',
      ...per((c) => `${count(c.lost)}${c.unverified > 0 ? ` (${c.unverified} run(s) not verified)` : ''}`),
    ],
    ['Acknowledged writes in the run (grows with its length)', ...per((c) => count(c.acknowledged))],
    ['Spot API calls per minute (all agents)', ...per((c) => dec(c.apiPerMin, '/min'))],
  ];
  if (cells.some((c) => c?.apiPerInstanceMin !== undefined))
    rows.push(['Spot API calls per instance-minute', ...per((c) => dec(c.apiPerInstanceMin, '/inst·min'))]);
  if (cells.some((c) => c?.steadyApiPerInstanceMin !== undefined))
    rows.push([
      'Spot API calls per instance-minute, calm stretch only (first convergence → first disturbance)',
      ...per((c) => dec(c.steadyApiPerInstanceMin, '/inst·min')),
    ]);
  if (cells.some((c) => c?.steadyImdsPerInstanceMin !== undefined))
    rows.push([
      'Instance metadata calls per instance-minute, calm stretch only (free, local)',
      ...per((c) => dec(c.steadyImdsPerInstanceMin, '/inst·min')),
    ]);
  if (cells.some((c) => c?.bootConvergedMs !== undefined))
    rows.push(['First launch → converged (the group forming)', ...per((c) => ms(c.bootConvergedMs))]);
  if (cells.some((c) => c?.minHealthyVoters !== undefined))
    rows.push([
      'Fewest healthy voters in the disruption (sampled every 250 ms)',
      ...per((c) => count(c.minHealthyVoters)),
    ]);
  if (cells.some((c) => c?.peakRssMb !== undefined))
    rows.push(['Agent peak RSS (one instance)', ...per((c) => dec(c.peakRssMb, 'MB'))]);
  if (cells.some((c) => c?.cpuPercent !== undefined))
    rows.push(['Agent CPU (one instance, % of a core)', ...per((c) => dec(c.cpuPercent, '%'))]);
  rows.push(["Wall time of a run (the bench's cost, not a result)", ...per((c) => ms(c.wallMs))]);
  return rows;
}

/** The metrics whose repeats spread the most (relative (max − min) / median), for the noise note. */
function noiseNotes(r: BenchResults): string[] {
  const out: { text: string; spread: number }[] = [];
  for (const c of r.cells) {
    const pick: [string, Summary | undefined][] = [
      ['notice → removed', c.removedAfterMs],
      ['longest gap', c.longestGapMs],
      ['replacement → voter', c.replacementToVoterMs],
      ['API calls/min', c.apiPerMin],
    ];
    for (const [name, s] of pick) {
      const sp = relativeSpread(s);
      if (sp === undefined || s === undefined) continue;
      out.push({
        text: `${c.scenarioId} · ${c.agent} · ${name}: ${int(s.min)}–${int(s.max)} around a median of ${int(s.median)} (${noiseWord(sp)}, ±${Math.round((sp * 100) / 2)} %)`,
        spread: sp,
      });
    }
  }
  return out.sort((a, b) => b.spread - a.spread).map((x) => x.text);
}

/** Removed after / failed writes / longest gap of a run's disruption(s), for the list of runs. */
function eventCells(m: RunMetrics | undefined): string[] {
  if (m === undefined) return [DASH, DASH, DASH];
  const ds = m.disruptions;
  const join = (f: (d: DisruptionMetrics) => string) => (ds.length === 0 ? DASH : ds.map(f).join(', '));
  return [
    join((d) => (d.removedAfterMs === undefined ? 'never' : `${int(d.removedAfterMs)} ms`)),
    join((d) => (d.failedWrites === undefined ? DASH : int(d.failedWrites))),
    join((d) => (d.longestGapMs === undefined ? DASH : `${int(d.longestGapMs)} ms`)),
  ];
}

/** How many times each scenario ran per agent, in words. */
function repeatsText(r: BenchResults): string {
  const by = r.options.repeatsByAgent;
  const agents = r.options.agents;
  if (by === undefined || Object.keys(by).length === 0)
    return `Each scenario ran ${r.options.repeats} time(s) for each of: ${agents.map((a) => `**${a}**`).join(' and ')}`;
  return `Each scenario ran ${agents.map((a) => `${by[a] ?? r.options.repeats} time(s) for **${a}**`).join(' and ')}`;
}

/**
 * The main document: the standard rows only (the quorum-loss rows are {@link renderRecoverySection}'s).
 * `done` and the wall time still count the whole bench.
 */
export function renderMarkdown(all: BenchResults): string {
  const r = { ...all, runs: all.runs.filter((x) => recoveryKindOf(x.scenarioId) === undefined) };
  const agents = r.options.agents;
  const L: string[] = [];
  const p = (...lines: string[]) => L.push(...lines);
  const done = all.runs.length;
  const quickText = r.options.quick
    ? ' This was a `--quick` run: one repeat of the two 15 s interruptions only.'
    : '';

  p(
    '# Benchmarks: etcd-spot next to the 2017 seed approach',
    '',
    `> Generated by \`${r.command}\` on ${r.finishedAt.slice(0, 10)} (${duration(r.wallMs)} for ${done} run(s)).` +
      ' Every number below was measured in the runs listed at the end; none is typed in by hand.' +
      quickText,
    '',
  );
  if (r.renderedFrom)
    p(
      `> Rendered again from \`${r.renderedFrom}\` (\`--from-json\`): the same runs and numbers, the current document layout.`,
      '',
    );
  if (r.interrupted)
    p(`> **Incomplete:** ${r.interrupted} (${done} of ${r.plannedRuns} planned runs done).`, '');

  p(
    '## What ran',
    '',
    `${repeatsText(r)}, one run at a time, in the same invocation, alternating agents so that both see the same machine load. ` +
      'A run is the local fleet simulator (`src/sim`): the cloud emulator serving the real Spot.io API and per-instance IMDS, one real etcd and one agent process per instance (3 instances, loopback addresses), and writers that hold every endpoint and write at a steady rate from the first convergence to the end (the rate is given per scenario); every acknowledged write is read back at the end.',
    '',
  );
  for (const a of r.agents) {
    const extra =
      a.seedPollSeenS !== undefined && a.seedPollSeenS.length > 0
        ? ` Its agents' own start lines said \`poll-interval=${a.seedPollSeenS.join(', ')}\`.`
        : '';
    p(`- **${a.name}**: ${a.description}.${extra}`);
  }
  p('');

  p('### Machine', '');
  p(
    table(
      ['', ''],
      [
        ['CPUs (`nproc`)', String(r.machine.nproc)],
        ['Memory', `${int(r.machine.memoryMb)} MB`],
        ['CPU model', r.machine.cpuModel],
        ['Kernel', r.machine.kernel],
        ['Node', r.machine.node],
        ['etcd', r.machine.etcd],
        ['Commit', r.machine.commit],
        ['Date', `${r.startedAt} → ${r.finishedAt}`],
        ['Command', `\`${r.command}\``],
      ],
    ),
    '',
  );

  // ---------------------------------------------------------------- targets
  p("## The issue's targets", '');
  const tgt = (id: TargetResult['id'], agent: string) =>
    r.targets.find((t) => t.id === id && t.agent === agent);
  const ids = Object.keys(TARGET_TEXT) as TargetResult['id'][];
  p(
    table(
      ['Target', ...agents],
      ids.map((id) => [TARGET_TEXT[id], ...agents.map((a) => status(tgt(id, a)))]),
    ),
    '',
  );
  p(
    "The targets are etcd-spot's; the seed is held to the same lines to show the distance. " +
      '"2 × the termination poll interval" uses each agent\'s own interval (' +
      r.agents
        .map((a) => `${a.name}: ${a.terminationPollMs.map((x) => `${int(x)} ms`).join(', ')}`)
        .join('; ') +
      '). A member that was never removed, or a replacement that never became a voter, counts as infinitely late. ' +
      'A run that failed (no report) is never counted as meeting a target.',
    '',
  );

  // ---------------------------------------------------------------- how to read
  p(
    '## How to read this',
    '',
    '- Cells show the **median over the repeats, then (min–max)**; one value means one measurement or identical repeats. All times are in **ms**.',
    "- **Notice → member removed** starts when the simulator asked the emulator to interrupt (or kill) the instance, and ends when the member left the member list. For etcd-spot the end is the agents' own log line for the removal (ms precision); for the seed it is the fleet monitor's first sample without the member (every 250 ms, so up to 250 ms late).",
    "- **Failed writes / longest write gap** count the writers' puts in the disruption's window. The gap is the longest time without any acknowledged put. A put fails when etcd refuses it or its per-put deadline (1 s in this simulator) passes, so a stalled leader shows as a gap first, then as failures. At the scenarios' write rate the normal gap is a few ms.",
    '- **Time below target voters**: how long the cluster had fewer healthy voters than the target (the largest odd number ≤ the running instances, capped by maxVoters: 3 for these 3-instance groups), from the disruption to the end of the run. An agent that removes the leaving member first and promotes the replacement later spends that interval below target; one that adds the replacement as a voter before the old member leaves does not, but runs a 4-voter cluster (quorum 3) meanwhile, and a dead voter left in the list does not count as below target either.',
    '- **Replacement launched → voter**: from the moment the group launched the replacement instance to the moment its member was a voter. The seed adds members directly as voters; etcd-spot adds a learner first and promotes it once it has caught up.',
    "- **Spot API calls per minute**: every call the agents made to the emulated Spot.io API (IMDS not counted), summed over all instances, divided by the run's length. **Per instance-minute** divides the same calls by the minutes the instances ran (Spot.io's rate limit is per organisation, so this is what scales with the number of clusters).",
    '- A run **passes** when the fleet converged again (one member per running instance, the target voter count, a leader), no acknowledged write was lost, and every step ran. A run that did not converge still has all the timings it measured up to then.',
    '',
  );

  // ---------------------------------------------------------------- per scenario
  p('## Results per scenario', '');
  for (const sc of r.scenarios) {
    const cells = agents.map((a) => r.cells.find((c) => c.scenarioId === sc.id && c.agent === a));
    if (cells.every((c) => c === undefined)) continue;
    p(
      `### ${sc.title}`,
      '',
      `${sc.what[0]?.toUpperCase() ?? ''}${sc.what.slice(1)}. Scenario file: ${sc.sources.map((s) => `\`${s}\``).join(', ') || DASH}.${sc.workload ? ` Writers: ${sc.workload}.` : ''}`,
    );
    for (const n of sc.notes) p(`_${n}_`);
    p('', table(['Metric', ...agents], metricRows(cells)), '');
    const failures = cells.flatMap((c) => (c ? c.failures.map((f) => `${c.agent}, ${f}`) : []));
    if (failures.length > 0) {
      p('Runs that did not pass:', '');
      for (const f of failures) p(`- ${f}`);
      p('');
    }
  }

  // ---------------------------------------------------------------- pooled
  p('## Notice → member removed, all interruptions pooled', '');
  p(
    table(
      ['Agent', 'Interruptions', 'p50', 'p99', 'Never removed'],
      r.pooled.map((x) => [
        x.agent,
        String(x.interruptions),
        x.removedAfterMs ? `${int(x.removedAfterMs.p50)} ms` : DASH,
        x.removedAfterMs ? `${int(x.removedAfterMs.p99)} ms` : DASH,
        String(x.notRemoved),
      ]),
    ),
    '',
    'Percentiles are nearest-rank over the members that were removed (a reported percentile is always a measured value); with fewer than 100 interruptions the p99 is the slowest one. The target above also counts the members never removed.',
    '',
  );

  // ---------------------------------------------------------------- API by route
  const routes = [...new Set(r.cells.flatMap((c) => Object.keys(c.apiPerMinByRoute)))].sort();
  if (routes.length > 0) {
    p(
      '## Spot API calls per minute, by route',
      '',
      'Medians over all runs of each agent (all scenarios); all instances together.',
      '',
    );
    const rows = routes.map((route) => [
      `\`${route}\``,
      ...agents.map((a) => {
        const vals = r.runs
          .filter((x) => x.agent === a)
          .map((x) => x.metrics?.apiPerMinByRoute?.[route])
          .filter((v): v is number => v !== undefined)
          .sort((x, y) => x - y);
        if (vals.length === 0) return DASH;
        const mid = vals[Math.floor((vals.length - 1) / 2)] as number;
        return `${num(mid)} /min`;
      }),
    ]);
    p(table(['Route', ...agents], rows), '');
  }

  // ---------------------------------------------------------------- noise
  p('## How noisy', '');
  const noise = noiseNotes(r);
  if (r.options.repeats < 2) {
    p(
      'One repeat per scenario: there is no spread to report. Run with `--repeats 3` (the default) or more before trusting a difference of less than a few hundred ms.',
      '',
    );
  } else if (noise.length === 0) {
    p('No metric had two or more measurements to compare.', '');
  } else {
    p(
      'The relative spread of each metric across repeats ((max − min) / median; steady ≤ 10 %, moderate ≤ 50 %, noisy above), the noisiest first:',
      '',
      ...noise.slice(0, 10).map((n) => `- ${n}`),
      '',
      `With ${r.options.repeats} repeats, a median moves with a single outlier: read differences smaller than the min–max ranges as noise.` +
        (agents.includes('seed')
          ? " The seed's removal time depends on where the interruption falls in its wall-clock-aligned status-check tick, so much of its spread comes from its design, not from the machine."
          : ''),
      '',
    );
  }

  // ---------------------------------------------------------------- not measured
  p(
    '## What we did not measure',
    '',
    "- Real clouds: every instance is a loopback address on one 2-core machine, so there is no network latency, loss or partition, and etcd's fsyncs hit one local disk shared by all members. Absolute times on real VMs will differ; the comparison between the two agents is the point.",
    '- Larger groups (5 voters), scaling, wiped disks, reboots, API outages and rate limits, several disruptions at once: the simulator has scenarios for them (`etcd-spot sim`), the benchmark does not run them.',
    "- Read latency and throughput of etcd itself, and the writers' latency percentiles: the workload only records whether each put was acknowledged and when.",
    "- Long-run behaviour (hours of churn, memory growth of the agent), and the cost of the seed's restart loop on a removed member beyond the run.",
    "- The Spot API's own latency: the emulator answers at once.",
    "- The seed with a shorter SEED_POLL_INTERVAL: it runs with the 2017 guide's 30 s (set SEED_POLL_INTERVAL to try another).",
    '',
  );
  if (!r.cells.some((c) => c.peakRssMb !== undefined))
    p("- Agent memory and CPU: the simulator's reports of this version carry no resource figures.", '');

  // ---------------------------------------------------------------- runs
  p('## Every run', '', `Logs and run directories are under \`${r.benchDir}\` (not committed).`, '');
  p(
    table(
      [
        'Scenario',
        'Agent',
        'Repeat',
        'Seed',
        'Loopback',
        'Removed after',
        'Failed writes',
        'Longest gap',
        'Result',
        'Wall time',
      ],
      r.runs.map((x) => [
        x.scenarioId,
        x.agent,
        String(x.repeat + 1),
        String(x.seed),
        `${x.ipPrefix}.x`,
        ...eventCells(x.metrics),
        x.metrics === undefined
          ? `failed: ${x.error ?? 'no report'}`
          : x.metrics.passed
            ? 'pass'
            : `did not pass: ${short(x.metrics.stopped ?? (x.metrics.converged ? 'verdict FAIL' : 'not converged at the end'))}`,
        x.wallMs !== undefined ? `${int(x.wallMs)} ms` : DASH,
      ]),
    ),
    '',
  );
  return `${L.join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

// ------------------------------------------------------------------------------------ quorum loss

/** The row label of a quorum-loss cell's "→ writable again" line. */
const FROM_TEXT: Record<RecoveryCellSummary['kind'], string> = {
  'majority-lost': 'Cloud terminated the lost instances → writable again',
  'all-lost': 'First replacement launched → writable again',
};

function recoveryRows(cells: (RecoveryCellSummary | undefined)[]): string[][] {
  const per = (f: (c: RecoveryCellSummary) => string) => cells.map((c) => (c === undefined ? DASH : f(c)));
  const kind = cells.find((c) => c !== undefined)?.kind ?? 'majority-lost';
  const above = kind === 'majority-lost' ? "above the survivor's revision" : "above the snapshot's revision";
  const unverified = (c: RecoveryCellSummary) =>
    c.unverified > 0 ? ` (${c.unverified} run(s) could not read their writes back)` : '';
  return [
    [
      'Runs passed (converged, no write lost that a surviving copy held, every step ok)',
      ...per((c) => `${c.passed} of ${c.runs}`),
    ],
    ['Recovery the agents carried out', ...per((c) => c.actions.join(', ') || DASH)],
    [
      FROM_TEXT[kind],
      ...per((c) => {
        const never =
          c.neverWritable > 0 ? `**${c.neverWritable} of ${c.measured} never writable again**` : '';
        const head = c.toWritableMs ? ms(c.toWritableMs) : '';
        return [head, never].filter((x) => x).join('; ') || DASH;
      }),
    ],
    ['No leader → writable again (recovery section)', ...per((c) => ms(c.noLeaderToWritableMs))],
    ['Acknowledged writes lost', ...per((c) => `${count(c.lost)}${unverified(c)}`)],
    [`… of them ${above} (on no surviving copy)`, ...per((c) => count(c.lostNoCopy))],
    ['… held by a surviving copy, or lost outside a recovery (must be 0)', ...per((c) => count(c.lostHeld))],
    [
      kind === 'majority-lost' ? "Survivor's revision kept" : "Restored snapshot's revision",
      ...per((c) => count(c.keptRevision)),
    ],
    ['Acknowledged writes in the run', ...per((c) => count(c.acknowledged))],
    ["Wall time of a run (the bench's cost, not a result)", ...per((c) => ms(c.wallMs))],
  ];
}

/**
 * The quorum-loss rows as their own marked section of BENCHMARKS.md ("recovery"), so that a bench of
 * these rows only replaces this section and nothing else; undefined when none of them ran.
 */
export function renderRecoverySection(r: BenchResults): MarkedSection | undefined {
  const cellsAll = r.recoveryCells ?? [];
  const runs = r.runs.filter((x) => recoveryKindOf(x.scenarioId) !== undefined);
  if (runs.length === 0) return undefined;
  const agents = r.options.agents;
  const L: string[] = [];
  const p = (...lines: string[]) => L.push(...lines);
  const wall = runs.reduce((n, x) => n + (x.wallMs ?? 0), 0);
  const m = r.machine;
  p(
    '## Quorum-loss recovery (issue 8)',
    '',
    `> Generated by \`${r.command}\` on ${r.finishedAt.slice(0, 10)} (${duration(wall)} for these ${runs.length} run(s)), commit ${m.commit}, ${m.nproc} CPUs (${m.cpuModel}), Node ${m.node}, etcd ${m.etcd}.` +
      ' Every number below was measured in the runs listed at the end of this section.',
    '',
  );
  if (r.renderedFrom) p(`> Rendered again from \`${r.renderedFrom}\` (\`--from-json\`).`, '');
  if (r.interrupted) p(`> **Incomplete:** ${r.interrupted}.`, '');
  p(
    `${repeatsText(r)}, on the same simulator as above. The seed has no quorum-loss recovery: it is held to the same lines to show what happens without one.`,
    '',
  );
  p(
    table(
      ['Target', ...agents],
      (Object.keys(RECOVERY_TARGET_TEXT) as RecoveryTargetResult['id'][]).map((id) => [
        RECOVERY_TARGET_TEXT[id],
        ...agents.map((a) => status(r.recoveryTargets?.find((t) => t.id === id && t.agent === a))),
      ]),
    ),
    '',
  );
  const standardRuns = r.runs.filter((x) => recoveryKindOf(x.scenarioId) === undefined);
  p(
    standardRuns.length === 0
      ? '"Nothing changes for the scenarios that pass today" is not judged by this section: this bench did not run the standard rows (their tables above come from their own bench).'
      : `"Nothing changes for the scenarios that pass today": the standard rows ran in this same bench; ${agents
          .map((a) => {
            const mine = standardRuns.filter((x) => x.agent === a);
            return `${a}: ${mine.filter((x) => x.metrics?.passed).length} of ${mine.length} of their runs passed`;
          })
          .join('; ')} (the tables above).`,
    '',
  );
  p(
    '- Cells show the **median over the repeats, then (min–max)**.',
    '- **Cloud terminated → writable again** (majority-lost) starts when the emulator terminated the last of the lost instances (their kill -9 and termination are one step, so this is also when the group API stops listing them); **first replacement launched → writable again** (all-lost) starts when the group launched the first new instance, whose agent starts at once (our stand-in for "boots"). Both end at the first acknowledged write after the loss: for etcd-spot, the recovery section\'s first write acknowledged after its force-new-cluster / restore-snapshot decision; for an agent without a recovery section (the seed), the first 100 ms bucket of the writers\' timeline with an acknowledged write after the outage. A run that was never writable again counts as infinitely late.',
    "- **No leader → writable again** is the recovery section's own figure: from the monitor's last sample with a leader (or, when every member went at once, the kill) to that first write.",
    "- **Lost writes**: acknowledged puts missing from the final read-back, split by revision: above the revision the survivor's data (or the restored snapshot) kept, no surviving copy ever held them (the physical minimum); the rest were held by a surviving copy, or were lost outside any recovery, and the verdict fails on any of them. A run whose cluster was not readable at the end cannot say what it lost. An agent that starts an empty new cluster instead of recovering is writable again quickly, but every write before is lost outside any recovery.",
    '',
  );
  for (const sc of r.scenarios) {
    if (recoveryKindOf(sc.id) === undefined) continue;
    const cells = agents.map((a) => cellsAll.find((c) => c.scenarioId === sc.id && c.agent === a));
    if (cells.every((c) => c === undefined)) continue;
    const env = Object.entries(sc.agentEnv ?? {})
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ');
    p(
      `### ${sc.title}`,
      '',
      `${sc.what[0]?.toUpperCase() ?? ''}${sc.what.slice(1)}. Scenario file: ${sc.sources.map((s) => `\`${s}\``).join(', ') || DASH}.${sc.workload ? ` Writers: ${sc.workload}.` : ''}${env ? ` Agent environment: ${env}.` : ''}`,
    );
    for (const n of sc.notes) p(`_${n}_`);
    p('', table(['Metric', ...agents], recoveryRows(cells)), '');
    const failures = cells.flatMap((c) => (c ? c.failures.map((f) => `${c.agent}, ${f}`) : []));
    if (failures.length > 0) {
      p('Runs that did not pass:', '');
      for (const f of failures) p(`- ${f}`);
      p('');
    }
  }
  p(
    '### Every quorum-loss run',
    '',
    `Logs and run directories are under \`${r.benchDir}\` (not committed).`,
    '',
  );
  p(
    table(
      [
        'Scenario',
        'Agent',
        'Repeat',
        'Seed',
        'Recovery',
        '→ writable again',
        'Lost',
        'Lost on no surviving copy',
        'Result',
        'Wall time',
      ],
      runs.map((x) => {
        const rec = x.metrics?.recovery;
        return [
          x.scenarioId,
          x.agent,
          String(x.repeat + 1),
          String(x.seed),
          rec === undefined ? DASH : rec.actions.join(' + ') || 'none',
          rec === undefined
            ? DASH
            : rec.toWritableMs !== undefined
              ? `${int(rec.toWritableMs)} ms`
              : rec.writableAgainAtMs === undefined
                ? 'never'
                : DASH,
          rec?.lost === undefined ? (rec ? 'not read back' : DASH) : int(rec.lost),
          rec?.lost === undefined ? DASH : int(rec.lostNoCopy),
          x.metrics === undefined
            ? `failed: ${x.error ?? 'no report'}`
            : x.metrics.passed
              ? 'pass'
              : `did not pass: ${short(x.metrics.stopped ?? (x.metrics.converged ? 'verdict FAIL' : 'not converged at the end'))}`,
          x.wallMs !== undefined ? `${int(x.wallMs)} ms` : DASH,
        ];
      }),
    ),
    '',
  );
  const body = `${L.join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
  const text = markSection('recovery', body, 'npm run bench -- --scenario majority-lost,all-lost');
  return { name: 'recovery', text };
}

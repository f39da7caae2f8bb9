/**
 * `npm run footprint`: what one agent costs on its instance (issue 9 §2). Not part of `npm test`.
 *
 *   node --import tsx bench/footprint.ts [--seconds 60] [--tsx-seconds 20] [--restarts 3] [--no-deps]
 *                                        [--variants dist,dist-semi1,tsx] [--ip-prefix 127.0.91]
 *                                        [--out BENCHMARKS.md] [--json file] [--from-json file]
 *
 * 1. Each big dependency alone: a bare node with an HTTP server listening (the agent's status server),
 *    then `import()` of the module; RSS 1.5 s later (median of 3 processes).
 * 2. The built agent (`node dist/cli/main.js agent`, plain and with NODE_OPTIONS=--max-semi-space-size=1)
 *    on a 3-instance group of the emulator with real etcd, at the product's default intervals: start →
 *    first decision (spawn → the first `plan` log line), then once the cluster formed, RSS and CPU of
 *    each agent's own node process (not etcd) from /proc every second for --seconds; then one
 *    follower's agent is restarted alone --restarts times (start → first decision, the others idle).
 * 3. The same through tsx (`node --import tsx src/cli/main.ts agent`), for --tsx-seconds.
 * `--from-json` renders a saved run again (e.g. after editing the notes below); with `--deps-only` it
 * measures the dependency tables again first (single processes, no fleet).
 *
 * Writes its section of BENCHMARKS.md between the footprint markers (the rest of the file is left
 * alone) and every number as JSON under .runs/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { formatDuration } from '../src/config/duration.ts';
import { envVarFor, loadConfig } from '../src/config/load.ts';
import { Fleet, REPO_ROOT } from '../src/sim/fleet.ts';
import type { FleetEvent } from '../src/sim/fleet.ts';
import { parseProcStat, systemUnits } from '../src/sim/resources.ts';
import { replaceFootprintSection } from './footprint-section.ts';

/** The issue's targets for one agent. */
export const TARGETS = { rssMb: 65, idleCpuPercent: 1, firstDecisionMs: 500 };

const USAGE = `usage: npm run footprint -- [--seconds 60] [--tsx-seconds 20] [--restarts 3] [--no-deps]
                             [--variants dist,dist-semi1,tsx] [--ip-prefix 127.0.91]
                             [--out BENCHMARKS.md] [--json file] [--from-json file [--deps-only]]`;

interface DepCost {
  label: string;
  rssMb: number;
  importMs: number;
}

interface AgentFootprint {
  instanceId: string;
  firstDecisionMs: number | undefined;
  firstDecision: string | undefined;
  rssMedianMb: number;
  rssMaxMb: number;
  cpuPercent: number;
  samples: number;
}

interface PathFootprint {
  variant: VariantName;
  command: string;
  /** Start → first decision of one follower's agent restarted alone in the formed cluster, ms. */
  restartFirstDecisionMs: number[];
  convergedAfterMs: number;
  windowSeconds: number;
  agents: AgentFootprint[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

// ------------------------------------------------------------------ 1. dependencies alone

const PROBE = `
const http = await import('node:http');
const srv = http.createServer((q, s) => s.end('ok'));
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const t0 = performance.now();
for (const s of JSON.parse(process.env.FOOTPRINT_IMPORTS)) await import(s);
const importMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 1500));
process.stdout.write(JSON.stringify({ rss: process.memoryUsage().rss, importMs }));
srv.close();
`;

/** label → what it imports (bare specifiers resolve from the repository's node_modules). */
const DEPENDENCIES: [string, string[]][] = [
  ['bare node + HTTP server (baseline)', []],
  ['commander', ['commander']],
  ['pino', ['pino']],
  ['yaml', ['yaml']],
  ['zod', ['zod']],
  ['cockatiel', ['cockatiel']],
  ['hono + @hono/node-server', ['hono', '@hono/node-server']],
  ['prom-client', ['prom-client']],
  ['etcd3 (grpc-js, protobufjs)', ['etcd3']],
  ['@aws-sdk/client-s3', ['@aws-sdk/client-s3']],
  ['dist/config/load.js (config: yaml + zod schema)', ['./dist/config/load.js']],
  ['dist/cli/commands/index.js (every command registered)', ['./dist/cli/commands/index.js']],
  [
    'dist/agent/wiring.js + the Prometheus adapter (what the agent imports at start)',
    ['./dist/agent/wiring.js', './dist/adapters/metrics/prometheus.js'],
  ],
];

/**
 * The agent's runtime dependencies, for leave-one-out: all of them loaded, then all but one. What a
 * module adds on top of the others is what leaving it out would save (a module alone also pays for
 * what every module pays once: Node's ES module loader, undici, …).
 */
const AGENT_SET: [string, string[]][] = [
  ['commander', ['commander']],
  ['zod', ['zod']],
  ['yaml', ['yaml']],
  ['pino', ['pino']],
  ['cockatiel', ['cockatiel']],
  ['etcd3', ['etcd3']],
  ['hono + @hono/node-server', ['hono', '@hono/node-server']],
  ['prom-client', ['prom-client']],
];

interface LeaveOneOut {
  allRssMb: number;
  without: { label: string; rssMb: number }[];
}

function measureLeaveOneOut(log: (line: string) => void): LeaveOneOut {
  const all = measureDependency(AGENT_SET.flatMap(([, m]) => m)).rssMb;
  log(`footprint: the agent's dependencies together: ${all} MB`);
  const without = AGENT_SET.map(([label]) => {
    const rssMb = measureDependency(AGENT_SET.filter(([l]) => l !== label).flatMap(([, m]) => m)).rssMb;
    log(`footprint: all but ${label}: ${rssMb} MB`);
    return { label, rssMb };
  });
  return { allRssMb: all, without };
}

function measureDependency(imports: string[]): { rssMb: number; importMs: number } {
  const rss: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', FOOTPRINT_IMPORTS: JSON.stringify(imports) },
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.status !== 0) throw new Error(`probe of ${imports.join(', ')} failed: ${r.stderr.slice(0, 500)}`);
    const out = JSON.parse(r.stdout) as { rss: number; importMs: number };
    rss.push(out.rss / 1e6);
    ms.push(out.importMs);
  }
  return { rssMb: round(median(rss)), importMs: Math.round(median(ms)) };
}

// ------------------------------------------------------------------ 2./3. agents on a fleet

type VariantName = 'dist' | 'dist-semi1' | 'tsx';

/** How each measured agent is started: its node arguments and extra environment. */
const VARIANTS: Record<VariantName, { args: string[]; env: Record<string, string>; shown: string }> = {
  dist: {
    args: [join(REPO_ROOT, 'dist', 'cli', 'main.js'), 'agent'],
    env: {},
    shown: 'node dist/cli/main.js agent',
  },
  'dist-semi1': {
    args: [join(REPO_ROOT, 'dist', 'cli', 'main.js'), 'agent'],
    env: { NODE_OPTIONS: '--max-semi-space-size=1' },
    shown: 'NODE_OPTIONS=--max-semi-space-size=1 node dist/cli/main.js agent',
  },
  tsx: {
    args: ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'agent'],
    env: {},
    shown: 'node --import tsx src/cli/main.ts agent',
  },
};

/** The product's default intervals, from the config schema (the fleet's are shortened for tests). */
function defaultIntervalsEnv(): Record<string, string> {
  const r = loadConfig({ env: { SPOTINST_TOKEN: 'x', ETCD_SPOT_GROUP_GROUP_ID: 'sig-x' }, overrides: {} });
  if (!r.ok) throw new Error(`default config did not load: ${r.issues.join('; ')}`);
  const a = r.config.agent;
  const env: Record<string, string> = {};
  const set = (key: string, ms: number) => (env[envVarFor(['agent', key])] = formatDuration(ms));
  set('cycleInterval', a.cycleIntervalMs);
  set('terminationPollInterval', a.terminationPollIntervalMs);
  set('groupPollInterval', a.groupPollIntervalMs);
  set('memberDeadAfter', a.memberDeadAfterMs);
  set('unstartedMemberTtl', a.unstartedMemberTtlMs);
  env[envVarFor(['agent', 'maxVoters'])] = String(a.maxVoters);
  const g = r.config.group;
  if (g.provider === 'elastigroup')
    env[envVarFor(['group', 'requestTimeout'])] = formatDuration(g.requestTimeoutMs);
  return env;
}

function procStat(pid: number): { rssPages: number; ticks: number } | undefined {
  try {
    const p = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return p ? { rssPages: p.rss, ticks: p.utime + p.stime } : undefined;
  } catch {
    return undefined;
  }
}

async function measureFleet(opts: {
  variant: VariantName;
  seconds: number;
  restarts: number;
  ipPrefix: string;
  log: (line: string) => void;
}): Promise<PathFootprint> {
  const variant = VARIANTS[opts.variant];
  const started = new Map<string, number>();
  const lastStarted = new Map<string, number>();
  const fleet = await Fleet.start({
    instances: 3,
    ipPrefix: opts.ipPrefix,
    label: `footprint-${opts.variant}`,
    agentCommand: { command: process.execPath, args: variant.args },
    agentEnv: { ...defaultIntervalsEnv(), ...variant.env },
    onEvent: (e: FleetEvent) => {
      if (e.type !== 'agent-started' || !e.instanceId) return;
      if (!started.has(e.instanceId)) started.set(e.instanceId, e.at);
      lastStarted.set(e.instanceId, e.at);
    },
  });
  const { ticksPerSecond, pageSize } = systemUnits();
  try {
    const t0 = Date.now();
    await fleet.waitConverged({ timeoutMs: 120_000, intervalMs: 1000 });
    const convergedAfterMs = Date.now() - t0;
    opts.log(`footprint: ${opts.variant}: converged after ${(convergedAfterMs / 1000).toFixed(1)} s`);
    await delay(5000);
    const pids = new Map(fleet.agentProcessGroups().map((g) => [g.instanceId, g.pgid]));
    const first = new Map<string, { ticks: number; at: number }>();
    const last = new Map<string, { ticks: number; at: number }>();
    const rss = new Map<string, number[]>();
    const end = Date.now() + opts.seconds * 1000;
    while (Date.now() < end) {
      for (const [id, pid] of pids) {
        const s = procStat(pid);
        if (!s) continue;
        const now = Date.now();
        if (!first.has(id)) first.set(id, { ticks: s.ticks, at: now });
        last.set(id, { ticks: s.ticks, at: now });
        rss.set(id, [...(rss.get(id) ?? []), (s.rssPages * pageSize) / 1e6]);
      }
      await delay(1000);
    }
    const decisions = fleet.decisions();
    const agents: AgentFootprint[] = [...pids.keys()].map((id) => {
      const d = decisions.find((x) => x.instanceId === id);
      const spawnedAt = started.get(id);
      const a = first.get(id);
      const b = last.get(id);
      const samples = rss.get(id) ?? [];
      const cpu = a && b && b.at > a.at ? (b.ticks - a.ticks) / ticksPerSecond / ((b.at - a.at) / 1000) : NaN;
      return {
        instanceId: id,
        firstDecisionMs: d && spawnedAt !== undefined ? d.at - spawnedAt : undefined,
        firstDecision: d ? `${d.action}: ${d.reason}` : undefined,
        rssMedianMb: round(median(samples)),
        rssMaxMb: round(Math.max(...samples)),
        cpuPercent: round(cpu * 100, 2),
        samples: samples.length,
      };
    });
    // Start → first decision once more, the others idle: one follower's agent (and its etcd) killed and
    // started again alone while the rest of the fleet idles.
    const restartFirstDecisionMs: number[] = [];
    for (let k = 0; k < opts.restarts; k++) {
      const id = await fleet.pick('follower');
      await fleet.stopAgent(id, 'footprint restart');
      await delay(2000);
      fleet.startAgent(id);
      const spawnedAt = lastStarted.get(id) ?? Date.now();
      const deadline = Date.now() + 30_000;
      for (;;) {
        const d = fleet.decisions().find((x) => x.instanceId === id && x.at >= spawnedAt);
        if (d) {
          restartFirstDecisionMs.push(d.at - spawnedAt);
          break;
        }
        if (Date.now() > deadline) break;
        await delay(100);
      }
      await fleet.waitConverged({ timeoutMs: 60_000, intervalMs: 1000 });
    }
    return {
      variant: opts.variant,
      command: variant.shown,
      restartFirstDecisionMs,
      convergedAfterMs,
      windowSeconds: opts.seconds,
      agents,
    };
  } finally {
    await fleet.close({ removeData: true });
  }
}

// ------------------------------------------------------------------ the document

function spread(xs: number[], unit: string, d = 1): string {
  if (xs.length === 0) return 'n/a';
  return `${round(median(xs), d)} ${unit} (${round(Math.min(...xs), d)}–${round(Math.max(...xs), d)})`;
}

function verdict(value: number, target: number): string {
  return Number.isFinite(value) ? (value <= target ? 'met' : '**not met**') : 'n/a';
}

export interface FootprintDoc {
  date: string;
  machine: string;
  deps: DepCost[];
  leaveOneOut?: LeaveOneOut;
  runs: PathFootprint[];
  intervals: Record<string, string>;
}

export function renderFootprint(r: FootprintDoc): string {
  const lines: string[] = [];
  lines.push('## Agent footprint', '');
  lines.push(
    `Measured by \`npm run footprint\` (bench/footprint.ts) on ${r.date}, ${r.machine}, while other work`,
    'shared the machine. Each row: a 3-instance group of the emulator with real etcd, every agent at the',
    `default intervals (${Object.entries(r.intervals)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ')}).`,
    "RSS and CPU are each agent's own node process (etcd not included), read from /proc every second for",
    'the window once the cluster formed; CPU is CPU time over the window as % of one core. Start → first',
    "decision is the agent's spawn → its first `plan` log line: at boot (3 agents and the emulator starting",
    "at once on 2 cores) and when one follower's agent (and its etcd) is killed and restarted alone in the",
    'formed cluster (the other agents idle).',
    'Medians over the 3 agents (or the restarts), min–max in brackets.',
    '',
  );
  lines.push(
    '| agent | RSS (median of samples) | RSS peak | idle CPU, % of a core | start → first decision, boot | start → first decision, restart | cluster formed after |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const run of r.runs) {
    const fd = run.agents.map((a) => a.firstDecisionMs).filter((x): x is number => x !== undefined);
    const cells = [
      `\`${run.command}\` (${run.windowSeconds} s)`,
      spread(
        run.agents.map((a) => a.rssMedianMb),
        'MB',
      ),
      spread(
        run.agents.map((a) => a.rssMaxMb),
        'MB',
      ),
      spread(
        run.agents.map((a) => a.cpuPercent),
        '%',
        2,
      ),
      spread(fd, 'ms', 0),
      spread(run.restartFirstDecisionMs, 'ms', 0),
      `${round(run.convergedAfterMs / 1000)} s`,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  for (const run of r.runs.filter((x) => x.variant !== 'tsx')) {
    const rssMed = median(run.agents.map((a) => a.rssMedianMb));
    const cpuMed = median(run.agents.map((a) => a.cpuPercent));
    const restart = median(run.restartFirstDecisionMs);
    const boot = median(run.agents.map((a) => a.firstDecisionMs).filter((x): x is number => x !== undefined));
    lines.push(
      `- \`${run.command}\`: RSS ≤ ${TARGETS.rssMb} MB ${verdict(rssMed, TARGETS.rssMb)} (${round(rssMed)} MB); ` +
        `idle CPU ≤ ${TARGETS.idleCpuPercent} % ${verdict(cpuMed, TARGETS.idleCpuPercent)} (${round(cpuMed, 2)} %); ` +
        `start → first decision ≤ ${TARGETS.firstDecisionMs} ms ${verdict(restart, TARGETS.firstDecisionMs)} at a restart (${Math.round(restart)} ms), ` +
        `${verdict(boot, TARGETS.firstDecisionMs)} at a contended boot (${Math.round(boot)} ms).`,
    );
  }
  if (r.deps.length > 0) {
    const base = r.deps[0]?.rssMb ?? 0;
    lines.push(
      '',
      'What each dependency costs alone (a bare node with an HTTP server listening, then `import()` of',
    );
    lines.push('the module; RSS 1.5 s later, median of 3 processes):', '');
    lines.push('| module | RSS | over the baseline | import time |');
    lines.push('| --- | --- | --- | --- |');
    for (const d of r.deps) {
      lines.push(`| ${d.label} | ${d.rssMb} MB | +${round(d.rssMb - base)} MB | ${d.importMs} ms |`);
    }
  }
  if (r.leaveOneOut) {
    const loo = r.leaveOneOut;
    lines.push(
      '',
      `What each one adds to the others (leave-one-out: all ${AGENT_SET.length} loaded together are ${loo.allRssMb} MB, then all but one;`,
      'median of 3 processes, ±2–3 MB of noise; what leaving it out of the agent would save):',
      '',
      '| left out | RSS of the rest | it adds |',
      '| --- | --- | --- |',
    );
    for (const w of [...loo.without].sort((a, b) => a.rssMb - b.rssMb)) {
      lines.push(`| ${w.label} | ${w.rssMb} MB | ${round(loo.allRssMb - w.rssMb)} MB |`);
    }
  }
  lines.push('', ...FOOTPRINT_NOTES);
  return `${lines.join('\n')}\n`;
}

/** What was done and what remains: hand-written, kept next to the numbers it interprets. */
const FOOTPRINT_NOTES: string[] = [
  '### What was done, and what remains',
  '',
  "- **Built, not through tsx.** The agent runs tsc's output (`dist/`, what `npm pack` ships); tsx is a dev",
  '  dependency only. Compare the first and last rows.',
  '- **Lazy loading.** The simulator, the emulator and the HTML report are reached only through `import()` in',
  '  their own commands, the S3 client only with an S3 snapshot store, prom-client only with `agent.metrics`.',
  '  `src/cli/module-graph.test.ts` checks the static import graph of the sources, and',
  '  `test/integration/package-install.test.ts` the modules an installed agent actually loads.',
  "- **V8's young generation.** On Node 20 each semi-space grows to 16 MB under allocation; with",
  '  `--max-semi-space-size=1` the agent holds about 13 MB less at the same idle CPU (second row). Node',
  '  applies it only at start (`v8.setFlagsFromString` later has no effect, checked), and it is allowed in',
  "  `NODE_OPTIONS`: set `Environment=NODE_OPTIONS=--max-semi-space-size=1` in the agent's service unit.",
  '  (A `#!/usr/bin/env -S node …` line in bin/ would do it too, but busybox `env` has no `-S`.)',
  '- **RSS ≤ 65 MB is not reachable with this stack.** A bare node with an HTTP server is 43.5 MB; the',
  "  agent's eight runtime dependencies loaded together are ~80 MB before the agent does anything, and",
  "  running adds V8's heap and young generation (the rows above). A dependency alone looks expensive",
  '  (etcd3 +24 MB, zod +13, hono +12, prom-client +10) because the first module loaded pays for what',
  '  all of them share; what each adds to the others (leave-one-out table) is a few MB at most, etcd3',
  '  and zod the largest, within ±2–3 MB of noise between runs. So replacing hono by `node:http` in the',
  '  status server, prom-client by a hand-written text exposition and loading yaml only with a file',
  '  would together save ~5 MB, not 30. A Node agent at ≤ 65 MB would need most dependencies gone, e.g.',
  "  etcd's JSON gateway (`POST /v3/cluster/member/list`, … on the client port) over `fetch` instead of",
  '  etcd3 + grpc-js + protobufjs, and no zod at run time; or a runtime other than Node.',
  "- **Start → first decision.** Of a restart's ~0.7–1.3 s, 0.6–0.9 s pass before the agent logs",
  "  `agent started`; most of it is module loading (a CPU profile of importing the CLI and the agent's",
  "  wiring: ~60 % in Node's loader over some 200 ES modules plus the CommonJS files of grpc-js,",
  "  protobufjs and pino; protobufjs parsing etcd's proto ~60 ms). prom-client is imported during",
  '  start, before the first cycle (~100 ms); importing it after the first decision would shave that. An',
  '  esbuild bundle of our code with zod, hono and pino (etcd3 left external for its `proto/` folder)',
  '  imported in ~250 ms instead of ~400 ms and ~5 MB smaller in a quick check here; not adopted yet',
  "  (pino's transports and the CommonJS dependencies need care, and tsc output keeps stack traces",
  '  readable).',
  '- The machine was shared with other work (load average ~3 on 2 cores) during these runs: times are',
  '  pessimistic; RSS and CPU time are affected little.',
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      'tsx-seconds': { type: 'string', default: '20' },
      restarts: { type: 'string', default: '3' },
      variants: { type: 'string', default: 'dist,dist-semi1,tsx' },
      'no-deps': { type: 'boolean', default: false },
      'deps-only': { type: 'boolean', default: false },
      'ip-prefix': { type: 'string', default: '127.0.91' },
      out: { type: 'string', default: 'BENCHMARKS.md' },
      json: { type: 'string' },
      'from-json': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const log = (line: string) => console.error(line);
  if (values['from-json'] !== undefined) {
    const saved = JSON.parse(readFileSync(values['from-json'], 'utf8')) as FootprintDoc;
    if (values['deps-only']) {
      // The fleet runs as saved; the dependency tables measured again (no etcd, one process at a time).
      saved.deps = measureDeps(log);
      saved.leaveOneOut = measureLeaveOneOut(log);
      writeFileSync(values.json ?? values['from-json'], `${JSON.stringify(saved, null, 2)}\n`);
    }
    writeDocument(saved, values.out);
    return;
  }
  if (values['deps-only']) throw new Error('--deps-only needs --from-json (the saved fleet runs)');
  const variants = values.variants.split(',').map((v) => v.trim());
  for (const v of variants) {
    if (!Object.hasOwn(VARIANTS, v))
      throw new Error(`unknown variant ${v}; expected ${Object.keys(VARIANTS).join(', ')}`);
  }
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run npm run build first (scripts/footprint.sh does)');
  const deps = values['no-deps'] ? [] : measureDeps(log);
  const leaveOneOut = values['no-deps'] ? undefined : measureLeaveOneOut(log);
  const runs: PathFootprint[] = [];
  for (const v of variants as VariantName[]) {
    const seconds = Number(v === 'tsx' ? values['tsx-seconds'] : values.seconds);
    const run = await measureFleet({
      variant: v,
      seconds,
      restarts: Number(values.restarts),
      ipPrefix: values['ip-prefix'],
      log,
    });
    for (const a of run.agents) log(`footprint: ${v} ${JSON.stringify(a)}`);
    log(`footprint: ${v} restarts → first decision ${JSON.stringify(run.restartFirstDecisionMs)} ms`);
    runs.push(run);
  }
  const intervals = Object.fromEntries(
    Object.entries(defaultIntervalsEnv()).map(([k, v]) => [k.replace(/^ETCD_SPOT_/, ''), v]),
  );
  const doc: FootprintDoc = {
    date: new Date().toISOString().slice(0, 10),
    machine: `Node ${process.version}, Linux ${release()}, ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    deps,
    ...(leaveOneOut ? { leaveOneOut } : {}),
    runs,
    intervals,
  };
  const dir = join(REPO_ROOT, '.runs');
  mkdirSync(dir, { recursive: true });
  const jsonPath = values.json ?? join(dir, `footprint-${Date.now()}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(doc, null, 2)}\n`);
  writeDocument(doc, values.out);
  log(`footprint: wrote its section of ${values.out}; numbers in ${jsonPath}`);
}

function measureDeps(log: (line: string) => void): DepCost[] {
  return DEPENDENCIES.map(([label, imports]) => {
    const c = measureDependency(imports);
    log(`footprint: ${label}: ${c.rssMb} MB, import ${c.importMs} ms`);
    return { label, ...c };
  });
}

function writeDocument(doc: FootprintDoc, out: string): void {
  const section = renderFootprint(doc);
  process.stdout.write(`${section}\n`);
  const old = existsSync(out) ? readFileSync(out, 'utf8') : '';
  writeFileSync(out, replaceFootprintSection(old, section));
}

await main();

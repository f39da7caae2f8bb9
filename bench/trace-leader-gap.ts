/**
 * Issue 11 §4: where does a leader interruption's longest write gap go? Runs `interrupt-leader` (or
 * another one-disruption scenario) a few times with every client operation recorded, then, for the
 * longest gap between two acknowledged writes in the disruption's window, prints what happened in it:
 * the agents' decisions and when each was done (move-leader, remove-member, the etcd stop), the leader
 * change the monitor saw, the writers' client swaps, and the operations that were in flight across the
 * whole gap (the ones that stalled it).
 *
 *   node --import tsx bench/trace-leader-gap.ts [--runs 3] [--agent etcd-spot|etcd-spot-defaults]
 *                                              [--scenario interrupt-leader] [--ip-prefix 127.0.210]
 *                                              [--json file]
 *
 * Not part of npm test or the bench: a diagnostic. Times are ms after the notice.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KvOperation } from '../src/sim/linearizability.ts';
import { agentSetup, resolveScenario } from './agents.ts';
import type { AgentName } from './agents.ts';

interface Trace {
  timeOrigin: number;
  history: KvOperation[];
  endpointChanges: { at: number; endpoints: string[] }[];
}

interface GapTrace {
  run: number;
  seed: number;
  runDir: string;
  pass: boolean;
  /** ms after the notice. */
  gapFrom: number;
  gapTo: number;
  gapMs: number;
  /** The longest gap overlapping the hand-off (the leaver's first move-leader → its etcd stopped + 300 ms). */
  handoffGapMs?: number;
  /** The longest gap in the 5 s before the notice, when nothing happened: the machine's noise floor. */
  calmGapMs: number;
  /** Things that happened within [gapFrom − 50, gapTo + 50], ms after the notice. */
  during: { at: number; what: string }[];
  /** Operations in flight across the whole gap. */
  stalled: { client: number; kind: string; start: number; end: number; status: string }[];
  /** All decisions of the leaving agent in the window, for the reading. */
  leaverDecisions: { at: number; doneAt?: number; action: string; reason: string }[];
}

function fmt(t: number): string {
  return `${t >= 0 ? '+' : ''}${t.toFixed(0)} ms`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      agent: { type: 'string', default: 'etcd-spot' },
      scenario: { type: 'string', default: 'interrupt-leader' },
      'ip-prefix': { type: 'string', default: '127.0.210' },
      json: { type: 'string' },
    },
  });
  const { runSim } = await import('../src/sim/run.ts');
  const resolved = resolveScenario(values.scenario);
  const setup = agentSetup(values.agent as AgentName, resolved.scenario);
  if (setup.agentCommand !== undefined)
    throw new Error('trace the etcd-spot agent (the seed has no decision log)');
  const out: GapTrace[] = [];
  for (let run = 0; run < Number(values.runs); run++) {
    const seed = 4100 + run;
    const { report, fleet } = await runSim({
      scenario: resolved.scenario,
      seed,
      ipPrefix: values['ip-prefix'],
      tty: false,
      keepFleet: true,
      keepHistory: true,
      agentEnv: setup.agentEnv,
      out: { write: () => true } as unknown as NodeJS.WritableStream,
      fleet: { label: `trace-${values.scenario}` },
    });
    const decisions = fleet.decisions();
    await fleet.close({ removeData: false });
    const trace = JSON.parse(readFileSync(join(report.runDir, 'workload-trace.json'), 'utf8')) as Trace;
    const ev = report.events.find((e) => e.kind === 'interrupt' || e.kind === 'kill9');
    if (ev === undefined) throw new Error(`run ${run}: no disruption in the report`);
    const runStart = Date.parse(report.startedAt);
    const notice = runStart + ev.startedAtMs; // epoch ms
    const end = notice + ev.windowMs;
    const rel = (epoch: number) => epoch - notice;
    const relMono = (mono: number) => trace.timeOrigin + mono - notice;
    // The acknowledged writes' completions in the window, in order (the gap the bench reports).
    const acked = trace.history
      .filter((o) => o.status === 'ok' && o.kind === 'put')
      .map((o) => relMono(o.end))
      .filter((t) => t >= 0 && t <= end - notice)
      .sort((a, b) => a - b);
    const allAcked = trace.history
      .filter((o) => o.status === 'ok' && o.kind === 'put')
      .map((o) => relMono(o.end))
      .sort((a, b) => a - b);
    /** The longest gap between acknowledged completions that overlaps [from, to]. */
    const longestOverlapping = (from: number, to: number) => {
      let out = { from, to: from };
      for (let i = 1; i < allAcked.length; i++) {
        const a = allAcked[i - 1] as number;
        const b = allAcked[i] as number;
        if (b < from || a > to) continue;
        if (b - a > out.to - out.from) out = { from: a, to: b };
      }
      return out;
    };
    let prev = 0;
    let best = { from: 0, to: 0 };
    for (const t of acked) {
      if (t - prev > best.to - best.from) best = { from: prev, to: t };
      prev = t;
    }
    const calm = longestOverlapping(-5000, -1);
    const near = (t: number) => t >= best.from - 50 && t <= best.to + 50;
    const during: { at: number; what: string }[] = [];
    for (const d of decisions) {
      const at = rel(d.at);
      if (near(at))
        during.push({ at, what: `${d.instanceId} decided ${d.action}${d.target ? ` ${d.target}` : ''}` });
      if (d.outcome !== undefined && near(rel(d.outcome.at)))
        during.push({
          at: rel(d.outcome.at),
          what: `${d.instanceId} ${d.action} done (${d.outcome.progressed ? 'progressed' : 'no progress'}${d.outcome.detail ? `: ${d.outcome.detail}` : ''})`,
        });
    }
    for (const c of report.leaderChanges) {
      const at = c.atMs - ev.startedAtMs;
      if (near(at))
        during.push({ at, what: `monitor: leader ${c.from ?? 'none'} → ${c.to ?? 'none'} (250 ms samples)` });
    }
    for (const c of trace.endpointChanges) {
      const at = relMono(c.at);
      if (near(at)) during.push({ at, what: `writers' client replaced (${c.endpoints.length} endpoints)` });
    }
    during.sort((a, b) => a.at - b.at);
    const stalled = trace.history
      .filter((o) => o.kind === 'put' && relMono(o.start) <= best.from && relMono(o.end) >= best.to)
      .map((o) => ({
        client: o.client,
        kind: o.kind,
        start: relMono(o.start),
        end: relMono(o.end),
        status: o.status,
      }));
    const leaver = ev.instanceId;
    const leaverDecisions = decisions
      .filter((d) => d.instanceId === leaver && rel(d.at) >= -100 && rel(d.at) <= best.to + 2000)
      .map((d) => ({
        at: rel(d.at),
        ...(d.outcome ? { doneAt: rel(d.outcome.at) } : {}),
        action: d.action,
        reason: d.reason,
      }));
    const handoffFrom = leaverDecisions.find((d) => d.action === 'move-leader')?.at;
    const stopped = leaverDecisions.find((d) => d.action === 'stop-etcd');
    const handoff =
      handoffFrom !== undefined && stopped !== undefined
        ? longestOverlapping(handoffFrom, (stopped.doneAt ?? stopped.at) + 300)
        : undefined;
    const g: GapTrace = {
      run,
      seed,
      runDir: report.runDir,
      pass: report.pass,
      gapFrom: best.from,
      gapTo: best.to,
      gapMs: best.to - best.from,
      ...(handoff !== undefined ? { handoffGapMs: handoff.to - handoff.from } : {}),
      calmGapMs: calm.to - calm.from,
      during,
      stalled,
      leaverDecisions,
    };
    out.push(g);
    console.log(
      `\nrun ${run + 1} (seed ${seed}, ${report.pass ? 'pass' : 'FAIL'}): longest gap ${g.gapMs.toFixed(0)} ms, from ${fmt(g.gapFrom)} to ${fmt(g.gapTo)} after the notice`,
    );
    console.log(
      `  writes in the event's window: ${ev.writes?.acknowledged ?? '?'} acknowledged, ${ev.writes?.failed ?? '?'} failed`,
    );
    console.log(
      `  longest gap across the hand-off (move-leader → etcd stopped + 300 ms): ${g.handoffGapMs === undefined ? 'no hand-off seen' : `${g.handoffGapMs.toFixed(0)} ms`}; longest in the calm 5 s before the notice: ${g.calmGapMs.toFixed(0)} ms`,
    );
    console.log('  the leaving agent:');
    for (const d of leaverDecisions)
      console.log(
        `    ${fmt(d.at)}${d.doneAt !== undefined ? ` … done ${fmt(d.doneAt)} (${(d.doneAt - d.at).toFixed(0)} ms)` : ''}  ${d.action}`,
      );
    console.log('  in and around the gap:');
    for (const x of during) console.log(`    ${fmt(x.at)}  ${x.what}`);
    console.log(`  puts in flight across the whole gap: ${stalled.length}`);
    for (const s of stalled)
      console.log(
        `    writer ${s.client}: ${fmt(s.start)} → ${fmt(s.end)} (${(s.end - s.start).toFixed(0)} ms, ${s.status})`,
      );
  }
  const line = (k: 'gapMs' | 'handoffGapMs' | 'calmGapMs') =>
    out
      .map((g) => g[k])
      .filter((v): v is number => v !== undefined)
      .map((v) => v.toFixed(0))
      .join(', ');
  console.log(
    `\nlongest gap in the window: ${line('gapMs')} ms; across the hand-off: ${line('handoffGapMs')} ms; calm 5 s before: ${line('calmGapMs')} ms`,
  );
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
}

await main();

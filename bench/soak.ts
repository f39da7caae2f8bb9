/**
 * `npm run soak`: runs scenarios/soak.yaml (seeded, 200 events from every fault kind, converging after
 * each), prints its verdict and per-kind convergence times, saves the JSON report and writes the
 * `soak` section of BENCHMARKS.md (between its markers; the rest of the file is carried over).
 *
 *   node --import tsx bench/soak.ts [--events N] [--chaos-for 25m] [--seed N] [--ip-prefix 127.0.110]
 *                                   [--scenario soak] [--json file] [--out BENCHMARKS.md | --no-doc]
 *                                   [--from-json file]
 *
 * Exit status 0 when the soak passed, 1 when not.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { markSection, mergeDocument } from '../src/sim/bench-doc-sections.ts';
import { soakChecks, soakMarkdown } from '../src/sim/soak-report.ts';
import type { SoakReportInput } from '../src/sim/soak-report.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

function writeSection(report: SoakReportInput, command: string, out: string): void {
  const previous = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const section = markSection('soak', soakMarkdown(report, command), 'npm run soak');
  writeFileSync(out, mergeDocument(previous, { sections: [{ name: 'soak', text: section }] }));
  console.error(`soak: section written to ${out}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'soak' },
      events: { type: 'string' },
      'chaos-for': { type: 'string' },
      seed: { type: 'string' },
      'ip-prefix': { type: 'string', default: '127.0.110' },
      json: { type: 'string' },
      out: { type: 'string', default: join(REPO_ROOT, 'BENCHMARKS.md') },
      'no-doc': { type: 'boolean', default: false },
      'from-json': { type: 'string' },
    },
  });
  if (values['from-json'] !== undefined) {
    const saved = JSON.parse(readFileSync(values['from-json'], 'utf8')) as SoakReportInput & {
      command?: string;
    };
    writeSection(saved, saved.command ?? 'npm run soak', values.out);
    return;
  }
  const { loadScenario } = await import('../src/sim/scenario.ts');
  const { runSim } = await import('../src/sim/run.ts');
  const { installStopSignals } = await import('../src/sim/processes.ts');
  const scenario = loadScenario(values.scenario);
  const chaosForMs = values['chaos-for'] !== undefined ? parseDuration(values['chaos-for']) : undefined;
  if (values['chaos-for'] !== undefined && chaosForMs === undefined)
    throw new Error(`--chaos-for: expected a duration such as 25m (got ${values['chaos-for']})`);
  const args = [
    ...(values.events !== undefined ? [`--events ${values.events}`] : []),
    ...(values['chaos-for'] !== undefined ? [`--chaos-for ${values['chaos-for']}`] : []),
  ];
  const command = `npm run soak${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const controller = new AbortController();
  const uninstall = installStopSignals(() => controller.abort());
  try {
    const { report } = await runSim({
      scenario,
      ipPrefix: values['ip-prefix'],
      signal: controller.signal,
      ...(values.events !== undefined ? { chaosEvents: Number(values.events) } : {}),
      ...(chaosForMs !== undefined ? { chaosForMs } : {}),
      ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
    });
    const json = values.json ?? join(report.runDir, 'soak-report.json');
    mkdirSync(resolve(json, '..'), { recursive: true });
    writeFileSync(json, `${JSON.stringify({ ...report, command }, null, 2)}\n`);
    console.error(`soak: report written to ${json}`);
    for (const c of soakChecks(report)) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    if (!values['no-doc']) writeSection(report, command, values.out);
    process.exitCode = report.pass ? 0 : 1;
  } finally {
    uninstall();
  }
}

await main();

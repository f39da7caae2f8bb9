/**
 * `etcd-spot sim`: runs a local fleet (cloud emulator + one real agent and etcd per instance on
 * loopback addresses) through a scenario while a client writes, then prints the verdict. SIGINT stops
 * the scenario cleanly: everything started is killed and the verdict so far is printed.
 *
 * The simulator is a development tool, not product code: it is loaded with a dynamic import only when
 * this command runs, so the agent and the other commands never load it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ExitError } from '../../core/errors.ts';
import { parseDuration } from '../../config/duration.ts';
import { EXIT } from '../exit-codes.ts';

interface SimFlags {
  instances?: number;
  maxVoters?: number;
  scenario: string;
  listScenarios: boolean;
  duration?: number;
  seed?: number;
  ipPrefix: string;
  report?: string;
  html?: string;
  keep: boolean;
  tls: boolean;
  writers?: number;
  writesPerSecond?: number;
  agentCommand?: string;
  agentEnv?: Record<string, string>;
  events?: number;
  chaosFor?: number;
}

/** Collects repeated `--agent-env K=V` into one mapping. */
function envArg(v: string, previous: Record<string, string> = {}): Record<string, string> {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v);
  if (!m)
    throw new InvalidArgumentError(
      `expected NAME=value, e.g. SEED_POLL_INTERVAL=30 (got ${JSON.stringify(v)})`,
    );
  return { ...previous, [m[1] as string]: m[2] as string };
}

function rateArg(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v))
    throw new InvalidArgumentError(`expected a number ≥ 0 (got ${JSON.stringify(v)})`);
  return Number(v);
}

function intArg(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return Number(v);
  };
}

function durationArg(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined || ms < 1000)
    throw new InvalidArgumentError(
      `expected a duration of at least 1s such as 90s or 5m (got ${JSON.stringify(v)})`,
    );
  return ms;
}

function prefixArg(v: string): string {
  const m = /^127\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255 || (m[1] === '0' && m[2] === '0')) {
    throw new InvalidArgumentError(
      `expected three octets in 127.0.0.0/8 other than 127.0.0, e.g. 127.0.100 (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}

/** How to run etcd-spot from here: `npx etcd-spot` when this one runs from a checkout under cwd. */
function etcdSpotCommand(): string {
  const script = process.argv[1] ?? '';
  const cwd = process.cwd();
  return script.startsWith(`${cwd}/`) ? 'npx etcd-spot' : 'etcd-spot';
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'Run a local fleet (emulated cloud + real agents and etcd on loopback) through a failure scenario while a client writes, then print the verdict.',
    )
    .option(
      '--scenario <name|file>',
      'a scenario of scenarios/ by name (demo, interrupt-leader, …; see --list-scenarios) or a path to a .yaml file',
      'demo',
    )
    .option('--list-scenarios', 'list the built-in scenarios and exit', false)
    .option('--instances <n>', "group size at start (default: the scenario's)", intArg('--instances', 1, 9))
    .option(
      '--max-voters <n>',
      "agents' voter cap, odd (default: the scenario's, 5)",
      intArg('--max-voters', 1, 9),
    )
    .option('--duration <d>', "cap on the whole run, e.g. 5m (default: the scenario's)", durationArg)
    .option(
      '--seed <n>',
      "seed of every random choice (default: the scenario's, else random; printed, reuse it to repeat a run)",
      intArg('--seed', 0, 2 ** 31 - 1),
    )
    .option('--ip-prefix <a.b.c>', 'instances get <prefix>.10 … .250 (loopback only)', prefixArg, '127.0.100')
    .option('--writers <n>', "concurrent writers (default: the scenario's)", intArg('--writers', 1, 64))
    .option(
      '--writes-per-second <n>',
      "total writes per second, 0 = as fast as possible (default: the scenario's)",
      rateArg,
    )
    .option(
      '--agent-command <cmd>',
      "run this shell command on every instance instead of etcd-spot's agent, with the SIM_* environment (docs/simulator.md), e.g. 'bash bench/baselines/seed/run.sh'",
    )
    .option(
      '--agent-env <NAME=value>',
      'extra environment for every agent (repeatable), e.g. SEED_POLL_INTERVAL=30',
      envArg,
    )
    .option(
      '--events <n>',
      "number of events the scenario's chaos step draws (e.g. a shorter soak; default: the scenario's)",
      intArg('--events', 1, 100_000),
    )
    .option(
      '--chaos-for <d>',
      "how long the chaos step keeps drawing, e.g. 25m; it stops at this or --events, whichever comes first (default: the scenario's)",
      durationArg,
    )
    .option('--report <file>', 'write the JSON report here')
    .option('--html <file>', 'write the HTML report here (default: report.html in the run dir)')
    .option('--keep', 'leave the fleet running after the verdict, until Ctrl-C', false)
    .option(
      '--tls',
      "etcd's client and peer ports and the agents' endpoints over TLS: a CA and a certificate per instance made for this run (also `tls: true` in a scenario)",
      false,
    )
    .addHelpText(
      'after',
      '\nEvery run keeps its logs under .runs/<timestamp>-<seed>-<scenario>/<instance>/ (agent.log, state/etcd.log);\n' +
        'the etcd data dirs (data/) are kept only when the verdict is FAIL. Scenario format, agent contract and\n' +
        'report fields: docs/simulator.md.',
    )
    .action(async (flags: SimFlags) => {
      const { listScenarios, loadScenario, ScenarioError } = await import('../../sim/scenario.ts');
      if (flags.listScenarios) {
        const all = listScenarios();
        const width = Math.max(...all.map((s) => s.name.length)) + 2;
        for (const s of all)
          process.stdout.write(`${s.name.padEnd(width)}${s.error ? `INVALID: ${s.error}` : s.description}\n`);
        return;
      }
      let scenario;
      try {
        scenario = loadScenario(flags.scenario);
      } catch (err) {
        // The message already lists every issue; a cause would print them twice.
        if (err instanceof ScenarioError) throw new ExitError(err.message, EXIT.badArgs);
        throw err;
      }
      const maxVoters = flags.maxVoters ?? scenario.group.maxVoters;
      if (maxVoters % 2 === 0)
        throw new ExitError(`--max-voters must be odd (got ${maxVoters})`, EXIT.badArgs);
      const { runSim } = await import('../../sim/run.ts');
      const { installStopSignals } = await import('../../sim/processes.ts');

      const controller = new AbortController();
      // After a finished --keep run there is no scenario left to stop: only the kept fleet.
      let kept = false;
      const uninstallSignals = installStopSignals((sig) => {
        process.stderr.write(
          kept
            ? `\n${sig}: stopping the kept fleet and cleaning up (again to kill at once)\n`
            : `\n${sig}: stopping the scenario, cleaning up and printing the verdict so far (again to kill at once)\n`,
        );
        controller.abort();
      });
      try {
        const { report, fleet } = await runSim({
          scenario,
          maxVoters,
          ipPrefix: flags.ipPrefix,
          signal: controller.signal,
          keepFleet: flags.keep && !controller.signal.aborted,
          ...(flags.tls ? { tls: true } : {}),
          ...(flags.agentEnv !== undefined ? { agentEnv: flags.agentEnv } : {}),
          ...(flags.agentCommand !== undefined ? { agentCommand: flags.agentCommand } : {}),
          ...(flags.writers !== undefined ? { writers: flags.writers } : {}),
          ...(flags.writesPerSecond !== undefined ? { writesPerSecond: flags.writesPerSecond } : {}),
          ...(flags.instances !== undefined ? { instances: flags.instances } : {}),
          ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
          ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
          ...(flags.report !== undefined ? { reportPath: flags.report } : {}),
          ...(flags.events !== undefined ? { chaosEvents: flags.events } : {}),
          ...(flags.chaosFor !== undefined ? { chaosForMs: flags.chaosFor } : {}),
          ...(flags.html !== undefined ? { htmlPath: flags.html } : {}),
        });
        if (flags.keep && !controller.signal.aborted) {
          const { keepHintLines } = await import('../../sim/keep-hints.ts');
          process.stdout.write(`\n${keepHintLines(fleet.keptFleet(), etcdSpotCommand()).join('\n')}\n`);
          kept = true;
          await new Promise<void>((resolve) => {
            if (controller.signal.aborted) resolve();
            else controller.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          await fleet.close({ removeData: report.pass });
        }
        if (!report.pass) throw new ExitError('', report.converged ? EXIT.failure : EXIT.clusterNotHealthy);
      } finally {
        uninstallSignals();
      }
    });
}

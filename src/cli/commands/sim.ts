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
  maxVoters: number;
  scenario: string;
  duration?: number;
  seed?: number;
  ipPrefix: string;
  report?: string;
  keep: boolean;
  writers: number;
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

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'Run a local fleet (emulated cloud + real agents and etcd on loopback) through a failure scenario while a client writes, then print the verdict.',
    )
    .option(
      '--instances <n>',
      "group size at start (default: the scenario's, 3)",
      intArg('--instances', 1, 9),
    )
    .option('--max-voters <n>', "agents' voter cap (odd)", intArg('--max-voters', 1, 9), 5)
    .option('--scenario <name>', 'demo | steady | scale | api-outage | chaos', 'demo')
    .option(
      '--duration <d>',
      'cap on the whole run (demo, scale, api-outage) or churn time (steady, chaos), e.g. 90s',
      durationArg,
    )
    .option(
      '--seed <n>',
      'seed of every random choice (printed; reuse it to repeat a run)',
      intArg('--seed', 0, 2 ** 31 - 1),
    )
    .option('--ip-prefix <a.b.c>', 'instances get <prefix>.10 … .250 (loopback only)', prefixArg, '127.0.100')
    .option('--writers <n>', 'concurrent writers', intArg('--writers', 1, 64), 4)
    .option('--report <file>', 'write the JSON report here')
    .option('--keep', 'leave the fleet running after the verdict, until Ctrl-C', false)
    .addHelpText(
      'after',
      '\nEvery run keeps its logs under .runs/<timestamp>-<seed>-<scenario>/<instance>/ (agent.log, state/etcd.log);\n' +
        'the etcd data dirs (data/) are kept only when the verdict is FAIL.',
    )
    .action(async (flags: SimFlags) => {
      const { findScenario, SCENARIOS } = await import('../../sim/scenario.ts');
      const scenario = findScenario(flags.scenario);
      if (!scenario) {
        throw new ExitError(
          `unknown scenario ${JSON.stringify(flags.scenario)}; choose one of ${[...SCENARIOS.keys()].join(', ')}`,
          EXIT.badArgs,
        );
      }
      if (flags.maxVoters % 2 === 0)
        throw new ExitError(`--max-voters must be odd (got ${flags.maxVoters})`, EXIT.badArgs);
      const { runSim } = await import('../../sim/run.ts');
      const { killAllProcessGroupsSync } = await import('../../sim/processes.ts');

      const controller = new AbortController();
      let interrupts = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write(
            `\n${sig}: stopping the scenario, cleaning up and printing the verdict so far (again to kill at once)\n`,
          );
          controller.abort();
          return;
        }
        // Second signal: no time for an orderly shutdown; kill what we started, then die by the signal.
        killAllProcessGroupsSync();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.kill(process.pid, sig);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const { report, fleet } = await runSim({
          scenario,
          maxVoters: flags.maxVoters,
          ipPrefix: flags.ipPrefix,
          writers: flags.writers,
          signal: controller.signal,
          keepFleet: flags.keep && !controller.signal.aborted,
          ...(flags.instances !== undefined ? { instances: flags.instances } : {}),
          ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
          ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
          ...(flags.report !== undefined ? { reportPath: flags.report } : {}),
        });
        if (flags.keep && !controller.signal.aborted) {
          process.stdout.write(
            `\n--keep: the fleet keeps running. etcd endpoints: ${fleet.clientUrls().join(',')}\n` +
              `emulator: ${fleet.emulatorUrl} (group ${fleet.groupId}). Ctrl-C to stop.\n`,
          );
          await new Promise<void>((resolve) => {
            if (controller.signal.aborted) resolve();
            else controller.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          await fleet.close({ removeData: report.pass });
        }
        if (!report.pass) throw new ExitError('', report.converged ? EXIT.failure : EXIT.clusterNotHealthy);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

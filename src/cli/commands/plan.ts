/**
 * `etcd-spot plan`: observes once, exactly as the agent would, and prints the plan (what the agent
 * would do next, with every reason) without executing anything. In supervise mode it tells whether
 * etcd runs by probing the local client URL, since the agent process, not this one, owns etcd.
 */
import type { Command } from 'commander';
import type { Action } from '../../core/actions.ts';
import { configErrorToExit, loadConfigFromFlags, withConfigOptions } from './agent.ts';
import type { ConfigFlags } from './agent.ts';

interface PlanFlags extends ConfigFlags {
  json?: boolean;
}

/** A plain text table: #, action, target, reason. */
export function formatPlanTable(actions: readonly Action[], target: (a: Action) => string): string {
  const rows = actions.map((a, i) => [String(i + 1), a.kind, target(a), a.reason]);
  const head = ['#', 'ACTION', 'TARGET', 'REASON'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export function registerPlanCommand(program: Command): void {
  withConfigOptions(
    program
      .command('plan')
      .description(
        'Observe once and print what the agent would do next, with the reasons; executes nothing.',
      ),
  )
    .option('--json', 'print the actions and an observation summary as JSON')
    .action(async (flags: PlanFlags) => {
      const config = loadConfigFromFlags(flags);
      const [
        { createAgentRuntime },
        { ProbeEtcdRunner },
        { summarizeObservation, actionTarget },
        { createLogger },
      ] = await Promise.all([
        import('../../agent/wiring.ts'),
        import('../../adapters/runner/probe-runner.ts'),
        import('../../agent/summary.ts'),
        import('../../adapters/local/logger.ts'),
      ]);
      let runtime: ReturnType<typeof createAgentRuntime> | undefined;
      try {
        const logger = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level });
        const probe = new ProbeEtcdRunner({ clientUrl: () => runtime?.observer.self()?.clientUrl });
        runtime = createAgentRuntime(config, {
          logger,
          ...(config.etcd.mode === 'supervise' ? { runner: probe } : {}),
        });
      } catch (err) {
        throw configErrorToExit(err);
      }
      try {
        const { observation, actions } = await runtime.planOnce(AbortSignal.timeout(60_000));
        if (flags.json) {
          const out = { actions, observation: summarizeObservation(observation) };
          process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        } else {
          process.stdout.write(formatPlanTable(actions, actionTarget));
        }
      } catch (err) {
        throw configErrorToExit(err);
      } finally {
        await runtime.shutdown({ stopEtcd: false });
      }
    });
}

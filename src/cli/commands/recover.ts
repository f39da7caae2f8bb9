/**
 * `etcd-spot recover [--from <instance|snapshot>] [--empty] [--dry-run]`: the operator's word in a
 * quorum-loss recovery (docs/design.md row Q, C5). It writes an order to `<agent.stateDir>/recover.json`
 * on this instance; the agent acts on it at its next cycle, and only when its planner has the proof of
 * a quorum loss (the order never replaces the proof). `--dry-run` writes nothing: it observes once as
 * the agent would, with the order in place, and prints the plan, i.e. exactly what would happen and
 * what it would lose.
 */
import type { Command } from 'commander';
import { ExitError } from '../../core/errors.ts';
import type { RecoveryOrder } from '../../core/observation.ts';
import { ORDER_TTL_MS, parseRecoveryOrder, writeRecoveryOrder } from '../../agent/recovery-order.ts';
import { EXIT } from '../exit-codes.ts';
import { noteLogLevel } from '../output.ts';
import { cliEtcdTls, configErrorToExit, loadConfigFromFlags, withConfigOptions } from './agent.ts';
import type { ConfigFlags } from './agent.ts';
import { formatPlanTable, openMetadataOnce } from './plan.ts';

interface RecoverFlags extends ConfigFlags {
  from?: string;
  empty?: boolean;
  dryRun?: boolean;
}

/** The order the flags ask for (pure); throws a usage error for a contradiction. */
export function orderFromFlags(flags: Pick<RecoverFlags, 'from' | 'empty'>, now: number): RecoveryOrder {
  const order: RecoveryOrder = { at: now };
  if (flags.from !== undefined) order.from = flags.from;
  if (flags.empty === true) order.empty = true;
  const checked = parseRecoveryOrder(JSON.stringify(order));
  if (typeof checked === 'string')
    throw new ExitError(`recover: ${checked.replace(/"(\w+)"/g, '--$1')}`, EXIT.badArgs, { code: 'USAGE' });
  return checked;
}

export function registerRecoverCommand(program: Command): void {
  withConfigOptions(
    program
      .command('recover')
      .description(
        'Order quorum-loss recovery on this instance: force a new cluster from a survivor, or restore a snapshot; acts only on proof of the loss.',
      )
      .option('--from <instance|snapshot>', 'recover from this survivor (instance id) or this snapshot')
      .option('--empty', 'allow bootstrapping an empty cluster although the store holds a snapshot')
      .option('--dry-run', 'write nothing: print what the agent would do with this order, and why'),
  ).action(async (flags: RecoverFlags) => {
    const order = orderFromFlags(flags, Date.now());
    const config = loadConfigFromFlags(flags);
    noteLogLevel(config.log.level);
    if (flags.dryRun !== true) {
      const path = await writeRecoveryOrder(config.agent.stateDir, order);
      process.stdout.write(
        `recovery order written to ${path} (valid ${ORDER_TTL_MS / 60_000} min): the agent on this instance acts on it ` +
          'at its next cycle, and only if it has proof of a quorum loss; `etcd-spot plan` shows what it will do\n',
      );
      return;
    }
    const [{ createAgentRuntime }, { ProbeEtcdRunner }, { actionTarget }] = await Promise.all([
      import('../../agent/wiring.ts'),
      import('../../adapters/runner/probe-runner.ts'),
      import('../../agent/summary.ts'),
    ]);
    const { logger, metadata } = await openMetadataOnce(config, 'recover runs on the instance itself');
    let runtime: ReturnType<typeof createAgentRuntime> | undefined;
    try {
      const probeTls = (await cliEtcdTls(config)).tls;
      const probe = new ProbeEtcdRunner({
        clientUrl: () => runtime?.observer.self()?.clientUrl,
        ...(probeTls !== undefined ? { tls: probeTls } : {}),
      });
      runtime = createAgentRuntime(config, {
        logger,
        metadata,
        recoveryOrder: () => order,
        ...(config.etcd.mode === 'supervise' ? { runner: probe } : {}),
      });
    } catch (err) {
      throw configErrorToExit(err);
    }
    try {
      const { actions } = await runtime.planOnce(AbortSignal.timeout(60_000));
      process.stdout.write(
        `dry run, nothing written; with the order ${JSON.stringify(order)} the agent would:\n`,
      );
      process.stdout.write(formatPlanTable(actions, actionTarget));
    } finally {
      await runtime.shutdown({ stopEtcd: false });
    }
  });
}

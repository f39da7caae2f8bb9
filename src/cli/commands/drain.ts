/**
 * `etcd-spot drain [--reason <text>] | --cancel`: take this instance out of the cluster by hand. It
 * writes an order to `<agent.stateDir>/drain.json` on this instance (as `recover` does); the agent
 * here reads it as a termination notice (source `operator-drain`) and takes the leave path of a
 * notice: promote a spare, hand leadership over, remove itself when quorum allows (never otherwise),
 * mark left, signal ready to shutdown. It stays out while the order stands; `--cancel` deletes it and
 * the agent rejoins as a fresh member. See src/agent/drain-order.ts.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  DRAIN_SOURCE,
  drainPath,
  readDrainOrder,
  removeDrainOrder,
  writeDrainOrder,
} from '../../agent/drain-order.ts';
import { ExitError } from '../../core/errors.ts';
import { EXIT } from '../exit-codes.ts';
import { noteLogLevel } from '../output.ts';
import { loadConfigFromFlags, withConfigOptions, type ConfigFlags } from './agent.ts';

interface DrainFlags extends ConfigFlags {
  reason?: string;
  cancel?: boolean;
}

export function registerDrainCommand(program: Command): void {
  withConfigOptions(
    program
      .command('drain')
      .description(
        'Take this instance out of the cluster by hand: its agent leaves as on a termination notice (hand-off, remove, signal) and stays out until `drain --cancel`.',
      )
      .option('--reason <text>', "why, for the agent's log and status (at most 200 characters)")
      .option('--cancel', 'withdraw the order: the agent rejoins as a fresh member'),
  ).action(async (flags: DrainFlags) => {
    if (flags.cancel === true && flags.reason !== undefined)
      throw new ExitError('drain: --cancel and --reason exclude each other', EXIT.badArgs, { code: 'USAGE' });
    if (flags.reason !== undefined && flags.reason.length > 200)
      throw new ExitError(`drain --reason: ${flags.reason.length} characters; at most 200`, EXIT.badArgs, {
        code: 'USAGE',
      });
    const config = loadConfigFromFlags(flags);
    noteLogLevel(config.log.level);
    const stateDir = config.agent.stateDir;
    if (flags.cancel === true) {
      const had = await removeDrainOrder(stateDir);
      process.stdout.write(
        had
          ? `drain order ${drainPath(stateDir)} withdrawn: the agent on this instance sees the notice gone at its next termination poll and rejoins as a fresh member (its old data dir is wiped if its member was removed)\n`
          : `no drain order at ${drainPath(stateDir)}: nothing to withdraw\n`,
      );
      return;
    }
    if (!existsSync(stateDir))
      throw new ExitError(
        `drain: no agent state dir at ${stateDir}; run drain on the instance whose agent should leave, with the agent's config (-c, or --set agent.stateDir=…)`,
        EXIT.badArgs,
        { code: 'USAGE' },
      );
    const existing = await readDrainOrder(stateDir).catch(() => undefined);
    const order = {
      at: existing?.at ?? Date.now(),
      ...(flags.reason !== undefined
        ? { reason: flags.reason }
        : existing?.reason
          ? { reason: existing.reason }
          : {}),
    };
    const path = await writeDrainOrder(stateDir, order);
    process.stdout.write(
      `drain order written to ${path}: at its next termination poll the agent on this instance takes it as a notice (source ${DRAIN_SOURCE}) and leaves:\n` +
        '  promote a caught-up spare, hand leadership over, remove itself once quorum holds without it (never before), stop etcd, signal ready to shutdown\n' +
        'it stays out while the order stands; `etcd-spot drain --cancel` withdraws it. `etcd-spot plan` shows the steps, `etcd-spot status` the progress\n',
    );
  });
}

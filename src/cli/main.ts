#!/usr/bin/env node
// The CLI entry point: the only place that calls process.exit. Each command lives in its own module
// under ./commands and throws ExitError (or any error) instead of exiting.
import { Command, CommanderError } from 'commander';
import { describeError, ExitError } from '../core/errors.ts';
import { EXIT } from './exit-codes.ts';
import { registerCommands } from './commands/index.ts';

export function buildProgram(): Command {
  const program = new Command('etcd-spot')
    .description(
      'Keeps an etcd cluster equal to the healthy running instances of a spot / auto-scaling group.',
    )
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  registerCommands(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.badArgs;
    }
    if (err instanceof ExitError) {
      if (err.message) process.stderr.write(`Error: ${describeError(err)}\n`);
      return err.exitCode;
    }
    process.stderr.write(`Error: ${describeError(err)}\n`);
    return EXIT.failure;
  }
}

process.exitCode = await main(process.argv);
if (process.env.ETCD_SPOT_NO_FORCE_EXIT !== '1') {
  // Open sockets of SDK clients must not keep a finished command alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
}

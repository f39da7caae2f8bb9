#!/usr/bin/env node
// The CLI entry point: the only place that calls process.exit. Each command lives in its own module
// under ./commands and throws ExitError (or any error) instead of exiting; ./output.ts prints it once.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help } from 'commander';
import { ExitError } from '../core/errors.ts';
import { EXIT } from './exit-codes.ts';
import { registerCommands } from './commands/index.ts';
import { cliRun, reportError } from './output.ts';

/** The package's version, from its package.json (src/cli and dist/cli are both two levels down). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('etcd-spot')
    .description(
      'Keeps an etcd cluster equal to the healthy running instances of a spot / auto-scaling group.',
    )
    .version(packageVersion())
    .option('--verbose', 'print the cause of every error, not just what failed (as log.level=debug does)')
    .exitOverride()
    // One spelling for every error line: our own are `Error: …`, so commander's are too.
    .configureOutput({
      outputError: (str, write) => write(str.replace(/^error: /, 'Error: ')),
    })
    // commander prints `(default: [])` for repeatable flags and `(default: false)` for booleans: noise.
    .configureHelp({
      optionDescription: (option) =>
        new Help().optionDescription(option).replace(/ \(default: (\[\]|false)\)$/, ''),
    });
  program.hook('preAction', () => {
    if (program.opts<{ verbose?: boolean }>().verbose) cliRun.verbose = true;
  });
  registerCommands(program);
  usageErrorsPointToHelp(program, []);
  return program;
}

/**
 * A usage error is one line and where to read more, as kubectl does (`error: unknown option '-x'`,
 * then ``see `etcd-spot status --help` ``), not the whole help again. Set on every (sub)command.
 */
function usageErrorsPointToHelp(cmd: Command, path: string[]): void {
  for (const sub of cmd.commands) {
    const subPath = [...path, sub.name()];
    sub.showHelpAfterError(`see \`etcd-spot ${subPath.join(' ')} --help\``);
    usageErrorsPointToHelp(sub, subPath);
  }
  if (path.length === 0) cmd.showHelpAfterError('see `etcd-spot --help`');
}

/** The program or command group that `args` names and nothing more (no subcommand, no option). */
function groupOnly(program: Command, args: string[]): Command | undefined {
  let cmd = program;
  for (const a of args) {
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (sub === undefined) return undefined;
    cmd = sub;
  }
  return cmd.commands.length > 0 ? cmd : undefined;
}

/** The commands whose --json (or -o json) promises a JSON document on stdout, failures included. */
const JSON_COMMANDS = new Set(['status', 'plan', 'member']);

const io = {
  stdout: (s: string) => process.stdout.write(s),
  stderr: (s: string) => process.stderr.write(s),
};

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const group = groupOnly(program, argv.slice(2));
  if (group !== undefined) {
    // No arguments, or a command group without its subcommand (`etcd-spot member`): the help, and
    // success, as etcdctl and kubectl do.
    io.stdout(group.helpInformation());
    return EXIT.ok;
  }
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok;
      // Commander printed the message and the usage already; a --json caller still gets its document.
      const args = argv.slice(2);
      const wantsJson =
        args.includes('--json') ||
        args.includes('-ojson') ||
        args.includes('--output=json') ||
        args.some((a, i) => (a === '-o' || a === '--output') && args[i + 1] === 'json');
      if (wantsJson && args.some((a) => JSON_COMMANDS.has(a))) {
        cliRun.json = true;
        const usage = new ExitError(err.message.replace(/^error: /, ''), EXIT.badArgs, { code: 'USAGE' });
        reportError(usage, { stdout: io.stdout, stderr: () => {} });
      }
      return EXIT.badArgs;
    }
    if (argv.includes('--verbose')) cliRun.verbose = true;
    return reportError(err, io);
  }
}

// A reader that closed the pipe early (`etcd-spot sim --list-scenarios | head`) wants no more output:
// end quietly, as Unix tools do, instead of an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw err;
  });

process.exitCode = await main(process.argv);
if (process.env.ETCD_SPOT_NO_FORCE_EXIT !== '1') {
  // Open sockets of SDK clients must not keep a finished command alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
}

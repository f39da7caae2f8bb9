/**
 * `etcd-spot emulator`: runs the local cloud emulator (Spot.io API + per-instance IMDS + control API)
 * until SIGINT/SIGTERM. Prints one JSON line with the URL and the created groups on stdout.
 *
 * The emulator is a development tool, not product code: it is loaded with a dynamic import only when
 * this command runs, so the agent and the other commands never load it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ExitError } from '../../core/errors.ts';
import { EXIT } from '../exit-codes.ts';

interface EmulatorFlags {
  listen: string;
  token: string;
  account?: string;
  imdsPort: number;
  instanceImds: boolean;
  ipPrefix: string;
  group: { id: string; targetCapacity: number }[];
  seed?: number;
  tickMs: number;
}

function intArg(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return Number(v);
  };
}

function groupArg(
  v: string,
  prev: { id: string; targetCapacity: number }[],
): { id: string; targetCapacity: number }[] {
  const m = /^(sig-[A-Za-z0-9]{1,32}):(\d{1,3})$/.exec(v);
  if (!m)
    throw new InvalidArgumentError(
      `expected sig-<id>:<capacity>, e.g. sig-12345678:3; got ${JSON.stringify(v)}`,
    );
  return [...prev, { id: m[1] as string, targetCapacity: Number(m[2]) }];
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description(
      'Run the local cloud emulator: Spot.io Elastigroup API, one IMDS per instance, and a control API (development and tests only).',
    )
    .option(
      '--listen <host:port>',
      'main listener (Spot + control API); must be a 127.0.0.0/8 address',
      '127.0.0.1:0',
    )
    .option(
      '--token <token>',
      'bearer token the Spot API accepts (default: $SPOTINST_TOKEN, which stays out of `ps`; a flag does not)',
    )
    .option('--account <act-id>', 'Spot account id; requests with another accountId get 401')
    .option(
      '--imds-port <port>',
      'port of the per-instance IMDS listeners (http://<instance ip>:<port>)',
      intArg('--imds-port', 1, 65_535),
      1338,
    )
    .option(
      '--no-instance-imds',
      'do not open per-instance IMDS listeners (IMDS stays reachable at /emulator/instances/<id>/imds/)',
    )
    .option(
      '--ip-prefix <a.b.c>',
      'three octets in 127.0.0.0/8; instances get <prefix>.10 … .250',
      '127.0.100',
    )
    .option('--group <sig-id:N>', 'create a group with N instances (repeatable)', groupArg, [])
    .option('--seed <n>', 'seed of every random choice (ids, tokens)', intArg('--seed', 0, 2 ** 32 - 1))
    .option(
      '--tick-ms <ms>',
      'how often the model applies due transitions',
      intArg('--tick-ms', 1, 60_000),
      50,
    )
    .action(async (raw: Omit<EmulatorFlags, 'token'> & { token?: string }) => {
      const token = raw.token ?? process.env.SPOTINST_TOKEN;
      if (!token) throw new ExitError('--token (or SPOTINST_TOKEN) is required', EXIT.badArgs);
      const { startEmulator } = await import('../../emulator/server.ts');
      const { createLogger } = await import('../../adapters/local/logger.ts');
      let emu: Awaited<ReturnType<typeof startEmulator>>;
      try {
        emu = await startEmulator({
          listen: raw.listen,
          token,
          imdsPort: raw.imdsPort,
          instanceImds: raw.instanceImds,
          ipPrefix: raw.ipPrefix,
          tickMs: raw.tickMs,
          // Trouble after the start (an IMDS address taken for an instance launched later) on stderr.
          logger: createLogger({ level: 'warn' }),
          groups: raw.group.map((g) => ({ id: g.id, name: g.id, targetCapacity: g.targetCapacity })),
          ...(raw.account !== undefined ? { account: raw.account } : {}),
          ...(raw.seed !== undefined ? { seed: raw.seed } : {}),
        });
      } catch (err) {
        throw new ExitError(err instanceof Error ? err.message : String(err), EXIT.badArgs, { cause: err });
      }
      const running = emu;
      const groups = running.state.listGroups().map((g) => ({
        id: g.id,
        name: g.name,
        targetCapacity: g.targetCapacity,
        instances: running.state
          .listInstances({ groupId: g.id })
          .map((i) => ({ id: i.id, privateIp: i.privateIp, imds: running.imdsUrl(i.id) })),
      }));
      process.stdout.write(
        `${JSON.stringify({ url: running.url, imdsPort: running.imdsPort ?? null, ipPrefix: running.state.ipPrefix, seed: running.state.seed, groups })}\n`,
      );
      const sig = await waitForSignal();
      process.stderr.write(`emulator: ${sig}, closing\n`);
      await running.close();
    });
}

/**
 * `etcd-spot certs`: a group's CA and its instances' certificates, through the openssl binary
 * (src/adapters/local/openssl-certs.ts, loaded only when this command runs).
 *
 *   etcd-spot certs ca --out ./ca                                  # once, on the operator's machine
 *   etcd-spot certs issue --ca-dir ./ca --ip 10.0.0.5 --out /etc/etcd-spot/tls   # per instance, at boot
 *
 * An issued dir holds node.crt, node.key and ca.crt: point etcd.tls.certFile/keyFile/caFile (and the
 * peer ones) at them. Nothing secret is printed; keys are written 0600 through a rename.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ConfigError, ExitError } from '../../core/errors.ts';
import { EXIT } from '../exit-codes.ts';

function collect(v: string, prev: string[]): string[] {
  return [
    ...prev,
    ...v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

function daysArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 36500)
    throw new InvalidArgumentError(`expected a number of days in 1..36500 (got ${JSON.stringify(v)})`);
  return Number(v);
}

function toExit(err: unknown): unknown {
  if (err instanceof ConfigError)
    return new ExitError(err.issues.join('; '), EXIT.badArgs, { cause: err, code: 'USAGE' });
  return err;
}

export function registerCertsCommand(program: Command): void {
  const certs = program
    .command('certs')
    .description(
      "Make a group's CA and its instances' certificates for etcd.tls (openssl ≥ 3.0; docs/deploy.md, section TLS).",
    );
  certs
    .command('ca')
    .description('Make a new CA (ca.crt, ca.key) in a directory; refuses to overwrite one.')
    .requiredOption('--out <dir>', 'directory for ca.crt and ca.key (created 0700)')
    .option('--cn <name>', 'subject common name', 'etcd-spot CA')
    .option('--days <n>', 'validity in days', daysArg, 3650)
    .action(async (flags: { out: string; cn: string; days: number }) => {
      const { createCa } = await import('../../adapters/local/openssl-certs.ts');
      try {
        const files = await createCa(flags.out, { commonName: flags.cn, days: flags.days });
        process.stdout.write(
          `CA written: ${files.certFile} (certificate), ${files.keyFile} (private key, 0600: keep it in your secret store, never in user-data)\n`,
        );
      } catch (err) {
        throw toExit(err);
      }
    });
  certs
    .command('issue')
    .description(
      "Issue one instance's certificate (node.crt, node.key, plus a copy of ca.crt) for its private IP: serves and authenticates etcd's client and peer ports and the agent's endpoints.",
    )
    .requiredOption('--ca-dir <dir>', 'directory holding ca.crt and ca.key')
    .requiredOption('--out <dir>', 'directory for node.crt, node.key and ca.crt (created 0700)')
    .option('--ip <ip>', "an IP SAN: the instance's private IP (repeatable or comma-separated)", collect, [])
    .option('--dns <name>', 'a DNS SAN (repeatable or comma-separated)', collect, [])
    .option('--cn <name>', 'subject common name (default: the first IP)')
    .option('--days <n>', 'validity in days', daysArg, 365)
    .action(
      async (flags: {
        caDir: string;
        out: string;
        ip: string[];
        dns: string[];
        cn?: string;
        days: number;
      }) => {
        const { issueCert } = await import('../../adapters/local/openssl-certs.ts');
        try {
          const files = await issueCert({
            caDir: flags.caDir,
            outDir: flags.out,
            commonName: flags.cn ?? flags.ip[0] ?? flags.dns[0] ?? 'etcd-spot',
            ips: flags.ip,
            dns: flags.dns,
            days: flags.days,
          });
          process.stdout.write(
            `certificate for ${[...flags.ip, ...flags.dns].join(', ')} written: ${files.certFile}, ${files.keyFile} (0600), ${files.caFile}\n`,
          );
        } catch (err) {
          throw toExit(err);
        }
      },
    );
}

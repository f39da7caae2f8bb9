/**
 * `etcd-spot render cloud-init|butane|systemd`: the deploy artifacts for an instance of the group,
 * generated from the configuration (src/deploy/render.ts). Prints to stdout; `--out-dir` writes the
 * files under a directory instead (an image builder's root overlay). Never prints a secret: a config
 * with `group.token` or `agent.peerSecret` inline is refused (exit 2), the *File keys are the way.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../config/duration.ts';
import { ExitError } from '../../core/errors.ts';
import type { DeployTarget, RenderOptions, SecretSource } from '../../deploy/render.ts';
import { EXIT } from '../exit-codes.ts';
import { loadConfigFromFlags, withConfigOptions, type ConfigFlags } from './agent.ts';

interface RenderFlags extends ConfigFlags {
  secrets: SecretSource;
  secretsRegion?: string;
  package: string;
  bin: string;
  configPath: string;
  terminationWindow: number;
  user: string;
  etcdUser: string;
  nodePackages: string[];
  outDir?: string;
}

const TARGETS: readonly DeployTarget[] = ['cloud-init', 'butane', 'systemd'];

function secretsArg(v: string): SecretSource {
  if (v === 'none') return { kind: 'none' };
  const m = /^(ssm|secretsmanager):(\/?[A-Za-z0-9_.\-/]+)$/.exec(v);
  if (!m)
    throw new InvalidArgumentError(
      `expected none, ssm:<parameter prefix> or secretsmanager:<secret prefix>, e.g. ssm:/etcd-spot/prod; got ${JSON.stringify(v.slice(0, 80))}`,
    );
  return { kind: m[1] as 'ssm' | 'secretsmanager', prefix: m[2] as string };
}

function absolutePathArg(name: string): (v: string) => string {
  return (v) => {
    if (!v.startsWith('/')) throw new InvalidArgumentError(`${name} must be an absolute path`);
    return v;
  };
}

function windowArg(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined || ms < 30_000 || ms > 30 * 60_000)
    throw new InvalidArgumentError(
      `expected a duration between 30s and 30m, e.g. 2m; got ${JSON.stringify(v)}`,
    );
  return ms;
}

function userArg(v: string): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(v))
    throw new InvalidArgumentError(`not a user name: ${JSON.stringify(v)}`);
  return v;
}

function packagesArg(v: string): string[] {
  const names = v.split(',').map((s) => s.trim());
  if (names.some((n) => !/^[a-z0-9][a-z0-9+.-]+$/.test(n)))
    throw new InvalidArgumentError(
      `expected Debian package names separated by commas, e.g. nodejs,npm; got ${JSON.stringify(v)}`,
    );
  return names;
}

export function registerRenderCommand(program: Command): void {
  withConfigOptions(
    program
      .command('render')
      .description(
        'Print the deploy artifacts for an instance: cloud-init user-data, a Butane (Fedora CoreOS) config, or the systemd units. Never includes a secret.',
      )
      .argument('<target>', `one of ${TARGETS.join(', ')}`, (v: string) => {
        if (!(TARGETS as readonly string[]).includes(v))
          throw new InvalidArgumentError(`expected one of ${TARGETS.join(', ')}`);
        return v as DeployTarget;
      }),
  )
    .addOption(
      new Option(
        '--secrets <source>',
        'where the instance fetches group.tokenFile / agent.peerSecretFile at boot: none, ssm:<prefix> (SSM Parameter Store) or secretsmanager:<prefix>',
      )
        .argParser(secretsArg)
        .default({ kind: 'none' } as SecretSource, 'none'),
    )
    .option(
      '--secrets-region <region>',
      "AWS region of the secret store (default: the instance's, from metadata)",
    )
    .option(
      '--package <spec>',
      'what npm installs on the instance: a version spec or a tarball URL',
      'etcd-spot@0.1.0',
    )
    .option(
      '--bin <path>',
      "the agent's executable on the instance",
      absolutePathArg('--bin'),
      '/usr/local/bin/etcd-spot',
    )
    .option(
      '--config-path <path>',
      'where the config file is written on the instance',
      absolutePathArg('--config-path'),
      '/etc/etcd-spot/etcd-spot.yaml',
    )
    .addOption(
      new Option(
        '--termination-window <duration>',
        "time from a termination notice to power-off (AWS spot: 2m); caps the agent's stop timeout",
      )
        .argParser(windowArg)
        .default(120_000, '2m'),
    )
    .option('--user <name>', "the agent's system user (supervise mode)", userArg, 'etcd-spot')
    .option(
      '--etcd-user <name>',
      "the user of the distribution's etcd.service (systemd mode)",
      userArg,
      'etcd',
    )
    .addOption(
      new Option(
        '--node-packages <names>',
        'comma-separated distribution packages that give Node.js >= 20 and npm (NodeSource: nodejs)',
      )
        .argParser(packagesArg)
        .default(['nodejs', 'npm'], 'nodejs,npm'),
    )
    .option(
      '--out-dir <dir>',
      'systemd: write the files under this directory (keeping their paths) instead of printing them',
    )
    .action(async (target: DeployTarget, flags: RenderFlags) => {
      const config = loadConfigFromFlags(flags);
      const render = await import('../../deploy/render.ts');
      const issues = render.inlineSecretIssues(config);
      if (issues.length > 0) {
        throw new ExitError(issues.join('\n'), EXIT.badArgs, { code: 'CONFIG_INVALID' });
      }
      if (flags.outDir !== undefined && target !== 'systemd') {
        throw new ExitError(
          '--out-dir: only for the systemd target; redirect stdout for the others',
          EXIT.badArgs,
          {
            code: 'USAGE',
          },
        );
      }
      const secrets: SecretSource =
        flags.secrets.kind !== 'none' && flags.secretsRegion
          ? { ...flags.secrets, region: flags.secretsRegion }
          : flags.secrets;
      const opts: RenderOptions = {
        configPath: flags.configPath,
        binPath: flags.bin,
        packageSpec: flags.package,
        secrets,
        terminationWindowMs: flags.terminationWindow,
        user: flags.user,
        etcdUser: flags.etcdUser,
        nodePackages: flags.nodePackages,
      };
      const bundle = render.buildDeploy(config, opts);
      for (const w of bundle.warnings) process.stderr.write(`warning: ${w}\n`);
      if (target === 'cloud-init') process.stdout.write(render.renderCloudInit(bundle, opts));
      else if (target === 'butane') process.stdout.write(render.renderButane(bundle, opts));
      else if (flags.outDir === undefined) process.stdout.write(render.formatFiles(bundle.files));
      else {
        for (const f of bundle.files) {
          const path = join(flags.outDir, f.path);
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, f.content, { mode: f.mode });
          process.stderr.write(`wrote ${path}\n`);
        }
      }
    });
}

/**
 * `etcd-spot agent`: runs the agent beside etcd until SIGINT/SIGTERM. On a signal it stops the loop,
 * the termination watcher and the status server, and (supervise mode) stops etcd gracefully — etcd
 * hands leadership over by itself. It never removes the member: only a cloud-confirmed termination
 * notice, through the planner, does that.
 */
import type { Command } from 'commander';
import { ConfigError, ExitError, describeError } from '../../core/errors.ts';
import { envVarFor, loadConfig } from '../../config/load.ts';
import { leafAt } from '../../config/schema.ts';
import type { Config } from '../../config/schema.ts';
import type { EtcdClientTls } from '../../adapters/etcd/etcd3-cluster.ts';
import { EXIT } from '../exit-codes.ts';
import { noteLogLevel } from '../output.ts';
import { findExecutable } from './executable.ts';

export interface ConfigFlags {
  config?: string;
  set: string[];
  /** etcdctl's TLS flags: shorthands for etcd.tls.caFile, certFile and keyFile. */
  cacert?: string;
  cert?: string;
  key?: string;
}

/** etcdctl's flag names → the etcd.tls keys they set (the client set: etcd's client port and the agents'). */
const TLS_FLAGS = [
  ['cacert', 'etcd.tls.caFile'],
  ['cert', 'etcd.tls.certFile'],
  ['key', 'etcd.tls.keyFile'],
] as const;

function collectSet(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Adds `-c/--config` and `--set path=value` to a command. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option(
      '-c, --config <file>',
      'YAML config file (default: $ETCD_SPOT_CONFIG; settings also come from ETCD_SPOT_* variables)',
    )
    .option(
      '--set <path=value>',
      'override one setting, e.g. --set agent.maxVoters=3 (repeatable; wins over file and env)',
      collectSet,
      [],
    )
    .option(
      '--cacert <file>',
      "CA certificate of etcd's and the agents' certificates (same as --set etcd.tls.caFile=…)",
    )
    .option('--cert <file>', 'client certificate for etcd and the agents (same as --set etcd.tls.certFile=…)')
    .option('--key <file>', 'its private key, a path (same as --set etcd.tls.keyFile=…)');
}

/**
 * Loads the configuration from the flags, the environment and the file. Every problem is reported at
 * once as an ExitError with exit code 2; each warning of a valid config is written once to stderr as
 * `warning: <text>`. A secret given with `--set` is refused: argv is visible to every user in `ps`.
 */
export function loadConfigFromFlags(
  flags: ConfigFlags,
  env: Record<string, string | undefined> = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Config {
  const overrides: Record<string, string> = {};
  const issues: string[] = [];
  for (const s of flags.set) {
    const i = s.indexOf('=');
    if (i <= 0) {
      // Only the part before '=' is shown: what follows may be a secret.
      issues.push(`--set ${i === 0 ? '=…' : s.slice(0, 60)}: expected path=value, e.g. agent.maxVoters=3`);
      continue;
    }
    const path = s.slice(0, i).trim();
    const leaf = leafAt(path.split('.'));
    if (leaf?.secret) {
      const fileKey = `${path}File`;
      const file = leafAt(fileKey.split('.')) ? `${fileKey} (a file only the agent can read)` : undefined;
      const alternatives = [file, `the environment variable ${envVarFor(leaf.path)}`]
        .filter((x) => x !== undefined)
        .join(' or ');
      issues.push(
        `--set ${path}: refused: a secret on the command line is visible to every user in ps and /proc; use ${alternatives} instead`,
      );
      continue;
    }
    overrides[path] = s.slice(i + 1);
  }
  for (const [flag, key] of TLS_FLAGS) {
    const v = flags[flag];
    if (v !== undefined) overrides[key] = v;
  }
  const file = flags.config ?? (env.ETCD_SPOT_CONFIG || undefined);
  const r = loadConfig({ ...(file !== undefined ? { file } : {}), env, overrides });
  if (!r.ok) issues.push(...r.issues);
  if (issues.length > 0 || !r.ok) throw new ExitError(new ConfigError(issues).message, EXIT.badArgs);
  for (const w of new Set(r.warnings)) warn(`warning: ${w}`);
  return r.config;
}

/**
 * The client identity of `etcd.tls` (from the config or --cacert/--cert/--key) for a command's etcd
 * calls, read and checked once (exit 2 naming the key when a file is missing, a key does not match or
 * the CA did not issue the certificate); `{}` without TLS. Spread into createEtcdCluster's options.
 */
export async function cliEtcdTls(config: Config): Promise<{ tls?: () => EtcdClientTls }> {
  const { clientTlsFiles, readTlsMaterial } = await import('../../config/tls-files.ts');
  const files = clientTlsFiles(config.etcd.tls);
  if (files === undefined) return {};
  try {
    const m = readTlsMaterial(files);
    return { tls: () => m };
  } catch (err) {
    throw configErrorToExit(err);
  }
}

/** `https` when etcd.tls has a client set, else `http`: the scheme of etcd's client URLs. */
export function clientSchemeOf(config: Config): 'http' | 'https' {
  const t = config.etcd.tls;
  return t.certFile !== undefined && t.keyFile !== undefined && t.caFile !== undefined ? 'https' : 'http';
}

/** Turns a ConfigError thrown while wiring (e.g. no Spot.io token) into exit code 2. */
export function configErrorToExit(err: unknown): unknown {
  return err instanceof ConfigError
    ? new ExitError(err.message, EXIT.badArgs, { cause: err, code: 'CONFIG_INVALID' })
    : err;
}

/**
 * In supervise mode the agent starts etcd itself: a binary that is not there is a configuration error
 * found at start, before anything is touched, rather than a failed start every cycle.
 */
export function checkEtcdBinary(config: Config, env: Record<string, string | undefined>): void {
  if (config.etcd.mode !== 'supervise') return;
  const binary = config.etcd.binary;
  if (findExecutable(binary, env.PATH) === undefined) {
    const where = binary.includes('/') ? binary : `${binary} (looked up in PATH)`;
    throw new ExitError(
      `etcd.binary: ${where} not found or not executable; install etcd or set etcd.binary`,
      EXIT.badArgs,
      { code: 'CONFIG_INVALID' },
    );
  }
}

/** A failed start: a taken status port is named with its config key and the likely culprit. */
export function startErrorToExit(err: unknown, config: Config): unknown {
  const e = err as { code?: unknown; address?: unknown; port?: unknown };
  if (typeof err === 'object' && err !== null && e.code === 'EADDRINUSE') {
    const address = typeof e.address === 'string' ? e.address : '(private IP)';
    const port = typeof e.port === 'number' ? e.port : config.agent.statusPort;
    const host = address.includes(':') ? `[${address}]` : address;
    return new ExitError(
      `another etcd-spot agent (or another program) already listens on ${host}:${port} (agent.statusPort); stop it or choose another port`,
      EXIT.badArgs,
      { cause: err, code: 'PORT_IN_USE' },
    );
  }
  return configErrorToExit(err);
}

export function registerAgentCommand(program: Command): void {
  withConfigOptions(
    program
      .command('agent')
      .description(
        'Run the agent beside etcd: keep the etcd cluster equal to the healthy running instances of the group.',
      ),
  ).action(async (flags: ConfigFlags) => {
    const config = loadConfigFromFlags(flags);
    noteLogLevel(config.log.level);
    checkEtcdBinary(config, process.env);
    const { createAgentRuntime } = await import('../../agent/wiring.ts');
    let runtime: ReturnType<typeof createAgentRuntime>;
    try {
      runtime = createAgentRuntime(config);
    } catch (err) {
      throw configErrorToExit(err);
    }
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stop.signal.aborted) {
        runtime.logger.warn({ signal: sig }, 'already stopping');
        return;
      }
      runtime.logger.info({ signal: sig }, 'stopping the agent (the member stays in the cluster)');
      stop.abort(new Error(`received ${sig}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let started = false;
    try {
      try {
        await runtime.start(stop.signal);
        started = true;
      } catch (err) {
        if (stop.signal.aborted) return;
        throw startErrorToExit(err, config);
      }
      await runtime.run(stop.signal);
    } finally {
      // An agent that did not start leaves etcd alone: it may belong to the agent that holds the port.
      await runtime
        .shutdown(started ? {} : { stopEtcd: false })
        .catch((err: unknown) => runtime.logger.error({ err: describeError(err) }, 'shutdown failed'));
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

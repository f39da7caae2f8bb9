/**
 * `etcd-spot plan`: observes once, exactly as the agent would, and prints the plan (what the agent
 * would do next, with every reason) without executing anything. In supervise mode it tells whether
 * etcd runs by probing the local client URL, since the agent process, not this one, owns etcd.
 */
import type { Command } from 'commander';
import type { Action } from '../../core/actions.ts';
import { ExitError, errorChain, networkReason } from '../../core/errors.ts';
import { systemClock } from '../../adapters/local/system-clock.ts';
import type { Config } from '../../config/schema.ts';
import type { InstanceIdentity, InstanceMetadata } from '../../ports/instance-metadata.ts';
import type { Logger } from '../../ports/logger.ts';
import { EXIT } from '../exit-codes.ts';
import { cliRun, errorDocument, JSON_SCHEMA_VERSION, noteLogLevel } from '../output.ts';
import { cliEtcdTls, configErrorToExit, loadConfigFromFlags, withConfigOptions } from './agent.ts';
import type { ConfigFlags } from './agent.ts';
import {
  cloudApiHint,
  parseEndpoints,
  targetSets,
  withTargetOptions,
  type TargetFlags,
} from './target-flags.ts';

interface PlanFlags extends ConfigFlags, TargetFlags {
  json?: boolean;
}

/** The whole observation's deadline. */
const PLAN_TIMEOUT_MS = 60_000;

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

/** The group part of a plan's observation failed: one line, without the adapter's cause chain. */
function groupFailure(error: string): string {
  const first = error.split(': caused by: ')[0] ?? error;
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}

/**
 * The logger and instance metadata of a one-shot observation (`plan`, `recover --dry-run`): reads the
 * identity once, within a few seconds — a dry run must not wait a minute on a metadata service that is
 * not there (the agent, by contrast, retries until it answers) — and hands the runtime a metadata port
 * that returns that answer instead of asking again. `hint` ends the error line ("not on an instance? …").
 */
export async function openMetadataOnce(
  config: Config,
  hint: string,
): Promise<{ logger: Logger; metadata: InstanceMetadata; identity: InstanceIdentity }> {
  const [{ createLogger }, { createImds }] = await Promise.all([
    import('../../adapters/local/logger.ts'),
    import('../../adapters/imds/imds.ts'),
  ]);
  // The plan's reasons and the exit code carry what went wrong; the agent's warnings would say it twice.
  const logger = createLogger({
    level: cliRun.verbose ? 'debug' : config.log.level === 'info' ? 'error' : config.log.level,
  });
  const imds = createImds({
    url: config.metadata.url,
    requireV2: config.metadata.requireV2,
    timeoutMs: config.metadata.timeoutMs,
    tokenTtlSec: Math.floor(config.metadata.tokenTtlMs / 1000),
    clock: systemClock,
    logger,
  });
  let identity: InstanceIdentity;
  try {
    identity = await imds.identity(AbortSignal.timeout(Math.max(3000, 2 * config.metadata.timeoutMs)));
  } catch (err) {
    const reason = networkReason(err) ?? errorChain(err).at(-1) ?? 'no answer';
    throw new ExitError(
      `no instance metadata at ${config.metadata.url}: ${hint} (${reason})`,
      EXIT.cloudUnavailable,
      {
        cause: err,
        code: 'METADATA_UNREACHABLE',
      },
    );
  }
  const metadata: InstanceMetadata = {
    identity: () => Promise.resolve(identity),
    get: (path, signal) => imds.get(path, signal),
  };
  return { logger, metadata, identity };
}

export function registerPlanCommand(program: Command): void {
  withTargetOptions(
    withConfigOptions(
      program
        .command('plan')
        .description(
          'Observe once and print what the agent would do next, with the reasons; executes nothing.',
        ),
    ).option('--json', 'print the actions and an observation summary as JSON (an error is JSON too)'),
    { metadataUrl: true, endpoints: true },
  ).action(async (flags: PlanFlags) => {
    if (flags.json) cliRun.json = true;
    const endpoints = parseEndpoints(flags.endpoints);
    const config = loadConfigFromFlags({ ...flags, set: targetSets(flags) });
    noteLogLevel(config.log.level);
    const [{ createAgentRuntime }, { ProbeEtcdRunner }, { summarizeObservation, actionTarget }] =
      await Promise.all([
        import('../../agent/wiring.ts'),
        import('../../adapters/runner/probe-runner.ts'),
        import('../../agent/summary.ts'),
      ]);
    // The runtime reads the identity again: it gets the answer just read instead of retrying.
    const { logger, metadata, identity } = await openMetadataOnce(
      config,
      'not on an instance? use --metadata-url',
    );
    if (config.group.provider === 'elastigroup' && !config.group.groupId && !identity.groupId) {
      throw new ExitError(
        `group.groupId: not set, and the instance metadata at ${config.metadata.url} has no spotinst:aws:ec2:group:id tag; pass --group-id sig-… or set group.groupId`,
        EXIT.badArgs,
        { code: 'CONFIG_INVALID' },
      );
    }
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
        ...(endpoints !== undefined ? { clientUrls: endpoints } : {}),
        ...(config.etcd.mode === 'supervise' ? { runner: probe } : {}),
      });
    } catch (err) {
      throw configErrorToExit(err);
    }
    try {
      const deadline = AbortSignal.timeout(PLAN_TIMEOUT_MS);
      let result;
      try {
        result = await runtime.planOnce(deadline);
      } catch (err) {
        if (deadline.aborted) {
          throw new ExitError(
            `the observation did not finish within ${PLAN_TIMEOUT_MS / 1000} s; run with --verbose to see which call hung`,
            EXIT.failure,
            { cause: err, code: 'TIMEOUT' },
          );
        }
        throw configErrorToExit(err);
      }
      const { observation, actions } = result;
      // An observation without the group is incomplete: the plan is printed, but the exit code says so.
      const failure = observation.group.ok
        ? undefined
        : new ExitError(
            `the plan is incomplete: cannot list the instances of ${groupFailure(observation.group.error)}${cloudApiHint(observation.group.error)}`,
            EXIT.cloudUnavailable,
            { code: 'CLOUD_UNAVAILABLE' },
          );
      if (flags.json) {
        const out: Record<string, unknown> = {
          schemaVersion: JSON_SCHEMA_VERSION,
          actions,
          observation: summarizeObservation(observation),
        };
        if (failure) out.error = errorDocument(failure, failure.exitCode, cliRun.verbose).error;
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        cliRun.jsonWritten = true;
      } else {
        process.stdout.write(formatPlanTable(actions, actionTarget));
      }
      if (failure) throw failure;
    } finally {
      await runtime.shutdown({ stopEtcd: false });
    }
  });
}

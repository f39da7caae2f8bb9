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
import { cliRun, errorDocument, noteLogLevel } from '../output.ts';
import { outputFormat, renderDocument, renderTable, withOutputOptions, type OutputFlags } from '../format.ts';
import type { ObservationSummary } from '../../agent/summary.ts';
import { cliEtcdTls, configErrorToExit, loadConfigFromFlags, withConfigOptions } from './agent.ts';
import type { ConfigFlags } from './agent.ts';
import {
  cloudApiHint,
  parseEndpoints,
  targetSets,
  withTargetOptions,
  type TargetFlags,
} from './target-flags.ts';

interface PlanFlags extends ConfigFlags, TargetFlags, OutputFlags {
  instance?: string;
}

/**
 * `--instance <id>`: plan as that instance of the group would, from any machine. Its identity comes
 * from the group's instance list instead of the metadata service; its metadata-based termination
 * sources answer "unknown" (the plan lists them among the sources that failed), never "no notice".
 */
async function identityFromGroup(
  config: Config,
  instanceId: string,
): Promise<{ logger: Logger; metadata: InstanceMetadata; identity: InstanceIdentity }> {
  const [{ createLogger }, { buildGroup }] = await Promise.all([
    import('../../adapters/local/logger.ts'),
    import('./status.ts'),
  ]);
  const logger = createLogger({
    level: cliRun.verbose ? 'debug' : config.log.level === 'info' ? 'error' : config.log.level,
  });
  let instances;
  let description = 'the group';
  try {
    const group = await buildGroup(config, process.env);
    description = group.description;
    instances = await group.listInstances(AbortSignal.timeout(20_000));
  } catch (err) {
    const e = configErrorToExit(err);
    if (e instanceof ExitError) throw e;
    throw new ExitError(
      `--instance ${instanceId}: cannot list the instances of ${description} to find it: ${errorChain(err)[0] ?? 'no answer'}${cloudApiHint(errorChain(err)[0] ?? '')}`,
      EXIT.cloudUnavailable,
      { cause: err, code: 'CLOUD_UNAVAILABLE' },
    );
  }
  const inst = instances.find((i) => i.id === instanceId);
  if (inst === undefined)
    throw new ExitError(
      `--instance ${JSON.stringify(instanceId.slice(0, 64))}: not a running instance of ${description}; running: ${instances.map((i) => i.id).join(', ') || 'none'}`,
      EXIT.badArgs,
      { code: 'USAGE' },
    );
  const identity: InstanceIdentity = {
    instanceId: inst.id,
    privateIp: inst.privateIp,
    ...(config.group.provider === 'elastigroup' && config.group.groupId !== undefined
      ? { groupId: config.group.groupId }
      : {}),
  };
  const metadata: InstanceMetadata = {
    identity: () => Promise.resolve(identity),
    get: () =>
      Promise.reject(
        new Error(`no instance metadata: planning as --instance ${inst.id} from elsewhere (notices unknown)`),
      ),
  };
  return { logger, metadata, identity };
}

/** The whole observation's deadline. */
const PLAN_TIMEOUT_MS = 60_000;

/**
 * A plain text table: #, when, action, target, reason. Only the first row is what the agent does now;
 * the rest are what it expects to do after it (each step re-plans from a fresh observation), and are
 * labelled so: they are a projection, not facts.
 */
export function formatPlanTable(
  actions: readonly Action[],
  target: (a: Action) => string,
  noHeaders = false,
): string {
  const rows = actions.map((a, i) => [
    String(i + 1),
    i === 0 ? 'now' : 'then (expected)',
    a.kind,
    target(a),
    a.reason,
  ]);
  return renderTable(['#', 'WHEN', 'ACTION', 'TARGET', 'REASON'], rows, noHeaders);
}

/** `-o wide`: what the plan was made from, a few lines under the table. */
function observedLines(o: ObservationSummary): string {
  const lines = ['', `observed as ${o.self.instanceId} (${o.self.privateIp}):`];
  lines.push(
    o.group.ok
      ? `  group: ${o.group.instances.length} instance(s)${o.group.desiredCapacity !== undefined ? `, desired ${o.group.desiredCapacity}` : ''}`
      : `  group: unknown (${o.group.error.split('\n')[0]})`,
  );
  lines.push(
    o.cluster.reachable
      ? `  cluster ${o.cluster.clusterId}: ${o.cluster.members.length} member(s), leader ${o.cluster.leaderId ?? 'none'}`
      : `  cluster: unreachable (${o.cluster.error.split('\n')[0]})`,
  );
  const n = o.termination.notices;
  lines.push(
    `  notices: ${n.length === 0 ? 'none' : n.map((x) => `${x.source}${x.deadline !== undefined ? ` (deadline ${new Date(x.deadline).toISOString()})` : ''}`).join(', ')}` +
      (o.termination.errors.length > 0 ? `; unknown from: ${o.termination.errors.join('; ')}` : ''),
  );
  lines.push(
    `  local: etcd ${o.local.etcdRunning ? 'running' : 'not running'}, ${o.local.hasData ? 'data' : 'no data'}${o.local.memberId !== undefined ? `, member ${o.local.memberId}` : ''}${o.local.left !== undefined ? `, left (${o.local.left.reason})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
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
      withOutputOptions(
        program
          .command('plan')
          .description(
            'Observe once and print what the agent would do next, with the reasons; executes nothing.',
          ),
      ),
    ),
    { metadataUrl: true, endpoints: true },
  )
    .option(
      '--instance <id>',
      "plan as this instance of the group would, from anywhere (its IP from the group's list; no metadata service)",
    )
    .action(async (flags: PlanFlags) => {
      const format = outputFormat(flags);
      if (flags.instance !== undefined && flags.metadataUrl !== undefined)
        throw new ExitError(
          '--instance and --metadata-url exclude each other: --instance plans without a metadata service',
          EXIT.badArgs,
          { code: 'USAGE' },
        );
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
      const { logger, metadata, identity } =
        flags.instance !== undefined
          ? await identityFromGroup(config, flags.instance)
          : await openMetadataOnce(
              config,
              'not on an instance? use --metadata-url, or --instance <id> with --group-id',
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
        if (format === 'json' || format === 'yaml') {
          const out: Record<string, unknown> = {
            actions: actions.map((a, i) => ({ ...a, step: i + 1, expected: i > 0 })),
            observation: summarizeObservation(observation),
          };
          if (failure) out.error = errorDocument(failure, failure.exitCode, cliRun.verbose).error;
          process.stdout.write(renderDocument(format, out));
          cliRun.jsonWritten = true;
        } else {
          process.stdout.write(formatPlanTable(actions, actionTarget, flags.headers === false));
          if (format === 'wide') process.stdout.write(observedLines(summarizeObservation(observation)));
        }
        if (failure) throw failure;
      } finally {
        await runtime.shutdown({ stopEtcd: false });
      }
    });
}

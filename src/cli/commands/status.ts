/**
 * `etcd-spot status`: the group's instances side by side with the etcd cluster's members, and what
 * does not match. Reads only; works from any machine that reaches the cloud API and the members.
 */
import type { Command } from 'commander';
import { CloudApiError, ConfigError, ExitError, errorMessage, networkReason } from '../../core/errors.ts';
import { clientUrlFor } from '../../core/ids.ts';
import { buildStatusReport, type StatusInput, type StatusReport } from '../../core/status-report.ts';
import type { Config } from '../../config/schema.ts';
import type { EtcdCluster } from '../../ports/etcd-cluster.ts';
import type { InstanceGroup } from '../../ports/instance-group.ts';
import { EXIT } from '../exit-codes.ts';
import { cliRun, JSON_SCHEMA_VERSION, noteLogLevel } from '../output.ts';
import {
  cliEtcdTls,
  clientSchemeOf,
  configErrorToExit,
  loadConfigFromFlags,
  withConfigOptions,
  type ConfigFlags,
} from './agent.ts';
import {
  cloudApiHint,
  parseEndpoints,
  targetSets,
  withTargetOptions,
  type TargetFlags,
} from './target-flags.ts';

interface StatusFlags extends ConfigFlags, TargetFlags {
  json?: boolean;
}

// The adapters (the etcd client, the logger, the Spot.io client) are imported when `status` runs, not
// when the CLI starts: every other command, --help and --version skip loading etcd3.
export async function buildGroup(
  config: Config,
  env: Record<string, string | undefined>,
): Promise<InstanceGroup> {
  const g = config.group;
  if (g.provider === 'static') {
    const { createStaticGroup } = await import('../../adapters/static/static-group.ts');
    return createStaticGroup({ instances: g.instances });
  }
  if (g.groupId === undefined) {
    throw new ConfigError([
      'group.groupId: required for `status` (there is no instance metadata to read it from); pass --group-id sig-… or set ETCD_SPOT_GROUP_GROUP_ID',
    ]);
  }
  const [{ resolveSpotCredentials }, { createElastigroup }, { systemClock }, { createLogger }] =
    await Promise.all([
      import('../../config/credentials.ts'),
      import('../../adapters/spot/elastigroup.ts'),
      import('../../adapters/local/system-clock.ts'),
      import('../../adapters/local/logger.ts'),
    ]);
  const creds = resolveSpotCredentials(config, env);
  return createElastigroup({
    apiUrl: g.apiUrl,
    token: creds.token,
    account: creds.account,
    groupId: g.groupId,
    requestTimeoutMs: g.requestTimeoutMs,
    clock: systemClock,
    logger: createLogger({ level: 'error' }),
  });
}

/**
 * `no etcd member answered at http://a:2379, http://b:2379 (connection refused); is etcd running? …`:
 * one short reason per endpoint, grouped when they agree, never the gRPC chains (those go to --verbose).
 */
export function etcdUnreachableMessage(failures: readonly { url: string; err: unknown }[]): string {
  const byReason = new Map<string, string[]>();
  for (const f of failures) {
    const reason = networkReason(f.err) ?? shortClause(errorMessage(f.err), f.url);
    byReason.set(reason, [...(byReason.get(reason) ?? []), f.url]);
  }
  const parts = [...byReason.entries()].map(([reason, urls]) => `${urls.join(', ')} (${reason})`);
  return `no etcd member answered at ${parts.join('; ')}; is etcd running? check --endpoints`;
}

/** An adapter message without the call and endpoint it repeats, first line, at most 100 characters. */
function shortClause(message: string, url: string): string {
  const clause = message.replace(/(^|: )(member list|status)( via \S+)?: /g, '$1').replace(`${url}: `, '');
  const line = clause.split('\n')[0] ?? clause;
  return line.length > 100 ? `${line.slice(0, 100)}…` : line;
}

/**
 * The member list (the first endpoint to answer wins; when none does, one ExitError with each one's
 * reason, exit 4) and every member's own status; a member that does not answer is an `error` entry,
 * never an exception. Shared by `status` and `member`.
 */
export async function probeMembers(
  etcd: EtcdCluster,
  endpoints: string[],
): Promise<Pick<StatusInput, 'members' | 'statuses'>> {
  const failures: { url: string; err: unknown }[] = [];
  let members;
  try {
    members = await Promise.any(
      endpoints.map((url) =>
        etcd.listMembers([url]).catch((err: unknown) => {
          failures.push({ url, err });
          throw err;
        }),
      ),
    );
  } catch {
    const ordered = endpoints.flatMap((url) => failures.filter((f) => f.url === url));
    throw new ExitError(etcdUnreachableMessage(ordered), EXIT.etcdUnavailable, {
      cause: new AggregateError(
        ordered.map((f) => f.err),
        'member list failed at every endpoint',
      ),
      code: 'ETCD_UNREACHABLE',
    });
  }
  const statuses: StatusInput['statuses'] = {};
  await Promise.all(
    members.map(async (m) => {
      const url = m.clientUrls[0];
      if (url === undefined) {
        statuses[m.id] = { error: 'no client URL (never started)' };
        return;
      }
      try {
        const s = await etcd.status(url);
        statuses[m.id] = {
          ...(s.leaderId !== undefined ? { leaderId: s.leaderId } : {}),
          raftIndex: s.raftIndex,
          raftTerm: s.raftTerm,
          dbSize: s.dbSize,
          errors: s.errors,
          version: s.version,
        };
      } catch (err) {
        statuses[m.id] = { error: `${url}: ${networkReason(err) ?? shortClause(errorMessage(err), url)}` };
      }
    }),
  );
  return { members, statuses };
}

/** Gathers the report's inputs; throws ExitError with the exit code that names what could not be reached. */
export async function gatherStatus(
  config: Config,
  opts: { env: Record<string, string | undefined>; endpoints?: string[] },
): Promise<StatusInput> {
  let group: InstanceGroup;
  try {
    group = await buildGroup(config, opts.env);
  } catch (err) {
    throw configErrorToExit(err);
  }
  let instances;
  try {
    instances = await group.listInstances();
  } catch (err) {
    const hint =
      err instanceof CloudApiError && err.status === 401 && !/check the token/.test(errorMessage(err))
        ? '; check the token'
        : cloudApiHint(errorMessage(err));
    throw new ExitError(
      `cannot list the instances of ${group.description}: ${errorMessage(err)}${hint}`,
      EXIT.cloudUnavailable,
      { cause: err, code: 'CLOUD_UNAVAILABLE' },
    );
  }
  const { createEtcdCluster } = await import('../../adapters/etcd/etcd3-cluster.ts');
  const etcd = createEtcdCluster({ callTimeoutMs: config.etcd.callTimeoutMs, ...(await cliEtcdTls(config)) });
  try {
    const endpoints =
      opts.endpoints ??
      instances.map((i) => clientUrlFor(i.privateIp, config.etcd.clientPort, clientSchemeOf(config)));
    if (endpoints.length === 0) {
      throw new ExitError(
        `${group.description} has no running instances and no --endpoints were given: no etcd member to ask`,
        EXIT.etcdUnavailable,
        { code: 'ETCD_UNREACHABLE' },
      );
    }
    const { members, statuses } = await probeMembers(etcd, endpoints);
    return {
      instances: instances.map((i) => ({ id: i.id, privateIp: i.privateIp })),
      members,
      statuses,
      slots: { maxVoters: config.agent.maxVoters, maxLearners: config.agent.maxLearners },
    };
  } finally {
    await etcd.close();
  }
}

function humanBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The report as an aligned text table, followed by one line per problem. */
export function formatStatusTable(r: StatusReport): string {
  const header = [
    'INSTANCE',
    'PRIVATE IP',
    'MEMBER ID',
    'NAME',
    'ROLE',
    'HEALTHY',
    'RAFT INDEX',
    'DB SIZE',
    'PROBLEM',
  ];
  const rows = r.rows.map((x) => [
    x.instanceId ?? '-',
    x.privateIp ?? '-',
    x.memberId ?? '-',
    x.memberId === undefined ? '-' : x.name || '(unstarted)',
    x.role ?? '-',
    x.healthy === undefined ? '-' : x.healthy ? 'yes' : 'no',
    x.raftIndex?.toString() ?? '-',
    humanBytes(x.dbSize) || '-',
    x.problem ?? x.state ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  out.push('');
  out.push(
    `${r.voters} voter(s), ${r.learners} learner(s), leader ${r.leaderId ?? 'none'}; ${r.problems === 0 ? 'instances and members match' : `${r.problems} problem(s):`}`,
  );
  for (const x of r.rows)
    if (x.problem) out.push(`  - ${x.problem}: ${x.instanceId ?? x.memberId}: ${x.detail ?? ''}`);
  for (const x of r.rows)
    if (x.state) out.push(`  - ${x.state} (expected): ${x.instanceId}: ${x.detail ?? ''}`);
  return out.join('\n');
}

export function registerStatusCommand(program: Command): void {
  withTargetOptions(
    withConfigOptions(
      program
        .command('status')
        .description(
          "Show the group's instances side by side with the etcd members, and what does not match.",
        )
        .option('--json', 'print one JSON document instead of a table (an error is a JSON document too)'),
    ),
    { endpoints: true },
  ).action(async (flags: StatusFlags) => {
    if (flags.json) cliRun.json = true;
    const config = loadConfigFromFlags({ ...flags, set: targetSets(flags) });
    noteLogLevel(config.log.level);
    const endpoints = parseEndpoints(flags.endpoints);
    const input = await gatherStatus(config, { env: process.env, ...(endpoints ? { endpoints } : {}) });
    const report = buildStatusReport(input);
    process.stdout.write(
      flags.json
        ? JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...report }, null, 2) + '\n'
        : formatStatusTable(report) + '\n',
    );
    if (report.problems > 0) throw new ExitError('', EXIT.clusterNotHealthy);
  });
}

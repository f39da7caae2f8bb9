/**
 * `etcd-spot status`: the group's instances side by side with the etcd cluster's members, and what
 * does not match. Reads only; works from any machine that reaches the cloud API and the members.
 */
import type { Command } from 'commander';
import { CloudApiError, ConfigError, ExitError, describeError } from '../../core/errors.ts';
import { clientUrlFor } from '../../core/ids.ts';
import { buildStatusReport, type StatusInput, type StatusReport } from '../../core/status-report.ts';
import { createEtcdCluster } from '../../adapters/etcd/etcd3-cluster.ts';
import { createLogger } from '../../adapters/local/logger.ts';
import { systemClock } from '../../adapters/local/system-clock.ts';
import { createElastigroup } from '../../adapters/spot/elastigroup.ts';
import { createStaticGroup } from '../../adapters/static/static-group.ts';
import { resolveSpotCredentials } from '../../config/credentials.ts';
import type { Config } from '../../config/schema.ts';
import type { InstanceGroup } from '../../ports/instance-group.ts';
import { EXIT } from '../exit-codes.ts';
import { configErrorToExit, loadConfigFromFlags, withConfigOptions, type ConfigFlags } from './agent.ts';

interface StatusFlags extends ConfigFlags {
  json?: boolean;
  endpoints?: string;
  groupId?: string;
  apiUrl?: string;
}

function buildGroup(config: Config, env: Record<string, string | undefined>): InstanceGroup {
  const g = config.group;
  if (g.provider === 'static') return createStaticGroup({ instances: g.instances });
  if (g.groupId === undefined) {
    throw new ConfigError([
      'group.groupId: required for `status` (there is no instance metadata to read it from); pass --group-id sig-… or set ETCD_SPOT_GROUP_GROUP_ID',
    ]);
  }
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

/** Gathers the report's inputs; throws ExitError with the exit code that names what could not be reached. */
export async function gatherStatus(
  config: Config,
  opts: { env: Record<string, string | undefined>; endpoints?: string[] },
): Promise<StatusInput> {
  let group: InstanceGroup;
  try {
    group = buildGroup(config, opts.env);
  } catch (err) {
    throw configErrorToExit(err);
  }
  let instances;
  try {
    instances = await group.listInstances();
  } catch (err) {
    const hint = err instanceof CloudApiError && err.status === 401 ? ' (check the token)' : '';
    throw new ExitError(
      `cannot list the instances of ${group.description}${hint}: ${describeError(err)}`,
      EXIT.cloudUnavailable,
      err,
    );
  }
  const etcd = createEtcdCluster({ callTimeoutMs: config.etcd.callTimeoutMs });
  try {
    const endpoints =
      opts.endpoints ?? instances.map((i) => clientUrlFor(i.privateIp, config.etcd.clientPort));
    if (endpoints.length === 0) {
      throw new ExitError(
        `${group.description} has no running instances and no --endpoints were given: no etcd member to ask`,
        EXIT.etcdUnavailable,
      );
    }
    let members;
    try {
      members = await etcd.listMembers(endpoints);
    } catch (err) {
      throw new ExitError(
        `no etcd member answered at ${endpoints.join(', ')}: ${describeError(err)}`,
        EXIT.etcdUnavailable,
        err,
      );
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
            leaderId: s.leaderId,
            raftIndex: s.raftIndex,
            dbSize: s.dbSize,
            errors: s.errors,
          };
        } catch (err) {
          statuses[m.id] = { error: describeError(err) };
        }
      }),
    );
    return { instances: instances.map((i) => ({ id: i.id, privateIp: i.privateIp })), members, statuses };
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
    x.problem ?? '',
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
  return out.join('\n');
}

export function registerStatusCommand(program: Command): void {
  withConfigOptions(
    program
      .command('status')
      .description("Show the group's instances side by side with the etcd members, and what does not match.")
      .option('--json', 'print one JSON document instead of a table')
      .option(
        '--endpoints <urls>',
        "comma-separated etcd client URLs to ask (default: every instance's private IP at etcd.clientPort)",
      )
      .option('--group-id <sig-…>', 'Elastigroup id (same as --set group.groupId=…)')
      .option('--api-url <url>', 'Spot.io API base URL, e.g. the emulator (same as --set group.apiUrl=…)'),
  ).action(async (flags: StatusFlags) => {
    const set = [...flags.set];
    if (flags.groupId) set.push(`group.groupId=${flags.groupId}`);
    if (flags.apiUrl) set.push(`group.apiUrl=${flags.apiUrl}`);
    const config = loadConfigFromFlags({ ...flags, set });
    const endpoints = flags.endpoints
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const input = await gatherStatus(config, { env: process.env, ...(endpoints ? { endpoints } : {}) });
    const report = buildStatusReport(input);
    process.stdout.write(
      flags.json ? JSON.stringify(report, null, 2) + '\n' : formatStatusTable(report) + '\n',
    );
    if (report.problems > 0) throw new ExitError('', EXIT.clusterNotHealthy);
  });
}

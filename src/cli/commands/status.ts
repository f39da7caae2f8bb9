/**
 * `etcd-spot status`: the group's instances side by side with the etcd cluster's members, and what
 * does not match. Reads only; works from any machine that reaches the cloud API and the members.
 */
import type { Command } from 'commander';
import { CloudApiError, ConfigError, ExitError, errorMessage, networkReason } from '../../core/errors.ts';
import { clientUrlFor } from '../../core/ids.ts';
import {
  buildStatusReport,
  parseAgentStatus,
  type StatusInput,
  type StatusReport,
  type StatusRow,
} from '../../core/status-report.ts';
import type { Config } from '../../config/schema.ts';
import type { PeerKey } from '../../agent/peer-auth.ts';
import type { EtcdCluster } from '../../ports/etcd-cluster.ts';
import type { InstanceGroup } from '../../ports/instance-group.ts';
import { EXIT } from '../exit-codes.ts';
import {
  cliRun,
  errorDocument,
  exitCodeOf,
  formatErrorText,
  JSON_SCHEMA_VERSION,
  noteLogLevel,
} from '../output.ts';
import {
  outputFormat,
  renderDocument,
  renderTable,
  siBytes,
  withOutputOptions,
  type OutputFlags,
  type OutputFormat,
} from '../format.ts';
import { formatDuration } from '../../core/plan-helpers.ts';
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

interface StatusFlags extends ConfigFlags, TargetFlags, OutputFlags {
  watch?: string | boolean;
}

// The adapters (the etcd client, the logger, the Spot.io client) are imported when `status` runs, not
// when the CLI starts: every other command, --help and --version skip loading etcd3.
export async function buildGroup(
  config: Config,
  env: Record<string, string | undefined>,
): Promise<InstanceGroup> {
  const g = config.group;
  if (g.provider === 'static') {
    const { createStaticGroup } = await import('../../providers/static/static-group.ts');
    return createStaticGroup({ instances: g.instances });
  }
  if (g.provider === 'asg') {
    if (g.groupName === undefined || g.region === undefined) {
      throw new ConfigError([
        'group.groupName and group.region: required for `status` of an Auto Scaling group (there is no instance metadata to read them from); pass --set group.groupName=… --set group.region=…',
      ]);
    }
    const [{ createAsgGroup }, { systemClock }, { createLogger }] = await Promise.all([
      import('../../providers/asg/asg-group.ts'),
      import('../../adapters/local/system-clock.ts'),
      import('../../adapters/local/logger.ts'),
    ]);
    return createAsgGroup({
      groupName: g.groupName,
      selfId: '',
      region: g.region,
      autoscalingEndpoint: g.autoscalingEndpoint,
      ec2Endpoint: g.ec2Endpoint,
      heartbeatIntervalMs: g.heartbeatIntervalMs,
      requestTimeoutMs: g.requestTimeoutMs,
      clock: systemClock,
      logger: createLogger({ level: 'error' }),
      env,
    });
  }
  if (g.groupId === undefined) {
    throw new ConfigError([
      'group.groupId: required for `status` (there is no instance metadata to read it from); pass --group-id sig-… or set ETCD_SPOT_GROUP_GROUP_ID',
    ]);
  }
  const [{ resolveSpotCredentials }, { createElastigroup }, { systemClock }, { createLogger }] =
    await Promise.all([
      import('../../config/credentials.ts'),
      import('../../providers/elastigroup/elastigroup.ts'),
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
          clusterId: s.clusterId,
        };
      } catch (err) {
        statuses[m.id] = { error: `${url}: ${networkReason(err) ?? shortClause(errorMessage(err), url)}` };
      }
    }),
  );
  return { members, statuses };
}

/**
 * Every instance's agent activity from its GET /v1/status (signed with the group's peer key, over
 * https with the client certificate when etcd.tls has one), at once, each with a deadline. An agent
 * that does not answer, or refuses us, is an `error` entry naming why, never an exception. Without a
 * key (no agent.peerSecret and no Spot.io token) every entry says so.
 */
export async function gatherAgents(
  config: Config,
  instances: readonly { id: string; privateIp: string }[],
  env: Record<string, string | undefined>,
): Promise<NonNullable<StatusInput['agents']>> {
  const [
    { resolvePeerSecret, resolveSpotCredentials },
    { peerKeyFromSecret, peerKeyFromSpotToken, signRequest },
  ] = await Promise.all([import('../../config/credentials.ts'), import('../../agent/peer-auth.ts')]);
  const { requestText } = await import('../../adapters/local/https-get.ts');
  const out: NonNullable<StatusInput['agents']> = {};
  let key: PeerKey | undefined;
  try {
    const secret = resolvePeerSecret(config);
    if (secret !== undefined) key = peerKeyFromSecret(secret);
    else if (config.group.provider === 'elastigroup')
      key = peerKeyFromSpotToken(resolveSpotCredentials(config, env).token);
  } catch (err) {
    for (const i of instances) out[i.id] = { error: `no peer key: ${errorMessage(err)}` };
    return out;
  }
  if (key === undefined) {
    for (const i of instances)
      out[i.id] = { error: 'not asked: set agent.peerSecret (or agent.peerSecretFile) to sign the request' };
    return out;
  }
  const tls = (await cliEtcdTls(config)).tls?.();
  const scheme = clientSchemeOf(config);
  await Promise.all(
    instances.map(async (i) => {
      const host = i.privateIp.includes(':') ? `[${i.privateIp}]` : i.privateIp;
      const url = `${scheme}://${host}:${config.agent.statusPort}/v1/status`;
      try {
        const res = await requestText(url, {
          headers: signRequest(key, { method: 'GET', url, now: Date.now() }),
          signal: AbortSignal.timeout(Math.min(2000, config.etcd.callTimeoutMs)),
          ...(tls !== undefined ? { tls: { cert: tls.cert, key: tls.key, ca: tls.ca } } : {}),
        });
        if (res.status === 401) {
          out[i.id] = { error: 'the agent refused our signature (a different agent.peerSecret or token?)' };
          return;
        }
        if (res.status !== 200) {
          out[i.id] = { error: `HTTP ${res.status} from ${url}` };
          return;
        }
        out[i.id] = parseAgentStatus(JSON.parse(res.text), i.id);
      } catch (err) {
        out[i.id] = { error: `${url}: ${networkReason(err) ?? errorMessage(err).split('\n')[0]}` };
      }
    }),
  );
  return out;
}

/** Gathers the report's inputs; throws ExitError with the exit code that names what could not be reached. */
export async function gatherStatus(
  config: Config,
  opts: { env: Record<string, string | undefined>; endpoints?: string[]; agents?: boolean },
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
    const [{ members, statuses }, agents] = await Promise.all([
      probeMembers(etcd, endpoints),
      opts.agents === false ? Promise.resolve(undefined) : gatherAgents(config, instances, opts.env),
    ]);
    return {
      ...(agents !== undefined ? { agents } : {}),
      instances: instances.map((i) => ({ id: i.id, privateIp: i.privateIp })),
      members,
      statuses,
      slots: { maxVoters: config.agent.maxVoters, maxLearners: config.agent.maxLearners },
      group: group.description,
      at: Date.now(),
    };
  } finally {
    await etcd.close();
  }
}

/** What the agent does, in a word or three: `converged`, `leaving (spot-api, 42s left)`, `remove-member`. */
export function agentShort(a: StatusRow['agent'], now: number): string {
  if (a === undefined) return '-';
  if ('error' in a) return 'unknown';
  const n = a.notices[0];
  if (n !== undefined) {
    const left = n.deadline === undefined ? '' : `, ${formatDuration(Math.max(0, n.deadline - now))} left`;
    return `${a.left !== undefined ? 'left' : 'leaving'} (${n.source}${left})`;
  }
  if (a.lastError !== undefined) return 'cycle failing';
  if (a.decision === undefined) return a.cycle === 0 ? 'starting' : '-';
  if (a.decision.action === 'wait') return /converged/.test(a.decision.reason) ? 'converged' : 'waiting';
  return a.decision.action;
}

/** The wide columns: the agent's last decision with its reason, and its notice with the deadline. */
function agentDecision(a: StatusRow['agent']): string {
  if (a === undefined) return '-';
  if ('error' in a) return a.error;
  if (a.lastError !== undefined) return `last cycle failed: ${a.lastError}`;
  return a.decision === undefined ? '-' : `${a.decision.action}: ${a.decision.reason}`;
}

function agentNotice(a: StatusRow['agent'], now: number): string {
  if (a === undefined || 'error' in a || a.notices.length === 0) return '-';
  return a.notices
    .map(
      (n) =>
        `${n.source}${n.deadline === undefined ? ', no deadline' : `, deadline ${new Date(n.deadline).toISOString()} (in ${formatDuration(Math.max(0, n.deadline - now))})`}`,
    )
    .join('; ');
}

/**
 * The report as an aligned table, then one line per problem. `wide` adds the agent's last decision
 * with its reason and its termination notice with the deadline; `noHeaders` drops the header and the
 * summary (rows only, for scripts).
 */
export function formatStatusTable(
  r: StatusReport,
  opts: { wide?: boolean; noHeaders?: boolean; now?: number } = {},
): string {
  const now = opts.now ?? Date.now();
  const header = [
    'INSTANCE',
    'PRIVATE IP',
    'MEMBER ID',
    'NAME',
    'ROLE',
    'HEALTHY',
    'RAFT TERM',
    'RAFT INDEX',
    'VERSION',
    'DB SIZE',
    'AGENT',
    'PROBLEM',
  ];
  if (opts.wide) header.push('LAST DECISION', 'NOTICE');
  const rows = r.rows.map((x) => {
    const cells = [
      x.instanceId ?? '-',
      x.privateIp ?? '-',
      x.memberId ?? '-',
      x.memberId === undefined ? '-' : x.name || '(unstarted)',
      x.role ?? '-',
      x.healthy === undefined ? '-' : x.healthy ? 'yes' : 'no',
      x.raftTerm?.toString() ?? '-',
      x.raftIndex?.toString() ?? '-',
      x.version ?? '-',
      siBytes(x.dbSize) || '-',
      agentShort(x.agent, now),
      x.problem ?? x.state ?? '',
    ];
    if (opts.wide) cells.push(agentDecision(x.agent), agentNotice(x.agent, now));
    return cells;
  });
  const table = renderTable(header, rows, opts.noHeaders === true);
  if (opts.noHeaders === true) return table.trimEnd();
  const out = [table];
  const about = [
    r.clusterId !== undefined
      ? `cluster ${r.clusterId}`
      : r.clusterIds !== undefined
        ? `members report ${r.clusterIds.length} different cluster ids: ${r.clusterIds.join(', ')}`
        : undefined,
    r.group,
    r.generatedAt,
  ].filter((x) => x !== undefined);
  if (about.length > 0) out.push(about.join(' · '));
  out.push(
    `${r.voters} voter(s), ${r.learners} learner(s), leader ${r.leaderId ?? 'none'}; ${r.problems === 0 ? 'instances and members match' : `${r.problems} problem(s):`}`,
  );
  for (const x of r.rows)
    if (x.problem) out.push(`  - ${x.problem}: ${x.instanceId ?? x.memberId}: ${x.detail ?? ''}`);
  for (const x of r.rows)
    if (x.state) out.push(`  - ${x.state} (expected): ${x.instanceId}: ${x.detail ?? ''}`);
  return out.join('\n');
}

/** `-w 5s` → 5000; a bare `-w` is 2 s, like `watch`. */
function watchInterval(v: string | boolean | undefined): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 2000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (!Number.isFinite(ms) || ms < 500 || ms > 3_600_000)
    throw new ExitError(
      `--watch ${JSON.stringify(v.slice(0, 20))}: expected an interval from 500ms to 60m, e.g. 2s`,
      EXIT.badArgs,
      {
        code: 'USAGE',
      },
    );
  return ms;
}

function renderStatus(
  report: StatusReport,
  format: OutputFormat,
  noHeaders: boolean,
  compact: boolean,
): string {
  if (format === 'json' && compact)
    return `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...report })}\n`;
  if (format === 'json' || format === 'yaml') return renderDocument(format, report);
  return `${formatStatusTable(report, { wide: format === 'wide', noHeaders })}\n`;
}

export function registerStatusCommand(program: Command): void {
  withTargetOptions(
    withConfigOptions(
      withOutputOptions(
        program
          .command('status')
          .description(
            "Show the group's instances side by side with the etcd members and what each agent is doing, and what does not match.",
          )
          .option(
            '-w, --watch [interval]',
            'refresh every interval (default 2s) until Ctrl-C, like kubectl get -w; -o json prints one line per refresh',
          ),
      ),
    ),
    { endpoints: true },
  ).action(async (flags: StatusFlags) => {
    const format = outputFormat(flags);
    const config = loadConfigFromFlags({ ...flags, set: targetSets(flags) });
    noteLogLevel(config.log.level);
    const endpoints = parseEndpoints(flags.endpoints);
    const every = watchInterval(flags.watch);
    const once = async () => {
      const input = await gatherStatus(config, { env: process.env, ...(endpoints ? { endpoints } : {}) });
      return buildStatusReport(input);
    };
    if (every === undefined) {
      const report = await once();
      process.stdout.write(renderStatus(report, format, flags.headers === false, false));
      if (format === 'json') cliRun.jsonWritten = true;
      if (report.problems > 0) throw new ExitError('', EXIT.clusterNotHealthy);
      return;
    }
    // Watch: refresh until SIGINT/SIGTERM; a failed refresh is shown and the next one tried.
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const tty = process.stdout.isTTY === true && (format === 'table' || format === 'wide');
    try {
      for (let n = 0; !stop.signal.aborted; n++) {
        let text: string;
        try {
          text = renderStatus(await once(), format, flags.headers === false, true);
        } catch (err) {
          if (format === 'json')
            text = `${JSON.stringify(errorDocument(err, exitCodeOf(err), cliRun.verbose))}\n`;
          else text = formatErrorText(err, cliRun.verbose);
        }
        const stamp =
          format === 'table' || format === 'wide'
            ? `${new Date().toISOString()}  every ${formatDuration(every)}\n`
            : '';
        // Successive YAML documents are separated by `---`, JSON ones are one per line.
        const sep = n === 0 ? '' : format === 'yaml' ? '---\n' : stamp !== '' ? '\n' : '';
        process.stdout.write(tty ? `\u001b[H\u001b[2J${stamp}${text}` : `${sep}${stamp}${text}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t);
            resolve();
          };
          const t = setTimeout(() => {
            stop.signal.removeEventListener('abort', wake);
            resolve();
          }, every);
          stop.signal.addEventListener('abort', wake, { once: true });
        });
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      cliRun.jsonWritten = true;
    }
  });
}

/**
 * `etcd-spot member list | remove <id|instance> | promote <id> | move-leader <id|instance>`: etcdctl's
 * member operations, each checked by the predicates the agents' planner uses before the same step
 * (src/core/member-ops.ts over src/core/quorum.ts). A refused step exits 6 with the arithmetic;
 * `--force` takes it anyway and says what it risks. Reads the members from `--endpoints`, or from the
 * group's instances like `status`.
 */
import type { Command } from 'commander';
import { ExitError, errorCode, errorMessage } from '../../core/errors.ts';
import { clientUrlFor } from '../../core/ids.ts';
import {
  agreedLeader,
  checkMoveLeader,
  checkPromote,
  checkRemove,
  resolveMember,
  type OpVerdict,
} from '../../core/member-ops.ts';
import type { MemberView } from '../../core/observation.ts';
import { DEFAULT_POLICY } from '../../core/policy.ts';
import { describeMember, healthyVoters, isHealthyVoter, quorumSize, votersOf } from '../../core/quorum.ts';
import { memberViewsOf, type StatusInput } from '../../core/status-report.ts';
import type { Config } from '../../config/schema.ts';
import type { EtcdCluster } from '../../ports/etcd-cluster.ts';
import { EXIT } from '../exit-codes.ts';
import {
  colourEnabled,
  outputFormat,
  painter,
  renderDocument,
  renderTable,
  siBytes,
  withOutputOptions,
  type OutputFlags,
} from '../format.ts';
import { cliRun, noteLogLevel } from '../output.ts';
import {
  cliEtcdTls,
  clientSchemeOf,
  configErrorToExit,
  loadConfigFromFlags,
  withConfigOptions,
  type ConfigFlags,
} from './agent.ts';
import { buildGroup, probeMembers } from './status.ts';
import { parseEndpoints, targetSets, withTargetOptions, type TargetFlags } from './target-flags.ts';

interface MemberFlags extends ConfigFlags, TargetFlags, OutputFlags {
  force?: boolean;
  dryRun?: boolean;
}

interface Connected {
  etcd: EtcdCluster;
  endpoints: string[];
  probe: Pick<StatusInput, 'members' | 'statuses'>;
  views: MemberView[];
  config: Config;
}

/** Loads the config, finds the endpoints (--endpoints, else the group's instances) and reads the members. */
async function connect(flags: MemberFlags): Promise<Connected> {
  const config = loadConfigFromFlags({ ...flags, set: targetSets(flags) });
  noteLogLevel(config.log.level);
  let endpoints = parseEndpoints(flags.endpoints);
  if (endpoints === undefined) {
    let instances;
    try {
      instances = await (await buildGroup(config, process.env)).listInstances();
    } catch (err) {
      const e = configErrorToExit(err);
      if (e instanceof ExitError) throw e;
      throw new ExitError(
        `cannot list the group's instances to find etcd: ${errorMessage(err)}; or give --endpoints`,
        EXIT.cloudUnavailable,
        { cause: err, code: 'CLOUD_UNAVAILABLE' },
      );
    }
    endpoints = instances.map((i) =>
      clientUrlFor(i.privateIp, config.etcd.clientPort, clientSchemeOf(config)),
    );
    if (endpoints.length === 0)
      throw new ExitError(
        'the group has no running instances and no --endpoints were given',
        EXIT.etcdUnavailable,
        {
          code: 'ETCD_UNREACHABLE',
        },
      );
  }
  const { createEtcdCluster } = await import('../../adapters/etcd/etcd3-cluster.ts');
  const etcd = createEtcdCluster({ callTimeoutMs: config.etcd.callTimeoutMs, ...(await cliEtcdTls(config)) });
  try {
    const probe = await probeMembers(etcd, endpoints);
    return { etcd, endpoints, probe, views: memberViewsOf(probe), config };
  } catch (err) {
    await etcd.close();
    throw err;
  }
}

export interface MemberRow {
  id: string;
  name: string;
  role: 'leader' | 'follower' | 'learner' | 'unknown';
  status: 'healthy' | 'unreachable' | 'no-leader' | 'unstarted';
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
  raftTerm?: number;
  raftIndex?: number;
  version?: string;
  dbSize?: number;
  error?: string;
}

export interface MemberListDoc {
  leaderId?: string;
  voters: number;
  learners: number;
  healthyVoters: number;
  quorum: number;
  members: MemberRow[];
}

/** The `member list` document (pure). */
export function memberListDoc(probe: Pick<StatusInput, 'members' | 'statuses'>): MemberListDoc {
  const views = memberViewsOf(probe);
  const leaderId = agreedLeader(views);
  const members = views.map((v): MemberRow => {
    const st = probe.statuses[v.id];
    const row: MemberRow = {
      id: v.id,
      name: v.name,
      role: v.isLearner
        ? 'learner'
        : leaderId === undefined
          ? 'unknown'
          : v.id === leaderId
            ? 'leader'
            : 'follower',
      status:
        v.name === '' && v.clientUrls.length === 0
          ? 'unstarted'
          : !v.reachable
            ? 'unreachable'
            : v.leaderId === undefined
              ? 'no-leader'
              : 'healthy',
      peerUrls: v.peerUrls,
      clientUrls: v.clientUrls,
      isLearner: v.isLearner,
    };
    if (st !== undefined && 'raftIndex' in st) {
      if (st.raftTerm !== undefined) row.raftTerm = st.raftTerm;
      row.raftIndex = st.raftIndex;
      if (st.version !== undefined) row.version = st.version;
      row.dbSize = st.dbSize;
      if (st.errors.length > 0) row.error = st.errors.join('; ');
    } else if (st !== undefined && 'error' in st) row.error = st.error;
    return row;
  });
  const voters = votersOf(views).length;
  return {
    ...(leaderId !== undefined ? { leaderId } : {}),
    voters,
    learners: views.length - voters,
    healthyVoters: healthyVoters(views).length,
    quorum: quorumSize(voters),
    members,
  };
}

/** `member list` as a table; `wide` adds raft term and index, version, DB size and the error. */
export function formatMemberTable(doc: MemberListDoc, wide: boolean, noHeaders: boolean): string {
  const header = ['ID', 'NAME', 'ROLE', 'STATUS', 'PEER URLS', 'CLIENT URLS'];
  if (wide) header.push('RAFT TERM', 'RAFT INDEX', 'VERSION', 'DB SIZE', 'ERROR');
  const rows = doc.members.map((m) => {
    const r = [
      m.id,
      m.name || '(unstarted)',
      m.role,
      m.status,
      m.peerUrls.join(',') || '-',
      m.clientUrls.join(',') || '-',
    ];
    if (wide)
      r.push(
        m.raftTerm?.toString() ?? '-',
        m.raftIndex?.toString() ?? '-',
        m.version ?? '-',
        siBytes(m.dbSize) || '-',
        m.error ?? '',
      );
    return r;
  });
  const table = renderTable(header, rows, noHeaders);
  if (noHeaders) return table;
  return `${table}\n${doc.voters} voter(s), ${doc.learners} learner(s), ${doc.healthyVoters} healthy voter(s), quorum ${doc.quorum}, leader ${doc.leaderId ?? 'none'}\n`;
}

/** One member operation's result, for -o json|yaml and the text. */
export interface OpResult {
  operation: 'remove' | 'promote' | 'move-leader';
  member: { id: string; name: string };
  /** True when the predicates allowed it. */
  safe: boolean;
  /** The arithmetic (allowed) or the refusal (refused). */
  check: string;
  forced: boolean;
  /** What --force risks (only when refused). */
  risk?: string;
  dryRun: boolean;
  /** Steps taken, in order (empty on a refusal or a dry run). */
  done: string[];
  /** Why a step failed (the steps in `done` were taken before it). */
  error?: string;
}

function opText(r: OpResult): string {
  const paint = painter(colourEnabled());
  const lines: string[] = [];
  if (r.safe) lines.push(`${paint('green', 'safe')}: ${r.check}`);
  else lines.push(`${paint('red', r.forced ? 'UNSAFE, forced' : 'refused')}: ${r.check}`);
  if (!r.safe) lines.push(`${r.forced ? 'risk taken' : '--force would risk'}: ${r.risk ?? ''}`);
  if (r.dryRun) lines.push('dry run: nothing changed');
  for (const d of r.done) lines.push(`done: ${d}`);
  return lines.join('\n') + '\n';
}

/** Runs one checked operation: verdict, then (unless refused or a dry run) the steps. */
async function runOp(
  flags: MemberFlags,
  operation: OpResult['operation'],
  ref: string,
  check: (c: Connected, target: MemberView) => OpVerdict,
  steps: (c: Connected, target: MemberView, done: string[]) => Promise<void>,
): Promise<void> {
  const format = outputFormat(flags);
  const c = await connect(flags);
  try {
    const found = resolveMember(c.views, ref);
    if (!found.ok)
      throw new ExitError(`member ${operation}: ${found.reason}`, EXIT.badArgs, { code: 'USAGE' });
    const target = found.member;
    const v = check(c, target);
    const result: OpResult = {
      operation,
      member: { id: target.id, name: target.name },
      safe: v.ok,
      check: v.ok ? v.summary : v.reason,
      forced: !v.ok && flags.force === true,
      ...(v.ok ? {} : { risk: v.risk }),
      dryRun: flags.dryRun === true,
      done: [],
    };
    const proceed = (v.ok || flags.force === true) && flags.dryRun !== true;
    if (proceed) {
      try {
        await steps(c, target, result.done);
      } catch (err) {
        const etcdSaysNo = /unhealthy cluster|learner not ready|not leader/i.test(errorMessage(err));
        result.error =
          errorMessage(err) +
          (result.forced && etcdSaysNo
            ? `; etcd's own check refused it too (strict reconfiguration check)${result.done.length === 0 ? ', nothing changed' : ''}`
            : '');
        printOp(result, format);
        throw new ExitError(
          `member ${operation} ${describeMember(target)} failed: ${result.error}`,
          EXIT.failure,
          {
            cause: err,
            code: 'FAILED',
          },
        );
      }
    }
    printOp(result, format);
    if (!v.ok && flags.force !== true)
      throw new ExitError(
        `member ${operation} refused (safety predicate); nothing changed. --force takes it anyway`,
        EXIT.refused,
        { code: 'REFUSED' },
      );
  } finally {
    await c.etcd.close();
  }
}

function printOp(r: OpResult, format: ReturnType<typeof outputFormat>): void {
  process.stdout.write(format === 'json' || format === 'yaml' ? renderDocument(format, r) : opText(r));
  // The document already says what happened: main writes no second (error) document.
  cliRun.jsonWritten = true;
}

/** How long a safe change is retried while etcd refuses it as "unhealthy cluster". */
const SETTLE_MS = 12_000;

/**
 * etcd refuses membership changes for ~5 s after a member (re)connects or leadership moves (its strict
 * reconfiguration check counts only peers connected for 5 s), and a promotion until the learner's
 * progress reaches its bound: a safe change is retried through that window, as the agents do; a forced
 * one is not (etcd's refusal is then the point).
 */
async function whileEtcdSettles(retry: boolean, call: () => Promise<void>): Promise<void> {
  const until = Date.now() + SETTLE_MS;
  for (;;) {
    try {
      await call();
      return;
    } catch (err) {
      const transient = ['ETCD_UNHEALTHY_CLUSTER', 'ETCD_LEARNER_NOT_READY'].includes(errorCode(err) ?? '');
      if (!retry || !transient || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The voter the planner would hand leadership to: healthy, not `exclude`, highest raft index. */
function bestOtherVoter(views: readonly MemberView[], exclude: string): MemberView | undefined {
  return views
    .filter((m) => m.id !== exclude && isHealthyVoter(m))
    .sort((a, b) => (b.raftIndex ?? -1) - (a.raftIndex ?? -1) || (a.id < b.id ? -1 : 1))[0];
}

function leaderClientUrl(c: Connected): string {
  const leader = c.views.find((m) => m.id === agreedLeader(c.views));
  const url = leader?.clientUrls[0];
  if (url === undefined) throw new Error('the cluster has no agreed leader with a client URL to ask');
  return url;
}

function commonOptions(cmd: Command, destructive: boolean): Command {
  const c = withTargetOptions(withOutputOptions(withConfigOptions(cmd)), { endpoints: true });
  if (destructive)
    c.option(
      '--force',
      'take the step although the safety check refuses it (the output says what it risks)',
    ).option('--dry-run', 'check only: print the verdict and change nothing');
  return c;
}

export function registerMemberCommand(program: Command): void {
  const member = program
    .command('member')
    .description("etcd's member operations, checked by the agents' own quorum and safety rules.");

  commonOptions(
    member.command('list').description('List the members with their role and health.'),
    false,
  ).action(async (flags: MemberFlags) => {
    const format = outputFormat(flags);
    const c = await connect(flags);
    try {
      const doc = memberListDoc(c.probe);
      process.stdout.write(
        format === 'json' || format === 'yaml'
          ? renderDocument(format, doc)
          : formatMemberTable(doc, format === 'wide', flags.headers === false),
      );
    } finally {
      await c.etcd.close();
    }
  });

  commonOptions(
    member
      .command('remove')
      .argument('<id|instance>', 'member id (hex) or the instance id the member is named after')
      .description(
        'Remove a member, if quorum holds without it (the leader hands over first). Its agent, if its instance still runs, adds it back: use `etcd-spot drain` on that instance to take it out for good.',
      ),
    true,
  ).action(async (ref: string, flags: MemberFlags) => {
    await runOp(
      flags,
      'remove',
      ref,
      (c, t) => checkRemove(c.views, t),
      async (c, t, done) => {
        // The planner's leave path hands leadership over first (no election); not on a forced removal,
        // which etcd's own strict reconfiguration check may still refuse: nothing changes then.
        if (t.id === agreedLeader(c.views) && checkRemove(c.views, t).ok) {
          const to = bestOtherVoter(c.views, t.id);
          if (to !== undefined) {
            await c.etcd.moveLeader(leaderClientUrl(c), to.id);
            done.push(`moved leadership to ${describeMember(to)} first`);
          }
        }
        await whileEtcdSettles(checkRemove(c.views, t).ok, () => c.etcd.remove(c.endpoints, t.id));
        done.push(`removed ${describeMember(t)}`);
      },
    );
  });

  commonOptions(
    member
      .command('promote')
      .argument('<id|instance>', 'the learner: member id (hex) or instance id')
      .description('Promote a learner to a voter, if it is caught up and quorum holds.'),
    true,
  ).action(async (ref: string, flags: MemberFlags) => {
    await runOp(
      flags,
      'promote',
      ref,
      (c, t) => checkPromote(c.views, t, DEFAULT_POLICY.catchUpEntries),
      async (c, t, done) => {
        await whileEtcdSettles(checkPromote(c.views, t, DEFAULT_POLICY.catchUpEntries).ok, () =>
          c.etcd.promote(c.endpoints, t.id),
        );
        done.push(`promoted ${describeMember(t)}`);
      },
    );
  });

  commonOptions(
    member
      .command('move-leader')
      .argument('<id|instance>', 'the new leader: member id (hex) or instance id')
      .description('Hand leadership to a healthy voter.'),
    true,
  ).action(async (ref: string, flags: MemberFlags) => {
    await runOp(
      flags,
      'move-leader',
      ref,
      (c, t) => checkMoveLeader(c.views, t),
      async (c, t, done) => {
        await c.etcd.moveLeader(leaderClientUrl(c), t.id);
        done.push(`leadership moved to ${describeMember(t)}`);
      },
    );
  });
}

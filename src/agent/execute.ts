/**
 * Applies ONE planned action. Never throws: a failure is logged with its code and cause and reported
 * as no progress, and the next cycle re-observes. Each action re-checks the cheap local preconditions
 * it can (no bootstrap over data, no start of a running etcd) as a second line of defence behind the
 * planner.
 */
import type { Action } from '../core/actions.ts';
import { EtcdSpotError, describeError, errorCode } from '../core/errors.ts';
import type { InstanceId, MemberId } from '../core/ids.ts';
import type {
  BootstrapPlan,
  GroupInstanceView,
  LocalRecord,
  MemberView,
  Observation,
  VoteTally,
} from '../core/observation.ts';
import { planInitialCluster } from '../core/bootstrap-plan.ts';
import { isVoteUnexpired } from '../core/vote.ts';
import type { Clock } from '../ports/clock.ts';
import type { EtcdCluster, Member, MemberStatus } from '../ports/etcd-cluster.ts';
import type { EtcdExit, EtcdLaunch, EtcdRunner } from '../ports/etcd-runner.ts';
import type { InstanceGroup } from '../ports/instance-group.ts';
import type { Logger } from '../ports/logger.ts';
import type { LocalStateStore } from './local-state.ts';
import type { AgentMemory, AgentSettings, PeerAgents, VoteAnswer } from './types.ts';
import { withDeadline } from './deadline.ts';
import { copyDataAside } from './data-dir.ts';

export interface ExecuteContext {
  obs: Observation;
  settings: AgentSettings;
  etcd: EtcdCluster;
  runner: EtcdRunner;
  group: InstanceGroup;
  store: LocalStateStore;
  peers: PeerAgents;
  /** This agent's own vote (VoteKeeper.cast), with the plan it proposes. */
  castOwnVote: (candidate: InstanceId, desiredCapacity: number, plan?: BootstrapPlan) => Promise<VoteAnswer>;
  memory: AgentMemory;
  hasData: (dataDir: string) => Promise<boolean>;
  /** Moves the data dir aside and deletes it. */
  wipeData: (dataDir: string) => Promise<void>;
  /** Copies the data dir aside before `--force-new-cluster`; returns the copy's path (default: data-dir.ts). */
  copyDataAside?: (dataDir: string, now: number) => Promise<string>;
  /**
   * Takes a verified snapshot through self into the snapshot store and applies retention; resolves to
   * a one-line summary, rejects when the snapshot does not count. Absent without a snapshot store.
   */
  takeSnapshot?: (reason: string, signal?: AbortSignal) => Promise<string>;
  /**
   * Restores snapshot `name` of the group's store into `dataDir` as a new single-member cluster of self
   * (`etcdctl snapshot restore` / `etcdutl`); absent when no snapshot store is configured.
   */
  restoreSnapshot?: (
    name: string,
    opts: { dataDir: string; name: string; peerUrl: string; token: string },
    signal?: AbortSignal,
  ) => Promise<void>;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
}

export interface ExecuteResult {
  progressed: boolean;
  detail?: string;
  /** Error code when the action failed. */
  code?: string;
}

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
const PROMOTE_RETRY_MS = 5000;
/** Rounds of bootstrap votes are at least this far apart (a re-ask while agents are still starting). */
const VOTE_ROUND_MIN_GAP_MS = 500;

/** Delay before the next start after `failures` failed starts in a row: 1 s doubling to 30 s. */
export function startBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 10));
}

class ActionFailed extends EtcdSpotError {
  constructor(message: string, code = 'ACTION_FAILED', cause?: unknown) {
    super(message, { code, retryable: true, cause });
  }
}

/** Reachable voters that follow a leader, the leader first: the endpoints for membership calls. */
export function healthyVoterUrls(obs: Observation, exclude?: MemberId): string[] {
  if (!obs.cluster.reachable) return [];
  const leaderId = obs.cluster.leaderId;
  const voters = obs.cluster.members.filter(
    (m) => !m.isLearner && m.reachable && m.leaderId !== undefined && m.clientUrls.length > 0,
  );
  voters.sort((a, b) => (a.id === leaderId ? -1 : b.id === leaderId ? 1 : 0));
  const preferred = voters.filter((m) => m.id !== exclude);
  const list = preferred.length > 0 ? preferred : voters;
  const urls = list.map((m) => m.clientUrls[0] as string);
  // The member list came through `via`, a voter: a last resort when no status answered in time.
  if (urls.length === 0) urls.push(obs.cluster.via);
  return [...new Set(urls)];
}

/** `--initial-cluster` from a member list; the new member (never started, name '') gets self's name. */
export function initialClusterFrom(
  members: Pick<Member, 'id' | 'name' | 'peerUrls'>[],
  newId: MemberId,
  selfName: string,
): { name: string; peerUrl: string }[] {
  const out: { name: string; peerUrl: string }[] = [];
  for (const m of members) {
    // etcd matches an `existing` cluster by peer URLs; another unstarted member's name does not matter.
    const name = m.id === newId ? selfName : m.name !== '' ? m.name : `unstarted-${m.id}`;
    for (const u of m.peerUrls) out.push({ name, peerUrl: u });
  }
  return out;
}

async function sleep(ctx: ExecuteContext, ms: number): Promise<void> {
  await ctx.clock.sleep(ms, ctx.signal);
}

/** `etcd exited before serving (code 2): "flag provided but not defined: -x" (see /var/lib/etcd-spot/etcd.log)` */
export function earlyExitMessage(exit: EtcdExit | undefined): string {
  if (exit === undefined) return 'etcd exited before serving';
  const how = exit.signal !== undefined ? `signal ${exit.signal}` : `code ${exit.code}`;
  return (
    `etcd exited before serving (${how}${exit.removed ? ', removed from the cluster' : ''})` +
    (exit.reason !== undefined ? `: ${JSON.stringify(exit.reason)}` : '') +
    (exit.logFile !== undefined ? ` (see ${exit.logFile})` : '')
  );
}

/**
 * Waits until the local etcd answers Maintenance.Status (and, with `needLeader`, reports a leader),
 * or it exits, or `ms` pass. A learner that just joined may answer status long before /health is true.
 */
async function waitForLocalStatus(
  ctx: ExecuteContext,
  ms: number,
  needLeader: boolean,
): Promise<MemberStatus | undefined> {
  const until = ctx.clock.now() + ms;
  for (;;) {
    if (!ctx.runner.isRunning())
      throw new ActionFailed(earlyExitMessage(ctx.runner.lastExit()), 'ETCD_PROCESS_EXITED');
    const left = until - ctx.clock.now();
    if (left <= 0) return undefined;
    try {
      const st = await ctx.etcd.status(
        ctx.obs.self.clientUrl,
        withDeadline(Math.min(ctx.settings.callTimeoutMs, left), ctx.signal),
      );
      if (!needLeader || st.leaderId !== undefined) return st;
    } catch {
      // not serving yet
    }
    await sleep(ctx, Math.min(100, Math.max(1, until - ctx.clock.now())));
  }
}

async function recordIds(ctx: ExecuteContext, st: MemberStatus): Promise<void> {
  try {
    let before: { memberId?: string; clusterId?: string } = {};
    await ctx.store.update((r) => {
      if (r.memberId === st.memberId && r.clusterId === st.clusterId) return undefined;
      before = {
        ...(r.memberId !== undefined ? { memberId: r.memberId } : {}),
        ...(r.clusterId !== undefined ? { clusterId: r.clusterId } : {}),
      };
      return { ...r, memberId: st.memberId, clusterId: st.clusterId };
    });
    // Ids recorded earlier that the running etcd contradicts: the data dir is not the one state.json
    // describes (restored, copied or swapped by hand). etcd is the truth now; say what was replaced.
    if (
      (before.memberId !== undefined && before.memberId !== st.memberId) ||
      (before.clusterId !== undefined && before.clusterId !== st.clusterId)
    )
      ctx.logger.warn(
        {
          recordedMemberId: before.memberId,
          recordedClusterId: before.clusterId,
          memberId: st.memberId,
          clusterId: st.clusterId,
        },
        'state.json named another member or cluster than the etcd now running; recording what etcd says',
      );
  } catch (err) {
    ctx.logger.error(
      { err: describeError(err), memberId: st.memberId, clusterId: st.clusterId },
      'cannot record member id in state.json',
    );
  }
}

function startFailed(ctx: ExecuteContext): void {
  const m = ctx.memory;
  m.startFailures += 1;
  m.nextStartAt = ctx.clock.now() + startBackoffMs(m.startFailures);
}

/** Why a start must wait, while the back-off after failed starts lasts; undefined when it may go. */
/** The longest wait between two failed ready-to-shutdown signals (doubling from the cycle interval). */
export const SIGNAL_BACKOFF_MAX_MS = 60_000;

function startBackoffLeft(ctx: ExecuteContext): string | undefined {
  const { nextStartAt, startFailures } = ctx.memory;
  const left = nextStartAt === undefined ? 0 : nextStartAt - ctx.clock.now();
  if (left <= 0) return undefined;
  return `not starting etcd: ${startFailures} start${startFailures === 1 ? '' : 's'} failed in a row; next try in ${Math.ceil(left / 1000)}s`;
}

function startSucceeded(ctx: ExecuteContext): void {
  ctx.memory.startFailures = 0;
  ctx.memory.nextStartAt = undefined;
}

/** Starts etcd and waits for it to answer; counts failures for the back-off. */
async function startAndWait(
  ctx: ExecuteContext,
  launch: EtcdLaunch,
  needLeader: boolean,
): Promise<ExecuteResult> {
  if (ctx.runner.isRunning()) return { progressed: false, detail: 'etcd already runs' };
  const waitMs = ctx.settings.startWaitMs ?? 10_000;
  const t0 = ctx.clock.now();
  try {
    await ctx.runner.start(launch);
    const st = await waitForLocalStatus(ctx, waitMs, needLeader);
    if (st === undefined) {
      // Still running: not a failure (a learner after a snapshot can stay dark for ~7 s); the next cycles observe it.
      return { progressed: true, detail: `etcd started, not answering after ${waitMs} ms` };
    }
    startSucceeded(ctx);
    await recordIds(ctx, st);
    return {
      progressed: true,
      detail: `etcd serving as member ${st.memberId} of cluster ${st.clusterId} after ${ctx.clock.now() - t0} ms`,
    };
  } catch (err) {
    startFailed(ctx);
    throw err;
  }
}

function groupInstance(ctx: ExecuteContext, id: InstanceId): GroupInstanceView | undefined {
  return ctx.obs.group.ok ? ctx.obs.group.instances.find((i) => i.id === id) : undefined;
}

function member(ctx: ExecuteContext, id: MemberId): MemberView | undefined {
  return ctx.obs.cluster.reachable ? ctx.obs.cluster.members.find((m) => m.id === id) : undefined;
}

async function run(action: Action, ctx: ExecuteContext): Promise<ExecuteResult> {
  const { obs, settings, etcd, runner, store } = ctx;
  const self = obs.self;
  const callMs = settings.callTimeoutMs;
  switch (action.kind) {
    case 'wait':
      return { progressed: false };

    case 'bootstrap': {
      // The planner re-plans a bootstrap every cycle while its votes are fresh: a broken etcd must wait
      // out the start back-off like start-etcd does, not be respawned every cycle (campaign H1, H3).
      const backoff = startBackoffLeft(ctx);
      if (backoff !== undefined) return { progressed: false, detail: backoff };
      if (await ctx.hasData(settings.dataDir))
        throw new ActionFailed('refusing to bootstrap: the data dir holds data', 'PRECONDITION_FAILED');
      if (action.plan !== undefined) return bootstrapOnPlan(action.plan, ctx);
      // A configured token only prefixes the planner's unique one: a fixed token would give every
      // re-bootstrap the same member and cluster ids (etcd-physics §3b).
      const token =
        settings.clusterToken !== undefined ? `${settings.clusterToken}-${action.token}` : action.token;
      const result = await startAndWait(
        ctx,
        {
          name: self.instanceId,
          clientUrl: self.clientUrl,
          peerUrl: self.peerUrl,
          state: 'new',
          initialCluster: [{ name: self.instanceId, peerUrl: self.peerUrl }],
          token,
        },
        true,
      );
      ctx.memory.votes = undefined;
      return result;
    }

    case 'start-etcd':
      return startAndWait(
        ctx,
        {
          name: self.instanceId,
          clientUrl: self.clientUrl,
          peerUrl: self.peerUrl,
          state: 'existing',
          initialCluster: action.initialCluster,
        },
        false,
      );

    case 'stop-etcd':
      if (!runner.isRunning()) return { progressed: false, detail: 'etcd is not running' };
      await runner.stop(action.reason);
      return { progressed: true };

    case 'add-self-as-learner': {
      if (!obs.cluster.reachable) throw new ActionFailed('cluster not reachable', 'PRECONDITION_FAILED');
      if (runner.isRunning()) throw new ActionFailed('etcd already runs', 'PRECONDITION_FAILED');
      const endpoints = healthyVoterUrls(obs);
      const added = await etcd.addLearner(endpoints, self.peerUrl, withDeadline(callMs * 2, ctx.signal));
      const clusterId = obs.cluster.clusterId;
      // Recorded before the start, so a crash in between leaves a record that matches what we start.
      await store.update((r) => ({ ...r, memberId: added.member.id, clusterId }));
      ctx.logger.info(
        { memberId: added.member.id, members: added.members.length },
        'added self as learner; starting etcd',
      );
      // Started in the same action: a learner added and never started blocks every other add.
      const result = await startAndWait(
        ctx,
        {
          name: self.instanceId,
          clientUrl: self.clientUrl,
          peerUrl: self.peerUrl,
          state: 'existing',
          initialCluster: initialClusterFrom(added.members, added.member.id, self.instanceId),
        },
        false,
      );
      return { ...result, detail: `added as learner ${added.member.id}; ${result.detail ?? ''}`.trim() };
    }

    case 'promote-member': {
      const endpoints = healthyVoterUrls(obs, action.memberId);
      const until = ctx.clock.now() + PROMOTE_RETRY_MS;
      for (let attempt = 1; ; attempt++) {
        try {
          await etcd.promote(endpoints, action.memberId, withDeadline(callMs, ctx.signal));
          return { progressed: true, detail: `promoted after ${attempt} attempt(s)` };
        } catch (err) {
          const code = errorCode(err);
          if (code === 'ETCD_NOT_A_LEARNER') return { progressed: true, detail: 'already a voter' };
          if (code !== 'ETCD_LEARNER_NOT_READY' || ctx.clock.now() + 250 > until) throw err;
          await sleep(ctx, 250);
        }
      }
    }

    case 'remove-member': {
      const endpoints = healthyVoterUrls(obs, action.memberId);
      try {
        await etcd.remove(endpoints, action.memberId, withDeadline(callMs * 3, ctx.signal));
      } catch (err) {
        if (errorCode(err) === 'ETCD_MEMBER_NOT_FOUND')
          return { progressed: true, detail: 'already removed' };
        throw err;
      }
      return { progressed: true };
    }

    case 'move-leader': {
      const from = member(ctx, action.from);
      const url = from?.clientUrls[0];
      if (url === undefined)
        throw new ActionFailed(
          `leader ${action.from} has no client URL in the member list`,
          'PRECONDITION_FAILED',
        );
      await etcd.moveLeader(url, action.to, withDeadline(callMs * 2, ctx.signal));
      return { progressed: true };
    }

    case 'wipe-data': {
      if (runner.isRunning()) await runner.stop(`wipe-data: ${action.reason}`);
      await ctx.wipeData(settings.dataDir);
      // The ids, and any start on an agreed plan, belonged to the wiped data (the vote itself stays).
      await store.update((r) => forgetData(r));
      startSucceeded(ctx);
      return { progressed: true };
    }

    case 'mark-left':
      await store.update((r) => ({ ...r, left: { at: ctx.clock.now(), reason: action.reason } }));
      return { progressed: true };

    case 'clear-left':
      await store.update((r) => {
        const next = forgetData(r);
        delete next.left;
        return next;
      });
      ctx.memory.signalledReady = false;
      return { progressed: true };

    case 'signal-ready-to-shutdown': {
      // A refused signal (e.g. a 400 for an instance the cloud no longer holds) would otherwise go
      // again every cycle until the instance ends, spending the organisation's API budget: back off.
      const left = (ctx.memory.nextSignalAt ?? 0) - ctx.clock.now();
      if (left > 0)
        return {
          progressed: false,
          detail: `not signalling ready to shut down: ${ctx.memory.signalFailures ?? 0} signal(s) failed in a row; next try in ${Math.ceil(left / 1000)}s`,
        };
      try {
        await ctx.group.signalReadyToShutdown(
          self.instanceId,
          withDeadline(settings.cloudTimeoutMs, ctx.signal),
        );
      } catch (err) {
        const failures = (ctx.memory.signalFailures ?? 0) + 1;
        ctx.memory.signalFailures = failures;
        ctx.memory.nextSignalAt =
          ctx.clock.now() + Math.min(SIGNAL_BACKOFF_MAX_MS, settings.cycleIntervalMs * 2 ** (failures - 1));
        throw err;
      }
      ctx.memory.signalledReady = true;
      ctx.memory.signalFailures = 0;
      ctx.memory.nextSignalAt = undefined;
      return { progressed: true };
    }

    case 'force-new-cluster':
      return forceNewCluster(action, ctx);

    case 'take-snapshot': {
      if (ctx.takeSnapshot === undefined)
        throw new ActionFailed('no snapshot store is configured', 'PRECONDITION_FAILED');
      const detail = await ctx.takeSnapshot(action.reason, ctx.signal);
      return { progressed: true, detail };
    }

    case 'restore-snapshot': {
      const backoff = startBackoffLeft(ctx);
      if (backoff !== undefined) return { progressed: false, detail: backoff };
      if (ctx.restoreSnapshot === undefined)
        throw new ActionFailed('no snapshot store is configured to restore from', 'PRECONDITION_FAILED');
      if (await ctx.hasData(settings.dataDir))
        throw new ActionFailed(
          'refusing to restore a snapshot: the data dir holds data',
          'PRECONDITION_FAILED',
        );
      const token =
        settings.clusterToken !== undefined ? `${settings.clusterToken}-${action.token}` : action.token;
      await ctx.restoreSnapshot(
        action.snapshot,
        { dataDir: settings.dataDir, name: self.instanceId, peerUrl: self.peerUrl, token },
        ctx.signal,
      );
      const result = await startAndWait(
        ctx,
        {
          name: self.instanceId,
          clientUrl: self.clientUrl,
          peerUrl: self.peerUrl,
          state: 'existing',
          initialCluster: [{ name: self.instanceId, peerUrl: self.peerUrl }],
          token,
        },
        true,
      );
      ctx.memory.votes = undefined;
      return {
        ...result,
        detail: `restored ${action.snapshot} (revision ${action.revision}); ${result.detail ?? ''}`.trim(),
      };
    }

    case 'collect-votes': {
      // A series of fresh rounds (re-asked while agents are still starting) keeps its first time, from
      // which the wait for the whole group runs; rounds are paced so a re-ask is no busy loop.
      const prev = ctx.memory.votes;
      const sincePrev = prev === undefined ? undefined : ctx.clock.now() - prev.requestedAt;
      if (sincePrev !== undefined && sincePrev >= 0 && sincePrev < VOTE_ROUND_MIN_GAP_MS)
        await sleep(ctx, VOTE_ROUND_MIN_GAP_MS - sincePrev);
      const requestedAt = ctx.clock.now();
      const series =
        prev !== undefined &&
        requestedAt - prev.requestedAt >= 0 &&
        requestedAt - prev.requestedAt < settings.policy.voteTtlMs / 2;
      // The token every member will start with is final here: a configured etcd.clusterToken prefixes it.
      const plan =
        action.plan === undefined
          ? undefined
          : {
              ...action.plan,
              token:
                settings.clusterToken !== undefined
                  ? `${settings.clusterToken}-${action.plan.token}`
                  : action.plan.token,
            };
      const tally: VoteTally = {
        requestedAt,
        granted: [],
        refused: [],
        since: series ? (prev.since ?? prev.requestedAt) : requestedAt,
      };
      if (plan !== undefined) {
        tally.plan = plan;
        tally.planAccepted = [];
      }
      const noAnswer: InstanceId[] = [];
      await Promise.all(
        action.from.map(async (id) => {
          let answer: VoteAnswer;
          if (id === self.instanceId)
            answer = await ctx.castOwnVote(self.instanceId, action.desiredCapacity, plan);
          else {
            const peer = groupInstance(ctx, id);
            if (!peer) answer = { granted: false, reason: 'not in the group list' };
            else {
              try {
                answer = await ctx.peers.requestVote(
                  peer,
                  {
                    candidate: self.instanceId,
                    desiredCapacity: action.desiredCapacity,
                    ...(plan !== undefined ? { plan } : {}),
                  },
                  ctx.signal,
                );
              } catch (err) {
                answer = { granted: false, reason: describeError(err) };
                if (errorCode(err) === 'PEER_UNREACHABLE') noAnswer.push(id);
              }
            }
          }
          if (answer.granted) tally.granted.push(id);
          else tally.refused.push({ instanceId: id, reason: answer.reason });
          if (answer.granted && answer.planAccepted === true) tally.planAccepted?.push(id);
        }),
      );
      tally.granted.sort();
      tally.refused.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
      tally.planAccepted?.sort();
      if (noAnswer.length > 0) tally.noAnswer = noAnswer.sort();
      ctx.memory.votes = tally;
      const accepted =
        tally.planAccepted === undefined ? '' : `, ${tally.planAccepted.length} recorded the plan`;
      return {
        progressed: true,
        detail: `${tally.granted.length} of ${action.from.length} granted${accepted}`,
      };
    }
  }
}

/** The record without what belonged to a wiped data dir: member and cluster ids, a start on a plan, the plan. */
function forgetData(r: LocalRecord): LocalRecord {
  const next = { ...r };
  delete next.memberId;
  delete next.clusterId;
  delete next.planStarted;
  if (next.vote?.plan !== undefined) next.vote = { candidate: next.vote.candidate, at: next.vote.at };
  return next;
}

/**
 * The whole group at once (design row C4): start etcd `new` as a member of the agreed plan, with
 * exactly its `--initial-cluster` and token (already final: no prefix is added). Re-checks, as a second
 * line behind the planner and atomically with the vote keeper (one state.json update), that the plan
 * is the one self recorded with its vote and that the vote still binds, or that self already started
 * on it; records the start (`planStarted`, announced to the peers) BEFORE etcd starts, so a crash in
 * between never leaves a member of the plan that its peers cannot learn about.
 */
async function bootstrapOnPlan(plan: BootstrapPlan, ctx: ExecuteContext): Promise<ExecuteResult> {
  const self = ctx.obs.self;
  const refuse = (why: string): never => {
    throw new ActionFailed(`refusing to start on the agreed initial cluster: ${why}`, 'PRECONDITION_FAILED');
  };
  const entry = plan.members.find((m) => m.instanceId === self.instanceId);
  if (entry === undefined) refuse(`${self.instanceId} is not one of its members`);
  else if (entry.peerUrl !== self.peerUrl)
    refuse(`it has ${self.instanceId} at ${entry.peerUrl}, not at our peer URL ${self.peerUrl}`);
  await ctx.store.update((r) => {
    const recorded = r.vote?.plan;
    if (recorded === undefined || recorded.token !== plan.token)
      return refuse(`state.json does not hold this plan (token ${plan.token}) with our vote`);
    const now = ctx.clock.now();
    if (r.planStarted?.token === plan.token) return undefined;
    if (!isVoteUnexpired(r.vote, now, ctx.settings.policy.voteTtlMs))
      return refuse(`our vote for ${r.vote?.candidate ?? '?'} expired`);
    return { ...r, planStarted: { token: plan.token, at: now } };
  });
  ctx.logger.info(
    // `token` is a redacted log key; the cluster token is no secret.
    { initialClusterToken: plan.token, members: plan.members.map((m) => m.instanceId) },
    'recorded the start on the agreed initial cluster; starting etcd new',
  );
  if (plan.members[0]?.instanceId === self.instanceId) await noticeMembers(plan, ctx);
  const result = await startAndWait(
    ctx,
    {
      name: self.instanceId,
      clientUrl: self.clientUrl,
      peerUrl: self.peerUrl,
      state: 'new',
      initialCluster: planInitialCluster(plan),
      token: plan.token,
    },
    true,
  );
  ctx.memory.votes = undefined;
  return {
    ...result,
    detail:
      `started as one of ${plan.members.length} initial members (token ${plan.token}); ${result.detail ?? ''}`.trim(),
  };
}

/**
 * The seeder tells the plan's other members that it starts (best effort: one that misses the notice
 * sees the announcement in GET /v1/bootstrap on its next cycle). Before its own etcd binds its client
 * port: an etcd without quorum accepts connections and answers nothing, so every probe of it waits out
 * its deadline, and the members would start that much later.
 */
async function noticeMembers(plan: BootstrapPlan, ctx: ExecuteContext): Promise<void> {
  const announce = ctx.peers.announcePlanStart?.bind(ctx.peers);
  if (announce === undefined) return;
  const self = ctx.obs.self.instanceId;
  const answers = await Promise.all(
    plan.members
      .filter((m) => m.instanceId !== self)
      .map(async (m) => {
        const peer = groupInstance(ctx, m.instanceId);
        if (peer === undefined) return `${m.instanceId}: not in the group list`;
        try {
          const a = await announce(peer, { candidate: self, token: plan.token }, ctx.signal);
          return `${m.instanceId}: ${a.accepted ? 'starts' : `refused (${a.reason})`}`;
        } catch (err) {
          return `${m.instanceId}: ${describeError(err)}`;
        }
      }),
  );
  ctx.logger.info({ answers }, 'told the members of the agreed initial cluster that it starts');
}

/**
 * Quorum-loss recovery on the best survivor. Re-checks, as a second line behind the planner, that the
 * local etcd still runs as the planned member and follows no leader; then stops it, copies the data dir
 * aside (no copy, no force) and starts it once with `--force-new-cluster`, waiting for it to lead.
 */
async function forceNewCluster(
  action: Extract<Action, { kind: 'force-new-cluster' }>,
  ctx: ExecuteContext,
): Promise<ExecuteResult> {
  const { settings, runner, etcd } = ctx;
  const self = ctx.obs.self;
  const refuse = (why: string, cause?: unknown): never => {
    throw new ActionFailed(`refusing to force a new cluster: ${why}`, 'PRECONDITION_FAILED', cause);
  };
  if (!runner.isRunning()) refuse('the local etcd is not running (the proof rested on its status)');
  if (!(await ctx.hasData(settings.dataDir))) refuse('the data dir holds no data');
  let st: MemberStatus | undefined;
  try {
    st = await etcd.status(self.clientUrl, withDeadline(settings.callTimeoutMs, ctx.signal));
  } catch (err) {
    refuse(`the local etcd does not answer status (${describeError(err)})`, err);
  }
  if (st === undefined) return refuse('no status');
  if (st.memberId !== action.memberId)
    refuse(`the local etcd is member ${st.memberId}, not ${action.memberId}`);
  if (st.leaderId !== undefined) refuse(`the local etcd follows leader ${st.leaderId} now`);
  // What the survivor had applied (MemberStatus.revision, when the adapter reports it): the simulator
  // classifies lost writes against it.
  const revision = (st as { revision?: number }).revision;
  const kept = `raft index ${st.raftIndex}${revision === undefined ? '' : `, revision ${revision}`}`;
  const t0 = ctx.clock.now();
  await runner.stop(`force-new-cluster: ${action.reason}`);
  const aside = await (ctx.copyDataAside ?? copyDataAside)(settings.dataDir, ctx.clock.now());
  ctx.logger.info(
    { aside, memberId: action.memberId, raftIndex: st.raftIndex, raftTerm: st.raftTerm },
    'copied the data dir aside; restarting etcd with --force-new-cluster',
  );
  const result = await startAndWait(
    ctx,
    {
      name: self.instanceId,
      clientUrl: self.clientUrl,
      peerUrl: self.peerUrl,
      state: 'existing',
      initialCluster: [{ name: self.instanceId, peerUrl: self.peerUrl }],
      forceNewCluster: true,
    },
    true,
  );
  return {
    ...result,
    detail:
      `forced a new cluster from member ${action.memberId} (${kept}) in ${ctx.clock.now() - t0} ms; data dir copied to ${aside}; ${result.detail ?? ''}`.trim(),
  };
}

/** Applies `action`; logs and swallows every error. */
export async function executeAction(action: Action, ctx: ExecuteContext): Promise<ExecuteResult> {
  try {
    return await run(action, ctx);
  } catch (err) {
    const code = errorCode(err) ?? 'UNKNOWN';
    // The caller's child logger already carries `action` (a second one would repeat the JSON key, H1).
    ctx.logger.warn({ code, err: describeError(err) }, 'action failed');
    return { progressed: false, code, detail: describeError(err) };
  }
}

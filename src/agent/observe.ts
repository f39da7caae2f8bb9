/**
 * Builds the {@link Observation} the planner reads, from the ports. Nothing unknown is turned into a
 * default that looks like an answer: a failed group list is `{ ok: false }`, an unreachable cluster is
 * `{ reachable: false }`. Every external call has a deadline; the cluster part as a whole is bounded by
 * about 2.5 × the etcd call timeout, however many endpoints are slow.
 *
 * Remembered across cycles (in memory only): self's identity (after the first success), the group list
 * (see {@link PollMode} for how long), the client URLs of the last good member list, and per member id
 * since when it has been unreachable / unstarted.
 *
 * One cloud poller per cluster: the agent beside the leader asks the cloud for the group list and shares
 * its last answer on its status server (`GET /v1/group`, signed both ways); a calm follower reads that
 * copy instead of the cloud, and falls back to the cloud (at `followerGroupPollIntervalMs`) when the
 * leader's agent does not answer, answers unsigned or badly, or its list is stale. Any observation that
 * is not a calm follower's plans on the agent's own list from the cloud only: a shared list that reached
 * an observation which turned out not calm is replaced by a direct read before the planner sees it, and
 * the planner refuses a shared list as proof anyway (`isDirectGroupList`).
 */
import { within } from '../core/within.ts';
import { describeError, errorCode, networkReason } from '../core/errors.ts';
import { clientUrlFor, peerUrlFor } from '../core/ids.ts';
import type { MemberId } from '../core/ids.ts';
import { peerHostOf } from '../core/quorum.ts';
import type {
  ClusterView,
  GroupInstanceView,
  GroupView,
  LocalRecord,
  LocalView,
  MemberView,
  Observation,
  PeerBootstrapView,
  RecoveryOrder,
  RecoveryView,
  SelfView,
  SnapshotView,
  TerminationView,
} from '../core/observation.ts';
import type { SnapshotScheduleView } from '../core/snapshot-policy.ts';
import type { Clock } from '../ports/clock.ts';
import type { EtcdCluster, Member, MemberStatus } from '../ports/etcd-cluster.ts';
import type { EtcdRunner } from '../ports/etcd-runner.ts';
import type { InstanceGroup } from '../ports/instance-group.ts';
import type { InstanceMetadata } from '../ports/instance-metadata.ts';
import type { Logger } from '../ports/logger.ts';
import type { LocalStateStore } from './local-state.ts';
import type { AgentMemory, AgentSettings, PeerAgents, SharedGroupList } from './types.ts';
import { withDeadline } from './deadline.ts';

export interface ObserverDeps {
  settings: AgentSettings;
  metadata: InstanceMetadata;
  group: InstanceGroup;
  etcd: EtcdCluster;
  runner: EtcdRunner;
  termination: { view(): TerminationView };
  store: LocalStateStore;
  peers: PeerAgents;
  memory: AgentMemory;
  hasData: (dataDir: string) => Promise<boolean>;
  /** Client URLs to probe after the group's (e.g. `plan --endpoints`). */
  extraClientUrls?: readonly string[];
  /** The local etcd binary's version (`etcd --version`); absent in tests that don't care. */
  etcdVersion?: () => Promise<{ ok: true; version: string } | { ok: false; error: string }>;
  clock: Clock;
  logger: Logger;
  /** The operator's pending `etcd-spot recover` order, if any (read each observation). */
  recoveryOrder?: () => RecoveryOrder | undefined;
  /**
   * The snapshot store's newest verified snapshot of the group; asked only while no cluster answers and
   * there is no local data (an all-lost group's seeder restores it instead of an empty bootstrap).
   */
  snapshots?: (signal?: AbortSignal) => Promise<SnapshotView>;
  /** The snapshot duty's state (in memory, no I/O); absent without a snapshot store. */
  snapshotSchedule?: () => SnapshotScheduleView;
  /** Randomness in [0, 1) for the poll jitter (`settings.pollJitter`); default Math.random. */
  random?: () => number;
}

/**
 * How the group list is refreshed, decided from the previous observation:
 * - `active` (joining, leaving, bootstrapping, leaderless, or the leader's agent while anything is
 *   under way): from the cloud every `groupPollIntervalMs`;
 * - `steady-leader` (the leader's agent while every member is a reachable, started voter and no notice
 *   is present, see {@link isSteadyLeader}): from the cloud every `steadyGroupPollIntervalMs`;
 * - `calm-follower` ({@link isCalmFollower}): the leader's agent's shared copy every
 *   `groupPollIntervalMs`, else its own from the cloud every `followerGroupPollIntervalMs`.
 */
export type PollMode = 'active' | 'steady-leader' | 'calm-follower';

/** A list this agent holds: when it was read (this agent's clock) and its poll jitter factor. */
interface CachedGroup {
  view: Extract<GroupView, { ok: true }>;
  at: number;
  factor: number;
}

type StatusResult = { ok: true; status: MemberStatus } | { ok: false; error: string };

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export class Observer {
  private readonly d: ObserverDeps;
  private selfCache: SelfView | undefined;
  /** This agent's last list from the cloud (undefined after a failed fetch: never stale data). */
  private groupCache: CachedGroup | undefined;
  /** The last copy read from the leader's agent. */
  private sharedCache: CachedGroup | undefined;
  /** When a read of the leader's agent's list last failed, and why (one log line per new reason). */
  private sharedFailedAt: number | undefined;
  private lastSharedError: string | undefined;
  /** The leader's instance (its member's name and peer IP) in the last observation. */
  private leaderPeer: GroupInstanceView | undefined;
  private mode: PollMode = 'active';
  private groupRetryAt = 0;
  private groupRetryFrom = 0;
  private lastGroupError: string | undefined;
  private lastGoodClientUrls: string[] = [];
  private readonly unreachableSince = new Map<MemberId, number>();
  private readonly unstartedSince = new Map<MemberId, number>();
  private latestGroup: GroupView | undefined;
  private lastDesiredError: string | undefined;
  private groupId: string | undefined;
  private lastVersionError: string | undefined;
  /** Quorum-loss recovery memory: the unbroken leaderless streak and the last two successful group fetches. */
  private noLeaderSince: number | undefined;
  private groupFetches: { fetchedAt: number; instances: GroupInstanceView[] }[] = [];
  /** Members whose instance the cloud said is terminated (final), and when each other one was last asked. */
  private readonly terminatedConfirmed = new Set<MemberId>();
  private readonly terminationAskedAt = new Map<MemberId, number>();

  constructor(deps: ObserverDeps) {
    this.d = deps;
  }

  /** Self, once the metadata service has answered. */
  self(): SelfView | undefined {
    return this.selfCache;
  }

  /** The group view of the latest observation. */
  /** Why state.json could not be read at the last observation, if it could not. */
  stateError(): string | undefined {
    return this.d.memory.stateError;
  }

  groupView(): GroupView | undefined {
    return this.latestGroup;
  }

  /** Self from the instance metadata (cached after the first success). Throws while it cannot be read. */
  async observeSelf(signal?: AbortSignal): Promise<SelfView> {
    if (this.selfCache) return this.selfCache;
    const id = await this.d.metadata.identity(withDeadline(this.d.settings.cloudTimeoutMs, signal));
    const s = this.d.settings;
    this.groupId = id.groupId;
    this.selfCache = {
      instanceId: id.instanceId,
      privateIp: id.privateIp,
      peerUrl: peerUrlFor(id.privateIp, s.peerPort, s.peerScheme ?? 'http'),
      clientUrl: clientUrlFor(id.privateIp, s.clientPort, s.clientScheme ?? 'http'),
    };
    return this.selfCache;
  }

  /** Whether the last observation reached a cluster. */
  private clusterSeen = false;

  async observe(signal?: AbortSignal): Promise<Observation> {
    const self = await this.observeSelf(signal);
    const termination = this.d.termination.view();
    // A notice ends calm at once: the leave needs a fresh list (its replacement, dead members).
    if (termination.notices.length > 0) this.mode = 'active';
    const [first, local] = await Promise.all([this.observeGroup(self, signal), this.observeLocal(signal)]);
    let group = first;
    const cluster = await this.observeCluster(self, group, signal);
    this.mode = pollModeOf(self, cluster, local, termination);
    this.leaderPeer = leaderPeerOf(cluster, self);
    // What this observation shows decides which list it may plan on: a shared copy only when it is a
    // calm follower's, and nothing older than groupPollIntervalMs while something is under way.
    if (!this.listFitsMode(group)) group = await this.fetchGroup(signal);
    this.latestGroup = group;
    if (cluster.reachable && group.ok && group.sharedBy === undefined)
      await this.confirmTerminations(self, group, cluster, signal);
    this.clusterSeen = cluster.reachable;
    const obs: Observation = { self, group, termination, local, cluster };
    const notInService = this.d.group.notInService?.(self.instanceId);
    if (notInService !== undefined) obs.selfNotInService = notInService;
    // Peers are asked while no cluster answers (bootstrap) and while it has no leader (quorum-loss
    // recovery compares the survivors' raft indexes).
    const leaderless = cluster.reachable && cluster.leaderId === undefined;
    if ((!cluster.reachable || leaderless) && group.ok)
      obs.peers = await this.observePeers(self, group.instances, signal);
    if (this.d.memory.votes) obs.votes = this.d.memory.votes;
    obs.recovery = this.recoveryView(cluster, group);
    if (!cluster.reachable && !local.hasData && this.d.snapshots !== undefined) {
      obs.snapshot = await this.d
        .snapshots(withDeadline(this.d.settings.cloudTimeoutMs * 4, signal))
        .catch((err: unknown): SnapshotView => ({ ok: false, error: describeError(err) }));
    }
    if (this.d.snapshotSchedule !== undefined) obs.snapshotSchedule = this.d.snapshotSchedule();
    return obs;
  }

  /**
   * What quorum-loss recovery remembers: since when the cluster has answered without a leader (reset by
   * a leader or by no answer at all), and the previous successful group fetch (forgotten on a failure,
   * so two observations are always two reads of the cloud in a row).
   */
  private recoveryView(cluster: ClusterView, group: GroupView): RecoveryView {
    const now = this.d.clock.now();
    if (cluster.reachable && cluster.leaderId === undefined) this.noLeaderSince ??= now;
    else this.noLeaderSince = undefined;
    if (!group.ok) this.groupFetches = [];
    // Only the agent's own answers from the cloud count as reads (a shared copy is not proof).
    else if (group.sharedBy === undefined && this.groupFetches.at(-1)?.fetchedAt !== group.fetchedAt)
      this.groupFetches = [
        ...this.groupFetches.slice(-1),
        { fetchedAt: group.fetchedAt, instances: group.instances },
      ];
    const view: RecoveryView = {};
    if (this.noLeaderSince !== undefined) view.noLeaderSince = this.noLeaderSince;
    const prev = this.groupFetches.length >= 2 ? this.groupFetches[0] : undefined;
    if (prev !== undefined) view.previousGroup = prev;
    const order = this.d.recoveryOrder?.();
    if (order !== undefined) view.order = order;
    return view;
  }

  /** How often this agent asks the cloud itself in `mode` (ms). */
  private cloudIntervalMs(mode: PollMode): number {
    const s = this.d.settings;
    switch (mode) {
      case 'active':
        return s.groupPollIntervalMs;
      case 'steady-leader':
        return Math.max(s.groupPollIntervalMs, s.steadyGroupPollIntervalMs ?? 0);
      case 'calm-follower':
        return Math.max(s.groupPollIntervalMs, s.followerGroupPollIntervalMs ?? 0);
    }
  }

  /** A new jitter factor, 1 ± `pollJitter`: every agent's polls drift apart instead of marching in step. */
  private jitterFactor(): number {
    const j = this.d.settings.pollJitter ?? 0;
    return j <= 0 ? 1 : 1 + j * (2 * (this.d.random ?? Math.random)() - 1);
  }

  private fresh(c: CachedGroup | undefined, windowMs: number, now: number): c is CachedGroup {
    return c !== undefined && within(now, c.at, windowMs * c.factor);
  }

  /**
   * Whether the list an observation got may be planned on, given the mode the same observation shows:
   * a shared copy only by a calm follower; while something is under way, only a list from the cloud
   * younger than `groupPollIntervalMs`. An error stays (the planner waits on it).
   */
  private listFitsMode(group: GroupView): boolean {
    if (!group.ok) return true;
    if (group.sharedBy !== undefined) return this.mode === 'calm-follower';
    if (this.mode !== 'active') return true;
    return this.fresh(this.groupCache, this.d.settings.groupPollIntervalMs, this.d.clock.now());
  }

  /** Whether a calm follower may read the leader's agent's copy at all. */
  private sharing(): boolean {
    return this.d.group.listIsLocal !== true && this.d.peers.groupList !== undefined;
  }

  private async observeGroup(self: SelfView, signal?: AbortSignal): Promise<GroupView> {
    const now = this.d.clock.now();
    const poll = this.d.settings.groupPollIntervalMs;
    if (this.mode === 'calm-follower' && this.sharing()) {
      if (this.fresh(this.groupCache, poll, now)) return this.groupCache.view;
      if (this.fresh(this.sharedCache, poll, now)) return this.sharedCache.view;
      const shared = await this.readSharedGroup(self, signal);
      if (shared !== undefined) return shared;
    }
    if (this.fresh(this.groupCache, this.cloudIntervalMs(this.mode), now)) return this.groupCache.view;
    return this.fetchGroup(signal);
  }

  /**
   * The leader's agent's list (`GET /v1/group`), or undefined when there is none to use: no leader known,
   * tried and failed within `groupPollIntervalMs`, not answered, unsigned or badly signed, older than
   * twice the interval its agent polls at (bounded by this agent's own intervals), or not listing self.
   */
  private async readSharedGroup(self: SelfView, signal?: AbortSignal): Promise<GroupView | undefined> {
    const s = this.d.settings;
    const now = this.d.clock.now();
    const leader = this.leaderPeer;
    const read = this.d.peers.groupList;
    if (leader === undefined || read === undefined) return undefined;
    if (this.sharedFailedAt !== undefined && within(now, this.sharedFailedAt, s.groupPollIntervalMs))
      return undefined;
    const answer = await read(leader, signal);
    const error = answer.ok ? sharedListProblem(answer.list, self, s) : answer.error;
    if (error !== undefined || !answer.ok) {
      this.sharedFailedAt = this.d.clock.now();
      this.sharedCache = undefined;
      const text = error ?? 'no answer';
      // One line per kind of problem, not per age or port in it.
      const kind = text.replace(/\d+/g, 'N');
      if (kind !== this.lastSharedError)
        this.d.logger.info(
          { leader: leader.id, err: text },
          "cannot use the leader's agent's group list; asking the cloud (at followerGroupPollInterval)",
        );
      this.lastSharedError = kind;
      return undefined;
    }
    const list = answer.list;
    const at = this.d.clock.now();
    const view: Extract<GroupView, { ok: true }> = {
      ok: true,
      instances: list.instances,
      fetchedAt: at - list.ageMs,
      sharedBy: list.instanceId,
    };
    if (list.desiredCapacity !== undefined) view.desiredCapacity = list.desiredCapacity;
    const groupId = this.d.settings.groupId ?? this.groupId ?? this.d.group.groupId ?? list.groupId;
    if (groupId !== undefined) view.groupId = groupId;
    if (this.lastSharedError !== undefined || this.sharedCache === undefined)
      this.d.logger.debug(
        { leader: list.instanceId, ageMs: list.ageMs },
        "reading the leader's agent's group list",
      );
    this.lastSharedError = undefined;
    this.sharedFailedAt = undefined;
    this.sharedCache = { view, at, factor: this.jitterFactor() };
    return view;
  }

  /**
   * What this agent shares on `GET /v1/group`: its own last list from the cloud (never a copy it read
   * from another agent), its age, and how often it asks the cloud now. Undefined while it has none (or
   * the wall clock stepped back past it).
   */
  sharedGroupList(): SharedGroupList | undefined {
    const c = this.groupCache;
    const self = this.selfCache;
    if (c === undefined || self === undefined) return undefined;
    const age = this.d.clock.now() - c.at;
    if (age < 0) return undefined;
    const out: SharedGroupList = {
      instanceId: self.instanceId,
      source: this.d.group.description,
      fetchedAt: c.at,
      ageMs: age,
      pollIntervalMs: this.cloudIntervalMs(this.mode),
      instances: c.view.instances,
    };
    if (c.view.desiredCapacity !== undefined) out.desiredCapacity = c.view.desiredCapacity;
    if (c.view.groupId !== undefined) out.groupId = c.view.groupId;
    return out;
  }

  /** The poll mode the last observation decided (status, tests). */
  pollMode(): PollMode {
    return this.mode;
  }

  /** The group list from the cloud itself (honouring a rate-limit back-off). */
  private async fetchGroup(signal?: AbortSignal): Promise<GroupView> {
    const now = this.d.clock.now();
    if (
      within(now, this.groupRetryFrom, this.groupRetryAt - this.groupRetryFrom) &&
      this.lastGroupError !== undefined
    ) {
      return {
        ok: false,
        error: `${this.lastGroupError} (rate limited; next try in ${this.groupRetryAt - now} ms)`,
      };
    }
    const sig = withDeadline(this.d.settings.cloudTimeoutMs, signal);
    try {
      const g = this.d.group;
      // The desired capacity only matters for bootstrap (majority of the desired size), so it is not
      // asked for while a cluster answers: that halves the Spot API calls of a running group.
      const wantDesired = g.desiredCapacity !== undefined && !this.clusterSeen;
      // A failed capacity read is not a failed list: the list stays usable, and the planner, which
      // needs the capacity only to bootstrap, sees why it is missing and waits.
      let desiredError: string | undefined;
      const [instances, desired] = await Promise.all([
        g.listInstances(sig),
        wantDesired
          ? g.desiredCapacity!(sig).catch((err: unknown) => {
              desiredError = describeError(err);
              return undefined;
            })
          : Promise.resolve(undefined),
      ]);
      const fetchedAt = this.d.clock.now();
      const view: Extract<GroupView, { ok: true }> = {
        ok: true,
        instances: instances.map((i) => {
          const v: GroupInstanceView = { id: i.id, privateIp: i.privateIp };
          if (i.launchedAt !== undefined) v.launchedAt = i.launchedAt;
          return v;
        }),
        fetchedAt,
      };
      if (desired !== undefined) view.desiredCapacity = desired;
      else if (wantDesired) {
        view.desiredCapacityError = desiredError ?? `${this.d.group.description} did not say`;
        if (desiredError !== undefined && desiredError !== this.lastDesiredError)
          this.d.logger.warn({ err: desiredError }, 'cannot read the desired capacity');
      }
      this.lastDesiredError = desiredError;
      const groupId = this.d.settings.groupId ?? this.groupId ?? this.d.group.groupId;
      if (groupId !== undefined) view.groupId = groupId;
      this.groupCache = { view, at: fetchedAt, factor: this.jitterFactor() };
      this.lastGroupError = undefined;
      return view;
    } catch (err) {
      const error = `${this.d.group.description}: ${describeError(err)}`;
      const retryAfter = (err as { retryAfterMs?: unknown }).retryAfterMs;
      this.groupRetryFrom = this.d.clock.now();
      this.groupRetryAt = typeof retryAfter === 'number' ? this.groupRetryFrom + retryAfter : 0;
      if (error !== this.lastGroupError)
        this.d.logger.warn({ err: error, code: errorCode(err) }, 'group list failed');
      this.lastGroupError = error;
      this.groupCache = undefined;
      return { ok: false, error };
    }
  }

  private async observeLocal(signal?: AbortSignal): Promise<LocalView> {
    const { runner, memory, store } = this.d;
    if (runner.refresh) {
      await runner.refresh(withDeadline(this.d.settings.callTimeoutMs * 2, signal)).catch((err: unknown) => {
        this.d.logger.warn({ err: describeError(err) }, 'cannot check whether etcd runs');
      });
    }
    const [hasData, read, binary] = await Promise.all([
      this.d.hasData(this.d.settings.dataDir),
      store.read(),
      this.d.etcdVersion?.(),
    ]);
    let record: LocalRecord = {};
    if (read.ok) {
      if (memory.stateError !== undefined)
        this.d.logger.info({ path: store.path }, 'state file readable again');
      memory.stateError = undefined;
      record = read.record;
    } else {
      const text = describeError(read.error);
      if (memory.stateError !== text)
        this.d.logger.error(
          { err: text, path: store.path },
          'state file is corrupt; refusing destructive actions until it is fixed or deleted',
        );
      memory.stateError = text;
    }
    const local: LocalView = {
      etcdRunning: runner.isRunning(),
      hasData,
      record,
      startFailures: memory.startFailures,
      signalledReady: memory.signalledReady,
    };
    if (memory.stateError !== undefined) local.recordError = memory.stateError;
    if (binary?.ok === true) local.etcdVersion = binary.version;
    else if (binary !== undefined && binary.error !== this.lastVersionError)
      this.d.logger.warn({ err: binary.error }, 'cannot read the local etcd version');
    this.lastVersionError = binary?.ok === false ? binary.error : undefined;
    const exit = runner.lastExit();
    if (exit) local.lastExit = { ...exit };
    if (memory.nextStartAt !== undefined) local.nextStartAt = memory.nextStartAt;
    return local;
  }

  /** Client URLs to probe, in order of preference: self's, every group instance's, then the last good member list's. */
  private candidateUrls(self: SelfView, group: GroupView): string[] {
    const urls = [self.clientUrl];
    if (group.ok)
      for (const i of group.instances)
        urls.push(
          clientUrlFor(i.privateIp, this.d.settings.clientPort, this.d.settings.clientScheme ?? 'http'),
        );
    urls.push(...(this.d.extraClientUrls ?? []), ...this.lastGoodClientUrls);
    return [...new Set(urls.map(trimSlash))];
  }

  private async status(url: string, signal: AbortSignal): Promise<StatusResult> {
    try {
      return {
        ok: true,
        status: await this.d.etcd.status(url, withDeadline(this.d.settings.callTimeoutMs, signal)),
      };
    } catch (err) {
      // A few words ("connection refused") rather than gRPC's chain, which fills a plan's reason.
      const reason = networkReason(err);
      return { ok: false, error: reason ?? describeError(err) };
    }
  }

  private async observeCluster(self: SelfView, group: GroupView, outer?: AbortSignal): Promise<ClusterView> {
    const callMs = this.d.settings.callTimeoutMs;
    const signal = withDeadline(Math.round(callMs * 2.5), outer);
    const probed = this.candidateUrls(self, group);
    const answers = new Map<string, StatusResult>();
    await Promise.all(
      probed.map(async (url) => {
        answers.set(url, await this.status(url, signal));
      }),
    );

    // The member list must come from a voter (a learner cannot list, and only a voter's list is
    // committed membership). Prefer the cluster with a leader and the most answering members, and in
    // it the leader itself.
    const byCluster = new Map<string, { url: string; st: MemberStatus }[]>();
    for (const url of probed) {
      const a = answers.get(url);
      if (!a?.ok) continue;
      const list = byCluster.get(a.status.clusterId) ?? [];
      list.push({ url, st: a.status });
      byCluster.set(a.status.clusterId, list);
    }
    const clusters = [...byCluster.entries()].sort(([, a], [, b]) => {
      const led = (l: { st: MemberStatus }[]) => (l.some((x) => x.st.leaderId !== undefined) ? 1 : 0);
      return led(b) - led(a) || b.length - a.length;
    });
    if (clusters.length > 1) {
      this.d.logger.warn(
        { clusters: clusters.map(([id, l]) => ({ clusterId: id, urls: l.map((x) => x.url) })) },
        'more than one etcd cluster answers',
      );
    }
    const listErrors: string[] = [];
    for (const [clusterId, answered] of clusters) {
      const voters = answered
        .filter((x) => !x.st.isLearner)
        .sort((a, b) => {
          const rank = (x: { st: MemberStatus }) =>
            x.st.leaderId === x.st.memberId ? 0 : x.st.leaderId !== undefined ? 1 : 2;
          return rank(a) - rank(b);
        });
      for (const v of voters) {
        if (signal.aborted) break;
        let members: Member[];
        try {
          members = await this.d.etcd.listMembers([v.url], withDeadline(callMs, signal));
        } catch (err) {
          listErrors.push(`${v.url}: ${describeError(err)}`);
          continue;
        }
        return this.buildClusterView(clusterId, v.url, v.st, members, answers, signal);
      }
      if (voters.length === 0)
        listErrors.push(
          `cluster ${clusterId}: only learners answered (${answered.map((x) => x.url).join(', ')})`,
        );
    }
    const errors = [...answers.entries()]
      .filter(([, a]) => !a.ok)
      .map(([u, a]) => `${u}: ${(a as { error: string }).error}`);
    const error =
      listErrors.length > 0
        ? `no voter could list the members: ${listErrors.join('; ')}`
        : `no etcd member answered at ${probed.length} client URL(s)${errors.length > 0 ? ` (first: ${errors[0]})` : ''}`;
    return { reachable: false, error, probed };
  }

  private async buildClusterView(
    clusterId: string,
    via: string,
    viaStatus: MemberStatus,
    members: Member[],
    answers: Map<string, StatusResult>,
    signal: AbortSignal,
  ): Promise<ClusterView> {
    const now = this.d.clock.now();
    // Members whose client URLs were not probed yet (e.g. not in the group list) are asked now.
    const extra = members.flatMap((m) =>
      m.clientUrls.length > 0 && !m.clientUrls.some((u) => answers.has(trimSlash(u)))
        ? [trimSlash(m.clientUrls[0] as string)]
        : [],
    );
    await Promise.all(
      extra.map(async (url) => {
        answers.set(url, await this.status(url, signal));
      }),
    );

    const views: MemberView[] = members.map((m) => {
      const view: MemberView = {
        id: m.id,
        name: m.name,
        peerUrls: [...m.peerUrls],
        clientUrls: [...m.clientUrls],
        isLearner: m.isLearner,
        reachable: false,
      };
      const errors: string[] = [];
      for (const u of m.clientUrls) {
        const a = answers.get(trimSlash(u));
        if (!a) continue;
        if (!a.ok) {
          errors.push(`${u}: ${a.error}`);
          continue;
        }
        if (a.status.memberId !== m.id || a.status.clusterId !== clusterId) {
          errors.push(`${u} answers as member ${a.status.memberId} of cluster ${a.status.clusterId}`);
          continue;
        }
        view.reachable = true;
        view.raftIndex = a.status.raftIndex;
        view.raftAppliedIndex = a.status.raftAppliedIndex;
        view.raftTerm = a.status.raftTerm;
        if (a.status.version !== '') view.version = a.status.version;
        if (a.status.revision !== undefined) view.revision = a.status.revision;
        if (a.status.leaderId !== undefined) view.leaderId = a.status.leaderId;
        errors.push(...a.status.errors);
        break;
      }
      if (m.clientUrls.length === 0) errors.push('never started (no client URL)');
      if (errors.length > 0) view.errors = errors;

      if (view.reachable) this.unreachableSince.delete(m.id);
      else {
        if (!this.unreachableSince.has(m.id)) this.unreachableSince.set(m.id, now);
        view.unreachableSince = this.unreachableSince.get(m.id) as number;
      }
      if (m.name === '') {
        if (!this.unstartedSince.has(m.id)) this.unstartedSince.set(m.id, now);
        view.unstartedSince = this.unstartedSince.get(m.id) as number;
      } else this.unstartedSince.delete(m.id);
      return view;
    });

    const ids = new Set(members.map((m) => m.id));
    for (const id of [...this.unreachableSince.keys()]) if (!ids.has(id)) this.unreachableSince.delete(id);
    for (const id of [...this.unstartedSince.keys()]) if (!ids.has(id)) this.unstartedSince.delete(id);
    this.lastGoodClientUrls = [...new Set(members.flatMap((m) => m.clientUrls.map(trimSlash)))];

    return { reachable: true, clusterId, members: views, leaderId: viaStatus.leaderId, via };
  }

  /**
   * The leader's agent asks the cloud about the instance of each member that is unreachable and missing
   * from the (ok) group list: a positive "terminated" (`InstanceGroup.confirmTerminated`) is remembered
   * (a terminated instance never comes back) and marks the member `instanceTerminated`, the proof that
   * shortens its reap wait. An error or "not terminated" is no proof. At most 3 members per cycle, each
   * asked again no sooner than `groupPollIntervalMs`.
   */
  private async confirmTerminations(
    self: SelfView,
    group: Extract<GroupView, { ok: true }>,
    cluster: Extract<ClusterView, { reachable: true }>,
    signal?: AbortSignal,
  ): Promise<void> {
    const ids = new Set(cluster.members.map((m) => m.id));
    for (const id of [...this.terminatedConfirmed]) if (!ids.has(id)) this.terminatedConfirmed.delete(id);
    for (const id of [...this.terminationAskedAt.keys()])
      if (!ids.has(id)) this.terminationAskedAt.delete(id);
    const g = this.d.group;
    if (g.confirmTerminated === undefined) return;
    const selfUrl = trimSlash(self.peerUrl);
    const selfMember = cluster.members.find((m) => m.peerUrls.some((u) => trimSlash(u) === selfUrl));
    if (selfMember === undefined || selfMember.id !== cluster.leaderId) return;
    const now = this.d.clock.now();
    const listed = new Set(group.instances.map((i) => i.id));
    const ask = cluster.members
      .filter(
        (m) =>
          !m.reachable &&
          m.name !== '' &&
          !listed.has(m.name) &&
          !this.terminatedConfirmed.has(m.id) &&
          !within(now, this.terminationAskedAt.get(m.id) ?? -Infinity, this.d.settings.groupPollIntervalMs),
      )
      .slice(0, 3);
    await Promise.all(
      ask.map(async (m) => {
        this.terminationAskedAt.set(m.id, now);
        try {
          const sig = withDeadline(this.d.settings.cloudTimeoutMs, signal);
          if (await g.confirmTerminated!(m.name, sig)) this.terminatedConfirmed.add(m.id);
        } catch (err) {
          this.d.logger.debug(
            { member: m.id, instance: m.name, err: describeError(err) },
            'could not ask the cloud whether the instance is terminated; no proof, so the full memberDeadAfter applies',
          );
        }
      }),
    );
    for (const m of cluster.members) {
      if (!this.terminatedConfirmed.has(m.id)) continue;
      // A member that answers again was never gone: the cloud's word is dropped.
      if (m.reachable) this.terminatedConfirmed.delete(m.id);
      else m.instanceTerminated = true;
    }
  }

  private async observePeers(
    self: SelfView,
    instances: GroupInstanceView[],
    signal?: AbortSignal,
  ): Promise<PeerBootstrapView[]> {
    const others = instances.filter((i) => i.id !== self.instanceId && i.privateIp !== self.privateIp);
    return Promise.all(others.map((i) => this.d.peers.bootstrapView(i, signal)));
  }
}

/** The group list's refresh mode that an observation shows (see {@link PollMode}). */
export function pollModeOf(
  self: SelfView,
  cluster: ClusterView,
  local: LocalView,
  termination: TerminationView,
): PollMode {
  if (isSteadyLeader(self, cluster, local, termination)) return 'steady-leader';
  if (isCalmFollower(self, cluster, local, termination)) return 'calm-follower';
  return 'active';
}

/**
 * The leader's agent with nothing to do that needs a fresh list: self's etcd runs as the leader's member,
 * no termination notice is present, and every member is a started, reachable voter (no learner to
 * promote, no unstarted member, nobody unreachable whose instance may be gone). The moment any of this
 * changes the next observation polls at `groupPollIntervalMs` again, and a list older than that is
 * replaced before the planner sees it, so reaping waits no longer than before.
 */
export function isSteadyLeader(
  self: SelfView,
  cluster: ClusterView,
  local: LocalView,
  termination: TerminationView,
): boolean {
  const me = calmSelfMember(self, cluster, local, termination);
  if (me === undefined || !cluster.reachable || me.id !== cluster.leaderId) return false;
  return cluster.members.every((m) => m.name !== '' && m.reachable && !m.isLearner);
}

/**
 * The instance of the leader's member as the cluster shows it: its name (an instance id, once started)
 * and its peer IP. Undefined without a leader, when the leader is self, unstarted or unreachable.
 */
export function leaderPeerOf(cluster: ClusterView, self: SelfView): GroupInstanceView | undefined {
  if (!cluster.reachable || cluster.leaderId === undefined) return undefined;
  const leader = cluster.members.find((m) => m.id === cluster.leaderId);
  if (leader === undefined || leader.name === '' || !leader.reachable) return undefined;
  if (leader.name === self.instanceId) return undefined;
  const ip = peerHostOf(leader);
  return ip === undefined ? undefined : { id: leader.name, privateIp: ip };
}

/**
 * Why a shared list may not stand in for the cloud's, or undefined when it may: older than twice the
 * interval its agent says it polls at (that interval taken within this agent's own bounds, so a peer
 * cannot make a day-old list fresh), or not listing self (a partial answer: ask the cloud instead).
 */
export function sharedListProblem(
  list: SharedGroupList,
  self: SelfView,
  s: Pick<AgentSettings, 'groupPollIntervalMs' | 'steadyGroupPollIntervalMs' | 'followerGroupPollIntervalMs'>,
): string | undefined {
  const longest = Math.max(
    s.groupPollIntervalMs,
    s.steadyGroupPollIntervalMs ?? 0,
    s.followerGroupPollIntervalMs ?? 0,
  );
  const interval = Math.min(Math.max(list.pollIntervalMs, s.groupPollIntervalMs), longest);
  if (list.ageMs > 2 * interval)
    return `${list.instanceId}'s list is ${Math.round(list.ageMs / 1000)}s old, more than twice its ${Math.round(interval / 1000)}s poll`;
  if (!list.instances.some((i) => i.id === self.instanceId))
    return `${list.instanceId}'s list (${list.instances.length} instances) does not hold self ${self.instanceId}`;
  return undefined;
}

/**
 * A calm follower: a leader answers, self's etcd runs as a started member that is not the leader, and
 * no termination notice is present. Anything else (no cluster, no leader, joining, leaving, leading)
 * polls the group at the full rate.
 */
export function isCalmFollower(
  self: SelfView,
  cluster: ClusterView,
  local: LocalView,
  termination: TerminationView,
): boolean {
  const me = calmSelfMember(self, cluster, local, termination);
  return me !== undefined && cluster.reachable && me.reachable && me.id !== cluster.leaderId;
}

/**
 * Self's member when the cluster has a leader, self's etcd runs as a started member under its own name
 * and no termination notice is present (what a calm follower and a steady leader have in common).
 */
function calmSelfMember(
  self: SelfView,
  cluster: ClusterView,
  local: LocalView,
  termination: TerminationView,
): Extract<ClusterView, { reachable: true }>['members'][number] | undefined {
  if (!cluster.reachable || cluster.leaderId === undefined || !local.etcdRunning) return undefined;
  if (termination.notices.length > 0) return undefined;
  const selfUrl = trimSlash(self.peerUrl);
  const me = cluster.members.find((m) => m.peerUrls.some((u) => trimSlash(u) === selfUrl));
  return me !== undefined && me.name === self.instanceId ? me : undefined;
}

export { within } from '../core/within.ts';

/**
 * Builds the {@link Observation} the planner reads, from the ports. Nothing unknown is turned into a
 * default that looks like an answer: a failed group list is `{ ok: false }`, an unreachable cluster is
 * `{ reachable: false }`. Every external call has a deadline; the cluster part as a whole is bounded by
 * about 2.5 × the etcd call timeout, however many endpoints are slow.
 *
 * Remembered across cycles (in memory only): self's identity (after the first success), the group list
 * (for groupPollIntervalMs), the client URLs of the last good member list, and per member id since
 * when it has been unreachable / unstarted.
 */
import { describeError, errorCode, networkReason } from '../core/errors.ts';
import { clientUrlFor, peerUrlFor } from '../core/ids.ts';
import type { MemberId } from '../core/ids.ts';
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
import type { AgentMemory, AgentSettings, PeerAgents } from './types.ts';
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
}

type StatusResult = { ok: true; status: MemberStatus } | { ok: false; error: string };

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export class Observer {
  private readonly d: ObserverDeps;
  private selfCache: SelfView | undefined;
  private groupCache: { view: Extract<GroupView, { ok: true }>; at: number } | undefined;
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
  /** Whether the last observation was a calm follower's (the slower group poll applies). */
  private calmFollower = false;

  async observe(signal?: AbortSignal): Promise<Observation> {
    const self = await this.observeSelf(signal);
    const termination = this.d.termination.view();
    // A notice ends calm at once: the leave needs a fresh list (its replacement, dead members).
    if (termination.notices.length > 0) this.calmFollower = false;
    const [group, local] = await Promise.all([this.observeGroup(signal), this.observeLocal(signal)]);
    this.latestGroup = group;
    const cluster = await this.observeCluster(self, group, signal);
    if (cluster.reachable && group.ok) await this.confirmTerminations(self, group, cluster, signal);
    this.clusterSeen = cluster.reachable;
    this.calmFollower = isCalmFollower(self, cluster, local, termination);
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
    else if (this.groupFetches.at(-1)?.fetchedAt !== group.fetchedAt)
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

  /**
   * The group list's refresh interval: `groupPollIntervalMs`, or the slower
   * `followerGroupPollIntervalMs` while the last observation was calm (see {@link isCalmFollower}):
   * only the leader's agent reaps and promotes, so only it needs a fresh list when nothing happens.
   */
  private groupPollIntervalMs(): number {
    const s = this.d.settings;
    return this.calmFollower
      ? Math.max(s.groupPollIntervalMs, s.followerGroupPollIntervalMs ?? 0)
      : s.groupPollIntervalMs;
  }

  private async observeGroup(signal?: AbortSignal): Promise<GroupView> {
    const now = this.d.clock.now();
    if (this.groupCache && within(now, this.groupCache.at, this.groupPollIntervalMs()))
      return this.groupCache.view;
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
      this.groupCache = { view, at: fetchedAt };
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
  if (!cluster.reachable || cluster.leaderId === undefined || !local.etcdRunning) return false;
  if (termination.notices.length > 0) return false;
  const selfUrl = trimSlash(self.peerUrl);
  const me = cluster.members.find((m) => m.peerUrls.some((u) => trimSlash(u) === selfUrl));
  return me !== undefined && me.name === self.instanceId && me.reachable && me.id !== cluster.leaderId;
}

/**
 * Whether `now` is less than `windowMs` after `since`. A wall clock stepped back (now before since) is
 * outside: a cache or a back-off measured on the wall clock must not last as long as the step.
 */
export function within(now: number, since: number, windowMs: number): boolean {
  const age = now - since;
  return age >= 0 && age < windowMs;
}

/**
 * A fluent builder for planner observations, so tests read as stories:
 *
 *   anObservation()
 *     .withSelf('i-1')
 *     .withGroup(['i-1', 'i-2', 'i-3'])
 *     .withMembers([voter('i-1'), voter('i-2'), voter('i-3', { downFor: 74_000 })])
 *     .withLeader('i-1')
 *     .asRunningMember()
 *     .build();
 *
 * Conventions: instance `i-<n>` has IP `127.0.0.<10+n>` (other ids get a stable 127.0.1.x address);
 * its member id is {@link memberIdOf}; time is {@link NOW} unless `.at(t)` says otherwise. A cluster is
 * reachable once members are given; its leader defaults to the first reachable started voter.
 */
import type { InstanceId, MemberId } from '../../src/core/ids.ts';
import { clientUrlFor, peerUrlFor } from '../../src/core/ids.ts';
import type {
  BootstrapPlan,
  GroupInstanceView,
  LocalRecord,
  LocalView,
  MemberView,
  NoticeView,
  Observation,
  PeerBootstrapView,
  VoteTally,
} from '../../src/core/observation.ts';

export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
export const CLUSTER_ID = 'cdf818194e3a8c32';

/** `i-3` → `127.0.0.13`; anything else → a stable 127.0.1.x address. */
export function ipOf(instanceId: InstanceId): string {
  const m = /^i-(\d+)$/.exec(instanceId);
  if (m !== null && Number(m[1]) < 240) return `127.0.0.${10 + Number(m[1])}`;
  return `127.0.1.${(fnv64(instanceId) % 250n) + 1n}`;
}

/** A stable 16-hex member id per instance id (and generation, for re-added members). */
export function memberIdOf(instanceId: InstanceId, generation = 0): MemberId {
  return fnv64(`${instanceId}#${generation}`).toString(16).padStart(16, '0');
}

function fnv64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

export interface MemberSpec {
  /** The instance whose IP the member's peer URL points at (and its name once started). */
  instance: InstanceId;
  /** Override the peer IP (IP reuse: a member named after one instance at another's IP). */
  ip?: string;
  /** Override the member id (default memberIdOf(instance, generation)). */
  id?: MemberId;
  generation?: number;
  learner?: boolean;
  /** Unreachable, first seen so this long ago. */
  downFor?: number;
  /** Unreachable, with no recorded start of the streak (a fresh agent). */
  reachable?: boolean;
  /** The cloud said the member's instance is terminated (MemberView.instanceTerminated). */
  terminated?: boolean;
  /** Added but never started, first seen so this long ago (implies unreachable). */
  unstartedFor?: number;
  raftIndex?: number;
  /** Follows no leader (e.g. it lost quorum) although reachable. */
  noLeader?: boolean;
}

export function voter(instance: InstanceId, opts: Omit<MemberSpec, 'instance' | 'learner'> = {}): MemberSpec {
  return { ...opts, instance, learner: false };
}

export function learner(
  instance: InstanceId,
  opts: Omit<MemberSpec, 'instance' | 'learner'> = {},
): MemberSpec {
  return { ...opts, instance, learner: true };
}

/** A learner added for `instance` but never started, seen so for `forMs`. */
export function unstartedLearner(
  instance: InstanceId,
  forMs: number,
  opts: Omit<MemberSpec, 'instance' | 'learner' | 'unstartedFor'> = {},
): MemberSpec {
  return { ...opts, instance, learner: true, unstartedFor: forMs };
}

export const LEADER_RAFT_INDEX = 10_000;

export class ObservationBuilder {
  private now = NOW;
  private selfId: InstanceId = 'i-1';
  private selfIp: string | undefined;
  private group:
    | {
        kind: 'ok';
        instances: GroupInstanceView[];
        desiredCapacity?: number;
        desiredCapacityError?: string;
        groupId?: string;
      }
    | { kind: 'error'; error: string } = {
    kind: 'ok',
    instances: [],
  };
  private groupGiven = false;
  private members: MemberSpec[] | undefined;
  private leader: InstanceId | null | undefined;
  private clusterId = CLUSTER_ID;
  private clusterError: string | undefined;
  private notices: NoticeView[] = [];
  private local: LocalView = {
    etcdRunning: false,
    hasData: false,
    record: {},
    startFailures: 0,
    signalledReady: false,
  };
  private peers: PeerBootstrapView[] | undefined;
  private votes: VoteTally | undefined;

  at(now: number): this {
    this.now = now;
    return this;
  }

  withSelf(instanceId: InstanceId, privateIp?: string): this {
    this.selfId = instanceId;
    this.selfIp = privateIp;
    return this;
  }

  /** The group's running instances, as ids (IP from {@link ipOf}) or `{ id, ip }`. */
  withGroup(
    instances: (InstanceId | { id: InstanceId; ip: string; launchedAt?: number })[],
    opts: { desiredCapacity?: number; groupId?: string } = {},
  ): this {
    this.group = {
      kind: 'ok',
      instances: instances.map((i) =>
        typeof i === 'string'
          ? { id: i, privateIp: ipOf(i) }
          : {
              id: i.id,
              privateIp: i.ip,
              ...(i.launchedAt === undefined ? {} : { launchedAt: i.launchedAt }),
            },
      ),
      ...opts,
    };
    this.groupGiven = true;
    return this;
  }

  withDesiredCapacity(n: number): this {
    if (this.group.kind === 'ok') this.group.desiredCapacity = n;
    return this;
  }

  /** The list was read but the desired capacity could not be. */
  withDesiredCapacityError(error: string): this {
    if (this.group.kind === 'ok') {
      delete this.group.desiredCapacity;
      this.group.desiredCapacityError = error;
    }
    return this;
  }

  withGroupError(error = 'spot api: timeout after 5000ms'): this {
    this.group = { kind: 'error', error };
    this.groupGiven = true;
    return this;
  }

  withMembers(members: MemberSpec[]): this {
    this.members = members;
    return this;
  }

  /** The cluster's leader, by instance id; `null` for no leader. */
  withLeader(instance: InstanceId | null): this {
    this.leader = instance;
    return this;
  }

  withNoLeader(): this {
    return this.withLeader(null);
  }

  withClusterId(id: string): this {
    this.clusterId = id;
    return this;
  }

  clusterUnreachable(error = 'no member answered at any group instance'): this {
    this.clusterError = error;
    return this;
  }

  /**
   * A spot notice seen 30 s ago with 90 s left: past the wait for a replacement to appear (row B4a), so
   * with no replacement in sight the leave goes ahead at once.
   */
  withNotice(n: Partial<NoticeView> = {}): this {
    this.notices.push({
      source: 'imds-spot',
      seenAt: this.now - 30_000,
      detail: 'spot interruption: terminate',
      deadline: this.now + 90_000,
      ...n,
    });
    return this;
  }

  withAdvisoryNotice(n: Partial<NoticeView> = {}): this {
    return this.withNotice({
      source: 'imds-rebalance',
      detail: 'rebalance recommendation',
      advisory: true,
      deadline: undefined,
      ...n,
    });
  }

  withLocal(local: Partial<LocalView>): this {
    this.local = { ...this.local, ...local };
    return this;
  }

  withRecord(record: LocalRecord): this {
    this.local = { ...this.local, record: { ...this.local.record, ...record } };
    return this;
  }

  withEtcdRunning(running = true): this {
    this.local = { ...this.local, etcdRunning: running };
    return this;
  }

  /** A data dir, recorded as `record` (default: self's member of the current cluster). */
  withData(record: LocalRecord = { memberId: memberIdOf(this.selfId), clusterId: this.clusterId }): this {
    this.local = { ...this.local, hasData: true, record: { ...this.local.record, ...record } };
    return this;
  }

  /** Self runs etcd as its member (memberIdOf(self)) on its own data. */
  asRunningMember(): this {
    return this.withData().withEtcdRunning();
  }

  left(ago = 30_000, reason = 'termination notice from imds-spot'): this {
    return this.withRecord({ left: { at: this.now - ago, reason } });
  }

  signalledReady(): this {
    this.local = { ...this.local, signalledReady: true };
    return this;
  }

  withPeers(peers: PeerBootstrapView[]): this {
    this.peers = peers;
    return this;
  }

  withVotes(v: {
    granted: InstanceId[];
    refused?: { instanceId: InstanceId; reason: string }[];
    ago?: number;
    /** The plan the round carried, and who recorded it (the whole group at once). */
    plan?: BootstrapPlan;
    planAccepted?: InstanceId[];
    noAnswer?: InstanceId[];
    /** The first round of the series, this long ago (default: this round). */
    sinceAgo?: number;
  }): this {
    this.votes = { requestedAt: this.now - (v.ago ?? 1000), granted: v.granted, refused: v.refused ?? [] };
    if (v.plan !== undefined) this.votes.plan = v.plan;
    if (v.planAccepted !== undefined) this.votes.planAccepted = v.planAccepted;
    if (v.noAnswer !== undefined) this.votes.noAnswer = v.noAnswer;
    if (v.sinceAgo !== undefined) this.votes.since = this.now - v.sinceAgo;
    return this;
  }

  build(): Observation {
    const selfIp = this.selfIp ?? ipOf(this.selfId);
    const group = this.groupGiven
      ? this.group
      : { kind: 'ok' as const, instances: [{ id: this.selfId, privateIp: selfIp }] };
    const obs: Observation = {
      self: {
        instanceId: this.selfId,
        privateIp: selfIp,
        peerUrl: peerUrlFor(selfIp),
        clientUrl: clientUrlFor(selfIp),
      },
      group:
        group.kind === 'ok'
          ? {
              ok: true,
              instances: group.instances,
              fetchedAt: this.now,
              ...(group.desiredCapacity === undefined ? {} : { desiredCapacity: group.desiredCapacity }),
              ...(group.desiredCapacityError === undefined
                ? {}
                : { desiredCapacityError: group.desiredCapacityError }),
              ...(group.groupId === undefined ? {} : { groupId: group.groupId }),
            }
          : { ok: false, error: group.error },
      termination: { notices: this.notices, errors: [] },
      local: this.local,
      cluster: { reachable: false, error: this.clusterError ?? 'no member answered', probed: [] },
    };
    if (this.members !== undefined && this.clusterError === undefined) {
      const ipFor = (s: MemberSpec): string =>
        s.ip ?? (s.instance === this.selfId ? selfIp : ipOf(s.instance));
      const idFor = (s: MemberSpec): MemberId => s.id ?? memberIdOf(s.instance, s.generation ?? 0);
      const isReachable = (s: MemberSpec): boolean =>
        s.downFor === undefined && s.unstartedFor === undefined && s.reachable !== false;
      let leaderSpec: MemberSpec | undefined;
      if (this.leader === undefined)
        leaderSpec = this.members.find((s) => !s.learner && isReachable(s) && s.noLeader !== true);
      else if (this.leader !== null)
        leaderSpec = this.members.find((s) => s.instance === this.leader && s.unstartedFor === undefined);
      const leaderId = leaderSpec === undefined ? undefined : idFor(leaderSpec);
      const members: MemberView[] = this.members.map((s) => {
        const ip = ipFor(s);
        const reachable = isReachable(s);
        const unstarted = s.unstartedFor !== undefined;
        const m: MemberView = {
          id: idFor(s),
          name: unstarted ? '' : s.instance,
          peerUrls: [peerUrlFor(ip)],
          clientUrls: unstarted ? [] : [clientUrlFor(ip)],
          isLearner: s.learner === true,
          reachable,
        };
        const downFor = s.downFor ?? s.unstartedFor;
        if (!reachable && downFor !== undefined) m.unreachableSince = this.now - downFor;
        if (unstarted) m.unstartedSince = this.now - (s.unstartedFor ?? 0);
        if (s.terminated === true) m.instanceTerminated = true;
        if (reachable) {
          m.raftIndex = s.raftIndex ?? LEADER_RAFT_INDEX;
          m.raftAppliedIndex = m.raftIndex;
          if (leaderId !== undefined && s.noLeader !== true) m.leaderId = leaderId;
        }
        return m;
      });
      obs.cluster = {
        reachable: true,
        clusterId: this.clusterId,
        members,
        leaderId,
        via: obs.self.clientUrl,
      };
    }
    if (this.peers !== undefined) obs.peers = this.peers;
    if (this.votes !== undefined) obs.votes = this.votes;
    return obs;
  }
}

export function anObservation(): ObservationBuilder {
  return new ObservationBuilder();
}

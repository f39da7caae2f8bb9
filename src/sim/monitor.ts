/**
 * Turns a stream of fleet snapshots into history: when each member first appeared, became a voter and
 * disappeared; every leader change; how long the cluster had fewer healthy voters than it aims for.
 * Pure (fed snapshots), so the per-event timings are computed from data a test can build by hand.
 */
import type { FleetSnapshot } from './snapshot.ts';
import { targetVoters } from './snapshot.ts';

export interface MemberHistory {
  id: string;
  /** The instance whose IP is in the peer URL (set at first sight, kept). */
  instanceId: string | undefined;
  peerUrl: string;
  firstSeenAt: number;
  /** First time it was seen as a learner (undefined: it was never a learner while observed). */
  learnerAt?: number;
  /** First time it was seen as a voter. */
  voterAt?: number;
  /** First time it was seen started (non-empty name). */
  startedAt?: number;
  lastSeenAt: number;
  /** First snapshot (with a readable member list) in which it was missing after having been seen. */
  removedAt?: number;
}

export interface LeaderChange {
  at: number;
  from: string | undefined;
  to: string | undefined;
}

export interface BelowTarget {
  from: number;
  to: number | undefined;
  voters: number;
  target: number;
}

export class Monitor {
  readonly members = new Map<string, MemberHistory>();
  readonly leaderChanges: LeaderChange[] = [];
  readonly belowTarget: BelowTarget[] = [];
  /** Healthy voters per snapshot with a readable member list (an unreadable one proves nothing). */
  readonly healthySamples: { at: number; healthy: number }[] = [];
  readonly maxVoters: number;
  private leader: string | undefined;
  private seenLeader = false;
  lastSnapshot: FleetSnapshot | undefined;

  constructor(maxVoters: number) {
    this.maxVoters = maxVoters;
  }

  observe(s: FleetSnapshot): void {
    this.lastSnapshot = s;
    if (s.memberListError === undefined) {
      const present = new Set(s.members.map((m) => m.id));
      for (const m of s.members) {
        let h = this.members.get(m.id);
        if (!h) {
          h = { id: m.id, instanceId: m.instanceId, peerUrl: m.peerUrl, firstSeenAt: s.at, lastSeenAt: s.at };
          this.members.set(m.id, h);
        }
        h.lastSeenAt = s.at;
        h.instanceId ??= m.instanceId;
        if (m.isLearner) h.learnerAt ??= s.at;
        else h.voterAt ??= s.at;
        if (m.name !== '') h.startedAt ??= s.at;
        if (h.removedAt !== undefined) delete h.removedAt;
      }
      for (const h of this.members.values()) {
        if (!present.has(h.id) && h.removedAt === undefined) h.removedAt = s.at;
      }
    }

    // The leader as the running members see it: only a value all of them agree on counts.
    const running = s.instances.filter((i) => i.state === 'running' || i.state === 'terminating');
    const views = new Set(running.flatMap((i) => (i.etcd ? [i.etcd.leaderId ?? 'none'] : [])));
    const agreed = views.size === 1 ? [...views][0] : undefined;
    const leader = agreed === 'none' ? undefined : agreed;
    if (views.size > 0 && (leader !== this.leader || !this.seenLeader)) {
      if (this.seenLeader || leader !== undefined)
        this.leaderChanges.push({ at: s.at, from: this.leader, to: leader });
      this.leader = leader;
      this.seenLeader = true;
    }

    // Healthy voters: voters that answer and follow a leader.
    const target = targetVoters(s.instances.filter((i) => i.state === 'running').length, this.maxVoters);
    const healthy = s.members.filter(
      (m) => !m.isLearner && (m.role === 'leader' || m.role === 'follower') && m.leaderId !== undefined,
    ).length;
    if (s.memberListError === undefined) this.healthySamples.push({ at: s.at, healthy });
    const open = this.belowTarget[this.belowTarget.length - 1];
    const below = s.memberListError !== undefined || healthy < target;
    if (below && (open === undefined || open.to !== undefined))
      this.belowTarget.push({ from: s.at, to: undefined, voters: healthy, target });
    else if (!below && open !== undefined && open.to === undefined) open.to = s.at;
  }

  /** The leader all running members agreed on at the last snapshot. */
  currentLeader(): string | undefined {
    return this.leader;
  }

  /** The member that belongs to an instance (latest first seen), if any was observed. */
  memberOfInstance(instanceId: string): MemberHistory | undefined {
    let best: MemberHistory | undefined;
    for (const h of this.members.values()) {
      if (h.instanceId === instanceId && (!best || h.firstSeenAt > best.firstSeenAt)) best = h;
    }
    return best;
  }

  /** Every member observed for an instance, oldest first. */
  membersOfInstance(instanceId: string): MemberHistory[] {
    return [...this.members.values()]
      .filter((h) => h.instanceId === instanceId)
      .sort((a, b) => a.firstSeenAt - b.firstSeenAt);
  }

  /** Leader changes within [from, to]. */
  leaderChangesBetween(from: number, to: number): LeaderChange[] {
    return this.leaderChanges.filter((c) => c.at >= from && c.at <= to);
  }

  /**
   * The fewest healthy voters of any snapshot within [from, to] whose member list could be read
   * (undefined: none could). Sampled every 250 ms, so a dip shorter than that can be missed.
   */
  minHealthyVotersBetween(from: number, to: number): number | undefined {
    let min: number | undefined;
    for (const x of this.healthySamples) {
      if (x.at < from || x.at > to) continue;
      if (min === undefined || x.healthy < min) min = x.healthy;
    }
    return min;
  }

  /** Milliseconds within [from, to] with fewer healthy voters than the target. */
  belowTargetMsBetween(from: number, to: number): number {
    let total = 0;
    for (const b of this.belowTarget) {
      const start = Math.max(from, b.from);
      const end = Math.min(to, b.to ?? to);
      if (end > start) total += end - start;
    }
    return total;
  }
}

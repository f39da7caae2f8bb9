/**
 * `etcd-spot status`: instances of the group side by side with the members of the etcd cluster, and
 * what does not match. Pure: the CLI gathers the inputs, this decides what they mean.
 */
import { learnerLimit } from './etcd-version.ts';
import type { InstanceId, MemberId } from './ids.ts';
import type { MemberView } from './observation.ts';
import { coldStandbyReason } from './quorum.ts';

export interface StatusInput {
  instances: { id: InstanceId; privateIp: string }[];
  members: { id: MemberId; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean }[];
  /** Per member id: its own status, or the error text when it did not answer. */
  statuses: Record<
    MemberId,
    | {
        leaderId?: MemberId;
        raftIndex: number;
        raftTerm?: number;
        dbSize: number;
        errors: string[];
        version?: string;
      }
    | { error: string }
  >;
  /**
   * agent.maxVoters and agent.maxLearners. With them, an instance without a member while every voter
   * and learner slot is taken is a cold standby (a documented state, not a problem).
   */
  slots?: { maxVoters: number; maxLearners: number };
}

export type Role = 'leader' | 'follower' | 'learner' | 'unknown';

export interface StatusRow {
  instanceId?: InstanceId;
  privateIp?: string;
  memberId?: MemberId;
  name?: string;
  role?: Role;
  healthy?: boolean;
  raftIndex?: number;
  dbSize?: number;
  /** What is wrong with this row, if anything. */
  problem?:
    | 'member-without-instance'
    | 'instance-without-member'
    | 'never-started-member'
    | 'unreachable'
    | 'no-leader';
  /**
   * A documented state that is not a problem: `cold-standby` = an instance without a member because
   * voters are at maxVoters and learners at the learner limit; it joins as soon as a slot frees.
   */
  state?: 'cold-standby';
  detail?: string;
}

export interface StatusReport {
  rows: StatusRow[];
  leaderId?: MemberId;
  voters: number;
  learners: number;
  problems: number;
  /** Instances waiting as cold standbys (not counted in `problems`). */
  coldStandbys: number;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

export function buildStatusReport(input: StatusInput): StatusReport {
  const byIp = new Map(input.instances.map((i) => [i.privateIp, i]));
  const matched = new Set<InstanceId>();
  const leaders = new Set<MemberId>();
  for (const s of Object.values(input.statuses)) if ('raftIndex' in s && s.leaderId) leaders.add(s.leaderId);
  const leaderId = leaders.size === 1 ? [...leaders][0] : undefined;

  const rows: StatusRow[] = [];
  for (const m of input.members) {
    const ip = m.peerUrls.map(hostOf).find((h) => h !== undefined);
    const inst = ip === undefined ? undefined : byIp.get(ip);
    if (inst) matched.add(inst.id);
    const st = input.statuses[m.id];
    const row: StatusRow = {
      memberId: m.id,
      name: m.name,
      instanceId: inst?.id,
      privateIp: inst?.privateIp ?? ip,
    };
    row.role = m.isLearner
      ? 'learner'
      : leaderId === undefined
        ? 'unknown'
        : m.id === leaderId
          ? 'leader'
          : 'follower';
    if (st && 'raftIndex' in st) {
      row.raftIndex = st.raftIndex;
      row.dbSize = st.dbSize;
      row.healthy = st.leaderId !== undefined && st.errors.length === 0;
      if (!row.healthy) {
        row.problem = 'no-leader';
        row.detail = st.errors.join('; ') || 'member follows no leader';
      }
    } else {
      row.healthy = false;
      row.problem = 'unreachable';
      row.detail = st && 'error' in st ? st.error : 'no status';
    }
    if (m.name === '' && m.clientUrls.length === 0) {
      row.problem = 'never-started-member';
      row.detail = 'added to the cluster but never started';
    } else if (!inst) {
      row.problem = 'member-without-instance';
      row.detail = `no running instance of the group has IP ${ip ?? '?'}`;
    }
    rows.push(row);
  }
  const standby = coldStandby(input);
  for (const i of input.instances) {
    if (!matched.has(i.id)) {
      rows.push(
        standby === undefined
          ? {
              instanceId: i.id,
              privateIp: i.privateIp,
              problem: 'instance-without-member',
              detail: 'running instance is not an etcd member',
            }
          : { instanceId: i.id, privateIp: i.privateIp, state: 'cold-standby', detail: standby },
      );
    }
  }
  // Instances in id order, then members without an instance.
  const key = (r: StatusRow) => (r.instanceId !== undefined ? `0${r.instanceId}` : `1${r.memberId ?? ''}`);
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return {
    rows,
    leaderId,
    voters: input.members.filter((m) => !m.isLearner).length,
    learners: input.members.filter((m) => m.isLearner).length,
    problems: rows.filter((r) => r.problem !== undefined).length,
    coldStandbys: rows.filter((r) => r.state === 'cold-standby').length,
  };
}

/**
 * The members as the planner sees them (reachable = answered its own status this time), for the
 * operator's member operations, which use the planner's predicates (./member-ops.ts).
 */
export function memberViewsOf(input: Pick<StatusInput, 'members' | 'statuses'>): MemberView[] {
  return input.members.map((m) => {
    const st = input.statuses[m.id];
    if (st === undefined || !('raftIndex' in st)) return { ...m, reachable: false };
    return {
      ...m,
      reachable: true,
      raftIndex: st.raftIndex,
      errors: st.errors,
      ...(st.leaderId !== undefined ? { leaderId: st.leaderId } : {}),
      ...(st.raftTerm !== undefined ? { raftTerm: st.raftTerm } : {}),
      ...(st.version !== undefined ? { version: st.version } : {}),
    };
  });
}

/** The cold-standby reason when every voter and learner slot is taken (see {@link coldStandbyReason}). */
function coldStandby(input: StatusInput): string | undefined {
  if (input.slots === undefined) return undefined;
  const views: MemberView[] = input.members.map((m) => {
    const st = input.statuses[m.id];
    const answered = st !== undefined && 'raftIndex' in st;
    return {
      ...m,
      reachable: answered,
      ...(answered && st.version !== undefined ? { version: st.version } : {}),
    };
  });
  const limit = learnerLimit(views, input.slots.maxLearners);
  return coldStandbyReason(views, input.slots.maxVoters, limit.limit);
}

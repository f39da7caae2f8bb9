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
        /** The cluster this member says it belongs to (hex). */
        clusterId?: string;
      }
    | { error: string }
  >;
  /** The group the instances came from, as the provider names it (e.g. "Elastigroup sig-1234"). */
  group?: string;
  /** When the inputs were gathered (ms since epoch). */
  at?: number;
  /**
   * agent.maxVoters and agent.maxLearners. With them, an instance without a member while every voter
   * and learner slot is taken is a cold standby (a documented state, not a problem).
   */
  slots?: { maxVoters: number; maxLearners: number };
  /**
   * Per instance id: what its agent's GET /v1/status said (parsed by {@link parseAgentStatus}), or why
   * it could not be read. Absent: not asked.
   */
  agents?: Record<InstanceId, AgentActivity | { error: string }>;
}

/** What an agent is doing now, from its status endpoint. */
export interface AgentActivity {
  /** Completed cycles. */
  cycle: number;
  /** When its last cycle ran (ms). */
  at?: number;
  /** The first action of its last plan (its decision) and the reason. */
  decision?: { action: string; reason: string };
  /** Termination notices it acts on, with their deadlines (ms) when known. */
  notices: { source: string; seenAt: number; deadline?: number }[];
  /** It recorded that it left the cluster. */
  left?: { at: number; reason: string };
  /** Its last cycle failed with this. */
  lastError?: string;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The activity in an agent's GET /v1/status body, or why it is not one (pure). `instanceId` is who we
 * asked: an answer from another instance (the IP was reused) is not about it.
 */
export function parseAgentStatus(body: unknown, instanceId: InstanceId): AgentActivity | { error: string } {
  if (!isObj(body)) return { error: 'the status endpoint did not answer with a JSON object' };
  const self = body.self;
  if (isObj(self) && typeof self.instanceId === 'string' && self.instanceId !== instanceId)
    return { error: `another agent (${self.instanceId.slice(0, 64)}) answers at this IP` };
  const out: AgentActivity = { cycle: typeof body.cycle === 'number' ? body.cycle : 0, notices: [] };
  const last = body.lastCycle;
  if (isObj(last)) {
    if (typeof last.at === 'number') out.at = last.at;
    const plan = Array.isArray(last.plan) ? last.plan : [];
    const first: unknown = plan.find((a) => isObj(a) && a.action !== 'wait') ?? plan[0];
    if (isObj(first) && typeof first.action === 'string')
      out.decision = { action: first.action, reason: typeof first.reason === 'string' ? first.reason : '' };
    const obs = last.observation;
    if (isObj(obs) && isObj(obs.local) && isObj(obs.local.left)) {
      const l = obs.local.left;
      if (typeof l.at === 'number' && typeof l.reason === 'string') out.left = { at: l.at, reason: l.reason };
    }
  }
  const term = body.termination;
  if (isObj(term) && Array.isArray(term.notices)) {
    for (const n of term.notices) {
      if (!isObj(n) || typeof n.source !== 'string' || typeof n.seenAt !== 'number') continue;
      if (n.advisory === true) continue;
      out.notices.push({
        source: n.source,
        seenAt: n.seenAt,
        ...(typeof n.deadline === 'number' ? { deadline: n.deadline } : {}),
      });
    }
  }
  if (isObj(body.lastError) && typeof body.lastError.error === 'string') out.lastError = body.lastError.error;
  return out;
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
  raftTerm?: number;
  /** The member's etcd version. */
  version?: string;
  dbSize?: number;
  /** What the instance's agent is doing (its status endpoint), or why that is unknown. */
  agent?: AgentActivity | { error: string };
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
  /** When the report's inputs were gathered (ISO 8601), when known. */
  generatedAt?: string;
  /** The group, as the provider names it. */
  group?: string;
  /** The cluster id every answering member reports; absent when none answered or they disagree. */
  clusterId?: string;
  /** Set only when answering members report different cluster ids (each id once, sorted). */
  clusterIds?: string[];
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
      if (st.raftTerm !== undefined) row.raftTerm = st.raftTerm;
      if (st.version !== undefined) row.version = st.version;
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
  if (input.agents !== undefined)
    for (const r of rows) {
      const a = r.instanceId === undefined ? undefined : input.agents[r.instanceId];
      if (a !== undefined) r.agent = a;
    }
  // Instances in id order, then members without an instance.
  const key = (r: StatusRow) => (r.instanceId !== undefined ? `0${r.instanceId}` : `1${r.memberId ?? ''}`);
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const clusterIds = [
    ...new Set(
      Object.values(input.statuses).flatMap((st) =>
        'raftIndex' in st && st.clusterId !== undefined ? [st.clusterId] : [],
      ),
    ),
  ].sort();
  return {
    ...(input.at !== undefined ? { generatedAt: new Date(input.at).toISOString() } : {}),
    ...(input.group !== undefined ? { group: input.group } : {}),
    ...(clusterIds.length === 1 ? { clusterId: clusterIds[0] } : {}),
    ...(clusterIds.length > 1 ? { clusterIds } : {}),
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

/**
 * What the fleet looks like at one moment (instances from the emulator, members from etcd), and the
 * pure convergence check over it. Kept free of I/O so the check is unit-tested on hand-built snapshots.
 */

export type MemberRole = 'leader' | 'follower' | 'learner' | 'unstarted' | 'unreachable';

export interface MemberRow {
  id: string;
  /** '' for a member that was added but never started. */
  name: string;
  peerUrl: string;
  isLearner: boolean;
  /** The live instance whose private IP is in the peer URL, if any. */
  instanceId: string | undefined;
  role: MemberRole;
  /** From the member's own status, when it answered. */
  raftIndex?: number;
  clusterId?: string;
  leaderId?: string;
  errors?: string[];
}

export type AgentState = 'running' | 'stopped' | 'exited' | 'none';

export interface InstanceRow {
  id: string;
  privateIp: string;
  /** Emulator state: pending | running | terminating | terminated. */
  state: string;
  /** A terminating instance: when the cloud will terminate it unless it signals first (ms since epoch). */
  terminateAt?: number;
  agent: AgentState;
  agentPid?: number;
  /** Exit code / signal when the agent exited on its own. */
  agentExit?: string;
  /** Status of the etcd on this instance's client URL, when it answered. */
  etcd?: {
    memberId: string;
    clusterId: string;
    leaderId: string | undefined;
    raftIndex: number;
    isLearner: boolean;
    errors: string[];
  };
}

export interface FleetSnapshot {
  at: number;
  instances: InstanceRow[];
  members: MemberRow[];
  /** Why the member list could not be read (no member answered), when it could not. */
  memberListError?: string;
}

/** The largest odd number ≤ min(maxVoters, instances): the voter count the agents aim for. */
export function targetVoters(instances: number, maxVoters: number): number {
  const n = Math.max(0, Math.min(maxVoters, instances));
  return n === 0 ? 0 : n % 2 === 1 ? n : n - 1;
}

export interface Convergence {
  converged: boolean;
  /** What is still missing, one line each (empty when converged). */
  problems: string[];
  clusterIds: string[];
  leaderId: string | undefined;
  voters: number;
  /** Running instances accepted as cold standbys (no member, no etcd: every slot is taken). */
  coldStandbys: string[];
}

/**
 * The fleet is converged when:
 * - every running instance (not terminating) answers etcd status, and they all report one cluster id;
 * - the member names are exactly the running instance ids (no unstarted, dead or foreign member);
 * - the voter count is `expectedVoters`;
 * - every running member follows the same leader, and that leader is one of the voters.
 *
 * A group larger than the voter cap plus the learner limit (`maxLearners`, 1 on etcd 3.4/3.5) cannot
 * hold every instance as a member: up to `running − expectedVoters − maxLearners` instances that run no
 * etcd and have no member are **cold standbys** (design.md row D3), accepted as converged as long as
 * the learner slots are all taken (otherwise one of them should have joined).
 */
export function checkConvergence(s: FleetSnapshot, expectedVoters: number, maxLearners = 1): Convergence {
  const problems: string[] = [];
  const running = s.instances.filter((i) => i.state === 'running');
  const names = s.members.map((m) => m.name).sort();
  const learners = s.members.filter((m) => m.isLearner).length;
  const room = Math.max(0, running.length - expectedVoters - maxLearners);
  const outside = running.filter((i) => !i.etcd && !names.includes(i.id)).map((i) => i.id);
  const coldStandbys = room > 0 && learners >= maxLearners && outside.length <= room ? outside : [];
  const members = running.filter((i) => !coldStandbys.includes(i.id));

  const clusterIds = [...new Set(members.flatMap((i) => (i.etcd ? [i.etcd.clusterId] : [])))].sort();
  const silent = members.filter((i) => !i.etcd).map((i) => i.id);
  if (silent.length > 0) problems.push(`no etcd answers on ${silent.join(', ')}`);
  if (clusterIds.length > 1) problems.push(`${clusterIds.length} cluster ids: ${clusterIds.join(', ')}`);
  if (s.memberListError !== undefined) problems.push(`member list: ${s.memberListError}`);

  const ids = running.map((i) => i.id).sort();
  const missing = members
    .map((i) => i.id)
    .filter((id) => !names.includes(id))
    .sort();
  const extra = s.members
    .filter((m) => !ids.includes(m.name))
    .map((m) => (m.name === '' ? `unstarted ${m.id}` : `${m.name} (${m.id})`));
  if (missing.length > 0) problems.push(`not members yet: ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`members without a running instance: ${extra.join(', ')}`);

  const voters = s.members.filter((m) => !m.isLearner).length;
  if (voters !== expectedVoters) problems.push(`${voters} voters, expected ${expectedVoters}`);

  const leaders = [...new Set(members.map((i) => i.etcd?.leaderId ?? 'none'))];
  const leaderId = leaders.length === 1 && leaders[0] !== 'none' ? leaders[0] : undefined;
  if (leaderId === undefined) problems.push(`no agreed leader (seen: ${leaders.join(', ') || 'nothing'})`);
  else if (!s.members.some((m) => m.id === leaderId && !m.isLearner))
    problems.push(`leader ${leaderId} is not a voter in the member list`);

  return { converged: problems.length === 0, problems, clusterIds, leaderId, voters, coldStandbys };
}

/** The instance whose member is the leader, when there is one. */
export function leaderInstance(s: FleetSnapshot): string | undefined {
  return s.members.find((m) => m.role === 'leader')?.instanceId;
}

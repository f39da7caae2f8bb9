/** Compact, JSON-friendly views of an observation and a plan, for /v1/status, `plan --json` and logs. */
import type { Action } from '../core/actions.ts';
import type { Observation } from '../core/observation.ts';

export interface ObservationSummary {
  self: { instanceId: string; privateIp: string };
  group:
    | {
        ok: true;
        instances: { id: string; privateIp: string }[];
        desiredCapacity?: number;
        groupId?: string;
        /** The list is the copy the leader's agent shared (its instance), not this agent's own read. */
        sharedBy?: string;
      }
    | { ok: false; error: string };
  termination: {
    notices: { source: string; seenAt: number; deadline?: number; advisory?: boolean }[];
    errors: string[];
  };
  local: {
    etcdRunning: boolean;
    hasData: boolean;
    memberId?: string;
    clusterId?: string;
    left?: { at: number; reason: string };
    vote?: { candidate: string; at: number };
    lastExit?: { at: number; code: number | null; removed: boolean };
    startFailures: number;
    nextStartAt?: number;
    signalledReady: boolean;
  };
  cluster:
    | { reachable: false; error: string; probed: number }
    | {
        reachable: true;
        clusterId: string;
        leaderId?: string;
        via: string;
        members: {
          id: string;
          name: string;
          learner: boolean;
          reachable: boolean;
          leaderId?: string;
          raftIndex?: number;
          unreachableSince?: number;
        }[];
      };
  peers?: { instanceId: string; reachable: boolean; hasData?: boolean; clusterId?: string; vote?: string }[];
  votes?: { requestedAt: number; granted: string[]; refused: { instanceId: string; reason: string }[] };
}

export function summarizeObservation(obs: Observation): ObservationSummary {
  const r = obs.local.record;
  const local: ObservationSummary['local'] = {
    etcdRunning: obs.local.etcdRunning,
    hasData: obs.local.hasData,
    startFailures: obs.local.startFailures,
    signalledReady: obs.local.signalledReady,
  };
  if (r.memberId !== undefined) local.memberId = r.memberId;
  if (r.clusterId !== undefined) local.clusterId = r.clusterId;
  if (r.left !== undefined) local.left = r.left;
  if (r.vote !== undefined) local.vote = r.vote;
  if (obs.local.lastExit !== undefined) local.lastExit = obs.local.lastExit;
  if (obs.local.nextStartAt !== undefined) local.nextStartAt = obs.local.nextStartAt;

  const out: ObservationSummary = {
    self: { instanceId: obs.self.instanceId, privateIp: obs.self.privateIp },
    group: obs.group.ok
      ? {
          ok: true,
          instances: obs.group.instances.map((i) => ({ id: i.id, privateIp: i.privateIp })),
          ...(obs.group.desiredCapacity !== undefined ? { desiredCapacity: obs.group.desiredCapacity } : {}),
          ...(obs.group.groupId !== undefined ? { groupId: obs.group.groupId } : {}),
          ...(obs.group.sharedBy !== undefined ? { sharedBy: obs.group.sharedBy } : {}),
        }
      : { ok: false, error: obs.group.error },
    termination: {
      notices: obs.termination.notices.map((n) => ({
        source: n.source,
        seenAt: n.seenAt,
        ...(n.deadline !== undefined ? { deadline: n.deadline } : {}),
        ...(n.advisory ? { advisory: true } : {}),
      })),
      errors: obs.termination.errors,
    },
    local,
    cluster: obs.cluster.reachable
      ? {
          reachable: true,
          clusterId: obs.cluster.clusterId,
          ...(obs.cluster.leaderId !== undefined ? { leaderId: obs.cluster.leaderId } : {}),
          via: obs.cluster.via,
          members: obs.cluster.members.map((m) => ({
            id: m.id,
            name: m.name,
            learner: m.isLearner,
            reachable: m.reachable,
            ...(m.leaderId !== undefined ? { leaderId: m.leaderId } : {}),
            ...(m.raftIndex !== undefined ? { raftIndex: m.raftIndex } : {}),
            ...(m.unreachableSince !== undefined ? { unreachableSince: m.unreachableSince } : {}),
          })),
        }
      : { reachable: false, error: obs.cluster.error, probed: obs.cluster.probed.length },
  };
  if (obs.peers) {
    out.peers = obs.peers.map((p) => ({
      instanceId: p.instanceId,
      reachable: p.reachable,
      ...(p.hasData !== undefined ? { hasData: p.hasData } : {}),
      ...(p.clusterId !== undefined ? { clusterId: p.clusterId } : {}),
      ...(p.vote !== undefined ? { vote: p.vote.candidate } : {}),
    }));
  }
  if (obs.votes) out.votes = obs.votes;
  return out;
}

/** The target an action names, for tables and logs. */
export function actionTarget(a: Action): string {
  switch (a.kind) {
    case 'promote-member':
      return a.memberId;
    case 'remove-member':
      return `${a.memberId} (${a.why})`;
    case 'move-leader':
      return `${a.from} -> ${a.to}`;
    case 'collect-votes':
      return a.from.join(',');
    case 'start-etcd':
      return a.state;
    case 'force-new-cluster':
      return `${a.memberId} (raft index ${a.raftIndex})`;
    case 'restore-snapshot':
      return `${a.snapshot} (revision ${a.revision})`;
    default:
      return '';
  }
}

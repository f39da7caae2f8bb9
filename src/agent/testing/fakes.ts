/** Test doubles for the agent's unit tests: a recording logger and recording fakes of the ports. */
import type { MemberId } from '../../core/ids.ts';
import type { EtcdCluster, Member, MemberStatus } from '../../ports/etcd-cluster.ts';
import type { EtcdExit, EtcdLaunch, EtcdRunner } from '../../ports/etcd-runner.ts';
import type { GroupInstance, InstanceGroup } from '../../ports/instance-group.ts';

export { recordingLogger } from '../../../test/support/recording-logger.ts';
export type { LogEntry } from '../../../test/support/recording-logger.ts';

export type Call = { method: string; args: unknown[] };

/** An EtcdCluster whose answers are set per test; every call is recorded. Unset methods throw. */
export class FakeEtcd implements EtcdCluster {
  calls: Call[] = [];
  statuses = new Map<string, MemberStatus | Error>();
  members: Member[] = [];
  /** Errors to throw from the next calls of a method, in order. */
  failNext = new Map<string, Error[]>();
  nextMemberId: MemberId = '00000000000000aa';

  private take(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
    const queue = this.failNext.get(method);
    const err = queue?.shift();
    if (err) throw err;
  }
  async listMembers(endpoints: string[]): Promise<Member[]> {
    this.take('listMembers', [endpoints]);
    return this.members.map((m) => ({ ...m }));
  }
  async addLearner(endpoints: string[], peerUrl: string): Promise<{ member: Member; members: Member[] }> {
    this.take('addLearner', [endpoints, peerUrl]);
    const member: Member = {
      id: this.nextMemberId,
      name: '',
      peerUrls: [peerUrl],
      clientUrls: [],
      isLearner: true,
    };
    this.members.push(member);
    return { member, members: this.members.map((m) => ({ ...m })) };
  }
  async promote(endpoints: string[], id: MemberId): Promise<void> {
    this.take('promote', [endpoints, id]);
  }
  async remove(endpoints: string[], id: MemberId): Promise<void> {
    this.take('remove', [endpoints, id]);
  }
  async status(clientUrl: string): Promise<MemberStatus> {
    this.take('status', [clientUrl]);
    const s = this.statuses.get(clientUrl);
    if (s === undefined)
      throw Object.assign(new Error(`connect ECONNREFUSED ${clientUrl}`), { code: 'ETCD_UNAVAILABLE' });
    if (s instanceof Error) throw s;
    return { ...s };
  }
  async moveLeader(leaderClientUrl: string, target: MemberId): Promise<void> {
    this.take('moveLeader', [leaderClientUrl, target]);
  }
  async isHealthy(): Promise<boolean> {
    return true;
  }
  async snapshot(): Promise<never> {
    throw new Error('not faked');
  }
  async close(): Promise<void> {}
}

export function memberStatus(
  memberId: MemberId,
  clusterId: string,
  leaderId: MemberId | undefined,
  extra: Partial<MemberStatus> = {},
): MemberStatus {
  return {
    memberId,
    clusterId,
    leaderId,
    raftIndex: 10,
    raftAppliedIndex: 10,
    raftTerm: 2,
    dbSize: 1,
    isLearner: false,
    version: '3.4.23',
    errors: [],
    ...extra,
  };
}

/** A runner that "runs" etcd instantly; `onStart` may set up the fake etcd's status for it. */
export class FakeRunner implements EtcdRunner {
  running = false;
  exit: EtcdExit | undefined;
  launches: EtcdLaunch[] = [];
  stops: string[] = [];
  startError: Error | undefined;
  onStart: ((l: EtcdLaunch) => void) | undefined;
  async start(launch: EtcdLaunch): Promise<void> {
    this.launches.push(launch);
    if (this.startError) throw this.startError;
    this.running = true;
    this.onStart?.(launch);
  }
  async stop(reason: string): Promise<void> {
    this.stops.push(reason);
    this.running = false;
  }
  isRunning(): boolean {
    return this.running;
  }
  lastExit(): EtcdExit | undefined {
    return this.exit;
  }
}

export class FakeGroup implements InstanceGroup {
  readonly description = 'fake group';
  instances: GroupInstance[] = [];
  signalled: string[] = [];
  listError: Error | undefined;
  listCalls = 0;
  desired = 3;
  desiredCalls = 0;
  async desiredCapacity(): Promise<number> {
    this.desiredCalls++;
    return this.desired;
  }
  async listInstances(): Promise<GroupInstance[]> {
    this.listCalls++;
    if (this.listError) throw this.listError;
    return this.instances.map((i) => ({ ...i }));
  }
  async lifecycleState(): Promise<'active'> {
    return 'active';
  }
  async signalReadyToShutdown(id: string): Promise<void> {
    this.signalled.push(id);
  }
  /** Instances the cloud says are terminated; `confirmError` makes the call fail. */
  terminated = new Set<string>();
  confirmError: Error | undefined;
  confirmCalls: string[] = [];
  async confirmTerminated(id: string): Promise<boolean> {
    this.confirmCalls.push(id);
    if (this.confirmError) throw this.confirmError;
    return this.terminated.has(id);
  }
}

/**
 * A local fleet: the cloud emulator in-process, one Elastigroup, and for every instance that becomes
 * running ONE agent process ("the VM booting") on the instance's loopback IP. When the emulator
 * terminates an instance, the agent's whole process group is SIGKILLed (the VM is gone; etcd dies with
 * it). Operations inject the failures a real fleet sees: spot interruptions with a notice, kill -9 with
 * or without the instance gone, a wiped disk, scaling, cloud API faults.
 *
 * Everything lives under one run directory (`.runs/<timestamp>-<seed>/<instanceId>/{agent.log,data,state}`)
 * that is kept after {@link Fleet.close} for inspection. All random choices come from `seed`.
 */
import { mkdirSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TimeoutError, describeError } from '../core/errors.ts';
import { clientUrlFor } from '../core/ids.ts';
import { createEtcdCluster } from '../adapters/etcd/etcd3-cluster.ts';
import { wipeDataDir } from '../adapters/etcd/etcd-process.ts';
import { envVarFor } from '../config/load.ts';
import { readTlsMaterial } from '../config/tls-files.ts';
import type { TlsMaterial } from '../config/tls-files.ts';
import { CA_CERT, NODE_CERT, NODE_KEY, createCa, issueCert } from '../adapters/local/openssl-certs.ts';
import type { ClientTls } from '../adapters/local/https-get.ts';
import type { EtcdCluster, Member, MemberStatus } from '../ports/etcd-cluster.ts';
import { Prng } from '../emulator/prng.ts';
import { startEmulator } from '../emulator/server.ts';
import type { RunningEmulator } from '../emulator/server.ts';
import type { CloudState } from '../emulator/state.ts';
import type { EmulatorEvent, FaultRoute, FaultSpec, InstanceView } from '../emulator/types.ts';
import { AgentLogTail } from './agent-log.ts';
import type { AgentDecision } from './agent-log.ts';
import {
  RunningProcess,
  StoppedProcess,
  killLeftoverGroup,
  pidsWithCommandLineContaining,
} from './processes.ts';
import { checkConvergence, targetVoters } from './snapshot.ts';
import { NetworkFaults, PeerProxy, writePeerShim } from './network.ts';
import type { PartitionDirection } from './network.ts';
import { readProcStats } from './resources.ts';
import { fillDisk, freeDisk, mountSmallDisk, unmountDisk } from './disk.ts';
import { CLOCK_OFFSET_FILE_ENV } from '../adapters/local/system-clock.ts';
import { decisionLine } from './view.ts';
import { decisionEntryLine, decisionLog } from './decision-log.ts';
import type { KeptFleet } from './keep-hints.ts';
import type { Convergence, FleetSnapshot, InstanceRow, MemberRow } from './snapshot.ts';

/** Blocks until every thread of `pid` is stopped (state T) or gone, for at most `timeoutMs`. */
function waitStopped(pid: number, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let running = false;
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        if (state !== 'T' && state !== 't' && state !== 'Z' && state !== 'X') running = true;
      }
    } catch {
      return; // gone
    }
    if (!running || Date.now() >= deadline) return;
    Atomics.wait(sleeper, 0, 0, 5);
  }
}

/** The repository root (src/sim/ → ../..): the agents' cwd and the parent of `.runs/`. */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** The termination lifecycle hook of a simulated Auto Scaling group. */
export const ASG_HOOK = 'etcd-spot-leave';

/** How often the simulator's etcd-spot agents look for a notice (the product default is 5 s). */
export const SIM_TERMINATION_POLL_INTERVAL = '1s';

export interface FleetOptions {
  /** Group size at start. */
  instances: number;
  /** ETCD_SPOT_AGENT_MAX_VOTERS (default 5). */
  maxVoters?: number;
  /** Three octets; instances get `<prefix>.10`… (default 127.0.100). */
  ipPrefix?: string;
  /** Seeds the emulator and every choice of the fleet (random when absent; see {@link Fleet.seed}). */
  seed?: number;
  /** The group's signal timeout: a TERMINATING instance is terminated after min(notice, this). Default 120 s. */
  signalTimeoutMs?: number;
  ipReuse?: 'never' | 'prefer';
  /**
   * The group's cloud (default elastigroup). `asg`: an AWS Auto Scaling group with an
   * EC2_INSTANCE_TERMINATING lifecycle hook (heartbeat timeout = the signal timeout, default result
   * CONTINUE) and launch-before-terminate maintenance; the agents get group.provider: asg with the
   * emulator as their Auto Scaling and EC2 endpoints, and a shared peer secret.
   */
  provider?: 'elastigroup' | 'asg';
  /** Port of every instance's metadata service on its own IP (default 1338). */
  imdsPort?: number;
  /** Parent of the run directory (default `<repo>/.runs`). */
  runsDir?: string;
  /** Appended to the run directory's name, e.g. the test file. */
  label?: string;
  /**
   * The agent's command line (default `node bin/etcd-spot.js agent`): another agent, or a stub in
   * tests. Every agent gets the SIM_* variables (bench/baselines/seed/README.md) and etcd-spot's
   * ETCD_SPOT_* ones.
   */
  agentCommand?: { command: string; args: string[] };
  /** Give the agents only the SIM_* variables, not etcd-spot's ETCD_SPOT_* / SPOTINST_TOKEN (a foreign agent). */
  simEnvOnly?: boolean;
  /** Working directory of the agent command (default: the repository root). */
  agentCwd?: string;
  /** Extra / overriding environment for every agent. */
  agentEnv?: Record<string, string>;
  /** ETCD_SPOT_LOG_LEVEL (default info). */
  logLevel?: string;
  /** How long a "rebooted" VM stays down before its agent starts again (default 1000 ms). */
  rebootPauseMs?: number;
  /** API faults in place before the first instance launches (e.g. inconsistent lists while booting). */
  faults?: { route: FaultRoute; fault: FaultSpec }[];
  /** Called for every fleet event (emulator events, agent starts/kills/exits, injected faults). */
  onEvent?: (event: FleetEvent) => void;
  /**
   * etcd and the agents over TLS: a CA in `<runDir>/tls/ca`, a certificate per instance for its
   * loopback IP in `<instance>/tls` (issued when it boots), and one for the fleet's own etcd calls.
   */
  tls?: boolean;
  /**
   * Route every member's peer traffic through a proxy the fleet owns (src/sim/network.ts), so network
   * faults (partition, latency, drop) can be injected. The agents get an etcd shim as their etcd binary.
   */
  peerProxy?: boolean;
  /**
   * Every instance's etcd data dir on its own tmpfs of this many MiB (mounted at launch, unmounted when
   * the instance is terminated or the fleet closes), so the full-disk fault ({@link Fleet.fillDisk})
   * gives etcd a real ENOSPC. Linux, root.
   */
  smallDiskMb?: number;
  /**
   * Give every etcd-spot agent the clock-step test hook (ETCD_SPOT_CLOCK_OFFSET_FILE, a file in its
   * instance dir), so {@link Fleet.stepClock} can move one running agent's wall clock.
   */
  clockHook?: boolean;
}

export type FleetEventType =
  | 'launched'
  | 'running'
  | 'interrupted'
  | 'signal'
  | 'terminated'
  | 'agent-started'
  | 'agent-killed'
  | 'agent-exited'
  | 'wiped'
  | 'scaled'
  | 'fault'
  | 'faults-cleared'
  | 'network'
  | 'paused'
  | 'resumed'
  | 'disk'
  | 'clock'
  | 'note';

export interface FleetEvent {
  at: number;
  type: FleetEventType;
  instanceId?: string;
  /** One human-readable line. */
  text: string;
  detail?: Record<string, unknown>;
}

interface SimInstance {
  id: string;
  privateIp: string;
  dir: string;
  dataDir: string;
  stateDir: string;
  logPath: string;
  proc: RunningProcess | StoppedProcess | undefined;
  /** The emulator terminated it: never start its agent again. */
  gone: boolean;
  /** A kill/restart in progress (serialises operations on one instance). */
  busy: Promise<void>;
  exitedOnItsOwn?: string;
  /** Its data dir is a tmpfs the fleet mounted (see FleetOptions.smallDiskMb). */
  mounted?: boolean;
  /** Process group of an agent that exited on its own: its children (etcd) may still run. */
  leftoverGroup?: number;
  /** Set while the fleet itself kills the agent (so its exit is not reported as a crash). */
  killing: boolean;
  tail: AgentLogTail;
}

/** `leader` / `follower` / `random`, an instance id, or the index of a running instance (oldest first). */
export type InterruptTarget = string | number | 'leader' | 'follower' | 'random';

/** A run directory name: `20250101-120000-<seed>[-label]`. */
function runDirName(seed: number, label: string | undefined, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const ts = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${ts}-${seed}${label ? `-${label.replace(/[^A-Za-z0-9._-]/g, '_')}` : ''}`;
}

/** Environment variables of the parent that must not reach an agent (its config, etcd's own flags). */
function inheritedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('ETCD') || k.startsWith('SPOTINST_')) continue;
    out[k] = v;
  }
  return out;
}

export class Fleet implements AsyncDisposable {
  readonly seed: number;
  readonly runDir: string;
  readonly groupId: string;
  readonly emulatorUrl: string;
  readonly state: CloudState;
  readonly maxVoters: number;
  readonly ipPrefix: string;
  /** The group's cloud. */
  readonly provider: 'elastigroup' | 'asg';
  /** Every event so far, oldest first (the trace printed when something fails). */
  readonly events: FleetEvent[] = [];
  private readonly rng: Prng;
  private readonly token: string;
  private readonly opts: FleetOptions;
  private readonly imdsPort: number;
  private readonly instances = new Map<string, SimInstance>();
  private readonly etcd: EtcdCluster;
  /** The fleet's own client identity when the run is over TLS. */
  private readonly tlsMaterial: TlsMaterial | undefined;
  private readonly scheme: 'http' | 'https';
  private readonly closeEmulator: () => Promise<void>;
  private readonly emulatorSettled: () => Promise<void>;
  private readonly unsubscribe: () => void;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly decisionLog: AgentDecision[] = [];
  private closed = false;
  /** The network between instances, when peer traffic goes through proxies (else undefined). */
  readonly network: NetworkFaults | undefined;
  private readonly proxies = new Map<string, Promise<PeerProxy | undefined>>();
  private readonly ipOwner = new Map<string, string>();
  private readonly memberOwner = new Map<string, string>();
  private readonly etcdShim: string | undefined;
  /** Instances whose data disk fillDisk filled. */
  private readonly filled = new Set<string>();
  /** Processes stopped with SIGSTOP: pid → what it is, for `resume`. */
  private readonly paused = new Map<number, { instanceId: string; what: 'agent' | 'etcd' }>();

  private constructor(init: {
    opts: FleetOptions;
    seed: number;
    rng: Prng;
    token: string;
    runDir: string;
    emulator: RunningEmulator;
    tls?: TlsMaterial;
  }) {
    this.opts = init.opts;
    this.seed = init.seed;
    this.rng = init.rng;
    this.token = init.token;
    this.runDir = init.runDir;
    this.emulatorUrl = init.emulator.url;
    this.state = init.emulator.state;
    this.closeEmulator = () => init.emulator.close();
    this.emulatorSettled = () => init.emulator.settled();
    this.maxVoters = init.opts.maxVoters ?? 5;
    this.ipPrefix = init.opts.ipPrefix ?? '127.0.100';
    this.imdsPort = init.opts.imdsPort ?? 1338;
    this.tlsMaterial = init.tls;
    this.scheme = init.tls === undefined ? 'http' : 'https';
    const tls = init.tls;
    this.etcd = createEtcdCluster({
      callTimeoutMs: 1000,
      removeTimeoutMs: 3000,
      ...(tls !== undefined ? { tls: () => tls } : {}),
    });
    if (init.opts.peerProxy) {
      this.network = new NetworkFaults({ seed: this.seed, instances: () => [...this.ipOwner.values()] });
      this.etcdShim = writePeerShim(init.runDir);
    }
    this.unsubscribe = this.state.subscribe((e) => this.onEmulatorEvent(e));
    this.provider = init.opts.provider ?? 'elastigroup';
    const signalTimeoutMs = init.opts.signalTimeoutMs ?? 120_000;
    const group = this.state.createGroup({
      name: `sim-${this.seed}`,
      targetCapacity: 0,
      autoReplace: true,
      signalTimeoutMs,
      ipReuse: init.opts.ipReuse ?? 'never',
      ...(this.provider === 'asg'
        ? {
            provider: 'asg' as const,
            asg: {
              lifecycleHooks: [
                {
                  name: ASG_HOOK,
                  transition: 'autoscaling:EC2_INSTANCE_TERMINATING' as const,
                  heartbeatTimeoutSec: Math.min(7200, Math.max(1, Math.round(signalTimeoutMs / 1000))),
                  defaultResult: 'CONTINUE' as const,
                },
              ],
              instanceMaintenancePolicy: { minHealthyPercentage: 100, maxHealthyPercentage: 150 },
            },
          }
        : {}),
    });
    this.groupId = group.id;
  }

  /** Starts the emulator, creates the group with `instances` instances and boots an agent on each. */
  static async start(opts: FleetOptions): Promise<Fleet> {
    const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
    const rng = new Prng(seed);
    const runsDir = opts.runsDir ?? join(REPO_ROOT, '.runs');
    let runDir = join(runsDir, runDirName(seed, opts.label));
    for (let n = 2; existsSync(runDir); n++) runDir = join(runsDir, `${runDirName(seed, opts.label)}-${n}`);
    mkdirSync(runDir, { recursive: true });
    const token = `sim-${seed}-${rng.hex(12)}`;
    let tls: TlsMaterial | undefined;
    if (opts.tls === true) {
      if (opts.simEnvOnly === true)
        throw new Error('tls: only etcd-spot agents are given certificates (not a foreign agent command)');
      const caDir = join(runDir, 'tls', 'ca');
      await createCa(caDir, { commonName: `etcd-spot sim ${seed} CA` });
      const files = await issueCert({
        caDir,
        outDir: join(runDir, 'tls', 'observer'),
        commonName: 'sim-observer',
        ips: ['127.0.0.1'],
      });
      tls = readTlsMaterial({ ...files, keys: { cert: 'observer cert', key: 'observer key', ca: 'sim CA' } });
    }
    const emulator = await startEmulator({
      listen: '127.0.0.1:0',
      token,
      imdsPort: opts.imdsPort ?? 1338,
      ipPrefix: opts.ipPrefix ?? '127.0.100',
      seed,
    });
    let fleet: Fleet;
    try {
      fleet = new Fleet({ opts, seed, rng, token, runDir, emulator, ...(tls !== undefined ? { tls } : {}) });
    } catch (err) {
      await emulator.close();
      throw err;
    }
    fleet.note(`seed ${seed}, run dir ${runDir}, emulator ${emulator.url}, group ${fleet.groupId}`);
    for (const f of opts.faults ?? []) fleet.fault(f.route, f.fault);
    fleet.scaleTo(opts.instances);
    return fleet;
  }

  // ------------------------------------------------------------------ observation

  /** Live instances of the group (pending, running, terminating), oldest first. */
  liveInstances(): InstanceView[] {
    return this.state.listInstances({ groupId: this.groupId });
  }

  /** Running (not terminating) instance ids, oldest first. */
  runningIds(): string[] {
    return this.liveInstances()
      .filter((i) => i.state === 'running')
      .map((i) => i.id);
  }

  /** Client URLs of every live instance (what a client holding "all endpoints" uses). */
  clientUrls(): string[] {
    return this.liveInstances().map((i) => clientUrlFor(i.privateIp, 2379, this.scheme));
  }

  /** The client certificate for the cluster's https:// URLs (the writers use it), or undefined without TLS. */
  clientTls(): ClientTls | undefined {
    return this.tlsMaterial;
  }

  /** Whether the run is over TLS. */
  get tls(): boolean {
    return this.tlsMaterial !== undefined;
  }

  /** How to reach this fleet from outside (what `sim --keep` prints: keep-hints.ts). */
  keptFleet(): KeptFleet {
    const observer = join(this.runDir, 'tls', 'observer');
    const creds = this.state.instanceCredentials();
    return {
      provider: this.provider,
      emulatorUrl: this.emulatorUrl,
      groupId: this.groupId,
      token: this.token,
      ...(this.provider === 'asg'
        ? {
            aws: {
              accessKeyId: creds.accessKeyId,
              secretAccessKey: creds.secretAccessKey,
              region: 'us-east-1',
            },
          }
        : {}),
      // Running instances only: a terminating one's etcd is (being) stopped, and etcdctl would fail on it.
      clientUrls: this.liveInstances()
        .filter((i) => i.state === 'running')
        .map((i) => clientUrlFor(i.privateIp, 2379, this.scheme)),
      ...(this.tls
        ? {
            tls: {
              cacert: join(observer, 'ca.crt'),
              cert: join(observer, 'node.crt'),
              key: join(observer, 'node.key'),
            },
          }
        : {}),
    };
  }

  /** Every instance's agent log and etcd log (`<instance>/agent.log`, `<instance>/state/etcd.log`), in launch order. */
  instanceLogs(): { instanceId: string; agentLog: string; etcdLog: string }[] {
    return [...this.instances.values()].map((i) => ({
      instanceId: i.id,
      agentLog: i.logPath,
      etcdLog: join(i.stateDir, 'etcd.log'),
    }));
  }

  /** The directory of one instance (agent.log, data/, state/). */
  instanceDir(id: string): string {
    return this.require(id).dir;
  }

  dataDir(id: string): string {
    return this.require(id).dataDir;
  }

  /** Every agent decision read so far from the agents' logs (oldest first); reads new lines first. */
  decisions(): AgentDecision[] {
    for (const inst of this.instances.values()) {
      const fresh = inst.tail.poll();
      if (fresh.length > 0) this.decisionLog.push(...fresh);
    }
    return this.decisionLog;
  }

  /** Instances and members right now, with each member's own status. Never throws. */
  async snapshot(): Promise<FleetSnapshot> {
    const at = Date.now();
    const live = this.liveInstances();
    const byIp = new Map(live.map((i) => [i.privateIp, i.id]));
    const statuses = new Map<string, MemberStatus>();
    await Promise.all(
      live.map(async (i) => {
        if (i.state !== 'running' && i.state !== 'terminating') return;
        try {
          statuses.set(
            i.id,
            await this.etcd.status(clientUrlFor(i.privateIp, 2379, this.scheme), AbortSignal.timeout(1500)),
          );
        } catch {
          // not serving (yet / any more)
        }
      }),
    );
    let members: Member[] = [];
    let memberListError: string | undefined;
    const endpoints = live
      .filter((i) => statuses.has(i.id) && !statuses.get(i.id)?.isLearner)
      .map((i) => clientUrlFor(i.privateIp, 2379, this.scheme));
    if (endpoints.length === 0) memberListError = 'no voter answers';
    else {
      try {
        members = await this.etcd.listMembers(endpoints, AbortSignal.timeout(2000));
      } catch (err) {
        memberListError = describeError(err);
      }
    }
    const statusByMember = new Map([...statuses.values()].map((s) => [s.memberId, s]));
    const rows: MemberRow[] = members.map((m) => {
      const ip = hostOf(m.peerUrls[0] ?? '');
      const instanceId = ip === undefined ? undefined : byIp.get(ip);
      if (instanceId !== undefined) this.memberOwner.set(m.id, instanceId);
      const st = statusByMember.get(m.id);
      let role: MemberRow['role'];
      if (m.name === '') role = 'unstarted';
      else if (!st) role = 'unreachable';
      else if (m.isLearner) role = 'learner';
      else role = st.leaderId === m.id ? 'leader' : 'follower';
      return {
        id: m.id,
        name: m.name,
        peerUrl: m.peerUrls[0] ?? '',
        isLearner: m.isLearner,
        instanceId,
        role,
        ...(st
          ? {
              raftIndex: st.raftIndex,
              clusterId: st.clusterId,
              ...(st.leaderId ? { leaderId: st.leaderId } : {}),
              errors: st.errors,
            }
          : {}),
      };
    });
    const instances: InstanceRow[] = live.map((i) => {
      const sim = this.instances.get(i.id);
      const st = statuses.get(i.id);
      const row: InstanceRow = { id: i.id, privateIp: i.privateIp, state: i.state, agent: agentState(sim) };
      if (i.state === 'terminating' && i.terminateAt !== undefined) row.terminateAt = i.terminateAt;
      if (sim?.proc instanceof RunningProcess) row.agentPid = sim.proc.pid;
      if (sim?.exitedOnItsOwn) row.agentExit = sim.exitedOnItsOwn;
      if (st) {
        row.etcd = {
          memberId: st.memberId,
          clusterId: st.clusterId,
          leaderId: st.leaderId,
          raftIndex: st.raftIndex,
          isLearner: st.isLearner,
          errors: st.errors,
        };
      }
      return row;
    });
    return { at, instances, members: rows, ...(memberListError !== undefined ? { memberListError } : {}) };
  }

  /** The voter count the agents aim for with the group's current running instances. */
  expectedVoters(): number {
    return targetVoters(this.runningIds().length, this.maxVoters);
  }

  /** Converged now? (see {@link checkConvergence}). */
  async convergence(voters?: number): Promise<{ convergence: Convergence; snapshot: FleetSnapshot }> {
    const snapshot = await this.snapshot();
    const running = snapshot.instances.filter((i) => i.state === 'running').length;
    return {
      convergence: checkConvergence(snapshot, voters ?? targetVoters(running, this.maxVoters)),
      snapshot,
    };
  }

  /**
   * Polls until the fleet is converged: one cluster id across all running members, member names ==
   * the group's running instance ids, `voters` voters (default: the target for the running count),
   * a leader. Rejects with a TimeoutError listing what was still missing.
   */
  async waitConverged(opts: {
    voters?: number;
    timeoutMs: number;
    signal?: AbortSignal;
    intervalMs?: number;
    /** Sees every snapshot taken while waiting (e.g. to check an invariant all along). */
    onSnapshot?: (s: FleetSnapshot) => void;
  }): Promise<FleetSnapshot> {
    const deadline = Date.now() + opts.timeoutMs;
    let last: Convergence | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      const { convergence, snapshot } = await this.convergence(opts.voters);
      opts.onSnapshot?.(snapshot);
      if (convergence.converged) return snapshot;
      last = convergence;
      if (Date.now() >= deadline) {
        throw new TimeoutError(
          `fleet not converged after ${opts.timeoutMs} ms (seed ${this.seed}, run dir ${this.runDir}): ${last.problems.join('; ')}`,
        );
      }
      await delay(opts.intervalMs ?? 500, undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
  }

  // ------------------------------------------------------------------ operations

  /**
   * Resolves `leader` / `follower` / `random` to a running instance id (seeded choice); a number is the
   * index of a running instance, oldest first.
   */
  async pick(target: InterruptTarget): Promise<string> {
    if (typeof target === 'number') {
      const running = this.runningIds();
      const id = running[target];
      if (id === undefined)
        throw new Error(`no running instance #${target} (${running.length} running, numbered from 0)`);
      return id;
    }
    if (target !== 'leader' && target !== 'follower' && target !== 'random') {
      this.require(target);
      return target;
    }
    const running = this.runningIds();
    if (target === 'random') {
      const id = this.rng.sample(running, 1)[0];
      if (id === undefined) throw new Error('no running instance to pick');
      return id;
    }
    const snap = await this.snapshot();
    const role = target === 'leader' ? 'leader' : 'follower';
    const candidates = snap.members.filter(
      (m) => m.role === role && m.instanceId !== undefined && running.includes(m.instanceId),
    );
    const chosen = this.rng.sample(candidates, 1)[0]?.instanceId;
    if (chosen === undefined) throw new Error(`no running instance is a ${role} right now`);
    return chosen;
  }

  /**
   * `count` distinct running instances: for `leader`, the leader and then followers; for `follower`
   * and `random`, seeded choices. A count above 1 with an index or an id is refused.
   */
  async pickMany(target: InterruptTarget, count: number): Promise<string[]> {
    if (count <= 1) return [await this.pick(target)];
    if (target !== 'leader' && target !== 'follower' && target !== 'random')
      throw new Error(`a count of ${count} needs target leader, follower or random (got ${target})`);
    const running = this.runningIds();
    if (running.length < count)
      throw new Error(`cannot pick ${count} instances: only ${running.length} are running`);
    if (target === 'random') return this.rng.sample(running, count);
    const snap = await this.snapshot();
    const ofRole = (role: string) =>
      snap.members
        .filter((m) => m.role === role && m.instanceId !== undefined && running.includes(m.instanceId))
        .map((m) => m.instanceId as string);
    const followers = ofRole('follower');
    const out = target === 'leader' ? ofRole('leader').slice(0, 1) : [];
    if (target === 'leader' && out.length === 0)
      throw new Error('no running instance is the leader right now');
    const need = count - out.length;
    if (followers.length < need)
      throw new Error(
        `cannot pick ${need} follower(s): ${followers.length} running instance(s) are followers`,
      );
    return [...out, ...this.rng.sample(followers, need)];
  }

  /** A spot interruption with `noticeMs` of notice. Returns the instance id. */
  async interrupt(target: InterruptTarget, opts: { noticeMs: number }): Promise<string> {
    const id = await this.pick(target);
    this.state.interruptInstance(id, { noticeMs: opts.noticeMs });
    return id;
  }

  /**
   * kill -9 of the VM's processes. With `instanceGone` the instance is terminated in the cloud too (it
   * never comes back); otherwise the agent starts again after a short pause, like a rebooted VM.
   */
  async kill9(
    target: InterruptTarget,
    opts: { instanceGone: boolean; rebootPauseMs?: number },
  ): Promise<string> {
    const id = await this.pick(target);
    await this.stopAgent(id, 'kill -9');
    if (opts.instanceGone) this.state.terminateInstance(id);
    else {
      await delay(opts.rebootPauseMs ?? this.opts.rebootPauseMs ?? 1000);
      this.startAgent(id);
    }
    return id;
  }

  /** Kill the VM's processes, wipe its etcd data dir, start the agent again (a replaced disk). */
  async wipe(target: InterruptTarget, opts: { rebootPauseMs?: number } = {}): Promise<string> {
    const id = await this.pick(target);
    const inst = this.require(id);
    await this.stopAgent(id, 'wipe');
    await wipeDataDir(inst.dataDir);
    this.emit({ type: 'wiped', instanceId: id, text: `${id}: data dir wiped` });
    await delay(opts.rebootPauseMs ?? this.opts.rebootPauseMs ?? 1000);
    this.startAgent(id);
    return id;
  }

  /** SIGKILLs the instance's process group and leaves it down (the instance stays running in the cloud). */
  async stopAgent(id: string, why = 'stopped'): Promise<void> {
    const inst = this.require(id);
    await this.serialise(inst, async () => {
      if (inst.proc instanceof RunningProcess) {
        const pid = inst.proc.pid;
        inst.killing = true;
        try {
          inst.proc = await inst.proc.kill();
        } finally {
          inst.killing = false;
        }
        this.emit({ type: 'agent-killed', instanceId: id, text: `${id}: agent pgid ${pid} killed (${why})` });
      }
      await this.killLeftovers(inst);
    });
  }

  /** Starts the instance's agent (no-op when it runs, or when the instance is gone). */
  startAgent(id: string): void {
    const inst = this.require(id);
    if (this.closed || inst.gone || inst.proc instanceof RunningProcess) return;
    const stopped = inst.proc ?? new StoppedProcess(this.processSpec(inst));
    const running = stopped.start();
    inst.proc = running;
    inst.exitedOnItsOwn = undefined;
    this.emit({
      type: 'agent-started',
      instanceId: id,
      text: `${id}: agent started (pid ${running.pid}) on ${inst.privateIp}`,
    });
    void running.exited.then((e) => {
      if (inst.proc !== running || inst.killing || this.closed) return;
      // Nobody killed it: the agent exited by itself. It is left down so the failure shows.
      inst.exitedOnItsOwn = e.signal ?? `code ${e.code}`;
      inst.leftoverGroup = running.pid;
      inst.proc = new StoppedProcess(running.spec, e);
      this.emit({
        type: 'agent-exited',
        instanceId: id,
        text: `${id}: agent exited on its own (${inst.exitedOnItsOwn})`,
      });
    });
  }

  /** Sets the group's target capacity (scale-in gives the newest instances a notice of signalTimeout). */
  scaleTo(n: number): void {
    this.state.setTargetCapacity(this.groupId, n);
    this.emit({ type: 'scaled', text: `group target capacity → ${n}` });
  }

  /**
   * An instance refresh (Auto Scaling groups only): every instance replaced one at a time, launch before
   * terminate (MinHealthyPercentage 100, MaxHealthyPercentage 150), each old one through the termination
   * hook. Resolves when the refresh has succeeded; throws when it was cancelled or `signal` aborts.
   */
  async instanceRefresh(opts: { warmupMs: number; signal?: AbortSignal }): Promise<void> {
    if (this.provider !== 'asg') throw new Error('an instance refresh needs group.provider: asg');
    const started = this.state.startInstanceRefresh(this.groupId, {
      minHealthyPercentage: 100,
      maxHealthyPercentage: 150,
      instanceWarmupMs: opts.warmupMs,
    });
    this.emit({
      type: 'note',
      text: `instance refresh ${started.id}: replacing ${started.toReplace.length} instance(s), launch before terminate`,
    });
    for (;;) {
      const r = this.state.instanceRefreshes(this.groupId).find((x) => x.id === started.id);
      if (r?.status === 'Successful') {
        this.emit({ type: 'note', text: `instance refresh ${started.id}: done (${r.replaced} replaced)` });
        return;
      }
      if (r === undefined || r.status === 'Cancelled')
        throw new Error(`instance refresh ${started.id} ${r === undefined ? 'vanished' : 'was cancelled'}`);
      await delay(250, undefined, opts.signal ? { signal: opts.signal } : {});
    }
  }

  /** From now on new instances take the most recently freed IP (`prefer`), or fresh ones (`never`). */
  setIpReuse(mode: 'never' | 'prefer'): void {
    this.state.updateGroup(this.groupId, { ipReuse: mode });
    this.emit({ type: 'note', text: `IP reuse → ${mode}` });
  }

  /**
   * The process group of every instance's agent, while it runs (or while what it left behind may still
   * run), for sampling their resource use.
   */
  agentProcessGroups(): { instanceId: string; pgid: number }[] {
    const out: { instanceId: string; pgid: number }[] = [];
    for (const inst of this.instances.values()) {
      if (inst.proc instanceof RunningProcess) out.push({ instanceId: inst.id, pgid: inst.proc.pid });
      else if (inst.leftoverGroup !== undefined) out.push({ instanceId: inst.id, pgid: inst.leftoverGroup });
    }
    return out;
  }

  /** Whether the agents are etcd-spot's own (their logs carry decisions), not an --agent-command. */
  get agentIsEtcdSpot(): boolean {
    return this.opts.agentCommand === undefined;
  }

  /** Adds an API fault in the emulator; returns its id. */
  fault(route: FaultRoute, fault: FaultSpec): string {
    const id = this.state.addFault(route, fault);
    this.emit({ type: 'fault', text: `API fault on ${route}: ${JSON.stringify(fault)}` });
    return id;
  }

  clearFaults(): void {
    const n = this.state.clearFaults();
    this.emit({ type: 'faults-cleared', text: `${n} API fault(s) cleared` });
  }

  /** The network faults, or an error saying the scenario runs without peer proxies. */
  private requireNetwork(): NetworkFaults {
    if (this.network === undefined)
      throw new Error('network faults need the peer proxies (the fleet was started without peerProxy)');
    return this.network;
  }

  /** Cuts `ids` off from every other instance (both ways, or one: `out` = their traffic to the rest is lost). */
  partition(ids: readonly string[], direction: PartitionDirection = 'both'): void {
    const n = this.requireNetwork();
    n.partition(ids, direction);
    this.emit({ type: 'network', text: `network: ${n.describe()}` });
  }

  /** Delays peer traffic to and from `ids`. */
  addLatency(ids: readonly string[], delayMs: number, jitterMs: number): void {
    const n = this.requireNetwork();
    n.latency(ids, delayMs, jitterMs);
    this.emit({ type: 'network', text: `network: ${n.describe()}` });
  }

  /** Resets a fraction of the peer connections to and from `ids` (now, and new ones while it lasts). */
  dropConnections(ids: readonly string[], fraction: number): void {
    const n = this.requireNetwork();
    n.drop(ids, fraction);
    this.emit({ type: 'network', text: `network: ${n.describe()}` });
  }

  /** Clears every network fault. */
  heal(): void {
    this.requireNetwork().heal();
    this.emit({ type: 'network', text: 'network: healed' });
  }

  /**
   * SIGSTOPs the instance's agent (its main process only) or its etcd (every `etcd` process in the
   * agent's process group). Returns the pids stopped.
   */
  pause(id: string, what: 'agent' | 'etcd'): number[] {
    const inst = this.require(id);
    if (!(inst.proc instanceof RunningProcess)) throw new Error(`${id}: its agent is not running`);
    const pgid = inst.proc.pid;
    const pids = what === 'agent' ? [pgid] : this.etcdPids(inst.stateDir, pgid);
    if (pids.length === 0) throw new Error(`${id}: no ${what} process to pause`);
    for (const pid of pids) {
      process.kill(pid, 'SIGSTOP');
      this.paused.set(pid, { instanceId: id, what });
    }
    // kill() returns while the stop is still pending: a thread waiting for a CPU stops only when it is
    // next scheduled, and until then it can still answer (the network e2e test saw a "frozen" etcd
    // answer a status call, its state still R). Return once every thread is stopped.
    for (const pid of pids) waitStopped(pid, 2000);
    this.emit({ type: 'paused', instanceId: id, text: `${id}: ${what} paused (SIGSTOP ${pids.join(', ')})` });
    return pids;
  }

  /**
   * The instance's etcd: the process its agent recorded in `<stateDir>/etcd.pid` (the one serving the
   * client port), else every `etcd` of the agent's process group. A scan alone could pick a short-lived
   * `etcd` of the group (e.g. a version probe) and miss the server.
   */
  private etcdPids(stateDir: string, pgid: number): number[] {
    const procs = readProcStats();
    let recorded: number | undefined;
    try {
      recorded = Number(readFileSync(join(stateDir, 'etcd.pid'), 'utf8').trim());
    } catch {
      recorded = undefined;
    }
    if (recorded !== undefined && procs.some((p) => p.pid === recorded && p.comm === 'etcd'))
      return [recorded];
    return procs.filter((p) => p.pgid === pgid && p.comm === 'etcd').map((p) => p.pid);
  }

  /** Fills the instance's data disk (a tmpfs, see FleetOptions.smallDiskMb) to ENOSPC; returns the bytes written. */
  fillDisk(id: string): number {
    const inst = this.require(id);
    if (!inst.mounted)
      throw new Error(`${id}: its data dir is not a small disk (the fleet was started without smallDiskMb)`);
    const n = fillDisk(inst.dataDir);
    this.filled.add(id);
    this.emit({
      type: 'disk',
      instanceId: id,
      text: `${id}: data disk full (${Math.round(n / 2 ** 20)} MiB of filler)`,
    });
    return n;
  }

  /** Deletes the filler of every disk {@link fillDisk} filled. */
  freeDisks(): void {
    for (const id of this.filled) {
      const inst = this.instances.get(id);
      if (inst?.mounted) freeDisk(inst.dataDir);
      this.emit({ type: 'disk', instanceId: id, text: `${id}: data disk freed` });
    }
    this.filled.clear();
  }

  /**
   * Steps the wall clock of the instance's agent by `byMs` (negative: back), through the clock test
   * hook (FleetOptions.clockHook); steps add up. Returns the agent's offset now.
   */
  stepClock(id: string, byMs: number): number {
    if (!this.opts.clockHook)
      throw new Error('clock steps need the clock hook (the fleet was started without clockHook)');
    const file = this.clockFile(this.require(id));
    let now = 0;
    try {
      now = Number(readFileSync(file, 'utf8').trim()) || 0;
    } catch {
      // no step yet
    }
    const next = now + byMs;
    writeFileSync(file, `${next}\n`);
    this.emit({
      type: 'clock',
      instanceId: id,
      text: `${id}: agent clock stepped ${byMs >= 0 ? '+' : ''}${byMs} ms (offset now ${next} ms)`,
    });
    return next;
  }

  private clockFile(inst: SimInstance): string {
    return join(inst.dir, 'clock-offset-ms');
  }

  /** SIGCONTs every process {@link pause} stopped (those of `id` only, when given). */
  resume(id?: string): void {
    for (const [pid, p] of [...this.paused]) {
      if (id !== undefined && p.instanceId !== id) continue;
      this.paused.delete(pid);
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone (the instance was terminated meanwhile)
      }
      this.emit({
        type: 'resumed',
        instanceId: p.instanceId,
        text: `${p.instanceId}: ${p.what} resumed (SIGCONT ${pid})`,
      });
    }
  }

  /** Peer proxy counters by instance IP (connections, dropped, swallowed and forwarded bytes). */
  async proxyStats(): Promise<Record<string, PeerProxy['stats']>> {
    const out: Record<string, PeerProxy['stats']> = {};
    for (const [ip, p] of this.proxies) {
      const proxy = await p;
      if (proxy) out[ip] = { ...proxy.stats };
    }
    return out;
  }

  private async startProxy(ip: string): Promise<PeerProxy | undefined> {
    try {
      return await PeerProxy.start({
        ip,
        network: this.network as NetworkFaults,
        instanceAt: (addr) => this.ipOwner.get(addr),
        instanceOfMember: (m) => this.memberOwner.get(m),
      });
    } catch (err) {
      this.note(`peer proxy on ${ip}:2380 failed to start: ${describeError(err)}`);
      return undefined;
    }
  }

  private async proxyFor(id: string): Promise<void> {
    const inst = this.instances.get(id);
    if (inst === undefined) return;
    await this.proxies.get(inst.privateIp);
  }

  /** Adds a free-text line to the trace. */
  note(text: string): void {
    this.emit({ type: 'note', text });
  }

  /** The trace as text: every fleet event, then the last agent decisions. */
  trace(lastDecisions = 40): string {
    const t0 = this.events[0]?.at ?? 0;
    const lines = this.events.map((e) => `+${((e.at - t0) / 1000).toFixed(1)}s ${e.text}`);
    const ds = decisionLog(this.decisions()).slice(-lastDecisions);
    if (ds.length > 0) lines.push('--- last agent decisions (wait lines left out)');
    for (const e of ds) lines.push(decisionEntryLine(e, t0));
    // What each agent is waiting for is usually the answer to "why did it not converge".
    const lastByInstance = new Map<string, AgentDecision>();
    for (const d of this.decisions()) lastByInstance.set(d.instanceId, d);
    if (lastByInstance.size > 0) lines.push("--- each agent's latest decision");
    for (const d of lastByInstance.values()) lines.push(decisionLine(d, t0));
    return lines.join('\n');
  }

  /**
   * Kills everything this fleet started (agents' process groups, then any process whose command line
   * names the run directory), stops the emulator. The run directory is kept; with `removeData` the
   * etcd data dirs in it are deleted (etcd preallocates 64 MB of WAL per member), the logs stay.
   */
  async close(opts: { removeData?: boolean } = {}): Promise<void> {
    if (this.closed) {
      if (opts.removeData) await this.removeDataDirs();
      return;
    }
    this.closed = true;
    this.unsubscribe();
    await Promise.allSettled([...this.pending]);
    await Promise.allSettled(
      [...this.instances.values()].map(async (inst) => {
        if (inst.proc instanceof RunningProcess) {
          inst.killing = true;
          inst.proc = await inst.proc.kill();
        }
        await this.killLeftovers(inst);
      }),
    );
    for (const pid of pidsWithCommandLineContaining(this.runDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const inst of this.instances.values()) this.unmount(inst);
    await this.etcd.close();
    for (const p of this.proxies.values()) await (await p)?.close();
    await this.closeEmulator();
    if (opts.removeData) await this.removeDataDirs();
  }

  /** Deletes the whole run directory (after close; for passing tests, whose logs nobody needs). */
  async removeRunDir(): Promise<void> {
    if (!this.closed) throw new Error('close the fleet before removing its run directory');
    await rm(this.runDir, { recursive: true, force: true });
  }

  private async removeDataDirs(): Promise<void> {
    await Promise.all(
      [...this.instances.values()].map((inst) => rm(inst.dataDir, { recursive: true, force: true })),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------------ internals

  /** Unmounts the instance's small data disk, if the fleet mounted one (its processes are dead). */
  private unmount(inst: SimInstance): void {
    if (!inst.mounted) return;
    inst.mounted = false;
    this.filled.delete(inst.id);
    if (!unmountDisk(inst.dataDir))
      this.emit({ type: 'disk', instanceId: inst.id, text: `${inst.id}: could not unmount ${inst.dataDir}` });
  }

  /** Kills what an agent that died on its own left running (its etcd): the VM is going away. */
  private async killLeftovers(inst: SimInstance): Promise<void> {
    if (inst.leftoverGroup === undefined) return;
    const pgid = inst.leftoverGroup;
    delete inst.leftoverGroup;
    await killLeftoverGroup(pgid);
  }

  private require(id: string): SimInstance {
    const inst = this.instances.get(id);
    if (!inst) throw new Error(`instance ${id} is not part of this fleet`);
    return inst;
  }

  private emit(e: Omit<FleetEvent, 'at'> & { at?: number }): void {
    const event: FleetEvent = { at: e.at ?? Date.now(), ...e };
    this.events.push(event);
    try {
      this.opts.onEvent?.(event);
    } catch {
      // a listener's problem is not the fleet's
    }
  }

  private track<T>(p: Promise<T>): void {
    const q = p.catch((err: unknown) => this.note(`background operation failed: ${describeError(err)}`));
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  private async serialise(inst: SimInstance, fn: () => Promise<void>): Promise<void> {
    const run = inst.busy.then(fn);
    inst.busy = run.catch(() => undefined);
    await run;
  }

  /** With TLS: the instance's certificate for its IP, issued once (the "boot script" of a real instance). */
  private async issueInstanceCert(id: string): Promise<void> {
    const inst = this.instances.get(id);
    if (this.tlsMaterial === undefined || inst === undefined || existsSync(join(inst.dir, 'tls', NODE_KEY)))
      return;
    await issueCert({
      caDir: join(this.runDir, 'tls', 'ca'),
      outDir: join(inst.dir, 'tls'),
      commonName: id,
      // etcd's --peer-client-cert-auth checks a peer's certificate against the connection's source
      // address. On a real instance that is the private IP; on loopback the kernel picks 127.0.0.1.
      ips: [inst.privateIp, '127.0.0.1'],
    });
  }

  /** `{runDir}` / `{sharedDir}` in an agent environment value (the shared dir is created on first use). */
  private expandRunPaths(value: string): string {
    if (value.includes('{sharedDir}')) {
      const shared = join(this.runDir, 'shared');
      mkdirSync(shared, { recursive: true });
      value = value.replaceAll('{sharedDir}', shared);
    }
    return value.replaceAll('{runDir}', this.runDir);
  }

  private processSpec(inst: SimInstance): ConstructorParameters<typeof StoppedProcess>[0] {
    const cmd = this.opts.agentCommand ?? {
      command: process.execPath,
      args: [join(REPO_ROOT, 'bin', 'etcd-spot.js'), 'agent'],
    };
    const sim: Record<string, string> = {
      // The simulator contract every agent gets (bench/baselines/seed/README.md, docs/simulator.md).
      SIM_INSTANCE_ID: inst.id,
      SIM_PRIVATE_IP: inst.privateIp,
      SIM_METADATA_URL: `http://${inst.privateIp}:${this.imdsPort}`,
      SIM_SPOT_API_URL: this.emulatorUrl,
      SIM_SPOT_TOKEN: this.token,
      SIM_GROUP_ID: this.groupId,
      SIM_ETCD_BINARY: this.etcdShim ?? 'etcd',
      SIM_ETCDCTL_BINARY: 'etcdctl',
      SIM_DATA_DIR: inst.dataDir,
      SIM_STATE_DIR: inst.stateDir,
      SIM_CLUSTER_TOKEN: `sim-${this.seed}-${this.groupId}`,
    };
    const group: Record<string, string> =
      this.provider === 'asg'
        ? {
            // Group name from the instance tag, region from IMDS, credentials from the emulated
            // instance profile: only the endpoints are set, as on a real instance pointed at AWS.
            [envVarFor(['group', 'provider'])]: 'asg',
            [envVarFor(['group', 'autoscalingEndpoint'])]: this.emulatorUrl,
            [envVarFor(['group', 'ec2Endpoint'])]: this.emulatorUrl,
            [envVarFor(['group', 'requestTimeout'])]: '2s',
            [envVarFor(['group', 'heartbeatInterval'])]: '5s',
            [envVarFor(['agent', 'peerSecret'])]: `sim-${this.seed}-${this.token}`,
          }
        : {
            [envVarFor(['group', 'provider'])]: 'elastigroup',
            [envVarFor(['group', 'apiUrl'])]: this.emulatorUrl,
            [envVarFor(['group', 'groupId'])]: this.groupId,
            [envVarFor(['group', 'requestTimeout'])]: '2s',
            SPOTINST_TOKEN: this.token,
          };
    const etcdSpot: Record<string, string> = {
      ...group,
      [envVarFor(['metadata', 'url'])]: `http://${inst.privateIp}:${this.imdsPort}`,
      [envVarFor(['etcd', 'dataDir'])]: inst.dataDir,
      [envVarFor(['agent', 'stateDir'])]: inst.stateDir,
      [envVarFor(['agent', 'cycleInterval'])]: '1s',
      [envVarFor(['agent', 'terminationPollInterval'])]: SIM_TERMINATION_POLL_INTERVAL,
      [envVarFor(['agent', 'groupPollInterval'])]: '2s',
      [envVarFor(['agent', 'steadyGroupPollInterval'])]: '10s',
      [envVarFor(['agent', 'followerGroupPollInterval'])]: '10s',
      [envVarFor(['agent', 'cloudStatusPollInterval'])]: '2s',
      [envVarFor(['agent', 'memberDeadAfter'])]: '10s',
      [envVarFor(['agent', 'terminatedMemberDeadAfter'])]: '2s',
      [envVarFor(['agent', 'replacementWait'])]: '5s',
      [envVarFor(['agent', 'unstartedMemberTtl'])]: '20s',
      [envVarFor(['agent', 'maxVoters'])]: String(this.maxVoters),
      [envVarFor(['log', 'level'])]: this.opts.logLevel ?? 'info',
      ...(this.etcdShim !== undefined ? { [envVarFor(['etcd', 'binary'])]: this.etcdShim } : {}),
      ...(this.opts.clockHook ? { [CLOCK_OFFSET_FILE_ENV]: this.clockFile(inst) } : {}),
    };
    if (this.tlsMaterial !== undefined) {
      // Paths only: the same certificate serves etcd's client and peer ports and the agent's endpoints.
      const dir = join(inst.dir, 'tls');
      for (const [key, file] of [
        ['certFile', NODE_CERT],
        ['keyFile', NODE_KEY],
        ['caFile', CA_CERT],
        ['peerCertFile', NODE_CERT],
        ['peerKeyFile', NODE_KEY],
        ['peerCaFile', CA_CERT],
      ] as const) {
        etcdSpot[envVarFor(['etcd', 'tls', key])] = join(dir, file);
      }
    }
    const env: Record<string, string> = {
      ...inheritedEnv(),
      ...sim,
      // etcd reads every ETCD_* variable as a flag (and warns about unknown ones): a foreign agent gets
      // only the SIM_* contract when asked.
      ...(this.opts.simEnvOnly ? {} : etcdSpot),
      // `{sharedDir}` in a value is a directory of this run every agent shares (created), e.g. a
      // snapshot store; `{runDir}` is the run directory.
      ...Object.fromEntries(
        Object.entries(this.opts.agentEnv ?? {}).map(([k, v]) => [k, this.expandRunPaths(v)]),
      ),
    };
    return {
      name: `agent ${inst.id}`,
      command: cmd.command,
      args: cmd.args,
      cwd: this.opts.agentCwd ?? REPO_ROOT,
      env,
      logPath: inst.logPath,
    };
  }

  private onEmulatorEvent(e: EmulatorEvent): void {
    if (this.closed || (e.groupId !== undefined && e.groupId !== this.groupId)) return;
    const id = e.instanceId;
    switch (e.type) {
      case 'launched': {
        if (id === undefined) return;
        const ip = String(e.detail.privateIp ?? '');
        const dir = join(this.runDir, id);
        mkdirSync(join(dir, 'data'), { recursive: true });
        mkdirSync(join(dir, 'state'), { recursive: true });
        const logPath = join(dir, 'agent.log');
        let mounted = false;
        if (this.opts.smallDiskMb !== undefined) {
          try {
            mountSmallDisk(join(dir, 'data'), this.opts.smallDiskMb);
            mounted = true;
          } catch (err) {
            this.emit({
              type: 'disk',
              instanceId: id,
              text: `${id}: could not mount its small data disk: ${describeError(err)}`,
            });
          }
        }
        this.instances.set(id, {
          id,
          privateIp: ip,
          dir,
          mounted,
          dataDir: join(dir, 'data'),
          stateDir: join(dir, 'state'),
          logPath,
          proc: undefined,
          gone: false,
          busy: Promise.resolve(),
          killing: false,
          tail: new AgentLogTail(id, logPath),
        });
        this.ipOwner.set(ip, id);
        if (this.network !== undefined && !this.proxies.has(ip)) this.proxies.set(ip, this.startProxy(ip));
        this.emit({
          at: e.at,
          type: 'launched',
          instanceId: id,
          text: `${id}: launched on ${ip} (${String(e.detail.reason ?? '')})`,
        });
        return;
      }
      case 'running':
        if (id === undefined) return;
        this.emit({ at: e.at, type: 'running', instanceId: id, text: `${id}: running` });
        // The VM boots once its metadata service listens (and its peer proxy, if any).
        this.track(
          Promise.all([this.emulatorSettled(), this.proxyFor(id)])
            .then(() => this.issueInstanceCert(id))
            .then(() => this.startAgent(id)),
        );
        return;
      case 'interrupted':
        this.emit({
          at: e.at,
          type: 'interrupted',
          ...(id !== undefined ? { instanceId: id } : {}),
          text: `${id}: interrupted (${String(e.detail.reason)}, notice ${String(e.detail.noticeMs)} ms)`,
          detail: { ...e.detail },
        });
        return;
      case 'signal':
        this.emit({
          at: e.at,
          type: 'signal',
          ...(id !== undefined ? { instanceId: id } : {}),
          text: `${id}: signalled ${String(e.detail.signal)} (${String(e.detail.effect)})`,
          detail: { ...e.detail },
        });
        return;
      case 'lifecycle-completed':
        // An Auto Scaling group's release: the same place in a leave as Spot.io's signal.
        this.emit({
          at: e.at,
          type: 'signal',
          ...(id !== undefined ? { instanceId: id } : {}),
          text: `${id}: lifecycle action ${String(e.detail.hookName)} ${String(e.detail.result)} (${String(e.detail.how)})`,
          detail: { ...e.detail, signal: 'CompleteLifecycleAction' },
        });
        return;
      case 'terminated': {
        if (id === undefined) return;
        const inst = this.instances.get(id);
        this.emit({
          at: e.at,
          type: 'terminated',
          instanceId: id,
          text: `${id}: terminated (${String(e.detail.reason)})`,
          detail: { ...e.detail },
        });
        if (!inst) return;
        inst.gone = true;
        if (this.ipOwner.get(inst.privateIp) === id) this.ipOwner.delete(inst.privateIp);
        this.track(this.stopAgent(id, 'instance terminated').then(() => this.unmount(inst)));
        return;
      }
      default:
        return;
    }
  }
}

function agentState(inst: SimInstance | undefined): InstanceRow['agent'] {
  if (!inst || inst.proc === undefined) return 'none';
  if (inst.proc instanceof RunningProcess) return 'running';
  return inst.exitedOnItsOwn ? 'exited' : 'stopped';
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

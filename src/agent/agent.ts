/**
 * The agent's loop: observe → plan (pure) → log one line → execute the FIRST action → re-observe at
 * once after progress, else sleep `cycleIntervalMs` (woken early by a termination notice). Nothing in
 * here removes a member on shutdown: only a cloud-confirmed notice, through the planner, does.
 */
import type { Action } from '../core/actions.ts';
import { describeError, errorCode } from '../core/errors.ts';
import type { BootstrapPlan, Observation, PeerBootstrapView } from '../core/observation.ts';
import type { Policy } from '../core/policy.ts';
import { needsLocalRecord, planMembership } from '../core/plan.ts';
import type { Clock } from '../ports/clock.ts';
import type { EtcdCluster, MemberStatus } from '../ports/etcd-cluster.ts';
import type { EtcdRunner } from '../ports/etcd-runner.ts';
import type { InstanceGroup } from '../ports/instance-group.ts';
import type { Logger } from '../ports/logger.ts';
import { executeAction } from './execute.ts';
import type { ExecuteContext, ExecuteResult } from './execute.ts';
import type { LocalStateStore } from './local-state.ts';
import type { Observer } from './observe.ts';
import { actionTarget, summarizeObservation } from './summary.ts';
import type { ObservationSummary } from './summary.ts';
import type { AgentMemory, AgentSettings, PeerAgents, StartNoticeAnswer, VoteAnswer } from './types.ts';
import type { VoteKeeper } from './votes.ts';

export type PlanFn = (obs: Observation, policy: Policy, now: number) => Action[];

export interface AgentDeps {
  settings: AgentSettings;
  observer: Observer;
  etcd: EtcdCluster;
  runner: EtcdRunner;
  group: InstanceGroup;
  store: LocalStateStore;
  peers: PeerAgents;
  votes: VoteKeeper;
  memory: AgentMemory;
  hasData: (dataDir: string) => Promise<boolean>;
  wipeData: (dataDir: string) => Promise<void>;
  clock: Clock;
  logger: Logger;
  /** The planner (default planMembership); injectable for tests. */
  plan?: PlanFn;
  /** Restores a snapshot of the group's store (all-lost recovery); absent without a snapshot store. */
  restoreSnapshot?: ExecuteContext['restoreSnapshot'];
  /** Takes a snapshot (leader's agent, take-snapshot); absent without a snapshot store. */
  takeSnapshot?: ExecuteContext['takeSnapshot'];
  /** Told about every completed cycle (metrics, /readyz); an error it throws is logged, never fatal. */
  onCycle?: (result: CycleResult) => void;
  /** Randomness in [0, 1) for the cycle's jitter (`settings.pollJitter`); default Math.random. */
  random?: () => number;
}

export interface CycleResult {
  cycle: number;
  /** The action executed (the plan's first). */
  action: Action;
  /** The whole plan, as planned (before any local-state gating). */
  plan: Action[];
  progressed: boolean;
  detail?: string;
  code?: string;
  durationMs: number;
  observation: Observation;
}

/** After this many cycles in a row that made progress, the loop sleeps once anyway (a guard against a hot loop). */
const MAX_PROGRESS_STREAK = 20;

export class Agent {
  private readonly d: AgentDeps;
  private cycles = 0;
  private last:
    | { at: number; plan: Action[]; result: ExecuteResult; summary: ObservationSummary; durationMs: number }
    | undefined;
  private lastError: { at: number; error: string } | undefined;
  private lastLogged = '';
  private wakeController: AbortController | undefined;
  private wakePending = false;
  private loopAlive = false;
  private lastCycleAt: number | undefined;
  private readonly startedAt: number;

  constructor(deps: AgentDeps) {
    this.d = deps;
    this.startedAt = deps.clock.now();
  }

  get cycleCount(): number {
    return this.cycles;
  }

  /** Wakes the loop from its sleep (a termination notice appeared). */
  wake(): void {
    this.wakePending = true;
    this.wakeController?.abort();
  }

  /** One observe → plan → execute cycle. Throws only when the observation itself failed (e.g. no metadata yet). */
  async runOnce(signal?: AbortSignal): Promise<CycleResult> {
    const cycle = ++this.cycles;
    const { clock, logger, settings } = this.d;
    const t0 = clock.now();
    let obs: Observation;
    try {
      obs = await this.d.observer.observe(signal);
    } catch (err) {
      this.lastError = { at: clock.now(), error: describeError(err) };
      throw err;
    }
    const now = clock.now();
    const plan = (this.d.plan ?? planMembership)(obs, settings.policy, now);
    let action: Action = plan[0] ?? { kind: 'wait', reason: 'the planner returned no action' };
    if (this.d.memory.stateError !== undefined && needsLocalRecord(action)) {
      action = {
        kind: 'wait',
        reason: `refusing ${action.kind} while the state file is unreadable: ${this.d.memory.stateError}`,
      };
    }
    const line = {
      cycle,
      action: action.kind,
      reason: action.reason,
      ...targetFields(action),
      planned: plan.length,
    };
    const key = `${action.kind}|${action.reason}`;
    if (action.kind === 'wait' && key === this.lastLogged) logger.debug(line, 'plan');
    else logger.info(line, 'plan');
    this.lastLogged = key;

    const result = await executeAction(action, {
      obs,
      settings,
      etcd: this.d.etcd,
      runner: this.d.runner,
      group: this.d.group,
      store: this.d.store,
      peers: this.d.peers,
      castOwnVote: (c, capacity, plan) => this.d.votes.cast(c, capacity, plan),
      memory: this.d.memory,
      hasData: this.d.hasData,
      wipeData: this.d.wipeData,
      ...(this.d.restoreSnapshot !== undefined ? { restoreSnapshot: this.d.restoreSnapshot } : {}),
      ...(this.d.takeSnapshot !== undefined ? { takeSnapshot: this.d.takeSnapshot } : {}),
      clock,
      logger: logger.child({ cycle, action: action.kind }),
      ...(signal ? { signal } : {}),
    });
    const durationMs = clock.now() - t0;
    if (action.kind !== 'wait') {
      logger.info(
        {
          cycle,
          action: action.kind,
          progressed: result.progressed,
          detail: result.detail,
          code: result.code,
          ms: durationMs,
        },
        'action done',
      );
    }
    this.last = {
      at: now,
      plan: action === plan[0] ? plan : [action, ...plan.slice(1)],
      result,
      summary: summarizeObservation(obs),
      durationMs,
    };
    this.lastError = undefined;
    this.lastCycleAt = clock.now();
    const out: CycleResult = {
      cycle,
      action,
      plan,
      progressed: result.progressed,
      durationMs,
      observation: obs,
    };
    if (result.detail !== undefined) out.detail = result.detail;
    if (result.code !== undefined) out.code = result.code;
    try {
      this.d.onCycle?.(out);
    } catch (err) {
      logger.warn({ cycle, err: describeError(err) }, 'onCycle failed');
    }
    return out;
  }

  /** Runs cycles until `signal` aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.d;
    this.loopAlive = true;
    let streak = 0;
    try {
      while (!signal.aborted) {
        let progressed = false;
        try {
          progressed = (await this.runOnce(signal)).progressed;
        } catch (err) {
          if (signal.aborted) break;
          logger.warn({ cycle: this.cycles, code: errorCode(err), err: describeError(err) }, 'cycle failed');
        }
        streak = progressed ? streak + 1 : 0;
        if (progressed && streak < MAX_PROGRESS_STREAK) continue;
        if (streak >= MAX_PROGRESS_STREAK) {
          logger.warn({ streak }, 'many cycles in a row made progress; pausing one interval');
          streak = 0;
        }
        await this.sleep(this.cycleSleepMs(), signal, clock);
      }
    } finally {
      this.loopAlive = false;
    }
  }

  /** `cycleIntervalMs` ± `pollJitter`: the cycles (and the polls that follow them) of agents started together drift apart. */
  private cycleSleepMs(): number {
    const { cycleIntervalMs, pollJitter } = this.d.settings;
    const j = pollJitter ?? 0;
    if (j <= 0) return cycleIntervalMs;
    return Math.max(0, Math.round(cycleIntervalMs * (1 + j * (2 * (this.d.random ?? Math.random)() - 1))));
  }

  private async sleep(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return;
    }
    const wake = new AbortController();
    this.wakeController = wake;
    try {
      await clock.sleep(ms, AbortSignal.any([signal, wake.signal]));
    } catch {
      // woken or stopped
    } finally {
      this.wakeController = undefined;
      this.wakePending = false;
    }
  }

  /** The loop runs and completed a cycle recently (for /healthz). */
  healthy(): boolean {
    if (!this.loopAlive) return false;
    const stuckAfter = Math.max(60_000, this.d.settings.cycleIntervalMs * 10);
    const since = this.lastCycleAt ?? this.startedAt;
    return this.d.clock.now() - since < stuckAfter;
  }

  /** JSON for GET /v1/status. */
  status(): Record<string, unknown> {
    const self = this.d.observer.self();
    return {
      self: self ?? null,
      cycle: this.cycles,
      lastCycle: this.last
        ? {
            at: this.last.at,
            durationMs: this.last.durationMs,
            plan: this.last.plan.map((a) => ({ action: a.kind, target: actionTarget(a), reason: a.reason })),
            result: this.last.result,
            observation: this.last.summary,
          }
        : null,
      lastError: this.lastError ?? null,
    };
  }

  /** This agent's answer to GET /v1/bootstrap. */
  async bootstrapView(): Promise<PeerBootstrapView> {
    const self = this.d.observer.self();
    const view: PeerBootstrapView = { instanceId: self?.instanceId ?? '', reachable: true };
    const [hasData, read] = await Promise.all([
      this.d.hasData(this.d.settings.dataDir).catch(() => true),
      this.d.store.read(),
    ]);
    // An unreadable state file is unknown local state: never vouch for a bootstrap then.
    view.hasData = hasData || !read.ok;
    if (read.ok && read.record.vote)
      view.vote = { candidate: read.record.vote.candidate, at: read.record.vote.at };
    // The whole group at once: the plan's other members start once one announces its own start.
    if (read.ok && read.record.planStarted) view.planStarted = read.record.planStarted.token;
    const st = await this.runningStatus();
    if (st !== undefined) {
      view.clusterId = st.clusterId;
      // Quorum-loss recovery: survivors compare what their etcd holds (src/core/recovery.ts).
      view.memberId = st.memberId;
      view.raftIndex = st.raftIndex;
      view.raftTerm = st.raftTerm;
      if (st.leaderId !== undefined) view.leaderId = st.leaderId;
    }
    return view;
  }

  /** The local etcd's own status when it runs and answers (short deadline). */
  async runningStatus(): Promise<MemberStatus | undefined> {
    const self = this.d.observer.self();
    if (!self || !this.d.runner.isRunning()) return undefined;
    try {
      return await this.d.etcd.status(
        self.clientUrl,
        AbortSignal.timeout(Math.min(500, this.d.settings.callTimeoutMs)),
      );
    } catch {
      return undefined;
    }
  }

  /** Cluster id of the local etcd when it runs and answers (short deadline). */
  async runningClusterId(): Promise<string | undefined> {
    const self = this.d.observer.self();
    if (!self || !this.d.runner.isRunning()) return undefined;
    try {
      const st = await this.d.etcd.status(
        self.clientUrl,
        AbortSignal.timeout(Math.min(500, this.d.settings.callTimeoutMs)),
      );
      return st.clusterId;
    } catch {
      return undefined;
    }
  }

  /** The seeder's start notice (POST /v1/bootstrap/started): when taken, the loop runs at once. */
  async notePlanStart(candidate: string, token: string): Promise<StartNoticeAnswer> {
    const answer = await this.d.votes.noteStarted(candidate, token);
    if (answer.accepted) this.wake();
    return answer;
  }

  castVote(
    candidate: string,
    desiredCapacity: number | undefined,
    plan?: BootstrapPlan,
  ): Promise<VoteAnswer> {
    return this.d.votes.cast(candidate, desiredCapacity, plan);
  }
}

function targetFields(a: Action): Record<string, unknown> {
  switch (a.kind) {
    case 'promote-member':
      return { memberId: a.memberId };
    case 'remove-member':
      return { memberId: a.memberId, why: a.why };
    case 'move-leader':
      return { from: a.from, to: a.to };
    case 'collect-votes':
      return a.plan === undefined ? { from: a.from } : { from: a.from, plan: a.plan.token };
    case 'bootstrap':
      // `token` is a redacted log key; the cluster token is no secret.
      return a.plan === undefined
        ? { initialClusterToken: a.token }
        : {
            initialClusterToken: a.token,
            members: a.plan.members.map((m) => m.instanceId).join(','),
          };
    case 'force-new-cluster':
      return { memberId: a.memberId, raftIndex: a.raftIndex };
    case 'restore-snapshot':
      return { snapshot: a.snapshot, revision: a.revision };
    case 'start-etcd':
      return {
        state: a.state,
        initialCluster: a.initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(','),
      };
    default:
      return {};
  }
}

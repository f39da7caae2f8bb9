/**
 * This agent's side of the bootstrap vote: decides with the pure `decideVote` and stores a granted
 * vote durably in state.json BEFORE the answer leaves (a crash after answering must not let it vote
 * again for someone else), with the seeder's plan when it accepted it (the whole group at once: it
 * must still hold it when the seeder starts). Votes are serialized with every other state.json update.
 */
import { describeError } from '../core/errors.ts';
import type { InstanceId } from '../core/ids.ts';
import type { BootstrapPlan, GroupView } from '../core/observation.ts';
import { decideStartNotice, decideVote } from '../core/vote.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { LocalStateStore } from './local-state.ts';
import type { StartNoticeAnswer, VoteAnswer } from './types.ts';

/** What this instance has that a vote depends on. */
export interface LocalBootstrapFacts {
  hasData: boolean;
  /** Cluster id of the running local etcd, when it answers. */
  clusterId?: string;
}

export interface VoteKeeperOptions {
  store: LocalStateStore;
  clock: Clock;
  logger: Logger;
  voteTtlMs: number;
  /** agent.maxVoters: a plan with another number of initial voters is not accepted (none without it). */
  maxVoters?: number;
  /** This instance's id and peer URL, undefined when unknown (its entry in a plan must be exactly that). */
  self?: () =>
    | { instanceId: InstanceId; peerUrl: string }
    | undefined
    | Promise<{ instanceId: InstanceId; peerUrl: string } | undefined>;
  /** The agent's current view of the group (undefined when unknown). */
  groupView: () => GroupView | undefined | Promise<GroupView | undefined>;
  localFacts: () => Promise<LocalBootstrapFacts>;
}

export class VoteKeeper {
  private readonly opts: VoteKeeperOptions;

  constructor(opts: VoteKeeperOptions) {
    this.opts = opts;
  }

  /** Decides on a vote for `candidate` (and its plan); never throws (a failure is a refusal with the reason). */
  async cast(
    candidate: InstanceId,
    desiredCapacity: number | undefined,
    plan?: BootstrapPlan,
  ): Promise<VoteAnswer> {
    const group = await Promise.resolve(this.opts.groupView()).catch(() => undefined);
    const localView = group?.ok ? group.instances.map((i) => i.id) : undefined;
    const localDesiredCapacity = group?.ok ? group.desiredCapacity : undefined;
    let answer: VoteAnswer = { granted: false, reason: 'not decided' };
    const self = await Promise.resolve(this.opts.self?.()).catch(() => undefined);
    try {
      const facts = await this.opts.localFacts();
      await this.opts.store.update((record) => {
        const now = this.opts.clock.now();
        const clusterId = facts.clusterId ?? (facts.hasData ? record.clusterId : undefined);
        const decision = decideVote({
          candidate,
          desiredCapacity,
          localView,
          localDesiredCapacity,
          local: {
            hasData: facts.hasData,
            ...(clusterId !== undefined ? { clusterId } : {}),
            ...(record.vote !== undefined ? { vote: record.vote } : {}),
            ...(record.planStarted !== undefined ? { planStarted: record.planStarted } : {}),
          },
          now,
          voteTtlMs: this.opts.voteTtlMs,
          ...(this.opts.maxVoters !== undefined ? { maxVoters: this.opts.maxVoters } : {}),
          ...(plan !== undefined ? { plan } : {}),
          ...(self !== undefined ? { voter: self } : {}),
        });
        answer = { granted: decision.granted, reason: decision.reason };
        if (decision.planAccepted === true) answer.planAccepted = true;
        if (!decision.granted || decision.record === undefined) return undefined;
        return { ...record, vote: decision.record };
      });
    } catch (err) {
      answer = { granted: false, reason: `cannot vote: ${describeError(err)}` };
    }
    this.opts.logger.info(
      {
        candidate,
        desiredCapacity,
        granted: answer.granted,
        ...(plan !== undefined ? { plan: plan.token, planAccepted: answer.planAccepted === true } : {}),
        reason: answer.reason,
      },
      'bootstrap vote',
    );
    return answer;
  }

  /**
   * The seeder's start notice for the plan recorded with our vote (`decideStartNotice`): records
   * `planStarted` durably before answering when accepted. Never throws.
   */
  async noteStarted(candidate: InstanceId, token: string): Promise<StartNoticeAnswer> {
    let answer: StartNoticeAnswer = { accepted: false, reason: 'not decided' };
    try {
      const facts = await this.opts.localFacts();
      const self = await Promise.resolve(this.opts.self?.()).catch(() => undefined);
      await this.opts.store.update((record) => {
        if (self === undefined) {
          answer = { accepted: false, reason: 'my own identity is not known yet' };
          return undefined;
        }
        const d = decideStartNotice({
          candidate,
          token,
          self: self.instanceId,
          record,
          hasData: facts.hasData,
          now: this.opts.clock.now(),
          voteTtlMs: this.opts.voteTtlMs,
        });
        answer = { accepted: d.accepted, reason: d.reason };
        return d.planStarted === undefined ? undefined : { ...record, planStarted: d.planStarted };
      });
    } catch (err) {
      answer = { accepted: false, reason: `cannot take the notice: ${describeError(err)}` };
    }
    this.opts.logger.info(
      { candidate, initialClusterToken: token, accepted: answer.accepted, reason: answer.reason },
      'start notice',
    );
    return answer;
  }
}

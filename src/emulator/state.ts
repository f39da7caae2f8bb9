/**
 * The cloud emulator's model: Elastigroups, their instances, the instances' metadata (IMDS) state,
 * faults, rate limits and call counters. Stateful and clock-driven: every timed transition (pending →
 * running, TERMINATING → terminated) is due at a clock time and is applied by {@link CloudState.advance},
 * which the HTTP server calls before every request and on a short real interval. With a ManualClock a
 * test decides exactly when things happen. No module globals: two CloudStates never interfere.
 *
 * The HTTP skins (http/*.ts) only translate between the wire and these methods.
 */
import type { Clock } from '../ports/clock.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import { EmulatorError } from './errors.ts';
import { Prng } from './prng.ts';
import { SlidingWindow } from './rate-limit.ts';
import type { RateLimitDecision } from './rate-limit.ts';
import {
  faultRouteSchema,
  faultSpecSchema,
  formatIssues,
  groupPatchSchema,
  groupSpecSchema,
  interruptOptionsSchema,
  launchOptionsSchema,
  asgPatchSchema,
  completeActionSchema,
  instanceRefreshSchema,
  limitRouteSchema,
  lifecycleHookSpecSchema,
  rateLimitSchema,
  signalSchema,
} from './schemas.ts';
import type { LimitRoute } from './schemas.ts';
import { SPOT_ROUTES } from './types.ts';
import type {
  ApiRoute,
  AsgInstanceView,
  AsgLifecycleState,
  AsgSpec,
  AsgView,
  AwsRoute,
  CountedRoute,
  LifecycleActionResult,
  LifecycleActionView,
  LifecycleHookSpec,
  LifecycleHookView,
  LifecycleTransition,
  TargetLifecycleState,
  EmulatorEvent,
  EmulatorEventType,
  EmulatorStats,
  FaultRoute,
  FaultSpec,
  FaultView,
  GroupPatch,
  GroupSpec,
  GroupView,
  ImdsSettings,
  InstanceView,
  InterruptOptions,
  LaunchOptions,
  RateLimitSpec,
  RouteStats,
  SpotSignal,
} from './types.ts';
import type { z } from 'zod';

export interface CloudStateOptions {
  clock: Clock;
  /** The bearer token the Spot API accepts. */
  token: string;
  /** Spot account (`act-…`); when set, a request with a different `accountId` is refused. */
  account?: string;
  /** Three octets; instances get `<prefix>.10` … `<prefix>.250`. Default `127.0.100`. */
  ipPrefix?: string;
  /** Seed of the PRNG behind every random choice. Random when absent (see `seed`). */
  seed?: number;
  /** The AWS region the Auto Scaling / EC2 endpoints answer for (default us-east-1). */
  region?: string;
  /**
   * Access key ids the AWS endpoints accept in a SigV4 `Credential=` (plus the instance-profile key IMDS
   * hands out). Absent = any well-formed key id.
   */
  awsAccessKeyIds?: string[];
}

/** One instance refresh (StartInstanceRefresh), as DescribeInstanceRefreshes shows it. */
export interface InstanceRefreshView {
  id: string;
  groupId: string;
  status: 'InProgress' | 'Successful' | 'Cancelled';
  startTime: number;
  endTime?: number;
  minHealthyPercentage: number;
  maxHealthyPercentage: number;
  instanceWarmupMs: number;
  /** Instances to replace (launched before the refresh started), oldest first. */
  toReplace: string[];
  replaced: number;
  /** Instances still to replace. */
  instancesToUpdate: number;
  percentageComplete: number;
}

/** The instance profile's temporary credentials, as IMDS `iam/security-credentials/<role>` serves them. */
export interface InstanceCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  token: string;
  expiration: number;
  lastUpdated: number;
}

/** A fault that applies to one request, as handed to the HTTP layer. */
export interface ActiveFault {
  id: string;
  fault: FaultSpec;
  /** For `stale`: every instance as it was when the fault was added. */
  snapshot?: ReadonlyMap<string, InstanceView>;
}

export interface SignalResult {
  instanceId: string;
  signal: SpotSignal;
  /** 'terminated' when the signal ended a TERMINATING instance, else 'recorded'. */
  effect: 'terminated' | 'recorded';
}

export interface StateSnapshot {
  now: number;
  seed: number;
  account: string | undefined;
  ipPrefix: string;
  groups: GroupView[];
  instances: InstanceView[];
  faults: FaultView[];
  rateLimits: Partial<Record<LimitRoute, { limit: number; windowMs: number }>>;
  instanceRefreshes: InstanceRefreshView[];
  lastSeq: number;
}

export type EventListener = (event: EmulatorEvent) => void;

const IP_FIRST = 10;
const IP_LAST = 250;
const DEFAULT_AZS = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const DEFAULT_IMDS: ImdsSettings = { requireV2: false, tokenPut: 'ok', tagsEnabled: true, down: false };
/** Routes without a configured limit still report X-RateLimit-* headers against this (never reached in practice). */
export const DEFAULT_RATE_LIMIT = { limit: 100_000, windowMs: 60_000 };

interface InstanceRec extends InstanceView {
  /** Launch order, to break ties between instances launched in the same millisecond. */
  ordinal: number;
  asg?: AsgInstanceView;
}

interface Due {
  at: number;
  seq: number;
  /** `hook-timeout`: a lifecycle action's timeout; `refresh`: re-check a group's instance refresh (instanceId = group id). */
  kind: 'running' | 'terminate' | 'hook-timeout' | 'refresh';
  instanceId: string;
}

interface RefreshRec {
  id: string;
  groupId: string;
  status: 'InProgress' | 'Successful' | 'Cancelled';
  startTime: number;
  endTime?: number;
  minHealthyPercentage: number;
  maxHealthyPercentage: number;
  instanceWarmupMs: number;
  toReplace: string[];
  replaced: number;
  /** The old instance being replaced now and (launch-before-terminate) its replacement. */
  current?: { old: string; replacement?: string };
}

/** The AWS error a lifecycle call gets (message texts follow AWS's). */
function noActiveAction(by: { instanceId?: string; token?: string }): EmulatorError {
  const msg =
    by.token !== undefined && by.instanceId === undefined
      ? `No active Lifecycle Action found with token ${by.token}`
      : `No active Lifecycle Action found with instance ID ${by.instanceId ?? ''}`;
  return new EmulatorError(msg, 400, undefined, 'ValidationError');
}

const MAX_GLOBAL_TIMEOUT_SEC = 48 * 3600;

function hookView(h: LifecycleHookSpec): LifecycleHookView {
  const heartbeatTimeoutSec = h.heartbeatTimeoutSec ?? 3600;
  return {
    name: h.name,
    transition: h.transition,
    heartbeatTimeoutSec,
    defaultResult: h.defaultResult ?? 'ABANDON',
    globalTimeoutSec: Math.min(MAX_GLOBAL_TIMEOUT_SEC, 100 * heartbeatTimeoutSec),
  };
}

/** IMDS `autoscaling/target-lifecycle-state` for an ASG lifecycle state. */
function targetStateOf(s: AsgLifecycleState): TargetLifecycleState {
  if (s.startsWith('Terminat')) return 'Terminated';
  if (s === 'Warmed:Running') return 'Warmed:Running';
  if (s === 'Standby' || s === 'EnteringStandby') return 'Standby';
  return 'InService';
}

interface FaultRec {
  id: string;
  route: FaultRoute;
  fault: FaultSpec;
  addedAt: number;
  remaining?: number;
  snapshot?: Map<string, InstanceView>;
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new EmulatorError(`invalid ${what}: ${formatIssues(r.error).join('; ')}`, 400);
  return r.data;
}

function emptyStats(): RouteStats {
  return {
    requests: 0,
    ok: 0,
    clientErrors: 0,
    serverErrors: 0,
    rateLimited: 0,
    faulted: 0,
    dropped: 0,
    noNotice: 0,
  };
}

function isAwsRoute(route: CountedRoute): route is AwsRoute {
  return route.startsWith('autoscaling:') || route.startsWith('ec2:');
}

/** Which fault kinds mean something on which route; a fault that does not apply is neither used nor counted. */
function faultApplies(kind: FaultSpec['kind'], route: CountedRoute): boolean {
  if (isAwsRoute(route)) {
    switch (kind) {
      case 'partial':
        return route === 'autoscaling:DescribeAutoScalingGroups' || route === 'ec2:DescribeInstances';
      case 'stale':
      case 'empty':
        return /^(autoscaling|ec2):Describe/.test(route);
      case 'no-private-ip':
        return route === 'ec2:DescribeInstances';
      default:
        return true;
    }
  }
  switch (kind) {
    case 'aws-error':
    case 'no-private-ip':
      return false;
    case 'partial':
      return route === 'group-status';
    case 'stale':
      return route === 'group-status' || route === 'instance-status' || route === 'imds';
    case 'empty':
      return route !== 'signal';
    default:
      return true;
  }
}

export class CloudState {
  readonly clock: Clock;
  readonly token: string;
  readonly account: string | undefined;
  readonly ipPrefix: string;
  readonly seed: number;
  /** The 12-digit AWS account id the instance identity documents show. */
  readonly awsAccountId: string;

  private readonly rng: Prng;
  private readonly groups = new Map<string, GroupView>();
  private readonly instances = new Map<string, InstanceRec>();
  private readonly liveIps = new Map<string, string>();
  private readonly everUsedIps = new Set<string>();
  /** Freed addresses, oldest first. */
  private freedIps: string[] = [];
  private due: Due[] = [];
  private dueSeq = 0;
  private ordinal = 0;
  private readonly log: EmulatorEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private faultList: FaultRec[] = [];
  private faultSeq = 0;
  private readonly limits = new Map<LimitRoute, SlidingWindow>();
  private readonly defaultWindows = new Map<LimitRoute, SlidingWindow>();
  private counters: Record<ApiRoute, RouteStats>;
  private countersSince: number;
  private readonly tokens = new Map<string, { instanceId: string; expiresAt: number }>();
  private logicalNow: number | undefined;
  private advancing = false;
  private awsCounters: Partial<Record<AwsRoute, RouteStats>> = {};
  private readonly refreshes: RefreshRec[] = [];
  private refreshSeq = 0;
  /** The AWS region of the Auto Scaling / EC2 endpoints. */
  readonly region: string;
  /** Access key ids the AWS endpoints accept; undefined = any well-formed one. */
  private readonly accessKeyIds: Set<string> | undefined;
  private readonly profileCredentials: InstanceCredentials;
  private readonly awsRng: Prng;

  constructor(opts: CloudStateOptions) {
    this.clock = opts.clock;
    if (typeof opts.token !== 'string' || opts.token === '')
      throw new ConfigError(['token: the emulator needs a non-empty bearer token']);
    this.token = opts.token;
    this.account = opts.account;
    const prefix = opts.ipPrefix ?? '127.0.100';
    const octets = prefix.split('.');
    if (octets.length !== 3 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) {
      throw new ConfigError([
        `ipPrefix: expected three octets such as 127.0.100, got ${JSON.stringify(prefix)}`,
      ]);
    }
    this.ipPrefix = octets.map(Number).join('.');
    this.seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.rng = new Prng(this.seed);
    this.awsAccountId = String(100_000_000_000 + (this.rng.u32() % 800_000_000) * 1000 + this.rng.int(1000));
    this.counters = this.freshCounters();
    this.countersSince = this.clock.now();
    this.region = opts.region ?? 'us-east-1';
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(this.region))
      throw new ConfigError([
        `region: expected an AWS region such as us-east-1, got ${JSON.stringify(this.region)}`,
      ]);
    this.accessKeyIds = opts.awsAccessKeyIds ? new Set(opts.awsAccessKeyIds) : undefined;
    // A PRNG of its own, so that AWS request ids and tokens never shift the Spot side's seeded ids.
    this.awsRng = new Prng((this.seed ^ 0x9e3779b9) >>> 0);
    const issued = this.clock.now();
    this.profileCredentials = {
      accessKeyId: `ASIA${this.awsRng.alnum(16).toUpperCase()}`,
      secretAccessKey: this.awsRng.base64(30),
      token: this.awsRng.base64(120),
      expiration: issued + 6 * 3600_000,
      lastUpdated: issued,
    };
  }

  // ---------------------------------------------------------------- time

  /** The current model time: the clock, or the due time of the transition being applied. */
  now(): number {
    return this.logicalNow ?? this.clock.now();
  }

  /**
   * Applies every transition due at `clock.now()`, in time order, then drops expired faults.
   * Returns how many transitions were applied. Re-entrant calls (from an event subscriber) are no-ops.
   */
  advance(): number {
    if (this.advancing) return 0;
    this.advancing = true;
    let applied = 0;
    try {
      const now = this.clock.now();
      for (;;) {
        const next = this.due[0];
        if (next === undefined || next.at > now) break;
        this.due.shift();
        this.logicalNow = next.at;
        if (this.applyDue(next)) applied++;
      }
      this.logicalNow = undefined;
      for (const f of this.faultList.slice()) {
        if (f.fault.untilMs !== undefined && f.fault.untilMs <= now) this.dropFault(f, 'expired');
      }
    } finally {
      this.logicalNow = undefined;
      this.advancing = false;
    }
    return applied;
  }

  /** Alias of {@link advance}. */
  tick(): number {
    return this.advance();
  }

  /** Clock time of the next timed transition, if any (for schedulers that want to sleep until then). */
  nextDueAt(): number | undefined {
    return this.due[0]?.at;
  }

  private schedule(at: number, kind: Due['kind'], instanceId: string): void {
    const entry: Due = { at, seq: ++this.dueSeq, kind, instanceId };
    let lo = 0;
    let hi = this.due.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.due[mid] as Due;
      if (m.at < at || (m.at === at && m.seq < entry.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.due.splice(lo, 0, entry);
  }

  private applyDue(d: Due): boolean {
    if (d.kind === 'refresh') {
      const group = this.groups.get(d.instanceId);
      if (group) this.stepRefresh(group);
      return group !== undefined;
    }
    const inst = this.instances.get(d.instanceId);
    if (!inst) return false;
    if (d.kind === 'running') {
      if (inst.state !== 'pending') return false;
      this.markRunning(inst);
      return true;
    }
    if (d.kind === 'hook-timeout') return this.lifecycleTimeout(inst, d.at);
    if (inst.state !== 'terminating' || inst.terminateAt !== d.at) return false;
    const noticeEnded = inst.spotNotice !== undefined && inst.spotNotice.time <= d.at;
    if (inst.asg) {
      this.finishTermination(inst, noticeEnded ? 'interrupt' : (inst.terminationReason ?? 'scale-in'));
      return true;
    }
    this.finishTermination(
      inst,
      inst.terminationReason === 'scale-in' ? 'scale-in' : noticeEnded ? 'interrupt' : 'timeout',
    );
    return true;
  }

  /** Runs a mutation with due transitions applied before and after it (so zero-delay transitions happen at once). */
  private mutate<T>(fn: () => T): T {
    this.advance();
    const result = fn();
    this.advance();
    return result;
  }

  // ---------------------------------------------------------------- events

  private record(
    type: EmulatorEventType,
    fields: { instanceId?: string; groupId?: string; detail?: Record<string, unknown> },
  ): void {
    const event: EmulatorEvent = Object.freeze({
      seq: this.log.length + 1,
      at: this.now(),
      type,
      ...(fields.instanceId !== undefined ? { instanceId: fields.instanceId } : {}),
      ...(fields.groupId !== undefined ? { groupId: fields.groupId } : {}),
      detail: Object.freeze({ ...(fields.detail ?? {}) }),
    });
    this.log.push(event);
    for (const fn of [...this.listeners]) {
      try {
        fn(event);
      } catch (err) {
        process.emitWarning(`emulator event subscriber threw on ${type}: ${describeError(err)}`);
      }
    }
  }

  /** For the server layer (IMDS listener trouble and the like): appends an event to the log. */
  appendEvent(
    type: EmulatorEventType,
    fields: { instanceId?: string; groupId?: string; detail?: Record<string, unknown> },
  ): void {
    this.record(type, fields);
  }

  /** Events with `seq > sinceSeq`, oldest first. */
  events(sinceSeq = 0): EmulatorEvent[] {
    return this.log.slice(Math.max(0, Math.floor(sinceSeq)));
  }

  lastSeq(): number {
    return this.log.length;
  }

  /** Calls `fn` synchronously for every new event. Returns the unsubscribe function. */
  subscribe(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  on(_event: 'event', fn: EventListener): this {
    this.listeners.add(fn);
    return this;
  }

  off(_event: 'event', fn: EventListener): this {
    this.listeners.delete(fn);
    return this;
  }

  // ---------------------------------------------------------------- groups

  createGroup(spec: GroupSpec): GroupView {
    return this.mutate(() => {
      const s = parseOrThrow(groupSpecSchema, spec, 'group');
      const provider = s.provider ?? 'elastigroup';
      let id = provider === 'asg' ? s.name : s.id;
      if (provider === 'asg' && this.groups.has(s.name)) {
        throw new EmulatorError(
          `AutoScalingGroup by this name already exists - A group with the name ${s.name} already exists`,
          409,
          undefined,
          'AlreadyExists',
        );
      }
      if (id === undefined) {
        do id = `sig-${this.rng.hex(8)}`;
        while (this.groups.has(id));
      } else if (this.groups.has(id)) {
        throw new EmulatorError(`group ${id} already exists`, 409);
      }
      const minimum = s.minimum ?? 0;
      const maximum = s.maximum ?? Math.max(s.targetCapacity, 100);
      this.checkCapacityBounds(minimum, s.targetCapacity, maximum);
      const free = this.freePoolAddresses();
      if (s.targetCapacity > free) {
        throw new EmulatorError(
          `targetCapacity: ${s.targetCapacity} instances need more addresses than the ${free} free in ${this.ipPrefix}.${IP_FIRST}-${IP_LAST}`,
          409,
        );
      }
      const now = this.now();
      const group: GroupView = {
        id,
        name: s.name,
        provider,
        ...(provider === 'asg' ? { asg: this.buildAsgView(s.name, s.asg ?? {}) } : {}),
        targetCapacity: s.targetCapacity,
        minimum,
        maximum,
        autoReplace: s.autoReplace ?? true,
        replaceOn: s.replaceOn ?? 'terminating',
        signalTimeoutMs: s.signalTimeoutMs ?? 120_000,
        shutdownSignal: s.shutdownSignal ?? true,
        launchDelayMs: s.launchDelayMs ?? 0,
        ipReuse: s.ipReuse ?? 'never',
        imds: { ...DEFAULT_IMDS, ...stripUndefined(s.imds ?? {}) },
        instanceType: s.instanceType ?? 'm5.large',
        availabilityZones:
          s.availabilityZones ??
          (provider === 'asg' ? ['a', 'b', 'c'].map((z) => `${this.region}${z}`) : [...DEFAULT_AZS]),
        createdAt: now,
        updatedAt: now,
      };
      this.groups.set(id, group);
      this.record('group-created', {
        groupId: id,
        detail: { name: group.name, targetCapacity: group.targetCapacity },
      });
      for (let i = 0; i < group.targetCapacity; i++) this.launch(group, {}, 'initial');
      return this.groupView(group);
    });
  }

  getGroup(id: string): GroupView | undefined {
    const g = this.groups.get(id);
    return g ? this.groupView(g) : undefined;
  }

  listGroups(): GroupView[] {
    return [...this.groups.values()].map((g) => this.groupView(g));
  }

  /** Changes settings (imds, ipReuse, timeouts, auto-replace …); `targetCapacity` goes through setTargetCapacity. */
  updateGroup(id: string, patch: GroupPatch): GroupView {
    return this.mutate(() => {
      const group = this.requireGroup(id);
      const p = parseOrThrow(groupPatchSchema, patch, 'group patch');
      const minimum = p.minimum ?? group.minimum;
      const maximum = p.maximum ?? group.maximum;
      this.checkCapacityBounds(minimum, group.targetCapacity, maximum);
      const { imds, asg, ...rest } = p;
      if (asg !== undefined && !group.asg)
        throw new EmulatorError(`asg: group ${id} is not an asg group`, 400);
      Object.assign(group, stripUndefined(rest));
      if (imds) group.imds = { ...group.imds, ...stripUndefined(imds) };
      if (asg && group.asg) {
        const a = parseOrThrow(asgPatchSchema, asg, 'asg patch');
        const next = this.buildAsgView(group.name, {
          lifecycleHooks: a.lifecycleHooks ?? group.asg.lifecycleHooks,
          capacityRebalance: a.capacityRebalance ?? group.asg.capacityRebalance,
          tags: a.tags ?? group.asg.tags,
          proceedMs: a.proceedMs ?? group.asg.proceedMs,
          market: a.market ?? group.asg.market,
          iamRole: group.asg.iamRole,
          ...((a.instanceMaintenancePolicy ?? group.asg.instanceMaintenancePolicy)
            ? {
                instanceMaintenancePolicy: a.instanceMaintenancePolicy ?? group.asg.instanceMaintenancePolicy,
              }
            : {}),
        });
        next.arn = group.asg.arn;
        next.launchTemplateId = group.asg.launchTemplateId;
        group.asg = next;
      }
      group.updatedAt = this.now();
      this.record('group-updated', { groupId: id, detail: { changes: p } });
      this.reconcile(group);
      return this.groupView(group);
    });
  }

  /** Scale up launches; scale down interrupts the newest active instances with the group's signal timeout. */
  setTargetCapacity(groupId: string, target: number): GroupView {
    return this.mutate(() => {
      const group = this.requireGroup(groupId);
      if (!Number.isInteger(target) || target < 0)
        throw new EmulatorError(`target: expected a non-negative integer, got ${target}`, 400);
      this.checkCapacityBounds(group.minimum, target, group.maximum);
      this.applyTarget(group, target);
      return this.groupView(group);
    });
  }

  /**
   * UpdateAutoScalingGroup / SetDesiredCapacity: min, max and desired checked together with AWS's
   * messages (400 ValidationError), then applied like setTargetCapacity.
   */
  updateAutoScalingGroup(
    groupName: string,
    u: {
      minSize?: number;
      maxSize?: number;
      desiredCapacity?: number;
      capacityRebalance?: boolean;
      instanceMaintenancePolicy?: { minHealthyPercentage: number; maxHealthyPercentage: number } | null;
    },
    action: 'SetDesiredCapacity' | 'UpdateAutoScalingGroup' = 'UpdateAutoScalingGroup',
  ): GroupView {
    return this.mutate(() => {
      const group = this.requireAsg(groupName);
      const asg = group.asg as AsgView;
      const min = u.minSize ?? group.minimum;
      const max = u.maxSize ?? group.maximum;
      let desired = u.desiredCapacity ?? group.targetCapacity;
      const invalid = (m: string): EmulatorError => new EmulatorError(m, 400, undefined, 'ValidationError');
      if (action === 'SetDesiredCapacity') {
        if (desired > max)
          throw invalid(
            `New SetDesiredCapacity value ${desired} is above max value ${max} for the AutoScalingGroup.`,
          );
        if (desired < min)
          throw invalid(
            `New SetDesiredCapacity value ${desired} is below min value ${min} for the AutoScalingGroup.`,
          );
      } else {
        if (min > max) throw invalid(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
        if (u.desiredCapacity !== undefined && (desired < min || desired > max))
          throw invalid(
            `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
          );
        // AWS moves desired into the new bounds when only min/max changed
        desired = Math.min(Math.max(desired, min), max);
      }
      group.minimum = min;
      group.maximum = max;
      if (u.capacityRebalance !== undefined) asg.capacityRebalance = u.capacityRebalance;
      if (u.instanceMaintenancePolicy === null) delete asg.instanceMaintenancePolicy;
      else if (u.instanceMaintenancePolicy !== undefined)
        asg.instanceMaintenancePolicy = { ...u.instanceMaintenancePolicy };
      group.updatedAt = this.now();
      this.record('group-updated', { groupId: group.id, detail: { action, ...u } });
      if (desired !== group.targetCapacity) this.applyTarget(group, desired);
      return this.groupView(group);
    });
  }

  private applyTarget(group: GroupView, target: number): void {
    const groupId = group.id;
    const from = group.targetCapacity;
    group.targetCapacity = target;
    group.updatedAt = this.now();
    this.record('capacity-changed', { groupId, detail: { from, to: target } });
    const active = this.liveOf(group).filter(
      (i) => (i.state === 'pending' || i.state === 'running') && !outOfService(i),
    );
    if (active.length > target) {
      // ASG: scale-in protection exempts an instance (AWS then leaves the group above desired).
      const candidates = active.filter((i) => !i.asg?.protectedFromScaleIn);
      const newestFirst = candidates.sort((a, b) => b.launchedAt - a.launchedAt || b.ordinal - a.ordinal);
      for (const inst of newestFirst.slice(0, active.length - target)) {
        this.beginTermination(
          inst,
          { noticeMs: group.signalTimeoutMs, spotNotice: false, rebalance: false, lifecycle: true },
          'scale-in',
        );
      }
    }
    this.fill(group);
  }

  private requireGroup(id: string): GroupView {
    const g = this.groups.get(id);
    if (!g) throw new EmulatorError(`group ${id} does not exist`, 404);
    return g;
  }

  private checkCapacityBounds(minimum: number, target: number, maximum: number): void {
    if (minimum > maximum) throw new EmulatorError(`minimum: ${minimum} is above maximum ${maximum}`, 400);
    if (target < minimum || target > maximum) {
      throw new EmulatorError(
        `target: ${target} is outside the group's capacity bounds [${minimum}, ${maximum}]`,
        400,
      );
    }
  }

  private groupView(g: GroupView): GroupView {
    const v: GroupView = { ...g, imds: { ...g.imds }, availabilityZones: [...g.availabilityZones] };
    if (g.asg) {
      v.asg = {
        ...g.asg,
        lifecycleHooks: g.asg.lifecycleHooks.map((h) => ({ ...h })),
        tags: { ...g.asg.tags },
      };
      if (g.asg.instanceMaintenancePolicy)
        v.asg.instanceMaintenancePolicy = { ...g.asg.instanceMaintenancePolicy };
    }
    return v;
  }

  private buildAsgView(name: string, spec: AsgSpec): AsgView {
    const hooks = (spec.lifecycleHooks ?? []).map(hookView);
    const names = new Set<string>();
    for (const h of hooks) {
      if (names.has(h.name)) throw new EmulatorError(`lifecycleHooks: hook ${h.name} is listed twice`, 400);
      names.add(h.name);
    }
    const v: AsgView = {
      lifecycleHooks: hooks,
      capacityRebalance: spec.capacityRebalance ?? false,
      tags: { ...(spec.tags ?? {}) },
      proceedMs: spec.proceedMs ?? 0,
      market: spec.market ?? 'spot',
      iamRole: spec.iamRole ?? 'etcd-spot-instance',
      launchTemplateId: `lt-${this.awsRng.hex(17)}`,
      arn: `arn:aws:autoscaling:${this.region}:${this.awsAccountId}:autoScalingGroup:${this.awsRng.uuid()}:autoScalingGroupName/${name}`,
    };
    if (spec.instanceMaintenancePolicy) v.instanceMaintenancePolicy = { ...spec.instanceMaintenancePolicy };
    return v;
  }

  /** Live instances in the warm pool (ASG). */
  private warmedOf(group: GroupView): InstanceRec[] {
    return this.liveOf(group).filter((i) => isWarmed(i) && i.state !== 'terminating');
  }

  private liveOf(group: GroupView): InstanceRec[] {
    return [...this.instances.values()].filter((i) => i.groupId === group.id && i.state !== 'terminated');
  }

  /** Slots an instance occupies towards the target: active ones, plus TERMINATING ones until they are gone when replaceOn='terminated'. */
  private heldSlots(group: GroupView): number {
    const live = this.liveOf(group).filter((i) => !outOfService(i));
    return group.replaceOn === 'terminated'
      ? live.length
      : live.filter((i) => i.state !== 'terminating').length;
  }

  /** Launches until the target is met (scale-up and auto-replace). */
  private fill(group: GroupView): void {
    for (let held = this.heldSlots(group); held < group.targetCapacity; held++) {
      const warmed = this.warmedOf(group)[0];
      if (warmed) {
        this.leaveWarmPool(warmed);
        continue;
      }
      try {
        this.launch(group, {}, 'capacity');
      } catch (err) {
        this.record('launch-failed', { groupId: group.id, detail: { error: describeError(err) } });
        return;
      }
    }
  }

  private reconcile(group: GroupView): void {
    if (group.autoReplace) this.fill(group);
  }

  // ---------------------------------------------------------------- instances

  launchInstance(groupId: string, opts: LaunchOptions = {}): InstanceView {
    const inst = this.mutate(() => {
      const group = this.requireGroup(groupId);
      const o = parseOrThrow(launchOptionsSchema, opts, 'launch options');
      return this.launch(group, o, 'manual');
    });
    return this.instanceView(inst);
  }

  getInstance(id: string): InstanceView | undefined {
    const i = this.instances.get(id);
    return i ? this.instanceView(i) : undefined;
  }

  /** Instances, oldest launch first; terminated ones only when asked. */
  listInstances(filter: { groupId?: string; includeTerminated?: boolean } = {}): InstanceView[] {
    const out: InstanceView[] = [];
    for (const i of this.instances.values()) {
      if (filter.groupId !== undefined && i.groupId !== filter.groupId) continue;
      if (i.state === 'terminated' && !filter.includeTerminated) continue;
      out.push(this.instanceView(i));
    }
    return out;
  }

  /** The live instance holding `ip`, if any. */
  instanceByIp(ip: string): InstanceView | undefined {
    const id = this.liveIps.get(ip);
    return id === undefined ? undefined : this.getInstance(id);
  }

  /** Hard kill, like terminating the VM from the console: terminated now, no notice. */
  terminateInstance(id: string): InstanceView {
    return this.mutate(() => {
      const inst = this.requireLive(id);
      this.finishTermination(inst, 'terminate');
      return this.instanceView(inst);
    });
  }

  /**
   * A spot interruption: TERMINATING now, IMDS notices as asked, terminated after
   * min(noticeMs, signalTimeoutMs) or when the instance signals INSTANCE_READY_TO_SHUTDOWN.
   * A second interrupt of a TERMINATING instance can only bring its termination forward.
   */
  interruptInstance(id: string, opts: InterruptOptions = {}): InstanceView {
    const inst = this.mutate(() => {
      const rec = this.requireLive(id);
      const o = parseOrThrow(interruptOptionsSchema, opts, 'interrupt options');
      this.beginTermination(rec, o, 'interrupt');
      return rec;
    });
    return this.instanceView(inst);
  }

  /** A rebalance recommendation alone (advisory; nothing else changes). */
  recommendRebalance(id: string): InstanceView {
    return this.mutate(() => {
      const inst = this.requireLive(id);
      inst.rebalanceNoticeTime = this.now();
      this.record('rebalance', {
        instanceId: id,
        groupId: inst.groupId,
        detail: { noticeTime: inst.rebalanceNoticeTime },
      });
      const group = this.requireGroup(inst.groupId);
      // Capacity Rebalancing: launch the replacement now; the old one goes to the termination hook once
      // the replacement is InService (see enterService).
      if (
        group.asg?.capacityRebalance &&
        inst.asg?.lifecycleState === 'InService' &&
        !this.liveOf(group).some((i) => i.asg?.replaces === id)
      ) {
        try {
          this.launch(group, { replaces: id }, 'rebalance');
        } catch (err) {
          this.record('launch-failed', { groupId: group.id, detail: { error: describeError(err) } });
        }
      }
      return this.instanceView(inst);
    });
  }

  /** POST /aws/ec2/instance/signal. Throws 404 for an unknown or terminated instance. */
  signal(instanceId: string, signal: SpotSignal): SignalResult {
    return this.mutate(() => {
      const sig = parseOrThrow(signalSchema, signal, 'signal');
      const inst = this.instances.get(instanceId);
      if (!inst || inst.state === 'terminated')
        throw new EmulatorError(`instance ${instanceId} does not exist`, 404);
      inst.signals.push({ signal: sig, at: this.now() });
      // An ASG instance's termination is held by its lifecycle hook, not by Spot signals.
      const ends = sig === 'INSTANCE_READY_TO_SHUTDOWN' && inst.state === 'terminating' && !inst.asg;
      this.record('signal', {
        instanceId,
        groupId: inst.groupId,
        detail: { signal: sig, state: inst.state, effect: ends ? 'terminated' : 'recorded' },
      });
      if (ends) this.finishTermination(inst, 'signal');
      return { instanceId, signal: sig, effect: ends ? 'terminated' : 'recorded' };
    });
  }

  private requireLive(id: string): InstanceRec {
    const inst = this.instances.get(id);
    if (!inst) throw new EmulatorError(`instance ${id} does not exist`, 404);
    if (inst.state === 'terminated') throw new EmulatorError(`instance ${id} is already terminated`, 409);
    return inst;
  }

  private launch(group: GroupView, opts: LaunchOptions & { replaces?: string }, reason: string): InstanceRec {
    const privateIp = this.allocateIp(group, opts);
    let id: string;
    do id = `i-${this.rng.hex(17)}`;
    while (this.instances.has(id));
    const now = this.now();
    const inst: InstanceRec = {
      id,
      groupId: group.id,
      privateIp,
      availabilityZone: this.pickAz(group),
      instanceType: group.instanceType,
      spotInstanceRequestId: `sir-${this.rng.alnum(8)}`,
      launchedAt: now,
      state: 'pending',
      lifeCycleState: 'ACTIVE',
      targetLifecycleState: opts.warmed ? 'Warmed:Running' : 'InService',
      signals: [],
      ordinal: ++this.ordinal,
    };
    if (group.asg) {
      inst.asg = {
        lifecycleState: opts.warmed ? 'Warmed:Running' : 'Pending',
        healthStatus: 'Healthy',
        protectedFromScaleIn: false,
        lifecycleActions: [],
        completedActions: [],
      };
      if (opts.replaces !== undefined) inst.asg.replaces = opts.replaces;
    } else if (opts.warmed) {
      throw new EmulatorError('warmed: only instances of an asg group can be warmed', 400);
    }
    this.instances.set(id, inst);
    this.liveIps.set(privateIp, id);
    this.everUsedIps.add(privateIp);
    this.record('launched', {
      instanceId: id,
      groupId: group.id,
      detail: { privateIp, availabilityZone: inst.availabilityZone, reason },
    });
    if (group.launchDelayMs === 0) this.markRunning(inst);
    else this.schedule(now + group.launchDelayMs, 'running', id);
    return inst;
  }

  private markRunning(inst: InstanceRec): void {
    inst.state = 'running';
    inst.runningAt = this.now();
    this.record('running', {
      instanceId: inst.id,
      groupId: inst.groupId,
      detail: { privateIp: inst.privateIp },
    });
    if (inst.asg && inst.asg.lifecycleState === 'Pending') this.afterPending(inst);
  }

  private beginTermination(inst: InstanceRec, o: InterruptOptions, reason: 'interrupt' | 'scale-in'): void {
    if (inst.asg) {
      this.beginAsgTermination(inst, reason, o);
      return;
    }
    const group = this.requireGroup(inst.groupId);
    const now = this.now();
    const noticeMs = o.noticeMs ?? 120_000;
    const terminateAt = now + Math.min(noticeMs, group.signalTimeoutMs);
    if (inst.state === 'terminating') {
      if (inst.terminateAt !== undefined && terminateAt < inst.terminateAt) {
        inst.terminateAt = terminateAt;
        this.schedule(terminateAt, 'terminate', inst.id);
        this.record('interrupted', {
          instanceId: inst.id,
          groupId: inst.groupId,
          detail: { reason, noticeMs, terminateAt, again: true },
        });
      }
      return;
    }
    inst.state = 'terminating';
    inst.lifeCycleState = 'TERMINATING';
    inst.interruptedAt = now;
    inst.terminationReason = reason;
    if (o.spotNotice ?? true) inst.spotNotice = { action: 'terminate', time: now + noticeMs };
    if (o.rebalance ?? true) inst.rebalanceNoticeTime = now;
    if (o.lifecycle ?? true) inst.targetLifecycleState = 'Terminated';
    inst.terminateAt = terminateAt;
    this.schedule(terminateAt, 'terminate', inst.id);
    this.record('interrupted', {
      instanceId: inst.id,
      groupId: inst.groupId,
      detail: {
        reason,
        noticeMs,
        terminateAt,
        spotNotice: inst.spotNotice !== undefined,
        rebalance: o.rebalance ?? true,
        lifecycle: o.lifecycle ?? true,
      },
    });
    if (group.replaceOn === 'terminating') this.reconcile(group);
  }

  private finishTermination(inst: InstanceRec, reason: string): void {
    inst.state = 'terminated';
    inst.terminatedAt = this.now();
    inst.terminationReason = reason;
    if (inst.asg) {
      this.dropActions(inst);
      this.setAsgState(inst, 'Terminated');
    }
    this.liveIps.delete(inst.privateIp);
    this.freedIps = this.freedIps.filter((ip) => ip !== inst.privateIp);
    this.freedIps.push(inst.privateIp);
    this.record('terminated', {
      instanceId: inst.id,
      groupId: inst.groupId,
      detail: { reason, privateIp: inst.privateIp },
    });
    const group = this.groups.get(inst.groupId);
    if (group) this.reconcile(group);
    if (group?.asg) this.stepRefresh(group);
  }

  private pickAz(group: GroupView): string {
    const counts = new Map(group.availabilityZones.map((az) => [az, 0]));
    for (const i of this.liveOf(group)) {
      if (i.state === 'terminating') continue;
      if (counts.has(i.availabilityZone))
        counts.set(i.availabilityZone, (counts.get(i.availabilityZone) ?? 0) + 1);
    }
    let best = group.availabilityZones[0] ?? 'us-east-1a';
    for (const [az, n] of counts) if (n < (counts.get(best) ?? 0)) best = az;
    return best;
  }

  private poolAddress(n: number): string {
    return `${this.ipPrefix}.${n}`;
  }

  private freePoolAddresses(): number {
    let free = 0;
    for (let n = IP_FIRST; n <= IP_LAST; n++) if (!this.liveIps.has(this.poolAddress(n))) free++;
    return free;
  }

  /**
   * Picks a private IP: the one asked for; else the most recently freed one when reuse is asked or
   * preferred; else a never-used pool address; else (pool cycled through) the longest-free address.
   */
  private allocateIp(group: GroupView, opts: LaunchOptions): string {
    if (opts.privateIp !== undefined) {
      const holder = this.liveIps.get(opts.privateIp);
      if (holder !== undefined)
        throw new EmulatorError(`privateIp: ${opts.privateIp} is held by live instance ${holder}`, 409);
      this.freedIps = this.freedIps.filter((ip) => ip !== opts.privateIp);
      return opts.privateIp;
    }
    if ((opts.reuseIp || group.ipReuse === 'prefer') && this.freedIps.length > 0) {
      return this.freedIps.pop() as string;
    }
    for (let n = IP_FIRST; n <= IP_LAST; n++) {
      const ip = this.poolAddress(n);
      if (!this.everUsedIps.has(ip) && !this.liveIps.has(ip)) return ip;
    }
    const oldest = this.freedIps.shift();
    if (oldest !== undefined) return oldest;
    throw new EmulatorError(`no free address left in ${this.ipPrefix}.${IP_FIRST}-${IP_LAST}`, 409);
  }

  // ---------------------------------------------------------------- Auto Scaling

  private setAsgState(inst: InstanceRec, to: AsgLifecycleState): void {
    const a = inst.asg;
    if (!a || a.lifecycleState === to) return;
    const from = a.lifecycleState;
    a.lifecycleState = to;
    inst.targetLifecycleState = targetStateOf(to);
    this.record('lifecycle-state', { instanceId: inst.id, groupId: inst.groupId, detail: { from, to } });
  }

  private hooksFor(group: GroupView, transition: LifecycleTransition): LifecycleHookView[] {
    return (group.asg?.lifecycleHooks ?? []).filter((h) => h.transition === transition);
  }

  /** EC2 says running: Pending:Wait while a launch hook holds it, else InService. */
  private afterPending(inst: InstanceRec): void {
    if (inst.state !== 'running') return; // still booting: markRunning comes back here
    const group = this.requireGroup(inst.groupId);
    const hooks = this.hooksFor(group, 'autoscaling:EC2_INSTANCE_LAUNCHING');
    if (hooks.length > 0) {
      this.setAsgState(inst, 'Pending:Wait');
      this.startActions(inst, hooks);
    } else {
      this.enterService(inst);
    }
  }

  private enterService(inst: InstanceRec): void {
    const a = inst.asg;
    if (!a) return;
    if (a.lifecycleState === 'Pending:Wait') this.setAsgState(inst, 'Pending:Proceed');
    this.setAsgState(inst, 'InService');
    a.inServiceAt = this.now();
    const group = this.requireGroup(inst.groupId);
    if (a.replaces !== undefined) {
      const old = this.instances.get(a.replaces);
      if (old && old.state !== 'terminated' && old.state !== 'terminating')
        this.beginAsgTermination(old, 'rebalance', {});
    }
    this.stepRefresh(group);
  }

  /** A warm-pool instance is taken into the group (scale-out or the control API). */
  private leaveWarmPool(inst: InstanceRec): void {
    this.setAsgState(inst, 'Pending');
    this.afterPending(inst);
  }

  private startActions(inst: InstanceRec, hooks: LifecycleHookView[]): void {
    const a = inst.asg as AsgInstanceView;
    const now = this.now();
    for (const h of hooks) {
      const action: LifecycleActionView = {
        hookName: h.name,
        transition: h.transition,
        token: this.awsRng.uuid(),
        startedAt: now,
        timeoutAt: now + h.heartbeatTimeoutSec * 1000,
        globalTimeoutAt: now + h.globalTimeoutSec * 1000,
        heartbeats: 0,
      };
      a.lifecycleActions.push(action);
      this.schedule(action.timeoutAt, 'hook-timeout', inst.id);
      this.record('lifecycle-action', {
        instanceId: inst.id,
        groupId: inst.groupId,
        detail: {
          hookName: h.name,
          transition: h.transition,
          token: action.token,
          timeoutAt: action.timeoutAt,
        },
      });
    }
  }

  /** Ends every pending action without a result (the instance went away first). */
  private dropActions(inst: InstanceRec): void {
    const a = inst.asg;
    if (!a) return;
    for (const x of a.lifecycleActions.splice(0)) {
      a.completedActions.push({
        hookName: x.hookName,
        transition: x.transition,
        result: 'ABANDON',
        how: 'interrupted',
        at: this.now(),
      });
    }
  }

  private lifecycleTimeout(inst: InstanceRec, at: number): boolean {
    const a = inst.asg;
    if (!a) return false;
    const action = a.lifecycleActions.find((x) => x.timeoutAt === at);
    if (!action) return false;
    const group = this.groups.get(inst.groupId);
    const hook = group?.asg?.lifecycleHooks.find((h) => h.name === action.hookName);
    this.finishAction(inst, action, hook?.defaultResult ?? 'ABANDON', 'timeout');
    return true;
  }

  private finishAction(
    inst: InstanceRec,
    action: LifecycleActionView,
    result: LifecycleActionResult,
    how: 'complete' | 'timeout',
  ): void {
    const a = inst.asg as AsgInstanceView;
    a.lifecycleActions = a.lifecycleActions.filter((x) => x !== action);
    a.completedActions.push({
      hookName: action.hookName,
      transition: action.transition,
      result,
      how,
      at: this.now(),
    });
    this.record('lifecycle-completed', {
      instanceId: inst.id,
      groupId: inst.groupId,
      detail: { hookName: action.hookName, transition: action.transition, result, how },
    });
    if (action.transition === 'autoscaling:EC2_INSTANCE_TERMINATING') {
      if (result === 'ABANDON') this.dropActions(inst); // ABANDON skips the remaining hooks
      if (a.lifecycleActions.length === 0 && a.lifecycleState === 'Terminating:Wait')
        this.proceedTermination(inst);
      return;
    }
    if (result === 'ABANDON') {
      this.beginAsgTermination(inst, 'launch-abandoned', {});
      return;
    }
    if (a.lifecycleActions.length === 0 && a.lifecycleState === 'Pending:Wait') this.enterService(inst);
  }

  /**
   * ASG termination: `Terminating` → `Terminating:Wait` while the group's termination hooks hold it →
   * `Terminating:Proceed` → `Terminated` after `proceedMs`. A spot interruption also publishes the
   * IMDS notices and ends the instance at the notice's time whatever the hook says (AWS: a hook does
   * not outlast a spot interruption).
   */
  private beginAsgTermination(inst: InstanceRec, reason: string, o: InterruptOptions): void {
    const group = this.requireGroup(inst.groupId);
    const now = this.now();
    const interrupt = reason === 'interrupt';
    const noticeMs = o.noticeMs ?? 120_000;
    if (inst.state === 'terminating') {
      if (interrupt && (inst.terminateAt === undefined || now + noticeMs < inst.terminateAt)) {
        inst.terminateAt = now + noticeMs;
        if (o.spotNotice ?? true) inst.spotNotice = { action: 'terminate', time: inst.terminateAt };
        this.schedule(inst.terminateAt, 'terminate', inst.id);
        this.record('interrupted', {
          instanceId: inst.id,
          groupId: inst.groupId,
          detail: { reason, noticeMs, terminateAt: inst.terminateAt, again: true },
        });
      }
      return;
    }
    this.dropActions(inst); // a launch hook still holding it
    inst.state = 'terminating';
    inst.lifeCycleState = 'TERMINATING';
    inst.interruptedAt = now;
    inst.terminationReason = reason;
    if (interrupt) {
      if (o.spotNotice ?? true) inst.spotNotice = { action: 'terminate', time: now + noticeMs };
      if (o.rebalance ?? true) inst.rebalanceNoticeTime = now;
      inst.terminateAt = now + noticeMs;
      this.schedule(inst.terminateAt, 'terminate', inst.id);
    }
    const hooks = this.hooksFor(group, 'autoscaling:EC2_INSTANCE_TERMINATING');
    this.record('interrupted', {
      instanceId: inst.id,
      groupId: inst.groupId,
      detail: {
        reason,
        ...(interrupt
          ? { noticeMs, terminateAt: inst.terminateAt, spotNotice: inst.spotNotice !== undefined }
          : {}),
        hooks: hooks.map((h) => h.name),
      },
    });
    this.setAsgState(inst, 'Terminating');
    if (hooks.length > 0) {
      this.setAsgState(inst, 'Terminating:Wait');
      this.startActions(inst, hooks);
    } else {
      this.proceedTermination(inst);
    }
    if (group.replaceOn === 'terminating') this.reconcile(group);
  }

  private proceedTermination(inst: InstanceRec): void {
    const group = this.requireGroup(inst.groupId);
    this.setAsgState(inst, 'Terminating:Proceed');
    const end = this.now() + (group.asg?.proceedMs ?? 0);
    if (end <= this.now()) {
      this.finishTermination(inst, inst.terminationReason ?? 'scale-in');
      return;
    }
    if (inst.terminateAt === undefined || end < inst.terminateAt) {
      inst.terminateAt = end;
      this.schedule(end, 'terminate', inst.id);
    }
  }

  /** The `asg` group called `name` (AutoScalingGroupName), if any. */
  asgGroup(name: string): GroupView | undefined {
    const g = this.groups.get(name);
    return g?.asg ? this.groupView(g) : undefined;
  }

  private requireAsg(name: string): GroupView {
    const g = this.groups.get(name);
    if (!g?.asg)
      throw new EmulatorError(
        `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`,
        400,
        undefined,
        'ValidationError',
      );
    return g;
  }

  private findAction(p: { groupName: string; hookName: string; instanceId?: string; token?: string }): {
    inst: InstanceRec;
    action: LifecycleActionView;
  } {
    const group = this.requireAsg(p.groupName);
    if (p.instanceId === undefined && p.token === undefined)
      throw new EmulatorError(
        'Either LifecycleActionToken or InstanceId must be specified.',
        400,
        undefined,
        'ValidationError',
      );
    if (!group.asg?.lifecycleHooks.some((h) => h.name === p.hookName))
      throw new EmulatorError(
        `No Lifecycle Hook found with name ${p.hookName} for group ${group.name}`,
        400,
        undefined,
        'ValidationError',
      );
    for (const inst of this.liveOf(group)) {
      if (p.instanceId !== undefined && inst.id !== p.instanceId) continue;
      const action = inst.asg?.lifecycleActions.find(
        (x) => x.hookName === p.hookName && (p.token === undefined || x.token === p.token),
      );
      if (action) return { inst, action };
    }
    throw noActiveAction(p);
  }

  /** CompleteLifecycleAction. 400 ValidationError when no action of that hook is pending for the instance/token. */
  completeLifecycleAction(p: {
    groupName: string;
    hookName: string;
    instanceId?: string;
    token?: string;
    result: LifecycleActionResult;
  }): void {
    this.mutate(() => {
      const { inst, action } = this.findAction(p);
      this.finishAction(inst, action, p.result, 'complete');
    });
  }

  /** RecordLifecycleActionHeartbeat: restarts the action's heartbeat timeout (never past its global timeout). */
  recordLifecycleActionHeartbeat(p: {
    groupName: string;
    hookName: string;
    instanceId?: string;
    token?: string;
  }): void {
    this.mutate(() => {
      const { inst, action } = this.findAction(p);
      const group = this.requireGroup(inst.groupId);
      const hook = group.asg?.lifecycleHooks.find((h) => h.name === action.hookName);
      const next = Math.min(this.now() + (hook?.heartbeatTimeoutSec ?? 3600) * 1000, action.globalTimeoutAt);
      action.heartbeats++;
      if (next !== action.timeoutAt) {
        action.timeoutAt = next;
        this.schedule(next, 'hook-timeout', inst.id);
      }
      this.record('lifecycle-heartbeat', {
        instanceId: inst.id,
        groupId: inst.groupId,
        detail: { hookName: action.hookName, timeoutAt: next, heartbeats: action.heartbeats },
      });
    });
  }

  /** Control API: completes the instance's pending lifecycle action (the first, or the named hook's). */
  completeInstanceAction(
    instanceId: string,
    opts: { hookName?: string; result?: LifecycleActionResult } = {},
  ): InstanceView {
    return this.mutate(() => {
      const o = parseOrThrow(completeActionSchema, opts, 'lifecycle action');
      const inst = this.requireLive(instanceId);
      const action = inst.asg?.lifecycleActions.find(
        (x) => o.hookName === undefined || x.hookName === o.hookName,
      );
      if (!action) throw noActiveAction({ instanceId });
      this.finishAction(inst, action, o.result ?? 'CONTINUE', 'complete');
      return this.instanceView(inst);
    });
  }

  /** SetInstanceProtection. Unknown instance or one of another group → ValidationError. */
  setInstanceProtection(groupName: string, instanceIds: string[], protect: boolean): void {
    this.mutate(() => {
      const group = this.requireAsg(groupName);
      const insts = instanceIds.map((id) => {
        const inst = this.instances.get(id);
        if (!inst || inst.groupId !== group.id || inst.state === 'terminated')
          throw new EmulatorError(
            `The instance ${id} is not part of Auto Scaling group ${group.name}.`,
            400,
            undefined,
            'ValidationError',
          );
        return inst;
      });
      for (const inst of insts) {
        (inst.asg as AsgInstanceView).protectedFromScaleIn = protect;
        this.record('protection', { instanceId: inst.id, groupId: group.id, detail: { protected: protect } });
      }
    });
  }

  /**
   * TerminateInstanceInAutoScalingGroup: the instance goes through the termination hook; the group
   * launches a replacement unless `decrement` lowers the desired capacity.
   */
  terminateInAutoScalingGroup(
    instanceId: string,
    decrement: boolean,
  ): { instance: InstanceView; group: GroupView } {
    return this.mutate(() => {
      const inst = this.instances.get(instanceId);
      const group = inst ? this.groups.get(inst.groupId) : undefined;
      if (!inst || !group?.asg || inst.state === 'terminated')
        throw new EmulatorError(
          `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
          400,
          undefined,
          'ValidationError',
        );
      if (decrement && inst.state !== 'terminating' && !outOfService(inst)) {
        if (group.targetCapacity - 1 < group.minimum)
          throw new EmulatorError(
            `Currently, desiredSize equals minSize (${group.minimum}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
            400,
            undefined,
            'ValidationError',
          );
        const from = group.targetCapacity;
        group.targetCapacity = from - 1;
        group.updatedAt = this.now();
        this.record('capacity-changed', { groupId: group.id, detail: { from, to: group.targetCapacity } });
      }
      this.beginAsgTermination(inst, 'terminate-in-group', {});
      return { instance: this.instanceView(inst), group: this.groupView(group) };
    });
  }

  /** PutLifecycleHook: creates or replaces a hook by name. */
  putLifecycleHook(groupName: string, spec: LifecycleHookSpec): LifecycleHookView {
    return this.mutate(() => {
      const group = this.requireAsg(groupName);
      const s = parseOrThrow(lifecycleHookSpecSchema, spec, 'lifecycle hook');
      const asg = group.asg as AsgView;
      const view = hookView(s);
      const i = asg.lifecycleHooks.findIndex((h) => h.name === s.name);
      if (i === -1) asg.lifecycleHooks.push(view);
      else asg.lifecycleHooks[i] = view;
      group.updatedAt = this.now();
      this.record('group-updated', { groupId: group.id, detail: { lifecycleHook: view } });
      return { ...view };
    });
  }

  /** DeleteLifecycleHook. Pending actions of the hook end as if completed with its default result. */
  deleteLifecycleHook(groupName: string, hookName: string): void {
    this.mutate(() => {
      const group = this.requireAsg(groupName);
      const asg = group.asg as AsgView;
      const hook = asg.lifecycleHooks.find((h) => h.name === hookName);
      if (!hook)
        throw new EmulatorError(
          `No Lifecycle Hook found with name ${hookName} for group ${group.name}`,
          400,
          undefined,
          'ValidationError',
        );
      asg.lifecycleHooks = asg.lifecycleHooks.filter((h) => h !== hook);
      this.record('group-updated', { groupId: group.id, detail: { lifecycleHookDeleted: hookName } });
      for (const inst of this.liveOf(group)) {
        const action = inst.asg?.lifecycleActions.find((x) => x.hookName === hookName);
        if (action) this.finishAction(inst, action, hook.defaultResult, 'timeout');
      }
    });
  }

  /** Control API / warm pools: takes a `Warmed:Running` instance into service (Pending → InService). */
  enterServiceFromWarmPool(instanceId: string): InstanceView {
    return this.mutate(() => {
      const inst = this.requireLive(instanceId);
      if (!isWarmed(inst)) throw new EmulatorError(`instance ${instanceId} is not in a warm pool`, 409);
      this.leaveWarmPool(inst);
      return this.instanceView(inst);
    });
  }

  /**
   * SetInstanceHealth: an Unhealthy in-service instance is replaced — it goes through the termination
   * hook like any other termination (`terminationReason: 'unhealthy'`), as AWS does after a failed health
   * check. `Healthy` only records.
   */
  setInstanceHealth(instanceId: string, health: 'Healthy' | 'Unhealthy'): InstanceView {
    return this.mutate(() => {
      const inst = this.instances.get(instanceId);
      if (!inst?.asg || inst.state === 'terminated')
        throw new EmulatorError(
          `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
          400,
          undefined,
          'ValidationError',
        );
      const was = inst.asg.healthStatus;
      inst.asg.healthStatus = health;
      if (was !== health)
        this.record('health', { instanceId, groupId: inst.groupId, detail: { from: was, to: health } });
      if (health === 'Unhealthy' && inst.state !== 'terminating' && !outOfService(inst))
        this.beginAsgTermination(inst, 'unhealthy', {});
      return this.instanceView(inst);
    });
  }

  /**
   * EnterStandby: InService instances leave service (IMDS `target-lifecycle-state` = `Standby`) without
   * being terminated; unless `decrement`, replacements launch.
   */
  enterStandby(groupName: string, instanceIds: string[], decrement: boolean): InstanceView[] {
    return this.mutate(() => {
      const group = this.requireAsg(groupName);
      const insts = this.standbyTargets(group, instanceIds, 'InService');
      if (decrement) {
        if (group.targetCapacity - insts.length < group.minimum)
          throw new EmulatorError(
            `AutoScalingGroup ${group.name} has min-size=${group.minimum}, max-size=${group.maximum}, and desired-size=${group.targetCapacity}. To place into standby ${insts.length} instances, please update the AutoScalingGroup sizes appropriately.`,
            400,
            undefined,
            'ValidationError',
          );
        const from = group.targetCapacity;
        group.targetCapacity -= insts.length;
        this.record('capacity-changed', { groupId: group.id, detail: { from, to: group.targetCapacity } });
      }
      for (const inst of insts) {
        this.setAsgState(inst, 'EnteringStandby');
        this.setAsgState(inst, 'Standby');
      }
      this.reconcile(group);
      return insts.map((i) => this.instanceView(i));
    });
  }

  /** ExitStandby: Standby → Pending → InService (through a launch hook if any); desired grows by one each. */
  exitStandby(groupName: string, instanceIds: string[]): InstanceView[] {
    return this.mutate(() => {
      const group = this.requireAsg(groupName);
      const insts = this.standbyTargets(group, instanceIds, 'Standby');
      if (group.targetCapacity + insts.length > group.maximum)
        throw new EmulatorError(
          `AutoScalingGroup ${group.name} has min-size=${group.minimum}, max-size=${group.maximum}, and desired-size=${group.targetCapacity}. To move ${insts.length} instances out of standby, please update the AutoScalingGroup sizes appropriately.`,
          400,
          undefined,
          'ValidationError',
        );
      const from = group.targetCapacity;
      group.targetCapacity += insts.length;
      this.record('capacity-changed', { groupId: group.id, detail: { from, to: group.targetCapacity } });
      for (const inst of insts) {
        this.setAsgState(inst, 'Pending');
        this.afterPending(inst);
      }
      return insts.map((i) => this.instanceView(i));
    });
  }

  private standbyTargets(group: GroupView, ids: string[], must: 'InService' | 'Standby'): InstanceRec[] {
    if (ids.length === 0)
      throw new EmulatorError('InstanceIds must not be empty', 400, undefined, 'ValidationError');
    return ids.map((id) => {
      const inst = this.instances.get(id);
      if (!inst || inst.groupId !== group.id || inst.state === 'terminated')
        throw new EmulatorError(
          `The instance ${id} is not part of Auto Scaling group ${group.name}.`,
          400,
          undefined,
          'ValidationError',
        );
      if (inst.asg?.lifecycleState !== must)
        throw new EmulatorError(`The instance ${id} is not in ${must}.`, 400, undefined, 'ValidationError');
      return inst;
    });
  }

  // ---------------------------------------------------------------- instance refresh

  private refreshView(r: RefreshRec): InstanceRefreshView {
    const left = this.refreshLeft(r);
    const total = r.toReplace.length;
    const v: InstanceRefreshView = {
      id: r.id,
      groupId: r.groupId,
      status: r.status,
      startTime: r.startTime,
      minHealthyPercentage: r.minHealthyPercentage,
      maxHealthyPercentage: r.maxHealthyPercentage,
      instanceWarmupMs: r.instanceWarmupMs,
      toReplace: [...r.toReplace],
      replaced: r.replaced,
      instancesToUpdate: left,
      percentageComplete: total === 0 ? 100 : Math.floor(((total - left) * 100) / total),
    };
    if (r.endTime !== undefined) v.endTime = r.endTime;
    return v;
  }

  /** Old instances not yet replaced (the one being replaced counts until it is gone). */
  private refreshLeft(r: RefreshRec): number {
    if (r.status !== 'InProgress') return r.status === 'Successful' ? 0 : this.candidates(r).length;
    return this.candidates(r).length + (r.current ? 1 : 0);
  }

  private candidates(r: RefreshRec): InstanceRec[] {
    const out: InstanceRec[] = [];
    for (const id of r.toReplace) {
      const i = this.instances.get(id);
      if (!i || i.state === 'terminated' || i.state === 'terminating') continue;
      if (r.current?.old === id) continue;
      out.push(i);
    }
    return out;
  }

  /**
   * StartInstanceRefresh: replaces every instance that was in the group when it started, one at a time.
   * MinHealthyPercentage 100 = launch before terminate (the replacement is InService and warmed up
   * before the old one goes to the termination hook); below 100 = terminate first, then wait until the
   * group is back at desired capacity, all InService and warmed up. Preferences default to the group's
   * instance maintenance policy, else 90/100 (AWS's defaults).
   */
  startInstanceRefresh(
    groupName: string,
    prefs: { minHealthyPercentage?: number; maxHealthyPercentage?: number; instanceWarmupMs?: number } = {},
  ): InstanceRefreshView {
    return this.mutate(() => {
      const group = this.requireAsg(groupName);
      const p = parseOrThrow(instanceRefreshSchema, prefs, 'instance refresh');
      if (this.refreshes.some((r) => r.groupId === group.id && r.status === 'InProgress'))
        throw new EmulatorError(
          'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.',
          400,
          undefined,
          'InstanceRefreshInProgress',
        );
      const policy = group.asg?.instanceMaintenancePolicy;
      const rec: RefreshRec = {
        id: this.awsRng.uuid(),
        groupId: group.id,
        status: 'InProgress',
        startTime: this.now(),
        minHealthyPercentage: p.minHealthyPercentage ?? policy?.minHealthyPercentage ?? 90,
        maxHealthyPercentage: p.maxHealthyPercentage ?? policy?.maxHealthyPercentage ?? 100,
        instanceWarmupMs: p.instanceWarmupMs ?? 0,
        toReplace: this.liveOf(group)
          .filter((i) => i.state !== 'terminating' && !outOfService(i))
          .sort((a, b) => a.launchedAt - b.launchedAt || a.ordinal - b.ordinal)
          .map((i) => i.id),
        replaced: 0,
      };
      if (rec.minHealthyPercentage >= 100 && rec.maxHealthyPercentage <= 100)
        throw new EmulatorError(
          'MinHealthyPercentage of 100 needs MaxHealthyPercentage above 100 (launch before terminate).',
          400,
          undefined,
          'ValidationError',
        );
      this.refreshes.push(rec);
      this.record('instance-refresh', {
        groupId: group.id,
        detail: { id: rec.id, status: rec.status, toReplace: rec.toReplace.length },
      });
      this.stepRefresh(group);
      return this.refreshView(rec);
    });
  }

  /** Newest first, like DescribeInstanceRefreshes. */
  instanceRefreshes(groupName?: string): InstanceRefreshView[] {
    return this.refreshes
      .filter((r) => groupName === undefined || r.groupId === groupName)
      .map((r) => this.refreshView(r))
      .reverse();
  }

  cancelInstanceRefresh(groupName: string): InstanceRefreshView {
    return this.mutate(() => {
      const group = this.requireAsg(groupName);
      const rec = this.refreshes.find((r) => r.groupId === group.id && r.status === 'InProgress');
      if (!rec)
        throw new EmulatorError(
          `No in progress or pending Instance Refresh found for Auto Scaling group ${group.name}`,
          400,
          undefined,
          'ActiveInstanceRefreshNotFound',
        );
      this.endRefresh(rec, 'Cancelled');
      return this.refreshView(rec);
    });
  }

  private endRefresh(rec: RefreshRec, status: 'Successful' | 'Cancelled'): void {
    rec.status = status;
    rec.endTime = this.now();
    delete rec.current;
    this.record('instance-refresh', {
      groupId: rec.groupId,
      detail: { id: rec.id, status, replaced: rec.replaced },
    });
  }

  /** When an InService instance counts as healthy for a refresh (warm-up done), or undefined if not InService. */
  private healthyAt(inst: InstanceRec, rec: RefreshRec): number | undefined {
    if (inst.state !== 'running' || inst.asg?.lifecycleState !== 'InService') return undefined;
    return (inst.asg.inServiceAt ?? this.now()) + rec.instanceWarmupMs;
  }

  private readonly steppingRefresh = new Set<string>();

  private stepRefresh(group: GroupView): void {
    if (this.steppingRefresh.has(group.id)) return; // the outer step loops again
    const rec = this.refreshes.find((r) => r.groupId === group.id && r.status === 'InProgress');
    if (!rec) return;
    this.steppingRefresh.add(group.id);
    try {
      this.stepRefreshLoop(group, rec);
    } finally {
      this.steppingRefresh.delete(group.id);
    }
  }

  private stepRefreshLoop(group: GroupView, rec: RefreshRec): void {
    const launchFirst = rec.minHealthyPercentage >= 100;
    for (let guard = 0; guard < 10_000; guard++) {
      const now = this.now();
      const cur = rec.current;
      if (cur) {
        const old = this.instances.get(cur.old);
        const oldGone = !old || old.state === 'terminated';
        if (!oldGone && old.state !== 'terminating') {
          // launch before terminate: the old one waits for its replacement to be InService and warm
          const rep = cur.replacement !== undefined ? this.instances.get(cur.replacement) : undefined;
          if (!rep || rep.state === 'terminated') {
            try {
              cur.replacement = this.launch(group, {}, 'refresh').id;
            } catch (err) {
              this.record('launch-failed', { groupId: group.id, detail: { error: describeError(err) } });
              return;
            }
            continue;
          }
          const ready = this.healthyAt(rep, rec);
          if (ready === undefined) return;
          if (ready > now) {
            this.schedule(ready, 'refresh', group.id);
            return;
          }
          this.beginAsgTermination(old, 'refresh', {});
          continue;
        }
        if (!oldGone) return; // in the termination hook
        if (!launchFirst) {
          // terminate first: wait until the group is back at desired, all InService and warm
          const active = this.liveOf(group).filter((i) => i.state !== 'terminating' && !outOfService(i));
          if (active.length < group.targetCapacity) return;
          let latest = now;
          for (const i of active) {
            const at = this.healthyAt(i, rec);
            if (at === undefined) return;
            latest = Math.max(latest, at);
          }
          if (latest > now) {
            this.schedule(latest, 'refresh', group.id);
            return;
          }
        }
        rec.replaced++;
        delete rec.current;
      }
      const next = this.candidates(rec)[0];
      if (!next) {
        this.endRefresh(rec, 'Successful');
        return;
      }
      rec.current = { old: next.id };
      if (!launchFirst) this.beginAsgTermination(next, 'refresh', {});
    }
  }

  // ---------------------------------------------------------------- AWS credentials

  /** The instance profile's credentials (one set for every instance, never rotated; always accepted by the AWS endpoints). */
  instanceCredentials(): InstanceCredentials {
    return { ...this.profileCredentials };
  }

  /** Whether the AWS endpoints accept this SigV4 access key id. */
  acceptsAccessKey(id: string): boolean {
    if (id === this.profileCredentials.accessKeyId) return true;
    return this.accessKeyIds === undefined || this.accessKeyIds.has(id);
  }

  /** A request id for the AWS endpoints (seeded UUID, from a PRNG apart from the Spot side's). */
  newAwsRequestId(): string {
    return this.awsRng.uuid();
  }

  private instanceView(i: InstanceRec): InstanceView {
    const v: InstanceView = {
      id: i.id,
      groupId: i.groupId,
      privateIp: i.privateIp,
      availabilityZone: i.availabilityZone,
      instanceType: i.instanceType,
      spotInstanceRequestId: i.spotInstanceRequestId,
      launchedAt: i.launchedAt,
      state: i.state,
      lifeCycleState: i.lifeCycleState,
      targetLifecycleState: i.targetLifecycleState,
      signals: i.signals.map((s) => ({ ...s })),
    };
    if (i.runningAt !== undefined) v.runningAt = i.runningAt;
    if (i.spotNotice !== undefined) v.spotNotice = { ...i.spotNotice };
    if (i.rebalanceNoticeTime !== undefined) v.rebalanceNoticeTime = i.rebalanceNoticeTime;
    if (i.interruptedAt !== undefined) v.interruptedAt = i.interruptedAt;
    if (i.terminateAt !== undefined) v.terminateAt = i.terminateAt;
    if (i.terminatedAt !== undefined) v.terminatedAt = i.terminatedAt;
    if (i.terminationReason !== undefined) v.terminationReason = i.terminationReason;
    if (i.asg) {
      v.asg = {
        ...i.asg,
        lifecycleActions: i.asg.lifecycleActions.map((x) => ({ ...x })),
        completedActions: i.asg.completedActions.map((x) => ({ ...x })),
      };
    }
    return v;
  }

  // ---------------------------------------------------------------- IMDS tokens

  /** Issues an IMDSv2 token for one instance, valid for `ttlSec` seconds of the state's clock. */
  issueImdsToken(instanceId: string, ttlSec: number): string {
    const now = this.now();
    if (this.tokens.size > 10_000) {
      for (const [t, v] of this.tokens) if (v.expiresAt <= now) this.tokens.delete(t);
    }
    const token = this.rng.base64(32);
    this.tokens.set(token, { instanceId, expiresAt: now + ttlSec * 1000 });
    return token;
  }

  /** Valid = issued by this instance's IMDS and not expired. */
  checkImdsToken(
    instanceId: string,
    token: string,
  ): { ok: true; remainingSec: number } | { ok: false; reason: 'unknown' | 'expired' } {
    const t = this.tokens.get(token);
    if (!t || t.instanceId !== instanceId) return { ok: false, reason: 'unknown' };
    const left = t.expiresAt - this.now();
    if (left <= 0) return { ok: false, reason: 'expired' };
    return { ok: true, remainingSec: Math.ceil(left / 1000) };
  }

  // ---------------------------------------------------------------- faults

  /** Adds a fault on a route (`all` = every route). Returns its id. */
  addFault(route: FaultRoute, fault: FaultSpec): string {
    return this.mutate(() => {
      const r = parseOrThrow(faultRouteSchema, route, 'fault route');
      const f = parseOrThrow(faultSpecSchema, fault, 'fault') as FaultSpec;
      const id = `fault-${++this.faultSeq}`;
      const rec: FaultRec = { id, route: r, fault: f, addedAt: this.now() };
      if (f.count !== undefined) rec.remaining = f.count;
      if (f.kind === 'stale') {
        rec.snapshot = new Map([...this.instances.values()].map((i) => [i.id, this.instanceView(i)]));
      }
      this.faultList.push(rec);
      this.record('fault-added', { detail: { id, route: r, fault: f } });
      return id;
    });
  }

  /** Clears one fault, or all when `id` is absent. Returns how many were cleared. */
  clearFaults(id?: string): number {
    const victims = id === undefined ? this.faultList.slice() : this.faultList.filter((f) => f.id === id);
    for (const f of victims) this.dropFault(f, 'cleared');
    return victims.length;
  }

  faults(): FaultView[] {
    return this.faultList.map((f) => {
      const v: FaultView = { id: f.id, route: f.route, fault: { ...f.fault }, addedAt: f.addedAt };
      if (f.remaining !== undefined) v.remaining = f.remaining;
      return v;
    });
  }

  private dropFault(f: FaultRec, reason: string): void {
    const before = this.faultList.length;
    this.faultList = this.faultList.filter((x) => x !== f);
    if (this.faultList.length !== before)
      this.record('fault-cleared', { detail: { id: f.id, route: f.route, kind: f.fault.kind, reason } });
  }

  /**
   * For the HTTP layer: the faults that apply to one request on `route` (about `instanceId`, when
   * the route concerns one instance), oldest first. Each use counts against a fault's `count`.
   */
  takeFaults(route: CountedRoute, ctx: { instanceId?: string } = {}): ActiveFault[] {
    const now = this.now();
    const out: ActiveFault[] = [];
    for (const f of this.faultList.slice()) {
      const service = f.route === 'autoscaling' || f.route === 'ec2' ? `${f.route}:` : undefined;
      if (f.route !== 'all' && f.route !== route && !(service && route.startsWith(service))) continue;
      if (f.fault.untilMs !== undefined && f.fault.untilMs <= now) continue;
      if (f.fault.instanceId !== undefined && f.fault.instanceId !== ctx.instanceId) continue;
      if (!faultApplies(f.fault.kind, route)) continue;
      const a: ActiveFault = { id: f.id, fault: f.fault };
      if (f.snapshot) a.snapshot = f.snapshot;
      out.push(a);
      if (f.remaining !== undefined) {
        f.remaining--;
        if (f.remaining <= 0) this.dropFault(f, 'count');
      }
    }
    return out;
  }

  /** `k` distinct random elements (seeded), for `partial` faults' dropRandom. */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.rng.sample(items, k);
  }

  /** A request id for the Spot envelope (seeded UUID). */
  newRequestId(): string {
    return this.rng.uuid();
  }

  // ---------------------------------------------------------------- rate limits

  /** Sets (or with `null` removes) a sliding-window limit on one Spot route or one AWS action (`autoscaling:<Action>`). */
  setRateLimit(route: LimitRoute, spec: RateLimitSpec | null): void {
    const r = parseOrThrow(limitRouteSchema, route, 'rate-limit route');
    if (spec === null) {
      this.limits.delete(r);
      this.record('rate-limit-set', { detail: { route: r, limit: null } });
      return;
    }
    const s = parseOrThrow(rateLimitSchema, spec, 'rate limit');
    const windowMs = s.windowMs ?? 60_000;
    this.limits.set(r, new SlidingWindow(s.limit, windowMs));
    this.record('rate-limit-set', { detail: { route: r, limit: s.limit, windowMs } });
  }

  rateLimits(): Partial<Record<LimitRoute, { limit: number; windowMs: number }>> {
    const out: Partial<Record<LimitRoute, { limit: number; windowMs: number }>> = {};
    for (const [r, w] of this.limits) out[r] = { limit: w.limit, windowMs: w.windowMs };
    return out;
  }

  private window(route: LimitRoute): SlidingWindow {
    const w = this.limits.get(route);
    if (w) return w;
    let d = this.defaultWindows.get(route);
    if (!d) {
      d = new SlidingWindow(DEFAULT_RATE_LIMIT.limit, DEFAULT_RATE_LIMIT.windowMs);
      this.defaultWindows.set(route, d);
    }
    return d;
  }

  /** Counts one request against the route's window. */
  takeRateLimit(route: LimitRoute): RateLimitDecision {
    return this.window(route).take(this.now());
  }

  /** The route's numbers now, without counting a request (for replies refused before the limiter). */
  peekRateLimit(route: LimitRoute): RateLimitDecision {
    return this.window(route).peek(this.now());
  }

  // ---------------------------------------------------------------- stats

  private freshCounters(): Record<ApiRoute, RouteStats> {
    const c = {} as Record<ApiRoute, RouteStats>;
    for (const r of [...SPOT_ROUTES, 'imds' as const]) c[r] = emptyStats();
    return c;
  }

  /** For the HTTP layer: one finished request. */
  recordCall(
    route: CountedRoute,
    outcome: { status?: number; dropped?: boolean; faulted?: boolean; noNotice?: boolean },
  ): void {
    let c: RouteStats;
    if (isAwsRoute(route)) {
      c = this.awsCounters[route] ?? emptyStats();
      this.awsCounters[route] = c;
    } else {
      c = this.counters[route];
    }
    c.requests++;
    if (outcome.faulted) c.faulted++;
    if (outcome.dropped) c.dropped++;
    const s = outcome.status;
    if (s === undefined) return;
    if (s === 429) c.rateLimited++;
    if (s >= 200 && s < 300) c.ok++;
    else if (s === 404 && outcome.noNotice === true) c.noNotice++;
    else if (s >= 400 && s < 500) c.clientErrors++;
    else if (s >= 500) c.serverErrors++;
  }

  /** Call counters per route since the state was created (or since resetStats). */
  stats(): EmulatorStats {
    const routes = {} as Record<ApiRoute, RouteStats>;
    for (const [r, s] of Object.entries(this.counters) as [ApiRoute, RouteStats][]) routes[r] = { ...s };
    const aws: Partial<Record<AwsRoute, RouteStats>> = {};
    for (const [r, s] of Object.entries(this.awsCounters) as [AwsRoute, RouteStats][]) aws[r] = { ...s };
    return { since: this.countersSince, now: this.clock.now(), routes, aws };
  }

  resetStats(): void {
    this.awsCounters = {};
    this.counters = this.freshCounters();
    this.countersSince = this.clock.now();
  }

  // ---------------------------------------------------------------- whole state

  snapshot(): StateSnapshot {
    return {
      now: this.clock.now(),
      seed: this.seed,
      account: this.account,
      ipPrefix: this.ipPrefix,
      groups: this.listGroups(),
      instances: this.listInstances({ includeTerminated: true }),
      faults: this.faults(),
      rateLimits: this.rateLimits(),
      instanceRefreshes: this.instanceRefreshes(),
      lastSeq: this.lastSeq(),
    };
  }
}

function isWarmed(i: InstanceView): boolean {
  return i.asg?.lifecycleState === 'Warmed:Running';
}

/** Live but not counted towards desired capacity: warm pool and Standby. */
function outOfService(i: InstanceView): boolean {
  const s = i.asg?.lifecycleState;
  return s === 'Warmed:Running' || s === 'Standby' || s === 'EnteringStandby';
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

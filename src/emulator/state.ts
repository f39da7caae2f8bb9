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
  rateLimitSchema,
  signalSchema,
  spotRouteSchema,
} from './schemas.ts';
import { SPOT_ROUTES } from './types.ts';
import type {
  ApiRoute,
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
  SpotRoute,
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
  rateLimits: Partial<Record<SpotRoute, { limit: number; windowMs: number }>>;
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
}

interface Due {
  at: number;
  seq: number;
  kind: 'running' | 'terminate';
  instanceId: string;
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
  return { requests: 0, ok: 0, clientErrors: 0, serverErrors: 0, rateLimited: 0, faulted: 0, dropped: 0 };
}

/** Which fault kinds mean something on which route; a fault that does not apply is neither used nor counted. */
function faultApplies(kind: FaultSpec['kind'], route: ApiRoute): boolean {
  switch (kind) {
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
  private readonly limits = new Map<SpotRoute, SlidingWindow>();
  private readonly defaultWindows = new Map<SpotRoute, SlidingWindow>();
  private counters: Record<ApiRoute, RouteStats>;
  private countersSince: number;
  private readonly tokens = new Map<string, { instanceId: string; expiresAt: number }>();
  private logicalNow: number | undefined;
  private advancing = false;

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
    const inst = this.instances.get(d.instanceId);
    if (!inst) return false;
    if (d.kind === 'running') {
      if (inst.state !== 'pending') return false;
      this.markRunning(inst);
      return true;
    }
    if (inst.state !== 'terminating' || inst.terminateAt !== d.at) return false;
    const noticeEnded = inst.spotNotice !== undefined && inst.spotNotice.time <= d.at;
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
      let id = s.id;
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
        availabilityZones: s.availabilityZones ?? [...DEFAULT_AZS],
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
      const { imds, ...rest } = p;
      Object.assign(group, stripUndefined(rest));
      if (imds) group.imds = { ...group.imds, ...stripUndefined(imds) };
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
      const from = group.targetCapacity;
      group.targetCapacity = target;
      group.updatedAt = this.now();
      this.record('capacity-changed', { groupId, detail: { from, to: target } });
      const active = this.liveOf(group).filter((i) => i.state === 'pending' || i.state === 'running');
      if (active.length > target) {
        const newestFirst = active.sort((a, b) => b.launchedAt - a.launchedAt || b.ordinal - a.ordinal);
        for (const inst of newestFirst.slice(0, active.length - target)) {
          this.beginTermination(
            inst,
            { noticeMs: group.signalTimeoutMs, spotNotice: false, rebalance: false, lifecycle: true },
            'scale-in',
          );
        }
      }
      this.fill(group);
      return this.groupView(group);
    });
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
    return { ...g, imds: { ...g.imds }, availabilityZones: [...g.availabilityZones] };
  }

  private liveOf(group: GroupView): InstanceRec[] {
    return [...this.instances.values()].filter((i) => i.groupId === group.id && i.state !== 'terminated');
  }

  /** Slots an instance occupies towards the target: active ones, plus TERMINATING ones until they are gone when replaceOn='terminated'. */
  private heldSlots(group: GroupView): number {
    const live = this.liveOf(group);
    return group.replaceOn === 'terminated'
      ? live.length
      : live.filter((i) => i.state !== 'terminating').length;
  }

  /** Launches until the target is met (scale-up and auto-replace). */
  private fill(group: GroupView): void {
    for (let held = this.heldSlots(group); held < group.targetCapacity; held++) {
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
      const ends = sig === 'INSTANCE_READY_TO_SHUTDOWN' && inst.state === 'terminating';
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

  private launch(group: GroupView, opts: LaunchOptions, reason: string): InstanceRec {
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
      targetLifecycleState: 'InService',
      signals: [],
      ordinal: ++this.ordinal,
    };
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
  }

  private beginTermination(inst: InstanceRec, o: InterruptOptions, reason: 'interrupt' | 'scale-in'): void {
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
  takeFaults(route: ApiRoute, ctx: { instanceId?: string } = {}): ActiveFault[] {
    const now = this.now();
    const out: ActiveFault[] = [];
    for (const f of this.faultList.slice()) {
      if (f.route !== 'all' && f.route !== route) continue;
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

  /** Sets (or with `null` removes) a sliding-window limit on one Spot route. */
  setRateLimit(route: SpotRoute, spec: RateLimitSpec | null): void {
    const r = parseOrThrow(spotRouteSchema, route, 'rate-limit route');
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

  rateLimits(): Partial<Record<SpotRoute, { limit: number; windowMs: number }>> {
    const out: Partial<Record<SpotRoute, { limit: number; windowMs: number }>> = {};
    for (const [r, w] of this.limits) out[r] = { limit: w.limit, windowMs: w.windowMs };
    return out;
  }

  private window(route: SpotRoute): SlidingWindow {
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
  takeRateLimit(route: SpotRoute): RateLimitDecision {
    return this.window(route).take(this.now());
  }

  /** The route's numbers now, without counting a request (for replies refused before the limiter). */
  peekRateLimit(route: SpotRoute): RateLimitDecision {
    return this.window(route).peek(this.now());
  }

  // ---------------------------------------------------------------- stats

  private freshCounters(): Record<ApiRoute, RouteStats> {
    const c = {} as Record<ApiRoute, RouteStats>;
    for (const r of [...SPOT_ROUTES, 'imds' as const]) c[r] = emptyStats();
    return c;
  }

  /** For the HTTP layer: one finished request. */
  recordCall(route: ApiRoute, outcome: { status?: number; dropped?: boolean; faulted?: boolean }): void {
    const c = this.counters[route];
    c.requests++;
    if (outcome.faulted) c.faulted++;
    if (outcome.dropped) c.dropped++;
    const s = outcome.status;
    if (s === undefined) return;
    if (s === 429) c.rateLimited++;
    if (s >= 200 && s < 300) c.ok++;
    else if (s >= 400 && s < 500) c.clientErrors++;
    else if (s >= 500) c.serverErrors++;
  }

  /** Call counters per route since the state was created (or since resetStats). */
  stats(): EmulatorStats {
    const routes = {} as Record<ApiRoute, RouteStats>;
    for (const [r, s] of Object.entries(this.counters) as [ApiRoute, RouteStats][]) routes[r] = { ...s };
    return { since: this.countersSince, now: this.clock.now(), routes };
  }

  resetStats(): void {
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
      lastSeq: this.lastSeq(),
    };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

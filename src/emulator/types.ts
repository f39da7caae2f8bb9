/** Public data shapes of the cloud emulator's model (see state.ts for the operations). */

export type InstanceState = 'pending' | 'running' | 'terminating' | 'terminated';
export type LifeCycleState = 'ACTIVE' | 'TERMINATING';
export type TargetLifecycleState = 'InService' | 'Terminated';
export type SpotSignal = 'INSTANCE_READY' | 'INSTANCE_READY_TO_SHUTDOWN';
export type TokenPutMode = 'ok' | 403 | 404 | 405;

export interface ImdsSettings {
  /** HttpTokens=required: every GET needs a valid token, else 401. */
  requireV2: boolean;
  /** How `PUT /latest/api/token` answers: 'ok', or 403/404/405 to exercise clients' IMDSv1 fallback. */
  tokenPut: TokenPutMode;
  /** InstanceMetadataTags=enabled: `tags/instance[/key]` is served (404 otherwise). */
  tagsEnabled: boolean;
  /** The metadata service is down: every request gets 503. */
  down: boolean;
}

export interface GroupSpec {
  /** `sig-…`; generated when absent. */
  id?: string;
  name: string;
  targetCapacity: number;
  minimum?: number;
  maximum?: number;
  /** Keep `count(pending + running, not terminating) == target` (default true). */
  autoReplace?: boolean;
  /** When a replacement is launched for an interrupted instance (default 'terminating', i.e. right away). */
  replaceOn?: 'terminating' | 'terminated';
  /** A TERMINATING instance is terminated after this long unless it signals first (default 120 000). */
  signalTimeoutMs?: number;
  /**
   * The group's strategy lists the INSTANCE_READY_TO_SHUTDOWN signal (default true). Only what
   * `GET /aws/ec2/group/{id}` reports, for the agent's start-up check; termination timing is unchanged.
   */
  shutdownSignal?: boolean;
  /** pending → running after this long (default 0). */
  launchDelayMs?: number;
  /** 'prefer' gives a new instance the most recently freed IP (default 'never'). */
  ipReuse?: 'never' | 'prefer';
  imds?: Partial<ImdsSettings>;
  /** Default m5.large. */
  instanceType?: string;
  /** Default us-east-1a, us-east-1b, us-east-1c; new instances go to the least used one. */
  availabilityZones?: string[];
}

export type GroupPatch = Partial<Omit<GroupSpec, 'id' | 'targetCapacity' | 'imds'>> & {
  imds?: Partial<ImdsSettings>;
};

export interface GroupView {
  id: string;
  name: string;
  targetCapacity: number;
  minimum: number;
  maximum: number;
  autoReplace: boolean;
  replaceOn: 'terminating' | 'terminated';
  signalTimeoutMs: number;
  shutdownSignal: boolean;
  launchDelayMs: number;
  ipReuse: 'never' | 'prefer';
  imds: ImdsSettings;
  instanceType: string;
  availabilityZones: string[];
  createdAt: number;
  updatedAt: number;
}

export interface SpotNotice {
  action: 'terminate';
  /** ms since epoch. */
  time: number;
}

export interface InstanceView {
  id: string;
  groupId: string;
  privateIp: string;
  availabilityZone: string;
  instanceType: string;
  spotInstanceRequestId: string;
  launchedAt: number;
  runningAt?: number;
  state: InstanceState;
  lifeCycleState: LifeCycleState;
  targetLifecycleState: TargetLifecycleState;
  spotNotice?: SpotNotice;
  /** ms since epoch of the rebalance recommendation. */
  rebalanceNoticeTime?: number;
  interruptedAt?: number;
  /** When a TERMINATING instance will be terminated unless it signals first. */
  terminateAt?: number;
  terminatedAt?: number;
  /** Why it went away: interrupt | scale-in | signal | timeout | terminate. */
  terminationReason?: string;
  signals: { signal: SpotSignal; at: number }[];
}

export interface LaunchOptions {
  /** Use exactly this address (must not be held by a live instance). */
  privateIp?: string;
  /** Take the most recently freed address (falls back to a fresh one when none was freed). */
  reuseIp?: boolean;
}

export interface InterruptOptions {
  /** Time until the spot notice's `time` (default 120 000). */
  noticeMs?: number;
  /** Publish `spot/instance-action` + `spot/termination-time` in IMDS (default true). */
  spotNotice?: boolean;
  /** Publish `events/recommendations/rebalance` (default true). */
  rebalance?: boolean;
  /** Flip `autoscaling/target-lifecycle-state` to Terminated (default true). */
  lifecycle?: boolean;
}

export type EmulatorEventType =
  | 'group-created'
  | 'group-updated'
  | 'capacity-changed'
  | 'launched'
  | 'running'
  | 'launch-failed'
  | 'interrupted'
  | 'rebalance'
  | 'signal'
  | 'terminated'
  | 'fault-added'
  | 'fault-cleared'
  | 'rate-limit-set'
  | 'imds-listener';

export interface EmulatorEvent {
  seq: number;
  /** ms since epoch (the state's clock) when it happened. */
  at: number;
  type: EmulatorEventType;
  instanceId?: string;
  groupId?: string;
  detail: Record<string, unknown>;
}

/** Routes that faults, rate limits and call counters are keyed by. */
export type SpotRoute = 'group-list' | 'group-get' | 'group-status' | 'instance-status' | 'signal';
export type ApiRoute = SpotRoute | 'imds';
export type FaultRoute = ApiRoute | 'all';
export const SPOT_ROUTES: readonly SpotRoute[] = [
  'group-list',
  'group-get',
  'group-status',
  'instance-status',
  'signal',
];
export const FAULT_ROUTES: readonly FaultRoute[] = [...SPOT_ROUTES, 'imds', 'all'];

export type FaultKind =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number }
  | { kind: 'timeout'; ms: number }
  | { kind: 'rate-limit'; resetSec?: number }
  | { kind: 'malformed' }
  | { kind: 'stale' }
  | { kind: 'partial'; drop?: string[]; dropRandom?: number }
  | { kind: 'empty' };

export type FaultSpec = FaultKind & {
  /** Applies to the next N matching requests, then clears itself. */
  count?: number;
  /** Clears itself at this clock time (ms since epoch). */
  untilMs?: number;
  /** Only requests about this instance (its IMDS, its instance-status call). */
  instanceId?: string;
};

export interface FaultView {
  id: string;
  route: FaultRoute;
  fault: FaultSpec;
  addedAt: number;
  /** Matching requests left when `count` was given. */
  remaining?: number;
}

export interface RateLimitSpec {
  limit: number;
  /** Default 60 000. */
  windowMs?: number;
}

export interface RouteStats {
  requests: number;
  ok: number;
  clientErrors: number;
  serverErrors: number;
  rateLimited: number;
  /** Requests a fault applied to. */
  faulted: number;
  /** Connections the emulator dropped (timeout fault). */
  dropped: number;
}

export interface EmulatorStats {
  /** Clock time the counters started. */
  since: number;
  now: number;
  routes: Record<ApiRoute, RouteStats>;
}

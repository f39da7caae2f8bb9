/** Public data shapes of the cloud emulator's model (see state.ts for the operations). */

export type InstanceState = 'pending' | 'running' | 'terminating' | 'terminated';
export type LifeCycleState = 'ACTIVE' | 'TERMINATING';
export type TargetLifecycleState =
  'InService' | 'Terminated' | 'Standby' | 'Warmed:Running' | 'Warmed:Stopped' | 'Warmed:Hibernated';
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

/** Which cloud API the group is served by: the Spot.io Elastigroup API (default) or AWS Auto Scaling. */
export type GroupProvider = 'elastigroup' | 'asg';

/** Auto Scaling `LifecycleState` values the emulator produces (cloud-apis.md §3.4). */
export type AsgLifecycleState =
  | 'Pending'
  | 'Pending:Wait'
  | 'Pending:Proceed'
  | 'InService'
  | 'Terminating'
  | 'Terminating:Wait'
  | 'Terminating:Proceed'
  | 'Terminated'
  | 'Warmed:Running'
  | 'EnteringStandby'
  | 'Standby';

export type LifecycleTransition =
  'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING';
export type LifecycleActionResult = 'CONTINUE' | 'ABANDON';

export interface LifecycleHookSpec {
  name: string;
  transition: LifecycleTransition;
  /** Seconds (default 3600). AWS allows 30–7200; the control API also accepts 1–29 for fast tests. */
  heartbeatTimeoutSec?: number;
  /** What happens on timeout (default ABANDON, as in AWS). */
  defaultResult?: LifecycleActionResult;
}

export interface LifecycleHookView {
  name: string;
  transition: LifecycleTransition;
  heartbeatTimeoutSec: number;
  defaultResult: LifecycleActionResult;
  /** min(48 h, 100 × heartbeat), seconds. */
  globalTimeoutSec: number;
}

export interface InstanceMaintenancePolicy {
  /** 0–100; 100 = launch before terminate. */
  minHealthyPercentage: number;
  /** 100–200. */
  maxHealthyPercentage: number;
}

/** Auto Scaling settings of an `asg` group. */
export interface AsgSpec {
  lifecycleHooks?: LifecycleHookSpec[];
  /** Capacity Rebalancing: a rebalance recommendation launches a replacement first (default false). */
  capacityRebalance?: boolean;
  /** Group tags, propagated to instances (EC2 tags and IMDS `tags/instance`). */
  tags?: Record<string, string>;
  instanceMaintenancePolicy?: InstanceMaintenancePolicy;
  /** `Terminating:Proceed` → `Terminated` after this long (default 0). */
  proceedMs?: number;
  /** `instance-life-cycle` in IMDS and `instanceLifecycle` in EC2 (default 'spot'). */
  market?: 'spot' | 'on-demand';
  /** IAM role whose credentials IMDS serves (default `etcd-spot-instance`). */
  iamRole?: string;
}

export interface AsgView {
  lifecycleHooks: LifecycleHookView[];
  capacityRebalance: boolean;
  tags: Record<string, string>;
  instanceMaintenancePolicy?: InstanceMaintenancePolicy;
  proceedMs: number;
  market: 'spot' | 'on-demand';
  iamRole: string;
  arn: string;
  /** `lt-` + 17 hex: the launch template instances and the group report. */
  launchTemplateId: string;
}

export interface GroupSpec {
  /** `sig-…`; generated when absent. For `provider: 'asg'` the id is the group name (AutoScalingGroupName). */
  id?: string;
  /** Default 'elastigroup'. */
  provider?: GroupProvider;
  /** Only with provider 'asg'. */
  asg?: AsgSpec;
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

export type GroupPatch = Partial<Omit<GroupSpec, 'id' | 'targetCapacity' | 'imds' | 'provider' | 'asg'>> & {
  imds?: Partial<ImdsSettings>;
  /** ASG groups only: replaces the given fields (hooks as a whole list). */
  asg?: Partial<Omit<AsgSpec, 'iamRole'>>;
};

export interface GroupView {
  id: string;
  name: string;
  provider: GroupProvider;
  /** Present for provider 'asg'. */
  asg?: AsgView;
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

export interface LifecycleActionView {
  hookName: string;
  transition: LifecycleTransition;
  /** The LifecycleActionToken (a UUID). */
  token: string;
  startedAt: number;
  /** When the heartbeat timeout fires (moved by RecordLifecycleActionHeartbeat). */
  timeoutAt: number;
  /** startedAt + min(48 h, 100 × heartbeat): heartbeats cannot move timeoutAt past it. */
  globalTimeoutAt: number;
  heartbeats: number;
}

export interface LifecycleActionOutcome {
  hookName: string;
  transition: LifecycleTransition;
  result: LifecycleActionResult;
  /** 'complete' = CompleteLifecycleAction, 'timeout' = heartbeat/global timeout (default result), 'interrupted' = the instance went first. */
  how: 'complete' | 'timeout' | 'interrupted';
  at: number;
}

/** The Auto Scaling side of an instance of an `asg` group. */
export interface AsgInstanceView {
  lifecycleState: AsgLifecycleState;
  healthStatus: 'Healthy' | 'Unhealthy';
  protectedFromScaleIn: boolean;
  /** Pending lifecycle actions (one per hook of the current transition). */
  lifecycleActions: LifecycleActionView[];
  /** Finished lifecycle actions, oldest first. */
  completedActions: LifecycleActionOutcome[];
  /** When it became InService. */
  inServiceAt?: number;
  /** Launched by capacity rebalancing / an instance refresh to replace this instance. */
  replaces?: string;
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
  /** Present for instances of an `asg` group. */
  asg?: AsgInstanceView;
}

export interface LaunchOptions {
  /** Use exactly this address (must not be held by a live instance). */
  privateIp?: string;
  /** Take the most recently freed address (falls back to a fresh one when none was freed). */
  reuseIp?: boolean;
  /** ASG groups: launch into the warm pool as `Warmed:Running` (not counted towards desired capacity). */
  warmed?: boolean;
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
  | 'imds-listener'
  | 'lifecycle-state'
  | 'lifecycle-action'
  | 'lifecycle-heartbeat'
  | 'lifecycle-completed'
  | 'protection'
  | 'health'
  | 'instance-refresh';

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

/** Auto Scaling Query API actions the emulator serves (Version 2011-01-01). */
export const ASG_ACTIONS = [
  'DescribeAutoScalingGroups',
  'DescribeAutoScalingInstances',
  'DescribeLifecycleHooks',
  'PutLifecycleHook',
  'DeleteLifecycleHook',
  'RecordLifecycleActionHeartbeat',
  'CompleteLifecycleAction',
  'SetInstanceProtection',
  'SetDesiredCapacity',
  'UpdateAutoScalingGroup',
  'TerminateInstanceInAutoScalingGroup',
  'StartInstanceRefresh',
  'DescribeInstanceRefreshes',
  'CancelInstanceRefresh',
  'EnterStandby',
  'ExitStandby',
  'SetInstanceHealth',
] as const;
export type AsgAction = (typeof ASG_ACTIONS)[number];
/** EC2 Query API actions the emulator serves (Version 2016-11-15). */
export const EC2_ACTIONS = ['DescribeInstances'] as const;
export type Ec2Action = (typeof EC2_ACTIONS)[number];
/** Fault, rate-limit and counter key of one AWS action: `autoscaling:<Action>` or `ec2:<Action>`. */
export type AwsRoute = `autoscaling:${AsgAction}` | `ec2:${Ec2Action}`;
export const AWS_ROUTES: readonly AwsRoute[] = [
  ...ASG_ACTIONS.map((a) => `autoscaling:${a}` as const),
  ...EC2_ACTIONS.map((a) => `ec2:${a}` as const),
];
/** `autoscaling` / `ec2` = every action of that service. */
export type AwsFaultRoute = AwsRoute | 'autoscaling' | 'ec2';
/** Any route a request is counted under. */
export type CountedRoute = ApiRoute | AwsRoute;
export type FaultRoute = ApiRoute | AwsFaultRoute | 'all';
export const SPOT_ROUTES: readonly SpotRoute[] = [
  'group-list',
  'group-get',
  'group-status',
  'instance-status',
  'signal',
];
export const FAULT_ROUTES: readonly FaultRoute[] = [
  ...SPOT_ROUTES,
  'imds',
  'all',
  'autoscaling',
  'ec2',
  ...AWS_ROUTES,
];

export type FaultKind =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number }
  | { kind: 'timeout'; ms: number }
  | { kind: 'rate-limit'; resetSec?: number }
  | { kind: 'malformed' }
  | { kind: 'stale' }
  | { kind: 'partial'; drop?: string[]; dropRandom?: number }
  | { kind: 'empty' }
  /** AWS routes only: an AWS error reply with this code (e.g. AccessDenied 403, ValidationError 400). */
  | { kind: 'aws-error'; code: string; status?: number; message?: string }
  /** ec2:DescribeInstances only: these instances (default: the pending ones) come without a private IP yet. */
  | { kind: 'no-private-ip'; drop?: string[] };

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
  /**
   * IMDS only: 404s for a notice (`spot/instance-action`, `spot/termination-time`,
   * `events/recommendations/rebalance`) while the instance has none: the normal answer of a poll, so
   * not counted in `clientErrors`.
   */
  noNotice: number;
}

export interface EmulatorStats {
  /** Clock time the counters started. */
  since: number;
  now: number;
  routes: Record<ApiRoute, RouteStats>;
  /** AWS Query API calls per action; an action appears once it has been called. */
  aws: Partial<Record<AwsRoute, RouteStats>>;
}

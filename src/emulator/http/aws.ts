/**
 * AWS Auto Scaling (Query protocol, Version 2011-01-01) and EC2 (EC2 Query, Version 2016-11-15) over a
 * {@link CloudState}, at the main listener's `/`: form-encoded `Action=…` (POST body or GET query), XML
 * replies shaped as AWS shapes them (cloud-apis.md §3), `x-amzn-RequestId`, AWS error XML, SigV4
 * `Authorization` checked for presence and shape only (no signature verification), per-action faults and
 * rate limits (over the limit → the service's throttling error).
 */
import { Hono } from 'hono';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { EmulatorError } from '../errors.ts';
import type { ActiveFault, CloudState, InstanceRefreshView } from '../state.ts';
import { instanceTags } from '../tags.ts';
import { ASG_ACTIONS, EC2_ACTIONS } from '../types.ts';
import type { AsgAction, AwsRoute, Ec2Action, GroupView, InstanceView, LifecycleHookView } from '../types.ts';
import { MAX_BODY_BYTES, dropConnection, hold, isoMs } from './common.ts';
import { XML_DECL, escapeXml, leaf, list, node } from './xml.ts';

export const ASG_VERSION = '2011-01-01';
export const EC2_VERSION = '2016-11-15';
export const ASG_XMLNS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';
export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

type Service = 'autoscaling' | 'ec2';

/** An error reply in the service's shape. */
export class AwsFault extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function invalid(message: string): AwsFault {
  return new AwsFault('ValidationError', message);
}

interface Call {
  service: Service;
  action: string;
  params: URLSearchParams;
  requestId: string;
}

interface Mods {
  snapshot: ReadonlyMap<string, InstanceView> | undefined;
  partial: Extract<ActiveFault['fault'], { kind: 'partial' }>[];
  empty: boolean;
  /** Instances shown without a private IP ('pending' = every pending one). */
  noIp: Set<string> | 'pending' | undefined;
}

// ------------------------------------------------------------------ wire helpers

function errorXml(
  service: Service,
  code: string,
  message: string,
  requestId: string,
  status: number,
): string {
  if (service === 'ec2') {
    return (
      XML_DECL +
      `<Response><Errors><Error>${leaf('Code', code)}${leaf('Message', message)}</Error></Errors>${leaf('RequestID', requestId)}</Response>`
    );
  }
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return (
    XML_DECL +
    `<ErrorResponse xmlns="${ASG_XMLNS}"><Error>${leaf('Type', type)}${leaf('Code', code)}${leaf('Message', message)}</Error>${leaf('RequestId', requestId)}</ErrorResponse>`
  );
}

function xmlResponse(body: string, status: number, requestId: string): Response {
  return new Response(body, {
    status,
    headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId },
  });
}

function errorResponse(call: Pick<Call, 'service' | 'requestId'>, f: AwsFault): Response {
  return xmlResponse(
    errorXml(call.service, f.code, f.message, call.requestId, f.status),
    f.status,
    call.requestId,
  );
}

/** `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata></ActionResponse>`. */
function asgOk(call: Call, result: string): string {
  return (
    XML_DECL +
    `<${call.action}Response xmlns="${ASG_XMLNS}">${node(`${call.action}Result`, result)}` +
    `<ResponseMetadata>${leaf('RequestId', call.requestId)}</ResponseMetadata></${call.action}Response>`
  );
}

/** `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>` (no Result wrapper). */
function ec2Ok(call: Call, body: string): string {
  return (
    XML_DECL +
    `<${call.action}Response xmlns="${EC2_XMLNS}">${leaf('requestId', call.requestId)}${body}</${call.action}Response>`
  );
}

// ------------------------------------------------------------------ parameters

/** `Prefix.member.1`, `Prefix.member.2`, … (Auto Scaling lists). */
function members(p: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; p.has(`${prefix}.member.${i}`); i++) out.push(p.get(`${prefix}.member.${i}`) as string);
  return out;
}

/** `Prefix.1`, `Prefix.2`, … (EC2 lists). */
function items(p: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; p.has(`${prefix}.${i}`); i++) out.push(p.get(`${prefix}.${i}`) as string);
  return out;
}

function required(p: URLSearchParams, name: string): string {
  const v = p.get(name);
  if (v === null || v === '')
    throw new AwsFault(
      'ValidationError',
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  return v;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function intParam(p: URLSearchParams, name: string): number | undefined {
  const v = p.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v))
    throw new AwsFault('ValidationError', `Invalid value '${v}' for ${name}: expected an integer`);
  return Number(v);
}

function boolParam(p: URLSearchParams, name: string): boolean | undefined {
  const v = p.get(name);
  if (v === null || v === '') return undefined;
  if (v !== 'true' && v !== 'false')
    throw new AwsFault('ValidationError', `Invalid value '${v}' for ${name}: expected true or false`);
  return v === 'true';
}

// ------------------------------------------------------------------ pagination

/**
 * One page of `all`: at most `size` items after the offset the `NextToken` names. The token is opaque to
 * clients (base64 of `<action>:<offset>`); a token of another action or a bad one → 400 InvalidNextToken
 * (EC2: InvalidParameterValue).
 */
function page<T>(
  call: Call,
  all: T[],
  size: number,
  tokenParam = 'NextToken',
): { items: T[]; next: string | undefined } {
  const token = call.params.get(tokenParam);
  let offset = 0;
  if (token !== null && token !== '') {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const m = new RegExp(`^${call.action}:(\\d+)$`).exec(decoded);
    if (!m)
      throw call.service === 'ec2'
        ? new AwsFault('InvalidParameterValue', `Invalid value '${token}' for NextToken`)
        : new AwsFault('InvalidNextToken', 'The token provided is not valid.');
    offset = Number(m[1]);
  }
  const items = all.slice(offset, offset + size);
  const end = offset + items.length;
  return {
    items,
    next: end < all.length ? Buffer.from(`${call.action}:${end}`).toString('base64') : undefined,
  };
}

/** `MaxRecords` (Auto Scaling) / `MaxResults` (EC2) within [min, max], or the default. */
function pageSize(p: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const n = intParam(p, name);
  if (n === undefined) return dflt;
  if (n < min || n > max)
    throw new AwsFault(
      name === 'MaxResults' ? 'InvalidParameterValue' : 'ValidationError',
      `Value '${n}' for ${name} must be between ${min} and ${max}`,
    );
  return n;
}

// ------------------------------------------------------------------ SigV4 (shape only)

const SIGV4 =
  /^AWS4-HMAC-SHA256\s+Credential=([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;.-]+),\s*Signature=[0-9a-f]{64}$/;

/**
 * Checks that the request carries a well-formed SigV4 signature (header, or presigned query) for this
 * service and region by an accepted access key id. The signature itself is not verified.
 */
function checkAuth(
  state: CloudState,
  c: Context,
  service: Service,
  query: URLSearchParams,
): AwsFault | undefined {
  const header = c.req.header('authorization');
  let keyId: string;
  let region: string;
  let scopeService: string;
  const ec2 = service === 'ec2';
  if (header === undefined || header.trim() === '') {
    const cred = query.get('X-Amz-Credential');
    if (query.get('X-Amz-Algorithm') === null && cred === null)
      return new AwsFault(
        'MissingAuthenticationToken',
        'Request is missing Authentication Token',
        ec2 ? 401 : 403,
      );
    const m = /^([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request$/.exec(cred ?? '');
    if (
      query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' ||
      !m ||
      !/^[0-9a-f]{64}$/.test(query.get('X-Amz-Signature') ?? '')
    )
      return new AwsFault(
        'IncompleteSignature',
        'The request signature does not conform to AWS standards.',
        400,
      );
    [keyId, region, scopeService] = [m[1] as string, m[3] as string, m[4] as string];
  } else {
    const m = SIGV4.exec(header.trim());
    if (!m)
      return new AwsFault(
        'IncompleteSignature',
        `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256). Authorization=${header.split(/\s/)[0] ?? ''}`,
        400,
      );
    [keyId, region, scopeService] = [m[1] as string, m[3] as string, m[4] as string];
  }
  if (!state.acceptsAccessKey(keyId)) {
    return ec2
      ? new AwsFault('AuthFailure', 'AWS was not able to validate the provided access credentials', 401)
      : new AwsFault('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  }
  if (scopeService !== service)
    return new AwsFault(
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: '${service}'.`,
      ec2 ? 401 : 403,
    );
  if (region !== state.region)
    return new AwsFault(
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region, not '${region}'.`,
      ec2 ? 401 : 403,
    );
  return undefined;
}

// ------------------------------------------------------------------ shapes

function launchTemplateXml(g: GroupView): string {
  return node(
    'LaunchTemplate',
    leaf('LaunchTemplateId', g.asg?.launchTemplateId),
    leaf('LaunchTemplateName', `${g.name}-lt`),
    leaf('Version', '$Default'),
  );
}

function asgInstanceXml(g: GroupView, i: InstanceView, inDetails: boolean): string {
  const a = i.asg;
  if (!a) return '';
  const health = inDetails ? a.healthStatus.toUpperCase() : a.healthStatus;
  return (
    leaf('InstanceId', i.id) +
    (inDetails ? leaf('AutoScalingGroupName', g.name) : '') +
    leaf('InstanceType', i.instanceType) +
    leaf('AvailabilityZone', i.availabilityZone) +
    leaf('LifecycleState', a.lifecycleState) +
    leaf('HealthStatus', health) +
    launchTemplateXml(g) +
    leaf('ProtectedFromScaleIn', a.protectedFromScaleIn)
  );
}

function tagsOf(g: GroupView): [string, string][] {
  return Object.entries(g.asg?.tags ?? {}).sort(([a], [b]) => a.localeCompare(b));
}

function groupXml(g: GroupView, instances: InstanceView[], accountId: string): string {
  const a = g.asg;
  if (!a) return '';
  const policy = a.instanceMaintenancePolicy;
  return (
    leaf('AutoScalingGroupName', g.name) +
    leaf('AutoScalingGroupARN', a.arn) +
    launchTemplateXml(g) +
    leaf('MinSize', g.minimum) +
    leaf('MaxSize', g.maximum) +
    leaf('DesiredCapacity', g.targetCapacity) +
    leaf('DefaultCooldown', 300) +
    list('AvailabilityZones', g.availabilityZones.map(escapeXml), 'member') +
    list('LoadBalancerNames', [], 'member') +
    list('TargetGroupARNs', [], 'member') +
    leaf('HealthCheckType', 'EC2') +
    leaf('HealthCheckGracePeriod', 300) +
    list(
      'Instances',
      instances.map((i) => asgInstanceXml(g, i, false)),
      'member',
    ) +
    leaf('CreatedTime', isoMs(g.createdAt)) +
    list('SuspendedProcesses', [], 'member') +
    list('EnabledMetrics', [], 'member') +
    list(
      'Tags',
      tagsOf(g).map(
        ([k, v]) =>
          leaf('ResourceId', g.name) +
          leaf('ResourceType', 'auto-scaling-group') +
          leaf('Key', k) +
          leaf('Value', v) +
          leaf('PropagateAtLaunch', true),
      ),
      'member',
    ) +
    list('TerminationPolicies', ['Default'], 'member') +
    leaf('NewInstancesProtectedFromScaleIn', false) +
    leaf(
      'ServiceLinkedRoleARN',
      `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    ) +
    leaf('CapacityRebalance', a.capacityRebalance) +
    (policy
      ? node(
          'InstanceMaintenancePolicy',
          leaf('MinHealthyPercentage', policy.minHealthyPercentage),
          leaf('MaxHealthyPercentage', policy.maxHealthyPercentage),
        )
      : '')
  );
}

function hookXml(g: GroupView, h: LifecycleHookView): string {
  return (
    leaf('LifecycleHookName', h.name) +
    leaf('AutoScalingGroupName', g.name) +
    leaf('LifecycleTransition', h.transition) +
    leaf('HeartbeatTimeout', h.heartbeatTimeoutSec) +
    leaf('GlobalTimeout', h.globalTimeoutSec) +
    leaf('DefaultResult', h.defaultResult)
  );
}

function refreshXml(g: GroupView, r: InstanceRefreshView): string {
  return (
    leaf('InstanceRefreshId', r.id) +
    leaf('AutoScalingGroupName', g.name) +
    leaf('Status', r.status) +
    leaf('StartTime', isoMs(r.startTime)) +
    (r.endTime !== undefined ? leaf('EndTime', isoMs(r.endTime)) : '') +
    leaf('PercentageComplete', r.percentageComplete) +
    leaf('InstancesToUpdate', r.instancesToUpdate) +
    node(
      'Preferences',
      leaf('MinHealthyPercentage', r.minHealthyPercentage),
      leaf('MaxHealthyPercentage', r.maxHealthyPercentage),
      leaf('InstanceWarmup', Math.round(r.instanceWarmupMs / 1000)),
    )
  );
}

/** EC2 `instanceState`: a member of an ASG in Terminating:Proceed is shutting down; terminated is gone. */
function ec2State(i: InstanceView): { code: number; name: string } {
  if (i.state === 'pending') return { code: 0, name: 'pending' };
  if (i.state === 'terminated') return { code: 48, name: 'terminated' };
  if (i.state === 'terminating' && i.asg?.lifecycleState === 'Terminating:Proceed')
    return { code: 32, name: 'shutting-down' };
  return { code: 16, name: 'running' };
}

function ec2InstanceXml(
  state: CloudState,
  i: InstanceView,
  g: GroupView | undefined,
  noIp: Mods['noIp'],
): string {
  const st = ec2State(i);
  const region = state.region;
  const dns = `ip-${i.privateIp.replace(/\./g, '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
  const gone = i.state === 'terminated';
  const withoutIp =
    gone || (noIp === 'pending' ? i.state === 'pending' : noIp !== undefined && noIp.has(i.id));
  const spot = (g?.asg?.market ?? 'spot') === 'spot';
  const tags = Object.entries(instanceTags(i, g)).sort(([a], [b]) => a.localeCompare(b));
  return (
    leaf('instanceId', i.id) +
    leaf('imageId', 'ami-0e7d5c1a9f3b2d4c6') +
    node('instanceState', leaf('code', st.code), leaf('name', st.name)) +
    leaf('privateDnsName', gone ? '' : dns) +
    leaf('dnsName', '') +
    leaf('instanceType', i.instanceType) +
    leaf('launchTime', isoMs(i.launchedAt)) +
    node('placement', leaf('availabilityZone', i.availabilityZone), leaf('tenancy', 'default')) +
    (withoutIp ? '' : leaf('privateIpAddress', i.privateIp)) +
    (spot ? leaf('instanceLifecycle', 'spot') + leaf('spotInstanceRequestId', i.spotInstanceRequestId) : '') +
    list(
      'tagSet',
      tags.map(([k, v]) => leaf('key', k) + leaf('value', v)),
      'item',
    )
  );
}

// ------------------------------------------------------------------ handlers

function applyMods(state: CloudState, insts: InstanceView[], mods: Mods): InstanceView[] {
  let out = insts;
  if (mods.snapshot) {
    const snap = mods.snapshot;
    out = out.map((i) => snap.get(i.id) ?? i);
  }
  for (const p of mods.partial) {
    const drop = new Set(p.drop ?? []);
    if (p.dropRandom) for (const i of state.sample(out, p.dropRandom)) drop.add(i.id);
    out = out.filter((i) => !drop.has(i.id));
  }
  return mods.empty ? [] : out;
}

function asgGroupMembers(state: CloudState, g: GroupView): InstanceView[] {
  return state
    .listInstances({ groupId: g.id })
    .filter((i) => i.asg !== undefined && i.asg.lifecycleState !== 'Warmed:Running');
}

function requireGroup(state: CloudState, name: string): GroupView {
  const g = state.asgGroup(name);
  if (!g) throw invalid(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
  return g;
}

function tagFilterMatch(g: GroupView, filters: { name: string; values: string[] }[]): boolean {
  const tags = g.asg?.tags ?? {};
  for (const f of filters) {
    if (f.name === 'tag-key') {
      if (!f.values.some((v) => v in tags)) return false;
    } else if (f.name === 'tag-value') {
      if (!f.values.some((v) => Object.values(tags).includes(v))) return false;
    } else if (f.name.startsWith('tag:')) {
      const v = tags[f.name.slice(4)];
      if (v === undefined || !f.values.includes(v)) return false;
    } else {
      throw invalid(`Filter name '${f.name}' is invalid. Valid filter names: tag-key, tag-value, tag:<key>`);
    }
  }
  return true;
}

function asgHandler(state: CloudState, call: Call, mods: Mods): string {
  const p = call.params;
  switch (call.action as AsgAction) {
    case 'DescribeAutoScalingGroups': {
      const names = members(p, 'AutoScalingGroupNames');
      const filters: { name: string; values: string[] }[] = [];
      for (let i = 1; p.has(`Filters.member.${i}.Name`); i++)
        filters.push({
          name: p.get(`Filters.member.${i}.Name`) as string,
          values: members(p, `Filters.member.${i}.Values`),
        });
      const groups = state
        .listGroups()
        .filter((g) => g.asg && (names.length === 0 || names.includes(g.name)))
        .filter((g) => tagFilterMatch(g, filters))
        .sort((a, b) => a.name.localeCompare(b.name));
      const include = boolParam(p, 'IncludeInstances') ?? true;
      const pg = page(call, groups, pageSize(p, 'MaxRecords', 50, 1, 100));
      return (
        list(
          'AutoScalingGroups',
          pg.items.map((g) =>
            groupXml(g, include ? applyMods(state, asgGroupMembers(state, g), mods) : [], state.awsAccountId),
          ),
          'member',
        ) + leaf('NextToken', pg.next)
      );
    }
    case 'DescribeAutoScalingInstances': {
      const ids = members(p, 'InstanceIds');
      let insts = state.listInstances().filter((i) => i.asg !== undefined);
      if (ids.length > 0) insts = insts.filter((i) => ids.includes(i.id));
      insts = applyMods(state, insts, mods);
      const pg = page(call, insts, pageSize(p, 'MaxRecords', 50, 1, 50));
      return (
        list(
          'AutoScalingInstances',
          pg.items.flatMap((i) => {
            const g = state.getGroup(i.groupId);
            return g ? [asgInstanceXml(g, i, true)] : [];
          }),
          'member',
        ) + leaf('NextToken', pg.next)
      );
    }
    case 'DescribeLifecycleHooks': {
      const g = requireGroup(state, required(p, 'AutoScalingGroupName'));
      const names = members(p, 'LifecycleHookNames');
      const hooks = (g.asg?.lifecycleHooks ?? []).filter((h) => names.length === 0 || names.includes(h.name));
      return list(
        'LifecycleHooks',
        hooks.map((h) => hookXml(g, h)),
        'member',
      );
    }
    case 'PutLifecycleHook': {
      const g = requireGroup(state, required(p, 'AutoScalingGroupName'));
      const name = required(p, 'LifecycleHookName');
      const existing = g.asg?.lifecycleHooks.find((h) => h.name === name);
      const transition = p.get('LifecycleTransition') ?? existing?.transition;
      if (
        transition !== 'autoscaling:EC2_INSTANCE_LAUNCHING' &&
        transition !== 'autoscaling:EC2_INSTANCE_TERMINATING'
      )
        throw invalid(`Invalid Lifecycle Transition: ${transition ?? 'null'}`);
      const hb = intParam(p, 'HeartbeatTimeout') ?? existing?.heartbeatTimeoutSec ?? 3600;
      if (hb < 30 || hb > 7200) throw invalid(`Heartbeat timeout ${hb} must be between 30 and 7200 seconds`);
      const dr = p.get('DefaultResult') ?? existing?.defaultResult ?? 'ABANDON';
      if (dr !== 'CONTINUE' && dr !== 'ABANDON') throw invalid(`Invalid value for DefaultResult: ${dr}`);
      state.putLifecycleHook(g.name, { name, transition, heartbeatTimeoutSec: hb, defaultResult: dr });
      return '';
    }
    case 'DeleteLifecycleHook': {
      state.deleteLifecycleHook(required(p, 'AutoScalingGroupName'), required(p, 'LifecycleHookName'));
      return '';
    }
    case 'RecordLifecycleActionHeartbeat':
    case 'CompleteLifecycleAction': {
      const target = {
        groupName: required(p, 'AutoScalingGroupName'),
        hookName: required(p, 'LifecycleHookName'),
        ...(p.get('InstanceId') ? { instanceId: p.get('InstanceId') as string } : {}),
        ...(p.get('LifecycleActionToken') ? { token: p.get('LifecycleActionToken') as string } : {}),
      };
      if (call.action === 'RecordLifecycleActionHeartbeat') {
        state.recordLifecycleActionHeartbeat(target);
        return '';
      }
      const result = required(p, 'LifecycleActionResult');
      if (result !== 'CONTINUE' && result !== 'ABANDON')
        throw invalid(
          `Invalid value for LifecycleActionResult: ${result}. Valid values are CONTINUE and ABANDON.`,
        );
      state.completeLifecycleAction({ ...target, result });
      return '';
    }
    case 'SetInstanceProtection': {
      const ids = members(p, 'InstanceIds');
      const prot = boolParam(p, 'ProtectedFromScaleIn');
      if (prot === undefined) required(p, 'ProtectedFromScaleIn');
      state.setInstanceProtection(required(p, 'AutoScalingGroupName'), ids, prot === true);
      return '';
    }
    case 'SetDesiredCapacity': {
      const desired = intParam(p, 'DesiredCapacity');
      if (desired === undefined) required(p, 'DesiredCapacity');
      state.updateAutoScalingGroup(
        required(p, 'AutoScalingGroupName'),
        { desiredCapacity: desired as number },
        'SetDesiredCapacity',
      );
      return '';
    }
    case 'UpdateAutoScalingGroup': {
      const minH = intParam(p, 'InstanceMaintenancePolicy.MinHealthyPercentage');
      const maxH = intParam(p, 'InstanceMaintenancePolicy.MaxHealthyPercentage');
      const u: Parameters<CloudState['updateAutoScalingGroup']>[1] = {};
      const min = intParam(p, 'MinSize');
      const max = intParam(p, 'MaxSize');
      const desired = intParam(p, 'DesiredCapacity');
      const rebalance = boolParam(p, 'CapacityRebalance');
      if (min !== undefined) u.minSize = min;
      if (max !== undefined) u.maxSize = max;
      if (desired !== undefined) u.desiredCapacity = desired;
      if (rebalance !== undefined) u.capacityRebalance = rebalance;
      if (minH !== undefined || maxH !== undefined) {
        if (minH === -1 && maxH === -1) u.instanceMaintenancePolicy = null;
        else {
          if (minH === undefined || maxH === undefined || minH < 0 || minH > 100 || maxH < 100 || maxH > 200)
            throw invalid(
              'InstanceMaintenancePolicy needs MinHealthyPercentage 0-100 and MaxHealthyPercentage 100-200',
            );
          u.instanceMaintenancePolicy = { minHealthyPercentage: minH, maxHealthyPercentage: maxH };
        }
      }
      state.updateAutoScalingGroup(required(p, 'AutoScalingGroupName'), u);
      return '';
    }
    case 'TerminateInstanceInAutoScalingGroup': {
      const id = required(p, 'InstanceId');
      const dec = boolParam(p, 'ShouldDecrementDesiredCapacity');
      if (dec === undefined) required(p, 'ShouldDecrementDesiredCapacity');
      const { instance, group } = state.terminateInAutoScalingGroup(id, dec === true);
      const start = isoMs(instance.interruptedAt ?? state.now());
      return node(
        'Activity',
        leaf('ActivityId', state.newAwsRequestId()),
        leaf('AutoScalingGroupName', group.name),
        leaf('Description', `Terminating EC2 instance: ${id}`),
        leaf(
          'Cause',
          `At ${start.replace(/\.\d{3}Z$/, 'Z')} instance ${id} was taken out of service in response to a user request${dec ? ', shrinking the capacity from ' + (group.targetCapacity + 1) + ' to ' + group.targetCapacity : ''}.`,
        ),
        leaf('StartTime', start),
        leaf('StatusCode', 'InProgress'),
        leaf('Progress', 0),
        leaf(
          'Details',
          '{"Subnet ID":"subnet-emulated","Availability Zone":"' + instance.availabilityZone + '"}',
        ),
      );
    }
    case 'StartInstanceRefresh': {
      const name = required(p, 'AutoScalingGroupName');
      const strategy = p.get('Strategy') ?? 'Rolling';
      if (strategy !== 'Rolling') throw invalid(`Strategy ${strategy} is not supported (Rolling only)`);
      const prefs: Parameters<CloudState['startInstanceRefresh']>[1] = {};
      const minH = intParam(p, 'Preferences.MinHealthyPercentage');
      const maxH = intParam(p, 'Preferences.MaxHealthyPercentage');
      const warm = intParam(p, 'Preferences.InstanceWarmup');
      if (minH !== undefined) prefs.minHealthyPercentage = minH;
      if (maxH !== undefined) prefs.maxHealthyPercentage = maxH;
      if (warm !== undefined) prefs.instanceWarmupMs = warm * 1000;
      requireGroup(state, name);
      const r = state.startInstanceRefresh(name, prefs);
      return leaf('InstanceRefreshId', r.id);
    }
    case 'DescribeInstanceRefreshes': {
      const g = requireGroup(state, required(p, 'AutoScalingGroupName'));
      const ids = members(p, 'InstanceRefreshIds');
      const refreshes = state.instanceRefreshes(g.id).filter((r) => ids.length === 0 || ids.includes(r.id));
      return list(
        'InstanceRefreshes',
        refreshes.map((r) => refreshXml(g, r)),
        'member',
      );
    }
    case 'SetInstanceHealth': {
      const health = required(p, 'HealthStatus');
      if (health !== 'Healthy' && health !== 'Unhealthy')
        throw invalid(`Invalid value for HealthStatus: ${health}. Valid values are Healthy and Unhealthy.`);
      state.setInstanceHealth(required(p, 'InstanceId'), health);
      return '';
    }
    case 'EnterStandby':
    case 'ExitStandby': {
      const name = required(p, 'AutoScalingGroupName');
      const ids = members(p, 'InstanceIds');
      let moved: InstanceView[];
      if (call.action === 'EnterStandby') {
        const dec = boolParam(p, 'ShouldDecrementDesiredCapacity');
        if (dec === undefined) required(p, 'ShouldDecrementDesiredCapacity');
        moved = state.enterStandby(name, ids, dec === true);
      } else {
        moved = state.exitStandby(name, ids);
      }
      const start = isoMs(state.now());
      const verb =
        call.action === 'EnterStandby'
          ? 'Moving EC2 instance to Standby'
          : 'Moving EC2 instance out of Standby';
      return list(
        'Activities',
        moved.map(
          (i) =>
            leaf('ActivityId', state.newAwsRequestId()) +
            leaf('AutoScalingGroupName', name) +
            leaf('Description', `${verb}: ${i.id}`) +
            leaf(
              'Cause',
              `At ${start.replace(/\.\d{3}Z$/, 'Z')} instance ${i.id} was ${call.action === 'EnterStandby' ? 'moved to standby' : 'moved out of standby'} in response to a user request.`,
            ) +
            leaf('StartTime', start) +
            leaf('StatusCode', 'InProgress') +
            leaf('Progress', 50),
        ),
        'member',
      );
    }
    case 'CancelInstanceRefresh': {
      const r = state.cancelInstanceRefresh(required(p, 'AutoScalingGroupName'));
      return leaf('InstanceRefreshId', r.id);
    }
  }
  throw new AwsFault('InvalidAction', `Could not find operation ${call.action} for version ${ASG_VERSION}`);
}

const EC2_FILTERS = new Set([
  'instance-id',
  'instance-state-name',
  'tag-key',
  'private-ip-address',
  'availability-zone',
]);

function ec2Handler(state: CloudState, call: Call, mods: Mods): string {
  const p = call.params;
  switch (call.action as Ec2Action) {
    case 'DescribeInstances': {
      const ids = items(p, 'InstanceId');
      const filters: { name: string; values: string[] }[] = [];
      for (let i = 1; p.has(`Filter.${i}.Name`); i++) {
        const name = p.get(`Filter.${i}.Name`) as string;
        if (!EC2_FILTERS.has(name) && !name.startsWith('tag:'))
          throw new AwsFault('InvalidParameterValue', `The filter '${name}' is invalid`);
        filters.push({ name, values: items(p, `Filter.${i}.Value`) });
      }
      const all = state.listInstances({ includeTerminated: true });
      if (ids.length > 0) {
        const missing = ids.filter((id) => !all.some((i) => i.id === id));
        if (missing.length === 1)
          throw new AwsFault(
            'InvalidInstanceID.NotFound',
            `The instance ID '${missing[0] as string}' does not exist`,
          );
        if (missing.length > 1)
          throw new AwsFault(
            'InvalidInstanceID.NotFound',
            `The instance IDs '${missing.join(', ')}' do not exist`,
          );
      }
      let insts = all.filter((i) => ids.length === 0 || ids.includes(i.id));
      insts = insts.filter((i) => {
        const tags = instanceTags(i, state.getGroup(i.groupId));
        return filters.every((f) => {
          switch (f.name) {
            case 'instance-id':
              return f.values.includes(i.id);
            case 'instance-state-name':
              return f.values.includes(ec2State(i).name);
            case 'tag-key':
              return f.values.some((v) => v in tags);
            case 'private-ip-address':
              return i.state !== 'terminated' && f.values.includes(i.privateIp);
            case 'availability-zone':
              return f.values.includes(i.availabilityZone);
            default: {
              const v = tags[f.name.slice(4)];
              return v !== undefined && f.values.includes(v);
            }
          }
        });
      });
      insts = applyMods(state, insts, mods);
      if (ids.length > 0 && p.has('MaxResults'))
        throw new AwsFault(
          'InvalidParameterCombination',
          'The parameter instancesSet cannot be used with the parameter maxResults',
        );
      // without MaxResults EC2 answers everything at once
      const pg = page(
        call,
        insts,
        p.has('MaxResults') ? pageSize(p, 'MaxResults', 1000, 5, 1000) : insts.length || 1,
      );
      return (
        list(
          'reservationSet',
          pg.items.map(
            (i) =>
              leaf('reservationId', `r-${i.id.slice(2)}`) +
              leaf('ownerId', state.awsAccountId) +
              list('groupSet', [], 'item') +
              list('instancesSet', [ec2InstanceXml(state, i, state.getGroup(i.groupId), mods.noIp)], 'item'),
          ),
          'item',
        ) + leaf('nextToken', pg.next)
      );
    }
  }
  throw new AwsFault('InvalidAction', `The action ${call.action} is not valid for this web service.`);
}

// ------------------------------------------------------------------ pipeline

function serviceOf(action: string, version: string | null): Service | undefined {
  if (version === ASG_VERSION) return 'autoscaling';
  if (version === EC2_VERSION) return 'ec2';
  if ((ASG_ACTIONS as readonly string[]).includes(action)) return 'autoscaling';
  if ((EC2_ACTIONS as readonly string[]).includes(action)) return 'ec2';
  return undefined;
}

function statusFaultCode(status: number): string {
  if (status === 503) return 'ServiceUnavailable';
  if (status === 500) return 'InternalFailure';
  if (status === 502 || status === 504) return 'ServiceUnavailable';
  if (status === 403) return 'AccessDenied';
  if (status === 429) return 'TooManyRequestsException';
  if (status === 401) return 'AuthFailure';
  if (status === 404) return 'NotFound';
  return status >= 500 ? 'InternalFailure' : 'BadRequest';
}

/** The service's throttling reply (ASG: 400 Throttling "Rate exceeded"; EC2: 503 RequestLimitExceeded). */
function throttled(service: Service): AwsFault {
  return service === 'ec2'
    ? new AwsFault('RequestLimitExceeded', 'Request limit exceeded.', 503)
    : new AwsFault('Throttling', 'Rate exceeded', 400);
}

async function handle(state: CloudState, c: Context): Promise<Response> {
  state.advance();
  const url = new URL(c.req.url);
  const params = new URLSearchParams(url.search);
  if (c.req.method === 'POST') {
    const text = await c.req.text();
    for (const [k, v] of new URLSearchParams(text)) params.set(k, v);
  }
  const action = params.get('Action') ?? '';
  const service = serviceOf(action, params.get('Version'));
  const requestId = state.newAwsRequestId();
  if (service === undefined) {
    const f =
      action === ''
        ? new AwsFault('MissingAction', 'Missing Action')
        : new AwsFault('InvalidAction', `Could not find operation ${action} for the given Version`);
    return errorResponse({ service: 'autoscaling', requestId }, f);
  }
  const known =
    service === 'autoscaling'
      ? (ASG_ACTIONS as readonly string[]).includes(action)
      : (EC2_ACTIONS as readonly string[]).includes(action);
  const call: Call = { service, action, params, requestId };
  if (!known) {
    return errorResponse(
      call,
      service === 'ec2'
        ? new AwsFault('InvalidAction', `The action ${action} is not valid for this web service.`)
        : new AwsFault('InvalidAction', `Could not find operation ${action} for version ${ASG_VERSION}`),
    );
  }
  const route = `${service}:${action}` as AwsRoute;
  const instanceId =
    params.get('InstanceId') ?? params.get('InstanceIds.member.1') ?? params.get('InstanceId.1') ?? undefined;
  const faults = state.takeFaults(route, instanceId === undefined ? {} : { instanceId });
  const faulted = faults.length > 0;
  const done = (res: Response): Response => {
    state.recordCall(route, { status: res.status, faulted });
    return res;
  };
  const signal = c.req.raw.signal;

  const latency = faults.reduce((ms, f) => ms + (f.fault.kind === 'latency' ? f.fault.ms : 0), 0);
  if (latency > 0 && !(await hold(latency, signal))) {
    state.recordCall(route, { dropped: true, faulted });
    return dropConnection(c.env);
  }
  state.advance();
  const terminal = faults.find(
    (f) =>
      f.fault.kind === 'timeout' ||
      f.fault.kind === 'status' ||
      f.fault.kind === 'rate-limit' ||
      f.fault.kind === 'aws-error',
  );
  if (terminal) {
    const f = terminal.fault;
    if (f.kind === 'timeout') {
      await hold(f.ms, signal);
      state.recordCall(route, { dropped: true, faulted });
      return dropConnection(c.env);
    }
    if (f.kind === 'status') {
      const code = statusFaultCode(f.status);
      return done(
        errorResponse(
          call,
          new AwsFault(
            code,
            code === 'ServiceUnavailable' ? 'Service is unavailable' : `HTTP ${f.status}`,
            f.status,
          ),
        ),
      );
    }
    if (f.kind === 'rate-limit') return done(errorResponse(call, throttled(service)));
    if (f.kind === 'aws-error') {
      const status =
        f.status ?? (f.code === 'AccessDenied' || f.code === 'UnauthorizedOperation' ? 403 : 400);
      const message =
        f.message ??
        (f.code === 'AccessDenied'
          ? `User: arn:aws:sts::${state.awsAccountId}:assumed-role/etcd-spot-instance/${instanceId ?? 'i-emulated'} is not authorized to perform: ${service}:${action} because no identity-based policy allows the ${service}:${action} action`
          : f.code);
      return done(errorResponse(call, new AwsFault(f.code, message, status)));
    }
  }

  const authError = checkAuth(state, c, service, new URLSearchParams(url.search));
  if (authError) return done(errorResponse(call, authError));

  const limit = state.takeRateLimit(route);
  if (!limit.allowed) return done(errorResponse(call, throttled(service)));

  const mods: Mods = { snapshot: undefined, partial: [], empty: false, noIp: undefined };
  for (const f of faults) {
    if (f.fault.kind === 'stale' && mods.snapshot === undefined) mods.snapshot = f.snapshot;
    if (f.fault.kind === 'partial') mods.partial.push(f.fault);
    if (f.fault.kind === 'empty') mods.empty = true;
    if (f.fault.kind === 'no-private-ip') {
      const drop = f.fault.drop;
      if (drop === undefined) mods.noIp = 'pending';
      else if (mods.noIp !== 'pending') mods.noIp = new Set([...(mods.noIp ?? []), ...drop]);
    }
  }
  let body: string;
  try {
    body =
      service === 'ec2'
        ? ec2Ok(call, ec2Handler(state, call, mods))
        : asgOk(call, asgHandler(state, call, mods));
  } catch (err) {
    if (err instanceof AwsFault) return done(errorResponse(call, err));
    if (err instanceof EmulatorError) {
      const code = err.awsCode ?? 'ValidationError';
      return done(errorResponse(call, new AwsFault(code, err.message, 400)));
    }
    throw err;
  }
  if (faults.some((f) => f.fault.kind === 'malformed'))
    body = body.slice(0, Math.max(1, Math.floor(body.length / 2)));
  return done(xmlResponse(body, 200, requestId));
}

/** The AWS Query endpoints: `POST /` (form body) and `GET /?Action=…`. */
export function createAwsApp(state: CloudState): Hono {
  const app = new Hono();
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        const requestId = state.newAwsRequestId();
        return errorResponse(
          { service: 'autoscaling', requestId },
          new AwsFault('RequestEntityTooLarge', `Request body is larger than ${MAX_BODY_BYTES} bytes`, 413),
        );
      },
    }),
  );
  app.on(['GET', 'POST'], '/', (c) => handle(state, c));
  app.onError((err) => {
    const requestId = state.newAwsRequestId();
    return errorResponse(
      { service: 'autoscaling', requestId },
      new AwsFault('InternalFailure', err instanceof Error ? err.message : String(err), 500),
    );
  });
  return app;
}

/** Whether a request on the main listener is for the AWS endpoints (path `/` with an Action, or a form POST to `/`). */
export function isAwsRequest(method: string, url: URL, contentType: string | undefined): boolean {
  if (url.pathname !== '/') return false;
  if (url.searchParams.has('Action')) return true;
  return (
    method === 'POST' && (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')
  );
}

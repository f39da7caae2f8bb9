// The emulator's AWS Auto Scaling and EC2 Query endpoints driven by the real @aws-sdk/client-auto-scaling
// and @aws-sdk/client-ec2 (only `endpoint`, `region` and static credentials set), plus raw-HTTP wire
// checks of the exact XML. Listeners: 127.0.80.1 (main) and one IMDS per instance on 127.0.81.10+ :1338.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeInstanceRefreshesCommand,
  DescribeLifecycleHooksCommand,
  EnterStandbyCommand,
  ExitStandbyCommand,
  SetInstanceHealthCommand,
  PutLifecycleHookCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  StartInstanceRefreshCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
  paginateDescribeAutoScalingGroups,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { ManualClock } from '../support/manual-clock.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';

const T0 = Date.UTC(2026, 0, 1);
const HOOK = 'etcd-drain';
const KEY = 'AKIAEMULATORTEST0001';
const REGION = 'us-east-1';
const ASG_NS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

interface SdkError {
  name: string;
  message: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

async function sdkError(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  assert.fail('expected the call to fail');
}

/** A SigV4-shaped Authorization header (the emulator checks shape, key id, service and region only). */
function authHeader(service: string, key = KEY, region = REGION): string {
  return `AWS4-HMAC-SHA256 Credential=${key}/20260101/${region}/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'a'.repeat(64)}`;
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; requestId: string | null }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers },
    body,
  });
  return { status: res.status, text: await res.text(), requestId: res.headers.get('x-amzn-requestid') };
}

describe('emulator: AWS Auto Scaling and EC2 through the real SDK clients', () => {
  const clock = new ManualClock(T0);
  let emu: RunningEmulator;
  let asg: AutoScalingClient;
  let ec2: EC2Client;

  before(async () => {
    emu = await startEmulator({
      listen: '127.0.80.1:0',
      token: 'unused',
      ipPrefix: '127.0.81',
      imdsPort: 1338,
      clock,
      seed: 10,
      awsAccessKeyIds: [KEY],
    });
    const cfg = {
      endpoint: emu.url,
      region: REGION,
      credentials: { accessKeyId: KEY, secretAccessKey: 'secret' },
    };
    asg = new AutoScalingClient(cfg);
    ec2 = new EC2Client(cfg);
  });

  after(async () => {
    asg?.destroy();
    ec2?.destroy();
    await emu?.close();
  });

  beforeEach(() => {
    emu.state.clearFaults();
  });

  async function freshGroup(name: string, size = 3): Promise<string[]> {
    emu.state.createGroup({
      provider: 'asg',
      name,
      targetCapacity: size,
      minimum: 1,
      maximum: 6,
      asg: {
        lifecycleHooks: [
          { name: HOOK, transition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeoutSec: 300 },
        ],
        tags: { role: 'etcd' },
      },
    });
    await emu.settled();
    return emu.state.listInstances({ groupId: name }).map((i) => i.id);
  }

  test('DescribeAutoScalingGroups / DescribeAutoScalingInstances / DescribeLifecycleHooks / DescribeInstances', async () => {
    const ids = await freshGroup('describe-asg');
    const out = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['describe-asg'] }),
    );
    const g = out.AutoScalingGroups?.[0];
    assert.equal(out.AutoScalingGroups?.length, 1);
    assert.equal(g?.AutoScalingGroupName, 'describe-asg');
    assert.equal(g?.DesiredCapacity, 3);
    assert.equal(g?.MinSize, 1);
    assert.equal(g?.MaxSize, 6);
    assert.equal(g?.CapacityRebalance, false);
    assert.ok(g?.CreatedTime instanceof Date);
    assert.deepEqual(
      g?.Instances?.map((i) => [i.InstanceId, i.LifecycleState, i.HealthStatus, i.ProtectedFromScaleIn]),
      ids.map((id) => [id, 'InService', 'Healthy', false]),
    );
    assert.deepEqual(
      g?.Tags?.map((t) => [t.Key, t.Value, t.PropagateAtLaunch]),
      [['role', 'etcd', true]],
    );
    const none = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['nope'] }));
    assert.deepEqual(none.AutoScalingGroups, []);

    const self = await asg.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [ids[0]!, 'i-0000000000000dead'] }),
    );
    assert.deepEqual(
      self.AutoScalingInstances?.map((i) => [
        i.InstanceId,
        i.AutoScalingGroupName,
        i.LifecycleState,
        i.HealthStatus,
      ]),
      [[ids[0], 'describe-asg', 'InService', 'HEALTHY']],
    );

    const hooks = await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'describe-asg' }));
    assert.deepEqual(hooks.LifecycleHooks, [
      {
        LifecycleHookName: HOOK,
        AutoScalingGroupName: 'describe-asg',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 300,
        GlobalTimeout: 30_000,
        DefaultResult: 'ABANDON',
      },
    ]);
    const missing = await sdkError(
      asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'nope' })),
    );
    assert.equal(missing.name, 'ValidationError');
    assert.equal(missing.$metadata?.httpStatusCode, 400);

    const byTag = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:aws:autoscaling:groupName', Values: ['describe-asg'] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    );
    const found = byTag.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    assert.deepEqual(
      found.map((i) => [i.InstanceId, i.PrivateIpAddress, i.State?.Code, i.State?.Name]),
      ids.map((id) => [id, emu.state.getInstance(id)?.privateIp, 16, 'running']),
    );
    assert.equal(found[0]?.Placement?.AvailabilityZone, 'us-east-1a');
    assert.equal(found[0]?.InstanceLifecycle, 'spot');
    assert.ok(
      found[0]?.Tags?.some((t) => t.Key === 'aws:autoscaling:groupName' && t.Value === 'describe-asg'),
    );
    const byId = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids[1]!] }));
    assert.equal(byId.Reservations?.[0]?.Instances?.[0]?.InstanceId, ids[1]);
    const notFound = await sdkError(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000dead'] })),
    );
    assert.equal(notFound.name, 'InvalidInstanceID.NotFound');
    assert.equal(notFound.message, "The instance ID 'i-0000000000000dead' does not exist");
  });

  test('lifecycle hold: Terminating:Wait (IMDS Terminated), heartbeat, CompleteLifecycleAction, then 400 ValidationError', async () => {
    const ids = await freshGroup('hold-asg');
    const victim = ids[0]!;
    emu.state.interruptInstance(victim);
    await emu.settled();
    const imds = await fetch(`${emu.imdsUrl(victim)}/latest/meta-data/autoscaling/target-lifecycle-state`);
    assert.equal(await imds.text(), 'Terminated');
    const action = await fetch(`${emu.imdsUrl(victim)}/latest/meta-data/spot/instance-action`);
    assert.deepEqual(await action.json(), { action: 'terminate', time: '2026-01-01T00:02:00Z' });

    const self = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [victim] }));
    assert.equal(self.AutoScalingInstances?.[0]?.LifecycleState, 'Terminating:Wait');
    const target = { AutoScalingGroupName: 'hold-asg', LifecycleHookName: HOOK, InstanceId: victim };
    await asg.send(new RecordLifecycleActionHeartbeatCommand(target));
    assert.equal(emu.state.getInstance(victim)?.asg?.lifecycleActions[0]?.heartbeats, 1);
    await asg.send(new CompleteLifecycleActionCommand({ ...target, LifecycleActionResult: 'CONTINUE' }));
    assert.equal(emu.state.getInstance(victim)?.state, 'terminated');

    const listed = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['hold-asg'] }),
    );
    assert.ok(!listed.AutoScalingGroups?.[0]?.Instances?.some((i) => i.InstanceId === victim));
    const gone = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [victim] }));
    assert.deepEqual(gone.Reservations?.[0]?.Instances?.[0]?.State, { Code: 48, Name: 'terminated' });
    assert.equal(gone.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress, undefined);

    const again = await sdkError(
      asg.send(new CompleteLifecycleActionCommand({ ...target, LifecycleActionResult: 'CONTINUE' })),
    );
    assert.equal(again.name, 'ValidationError');
    assert.equal(again.$fault, 'client');
    assert.equal(again.$metadata?.httpStatusCode, 400);
    assert.equal(again.message, `No active Lifecycle Action found with instance ID ${victim}`);
  });

  test('a timed-out action: the instance is gone and a late CompleteLifecycleAction gets the same 400', async () => {
    const ids = await freshGroup('timeout-asg');
    const victim = ids[1]!;
    await asg.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: victim,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    assert.equal(emu.state.getInstance(victim)?.asg?.lifecycleState, 'Terminating:Wait');
    clock.advance(300_000);
    emu.state.advance();
    const i = emu.state.getInstance(victim);
    assert.equal(i?.state, 'terminated');
    assert.equal(i?.asg?.completedActions[0]?.how, 'timeout');
    const late = await sdkError(
      asg.send(
        new CompleteLifecycleActionCommand({
          AutoScalingGroupName: 'timeout-asg',
          LifecycleHookName: HOOK,
          InstanceId: victim,
          LifecycleActionResult: 'CONTINUE',
        }),
      ),
    );
    assert.equal(late.name, 'ValidationError');
    assert.match(late.message, /^No active Lifecycle Action found with instance ID/);
  });

  test('SetDesiredCapacity, SetInstanceProtection, UpdateAutoScalingGroup, PutLifecycleHook, instance refresh', async () => {
    const ids = await freshGroup('ops-asg', 2);
    await asg.send(
      new SetInstanceProtectionCommand({
        AutoScalingGroupName: 'ops-asg',
        InstanceIds: [ids[1]!],
        ProtectedFromScaleIn: true,
      }),
    );
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'ops-asg', DesiredCapacity: 3 }));
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'ops-asg', DesiredCapacity: 2 }));
    const held = emu.state
      .listInstances({ groupId: 'ops-asg' })
      .filter((i) => i.asg?.lifecycleState === 'Terminating:Wait');
    assert.equal(held.length, 1);
    assert.notEqual(held[0]?.id, ids[1], 'the protected instance is not scaled in');
    const over = await sdkError(
      asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'ops-asg', DesiredCapacity: 7 })),
    );
    assert.equal(over.name, 'ValidationError');
    assert.equal(
      over.message,
      'New SetDesiredCapacity value 7 is above max value 6 for the AutoScalingGroup.',
    );

    await asg.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: 'ops-asg',
        LifecycleHookName: HOOK,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 30,
        DefaultResult: 'CONTINUE',
      }),
    );
    assert.equal(emu.state.getGroup('ops-asg')?.asg?.lifecycleHooks[0]?.heartbeatTimeoutSec, 30);
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'ops-asg',
        CapacityRebalance: true,
        InstanceMaintenancePolicy: { MinHealthyPercentage: 100, MaxHealthyPercentage: 150 },
      }),
    );
    const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['ops-asg'] })))
      .AutoScalingGroups?.[0];
    assert.equal(g?.CapacityRebalance, true);
    assert.deepEqual(g?.InstanceMaintenancePolicy, { MinHealthyPercentage: 100, MaxHealthyPercentage: 150 });

    const standby = await asg.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: 'ops-asg',
        InstanceIds: [ids[1]!],
        ShouldDecrementDesiredCapacity: false,
      }),
    );
    assert.equal(standby.Activities?.[0]?.Description, `Moving EC2 instance to Standby: ${ids[1]}`);
    const sb = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [ids[1]!] }));
    assert.equal(sb.AutoScalingInstances?.[0]?.LifecycleState, 'Standby');
    await asg.send(new ExitStandbyCommand({ AutoScalingGroupName: 'ops-asg', InstanceIds: [ids[1]!] }));
    assert.equal(emu.state.getInstance(ids[1]!)?.asg?.lifecycleState, 'InService');
    await asg.send(new SetInstanceHealthCommand({ InstanceId: ids[0]!, HealthStatus: 'Unhealthy' }));
    assert.equal(emu.state.getInstance(ids[0]!)?.asg?.lifecycleState, 'Terminating:Wait');

    const { InstanceRefreshId } = await asg.send(
      new StartInstanceRefreshCommand({ AutoScalingGroupName: 'ops-asg' }),
    );
    assert.match(InstanceRefreshId ?? '', /^[0-9a-f-]{36}$/);
    const r = await asg.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'ops-asg' }));
    assert.equal(r.InstanceRefreshes?.[0]?.InstanceRefreshId, InstanceRefreshId);
    assert.equal(r.InstanceRefreshes?.[0]?.Status, 'InProgress');
    assert.equal(r.InstanceRefreshes?.[0]?.Preferences?.MinHealthyPercentage, 100);
  });

  test('throttling: a transient Throttling is retried by the SDK; a persistent one surfaces as Throttling', async () => {
    await freshGroup('throttle-asg', 1);
    emu.state.addFault('autoscaling:DescribeAutoScalingGroups', { kind: 'rate-limit', count: 1 });
    const ok = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['throttle-asg'] }),
    );
    assert.equal(ok.$metadata.attempts, 2);
    emu.state.addFault('autoscaling', { kind: 'rate-limit' });
    const once = new AutoScalingClient({
      endpoint: emu.url,
      region: REGION,
      credentials: { accessKeyId: KEY, secretAccessKey: 's' },
      maxAttempts: 1,
    });
    const err = await sdkError(once.send(new DescribeAutoScalingGroupsCommand({})));
    once.destroy();
    assert.equal(err.name, 'Throttling');
    assert.equal(err.message, 'Rate exceeded');
    assert.equal(err.$metadata?.httpStatusCode, 400);
    // a configured rate limit on EC2 answers as EC2 does
    emu.state.clearFaults();
    emu.state.setRateLimit('ec2:DescribeInstances', { limit: 0 });
    const e2 = await sdkError(
      new EC2Client({
        endpoint: emu.url,
        region: REGION,
        credentials: { accessKeyId: KEY, secretAccessKey: 's' },
        maxAttempts: 1,
      }).send(new DescribeInstancesCommand({})),
    );
    emu.state.setRateLimit('ec2:DescribeInstances', null);
    assert.equal(e2.name, 'RequestLimitExceeded');
    assert.equal(e2.$metadata?.httpStatusCode, 503);
  });

  test('503, AccessDenied, malformed XML and a timeout surface as SDK errors', async () => {
    await freshGroup('fault-asg', 1);
    const once = new AutoScalingClient({
      endpoint: emu.url,
      region: REGION,
      credentials: { accessKeyId: KEY, secretAccessKey: 's' },
      maxAttempts: 1,
      requestHandler: { requestTimeout: 300 },
    });
    try {
      emu.state.addFault('autoscaling', { kind: 'status', status: 503, count: 1 });
      const e503 = await sdkError(once.send(new DescribeAutoScalingGroupsCommand({})));
      assert.equal(e503.name, 'ServiceUnavailable');
      assert.equal(e503.$metadata?.httpStatusCode, 503);
      assert.equal(e503.$fault, 'server');

      emu.state.addFault('autoscaling:CompleteLifecycleAction', {
        kind: 'aws-error',
        code: 'AccessDenied',
        count: 1,
      });
      const denied = await sdkError(
        once.send(
          new CompleteLifecycleActionCommand({
            AutoScalingGroupName: 'fault-asg',
            LifecycleHookName: HOOK,
            InstanceId: 'i-0000000000000dead',
            LifecycleActionResult: 'CONTINUE',
          }),
        ),
      );
      assert.equal(denied.name, 'AccessDenied');
      assert.equal(denied.$metadata?.httpStatusCode, 403);
      assert.match(denied.message, /is not authorized to perform: autoscaling:CompleteLifecycleAction/);

      emu.state.addFault('autoscaling', { kind: 'malformed', count: 1 });
      const bad = await sdkError(once.send(new DescribeAutoScalingGroupsCommand({})));
      assert.ok(!['ValidationError', 'Throttling'].includes(bad.name), `a parse error, got ${bad.name}`);
      assert.match(String(bad.message), /pars|xml|Unexpected|Expected|closing|end/i);

      emu.state.addFault('autoscaling', { kind: 'timeout', ms: 2_000, count: 1 });
      const slow = await sdkError(once.send(new DescribeAutoScalingGroupsCommand({})));
      assert.match(`${slow.name} ${slow.message}`, /Timeout|timed out|socket hang up|ECONNRESET/i);
    } finally {
      once.destroy();
    }
  });

  test('pagination: the SDK paginators walk NextToken pages; a bad token is refused', async () => {
    await freshGroup('page-a', 3);
    await freshGroup('page-b', 3);
    const names: string[] = [];
    let pages = 0;
    for await (const pg of paginateDescribeAutoScalingGroups({ client: asg, pageSize: 1 }, {})) {
      pages++;
      names.push(...(pg.AutoScalingGroups ?? []).map((g) => g.AutoScalingGroupName ?? ''));
    }
    assert.ok(names.includes('page-a') && names.includes('page-b'));
    assert.equal(pages, names.length, 'one group per page');
    const ids: string[] = [];
    let ec2Pages = 0;
    for await (const pg of paginateDescribeInstances(
      { client: ec2, pageSize: 5 },
      { Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['page-a', 'page-b'] }] },
    )) {
      ec2Pages++;
      ids.push(...(pg.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId ?? '')));
    }
    assert.equal(ec2Pages, 2);
    assert.deepEqual(
      ids.sort(),
      [...emu.state.listInstances({ groupId: 'page-a' }), ...emu.state.listInstances({ groupId: 'page-b' })]
        .map((i) => i.id)
        .sort(),
    );
    const bad = await sdkError(asg.send(new DescribeAutoScalingGroupsCommand({ NextToken: 'bm9wZQ==' })));
    assert.equal(bad.name, 'InvalidNextToken');
  });

  test('an instance without a private IP yet (no-private-ip fault); pending state code 0', async () => {
    emu.state.createGroup({ provider: 'asg', name: 'noip-asg', targetCapacity: 1, launchDelayMs: 10_000 });
    const running = emu.state.listInstances({ groupId: 'noip-asg' })[0]!.id;
    clock.advance(10_000);
    emu.state.advance();
    emu.state.setTargetCapacity('noip-asg', 2);
    await emu.settled();
    const pending = emu.state.listInstances({ groupId: 'noip-asg' }).find((i) => i.state === 'pending')!.id;
    const filter = { Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['noip-asg'] }] };
    const ipOf = async (): Promise<Record<string, [number | undefined, string | undefined]>> => {
      const out = await ec2.send(new DescribeInstancesCommand(filter));
      return Object.fromEntries(
        (out.Reservations ?? [])
          .flatMap((r) => r.Instances ?? [])
          .map((i) => [i.InstanceId, [i.State?.Code, i.PrivateIpAddress]]),
      );
    };
    const ip = (id: string) => emu.state.getInstance(id)?.privateIp;
    assert.deepEqual(await ipOf(), { [running]: [16, ip(running)], [pending]: [0, ip(pending)] });
    emu.state.addFault('ec2', { kind: 'no-private-ip', count: 1 });
    assert.deepEqual(await ipOf(), { [running]: [16, ip(running)], [pending]: [0, undefined] });
    emu.state.addFault('ec2:DescribeInstances', { kind: 'no-private-ip', drop: [running], count: 1 });
    assert.deepEqual(await ipOf(), { [running]: [16, undefined], [pending]: [0, ip(pending)] });
    // Auto Scaling says Pending for the booting one
    const g = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['noip-asg'] }));
    assert.deepEqual(
      g.AutoScalingGroups?.[0]?.Instances?.map((i) => [i.InstanceId, i.LifecycleState]),
      [
        [running, 'InService'],
        [pending, 'Pending'],
      ],
    );
  });

  test('SigV4: missing → MissingAuthenticationToken; unknown key → InvalidClientTokenId / AuthFailure; wrong region', async () => {
    const body = 'Action=DescribeAutoScalingGroups&Version=2011-01-01';
    const missing = await post(emu.url, body);
    assert.equal(missing.status, 403);
    assert.match(missing.text, /<Code>MissingAuthenticationToken<\/Code>/);
    const shape = await post(emu.url, body, { Authorization: 'AWS4-HMAC-SHA256 garbage' });
    assert.equal(shape.status, 400);
    assert.match(shape.text, /<Code>IncompleteSignature<\/Code>/);
    // a short dummy key id (LocalStack style) is well-formed; here it is just not an accepted one
    const short = await post(emu.url, body, { Authorization: authHeader('autoscaling', 'test') });
    assert.equal(short.status, 403);
    assert.match(short.text, /<Code>InvalidClientTokenId<\/Code>/);

    const stranger = { accessKeyId: 'AKIASTRANGER00000001', secretAccessKey: 's' };
    const e1 = await sdkError(
      new AutoScalingClient({
        endpoint: emu.url,
        region: REGION,
        credentials: stranger,
        maxAttempts: 1,
      }).send(new DescribeAutoScalingGroupsCommand({})),
    );
    assert.equal(e1.name, 'InvalidClientTokenId');
    assert.equal(e1.$metadata?.httpStatusCode, 403);
    const e2 = await sdkError(
      new EC2Client({ endpoint: emu.url, region: REGION, credentials: stranger, maxAttempts: 1 }).send(
        new DescribeInstancesCommand({}),
      ),
    );
    assert.equal(e2.name, 'AuthFailure');
    const e3 = await sdkError(
      new AutoScalingClient({
        endpoint: emu.url,
        region: 'eu-west-1',
        credentials: { accessKeyId: KEY, secretAccessKey: 's' },
        maxAttempts: 1,
      }).send(new DescribeAutoScalingGroupsCommand({})),
    );
    assert.equal(e3.name, 'SignatureDoesNotMatch');
    assert.match(e3.message, /scoped to a valid region/);
  });

  test("the SDK's default credential chain gets the instance profile through the instance's IMDS", async () => {
    const ids = await freshGroup('creds-asg', 1);
    const imdsUrl = emu.imdsUrl(ids[0]!);
    const script = `
      import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
      const c = new AutoScalingClient({ endpoint: process.env.EMU, region: 'us-east-1', maxAttempts: 1 });
      const out = await c.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [process.env.ID] }));
      const creds = await c.config.credentials();
      console.log(JSON.stringify({ state: out.AutoScalingInstances[0].LifecycleState, key: creds.accessKeyId }));
    `;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: '/nonexistent',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
      EMU: emu.url,
      ID: ids[0]!,
    };
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '--no-warnings', '-e', script],
        { cwd: process.cwd(), env, timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const parsed = JSON.parse(out.trim()) as { state: string; key: string };
    assert.equal(parsed.state, 'InService');
    assert.equal(parsed.key, emu.state.instanceCredentials().accessKeyId);
    assert.match(parsed.key, /^ASIA[A-Z0-9]{16}$/);
    const role = await fetch(`${imdsUrl}/latest/meta-data/iam/security-credentials/`);
    assert.equal(await role.text(), 'etcd-spot-instance');
    const tag = await fetch(`${imdsUrl}/latest/meta-data/tags/instance/aws:autoscaling:groupName`);
    assert.equal(await tag.text(), 'creds-asg');
    const region = await fetch(`${imdsUrl}/latest/meta-data/placement/region`);
    assert.equal(await region.text(), 'us-east-1');
  });

  test('wire: exact XML of DescribeAutoScalingInstances, an ASG error and an EC2 error', async () => {
    const ids = await freshGroup('wire-asg', 1);
    const id = ids[0]!;
    const ok = await post(
      emu.url,
      `Action=DescribeAutoScalingInstances&Version=2011-01-01&InstanceIds.member.1=${id}`,
      { Authorization: authHeader('autoscaling') },
    );
    assert.equal(ok.status, 200);
    assert.match(ok.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(
      ok.text,
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<DescribeAutoScalingInstancesResponse xmlns="${ASG_NS}"><DescribeAutoScalingInstancesResult>` +
        '<AutoScalingInstances><member>' +
        `<InstanceId>${id}</InstanceId><AutoScalingGroupName>wire-asg</AutoScalingGroupName>` +
        '<InstanceType>m5.large</InstanceType><AvailabilityZone>us-east-1a</AvailabilityZone>' +
        '<LifecycleState>InService</LifecycleState><HealthStatus>HEALTHY</HealthStatus>' +
        `<LaunchTemplate><LaunchTemplateId>${emu.state.getGroup('wire-asg')?.asg?.launchTemplateId}</LaunchTemplateId>` +
        '<LaunchTemplateName>wire-asg-lt</LaunchTemplateName><Version>$Default</Version></LaunchTemplate>' +
        '<ProtectedFromScaleIn>false</ProtectedFromScaleIn>' +
        '</member></AutoScalingInstances></DescribeAutoScalingInstancesResult>' +
        `<ResponseMetadata><RequestId>${ok.requestId}</RequestId></ResponseMetadata>` +
        '</DescribeAutoScalingInstancesResponse>',
    );

    const err = await post(
      emu.url,
      `Action=CompleteLifecycleAction&Version=2011-01-01&LifecycleHookName=${HOOK}&AutoScalingGroupName=wire-asg&LifecycleActionResult=CONTINUE&InstanceId=${id}`,
      { Authorization: authHeader('autoscaling') },
    );
    assert.equal(err.status, 400);
    assert.equal(
      err.text,
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<ErrorResponse xmlns="${ASG_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
        `<Message>No active Lifecycle Action found with instance ID ${id}</Message></Error>` +
        `<RequestId>${err.requestId}</RequestId></ErrorResponse>`,
    );

    const e2 = await post(emu.url, 'Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0bad', {
      Authorization: authHeader('ec2'),
    });
    assert.equal(e2.status, 400);
    assert.equal(
      e2.text,
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-0bad' does not exist</Message></Error></Errors>" +
        `<RequestID>${e2.requestId}</RequestID></Response>`,
    );

    // GET with the query string works too; the Spot API still answers at /aws/…
    const get = await fetch(
      `${emu.url}/?Action=DescribeLifecycleHooks&Version=2011-01-01&AutoScalingGroupName=wire-asg`,
      {
        headers: { Authorization: authHeader('autoscaling') },
      },
    );
    assert.equal(get.status, 200);
    assert.match(await get.text(), /<LifecycleHookName>etcd-drain<\/LifecycleHookName>/);
    const spot = await fetch(`${emu.url}/aws/ec2/group`);
    assert.equal(spot.status, 401);
  });
});

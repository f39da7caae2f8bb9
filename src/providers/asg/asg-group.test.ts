/**
 * The ASG adapter with the real `@aws-sdk/client-auto-scaling` (its request handler replaced: no
 * sockets) and the signed EC2 Query call (its fetch replaced), answering AWS's wire shapes
 * (cloud-apis.md §3). The emulator-backed integration test is test/integration/asg-provider.test.ts.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { recordingLogger } from '../../../test/support/recording-logger.ts';
import { CloudApiError, MalformedResponseError, RateLimitedError, isRetryable } from '../../core/errors.ts';
import { createAsgGroup } from './asg-group.ts';
import type { AsgGroupOptions } from './asg-group.ts';

type Answer = { status?: number; xml: string };
type Handler = (action: string, params: URLSearchParams) => Answer;

const ASG_NS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

function asgOk(action: string, inner: string): Answer {
  return {
    xml: `<?xml version="1.0"?><${action}Response xmlns="${ASG_NS}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function asgError(status: number, code: string, message: string): Answer {
  return {
    status,
    xml: `<ErrorResponse xmlns="${ASG_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
  };
}

function groupXml(instances: [string, string][], desired = 3, name = 'etcd'): Answer {
  const members = instances
    .map(
      ([id, state]) =>
        `<member><InstanceId>${id}</InstanceId><AvailabilityZone>us-east-1a</AvailabilityZone><LifecycleState>${state}</LifecycleState><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`,
    )
    .join('');
  return asgOk(
    'DescribeAutoScalingGroups',
    `<AutoScalingGroups><member><AutoScalingGroupName>${name}</AutoScalingGroupName><MinSize>1</MinSize><MaxSize>9</MaxSize><DesiredCapacity>${desired}</DesiredCapacity><Instances>${members}</Instances></member></AutoScalingGroups>`,
  );
}

function ec2Xml(instances: [string, string | undefined][]): string {
  const items = instances
    .map(
      ([id, ip]) =>
        `<item><instanceId>${id}</instanceId><instanceState><code>16</code><name>running</name></instanceState>${ip ? `<privateIpAddress>${ip}</privateIpAddress>` : ''}<launchTime>2026-11-30T10:00:00.000Z</launchTime><networkInterfaceSet><item><privateIpAddress>10.9.9.9</privateIpAddress></item></networkInterfaceSet></item>`,
    )
    .join('');
  return `<?xml version="1.0"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>e-1</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${items}</instancesSet></item></reservationSet></DescribeInstancesResponse>`;
}

interface Rig {
  calls: { action: string; params: URLSearchParams }[];
  ec2Calls: { body: string; headers: Record<string, string> }[];
  clock: ManualClock;
  opts: AsgGroupOptions;
}

function rig(asg: Handler, ec2: (params: URLSearchParams) => Answer = () => ({ xml: ec2Xml([]) })): Rig {
  const calls: Rig['calls'] = [];
  const ec2Calls: Rig['ec2Calls'] = [];
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 14, 0, 0));
  const requestHandler = {
    handle: async (request: { body?: unknown }) => {
      const params = new URLSearchParams(String(request.body));
      const action = params.get('Action') ?? '';
      calls.push({ action, params });
      const a = asg(action, params);
      return {
        response: {
          statusCode: a.status ?? 200,
          reason: '',
          headers: { 'content-type': 'text/xml', 'x-amzn-requestid': 'r-1' },
          body: Readable.from([Buffer.from(a.xml)]),
        },
      };
    },
  };
  const fetchImpl = (async (_url: string, init: { body: string; headers: Record<string, string> }) => {
    ec2Calls.push({ body: init.body, headers: init.headers });
    const a = ec2(new URLSearchParams(init.body));
    return new Response(a.xml, { status: a.status ?? 200 });
  }) as unknown as typeof fetch;
  return {
    calls,
    ec2Calls,
    clock,
    opts: {
      groupName: 'etcd',
      selfId: 'i-1',
      region: 'us-east-1',
      autoscalingEndpoint: 'http://127.0.0.1:1',
      ec2Endpoint: 'http://127.0.0.1:2/',
      heartbeatIntervalMs: 30_000,
      requestTimeoutMs: 2000,
      clock,
      logger: recordingLogger(),
      requestHandler: requestHandler as unknown as AsgGroupOptions['requestHandler'],
      fetchImpl,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      random: () => 0.5,
    },
  };
}

const STATES: [string, string][] = [
  ['i-1', 'InService'],
  ['i-2', 'Terminating:Wait'],
  ['i-3', 'Pending'],
  ['i-4', 'Warmed:Running'],
  ['i-5', 'Standby'],
  ['i-6', 'InService'],
  ['i-7', 'Terminated'],
];

describe('listInstances and desired capacity', () => {
  test('lists InService and Terminating* with their EC2 private IPs (eth0, not a nested interface); one group request for list + capacity', async () => {
    const r = rig(
      (action) => (action === 'DescribeAutoScalingGroups' ? groupXml(STATES, 4) : asgOk(action, '')),
      () => ({
        xml: ec2Xml([
          ['i-1', '10.0.0.1'],
          ['i-2', '10.0.0.2'],
          ['i-6', '10.0.0.6'],
        ]),
      }),
    );
    const g = await createAsgGroup(r.opts);
    const [list, desired] = await Promise.all([g.listInstances(), g.desiredCapacity?.()]);
    assert.deepEqual(
      list.map((i) => [i.id, i.privateIp, i.availabilityZone]),
      [
        ['i-1', '10.0.0.1', 'us-east-1a'],
        ['i-2', '10.0.0.2', 'us-east-1a'],
        ['i-6', '10.0.0.6', 'us-east-1a'],
      ],
    );
    assert.equal(list[0]?.launchedAt, Date.parse('2026-11-30T10:00:00.000Z'));
    assert.equal(desired, 4);
    assert.deepEqual(
      r.calls.map((c) => c.action),
      ['DescribeAutoScalingGroups'],
    );
    assert.equal(r.calls[0]?.params.get('AutoScalingGroupNames.member.1'), 'etcd');
    // EC2 asked only for the listed instances, by filter (an unknown id never fails the call), signed.
    const ec2 = new URLSearchParams(r.ec2Calls[0]?.body);
    assert.equal(ec2.get('Action'), 'DescribeInstances');
    assert.equal(ec2.get('Filter.1.Name'), 'instance-id');
    assert.deepEqual(
      [ec2.get('Filter.1.Value.1'), ec2.get('Filter.1.Value.2'), ec2.get('Filter.1.Value.3')],
      ['i-1', 'i-2', 'i-6'],
    );
    assert.match(
      r.ec2Calls[0]?.headers.authorization ?? '',
      /^AWS4-HMAC-SHA256 Credential=AKID\/20261130\/us-east-1\/ec2\/aws4_request/,
    );
  });

  test('notInService: Warmed, Pending, Standby and absent instances say why; InService and leaving ones do not', async () => {
    const r = rig(
      (action) => (action === 'DescribeAutoScalingGroups' ? groupXml(STATES) : asgOk(action, '')),
      () => ({
        xml: ec2Xml([
          ['i-1', '10.0.0.1'],
          ['i-2', '10.0.0.2'],
          ['i-6', '10.0.0.6'],
        ]),
      }),
    );
    const g = await createAsgGroup(r.opts);
    assert.match(g.notInService?.('i-4') ?? '', /not been read yet/);
    await g.listInstances();
    assert.equal(g.notInService?.('i-1'), undefined);
    assert.equal(g.notInService?.('i-2'), undefined);
    assert.match(g.notInService?.('i-4') ?? '', /Warmed:Running/);
    assert.match(g.notInService?.('i-3') ?? '', /Pending/);
    assert.match(g.notInService?.('i-5') ?? '', /Standby/);
    assert.match(g.notInService?.('i-99') ?? '', /not in Auto Scaling group etcd/);
  });

  test('an InService instance without a private IP makes the list unknown (retryable), a leaving one is skipped', async () => {
    const r = rig(
      (action) =>
        action === 'DescribeAutoScalingGroups'
          ? groupXml([
              ['i-1', 'InService'],
              ['i-2', 'Terminating:Proceed'],
            ])
          : asgOk(action, ''),
      () => ({ xml: ec2Xml([['i-1', undefined]]) }),
    );
    const g = await createAsgGroup(r.opts);
    await assert.rejects(g.listInstances(), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && isRetryable(e));
      assert.match(e.message, /i-1 \(InService\) has no private IP/);
      return true;
    });
    const r2 = rig(
      (action) =>
        action === 'DescribeAutoScalingGroups'
          ? groupXml([
              ['i-1', 'InService'],
              ['i-2', 'Terminating:Proceed'],
            ])
          : asgOk(action, ''),
      () => ({ xml: ec2Xml([['i-1', '10.0.0.1']]) }),
    );
    assert.deepEqual(
      (await (await createAsgGroup(r2.opts)).listInstances()).map((i) => i.id),
      ['i-1'],
    );
  });

  test('an unknown LifecycleState is a malformed answer, never guessed', async () => {
    const r = rig((action) =>
      action === 'DescribeAutoScalingGroups' ? groupXml([['i-1', 'Sideways']]) : asgOk(action, ''),
    );
    const g = await createAsgGroup(r.opts);
    await assert.rejects(
      g.listInstances(),
      (e: unknown) =>
        e instanceof MalformedResponseError && /unknown LifecycleState 'Sideways'/.test(e.message),
    );
  });

  test('a group that does not exist (or another region) is a terminal error naming group and region', async () => {
    const r = rig((action) => asgOk(action, '<AutoScalingGroups/>'));
    const g = await createAsgGroup(r.opts);
    await assert.rejects(g.listInstances(), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && !isRetryable(e));
      assert.equal(e.code, 'ASG_GROUP_NOT_FOUND');
      assert.match(e.message, /no such group in region us-east-1/);
      return true;
    });
  });

  test('malformed XML from Auto Scaling, and from EC2, is a MalformedResponseError', async () => {
    const r = rig(() => ({
      xml: '<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoSc',
    }));
    await assert.rejects((await createAsgGroup(r.opts)).listInstances(), MalformedResponseError);
    const r2 = rig(
      (action) =>
        action === 'DescribeAutoScalingGroups' ? groupXml([['i-1', 'InService']]) : asgOk(action, ''),
      () => ({ xml: '<DescribeInstancesResponse><reservationSet>' }),
    );
    await assert.rejects((await createAsgGroup(r2.opts)).listInstances(), MalformedResponseError);
  });

  test('AccessDenied (Auto Scaling) and UnauthorizedOperation (EC2) are terminal and name the IAM action', async () => {
    const r = rig(() => asgError(403, 'AccessDenied', 'User is not authorized'));
    await assert.rejects((await createAsgGroup(r.opts)).listInstances(), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && !isRetryable(e));
      assert.equal(e.code, 'AWS_ACCESS_DENIED');
      assert.match(e.message, /autoscaling:DescribeAutoScalingGroups/);
      return true;
    });
    const r2 = rig(
      (action) =>
        action === 'DescribeAutoScalingGroups' ? groupXml([['i-1', 'InService']]) : asgOk(action, ''),
      () => ({
        status: 403,
        xml: '<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors><RequestID>x</RequestID></Response>',
      }),
    );
    await assert.rejects((await createAsgGroup(r2.opts)).listInstances(), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && !isRetryable(e));
      assert.match(e.message, /ec2:DescribeInstances/);
      return true;
    });
  });

  test('throttling backs off: RateLimitedError with retryAfterMs, no request until it has passed', async () => {
    let throttle = true;
    const r = rig(
      (action) =>
        throttle
          ? asgError(400, 'Throttling', 'Rate exceeded')
          : action === 'DescribeAutoScalingGroups'
            ? groupXml([['i-1', 'InService']])
            : asgOk(action, ''),
      () => ({ xml: ec2Xml([['i-1', '10.0.0.1']]) }),
    );
    const reported: { route: string; status: unknown }[] = [];
    const g = await createAsgGroup({ ...r.opts, onCall: (c) => reported.push(c) });
    await assert.rejects(g.listInstances(), (e: unknown) => {
      assert.ok(e instanceof RateLimitedError);
      assert.equal(e.retryAfterMs, 1000);
      return true;
    });
    // AWS throttles with a 400; the metric counts it as rate-limited.
    assert.deepEqual(reported, [{ route: 'DescribeAutoScalingGroups', status: 429 }]);
    throttle = false;
    await assert.rejects(g.listInstances(), RateLimitedError);
    assert.equal(r.calls.length, 1, 'no request during the back-off');
    await r.clock.advance(1000);
    assert.equal((await g.listInstances()).length, 1);
    assert.equal(r.calls.length, 2);
  });
});

describe('lifecycle: state, release and heartbeats', () => {
  const hooks = (names: string[], transition = 'autoscaling:EC2_INSTANCE_TERMINATING') =>
    asgOk(
      'DescribeLifecycleHooks',
      `<LifecycleHooks>${names
        .map(
          (n) =>
            `<member><LifecycleHookName>${n}</LifecycleHookName><AutoScalingGroupName>etcd</AutoScalingGroupName><LifecycleTransition>${transition}</LifecycleTransition><HeartbeatTimeout>300</HeartbeatTimeout><DefaultResult>CONTINUE</DefaultResult></member>`,
        )
        .join('')}</LifecycleHooks>`,
    );

  test('instanceState: Terminating:Wait is leaving, absent is gone, another group is an error', async () => {
    let answer =
      '<member><InstanceId>i-1</InstanceId><AutoScalingGroupName>etcd</AutoScalingGroupName><LifecycleState>Terminating:Wait</LifecycleState><HealthStatus>HEALTHY</HealthStatus></member>';
    const r = rig((action) => asgOk(action, `<AutoScalingInstances>${answer}</AutoScalingInstances>`));
    const g = await createAsgGroup(r.opts);
    assert.deepEqual(await g.instanceState('i-1'), { state: 'Terminating:Wait', cls: 'terminating' });
    assert.equal(await g.lifecycleState('i-1'), 'terminating');
    answer = '';
    assert.equal(await g.lifecycleState('i-1'), 'gone');
    answer =
      '<member><InstanceId>i-1</InstanceId><AutoScalingGroupName>other</AutoScalingGroupName><LifecycleState>InService</LifecycleState></member>';
    await assert.rejects(g.instanceState('i-1'), /belongs to Auto Scaling group other, not etcd/);
  });

  test('confirmTerminated: true only when EC2 says terminated; running, unknown and errors are no proof', async () => {
    let state: string | undefined = 'terminated';
    let status = 200;
    const r = rig(
      (action) => asgOk(action, '<AutoScalingInstances></AutoScalingInstances>'),
      () =>
        status !== 200
          ? {
              status,
              xml: '<Response><Errors><Error><Code>Unavailable</Code><Message>x</Message></Error></Errors><RequestID>r</RequestID></Response>',
            }
          : {
              xml: ec2Xml([]).replace(
                '<instancesSet></instancesSet>',
                state === undefined
                  ? '<instancesSet></instancesSet>'
                  : `<instancesSet><item><instanceId>i-9</instanceId><instanceState><code>48</code><name>${state}</name></instanceState></item></instancesSet>`,
              ),
            },
    );
    const g = await createAsgGroup(r.opts);
    assert.equal(await g.confirmTerminated?.('i-9'), true);
    state = 'shutting-down';
    assert.equal(await g.confirmTerminated?.('i-9'), false, 'shutting down is not terminated yet');
    state = undefined;
    assert.equal(await g.confirmTerminated?.('i-9'), false, 'unknown to EC2: no proof');
    status = 503;
    await assert.rejects(g.confirmTerminated!('i-9'));
  });

  test('no group name: the group of the instance (DescribeAutoScalingInstances)', async () => {
    const r = rig((action) =>
      asgOk(
        action,
        '<AutoScalingInstances><member><InstanceId>i-1</InstanceId><AutoScalingGroupName>found</AutoScalingGroupName><LifecycleState>InService</LifecycleState></member></AutoScalingInstances>',
      ),
    );
    const g = await createAsgGroup({ ...r.opts, groupName: undefined });
    assert.equal(g.groupName, 'found');
  });

  test('release: CompleteLifecycleAction CONTINUE on the discovered EC2_INSTANCE_TERMINATING hook', async () => {
    const r = rig((action) =>
      action === 'DescribeLifecycleHooks' ? hooks(['etcd-leave']) : asgOk(action, ''),
    );
    const g = await createAsgGroup(r.opts);
    await g.signalReadyToShutdown('i-1');
    const done = r.calls.find((c) => c.action === 'CompleteLifecycleAction');
    assert.ok(done);
    assert.equal(done.params.get('LifecycleActionResult'), 'CONTINUE');
    assert.equal(done.params.get('LifecycleHookName'), 'etcd-leave');
    assert.equal(done.params.get('AutoScalingGroupName'), 'etcd');
    assert.equal(done.params.get('InstanceId'), 'i-1');
  });

  test('release after the action timed out or was completed (400 No active Lifecycle Action): logged, treated as done', async () => {
    const r = rig((action) =>
      action === 'CompleteLifecycleAction'
        ? asgError(400, 'ValidationError', 'No active Lifecycle Action found with instance ID i-1')
        : asgOk(action, ''),
    );
    const logger = recordingLogger();
    const g = await createAsgGroup({ ...r.opts, lifecycleHookName: 'etcd-leave', logger });
    await g.signalReadyToShutdown('i-1');
    assert.ok(logger.entries.some((e) => /treated as done/.test(e.msg ?? '')));
  });

  test('release before Auto Scaling opened an action (spot notice first): a retryable error, retried at most every 10 s, then done once the instance is terminating', async () => {
    let state = 'InService';
    const r = rig((action) =>
      action === 'CompleteLifecycleAction'
        ? asgError(400, 'ValidationError', 'No active Lifecycle Action found with instance ID i-1')
        : action === 'DescribeAutoScalingInstances'
          ? asgOk(
              action,
              `<AutoScalingInstances><member><InstanceId>i-1</InstanceId><AutoScalingGroupName>etcd</AutoScalingGroupName><LifecycleState>${state}</LifecycleState></member></AutoScalingInstances>`,
            )
          : asgOk(action, ''),
    );
    const g = await createAsgGroup({ ...r.opts, lifecycleHookName: 'etcd-leave' });
    const completes = () => r.calls.filter((c) => c.action === 'CompleteLifecycleAction').length;
    await assert.rejects(g.signalReadyToShutdown('i-1'), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && isRetryable(e) && e.code === 'ASG_NO_ACTION_YET', String(e));
      assert.match(e.message, /LifecycleState InService/);
      return true;
    });
    await assert.rejects(g.signalReadyToShutdown('i-1'), /no lifecycle action is open/);
    assert.equal(completes(), 1, 'no call within 10 s of the last try');
    await r.clock.advance(10_000);
    state = 'Terminating:Proceed';
    await g.signalReadyToShutdown('i-1');
    assert.equal(completes(), 2);
  });

  test('release on an unknown hook fails with a clear error (the agent retries; nothing is assumed)', async () => {
    const r = rig((action) =>
      action === 'CompleteLifecycleAction'
        ? asgError(400, 'ValidationError', 'No Lifecycle Hook found with name nope for group etcd')
        : asgOk(action, ''),
    );
    const g = await createAsgGroup({ ...r.opts, lifecycleHookName: 'nope' });
    await assert.rejects(g.signalReadyToShutdown('i-1'), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && !isRetryable(e));
      assert.equal(e.code, 'ASG_HOOK_NOT_FOUND');
      return true;
    });
  });

  test('several terminating hooks and none configured: the release refuses to guess', async () => {
    const r = rig((action) => (action === 'DescribeLifecycleHooks' ? hooks(['a', 'b']) : asgOk(action, '')));
    const g = await createAsgGroup(r.opts);
    await assert.rejects(g.signalReadyToShutdown('i-1'), /2 EC2_INSTANCE_TERMINATING hooks \(a, b\)/);
    assert.ok(!r.calls.some((c) => c.action === 'CompleteLifecycleAction'));
  });

  test('no terminating hook (only a launch hook): the release is a logged no-op', async () => {
    const r = rig((action) =>
      action === 'DescribeLifecycleHooks'
        ? hooks(['launch'], 'autoscaling:EC2_INSTANCE_LAUNCHING')
        : asgOk(action, ''),
    );
    const g = await createAsgGroup(r.opts);
    await g.signalReadyToShutdown('i-1');
    assert.ok(!r.calls.some((c) => c.action === 'CompleteLifecycleAction'));
  });

  test('heartbeats: one at once, one per interval, none after the release', async () => {
    const r = rig((action) => asgOk(action, ''));
    const g = await createAsgGroup({ ...r.opts, lifecycleHookName: 'etcd-leave' });
    const beats = () => r.calls.filter((c) => c.action === 'RecordLifecycleActionHeartbeat').length;
    g.startHeartbeats('i-1');
    g.startHeartbeats('i-1'); // idempotent
    await r.clock.advance(0);
    assert.equal(beats(), 1);
    await r.clock.advance(30_000);
    assert.equal(beats(), 2);
    const hb = r.calls.find((c) => c.action === 'RecordLifecycleActionHeartbeat');
    assert.equal(hb?.params.get('LifecycleHookName'), 'etcd-leave');
    assert.equal(hb?.params.get('InstanceId'), 'i-1');
    await g.signalReadyToShutdown('i-1');
    await r.clock.advance(60_000);
    assert.equal(beats(), 2);
    await g.close();
  });
});

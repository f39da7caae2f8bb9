/**
 * The ASG provider with the real `@aws-sdk/client-auto-scaling` and the signed EC2 Query call against
 * the emulator's AWS endpoints and its per-instance IMDS (group name from the instance tag, region
 * from placement/region, credentials from the emulated instance profile), on loopback 127.0.85.x.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createImds } from '../../src/adapters/imds/imds.ts';
import { systemClock } from '../../src/adapters/local/system-clock.ts';
import { configSchema } from '../../src/config/schema.ts';
import { CloudApiError, RateLimitedError, isRetryable } from '../../src/core/errors.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import type { AsgGroup } from '../../src/providers/asg/asg-group.ts';
import { createAsgGroup } from '../../src/providers/asg/asg-group.ts';
import { createProvider } from '../../src/providers/registry.ts';
import { recordingLogger } from '../support/recording-logger.ts';
import { waitFor } from '../support/wait.ts';

const GROUP = 'etcd-asg';
const HOOK = 'etcd-leave';

describe('ASG provider against the emulator (real AWS SDK)', () => {
  let emu: RunningEmulator;
  let ids: string[];

  before(async () => {
    emu = await startEmulator({
      listen: '127.0.85.1:0',
      token: 'unused',
      imdsPort: 13_385,
      ipPrefix: '127.0.85',
      tickMs: 20,
    });
    emu.state.createGroup({
      provider: 'asg',
      name: GROUP,
      targetCapacity: 3,
      asg: {
        lifecycleHooks: [
          { name: HOOK, transition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeoutSec: 30 },
        ],
        instanceMaintenancePolicy: { minHealthyPercentage: 100, maxHealthyPercentage: 150 },
      },
    });
    await emu.settled();
    await waitFor(
      () => emu.state.listInstances({ groupId: GROUP }).every((i) => i.asg?.lifecycleState === 'InService'),
      { timeoutMs: 10_000, intervalMs: 50, what: 'three InService instances' },
    );
    ids = emu.state.listInstances({ groupId: GROUP }).map((i) => i.id);
  });

  after(async () => {
    await emu?.close();
  });

  function direct(extra: Partial<Parameters<typeof createAsgGroup>[0]> = {}): Promise<AsgGroup> {
    return createAsgGroup({
      selfId: ids[0] as string,
      region: 'us-east-1',
      autoscalingEndpoint: emu.url,
      ec2Endpoint: emu.url,
      heartbeatIntervalMs: 200,
      requestTimeoutMs: 2000,
      clock: systemClock,
      logger: recordingLogger(),
      credentials: { accessKeyId: 'AKIAEMULATORTEST0001', secretAccessKey: 'secret' },
      ...extra,
    });
  }

  it('through the provider: name from the tag, region from IMDS, credentials from the instance profile', async () => {
    const self = ids[0] as string;
    const config = configSchema.parse({
      group: {
        provider: 'asg',
        autoscalingEndpoint: emu.url,
        ec2Endpoint: emu.url,
        requestTimeout: '2s',
        heartbeatInterval: '10s',
      },
      metadata: { url: emu.imdsUrl(self), timeout: '1s' },
      agent: { peerSecret: 'x'.repeat(32) },
    });
    const logger = recordingLogger();
    const metadata = createImds({
      url: emu.imdsUrl(self),
      requireV2: false,
      timeoutMs: 1000,
      tokenTtlSec: 300,
      clock: systemClock,
      logger,
    });
    const p = createProvider(config, { metadata, clock: systemClock, logger, env: {} });
    try {
      const list = await p.group.listInstances();
      const want = emu.state.listInstances({ groupId: GROUP }).map((i) => [i.id, i.privateIp]);
      assert.deepEqual(list.map((i) => [i.id, i.privateIp]).sort(), want.sort());
      assert.equal(p.group.description, `asg ${GROUP}`);
      assert.equal(await p.group.desiredCapacity?.(), 3);
      assert.equal(await p.group.lifecycleState(self), 'active');
      assert.deepEqual(await p.checkDeployment({ instanceId: self, privateIp: '127.0.85.10' }), []);
    } finally {
      await p.close();
    }
  });

  it('an instance terminated in the group is held in Terminating:Wait: listed, leaving, heartbeats, then released by CompleteLifecycleAction', async () => {
    const g = await direct();
    const victim = ids[1] as string;
    try {
      emu.state.terminateInAutoScalingGroup(victim, false);
      assert.deepEqual(await g.instanceState(victim), { state: 'Terminating:Wait', cls: 'terminating' });
      assert.ok(
        (await g.listInstances()).some((i) => i.id === victim),
        'a leaving instance is still listed',
      );
      g.startHeartbeats(victim);
      await waitFor(() => (emu.state.getInstance(victim)?.asg?.lifecycleActions[0]?.heartbeats ?? 0) >= 2, {
        timeoutMs: 5000,
        intervalMs: 50,
        what: 'two heartbeats recorded',
      });
      await g.signalReadyToShutdown(victim);
      const done = emu.state.getInstance(victim)?.asg?.completedActions.at(-1);
      assert.equal(done?.how, 'complete');
      assert.equal(done?.result, 'CONTINUE');
      assert.equal(done?.hookName, HOOK);
      await waitFor(() => emu.state.getInstance(victim)?.state === 'terminated', {
        timeoutMs: 5000,
        intervalMs: 50,
        what: 'the instance terminated',
      });
      // A second release (e.g. after an agent restart): the action is over, treated as done.
      await g.signalReadyToShutdown(victim);
      // The replacement is Pending, then InService: not listed (and not allowed to join) until then.
      const replacement = emu.state
        .listInstances({ groupId: GROUP })
        .find((i) => !ids.includes(i.id) && i.state !== 'terminated');
      assert.ok(replacement);
    } finally {
      await g.close();
    }
  });

  it('bad input: unknown group, unknown hook, AccessDenied, throttling, malformed XML, EC2 errors', async () => {
    const unknown = await direct({ groupName: 'nope' });
    await assert.rejects(unknown.listInstances(), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && !isRetryable(e) && e.code === 'ASG_GROUP_NOT_FOUND', String(e));
      return true;
    });
    await unknown.close();

    const wrongRegion = await direct({ groupName: GROUP, region: 'eu-west-1' });
    await assert.rejects(wrongRegion.listInstances(), (e: unknown) => {
      assert.ok(e instanceof CloudApiError && !isRetryable(e) && e.code === 'AWS_WRONG_REGION', String(e));
      assert.match((e as Error).message, /check group.region/);
      return true;
    });
    await wrongRegion.close();

    const g = await direct({ groupName: GROUP, lifecycleHookName: 'no-such-hook' });
    try {
      emu.state.terminateInAutoScalingGroup(ids[2] as string, false);
      await assert.rejects(g.signalReadyToShutdown(ids[2] as string), (e: unknown) => {
        assert.ok(e instanceof CloudApiError && !isRetryable(e), String(e));
        return true;
      });

      emu.state.addFault('autoscaling:DescribeAutoScalingGroups', {
        kind: 'aws-error',
        code: 'AccessDenied',
        status: 403,
        count: 1,
      });
      await assert.rejects(g.listInstances(), (e: unknown) => {
        assert.ok(e instanceof CloudApiError && e.code === 'AWS_ACCESS_DENIED', String(e));
        assert.match((e as Error).message, /autoscaling:DescribeAutoScalingGroups/);
        return true;
      });

      emu.state.addFault('autoscaling:DescribeAutoScalingGroups', { kind: 'rate-limit', count: 1 });
      await assert.rejects(g.listInstances(), (e: unknown) => {
        assert.ok(e instanceof RateLimitedError && (e.retryAfterMs ?? 0) > 0, String(e));
        return true;
      });
      // During the back-off the adapter does not call again.
      // (Compare the counters, not `now`: stats() carries the wall clock.)
      const before = emu.state.stats();
      await assert.rejects(g.listInstances(), RateLimitedError);
      const after = emu.state.stats();
      assert.deepEqual([after.aws, after.routes], [before.aws, before.routes]);
    } finally {
      await g.close();
    }

    const m = await direct({ groupName: GROUP });
    try {
      emu.state.addFault('autoscaling:DescribeAutoScalingGroups', { kind: 'malformed', count: 1 });
      await assert.rejects(m.listInstances(), (e: unknown) => {
        assert.ok(e instanceof CloudApiError && e.code === 'MALFORMED_RESPONSE', String(e));
        return true;
      });
      // An instance EC2 lists without a private IP yet: the list is unknown (retryable), never shortened.
      emu.state.addFault('ec2:DescribeInstances', {
        kind: 'no-private-ip',
        drop: [ids[0] as string],
        count: 1,
      });
      await assert.rejects(m.listInstances(), (e: unknown) => {
        assert.ok(
          e instanceof CloudApiError && isRetryable(e) && e.code === 'ASG_INSTANCE_WITHOUT_IP',
          String(e),
        );
        return true;
      });
      emu.state.addFault('ec2:DescribeInstances', {
        kind: 'aws-error',
        code: 'UnauthorizedOperation',
        status: 403,
        count: 1,
      });
      await assert.rejects(m.listInstances(), (e: unknown) => {
        assert.ok(e instanceof CloudApiError && e.code === 'AWS_ACCESS_DENIED', String(e));
        assert.match((e as Error).message, /ec2:DescribeInstances/);
        return true;
      });
    } finally {
      await m.close();
    }
  });
});

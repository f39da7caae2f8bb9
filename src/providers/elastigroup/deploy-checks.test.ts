import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { recordingLogger } from '../../../test/support/recording-logger.ts';
import { createElastigroup } from './elastigroup.ts';
import { configSchema } from '../../config/schema.ts';
import { CloudState } from '../../emulator/state.ts';
import { createSpotApp } from '../../emulator/http/spot.ts';
import type { GroupSpec } from '../../emulator/types.ts';
import { deploymentWarnings, runDeploymentChecks, type DeploymentCheckInput } from './deploy-checks.ts';

const base: DeploymentCheckInput = {
  groupId: 'sig-1',
  configGroupId: 'sig-1',
  taggedGroupId: 'sig-1',
  settings: { drainingTimeoutSec: 120, shutdownSignal: { timeoutSec: 300 }, instanceMetadataTags: 'enabled' },
  noticeToSignalMs: 31_000,
};

describe('deploymentWarnings', () => {
  const cases: { name: string; input: Partial<DeploymentCheckInput>; want: RegExp[] }[] = [
    { name: 'signal with a long timeout, tag matches: nothing to say', input: {}, want: [] },
    {
      name: 'no shutdown signal: Spot terminates after the draining timeout',
      input: { settings: { drainingTimeoutSec: 120, instanceMetadataTags: 'enabled' } },
      want: [
        /^Elastigroup sig-1 has no INSTANCE_READY_TO_SHUTDOWN signal .*draining timeout \(120 s\).*at least 31 s/,
      ],
    },
    {
      name: 'no signal and no draining timeout',
      input: { settings: { instanceMetadataTags: 'enabled' } },
      want: [/draining timeout \(unset\)/],
    },
    {
      name: 'a signal timeout shorter than a leave',
      input: { settings: { shutdownSignal: { timeoutSec: 30 }, instanceMetadataTags: 'enabled' } },
      want: [/signal's timeout \(30 s\) is shorter than a leave .*\(31 s: .*at least 31 s$/],
    },
    {
      name: 'a signal without a timeout: Spot.io default of 120 s, too short for a slow config',
      input: { settings: { shutdownSignal: {}, instanceMetadataTags: 'enabled' }, noticeToSignalMs: 150_000 },
      want: [/signal's default timeout \(120 s, none set\) is shorter .*at least 150 s/],
    },
    {
      name: 'a signal without a timeout, a fast config: fine',
      input: { settings: { shutdownSignal: {}, instanceMetadataTags: 'enabled' } },
      want: [],
    },
    {
      name: 'the tag names another group: cross-wired config',
      input: { taggedGroupId: 'sig-2' },
      want: [/^group\.groupId is sig-1 but this instance's spotinst:aws:ec2:group:id tag says sig-2/],
    },
    {
      name: 'tags disabled on the group: membership cannot be checked',
      input: {
        taggedGroupId: undefined,
        settings: { shutdownSignal: { timeoutSec: 300 }, instanceMetadataTags: 'disabled' },
      },
      want: [/^instance metadata tags are disabled on Elastigroup sig-1 .*enable them/],
    },
    {
      name: 'tags enabled on the group but not on this instance',
      input: { taggedGroupId: undefined },
      want: [/enables instance metadata tags but this instance shows no .* tag/],
    },
    {
      name: 'group id from the tag (none configured): nothing to cross-check',
      input: { configGroupId: undefined, taggedGroupId: 'sig-1' },
      want: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = deploymentWarnings({ ...base, ...c.input } as DeploymentCheckInput);
      assert.equal(got.length, c.want.length, got.join('\n'));
      c.want.forEach((re, i) => assert.match(got[i] as string, re));
    });
  }
});

describe('runDeploymentChecks against the emulator', () => {
  async function check(spec: Partial<GroupSpec>, identityGroupId: string | undefined) {
    const clock = new ManualClock(Date.UTC(2026, 10, 30));
    const state = new CloudState({ clock, token: 'tok', seed: 1 });
    state.createGroup({ id: 'sig-12345678', name: 'etcd', targetCapacity: 1, ...spec });
    const app = createSpotApp(state);
    const logger = recordingLogger();
    const group = createElastigroup({
      apiUrl: 'http://spot.test',
      token: 'tok',
      groupId: 'sig-12345678',
      requestTimeoutMs: 2000,
      clock,
      logger,
      fetchImpl: ((url: string, init?: RequestInit) => app.request(url, init)) as typeof fetch,
    });
    assert.deepEqual(
      await group.deploymentSettings(),
      spec.shutdownSignal === false
        ? {
            drainingTimeoutSec: Math.round((spec.signalTimeoutMs ?? 120_000) / 1000),
            instanceMetadataTags: 'enabled',
          }
        : {
            drainingTimeoutSec: Math.round((spec.signalTimeoutMs ?? 120_000) / 1000),
            shutdownSignal: { timeoutSec: Math.round((spec.signalTimeoutMs ?? 120_000) / 1000) },
            instanceMetadataTags: spec.imds?.tagsEnabled === false ? 'disabled' : 'enabled',
          },
    );
    const config = configSchema.parse({ group: { groupId: 'sig-12345678', token: 'tok' } });
    const warnings = await runDeploymentChecks({
      group,
      identity: {
        instanceId: 'i-0123456789abcdef0' as never,
        privateIp: '10.0.0.1',
        ...(identityGroupId ? { groupId: identityGroupId } : {}),
      },
      config,
      logger,
    });
    return { warnings, entries: logger.entries.filter((e) => e.obj.check === 'deployment') };
  }

  test('the default emulated group (signal 120 s, tags on): no warning, one info line', async () => {
    const { warnings, entries } = await check({}, 'sig-12345678');
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      entries.map((e) => [e.level, e.msg]),
      [['info', 'the Elastigroup waits for the leave']],
    );
  });

  test('a group without the signal: one warning in the log', async () => {
    const { warnings, entries } = await check({ shutdownSignal: false }, 'sig-12345678');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /no INSTANCE_READY_TO_SHUTDOWN signal/);
    assert.deepEqual(
      entries.map((e) => e.level),
      ['warn'],
    );
  });

  test('a 20 s signal timeout: too short for the default config (5 s poll + 26 s leave)', async () => {
    const { warnings } = await check({ signalTimeoutMs: 20_000 }, 'sig-12345678');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /timeout \(20 s\) is shorter .*at least 31 s/);
  });

  test('tags disabled: the membership check cannot be made', async () => {
    const { warnings } = await check({ imds: { tagsEnabled: false } }, undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /instance metadata tags are disabled/);
  });

  test('an API that cannot be read: logged, not thrown', async () => {
    const logger = recordingLogger();
    const clock = new ManualClock(0);
    const group = createElastigroup({
      apiUrl: 'http://spot.test',
      token: 'tok',
      groupId: 'sig-12345678',
      requestTimeoutMs: 2000,
      clock,
      logger,
      fetchImpl: (() => Promise.reject(new Error('connect ECONNREFUSED'))) as typeof fetch,
    });
    const config = configSchema.parse({ group: { groupId: 'sig-12345678', token: 'tok' } });
    const warnings = await runDeploymentChecks({
      group,
      identity: { instanceId: 'i-0123456789abcdef0' as never, privateIp: '10.0.0.1' },
      config,
      logger,
    });
    assert.deepEqual(warnings, []);
    const e = logger.entries.find((x) => x.obj.check === 'deployment');
    assert.equal(e?.level, 'warn');
    assert.match(e?.msg ?? '', /could not read the Elastigroup's settings/);
  });
});

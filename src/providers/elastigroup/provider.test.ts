import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { recordingLogger } from '../../../test/support/recording-logger.ts';
import { configSchema } from '../../config/schema.ts';
import { elastigroupProvider, spotHoldMs, spotStatusPollIntervalMs } from './provider.ts';

test('the hold: the signal timeout, its documented 120 s default, else the draining timeout, else unknown', () => {
  assert.equal(spotHoldMs({ shutdownSignal: { timeoutSec: 300 }, drainingTimeoutSec: 60 }), 300_000);
  assert.equal(
    spotHoldMs({ shutdownSignal: {} }),
    120_000,
    'a signal without a timeout: the help pages say 120 s',
  );
  assert.equal(spotHoldMs({ drainingTimeoutSec: 90 }), 90_000, 'no signal: Spot terminates after draining');
  assert.equal(spotHoldMs({}), undefined);
  assert.equal(spotHoldMs({ drainingTimeoutSec: 0 }), undefined);
});

test('own status is polled 3 times per hold, at most cloudStatusPollInterval apart, never below the termination poll', () => {
  // The defaults: 60 s cap, 5 s termination poll.
  assert.equal(spotStatusPollIntervalMs(60_000, undefined, 5000), 60_000, 'hold unknown: the cap');
  assert.equal(
    spotStatusPollIntervalMs(60_000, 120_000, 5000),
    40_000,
    "Spot's default 120 s signal timeout",
  );
  assert.equal(spotStatusPollIntervalMs(60_000, 300_000, 5000), 60_000, 'a long hold: the cap');
  assert.equal(spotStatusPollIntervalMs(60_000, 60_000, 5000), 20_000, "Spot's shortest signal timeout");
  assert.equal(spotStatusPollIntervalMs(60_000, 9000, 5000), 5000, 'never below the termination poll');
  // The simulator's fast settings keep their 2 s.
  assert.equal(spotStatusPollIntervalMs(2000, 120_000, 1000), 2000);
});

test("the provider's spot-api source polls at the cap until the start-up check reads the signal timeout, then 3 times per hold", async () => {
  const config = configSchema.parse({
    group: { provider: 'elastigroup', groupId: 'sig-1', token: 'tok' },
  }) as Parameters<typeof elastigroupProvider.create>[0];
  const group = {
    description: 'fake',
    groupId: 'sig-1',
    listInstances: async () => [],
    lifecycleState: async () => 'active' as const,
    signalReadyToShutdown: async () => {},
    deploymentSettings: async () => ({ shutdownSignal: { timeoutSec: 120 }, drainingTimeoutSec: 120 }),
  };
  const p = elastigroupProvider.create(config, {
    metadata: {
      identity: async () => ({ instanceId: 'i-1', privateIp: '127.0.170.10' }),
      get: async () => undefined,
    },
    clock: new ManualClock(),
    logger: recordingLogger(),
    env: {},
    group,
  });
  const identity = { instanceId: 'i-1', privateIp: '127.0.170.10' };
  const spot = p.terminationSources(identity).find((s) => s.name === 'spot-api');
  assert.ok(spot);
  assert.equal(
    spot.minIntervalMs,
    60_000,
    'the default cloudStatusPollInterval before the settings are read',
  );
  await p.checkDeployment(identity);
  assert.equal(spot.minIntervalMs, 40_000, "3 polls per the group's 120 s signal timeout");
});

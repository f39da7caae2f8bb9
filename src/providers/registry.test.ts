import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { recordingLogger } from '../../test/support/recording-logger.ts';
import { configSchema } from '../config/schema.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import type { InstanceMetadata } from '../ports/instance-metadata.ts';
import { PROVIDERS, createProvider, providerSettings } from './registry.ts';

function config(group: Record<string, unknown>): Config {
  return configSchema.parse({ group, agent: { peerSecret: 'x'.repeat(32) } });
}

const metadata: InstanceMetadata = {
  identity: async () => ({ instanceId: 'i-1', privateIp: '127.0.85.10' }),
  get: async () => undefined,
};
const deps = { metadata, clock: new ManualClock(), logger: recordingLogger(), env: {} };

test('every provider of the schema is registered under its own name', () => {
  assert.deepEqual(Object.keys(PROVIDERS).sort(), ['asg', 'elastigroup', 'static']);
  for (const [name, f] of Object.entries(PROVIDERS)) assert.equal(f.name, name);
});

test('settings come from the provider: cloud timeout and group id', () => {
  assert.deepEqual(providerSettings(config({ provider: 'asg', groupName: 'etcd', requestTimeout: '3s' })), {
    cloudTimeoutMs: 3000,
    groupId: 'etcd',
  });
  assert.deepEqual(providerSettings(config({ provider: 'elastigroup', groupId: 'sig-1', token: 't' })), {
    cloudTimeoutMs: 5000,
    groupId: 'sig-1',
  });
  assert.equal(
    providerSettings(config({ provider: 'static', instances: [{ id: 'i-1', privateIp: '127.0.85.10' }] }))
      .groupId,
    undefined,
  );
});

test('createProvider builds the configured one; elastigroup without a token is a ConfigError at once', () => {
  assert.equal(createProvider(config({ provider: 'asg', region: 'us-east-1' }), deps).name, 'asg');
  assert.equal(
    createProvider(config({ provider: 'static', instances: [{ id: 'i-1', privateIp: '127.0.85.10' }] }), deps)
      .name,
    'static',
  );
  assert.throws(
    () => createProvider(config({ provider: 'elastigroup', groupId: 'sig-1' }), deps),
    ConfigError,
  );
  const spot = createProvider(config({ provider: 'elastigroup', groupId: 'sig-1', token: 'tok' }), deps);
  assert.deepEqual(spot.sharedSecret, { value: 'tok', derive: 'spot-token' });
});

test('the asg provider loads the AWS SDK only on first use of the group, and its sources include the API one', async () => {
  const p = createProvider(config({ provider: 'asg', groupName: 'etcd', region: 'us-east-1' }), deps);
  assert.equal(p.sharedSecret, undefined, 'asg has no shared secret: agent.peerSecret is required');
  const names = p.terminationSources({ instanceId: 'i-1', privateIp: '127.0.85.10' }).map((s) => s.name);
  assert.deepEqual(names, ['imds-spot', 'imds-asg-lifecycle', 'imds-rebalance', 'asg-api']);
  await p.close();
});

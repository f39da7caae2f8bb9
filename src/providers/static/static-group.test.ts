import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStaticGroup } from './static-group.ts';
import { loadConfig } from '../../config/load.ts';

test('lists the configured instances; listed → active, else gone; signal is a no-op', async () => {
  const g = createStaticGroup({
    instances: [
      { id: 'i-1', privateIp: '10.0.0.1', availabilityZone: 'a' },
      { id: 'i-2', privateIp: '10.0.0.2' },
    ],
  });
  assert.equal(g.description, 'static (2 instances)');
  const list = await g.listInstances();
  assert.deepEqual(list, [
    { id: 'i-1', privateIp: '10.0.0.1', availabilityZone: 'a' },
    { id: 'i-2', privateIp: '10.0.0.2' },
  ]);
  list.pop();
  assert.equal((await g.listInstances()).length, 2, 'callers cannot change the list');
  assert.equal(await g.lifecycleState('i-2'), 'active');
  assert.equal(await g.lifecycleState('i-9'), 'gone');
  await g.signalReadyToShutdown('i-1');
  assert.equal(await g.desiredCapacity?.(), 2);
});

test('built from a loaded static config', async () => {
  const r = loadConfig({
    env: {
      ETCD_SPOT_GROUP_PROVIDER: 'static',
      ETCD_SPOT_GROUP_INSTANCES: '[{"id":"i-1","privateIp":"10.0.0.1"}]',
    },
  });
  assert.ok(r.ok && r.config.group.provider === 'static');
  const g = createStaticGroup(r.config.group);
  assert.equal(g.description, 'static (1 instance)');
  assert.equal(await g.lifecycleState('i-1'), 'active');
});

test('an aborted signal is honoured', async () => {
  const g = createStaticGroup({ instances: [] });
  await assert.rejects(g.listInstances(AbortSignal.abort(new Error('stop'))), /stop/);
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.ts';
import { FakeGroup, FakeRunner, recordingLogger } from './testing/fakes.ts';
import { createAgentRuntime } from './wiring.ts';

const loadedPromClient = (): string[] =>
  Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('/prom-client/'));

describe('prom-client is loaded by a running agent only', () => {
  it('building a runtime and planning once (what `plan` does) loads no prom-client', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-wiring-metrics-'));
    try {
      const r = loadConfig({
        env: {},
        overrides: {
          'group.provider': 'static',
          'group.instances': JSON.stringify([{ id: 'i-1', privateIp: '127.0.39.1' }]),
          'etcd.dataDir': join(dir, 'data'),
          'agent.stateDir': join(dir, 'state'),
          'etcd.callTimeout': '50ms',
        },
      });
      assert.ok(r.ok, r.ok ? '' : r.issues.join('\n'));
      const group = new FakeGroup();
      group.instances = [{ id: 'i-1', privateIp: '127.0.39.1' }];
      const runtime = createAgentRuntime(r.config, {
        env: {},
        logger: recordingLogger(),
        metadata: {
          identity: async () => ({ instanceId: 'i-1', privateIp: '127.0.39.1' }),
          get: async () => undefined,
        },
        group,
        runner: new FakeRunner(),
      });
      const { actions } = await runtime.planOnce(AbortSignal.timeout(10_000));
      assert.ok(actions.length > 0);
      assert.deepEqual(runtime.readiness(), { ready: false, reason: 'starting' }, 'no cycle ran');
      await runtime.shutdown({ stopEtcd: false });
      assert.deepEqual(loadedPromClient(), []);
      // The check can see prom-client when it is loaded.
      const { createPrometheusMetrics } = await import('../adapters/metrics/prometheus.ts');
      createPrometheusMetrics({ now: () => 0 });
      assert.notDeepEqual(loadedPromClient(), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * One agent in-process against the cloud emulator and a real etcd (loopback 127.0.38.x): after it
 * bootstraps, `/metrics` is scraped over HTTP on the instance's IP, like Prometheus would, and parsed
 * strictly. Timings are written to the test output, never asserted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import { parsePrometheusText } from '../support/prom-text.ts';
import type { Scrape } from '../support/prom-text.ts';
import { waitFor } from '../support/wait.ts';
import { TOKEN, closeAll, logTail, startAgent, timeline } from './agent-support.ts';
import type { TestAgent } from './agent-support.ts';

const IMDS_PORT = 13_388;

describe('agent metrics over HTTP (emulator + real etcd)', () => {
  it('after a bootstrap, /metrics counts the decisions and says etcd is reachable; /readyz is 200', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    try {
      emu = await startEmulator({
        listen: '127.0.38.1:0',
        token: TOKEN,
        imdsPort: IMDS_PORT,
        ipPrefix: '127.0.38',
        tickMs: 20,
      });
      const group = emu.state.createGroup({ name: 'metrics', targetCapacity: 1, autoReplace: false });
      await emu.settled();
      const [inst] = emu.state.listInstances({ groupId: group.id });
      assert.ok(inst);
      const t0 = Date.now();
      const agent = await startAgent(emu, group.id, inst.id);
      agents.push(agent);
      const base = `http://${inst.privateIp}:2378`;
      assert.equal(agent.runtime.statusUrl(), base);

      let contentType: string | null = null;
      let text = '';
      const scrape = async (): Promise<Scrape> => {
        const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) });
        assert.equal(res.status, 200);
        contentType = res.headers.get('content-type');
        text = await res.text();
        return parsePrometheusText(text);
      };
      const s = await waitFor(
        async () => {
          const m = await scrape();
          const bootstrapped = m.value('etcd_spot_decisions_total', {
            action: 'bootstrap',
            outcome: 'progressed',
          });
          return bootstrapped === 1 && m.value('etcd_spot_etcd_reachable') === 1 ? m : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'a scrape that shows the bootstrap and etcd reachable' },
      );
      t.diagnostic(`start → a scrape showing the bootstrap: ${Date.now() - t0} ms`);

      assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
      // The seeder collected its own vote before bootstrapping; nothing failed or was refused.
      assert.ok(
        (s.value('etcd_spot_decisions_total', { action: 'collect-votes', outcome: 'progressed' }) ?? 0) >= 1,
      );
      for (const x of s.samples.filter((x) => x.name === 'etcd_spot_decisions_total'))
        assert.ok(x.labels.outcome === 'progressed' || x.labels.outcome === 'waited', JSON.stringify(x));
      assert.equal(s.value('etcd_spot_is_leader_agent'), 1, 'the only member leads');
      assert.equal(s.value('etcd_spot_state_file_readable'), 1);
      assert.equal(s.value('etcd_spot_notice_pending_seconds'), 0);
      assert.equal(s.value('etcd_spot_membership_changes_total', { change: 'remove' }), undefined);
      const cycleAt = s.value('etcd_spot_last_cycle_success_timestamp_seconds') ?? 0;
      assert.ok(cycleAt * 1000 >= t0 - 1000 && cycleAt * 1000 <= Date.now() + 1000, `${cycleAt}`);
      // The group list went to the emulator's Spot.io API and came back 200.
      assert.ok(
        (s.value('etcd_spot_cloud_api_calls_total', {
          route: 'GET /aws/ec2/group/{id}/status',
          status: '2xx',
        }) ?? 0) >= 1,
      );
      assert.ok((s.value('process_resident_memory_bytes') ?? 0) > 0);
      // Bounded labels: no instance id, member id or IP in any series.
      assert.doesNotMatch(text, new RegExp(`${inst.id}|${inst.privateIp.replace(/\./g, '\\.')}`));

      const ready = await waitFor(
        async () => {
          const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
          const body = (await res.json()) as { ready: boolean; reason: string };
          return res.status === 200 ? body : undefined;
        },
        { timeoutMs: 10_000, what: '/readyz to answer 200' },
      );
      assert.deepEqual(ready, { ready: true, reason: 'member' });
      const after = await scrape();
      assert.equal(after.value('etcd_spot_ready'), 1);
      t.diagnostic(await timeline(agent, t0));
    } catch (err) {
      for (const a of agents)
        t.diagnostic(`${await timeline(a, Date.now())}\nlog of ${a.instanceId}:\n${await logTail(a)}`);
      throw err;
    } finally {
      await closeAll(agents, emu);
    }
  });
});

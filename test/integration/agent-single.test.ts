/**
 * Agents in-process against the cloud emulator (Spot API + per-instance IMDS) and real etcd, on
 * loopback 127.0.32.x. Timings are written to the test output, never asserted.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import { waitFor } from '../support/wait.ts';
import { TOKEN, closeAll, logLines, logTail, startAgent, timeline } from './agent-support.ts';
import type { TestAgent } from './agent-support.ts';

const IMDS_PORT = 13_380;

describe('agent (in-process) with the emulator and real etcd', () => {
  it('one agent bootstraps a 1-member cluster, then leaves on a spot notice without hanging', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    try {
      emu = await startEmulator({
        listen: '127.0.32.1:0',
        token: TOKEN,
        imdsPort: IMDS_PORT,
        ipPrefix: '127.0.32',
        tickMs: 20,
      });
      const group = emu.state.createGroup({ name: 'single', targetCapacity: 1, autoReplace: false });
      await emu.settled();
      const [inst] = emu.state.listInstances({ groupId: group.id });
      assert.ok(inst);
      const t0 = Date.now();
      const agent = await startAgent(emu, group.id, inst.id);
      agents.push(agent);
      const clientUrl = `http://${inst.privateIp}:2379`;

      // No etcd3 circuit breaker: a refused first try would block the host for 5 s (etcd-physics §6).
      const client = new Etcd3({
        hosts: clientUrl,
        faultHandling: { host: () => noop, global: noop },
        defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
      });
      try {
        await waitFor(
          async () => {
            await client.put('agent-test').value('hello');
            return (await client.get('agent-test').string()) === 'hello';
          },
          { timeoutMs: 20_000, intervalMs: 100, what: 'a put/get on the bootstrapped cluster' },
        );
      } finally {
        client.close();
      }
      t.diagnostic(`bootstrap → first put/get: ${Date.now() - t0} ms`);
      const etcd = createEtcdCluster({ callTimeoutMs: 2000 });
      try {
        const members = await etcd.listMembers([clientUrl]);
        assert.equal(members.length, 1);
        assert.equal(members[0]?.name, inst.id);
      } finally {
        await etcd.close();
      }
      const state = await waitFor(
        async () => {
          const r = JSON.parse(await readFile(join(agent.dir, 'state', 'state.json'), 'utf8')) as {
            memberId?: string;
            clusterId?: string;
          };
          return r.memberId !== undefined ? r : undefined;
        },
        { timeoutMs: 10_000, what: 'state.json to record the member id' },
      );
      assert.match(state.memberId ?? '', /^[0-9a-f]{16}$/);

      const t1 = Date.now();
      emu.state.interruptInstance(inst.id, { noticeMs: 10_000 });
      const gone = await waitFor(
        () => {
          const i = emu?.state.getInstance(inst.id);
          return i?.state === 'terminated' ? i : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50, what: 'the emulator to terminate the interrupted instance' },
      );
      t.diagnostic(`notice → instance terminated (${gone.terminationReason}): ${Date.now() - t1} ms`);
      // The planner never removes the last member (design B6/B8). Either it signals ready after marking
      // self as left, or it waits and the cloud terminates the instance at the notice deadline; in both
      // cases the agent must not hang and the member stays in the cluster until the instance is gone.
      const state2 = JSON.parse(await readFile(join(agent.dir, 'state', 'state.json'), 'utf8')) as {
        left?: { reason: string };
      };
      if (gone.terminationReason === 'signal') {
        assert.ok(gone.signals.some((s) => s.signal === 'INSTANCE_READY_TO_SHUTDOWN'));
        assert.ok(state2.left, 'signalled ready only after recording that self left');
      } else {
        assert.equal(state2.left, undefined, 'not marked left without signalling');
        t.diagnostic(
          'the planner waited (single member cannot leave); the cloud terminated the instance at the notice deadline',
        );
      }
      const removals = (await logLines(agent)).filter(
        (l) => l.msg === 'plan' && l.action === 'remove-member',
      );
      assert.deepEqual(removals, [], 'the last member is never removed');

      // The loop goes on after the instance is gone (IMDS and the API refuse now); it must not hang.
      const cycles = agent.runtime.agent.cycleCount;
      await waitFor(() => agent.runtime.agent.cycleCount > cycles, {
        timeoutMs: 5000,
        what: 'the loop to keep cycling',
      });
      t.diagnostic(await timeline(agent, t0));
    } catch (err) {
      for (const a of agents)
        t.diagnostic(`${await timeline(a, Date.now())}\nlog of ${a.instanceId}:\n${await logTail(a)}`);
      throw err;
    } finally {
      await closeAll(agents, emu);
    }
  });

  it('three agents launched together form exactly one 3-voter cluster', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    try {
      emu = await startEmulator({
        listen: '127.0.34.1:0',
        token: TOKEN,
        imdsPort: IMDS_PORT,
        ipPrefix: '127.0.34',
        tickMs: 20,
      });
      const group = emu.state.createGroup({ name: 'trio', targetCapacity: 3, autoReplace: false });
      await emu.settled();
      const instances = emu.state.listInstances({ groupId: group.id });
      assert.equal(instances.length, 3);
      const t0 = Date.now();
      const running = emu;
      const started = await Promise.allSettled(instances.map((i) => startAgent(running, group.id, i.id)));
      for (const r of started) if (r.status === 'fulfilled') agents.push(r.value);
      for (const r of started) if (r.status === 'rejected') throw r.reason;

      const etcd = createEtcdCluster({ callTimeoutMs: 1000 });
      try {
        const converged = await waitFor(
          async () => {
            const statuses = await Promise.all(
              instances.map((i) => etcd.status(`http://${i.privateIp}:2379`)),
            );
            const clusterIds = new Set(statuses.map((s) => s.clusterId));
            if (clusterIds.size !== 1) return undefined;
            const members = await etcd.listMembers(instances.map((i) => `http://${i.privateIp}:2379`));
            const voters = members.filter((m) => !m.isLearner && m.name !== '');
            return members.length === 3 && voters.length === 3
              ? { clusterId: [...clusterIds][0], members }
              : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 250, what: 'one cluster of 3 voters' },
        );
        t.diagnostic(`launch → one 3-voter cluster: ${Date.now() - t0} ms (cluster ${converged.clusterId})`);
        assert.deepEqual(converged.members.map((m) => m.name).sort(), instances.map((i) => i.id).sort());
        // The three see the whole group alike, so they start at once on one agreed initial cluster
        // (design row C4): every agent's bootstrap is a start on the same plan, and none bootstrapped
        // alone (a second bootstrap alone would be a second cluster).
        // An agent logs its start once its etcd answers it, a moment after the member list shows it.
        const startsOf = async () => {
          const out: { instance: string; detail: string }[] = [];
          for (const a of agents) {
            for (const l of await logLines(a)) {
              if (l.msg === 'action done' && l.action === 'bootstrap' && l.progressed === true)
                out.push({ instance: a.instanceId, detail: String(l.detail) });
            }
          }
          return out;
        };
        const starts = await waitFor(
          async () => {
            const out = await startsOf();
            return new Set(out.map((x) => x.instance)).size === agents.length ? out : undefined;
          },
          { timeoutMs: 15_000, intervalMs: 200, what: 'every agent to log its start' },
        ).catch(() => startsOf());
        const alone = starts.filter((x) => !/initial members \(token /.test(x.detail));
        const tokens = new Set(starts.map((x) => /initial members \(token ([^)]+)\)/.exec(x.detail)?.[1]));
        assert.deepEqual(alone, [], 'no agent bootstrapped alone');
        assert.equal(tokens.size, 1, `one plan: ${JSON.stringify(starts)}`);
        assert.deepEqual(
          starts.map((x) => x.instance).sort(),
          instances.map((i) => i.id).sort(),
          'every instance started on the plan',
        );
      } finally {
        await etcd.close();
      }
      for (const a of agents) t.diagnostic(await timeline(a, t0));
    } catch (err) {
      for (const a of agents)
        t.diagnostic(`${await timeline(a, Date.now())}\nlog of ${a.instanceId}:\n${await logTail(a)}`);
      throw err;
    } finally {
      await closeAll(agents, emu);
    }
  });
});

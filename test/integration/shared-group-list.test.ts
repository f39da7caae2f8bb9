/**
 * One cloud poller per cluster (issue 11 §3), end to end: three agents in-process against the cloud
 * emulator and real etcd (loopback 127.0.170.x). Once the cluster is steady, only the leader's agent
 * asks the Spot API for the group list over a window: the emulator's `group-status` counter moves by
 * exactly the leader's own calls (each agent's `etcd_spot_cloud_api_calls_total`), the followers'
 * counters do not move, and the followers' observations carry the leader's shared copy. Then a follower
 * whose Spot instance-status turns TERMINATING (a Spot scale-in: no instance-metadata notice at all)
 * still sees it through its own status poll and leaves: member removed, INSTANCE_READY_TO_SHUTDOWN sent.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { it } from 'node:test';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import { parsePrometheusText } from '../support/prom-text.ts';
import { waitFor } from '../support/wait.ts';
import { TOKEN, closeAll, logLines, logTail, startAgent, timeline } from './agent-support.ts';
import type { TestAgent } from './agent-support.ts';

const GROUP_ROUTE = 'GET /aws/ec2/group/{id}/status';
const OWN_ROUTE = 'GET /aws/ec2/instance/{id}';

/** Every request of `route` an agent made, from its /metrics (every status class). */
async function callsOf(a: TestAgent, route: string): Promise<number> {
  const res = await fetch(`${a.runtime.statusUrl()}/metrics`, { signal: AbortSignal.timeout(3000) });
  const m = parsePrometheusText(await res.text());
  return m.samples
    .filter((s) => s.name === 'etcd_spot_cloud_api_calls_total' && s.labels.route === route)
    .reduce((n, s) => n + s.value, 0);
}

it("steady cluster: only the leader's agent asks the cloud for the group list; a follower still sees its own Spot TERMINATING and leaves", async (t) => {
  let emu: RunningEmulator | undefined;
  const agents: TestAgent[] = [];
  const etcd = createEtcdCluster({ callTimeoutMs: 1000 });
  const t0 = Date.now();
  try {
    emu = await startEmulator({
      listen: '127.0.170.1:0',
      token: TOKEN,
      imdsPort: 13_170,
      ipPrefix: '127.0.170',
      tickMs: 20,
    });
    const group = emu.state.createGroup({ name: 'poller', targetCapacity: 3, autoReplace: false });
    await emu.settled();
    const instances = emu.state.listInstances({ groupId: group.id });
    const running = emu;
    const config = {
      'agent.cycleInterval': '300ms',
      'agent.groupPollInterval': '1s',
      'agent.steadyGroupPollInterval': '3s',
      // Long enough that a follower reading the cloud itself would show in any window below.
      'agent.followerGroupPollInterval': '4s',
      'agent.cloudStatusPollInterval': '1s',
      // No replacement comes (autoReplace off): the leaver need not wait for one.
      'agent.replacementWait': '0s',
    };
    const started = await Promise.allSettled(
      instances.map((i) => startAgent(running, group.id, i.id, { config })),
    );
    for (const r of started) if (r.status === 'fulfilled') agents.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const urls = instances.map((i) => `http://${i.privateIp}:2379`);
    const leaderName = async (): Promise<string | undefined> => {
      const ms = await etcd.listMembers(urls);
      const st = await etcd.status(urls.find((u) => ms.some((m) => m.clientUrls.includes(u)))!);
      return ms.find((m) => m.id === st.leaderId)?.name;
    };
    await waitFor(
      async () => {
        const ms = await etcd.listMembers(urls);
        return ms.filter((m) => !m.isLearner && m.name !== '').length === 3;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'one cluster of 3 voters' },
    );

    // Steady: every follower plans on the leader's agent's copy.
    let leader: TestAgent | undefined;
    await waitFor(
      async () => {
        const name = await leaderName();
        leader = agents.find((a) => a.instanceId === name);
        if (leader === undefined) return false;
        return agents
          .filter((a) => a !== leader)
          .every((a) => {
            const g = a.runtime.observer.groupView();
            return g?.ok === true && g.sharedBy === name;
          });
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "both followers to read the leader's agent's list" },
    );
    assert.ok(leader !== undefined);
    assert.equal(leader.runtime.observer.pollMode(), 'steady-leader');

    /** Every agent's group-list calls and the emulator's, taken when they agree (no call in flight). */
    const snapshot = async () =>
      waitFor(
        async () => {
          const before = await Promise.all(agents.map((a) => callsOf(a, GROUP_ROUTE)));
          const emulator = running.state.stats().routes['group-status'].requests;
          const after = await Promise.all(agents.map((a) => callsOf(a, GROUP_ROUTE)));
          const same = before.every((n, i) => n === after[i]);
          const sum = after.reduce((x, y) => x + y, 0);
          return same && sum === emulator ? { agents: after, emulator } : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 50, what: "the agents' and the emulator's counts to agree" },
      );
    const own0 = await Promise.all(agents.map((a) => callsOf(a, OWN_ROUTE)));
    const s0 = await snapshot();
    const windowMs = 12_000;
    await delay(windowMs);
    const s1 = await snapshot();
    const own1 = await Promise.all(agents.map((a) => callsOf(a, OWN_ROUTE)));
    assert.equal(await leaderName(), leader.instanceId, 'the leadership held over the window');
    const li = agents.indexOf(leader);
    const delta = s1.agents.map((n, i) => n - s0.agents[i]!);
    t.diagnostic(
      `over ${windowMs} ms: group-status calls per agent ${JSON.stringify(delta)} (leader #${li}), emulator ${s1.emulator - s0.emulator}; own-status calls ${JSON.stringify(own1.map((n, i) => n - own0[i]!))}`,
    );
    for (const [i, d] of delta.entries())
      if (i !== li)
        assert.equal(d, 0, `follower ${agents[i]!.instanceId} asked the cloud for the group list`);
    assert.ok(delta[li]! >= 1, "the leader's agent kept polling");
    assert.equal(s1.emulator - s0.emulator, delta[li], "the emulator saw only the leader's agent's calls");
    // Every agent still asks for its own status (the only place Spot's TERMINATING shows).
    for (const [i, n] of own1.entries())
      assert.ok(n > own0[i]!, `${agents[i]!.instanceId} polled its own status`);

    // A Spot scale-in of a follower: TERMINATING on the Spot API only, nothing in instance metadata.
    const leaver = agents.find((a) => a !== leader)!;
    emu.state.interruptInstance(leaver.instanceId, {
      noticeMs: 120_000,
      spotNotice: false,
      rebalance: false,
      lifecycle: false,
    });
    await waitFor(
      async () => {
        const ms = await etcd.listMembers(urls.filter((u) => !u.includes(`//${leaver.privateIp}:`)));
        return !ms.some((m) => m.name === leaver.instanceId);
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the leaver’s member to be removed' },
    );
    await waitFor(
      () =>
        running.state
          .getInstance(leaver.instanceId)
          ?.signals.some((s) => s.signal === 'INSTANCE_READY_TO_SHUTDOWN')
          ? true
          : undefined,
      { timeoutMs: 20_000, what: 'the ready-to-shutdown signal' },
    );
    const lines = await logLines(leaver);
    const notice = lines.find((l) => l.msg === 'termination notice');
    assert.equal(notice?.source, 'spot-api', 'seen through its own Spot status poll');
    t.diagnostic(await timeline(leaver, t0));
  } catch (err) {
    for (const a of agents)
      t.diagnostic(`${await timeline(a, t0)}\nlog of ${a.instanceId}:\n${await logTail(a)}`);
    throw err;
  } finally {
    await etcd.close();
    await closeAll(agents, emu);
  }
});

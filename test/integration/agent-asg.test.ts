/**
 * Issue 10, "done when": an interrupted Auto Scaling instance is held in `Terminating:Wait` until its
 * etcd member has left, then its agent completes the lifecycle action and the emulator terminates it.
 * Three agents in-process (group.provider: asg, the real AWS SDK) against the emulator's Auto Scaling,
 * EC2 and IMDS endpoints and real etcd, on loopback 127.0.86.x. Timings go to the output, never asserted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import { waitFor } from '../support/wait.ts';
import { closeAll, logLines, logTail, startAgent, timeline } from './agent-support.ts';
import type { TestAgent } from './agent-support.ts';

const GROUP = 'etcd-asg';
const HOOK = 'etcd-leave';

describe('agent with group.provider: asg (emulator, real etcd)', () => {
  it('holds the interrupted instance in Terminating:Wait until its member left, then completes the lifecycle action', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    const etcd = createEtcdCluster({ callTimeoutMs: 1000 });
    const t0 = Date.now();
    try {
      emu = await startEmulator({
        listen: '127.0.86.1:0',
        token: 'unused',
        imdsPort: 13_386,
        ipPrefix: '127.0.86',
        tickMs: 20,
      });
      emu.state.createGroup({
        provider: 'asg',
        name: GROUP,
        targetCapacity: 3,
        asg: {
          // A long timeout: the instance may only go through the agent's CompleteLifecycleAction.
          lifecycleHooks: [
            { name: HOOK, transition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeoutSec: 600 },
          ],
        },
      });
      await emu.settled();
      const e = emu;
      await waitFor(
        () => e.state.listInstances({ groupId: GROUP }).every((i) => i.asg?.lifecycleState === 'InService'),
        { timeoutMs: 10_000, intervalMs: 50, what: 'three InService instances' },
      );
      const instances = e.state.listInstances({ groupId: GROUP });
      for (const inst of instances)
        agents.push(
          await startAgent(e, GROUP, inst.id, {
            config: { 'group.provider': 'asg', 'group.heartbeatInterval': '1s' },
          }),
        );
      const urls = instances.map((i) => `http://${i.privateIp}:2379`);
      await waitFor(
        async () => {
          const m = await etcd.listMembers(urls);
          return m.length === 3 && m.every((x) => !x.isLearner && x.name !== '');
        },
        { timeoutMs: 90_000, intervalMs: 250, what: 'three started voters' },
      );
      t.diagnostic(`3 voters after ${Date.now() - t0} ms`);

      const victim = instances[1]!;
      const others = urls.filter((u) => !u.includes(`//${victim.privateIp}:`));
      const t1 = Date.now();
      e.state.terminateInAutoScalingGroup(victim.id, true);

      // Sample until the instance is gone: while its member is listed, it must still be held.
      const samples: { at: number; member: boolean; state: string | undefined; heartbeats: number }[] = [];
      await waitFor(
        async () => {
          const inst = e.state.getInstance(victim.id);
          let member = true;
          try {
            member = (await etcd.listMembers(others)).some((m) =>
              m.peerUrls.some((u) => u.includes(`//${victim.privateIp}:`)),
            );
          } catch {
            // Unknown this round: counted as still a member (the strict reading).
          }
          samples.push({
            at: Date.now() - t1,
            member,
            state: inst?.state === 'terminated' ? 'terminated' : inst?.asg?.lifecycleState,
            heartbeats: inst?.asg?.lifecycleActions[0]?.heartbeats ?? 0,
          });
          return inst?.state === 'terminated';
        },
        { timeoutMs: 60_000, intervalMs: 50, what: 'the interrupted instance to be terminated' },
      );
      const firstGone = samples.findIndex((s) => !s.member);
      t.diagnostic(
        `interrupt → member gone ${samples[firstGone]?.at ?? '?'} ms, → terminated ${samples.at(-1)?.at} ms; ${samples.length} samples`,
      );
      assert.ok(firstGone >= 0, 'the member left before the instance was terminated');
      for (const s of samples.slice(0, firstGone))
        assert.equal(s.state, 'Terminating:Wait', `held while its member is listed (${JSON.stringify(s)})`);
      const done = e.state.getInstance(victim.id)?.asg?.completedActions.at(-1);
      assert.equal(done?.how, 'complete', 'released by CompleteLifecycleAction, not by the hook timeout');
      assert.equal(done?.result, 'CONTINUE');
      assert.equal(done?.hookName, HOOK);
      assert.ok(
        samples.some((s) => s.heartbeats >= 1),
        'a heartbeat was recorded while it waited',
      );

      // The agent's own order: removed self, marked left, then released.
      const plans = (await logLines(agents[1]!)).filter((l) => l.msg === 'plan').map((l) => String(l.action));
      const order = ['remove-member', 'mark-left', 'signal-ready-to-shutdown'].map((a) => plans.indexOf(a));
      assert.ok(
        order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!,
        plans.join(' → '),
      );

      // The two survivors stay a working cluster.
      await waitFor(
        async () => {
          const m = await etcd.listMembers(others);
          return m.length === 2 && (await etcd.isHealthy(others[0]!));
        },
        { timeoutMs: 20_000, intervalMs: 250, what: 'a healthy 2-voter cluster' },
      );
      t.diagnostic(await timeline(agents[1]!, t0));
    } catch (err) {
      for (const a of agents)
        t.diagnostic(`${await timeline(a, t0)}\nlog of ${a.instanceId}:\n${await logTail(a, 30)}`);
      throw err;
    } finally {
      await etcd.close();
      await closeAll(agents, emu);
    }
  });

  it('an agent on a warm-pool instance (Warmed:Running) never joins; once in service it joins (as the hot-spare learner of a 2-instance group)', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    const etcd = createEtcdCluster({ callTimeoutMs: 1000 });
    const t0 = Date.now();
    try {
      emu = await startEmulator({
        listen: '127.0.87.1:0',
        token: 'unused',
        imdsPort: 13_387,
        ipPrefix: '127.0.87',
        tickMs: 20,
      });
      emu.state.createGroup({
        provider: 'asg',
        name: GROUP,
        targetCapacity: 1,
        asg: { lifecycleHooks: [{ name: HOOK, transition: 'autoscaling:EC2_INSTANCE_TERMINATING' }] },
      });
      const e = emu;
      const warm = e.state.launchInstance(GROUP, { warmed: true });
      await e.settled();
      await waitFor(
        () => e.state.listInstances({ groupId: GROUP }).some((i) => i.asg?.lifecycleState === 'InService'),
        { timeoutMs: 10_000, intervalMs: 50, what: 'one InService instance' },
      );
      const first = e.state.listInstances({ groupId: GROUP }).find((i) => i.id !== warm.id)!;
      assert.equal(e.state.getInstance(warm.id)?.asg?.lifecycleState, 'Warmed:Running');
      const config = { 'group.provider': 'asg', 'group.heartbeatInterval': '1s' };
      agents.push(await startAgent(e, GROUP, first.id, { config }));
      agents.push(await startAgent(e, GROUP, warm.id, { config }));
      const firstUrl = `http://${first.privateIp}:2379`;
      await waitFor(async () => (await etcd.listMembers([firstUrl])).length === 1, {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: 'a one-member cluster',
      });
      // The warmed agent waits, naming its state, and no member appears for it.
      await waitFor(
        async () =>
          (await logLines(agents[1]!)).some(
            (l) =>
              l.msg === 'plan' &&
              l.action === 'wait' &&
              /Warmed:Running|not in Auto Scaling group/.test(String(l.reason)),
          ),
        { timeoutMs: 20_000, intervalMs: 250, what: 'the warmed agent to wait on its state' },
      );
      const cycles = agents[1]!.runtime.agent.cycleCount;
      await waitFor(() => agents[1]!.runtime.agent.cycleCount >= cycles + 5, {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: 'five more cycles of the warmed agent',
      });
      assert.equal((await etcd.listMembers([firstUrl])).length, 1, 'no member for the warmed instance');
      const warmedPlans = (await logLines(agents[1]!))
        .filter((l) => l.msg === 'plan')
        .map((l) => String(l.action));
      assert.ok(
        !warmedPlans.some((a) =>
          ['add-self-as-learner', 'bootstrap', 'collect-votes', 'start-etcd'].includes(a),
        ),
        warmedPlans.join(' → '),
      );

      e.state.enterServiceFromWarmPool(warm.id);
      const tIn = Date.now();
      // Two instances keep one voter (the largest odd number ≤ 2): the newcomer is a started learner.
      await waitFor(
        async () => {
          const m = await etcd.listMembers([firstUrl]);
          return m.length === 2 && m.some((x) => x.name === warm.id);
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'the formerly warmed instance to join' },
      );
      t.diagnostic(`in service → started member after ${Date.now() - tIn} ms`);
    } catch (err) {
      for (const a of agents)
        t.diagnostic(`${await timeline(a, t0)}\nlog of ${a.instanceId}:\n${await logTail(a, 30)}`);
      throw err;
    } finally {
      await etcd.close();
      await closeAll(agents, emu);
    }
  });

  it('an instance refresh replaces every instance, each old one released by its agent after its member left', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    const etcd = createEtcdCluster({ callTimeoutMs: 1000 });
    const t0 = Date.now();
    const config = { 'group.provider': 'asg', 'group.heartbeatInterval': '1s' };
    const starting: Promise<void>[] = [];
    try {
      emu = await startEmulator({
        listen: '127.0.89.1:0',
        token: 'unused',
        imdsPort: 13_389,
        ipPrefix: '127.0.89',
        tickMs: 20,
      });
      const e = emu;
      e.state.createGroup({
        provider: 'asg',
        name: GROUP,
        targetCapacity: 3,
        asg: {
          lifecycleHooks: [
            { name: HOOK, transition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeoutSec: 600 },
          ],
        },
      });
      await e.settled();
      await waitFor(
        () => e.state.listInstances({ groupId: GROUP }).every((i) => i.asg?.lifecycleState === 'InService'),
        { timeoutMs: 10_000, intervalMs: 50, what: 'three InService instances' },
      );
      const old = e.state.listInstances({ groupId: GROUP });
      for (const inst of old) agents.push(await startAgent(e, GROUP, inst.id, { config }));
      const started = new Set(old.map((i) => i.id));
      // Every instance the refresh launches boots an agent, as its user-data would.
      e.state.subscribe((ev) => {
        if (ev.type !== 'running' || ev.groupId !== GROUP || ev.instanceId === undefined) return;
        const id = ev.instanceId;
        if (started.has(id)) return;
        started.add(id);
        starting.push(
          e.settled().then(async () => {
            agents.push(await startAgent(e, GROUP, id, { config }));
          }),
        );
      });
      const urlsOf = () =>
        e.state
          .listInstances({ groupId: GROUP })
          .filter((i) => i.state !== 'terminated')
          .map((i) => `http://${i.privateIp}:2379`);
      await waitFor(
        async () => {
          const m = await etcd.listMembers(urlsOf());
          return m.length === 3 && m.every((x) => !x.isLearner && x.name !== '');
        },
        { timeoutMs: 90_000, intervalMs: 250, what: 'three started voters' },
      );
      const tr = Date.now();
      const refresh = e.state.startInstanceRefresh(GROUP, {
        minHealthyPercentage: 100,
        maxHealthyPercentage: 150,
        instanceWarmupMs: 3000,
      });
      await waitFor(
        () => e.state.instanceRefreshes(GROUP).find((r) => r.id === refresh.id)?.status === 'Successful',
        { timeoutMs: 240_000, intervalMs: 250, what: 'the instance refresh to succeed' },
      );
      t.diagnostic(`instance refresh: ${Date.now() - tr} ms`);
      for (const o of old) {
        const done = e.state.getInstance(o.id)?.asg?.completedActions.at(-1);
        assert.equal(done?.how, 'complete', `${o.id} released by its agent (${JSON.stringify(done)})`);
      }
      await waitFor(
        async () => {
          const m = await etcd.listMembers(urlsOf());
          return (
            m.length === 3 &&
            m.every((x) => !x.isLearner && x.name !== '' && !old.some((o) => o.id === x.name))
          );
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'three voters, all on new instances' },
      );
    } catch (err) {
      for (const a of agents)
        t.diagnostic(`${await timeline(a, t0)}\nlog of ${a.instanceId}:\n${await logTail(a, 20)}`);
      throw err;
    } finally {
      await Promise.allSettled(starting);
      await etcd.close();
      await closeAll(agents, emu);
    }
  });

  it('a member whose instance enters Standby keeps serving: not reaped, not leaving; back InService nothing changed', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    const etcd = createEtcdCluster({ callTimeoutMs: 1000 });
    const t0 = Date.now();
    try {
      emu = await startEmulator({
        listen: '127.0.88.1:0',
        token: 'unused',
        imdsPort: 13_388,
        ipPrefix: '127.0.88',
        tickMs: 20,
      });
      const e = emu;
      e.state.createGroup({
        provider: 'asg',
        name: GROUP,
        targetCapacity: 3,
        asg: { lifecycleHooks: [{ name: HOOK, transition: 'autoscaling:EC2_INSTANCE_TERMINATING' }] },
      });
      await e.settled();
      await waitFor(
        () => e.state.listInstances({ groupId: GROUP }).every((i) => i.asg?.lifecycleState === 'InService'),
        { timeoutMs: 10_000, intervalMs: 50, what: 'three InService instances' },
      );
      const instances = e.state.listInstances({ groupId: GROUP });
      for (const inst of instances)
        agents.push(await startAgent(e, GROUP, inst.id, { config: { 'group.provider': 'asg' } }));
      const urls = instances.map((i) => `http://${i.privateIp}:2379`);
      const threeVoters = async () => {
        const m = await etcd.listMembers(urls);
        return m.length === 3 && m.every((x) => !x.isLearner && x.name !== '');
      };
      await waitFor(threeVoters, { timeoutMs: 90_000, intervalMs: 250, what: 'three started voters' });
      const standby = instances[2]!;
      // Desired capacity drops with it (no replacement is launched).
      e.state.enterStandby(GROUP, [standby.id], true);
      assert.equal(e.state.getInstance(standby.id)?.asg?.lifecycleState, 'Standby');
      // Well past memberDeadAfter (3 s) and many cycles of every agent.
      const cycles = agents.map((a) => a.runtime.agent.cycleCount);
      await waitFor(() => agents.every((a, i) => a.runtime.agent.cycleCount >= (cycles[i] ?? 0) + 20), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: 'twenty more cycles of every agent',
      });
      assert.ok(await threeVoters(), 'the Standby member is still a started voter');
      for (const a of agents) {
        const bad = (await logLines(a)).filter(
          (l) =>
            l.msg === 'plan' &&
            ['remove-member', 'stop-etcd', 'wipe-data', 'mark-left'].includes(String(l.action)),
        );
        assert.deepEqual(bad, [], `${a.instanceId} planned nothing destructive`);
      }
      e.state.exitStandby(GROUP, [standby.id]);
      await waitFor(() => e.state.getInstance(standby.id)?.asg?.lifecycleState === 'InService', {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: 'the instance back InService',
      });
      assert.ok(await threeVoters());
      t.diagnostic(`standby → back in service, 3 voters throughout (${Date.now() - t0} ms)`);
    } catch (err) {
      for (const a of agents)
        t.diagnostic(`${await timeline(a, t0)}\nlog of ${a.instanceId}:\n${await logTail(a, 20)}`);
      throw err;
    } finally {
      await etcd.close();
      await closeAll(agents, emu);
    }
  });
});

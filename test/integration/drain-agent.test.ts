/**
 * `etcd-spot drain` with three agents in-process against the cloud emulator and real etcd (loopback
 * 127.0.77.x): the drained agent leaves as on a notice (its member removed, the signal sent), stays out
 * while the order stands, and rejoins as a fresh member after `drain --cancel`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { waitFor } from '../support/wait.ts';
import { TOKEN, closeAll, logLines, logTail, startAgent, timeline, type TestAgent } from './agent-support.ts';
import { runCli } from './cli-support.ts';

it('drain: the agent leaves (hand-off, remove, signal), stays out while the order stands, rejoins after --cancel', async (t) => {
  let emu: RunningEmulator | undefined;
  const agents: TestAgent[] = [];
  const etcd = createEtcdCluster({ callTimeoutMs: 1000 });
  try {
    emu = await startEmulator({
      listen: '127.0.77.1:0',
      token: TOKEN,
      imdsPort: 13_777,
      ipPrefix: '127.0.77',
      tickMs: 20,
    });
    const group = emu.state.createGroup({ name: 'drain', targetCapacity: 3, autoReplace: false });
    await emu.settled();
    const instances = emu.state.listInstances({ groupId: group.id });
    const running = emu;
    const started = await Promise.allSettled(instances.map((i) => startAgent(running, group.id, i.id)));
    for (const r of started) if (r.status === 'fulfilled') agents.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const urls = instances.map((i) => `http://${i.privateIp}:2379`);
    const voters = async () => {
      const ms = await etcd.listMembers(urls);
      return ms.filter((m) => !m.isLearner && m.name !== '').map((m) => m.name);
    };
    await waitFor(async () => ((await voters()).length === 3 ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 250,
      what: 'one cluster of 3 voters',
    });

    // Drain the leader's instance: the leave path hands leadership over first.
    const leaderId = (await etcd.status(urls[0]!)).leaderId;
    const members = await etcd.listMembers(urls);
    const leaderName = members.find((m) => m.id === leaderId)!.name;
    const drained = agents.find((a) => a.instanceId === leaderName)!;
    const stateDir = join(drained.dir, 'state');
    const r = await runCli(['drain', '--set', `agent.stateDir=${stateDir}`, '--reason', 'disk swap']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^drain order written to .*drain\.json/);

    await waitFor(async () => (!(await voters()).includes(drained.instanceId) ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the drained member to be removed',
    });
    const others = urls.filter((u) => !u.includes(`//${drained.privateIp}:`));
    const newLeader = (await etcd.status(others[0]!)).leaderId;
    assert.ok(newLeader !== undefined && newLeader !== leaderId, 'another member leads');
    await waitFor(
      () =>
        emu?.state
          .getInstance(drained.instanceId)
          ?.signals.some((s) => s.signal === 'INSTANCE_READY_TO_SHUTDOWN')
          ? true
          : undefined,
      { timeoutMs: 10_000, what: 'the ready-to-shutdown signal' },
    );
    const lines = await logLines(drained);
    assert.ok(
      lines.some(
        (l) => l.msg === 'plan' && l.action === 'move-leader' && String(l.reason).includes('operator-drain'),
      ),
      'leadership handed over before leaving',
    );
    assert.equal(
      emu.state.getInstance(drained.instanceId)?.state,
      'running',
      'the cloud did not end the instance',
    );

    // `status` shows each agent's activity from its signed status endpoint: the drain as a notice.
    const st = await runCli(['status', '-o', 'json', '--api-url', emu.url, '--group-id', group.id], {
      SPOTINST_TOKEN: TOKEN,
    });
    const report = JSON.parse(st.stdout);
    assert.equal(report.schemaVersion, 1, st.stderr);
    const row = report.rows.find((x: { instanceId: string }) => x.instanceId === drained.instanceId);
    assert.equal(row.agent.notices[0].source, 'operator-drain', JSON.stringify(row));
    assert.ok(row.agent.left, 'the agent recorded that it left');
    assert.equal(row.problem, 'instance-without-member');
    for (const x of report.rows.filter((y: { instanceId: string }) => y.instanceId !== drained.instanceId)) {
      assert.ok(x.agent.cycle > 0 && x.agent.decision.action, JSON.stringify(x.agent));
      assert.ok(x.raftTerm >= 2, 'a term after the hand-over');
      assert.equal(x.version, '3.4.23');
    }
    const wide = await runCli(['status', '-o', 'wide', '--api-url', emu.url, '--group-id', group.id], {
      SPOTINST_TOKEN: TOKEN,
    });
    const line = wide.stdout.split('\n').find((l) => l.startsWith(drained.instanceId))!;
    assert.match(
      line,
      /left \(operator-drain\)\s+instance-without-member\s+\S.*operator-drain, no deadline$/,
    );
    assert.match(line, /staying out while the drain order stands \(etcd-spot drain --cancel rejoins\)/);
    // member list finds etcd through the group's instances when no --endpoints are given.
    const ml = await runCli(
      ['member', 'list', '--no-headers', '--api-url', emu.url, '--group-id', group.id],
      {
        SPOTINST_TOKEN: TOKEN,
      },
    );
    assert.equal(ml.code, 0, ml.stderr);
    assert.equal(ml.stdout.trimEnd().split('\n').length, 2, ml.stdout);
    assert.ok(!ml.stdout.includes(drained.instanceId), ml.stdout);
    // A wrong key: the agents refuse, and status says so per row instead of failing.
    const bad = await runCli(['status', '-o', 'json', '--api-url', emu.url, '--group-id', group.id], {
      SPOTINST_TOKEN: TOKEN,
      ETCD_SPOT_AGENT_PEER_SECRET: 'not-the-groups-secret-123',
    });
    for (const x of JSON.parse(bad.stdout).rows)
      assert.match(x.agent.error, /refused our signature/, JSON.stringify(x.agent));

    // While the order stands, it stays out.
    const cycles = drained.runtime.agent.cycleCount;
    await waitFor(() => (drained.runtime.agent.cycleCount >= cycles + 5 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'five more cycles',
    });
    assert.deepEqual(
      (await etcd.listMembers(others)).filter((m) =>
        m.peerUrls.some((u) => u.includes(`//${drained.privateIp}:`)),
      ),
      [],
      'no member at the drained instance while the order stands',
    );

    const c = await runCli(['drain', '--set', `agent.stateDir=${stateDir}`, '--cancel']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^drain order .* withdrawn/);
    await waitFor(async () => ((await voters()).includes(drained.instanceId) ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the drained instance to rejoin as a voter',
    });
  } catch (err) {
    for (const a of agents)
      t.diagnostic(`${await timeline(a, Date.now())}\nlog of ${a.instanceId}:\n${await logTail(a, 60)}`);
    throw err;
  } finally {
    await etcd.close();
    await closeAll(agents, emu);
  }
});

/**
 * The simulator's own machinery, without the real agent: the fleet's process handling with a stub
 * agent (env, process groups, reboots, terminations, cleanup), and the workload + checker against a
 * real 3-member etcd cluster (including that a write deleted behind its back is reported lost).
 * Subnet 127.0.40 (the fleet and the etcd fixture run one after the other).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { Fleet, REPO_ROOT } from '../../src/sim/fleet.ts';
import { liveProcessGroups } from '../../src/sim/processes.ts';
import { Workload } from '../../src/sim/workload.ts';
import { startTestCluster } from '../support/etcd-cluster-fixture.ts';
import { waitFor } from '../support/wait.ts';
import { seedFor } from './helpers.ts';

const IP_PREFIX = '127.0.40';
const SEED = seedFor(4000);
const STUB = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'stub-agent.mjs');

interface StubInfo {
  pid: number;
  childPid: number;
  env: Record<string, string>;
}

function readStub(fleet: Fleet, id: string): StubInfo | undefined {
  const p = join(fleet.instanceDir(id), 'state', 'stub.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as StubInfo) : undefined;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test(
  'the fleet boots one agent per running instance, kills whole process groups, reboots and cleans up',
  { timeout: 60_000 },
  async (t) => {
    const fleet = await Fleet.start({
      instances: 2,
      ipPrefix: IP_PREFIX,
      seed: SEED,
      label: 'harness',
      agentCommand: { command: process.execPath, args: [STUB] },
      rebootPauseMs: 200,
    });
    t.diagnostic(`seed ${fleet.seed}, run dir ${fleet.runDir}`);
    const started: number[] = [];
    try {
      const [a, b] = fleet.runningIds();
      assert.ok(a && b);
      const infoA = await waitFor(() => readStub(fleet, a), {
        timeoutMs: 15_000,
        what: `stub agent of ${a}`,
      });
      await waitFor(() => readStub(fleet, b), { timeoutMs: 15_000, what: `stub agent of ${b}` });
      started.push(infoA.pid, infoA.childPid);

      // The agent's configuration: the emulator, its own IMDS, its own dirs, nothing inherited.
      const ipA = fleet.liveInstances().find((i) => i.id === a)?.privateIp;
      assert.equal(infoA.env.ETCD_SPOT_GROUP_PROVIDER, 'elastigroup');
      assert.equal(infoA.env.ETCD_SPOT_GROUP_API_URL, fleet.emulatorUrl);
      assert.equal(infoA.env.ETCD_SPOT_GROUP_GROUP_ID, fleet.groupId);
      assert.equal(infoA.env.ETCD_SPOT_METADATA_URL, `http://${ipA}:1338`);
      assert.equal(infoA.env.ETCD_SPOT_ETCD_DATA_DIR, join(fleet.runDir, a, 'data'));
      assert.equal(infoA.env.ETCD_SPOT_AGENT_STATE_DIR, join(fleet.runDir, a, 'state'));
      assert.ok(infoA.env.SPOTINST_TOKEN);
      // The IMDS the agent is pointed at answers, on the instance's own address.
      const res = await fetch(`http://${ipA}:1338/latest/meta-data/instance-id`, {
        signal: AbortSignal.timeout(3000),
      });
      assert.equal(await res.text(), a);
      // Its decisions are read from its log.
      await waitFor(() => fleet.decisions().some((d) => d.instanceId === a && d.reason.includes(`${ipA}`)), {
        timeoutMs: 5000,
        what: 'the stub decision line',
      });

      // A reboot kills the whole group (the grandchild too) and starts a new agent on the same dirs.
      await fleet.kill9(a, { instanceGone: false });
      assert.equal(alive(infoA.pid), false, 'old agent still alive');
      assert.equal(alive(infoA.childPid), false, 'grandchild survived the process-group kill');
      const rebooted = await waitFor(
        () => {
          const s = readStub(fleet, a);
          return s && s.pid !== infoA.pid ? s : undefined;
        },
        { timeoutMs: 15_000, what: 'the rebooted agent' },
      );
      started.push(rebooted.pid, rebooted.childPid);

      // An interruption that runs out terminates the instance: its agent dies and never comes back; a replacement boots.
      await fleet.interrupt(a, { noticeMs: 300 });
      await waitFor(
        () =>
          fleet.events.find(
            (e) => e.type === 'agent-killed' && e.instanceId === a && e.text.includes('terminated'),
          ),
        {
          timeoutMs: 10_000,
          what: `${a}'s agent to be killed on termination`,
        },
      );
      assert.equal(alive(rebooted.pid), false);
      assert.equal(alive(rebooted.childPid), false);
      const replacement = await waitFor(() => fleet.runningIds().find((id) => id !== a && id !== b), {
        timeoutMs: 5000,
        what: 'a replacement',
      });
      const infoR = await waitFor(() => readStub(fleet, replacement), {
        timeoutMs: 15_000,
        what: 'the replacement agent',
      });
      started.push(infoR.pid, infoR.childPid);

      // An agent that dies by itself is reported, not restarted.
      process.kill(infoR.pid, 'SIGKILL');
      await waitFor(
        () => fleet.events.find((e) => e.type === 'agent-exited' && e.instanceId === replacement),
        { timeoutMs: 5000, what: 'agent-exited' },
      );
      const snap = await fleet.snapshot();
      assert.equal(snap.instances.find((i) => i.id === replacement)?.agent, 'exited');
    } finally {
      await fleet.close();
    }
    for (const pid of started) assert.equal(alive(pid), false, `pid ${pid} survived close()`);
    assert.deepEqual(liveProcessGroups(), []);
    const someInstance = fleet.events.find((e) => e.instanceId !== undefined)?.instanceId ?? '';
    assert.ok(
      existsSync(join(fleet.runDir, someInstance, 'agent.log')),
      'the run dir is kept for inspection',
    );
    await fleet.removeRunDir();
    assert.equal(existsSync(fleet.runDir), false);
  },
);

test(
  'the workload against a real cluster: every acknowledged write is read back, and a deleted one is reported lost',
  { timeout: 60_000 },
  async (t) => {
    const cluster = await startTestCluster({ size: 3, ipPrefix: IP_PREFIX });
    const workload = new Workload({ writers: 3, runId: `h${SEED}` });
    try {
      workload.setEndpoints(cluster.endpoints);
      workload.start();
      await delay(1500);
      // A member restarting under the writers: they hold every endpoint, so nothing is lost.
      await cluster.stopMember(0);
      await delay(500);
      await cluster.startMember(0);
      await delay(500);
      await workload.stop();
      const clean = await workload.check();
      t.diagnostic(
        `writes: ${clean.check.acknowledged} acknowledged, ${clean.check.failed} failed, longest gap ${clean.check.longestGapMs} ms`,
      );
      assert.equal(clean.readBackError, undefined);
      assert.ok(clean.check.acknowledged > 50, `only ${clean.check.acknowledged} writes acknowledged`);
      assert.deepEqual(clean.check.lost, []);
      assert.deepEqual(clean.check.nonMonotonic, []);
      assert.ok(clean.timeline.reduce((n, b) => n + b.ok, 0) === clean.check.acknowledged);

      // Delete one acknowledged key behind the checker's back: it must be reported.
      const victim = workload.acked[Math.floor(workload.acked.length / 2)];
      assert.ok(victim);
      const other = new Etcd3({ hosts: cluster.endpoints });
      try {
        await other.delete().key(victim.key).exec();
      } finally {
        other.close();
      }
      const broken = await workload.check();
      assert.deepEqual(broken.check.lost, [victim.key]);
      assert.equal(broken.check.ok, false);
    } finally {
      await workload.close();
      await cluster.close();
    }
  },
);

/**
 * All lost → restore (design row C5, issue 8 §3): an in-process agent against the cloud emulator and
 * real etcd on loopback 127.0.49.x, with a snapshot store in a temp dir. The only instance of a group
 * bootstraps, takes writes, a snapshot is stored, more writes follow; then the instance is lost with
 * its data and a replacement boots:
 * - while the store cannot be read it never bootstraps an empty cluster (the store may hold the data);
 * - with the store readable, the seeder restores the newest verified snapshot: every write up to the
 *   snapshot is back, the ones acknowledged after it are the only loss.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { createFsSnapshotStore } from '../../src/adapters/snapshots/fs-store.ts';
import { takeSnapshot } from '../../src/adapters/snapshots/snapshots.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import type { SnapshotStore } from '../../src/ports/snapshot-store.ts';
import { waitFor } from '../support/wait.ts';
import { TOKEN, closeAll, logLines, startAgent, timeline } from './agent-support.ts';
import type { TestAgent } from './agent-support.ts';

const IMDS_PORT = 13_390;

function startWithStore(
  emu: RunningEmulator,
  groupId: string,
  instanceId: string,
  snapshotStore: SnapshotStore,
): Promise<TestAgent> {
  return startAgent(emu, groupId, instanceId, {
    runtime: { snapshotStore },
    // An instance image may ship the data dir empty (the simulator does): etcd 3.4's restore refuses it.
    prepare: (dir) => mkdir(join(dir, 'data'), { recursive: true }).then(() => undefined),
  });
}

function client(url: string): Etcd3 {
  return new Etcd3({
    hosts: url,
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
  });
}

describe('all lost → restore from the snapshot store (real etcd)', () => {
  it('never bootstraps empty while the store is unreadable; restores the newest snapshot when it is', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    const storeDir = await mkdtemp(join(tmpdir(), 'etcd-spot-restore-store-'));
    let passed = false;
    try {
      emu = await startEmulator({
        listen: '127.0.49.1:0',
        token: TOKEN,
        imdsPort: IMDS_PORT,
        ipPrefix: '127.0.49',
        tickMs: 20,
      });
      const group = emu.state.createGroup({ name: 'restore', targetCapacity: 1, autoReplace: true });
      await emu.settled();
      const [first] = emu.state.listInstances({ groupId: group.id });
      assert.ok(first);
      const store = createFsSnapshotStore({ dir: storeDir });

      // 1. The group's one instance bootstraps (the store is empty) and takes writes; a snapshot is stored.
      const a = await startWithStore(emu, group.id, first.id, store);
      agents.push(a);
      const urlA = `http://${first.privateIp}:2379`;
      const ca = client(urlA);
      try {
        await waitFor(
          async () => {
            await ca.put('before/0').value('v0');
            return true;
          },
          { timeoutMs: 30_000, intervalMs: 200, what: 'the first put on the bootstrapped cluster' },
        );
        // The agent, converged, takes its own first snapshot: let it finish first, so that it never
        // runs beside the test's own (the same name in the same ms collided in a CI run) and the
        // test's snapshot below is the newest.
        await waitFor(async () => (await store.list(group.id)).manifests.length > 0, {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: "the agent's own first snapshot",
        });
        for (let i = 1; i < 20; i++) await ca.put(`before/${i}`).value(`v${i}`);
        const etcd = createEtcdCluster({ callTimeoutMs: 3000 });
        try {
          const snap = await takeSnapshot({
            etcd,
            clientUrl: urlA,
            store,
            groupId: group.id,
            takenBy: 'test',
            reason: 'test',
            memberCount: 1,
            tmpDir: storeDir,
            now: Date.now,
          });
          t.diagnostic(`snapshot ${snap.manifest.name} at revision ${snap.manifest.revision}`);
        } finally {
          await etcd.close();
        }
        for (let i = 0; i < 5; i++) await ca.put(`after/${i}`).value(`a${i}`);
      } finally {
        ca.close();
      }
      const bootstrapped = (await logLines(a)).some((l) => l.msg === 'plan' && l.action === 'bootstrap');
      assert.ok(bootstrapped, 'the first instance bootstrapped an empty cluster (the store was empty)');

      // 2. Everything is lost: the agent and its etcd stop, the instance is terminated with its data.
      await a.stop();
      emu.state.terminateInstance(first.id);
      await emu.settled();
      const replacement = await waitFor(
        async () =>
          emu!.state
            .listInstances({ groupId: group.id })
            .find((i) => i.id !== first.id && i.state === 'running'),
        { timeoutMs: 10_000, intervalMs: 50, what: 'a replacement instance' },
      );
      const urlB = `http://${replacement.privateIp}:2379`;

      // 3. The store cannot be read: the replacement must not bootstrap an empty cluster.
      const broken: SnapshotStore = {
        ...store,
        description: 'a store that refuses',
        list: async () => {
          throw new Error('AccessDenied');
        },
      };
      const b = await startWithStore(emu, group.id, replacement.id, broken);
      agents.push(b);
      await delay(5000);
      const bLines = await logLines(b);
      assert.ok(
        !bLines.some(
          (l) => l.msg === 'plan' && (l.action === 'bootstrap' || l.action === 'restore-snapshot'),
        ),
        `bootstrapped while the store was unreadable:\n${await timeline(b, Date.now() - 6000)}`,
      );
      const why = bLines.find((l) => l.msg === 'plan' && /may hold this group's data/.test(String(l.reason)));
      assert.ok(why, 'the wait does not say why');
      t.diagnostic(`unreadable store: ${String(why.reason)}`);
      await b.stop();

      // 4. The store is readable again: the seeder restores the newest snapshot.
      const t0 = Date.now();
      const c = await startWithStore(emu, group.id, replacement.id, store);
      agents.push(c);
      const cc = client(urlB);
      try {
        await waitFor(async () => (await cc.get('before/19').string()) === 'v19', {
          timeoutMs: 30_000,
          intervalMs: 200,
          what: 'the restored key before/19',
        });
        t.diagnostic(`replacement started → restored data readable: ${Date.now() - t0} ms`);
        for (let i = 0; i < 20; i++) assert.equal(await cc.get(`before/${i}`).string(), `v${i}`);
        // Acknowledged after the newest snapshot: the only writes lost, and lost they are.
        for (let i = 0; i < 5; i++) assert.equal(await cc.get(`after/${i}`).string(), null);
        await cc.put('restored').value('yes');
      } finally {
        cc.close();
      }
      // etcd serves the restored keys a moment before the executor, which waits for it, logs the action
      // as done: wait for that line rather than read the log once (a race seen under load).
      const isRestoreDone = (l: Record<string, unknown>) =>
        l.msg === 'action done' && l.action === 'restore-snapshot';
      await waitFor(async () => (await logLines(c)).some(isRestoreDone), {
        timeoutMs: 15_000,
        intervalMs: 200,
        what: 'the restore-snapshot action logged as done',
      }).catch(() => undefined);
      const cLines = await logLines(c);
      const restored = cLines.find(isRestoreDone);
      assert.ok(restored, `no restore-snapshot action:\n${await timeline(c, t0)}`);
      assert.equal(restored.progressed, true, String(restored.detail));
      assert.ok(!cLines.some((l) => l.msg === 'plan' && l.action === 'bootstrap'));
      t.diagnostic(`restore: ${String(restored.detail)}`);
      passed = true;
    } finally {
      if (!passed) for (const a of agents) t.diagnostic(await timeline(a, 0));
      await closeAll(agents, emu);
      await rm(storeDir, { recursive: true, force: true });
    }
  });
});

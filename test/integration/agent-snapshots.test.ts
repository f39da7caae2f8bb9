/**
 * The leader's agent takes snapshots (row E take-snapshot) with real etcd and the cloud emulator on
 * 127.0.64.x: a good directory store gets a verified snapshot with its manifest; a store that cannot be
 * taken (its temp dir cannot be created) fails, logged, nothing stored, and the agent keeps running
 * (its etcd keeps serving).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { createFsSnapshotStore } from '../../src/adapters/snapshots/fs-store.ts';
import { verifyStoredSnapshot } from '../../src/adapters/snapshots/snapshots.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import { waitFor } from '../support/wait.ts';
import { TOKEN, closeAll, logLines, logTail, startAgent } from './agent-support.ts';
import type { TestAgent } from './agent-support.ts';

const IMDS_PORT = 13_394;

function startWith(
  emu: RunningEmulator,
  groupId: string,
  instanceId: string,
  snapshot: Record<string, string>,
): Promise<TestAgent> {
  return startAgent(emu, groupId, instanceId, { config: snapshot });
}

function client(url: string): Etcd3 {
  return new Etcd3({
    hosts: url,
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
  });
}

describe('the leader’s agent takes snapshots (real etcd, emulator)', () => {
  it('a good store gets a verified snapshot; a broken store fails the snapshot and the agent keeps running', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    const base = await mkdtemp(join(tmpdir(), 'etcd-spot-agent-snapstore-'));
    let passed = false;
    try {
      emu = await startEmulator({
        listen: '127.0.64.1:0',
        token: TOKEN,
        imdsPort: IMDS_PORT,
        ipPrefix: '127.0.64',
        tickMs: 20,
      });
      const good = emu.state.createGroup({ name: 'snap-good', targetCapacity: 1, autoReplace: false });
      const bad = emu.state.createGroup({ name: 'snap-bad', targetCapacity: 1, autoReplace: false });
      await emu.settled();
      const [gi] = emu.state.listInstances({ groupId: good.id });
      const [bi] = emu.state.listInstances({ groupId: bad.id });
      assert.ok(gi && bi);

      const storeDir = join(base, 'store');
      await mkdir(storeDir);
      const a = await startWith(emu, good.id, gi.id, {
        'snapshot.store': 'fs',
        'snapshot.dir': storeDir,
      });
      agents.push(a);
      // The store reads fine (so the agent bootstraps), but the temp dir sits under a regular file:
      // every snapshot fails before upload (ENOTDIR).
      const notADir = join(base, 'not-a-dir');
      await writeFile(notADir, 'x');
      const b = await startWith(emu, bad.id, bi.id, {
        'snapshot.store': 'fs',
        'snapshot.dir': storeDir,
        'snapshot.tmpDir': join(notADir, 'tmp'),
      });
      agents.push(b);

      const store = createFsSnapshotStore({ dir: storeDir });
      const manifest = await waitFor(
        async () => {
          const { manifests } = await store.list(good.id).catch(() => ({ manifests: [] }));
          return manifests[0];
        },
        { timeoutMs: 40_000, intervalMs: 250, what: 'the leader’s agent to store a snapshot' },
      );
      assert.equal(manifest.takenBy, gi.id);
      assert.match(manifest.reason, /^periodic snapshot/);
      assert.equal(manifest.memberCount, 1);
      await verifyStoredSnapshot(store, manifest);
      const lines = await logLines(a);
      assert.ok(lines.some((l) => l.msg === 'snapshot taken and verified' && l.snapshot === manifest.name));

      // The broken store: a logged failure, a failed decision, and the agent still cycles and serves.
      const failed = await waitFor(
        async () =>
          (await logLines(b)).find(
            (l) => l.msg === 'snapshot failed; it does not count and nothing older was deleted',
          ),
        { timeoutMs: 40_000, intervalMs: 250, what: 'the broken store’s snapshot failure to be logged' },
      );
      assert.match(String(failed.err), /not-a-dir/);
      assert.deepEqual((await store.list(bad.id)).manifests, [], 'a failed snapshot stores nothing');
      const cycleBefore = b.runtime.agent.cycleCount;
      const c = client(`http://${bi.privateIp}:2379`);
      try {
        await c.put('still').value('serving');
        assert.equal(await c.get('still').string(), 'serving');
      } finally {
        c.close();
      }
      await waitFor(async () => b.runtime.agent.cycleCount > cycleBefore + 2, {
        timeoutMs: 10_000,
        what: 'the agent with the broken store to keep cycling',
      });
      passed = true;
    } finally {
      if (!passed) for (const ag of agents) t.diagnostic(`${ag.instanceId}:\n${await logTail(ag, 30)}`);
      await closeAll(agents, emu);
      await rm(base, { recursive: true, force: true });
    }
  });
});

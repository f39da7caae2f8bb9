/**
 * Quorum-loss recovery with real etcd and agents (issue 8 §3), one fleet of 3, writers holding every
 * endpoint throughout. Subnet 127.0.47.
 * - a partition that only looks like a majority loss: the etcd of two followers is SIGSTOPped (alive,
 *   instances running, unreachable) for well past recovery.noLeaderFor and two group polls: nothing is
 *   forced, and after SIGCONT the same members carry on;
 * - a majority lost for good: two followers kill -9'd and their instances terminated: the survivor (the
 *   old leader, which holds every acknowledged write) forces a new cluster, the replacements join it, and
 *   no acknowledged write is lost. Recovery time (instances terminated → first acknowledged write) is
 *   reported as a diagnostic; it is a measurement, bounded only loosely here (BENCHMARKS.md holds numbers);
 * - all lost: a snapshot is stored (fs store shared by the agents), then every instance is kill -9'd for
 *   good: the replacements' seeder restores it instead of bootstrapping empty, the others join, and the
 *   only acknowledged writes lost are the ones acknowledged above the snapshot's revision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { clientUrlFor } from '../../src/core/ids.ts';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { createFsSnapshotStore } from '../../src/adapters/snapshots/fs-store.ts';
import { takeSnapshot } from '../../src/adapters/snapshots/snapshots.ts';
import { CONVERGE_MS, reportWrites, seedFor, withFleet } from './helpers.ts';

const IP_PREFIX = '127.0.47';
const SEED = seedFor(4700);
const NO_LEADER_FOR = '4s';

async function etcdPid(instanceDir: string): Promise<number> {
  const pid = Number((await readFile(join(instanceDir, 'state', 'etcd.pid'), 'utf8')).trim());
  assert.ok(Number.isInteger(pid) && pid > 0, `no etcd pid in ${instanceDir}`);
  // Guard against PID reuse: it must be an etcd on that instance's data dir.
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  assert.ok(
    cmdline.includes(`--data-dir=${join(instanceDir, 'data')}`),
    `pid ${pid} is not ${instanceDir}'s etcd`,
  );
  return pid;
}

test(
  'quorum loss: a partition forces nothing; a majority lost is recovered from the survivor, all lost from the newest snapshot',
  { timeout: 600_000 },
  async (t) => {
    const storeDir = await mkdtemp(join(tmpdir(), 'etcd-spot-e2e-snapshots-'));
    t.after(() => rm(storeDir, { recursive: true, force: true }));
    let snapshotRevision: number | undefined;
    await withFleet(
      t,
      {
        instances: 3,
        maxVoters: 3,
        ipPrefix: IP_PREFIX,
        seed: SEED,
        label: 'recovery',
        agentEnv: {
          ETCD_SPOT_RECOVERY_NO_LEADER_FOR: NO_LEADER_FOR,
          ETCD_SPOT_SNAPSHOT_STORE: 'fs',
          ETCD_SPOT_SNAPSHOT_DIR: storeDir,
        },
      },
      async (h) => {
        const { fleet } = h;
        await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
        h.startWriting();
        await delay(2000);

        await t.test(
          'stopped (not killed) etcd on two followers: nothing forced, same members after',
          async (st) => {
            const before = await h.sampler.sample();
            const followers = await fleet.pickMany('follower', 2);
            const pids = await Promise.all(followers.map((id) => etcdPid(fleet.instanceDir(id))));
            const t0 = Date.now();
            for (const pid of pids) process.kill(pid, 'SIGSTOP');
            fleet.note(`test SIGSTOPped the etcd of ${followers.join(', ')} (pids ${pids.join(', ')})`);
            try {
              // Well past noLeaderFor (4 s) and two group polls (2 s each).
              await delay(14_000);
            } finally {
              for (const pid of pids) process.kill(pid, 'SIGCONT');
              fleet.note(`test SIGCONTed ${pids.join(', ')}`);
            }
            const decisions = fleet.decisions().filter((d) => d.at >= t0);
            const forced = decisions.filter(
              (d) => d.action === 'force-new-cluster' || d.action === 'wipe-data',
            );
            assert.deepEqual(
              forced.map((d) => `${d.instanceId}: ${d.action}: ${d.reason}`),
              [],
              'a partition must never force a new cluster or wipe',
            );
            const refusal = decisions.find((d) =>
              /not forcing a new cluster: not a quorum loss/.test(d.reason),
            );
            assert.ok(refusal, 'no agent logged why it did not force a new cluster');
            st.diagnostic(`${refusal.instanceId}: ${refusal.reason}`);
            const after = await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
            assert.deepEqual(
              after.members.map((m) => m.id).sort(),
              before.members.map((m) => m.id).sort(),
              'the member list changed after a partition',
            );
          },
        );

        await t.test(
          'two of three killed for good: the survivor forces a new cluster, the replacements join',
          async (st) => {
            const before = await h.sampler.sample();
            const survivor = await fleet.pick('leader');
            const victims = before.instances
              .filter((i) => i.state === 'running' && i.id !== survivor)
              .map((i) => i.id);
            assert.equal(victims.length, 2);
            const survivorMember = h.memberOf(before, survivor);
            assert.ok(survivorMember);
            await Promise.all(victims.map((id) => fleet.kill9(id, { instanceGone: true })));
            const terminatedAt = Math.max(
              ...(await Promise.all(
                victims.map(
                  async (id) =>
                    (
                      await h.waitForEvent(
                        (e) => e.type === 'terminated' && e.instanceId === id,
                        10_000,
                        `${id} terminated`,
                      )
                    ).at,
                ),
              )),
            );
            // The cluster writable again: a put straight to the survivor (HTTP gateway, fresh connection
            // each time) succeeds. The workload's client sees it later: etcd3 benches a failing host for 5 s.
            const survivorUrl = `http://${before.instances.find((i) => i.id === survivor)?.privateIp}:2379`;
            let clusterWritableAt: number | undefined;
            const probeUntil = Date.now() + 90_000;
            while (clusterWritableAt === undefined && Date.now() < probeUntil) {
              const ok = await fetch(`${survivorUrl}/v3/kv/put`, {
                method: 'POST',
                body: JSON.stringify({ key: btoa('recovery-probe'), value: btoa(String(Date.now())) }),
                signal: AbortSignal.timeout(500),
              }).then(
                (r) => r.ok,
                () => false,
              );
              if (ok) clusterWritableAt = Date.now();
              else await delay(100);
            }
            assert.ok(clusterWritableAt !== undefined, 'the survivor never took a write again');
            // Writable again for the workload: the first acknowledged write after the termination.
            const deadline = Date.now() + 90_000;
            let writableAt: number | undefined;
            while (writableAt === undefined && Date.now() < deadline) {
              const s = h.workload.stats();
              if (s.lastOkAt !== undefined && s.lastOkAt > terminatedAt + 1000) writableAt = s.lastOkAt;
              else await delay(100);
            }
            assert.ok(writableAt !== undefined, 'never writable again after the majority loss');
            const forced = fleet
              .decisions()
              .filter((d) => d.action === 'force-new-cluster' && d.at >= terminatedAt - 1000);
            assert.deepEqual(
              forced.map((d) => d.instanceId),
              [survivor],
              'exactly the survivor forces a new cluster, once',
            );
            const f = forced[0]!;
            assert.equal(f.outcome?.progressed, true, f.outcome?.detail);
            st.diagnostic(`decision: ${f.reason}`);
            st.diagnostic(`outcome: ${f.outcome?.detail ?? ''}`);
            st.diagnostic(
              `recovery: instances terminated → force decided ${f.at - terminatedAt} ms → survivor takes writes ${clusterWritableAt - terminatedAt} ms → the writers' client succeeds ${writableAt - terminatedAt} ms`,
            );
            // The target is 15 s; on a shared 2-core machine this is a loose bound, the number is reported above.
            assert.ok(writableAt - terminatedAt < 60_000, 'recovery took longer than 60 s');

            const after = await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
            assert.equal(
              h.memberOf(after, survivor)?.id,
              survivorMember.id,
              'the survivor keeps its member id through --force-new-cluster',
            );
            for (const id of victims)
              assert.ok(!after.instances.some((i) => i.id === id && i.state === 'running'));
            const aside = await readFile(join(fleet.instanceDir(survivor), 'agent.log'), 'utf8');
            assert.match(aside, /copied the data dir aside/);
          },
        );

        await t.test('all lost for good: the replacements restore the newest snapshot', async (st) => {
          const before = await h.sampler.sample();
          const leader = await fleet.pick('leader');
          const ip = before.instances.find((i) => i.id === leader)?.privateIp;
          assert.ok(ip);
          const etcd = createEtcdCluster({ callTimeoutMs: 3000 });
          try {
            const snap = await takeSnapshot({
              etcd,
              clientUrl: clientUrlFor(ip),
              store: createFsSnapshotStore({ dir: storeDir }),
              groupId: fleet.groupId,
              takenBy: 'e2e test',
              reason: 'before losing every instance',
              memberCount: 3,
              tmpDir: storeDir,
              now: Date.now,
            });
            snapshotRevision = snap.manifest.revision;
            st.diagnostic(`snapshot ${snap.manifest.name} at revision ${snapshotRevision}`);
          } finally {
            await etcd.close();
          }
          await delay(1000);
          const all = before.instances.filter((i) => i.state === 'running').map((i) => i.id);
          assert.equal(all.length, 3);
          const t0 = Date.now();
          await Promise.all(all.map((id) => fleet.kill9(id, { instanceGone: true })));
          const after = await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
          const restores = fleet.decisions().filter((d) => d.action === 'restore-snapshot' && d.at >= t0);
          assert.equal(restores.length, 1, 'exactly one seeder restores');
          const r = restores[0]!;
          assert.equal(r.outcome?.progressed, true, r.outcome?.detail);
          assert.ok(
            !fleet.decisions().some((d) => d.action === 'bootstrap' && d.at >= t0),
            'an empty cluster was bootstrapped although the store holds a snapshot',
          );
          st.diagnostic(`restore: ${r.outcome?.detail ?? ''} (${(r.at - t0) / 1000} s after the kill)`);
          st.diagnostic(`converged ${(Date.now() - t0) / 1000} s after the kill`);
          assert.ok(!after.members.some((m) => before.members.some((b) => b.id === m.id)));
        });

        const writes = await h.checkWrites();
        reportWrites(t, writes);
        assert.equal(writes.readBackError, undefined);
        assert.ok(writes.check.acknowledged > 0);
        assert.ok(snapshotRevision !== undefined);
        // Majority lost: the survivor was the leader, so it held every acknowledged write. All lost: the
        // only writes that may be gone are those acknowledged above the snapshot's revision.
        const revisionOf = new Map(h.workload.acked.map((w) => [w.key, w.revision]));
        const unexplained = writes.check.lost.filter((k) => (revisionOf.get(k) ?? 0) <= snapshotRevision!);
        assert.deepEqual(unexplained, [], 'acknowledged writes lost that the snapshot held');
        t.diagnostic(
          `all lost: ${writes.check.lost.length} acknowledged write(s) lost, all above the snapshot's revision ${snapshotRevision}`,
        );
        assert.deepEqual(writes.check.mismatched, []);
        // A restore rewinds the revision: a writer's next put after it gets a lower revision than its last
        // lost one. Any other order violation is a bug.
        const bad = writes.check.nonMonotonic.filter((n) => n.previousRevision <= snapshotRevision!);
        assert.deepEqual(bad, []);
      },
    );
  },
);

test(
  'quorum loss with two survivors: they compare raft indexes through their agents, one forces, the other wipes and rejoins',
  { timeout: 600_000 },
  async (t) => {
    await withFleet(
      t,
      {
        instances: 5,
        maxVoters: 5,
        ipPrefix: '127.0.46',
        seed: seedFor(4600),
        label: 'recovery-5',
        agentEnv: { ETCD_SPOT_RECOVERY_NO_LEADER_FOR: NO_LEADER_FOR },
      },
      async (h) => {
        const { fleet } = h;
        await fleet.waitConverged({ voters: 5, timeoutMs: CONVERGE_MS });
        h.startWriting();
        await delay(2000);
        const before = await h.sampler.sample();
        // Three followers: the leader survives with every acknowledged write, next to one follower.
        const victims = await fleet.pickMany('follower', 3);
        const survivors = before.instances
          .filter((i) => i.state === 'running' && !victims.includes(i.id))
          .map((i) => i.id);
        assert.equal(survivors.length, 2);
        const t0 = Date.now();
        await Promise.all(victims.map((id) => fleet.kill9(id, { instanceGone: true })));
        const after = await fleet.waitConverged({ voters: 5, timeoutMs: CONVERGE_MS });
        const forced = fleet
          .decisions()
          .filter((d) => d.action === 'force-new-cluster' && d.at >= t0 && d.outcome?.progressed);
        assert.equal(forced.length, 1, 'exactly one survivor forces a new cluster');
        const f = forced[0]!;
        assert.ok(survivors.includes(f.instanceId));
        // Both survivors' data was compared (self's status and the other's signed peer answer).
        for (const id of survivors) assert.match(f.reason, new RegExp(`${id} \\d+/term \\d+`));
        const other = survivors.find((id) => id !== f.instanceId)!;
        const otherActions = fleet
          .decisions()
          .filter((d) => d.instanceId === other && d.at >= t0 && d.outcome?.progressed)
          .map((d) => d.action);
        assert.ok(!otherActions.includes('force-new-cluster'));
        assert.ok(otherActions.includes('wipe-data'), `${other} did not wipe: ${otherActions.join(', ')}`);
        assert.notEqual(
          h.memberOf(after, other)?.id,
          h.memberOf(before, other)?.id,
          'the other survivor rejoined fresh',
        );
        assert.equal(h.memberOf(after, f.instanceId)?.id, h.memberOf(before, f.instanceId)?.id);
        t.diagnostic(`decision: ${f.reason}`);
        t.diagnostic(
          `${other}: ${otherActions.join(' → ')}; converged ${(Date.now() - t0) / 1000} s after the kill`,
        );
        const writes = await h.checkWrites();
        reportWrites(t, writes);
        assert.equal(writes.readBackError, undefined);
        assert.deepEqual(writes.check.lost, []);
        assert.deepEqual(writes.check.mismatched, []);
        assert.deepEqual(writes.check.nonMonotonic, []);
      },
    );
  },
);

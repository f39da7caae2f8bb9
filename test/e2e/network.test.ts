/**
 * Network faults through the simulator's peer proxies, on real etcd + agents. Subnet 127.0.93.
 * - a follower partitioned both ways stops receiving the log while the rest commits; it is not
 *   removed or wiped while its instance runs; after heal it catches up under the same member id;
 * - a frozen (SIGSTOP'd) etcd stops answering; SIGCONT brings it back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { clientUrlFor } from '../../src/core/ids.ts';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { CONVERGE_MS, reportWrites, seedFor, withFleet } from './helpers.ts';

const IP_PREFIX = '127.0.93';
const SEED = seedFor(9300);

test(
  'a partitioned follower keeps its member and catches up after heal; a frozen etcd comes back',
  { timeout: 600_000 },
  async (t) => {
    await withFleet(
      t,
      { instances: 3, maxVoters: 5, ipPrefix: IP_PREFIX, seed: SEED, label: 'network', peerProxy: true },
      async (h) => {
        const { fleet } = h;
        const etcd = createEtcdCluster({ callTimeoutMs: 1000, removeTimeoutMs: 3000 });
        try {
          await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
          h.startWriting();
          await delay(2000);
          const id = await fleet.pick('follower');
          const leaderId = await fleet.pick('leader');
          const ipOf = (i: string) => fleet.liveInstances().find((x) => x.id === i)?.privateIp as string;
          const statusOf = (i: string) => etcd.status(clientUrlFor(ipOf(i)), AbortSignal.timeout(1500));
          const member = (await statusOf(id)).memberId;

          fleet.partition([id], 'both');
          await delay(3000);
          const f0 = (await statusOf(id)).raftIndex;
          const l0 = (await statusOf(leaderId)).raftIndex;
          // Longer than memberDeadAfter (10 s): the instance runs, so nobody may reap it.
          await delay(12_000);
          const f1 = (await statusOf(id)).raftIndex;
          const l1 = (await statusOf(leaderId)).raftIndex;
          t.diagnostic(`partitioned follower raft index ${f0} → ${f1}; leader ${l0} → ${l1}`);
          assert.equal(f1, f0, 'the partitioned follower still received the log');
          assert.ok(l1 > l0 + 10, 'the majority stopped committing');
          const stats = await fleet.proxyStats();
          assert.ok(
            Object.values(stats).some((s) => s.swallowedBytes > 0),
            'no proxy swallowed anything',
          );

          fleet.heal();
          const healed = await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
          assert.equal(
            healed.instances.find((i) => i.id === id)?.etcd?.memberId,
            member,
            'the follower was removed or wiped while its instance ran',
          );
          await delay(2000);
          assert.ok((await statusOf(id)).raftIndex >= l1, 'the follower did not catch up');

          const pids = fleet.pause(id, 'etcd');
          assert.ok(pids.length > 0);
          // The paused process is the one the agent runs (its pid file), and it is stopped when pause returns.
          const served = Number(
            readFileSync(join(fleet.instanceDir(id), 'state', 'etcd.pid'), 'utf8').trim(),
          );
          assert.deepEqual(pids, [served]);
          const stat = readFileSync(`/proc/${served}/stat`, 'utf8');
          const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
          assert.equal(state, 'T', `etcd ${served} is in state ${state}, not stopped`);
          await assert.rejects(statusOf(id), `a frozen etcd still answered (pid ${served})`);
          fleet.resume(id);
          await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
          assert.equal((await statusOf(id)).memberId, member);

          const r = await h.checkWrites();
          reportWrites(t, r);
          assert.deepEqual(r.check.lost, []);
          assert.equal(r.linearizability.verdict, 'ok');
        } finally {
          await etcd.close();
        }
      },
    );
  },
);

/**
 * Instances that boot together form exactly one cluster: 3 and 5 at once, and 3 while the cloud API
 * serves inconsistent instance lists (each group-status reply drops a random instance). Subnet 127.0.41.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONVERGE_MS, seedFor, withFleet } from './helpers.ts';
import type { Harness } from './helpers.ts';
import type { FleetSnapshot } from '../../src/sim/snapshot.ts';

const IP_PREFIX = '127.0.41';
const SEED = seedFor(4101);

/** Waits for convergence while recording every cluster id any running member reported on the way. */
async function convergeWatchingClusterIds(
  h: Harness,
  voters: number,
): Promise<{ final: FleetSnapshot; clusterIds: Set<string> }> {
  const clusterIds = new Set<string>();
  const watch = (s: FleetSnapshot) => {
    for (const i of s.instances) if (i.etcd) clusterIds.add(i.etcd.clusterId);
  };
  const off = h.sampler.onSnapshot(watch);
  const startedAt = Date.now();
  try {
    const final = await h.fleet.waitConverged({ voters, timeoutMs: CONVERGE_MS, onSnapshot: watch });
    return { final, clusterIds };
  } finally {
    off();
    h.fleet.note(`converged after ${Date.now() - startedAt} ms`);
  }
}

function assertOneCluster(
  final: FleetSnapshot,
  clusterIds: Set<string>,
  ids: string[],
  voters: number,
): void {
  assert.equal(clusterIds.size, 1, `more than one cluster id was seen: ${[...clusterIds].join(', ')}`);
  assert.deepEqual(final.members.map((m) => m.name).sort(), [...ids].sort());
  assert.equal(final.members.filter((m) => !m.isLearner).length, voters);
  assert.equal(final.members.filter((m) => m.role === 'leader').length, 1);
}

for (const n of [3, 5]) {
  test(`${n} instances booting at once form exactly one cluster`, { timeout: 240_000 }, async (t) => {
    await withFleet(
      t,
      { instances: n, maxVoters: 5, ipPrefix: IP_PREFIX, seed: SEED + n, label: `boot-${n}` },
      async (h) => {
        const t0 = Date.now();
        const { final, clusterIds } = await convergeWatchingClusterIds(h, n);
        t.diagnostic(`${n} instances converged in ${Date.now() - t0} ms`);
        assertOneCluster(final, clusterIds, h.fleet.runningIds(), n);
      },
    );
  });
}

test(
  '3 instances booting while the API serves inconsistent lists still form one cluster',
  { timeout: 240_000 },
  async (t) => {
    const faultMs = 20_000;
    await withFleet(
      t,
      {
        instances: 3,
        maxVoters: 5,
        ipPrefix: IP_PREFIX,
        seed: SEED + 100,
        label: 'boot-partial',
        faults: [
          { route: 'group-status', fault: { kind: 'partial', dropRandom: 1, untilMs: Date.now() + faultMs } },
        ],
      },
      async (h) => {
        const t0 = Date.now();
        const { final, clusterIds } = await convergeWatchingClusterIds(h, 3);
        t.diagnostic(
          `converged ${Date.now() - t0} ms after boot (lists were partial for the first ${faultMs} ms)`,
        );
        const stats = h.fleet.state.stats().routes['group-status'];
        t.diagnostic(`group-status calls: ${stats.requests}, faulted: ${stats.faulted}`);
        assert.ok(stats.faulted > 0, 'the partial fault never applied: the test did not test anything');
        assertOneCluster(final, clusterIds, h.fleet.runningIds(), 3);
      },
    );
  },
);

/**
 * The cloud API fails (503, then timeouts, then 429) while a member's instance is gone for good: no
 * member may be removed while the API fails, however long the dead member stays unreachable (the
 * agents cannot prove its instance is gone). Once the faults are cleared the cluster reaps it, the
 * replacement joins, and no acknowledged write was lost. Subnet 127.0.44.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { FaultSpec } from '../../src/emulator/types.ts';
import { CONVERGE_MS, reportWrites, seedFor, withFleet } from './helpers.ts';

const IP_PREFIX = '127.0.44';
const SEED = seedFor(4400);
/** Each phase is longer than the agents' 10 s memberDeadAfter. */
const PHASE_MS = 12_000;

test(
  'no member is removed while the cloud API fails; the cluster converges once it is back',
  { timeout: 360_000 },
  async (t) => {
    await withFleet(
      t,
      { instances: 3, maxVoters: 5, ipPrefix: IP_PREFIX, seed: SEED, label: 'api-outage' },
      async (h) => {
        const { fleet } = h;
        await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
        h.startWriting();
        await delay(2000);
        const before = await h.sampler.sample();
        const memberIds = before.members.map((m) => m.id);

        const phases: FaultSpec[] = [
          { kind: 'status', status: 503 },
          { kind: 'timeout', ms: 5000 },
          { kind: 'rate-limit', resetSec: 1 },
        ];
        const outageStart = Date.now();
        fleet.fault('all', phases[0] as FaultSpec);
        const victim = await fleet.kill9('follower', { instanceGone: true });
        t.diagnostic(`killed ${victim} (instance gone) at the start of the outage`);

        const removedDuringOutage: string[] = [];
        for (const [i, phase] of phases.entries()) {
          if (i > 0) {
            fleet.clearFaults();
            fleet.fault('all', phase);
          }
          const until = Date.now() + PHASE_MS;
          while (Date.now() < until) {
            const s = await h.sampler.sample();
            if (s.memberListError === undefined) {
              for (const id of memberIds)
                if (!s.members.some((m) => m.id === id) && !removedDuringOutage.includes(id))
                  removedDuringOutage.push(id);
            }
            await delay(250);
          }
        }
        const outageEnd = Date.now();
        const stats = fleet.state.stats().routes;
        t.diagnostic(
          `outage ${outageEnd - outageStart} ms; faulted calls: ${Object.entries(stats)
            .map(([r, s]) => `${r} ${s.faulted}/${s.requests}`)
            .join(', ')}`,
        );
        assert.ok(
          stats['group-status'].faulted > 0,
          'no group-status call met a fault: the test did not test anything',
        );

        const removals = fleet
          .decisions()
          .filter(
            (d) =>
              d.action === 'remove-member' &&
              d.outcome?.progressed &&
              d.outcome.at >= outageStart &&
              d.outcome.at < outageEnd,
          );
        assert.deepEqual(removedDuringOutage, [], 'members were removed while the API failed');
        assert.deepEqual(
          removals.map((d) => `${d.instanceId}: ${d.reason}`),
          [],
          'an agent removed a member while the API failed',
        );

        fleet.clearFaults();
        const t0 = Date.now();
        const after = await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
        t.diagnostic(`converged ${Date.now() - t0} ms after the API came back`);
        assert.ok(!after.members.some((m) => m.instanceId === victim));

        const writes = await h.checkWrites();
        reportWrites(t, writes);
        assert.equal(writes.readBackError, undefined);
        assert.ok(writes.check.acknowledged > 0);
        assert.deepEqual(writes.check.lost, []);
        assert.deepEqual(writes.check.mismatched, []);
        assert.deepEqual(writes.check.nonMonotonic, []);
      },
    );
  },
);

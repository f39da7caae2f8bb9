/**
 * Scaling the group 3 → 5 → 3 while four writers hold every endpoint: the cluster follows the group
 * (5 voters, then 3) and no acknowledged write is lost. Scale-in gives the newest instances a
 * lifecycle notice of the group's signal timeout (30 s here). Subnet 127.0.45.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { CONVERGE_MS, reportWrites, seedFor, withFleet } from './helpers.ts';

const IP_PREFIX = '127.0.45';
const SEED = seedFor(4500);

test('scale 3 → 5 → 3 converges each time without losing a write', { timeout: 480_000 }, async (t) => {
  await withFleet(
    t,
    { instances: 3, maxVoters: 5, ipPrefix: IP_PREFIX, seed: SEED, label: 'scale', signalTimeoutMs: 30_000 },
    async (h) => {
      const { fleet } = h;
      await fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
      h.startWriting();
      await delay(2000);

      for (const n of [5, 3]) {
        const t0 = Date.now();
        fleet.scaleTo(n);
        const s = await fleet.waitConverged({ voters: n, timeoutMs: CONVERGE_MS });
        const ids = fleet.runningIds();
        t.diagnostic(`scaled to ${n}: converged in ${Date.now() - t0} ms`);
        assert.equal(ids.length, n);
        assert.deepEqual(s.members.map((m) => m.name).sort(), [...ids].sort());
        assert.equal(s.members.filter((m) => !m.isLearner).length, n);
      }
      const scaleIn = fleet.events.filter((e) => e.type === 'terminated').map((e) => e.text);
      t.diagnostic(`scale-in terminations: ${scaleIn.join('; ')}`);

      const writes = await h.checkWrites();
      reportWrites(t, writes);
      assert.equal(writes.readBackError, undefined);
      assert.ok(writes.check.acknowledged > 0);
      assert.deepEqual(writes.check.lost, []);
      assert.deepEqual(writes.check.mismatched, []);
      assert.deepEqual(writes.check.nonMonotonic, []);
    },
  );
});

/**
 * Spot interruptions with a 15 s notice, first of a follower, then of the leader, while four writers
 * hold every endpoint: each leaving member is removed before its instance is terminated, the leader
 * hands leadership over first, the replacement joins as a voter, and no acknowledged write is lost.
 * One fleet for the whole file. Subnet 127.0.42.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { measureDisruption, summariseTimings } from '../../src/sim/measure.ts';
import type { EventTimings } from '../../src/sim/measure.ts';
import { CONVERGE_MS, reportWrites, seedFor, withFleet } from './helpers.ts';
import type { Harness } from './helpers.ts';

const IP_PREFIX = '127.0.42';
const SEED = seedFor(4200);
const NOTICE_MS = 15_000;

/** Interrupts `target`, waits for its termination and for convergence, returns the event's timings. */
async function interruptAndConverge(
  t: TestContext,
  h: Harness,
  target: 'follower' | 'leader',
): Promise<EventTimings> {
  const before = await h.sampler.sample();
  const id = await h.fleet.pick(target);
  const member = h.memberOf(before, id);
  assert.ok(member, `${id} has no member before the interruption`);
  assert.equal(member.role, target);
  const at = Date.now();
  await h.fleet.interrupt(id, { noticeMs: NOTICE_MS });
  const terminated = await h.waitForEvent(
    (e) => e.type === 'terminated' && e.instanceId === id,
    NOTICE_MS + 30_000,
    `${id} to be terminated`,
    at,
  );
  await h.fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
  await h.sampler.sample();

  const timings = measureDisruption(
    {
      index: 0,
      kind: 'interrupt',
      description: `interrupt the ${target}`,
      instanceId: id,
      memberId: member.id,
      wasLeader: target === 'leader',
      at,
      instancesBefore: before.instances.map((i) => i.id),
      final: true,
    },
    Date.now(),
    at,
    h.monitor,
    h.fleet.events,
    h.fleet.decisions(),
  );
  t.diagnostic(
    `${target} ${id}: ${summariseTimings(timings)}; agent actions: ${timings.agentActions?.join(' → ')}`,
  );
  t.diagnostic(`termination: ${terminated.text}`);

  // The member left while the instance still ran: removed before termination, by the agent's log, and
  // no sample taken after the termination lists it (a reap would have kept it there for the 10 s TTL).
  assert.notEqual(
    timings.memberRemovedAfterMs,
    undefined,
    `member ${member.id} of ${id} was never seen removed`,
  );
  assert.equal(
    timings.removedBeforeTerminated,
    true,
    `member ${member.id} was removed after ${id} was terminated`,
  );
  assert.ok(timings.agentActions?.includes('remove-member'), `${id}'s agent did not remove its own member`);
  const lingering = h.monitor.members.get(member.id);
  assert.ok(
    lingering?.removedAt !== undefined && lingering.lastSeenAt <= terminated.at + 500,
    `member ${member.id} was still listed after termination`,
  );
  if (target === 'leader')
    assert.equal(timings.leaderMovedFirst, true, 'leadership did not move before the leader left');

  // The replacement joined as a voter.
  assert.equal(
    timings.replacements.length,
    1,
    `expected one replacement, got ${JSON.stringify(timings.replacements)}`,
  );
  const replacement = timings.replacements[0]?.instanceId as string;
  const after = await h.fleet.snapshot();
  assert.equal(h.memberOf(after, replacement)?.isLearner, false, `replacement ${replacement} is not a voter`);
  return timings;
}

test(
  'a follower, then the leader, leave on a 15 s notice without losing a write',
  { timeout: 360_000 },
  async (t) => {
    await withFleet(
      t,
      { instances: 3, maxVoters: 5, ipPrefix: IP_PREFIX, seed: SEED, label: 'interrupt' },
      async (h) => {
        await h.fleet.waitConverged({ voters: 3, timeoutMs: CONVERGE_MS });
        h.startWriting();
        await new Promise((r) => setTimeout(r, 2000));

        const follower = await interruptAndConverge(t, h, 'follower');
        const leader = await interruptAndConverge(t, h, 'leader');

        const writes = await h.checkWrites();
        reportWrites(t, writes);
        t.diagnostic(
          `leader changes during the leader's leave: ${leader.leaderChanges}; below target voters: follower ${follower.belowTargetMs} ms, leader ${leader.belowTargetMs} ms`,
        );
        assert.equal(writes.readBackError, undefined);
        assert.ok(writes.check.acknowledged > 0, 'no write was acknowledged at all');
        assert.deepEqual(writes.check.lost, []);
        assert.deepEqual(writes.check.mismatched, []);
        assert.deepEqual(writes.check.nonMonotonic, []);
      },
    );
  },
);

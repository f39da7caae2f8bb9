import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSpotTerminationSource } from './spot-termination-source.ts';
import type { LifecycleState } from '../../ports/instance-group.ts';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { CloudApiError, MalformedResponseError } from '../../core/errors.ts';

function group(answer: () => LifecycleState) {
  const asked: string[] = [];
  return {
    asked,
    lifecycleState: async (id: string) => {
      asked.push(id);
      return answer();
    },
  };
}

test('terminating → notice with first-seen time; active → null', async () => {
  let state: LifecycleState = 'active';
  const g = group(() => state);
  const clock = new ManualClock();
  const src = createSpotTerminationSource({ group: g, instanceId: 'i-self', clock });
  assert.equal(src.name, 'spot-api');
  assert.equal(await src.poll(), null);
  state = 'terminating';
  const first = clock.now();
  assert.deepEqual(await src.poll(), {
    source: 'spot-api',
    seenAt: first,
    detail: 'lifeCycleState=TERMINATING',
  });
  await clock.advance(10_000);
  assert.equal((await src.poll())?.seenAt, first);
  state = 'active';
  assert.equal(await src.poll(), null);
  assert.deepEqual(new Set(g.asked), new Set(['i-self']));
});

test("a notice gets a deadline only when the hold is known (the group's shutdown signal timeout)", async () => {
  const clock = new ManualClock();
  const hold: { ms?: number } = {};
  const src = createSpotTerminationSource({
    group: group(() => 'terminating'),
    instanceId: 'i-self',
    clock,
    deadlineFor: (seenAt) => (hold.ms === undefined ? undefined : seenAt + hold.ms),
  });
  const first = await src.poll();
  assert.equal(first?.deadline, undefined, 'unknown hold: no deadline, so the planner leaves at once');
  hold.ms = 120_000;
  await clock.advance(1000);
  assert.equal((await src.poll())?.deadline, (first?.seenAt ?? NaN) + 120_000, 'counted from first seen');
});

test('gone for our own running instance is implausible: an error, never a notice', async () => {
  const src = createSpotTerminationSource({
    group: group(() => 'gone'),
    instanceId: 'i-self',
    clock: new ManualClock(),
  });
  await assert.rejects(src.poll(), (err: unknown) => {
    assert.ok(err instanceof MalformedResponseError);
    assert.match(err.message, /implausible/);
    return true;
  });
});

test('group errors propagate', async () => {
  const src = createSpotTerminationSource({
    group: {
      lifecycleState: async () => {
        throw new CloudApiError('boom', { status: 503, retryable: true });
      },
    },
    instanceId: 'i-self',
    clock: new ManualClock(),
  });
  await assert.rejects(src.poll(), /boom/);
});

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

test("a notice's deadline counts the hold from the last ACTIVE answer (the state began after it), once the hold is known", async () => {
  const clock = new ManualClock();
  const hold: { ms?: number } = {};
  let state: LifecycleState = 'active';
  const src = createSpotTerminationSource({
    group: group(() => state),
    instanceId: 'i-self',
    clock,
    deadlineFor: (startedAfter) => (hold.ms === undefined ? undefined : startedAfter + hold.ms),
  });
  assert.equal(await src.poll(), null);
  const lastActive = clock.now();
  // The next poll is a whole interval later: the state may have begun right after the ACTIVE answer.
  await clock.advance(40_000);
  state = 'terminating';
  const first = await src.poll();
  assert.equal(first?.seenAt, lastActive + 40_000);
  assert.equal(first?.deadline, undefined, 'unknown hold: no deadline, so the planner leaves at once');
  hold.ms = 120_000;
  await clock.advance(1000);
  assert.equal(
    (await src.poll())?.deadline,
    lastActive + 120_000,
    'from the last ACTIVE answer, not from first seen (that would be 40 s too late)',
  );
  hold.ms = 300_000;
  await clock.advance(1000);
  assert.equal((await src.poll())?.deadline, lastActive + 120_000, 'fixed once given');
});

test('TERMINATING at the first poll (the agent just started) has no deadline: it may be as old as the hold', async () => {
  const clock = new ManualClock();
  const src = createSpotTerminationSource({
    group: group(() => 'terminating'),
    instanceId: 'i-self',
    clock,
    deadlineFor: (startedAfter) => startedAfter + 120_000,
  });
  assert.equal((await src.poll())?.deadline, undefined);
  await clock.advance(5000);
  assert.equal((await src.poll())?.deadline, undefined);
});

test('minIntervalMs as a function is read at every poll (the hold is learnt after start)', () => {
  let ms = 60_000;
  const src = createSpotTerminationSource({
    group: group(() => 'active'),
    instanceId: 'i-self',
    clock: new ManualClock(),
    minIntervalMs: () => ms,
  });
  assert.equal(src.minIntervalMs, 60_000);
  ms = 40_000;
  assert.equal(src.minIntervalMs, 40_000);
  const fixed = createSpotTerminationSource({
    group: group(() => 'active'),
    instanceId: 'i-self',
    clock: new ManualClock(),
    minIntervalMs: 30_000,
  });
  assert.equal(fixed.minIntervalMs, 30_000);
  const none = createSpotTerminationSource({
    group: group(() => 'active'),
    instanceId: 'i',
    clock: new ManualClock(),
  });
  assert.equal(none.minIntervalMs, undefined);
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { MalformedResponseError } from '../../core/errors.ts';
import { createAsgTerminationSource } from './asg-termination-source.ts';
import type { AsgStateClass } from './states.ts';

function source(answers: ({ state?: string; cls: AsgStateClass } | Error)[]) {
  const clock = new ManualClock();
  const src = createAsgTerminationSource({
    instanceId: 'i-1',
    clock,
    state: async () => {
      const a = answers.shift();
      if (a === undefined) throw new Error('no more answers');
      if (a instanceof Error) throw a;
      return a;
    },
  });
  return { src, clock };
}

test('Terminating:Wait is a notice, seen-at kept while it lasts and reset after it went', async () => {
  const { src, clock } = source([
    { state: 'InService', cls: 'running' },
    { state: 'Terminating:Wait', cls: 'terminating' },
    { state: 'Terminating:Wait', cls: 'terminating' },
    { state: 'InService', cls: 'running' },
  ]);
  assert.equal(await src.poll(), null);
  const first = await src.poll();
  assert.equal(first?.source, 'asg-api');
  assert.equal(first?.detail, 'LifecycleState=Terminating:Wait');
  assert.equal(first?.advisory, undefined);
  await clock.advance(5000);
  assert.equal((await src.poll())?.seenAt, first?.seenAt);
  assert.equal(await src.poll(), null);
});

test('Warmed, Pending and Standby are no notice (the agent waits instead of leaving)', async () => {
  const { src } = source([
    { state: 'Warmed:Running', cls: 'not-in-service' },
    { state: 'Standby', cls: 'not-in-service' },
  ]);
  assert.equal(await src.poll(), null);
  assert.equal(await src.poll(), null);
});

test('self in no group is implausible: an error, never a notice; an API error stays an error', async () => {
  const { src } = source([{ cls: 'gone' }, new Error('Throttling')]);
  await assert.rejects(src.poll(), MalformedResponseError);
  await assert.rejects(src.poll(), /Throttling/);
});

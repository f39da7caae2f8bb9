import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chaosSteps, describeStep, findScenario, SCENARIOS } from './scenario.ts';

test('the demo interrupts a follower, then the leader, then kill -9s one for good, converging after each', () => {
  const demo = findScenario('demo');
  assert.ok(demo);
  const text = demo.steps({ seed: 1, durationMs: 60_000, instances: 3 }).map(describeStep);
  const follower = text.indexOf('interrupt a follower (notice 15s)');
  const leader = text.indexOf('interrupt the leader (notice 15s)');
  const kill = text.indexOf('kill -9 a random instance (instance gone)');
  assert.ok(follower > 0 && leader > follower && kill > leader, text.join(' | '));
  for (const i of [follower, leader, kill]) assert.equal(text[i + 1], 'wait for convergence');
});

test('chaos steps are a function of the seed and scale with the duration', () => {
  assert.deepEqual(chaosSteps(42, 100_000), chaosSteps(42, 100_000));
  assert.notDeepEqual(chaosSteps(1, 500_000), chaosSteps(2, 500_000));
  assert.ok(chaosSteps(1, 500_000).length > chaosSteps(1, 50_000).length);
  const steps = chaosSteps(3, 200_000);
  assert.equal(steps[0]?.kind, 'converge');
  assert.equal(steps[steps.length - 1]?.kind, 'converge');
});

test('every built-in scenario starts and ends with convergence', () => {
  for (const s of SCENARIOS.values()) {
    const steps = s.steps({ seed: 5, durationMs: 60_000, instances: s.instances });
    assert.equal(steps[0]?.kind, 'converge', s.name);
    assert.ok(
      steps.slice(-2).some((x) => x.kind === 'converge'),
      s.name,
    );
  }
});

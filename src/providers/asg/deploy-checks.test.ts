import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asgDeploymentWarnings } from './deploy-checks.ts';
import type { AsgCheckInput } from './deploy-checks.ts';

const good: AsgCheckInput = {
  settings: {
    groupName: 'etcd',
    terminatingHooks: [{ name: 'etcd-leave', heartbeatTimeoutSec: 300, defaultResult: 'CONTINUE' }],
    capacityRebalance: true,
    minHealthyPercentage: 100,
    maxHealthyPercentage: 150,
  },
  heartbeatIntervalMs: 60_000,
};

test('a group with one terminating hook and launch-before-terminate: nothing to say', () => {
  assert.deepEqual(asgDeploymentWarnings(good), []);
});

type Patch = Omit<Partial<AsgCheckInput>, 'settings'> & { settings?: Partial<AsgCheckInput['settings']> };
const cases: [string, Patch, RegExp][] = [
  [
    'no terminating hook',
    { settings: { terminatingHooks: [] } },
    /no EC2_INSTANCE_TERMINATING lifecycle hook/,
  ],
  [
    'a configured hook that does not exist',
    { configHookName: 'nope' },
    /group.lifecycleHookName is nope .* etcd-leave/,
  ],
  [
    'two hooks, none configured',
    { settings: { terminatingHooks: [{ name: 'a' }, { name: 'b' }] } },
    /2 EC2_INSTANCE_TERMINATING hooks \(a, b\)/,
  ],
  ['heartbeats too rare for the hook timeout', { heartbeatIntervalMs: 200_000 }, /at most 150 s/],
  [
    'no maintenance policy',
    { settings: { minHealthyPercentage: undefined } },
    /no instance maintenance policy/,
  ],
  ['terminate before launch', { settings: { minHealthyPercentage: 90 } }, /MinHealthyPercentage 90/],
  ['the tag names another group', { configGroupName: 'etcd', taggedGroupName: 'other' }, /tag says other/],
];

for (const [name, patch, want] of cases) {
  test(`warns: ${name}`, () => {
    const input: AsgCheckInput = { ...good, ...patch, settings: { ...good.settings, ...patch.settings } };
    if (
      patch.settings &&
      'minHealthyPercentage' in patch.settings &&
      patch.settings.minHealthyPercentage === undefined
    )
      delete input.settings.minHealthyPercentage;
    const w = asgDeploymentWarnings(input);
    assert.equal(w.length, 1, w.join('\n'));
    assert.match(w[0] as string, want);
  });
}

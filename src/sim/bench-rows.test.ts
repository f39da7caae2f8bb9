/**
 * Every bench row runs its own scenario file, and a file that no longer holds the row's disruption is
 * refused (bench/agents.ts misfit), so a row's numbers always mean what its title says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { misfit, resolveScenario } from '../../bench/agents.ts';
import { BENCH_SCENARIOS, rowKindOf } from '../../bench/scenarios.ts';
import { loadScenario } from './scenario.ts';

const REPO = join(import.meta.dirname, '..', '..');
const load = (name: string) => loadScenario(join(REPO, 'scenarios', `${name}.yaml`));
const row = (id: string) => BENCH_SCENARIOS.find((s) => s.id === id) as (typeof BENCH_SCENARIOS)[number];

test('every bench row resolves to a scenario file that fits it', () => {
  for (const b of BENCH_SCENARIOS) assert.doesNotThrow(() => resolveScenario(b.id), b.id);
});

test("issue 11's rows refuse a file that would measure something else", () => {
  // A boot with API faults (boot-storm) is the safety check, not the speed check.
  assert.match(misfit(load('boot-storm'), row('boot-5')) ?? '', /API faults/);
  // A rolling boot is not "booting at once".
  const rolling = load('boot-5');
  rolling.group.bootAllAtOnce = false;
  assert.match(misfit(rolling, row('boot-5')) ?? '', /does not boot all at once/);
  // A disruption in the calm row, a group of 3 in a row of 5.
  assert.match(misfit(load('double-interrupt'), row('steady-5')) ?? '', /disruption steps, not 0/);
  assert.match(misfit(load('steady'), row('steady-5')) ?? '', /3 instances, not 5/);
  // One instance interrupted is not every instance.
  assert.match(misfit(load('interrupt-notice-30s'), row('interrupt-all-2m')) ?? '', /not all/);
  assert.equal(rowKindOf('boot-5'), 'boot');
  assert.equal(rowKindOf('interrupt-leader'), undefined);
});

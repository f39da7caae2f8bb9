import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyAsgState, isListed } from './states.ts';

// Every LifecycleState of the API reference (cloud-apis.md §3.4), mapped explicitly.
const TABLE: [string, ReturnType<typeof classifyAsgState>][] = [
  ['InService', 'running'],
  ['Terminating', 'terminating'],
  ['Terminating:Wait', 'terminating'],
  ['Terminating:Proceed', 'terminating'],
  ['Detaching', 'terminating'],
  ['Pending', 'not-in-service'],
  ['Pending:Wait', 'not-in-service'],
  ['Pending:Proceed', 'not-in-service'],
  ['Quarantined', 'not-in-service'],
  ['EnteringStandby', 'not-in-service'],
  ['Standby', 'not-in-service'],
  ['Warmed:Pending', 'not-in-service'],
  ['Warmed:Pending:Wait', 'not-in-service'],
  ['Warmed:Pending:Proceed', 'not-in-service'],
  ['Warmed:Terminating', 'not-in-service'],
  ['Warmed:Terminating:Wait', 'not-in-service'],
  ['Warmed:Terminating:Proceed', 'not-in-service'],
  ['Warmed:Terminated', 'not-in-service'],
  ['Warmed:Stopped', 'not-in-service'],
  ['Warmed:Running', 'not-in-service'],
  ['Warmed:Hibernated', 'not-in-service'],
  ['Warmed:SomethingNew', 'not-in-service'],
  ['Terminated', 'gone'],
  ['Detached', 'gone'],
  ['inservice', undefined],
  ['', undefined],
  ['Rebooting', undefined],
];

for (const [state, want] of TABLE) {
  test(`LifecycleState '${state}' → ${String(want)}`, () => {
    assert.equal(classifyAsgState(state), want);
  });
}

test('only running and terminating instances are listed for the planner', () => {
  assert.deepEqual((['running', 'terminating', 'not-in-service', 'gone'] as const).filter(isListed), [
    'running',
    'terminating',
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECONFIG_PAUSE_MS, decisionEntryLine, decisionLog } from './decision-log.ts';
import type { AgentDecision } from './agent-log.ts';

function d(
  instanceId: string,
  at: number,
  action: string,
  reason: string,
  outcome?: { progressed: boolean; code?: string; after?: number },
): AgentDecision {
  return {
    instanceId,
    at,
    action,
    reason,
    level: 30,
    ...(outcome !== undefined
      ? {
          outcome: {
            progressed: outcome.progressed,
            at: at + (outcome.after ?? 5),
            ...(outcome.code !== undefined ? { code: outcome.code } : {}),
          },
        }
      : {}),
  };
}

const LONG_REASON =
  'remove self 74e632fe7d701912 (i-1b048ff129a453616): termination notice from spot-api: lifeCycleState=TERMINATING, deadline in 9.8 s; ' +
  'the replacement i-9601e794915fce09a is not a voter yet but the deadline is within agent.leaveMargin, so self leaves now (row B4b)';

test('every agent in one list, sorted by time, waits left out, reasons whole', () => {
  // As fleet.decisions() returns them: one agent's lines, then another's (read per log file).
  const log = decisionLog([
    d('i-a', 3000, 'remove-member', LONG_REASON, { progressed: true }),
    d('i-a', 3500, 'wait', 'converged'),
    d('i-b', 1000, 'add-self-as-learner', 'join', { progressed: true }),
    d('i-b', 4000, 'promote-member', 'caught up', { progressed: true }),
  ]);
  assert.deepEqual(
    log.map((e) => `${e.decision.instanceId} ${e.decision.action}`),
    ['i-b add-self-as-learner', 'i-a remove-member', 'i-b promote-member'],
  );
  const line = decisionEntryLine(log[1] as (typeof log)[number], 0);
  assert.equal(line, `+3.0s i-a remove-member ok: ${LONG_REASON}`);
  assert.ok(!line.includes('...'), 'no reason is cut');
});

test("a refusal within etcd's pause after a membership change is 'retrying', naming the change", () => {
  const log = decisionLog([
    d('i-new', 10_000, 'start-etcd', 'start as learner', { progressed: true, after: 800 }),
    d('i-old', 12_000, 'remove-member', 'remove self', { progressed: false, code: 'ETCD_UNHEALTHY_CLUSTER' }),
    d('i-old', 13_000, 'remove-member', 'remove self', { progressed: false, code: 'ETCD_UNHEALTHY_CLUSTER' }),
    d('i-old', 16_000, 'remove-member', 'remove self', { progressed: true }),
  ]);
  const retry = log.find((e) => e.status === 'retrying');
  assert.ok(retry, 'the refusals are retries');
  assert.equal(retry.count, 2);
  assert.equal(retry.firstAt, 12_000);
  assert.equal(retry.lastAt, 13_000);
  assert.equal(
    decisionEntryLine(retry, 0),
    '+13.0s i-old remove-member retrying: etcd refuses membership changes for ~5 s after one (start-etcd by i-new 2.2 s before; ETCD_UNHEALTHY_CLUSTER) (×2 since +12.0s): remove self',
  );
  assert.deepEqual(
    log.map((e) => e.status),
    ['ok', 'retrying', 'ok'],
  );
});

test('the same refusal without a change just before is a failure, not a retry', () => {
  const refusal = (at: number) =>
    d('i-old', at, 'remove-member', 'remove self', { progressed: false, code: 'ETCD_UNHEALTHY_CLUSTER' });
  // no change at all
  assert.equal(decisionLog([refusal(12_000)])[0]?.status, 'failed');
  // a change longer ago than the pause
  const change = d('i-new', 1000, 'promote-member', 'caught up', { progressed: true, after: 0 });
  assert.equal(decisionLog([change, refusal(1000 + RECONFIG_PAUSE_MS + 1)])[1]?.status, 'failed');
  assert.equal(decisionLog([change, refusal(1000 + RECONFIG_PAUSE_MS - 10)])[1]?.status, 'retrying');
  // a change that did not happen (it failed) starts no pause
  const failedChange = d('i-new', 1000, 'promote-member', 'caught up', {
    progressed: false,
    code: 'ETCD_LEARNER_NOT_READY',
  });
  assert.equal(decisionLog([failedChange, refusal(2000)])[1]?.status, 'failed');
  // another error code right after a change is a failure
  assert.equal(
    decisionLog([
      change,
      d('i-old', 2000, 'remove-member', 'remove self', { progressed: false, code: 'ETCD_TIMEOUT' }),
    ])[1]?.status,
    'failed',
  );
  // a refusal of something that is not a membership change is a failure too
  assert.equal(
    decisionLog([
      change,
      d('i-old', 2000, 'move-leader', 'hand over', { progressed: false, code: 'ETCD_UNHEALTHY_CLUSTER' }),
    ])[1]?.status,
    'failed',
  );
});

test('an action with nothing to do (no error code) is "no change", not a failure', () => {
  const log = decisionLog([
    {
      instanceId: 'i-a',
      at: 1000,
      action: 'stop-etcd',
      reason: 'left the cluster',
      level: 30,
      outcome: { progressed: false, at: 1030, detail: 'etcd is not running' },
    },
  ]);
  assert.equal(log[0]?.status, 'unchanged');
  assert.equal(
    decisionEntryLine(log[0] as (typeof log)[number], 0),
    '+1.0s i-a stop-etcd no change (etcd is not running): left the cluster',
  );
});

test("one agent's repeats fold across another agent's lines; a different outcome starts a new entry", () => {
  const log = decisionLog([
    d('i-a', 1000, 'remove-member', 'remove self', { progressed: false, code: 'ETCD_TIMEOUT' }),
    d('i-a', 2000, 'remove-member', 'remove self', { progressed: false, code: 'ETCD_TIMEOUT' }),
    d('i-a', 3000, 'remove-member', 'remove self', { progressed: true }),
    d('i-b', 1500, 'take-snapshot', 'periodic', { progressed: true }),
  ]);
  assert.deepEqual(
    log.map((e) => decisionEntryLine(e, 0)),
    [
      '+1.5s i-b take-snapshot ok: periodic',
      '+2.0s i-a remove-member failed ETCD_TIMEOUT (×2 since +1.0s): remove self',
      '+3.0s i-a remove-member ok: remove self',
    ],
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PASS_MEANING,
  fleetTable,
  linearizabilityLines,
  progressLine,
  renderVerdict,
  renderView,
} from './view.ts';
import type { ViewState } from './view.ts';
import { AgentLogTail, parseDecisionLine } from './agent-log.ts';
import type { FleetSnapshot } from './snapshot.ts';

const snapshot: FleetSnapshot = {
  at: 10_000,
  instances: [
    {
      id: 'i-aaa',
      privateIp: '127.0.9.10',
      state: 'running',
      agent: 'running',
      agentPid: 42,
      etcd: {
        memberId: '00000000000000a1',
        clusterId: 'c',
        leaderId: '00000000000000a1',
        raftIndex: 77,
        isLearner: false,
        errors: [],
      },
    },
    {
      id: 'i-bbb',
      privateIp: '127.0.9.11',
      state: 'terminating',
      terminateAt: 76_600,
      agent: 'exited',
      agentExit: 'code 1',
    },
  ],
  members: [
    {
      id: '00000000000000a1',
      name: 'i-aaa',
      peerUrl: 'http://127.0.9.10:2380',
      isLearner: false,
      instanceId: 'i-aaa',
      role: 'leader',
      raftIndex: 77,
    },
    {
      id: '00000000000000b2',
      name: 'i-old',
      peerUrl: 'http://127.0.9.3:2380',
      isLearner: false,
      instanceId: undefined,
      role: 'unreachable',
    },
  ],
};

function state(over: Partial<ViewState> = {}): ViewState {
  return {
    scenario: 'demo',
    seed: 7,
    runDir: '/tmp/run',
    startedAt: 0,
    now: 65_000,
    capAt: 300_000,
    stepIndex: 2,
    stepCount: 8,
    doing: 'interrupt the leader (notice 15s)',
    snapshot,
    writes: {
      running: true,
      endpoints: [],
      acknowledged: 1234,
      failed: 2,
      lastOkAt: 64_990,
      longestGapMs: 130,
      currentGapMs: 10,
    },
    leaderChanges: 1,
    belowTargetMs: 0,
    decisions: [
      { instanceId: 'i-aaa', at: 60_000, action: 'move-leader', reason: 'self is leaving', level: 30 },
      { instanceId: 'i-aaa', at: 61_000, action: 'wait', reason: 'converged', level: 30 },
    ],
    ...over,
  };
}

test('the live view shows the step, the fleet table, writes and decisions (not waits)', () => {
  const text = renderView(state());
  assert.match(text, /seed 7/);
  assert.match(text, /\[3\/8\] interrupt the leader/);
  assert.match(text, /elapsed 1m5s · at most 3m55s left/);
  assert.match(text, /i-aaa\s+127\.0\.9\.10\s+running\s+running\s+00000000000000a1\s+leader\s+77\s+ok/);
  assert.match(text, /i-bbb\s+127\.0\.9\.11\s+terminating \(12 s left\)\s+exited code 1/);
  assert.match(text, /\(gone\)\s+127\.0\.9\.3 .*unreachable/);
  assert.match(text, /1234 acknowledged · 2 failed · longest gap 130 ms · now ok/);
  assert.match(text, /move-leader: self is leaving/);
  assert.doesNotMatch(text, /wait: converged/);
  assert.match(renderView(state({ targetVoters: 3 })), /below target voters \(3\): 0 ms/);
});

test('a stall in writes is called out', () => {
  const text = renderView(
    state({
      writes: {
        running: true,
        endpoints: [],
        acknowledged: 1,
        failed: 9,
        lastOkAt: 0,
        longestGapMs: 3000,
        currentGapMs: 3000,
      },
    }),
  );
  assert.match(text, /NO SUCCESS FOR 3\.0 s/);
});

test('the plain progress line names the members and their roles', () => {
  assert.match(progressLine(state()), /^\[\+1m5s\] interrupt the leader .*i-aaa:leader/);
  assert.deepEqual(fleetTable(undefined), ['(no snapshot yet)']);
  // Without a clock, the snapshot's own time counts the notice down; past the deadline it says so.
  assert.match(fleetTable(snapshot).join('\n'), /terminating \(67 s left\)/);
  assert.match(fleetTable(snapshot, 80_000).join('\n'), /terminating \(deadline passed\)/);
});

test('the verdict says pass/fail, writes and per-event timings', () => {
  const text = renderVerdict(
    {
      pass: false,
      converged: true,
      problems: [],
      acknowledged: 100,
      lost: 1,
      mismatched: 0,
      nonMonotonic: 0,
      failed: 3,
      longestGapMs: 1500,
      events: [
        {
          step: 2,
          kind: 'interrupt',
          description: 'interrupt the leader (notice 15s)',
          instanceId: 'i-aaa',
          wasLeader: true,
          leaderMovedFirst: true,
          memberRemovedAfterMs: 1200,
          terminatedAfterMs: 1400,
          removedBeforeTerminated: true,
          startedAtMs: 0,
          replacements: [],
          leaderChanges: 1,
          belowTargetMs: 0,
          targetVoters: 3,
          windowMs: 10_000,
          targets: [
            {
              id: 'no-failed-writes-with-notice',
              target: '0 failed writes and longest gap < 50 ms (notice ≥ 10 s)',
              met: false,
              measured: '3 failed, longest gap 1.5 s',
            },
            {
              id: 'removal-within-2x-poll',
              target: 'removed within 2 × poll = 2.0 s',
              met: true,
              measured: 'removed after 1.2 s',
            },
          ],
        },
        {
          step: 4,
          kind: 'kill9',
          description: 'kill -9 the leader (instance gone)',
          instanceId: 'i-ccc',
          wasLeader: true,
          memberRemovedAfterMs: 10_500,
          startedAtMs: 20_000,
          replacements: [],
          leaderChanges: 1,
          leaderChangedAfterMs: 1400,
          belowTargetMs: 11_600,
          targetVoters: 3,
          windowMs: 30_000,
        },
      ],
    },
    { scenario: 'demo', seed: 7, runDir: '/tmp/run', durationMs: 90_000 },
  );
  assert.match(text, /verdict: FAIL/);
  assert.ok(text.includes(PASS_MEANING), 'what PASS means is printed with every verdict');
  assert.match(text, /100 acknowledged, 1 lost, 3 failed \(outcome unknown, not lost\), longest gap 1\.5 s/);
  // Events are numbered 1..n; the step that caused each is named beside it.
  assert.match(text, /\n {2}1\. interrupt the leader .*→ i-aaa \(leader\) \[step 3\]/);
  assert.match(text, /\n {2}2\. kill -9 the leader .*→ i-ccc \(leader\) \[step 5\]/);
  assert.match(text, /left after 1\.2 s; leadership moved first; before termination/);
  assert.match(text, /below target voters \(3\) 11\.6 s/);
  // A killed leader hands nothing over: an election, never "leadership moved first".
  assert.match(
    text,
    /reaped after 10\.5 s; the leader was killed: no hand-over possible, an election followed/,
  );
  assert.equal(text.match(/leadership moved first/g)?.length, 1);
  assert.match(
    text,
    /✗ 0 failed writes and longest gap < 50 ms \(notice ≥ 10 s\): 3 failed, longest gap 1\.5 s/,
  );
  assert.match(text, /✓ removed within 2 × poll = 2\.0 s: removed after 1\.2 s/);
});

test('decision lines: string or object action, pino time, non-JSON ignored', () => {
  assert.deepEqual(
    parseDecisionLine(
      'i-1',
      '{"level":30,"time":5,"action":"promote-member","memberId":"ab","reason":"spare"}',
      9,
    ),
    {
      instanceId: 'i-1',
      at: 5,
      action: 'promote-member',
      reason: 'spare',
      level: 30,
      target: 'ab',
    },
  );
  assert.equal(
    parseDecisionLine('i-1', '{"level":30,"action":{"kind":"wait","reason":"x"},"reason":"x"}', 9)?.action,
    'wait',
  );
  assert.equal(parseDecisionLine('i-1', 'not json', 9), undefined);
  assert.equal(parseDecisionLine('i-1', '{"msg":"no action here"}', 9), undefined);
});

test('the log tail reads only new complete lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-log-'));
  try {
    const path = join(dir, 'agent.log');
    const tail = new AgentLogTail('i-1', path);
    assert.deepEqual(tail.poll(), []);
    appendFileSync(path, '{"time":1,"action":"wait","reason":"a"}\n{"time":2,"action":"boot');
    assert.deepEqual(
      tail.poll().map((d) => d.reason),
      ['a'],
    );
    appendFileSync(path, 'strap","reason":"b"}\n');
    assert.deepEqual(
      tail.poll().map((d) => d.action),
      ['bootstrap'],
    );
    assert.deepEqual(tail.poll(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log lines: ISO times, outcomes attached to the decision before them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-log-'));
  try {
    const path = join(dir, 'agent.log');
    appendFileSync(
      path,
      [
        '{"level":"info","time":"2026-01-01T00:00:01.000Z","action":"move-leader","reason":"leaving","to":"bb","msg":"plan"}',
        '{"level":"info","time":"2026-01-01T00:00:01.120Z","action":"move-leader","progressed":true,"ms":116,"msg":"action done"}',
        '{"level":"info","time":"2026-01-01T00:00:02.000Z","component":"vote","reason":"granted","msg":"bootstrap vote"}',
        '',
      ].join('\n'),
    );
    const [d, ...rest] = new AgentLogTail('i-1', path).poll();
    assert.equal(rest.length, 0);
    assert.equal(d?.at, Date.parse('2026-01-01T00:00:01.000Z'));
    assert.equal(d?.target, 'bb');
    assert.deepEqual(d?.outcome, { progressed: true, at: Date.parse('2026-01-01T00:00:01.120Z') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the verdict names a non-linearizable key and lists its window', () => {
  const lines = linearizabilityLines({
    verdict: 'violation',
    operations: 5000,
    registerOperations: 400,
    keys: 4608,
    checkMs: 85,
    steps: 9000,
    droppedMaybe: 2,
    boundedMaybe: 1,
    violations: [{ key: 'l/2', culprit: '#9 get → "a"', window: ['#7 put "b"', '#9 get → "a"'] }],
    unknownKeys: [],
  });
  assert.match(lines[0] as string, /^linearizable: NO, 5000 operations on 4608 keys .* checked in 85 ms/);
  assert.match(lines[1] as string, /key l\/2: no linearization places #9 get → "a"/);
  assert.deepEqual(lines.slice(2), ['    #7 put "b"', '    #9 get → "a"']);
  const unknown = linearizabilityLines({
    verdict: 'unknown',
    operations: 1,
    registerOperations: 1,
    keys: 1,
    checkMs: 1,
    steps: 1,
    droppedMaybe: 0,
    boundedMaybe: 0,
    violations: [],
    unknownKeys: ['l/0'],
  });
  assert.match(unknown[0] as string, /^linearizable: unknown \(step budget exceeded on 1 key\(s\): l\/0\)/);
});

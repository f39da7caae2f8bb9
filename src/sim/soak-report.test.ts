import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chaosLines, soakChecks, soakMarkdown, summarizeChaos } from './soak-report.ts';
import type { ChaosEventRecord, SoakReportInput } from './soak-report.ts';

function ev(n: number, kind: string, convergeMs: number, ok = true): ChaosEventRecord {
  return { n, kind, description: kind, startedAtMs: n * 1000, episodeMs: 100 * n, convergeMs, ok };
}

test('per-kind counts and nearest-rank p50/p99 over the events that converged', () => {
  const events = [
    ev(1, 'wipe', 4000),
    ev(2, 'wipe', 2000),
    ev(3, 'wipe', 3000),
    ev(4, 'interrupt-leader', 9000),
    ev(5, 'interrupt-leader', 180_000, false),
  ];
  const s = summarizeChaos(events, 200);
  assert.equal(s.events, 5);
  assert.equal(s.planned, 200);
  assert.equal(s.failed, 1);
  assert.deepEqual(
    s.byKind.map((k) => [k.kind, k.count, k.failed, k.convergeP50Ms, k.convergeP99Ms, k.convergeMaxMs]),
    [
      ['interrupt-leader', 2, 1, 9000, 9000, 9000],
      ['wipe', 3, 0, 3000, 4000, 4000],
    ],
  );
  assert.equal(s.convergeP50Ms, 3000);
  assert.equal(s.convergeP99Ms, 9000);
  assert.match(chaosLines(s)[0] ?? '', /5 event\(s\) of 200, 1 did not converge/);
});

function report(over: Partial<SoakReportInput> = {}): SoakReportInput {
  return {
    scenario: 'soak',
    seed: 7,
    startedAt: '2026-11-30T15:00:00.000Z',
    durationMs: 60_000,
    instances: 5,
    pass: true,
    converged: true,
    problems: [],
    clusterIds: ['c1'],
    writes: { acknowledged: 1000, lost: [], failed: 3 },
    linearizability: { verdict: 'ok', operations: 2000 },
    chaos: summarizeChaos([ev(1, 'wipe', 2000), ev(2, 'pause-etcd', 1000)]),
    ...over,
  };
}

test('the soak verdict fails on each of its checks', () => {
  assert.ok(soakChecks(report()).every((c) => c.ok));
  const failing = (r: SoakReportInput) =>
    soakChecks(r)
      .filter((c) => !c.ok)
      .map((c) => c.name);
  assert.deepEqual(failing(report({ writes: { acknowledged: 10, lost: ['w/1/3'], failed: 0 } })), [
    'acknowledged writes lost',
  ]);
  assert.deepEqual(failing(report({ linearizability: { verdict: 'violation' } })), ['history linearizable']);
  assert.deepEqual(failing(report({ clusterIds: ['a', 'b'] })), ['cluster ids seen ≤ 1']);
  assert.deepEqual(
    failing(
      report({
        problems: ['i-1 still runs but its member m1 (…) is now m2: removed or wiped while its instance ran'],
      }),
    ),
    ['no member removed whose instance ran and was reachable'],
  );
  assert.deepEqual(failing(report({ chaos: summarizeChaos([ev(1, 'wipe', 9, false)]) })), [
    'converged after every event',
  ]);
  assert.deepEqual(failing(report({ chaos: undefined })), ['converged after every event']);
});

test('the BENCHMARKS.md section carries the verdict, the writes and a row per kind', () => {
  const md = soakMarkdown(report(), 'npm run soak -- --events 2');
  assert.match(md, /\*\*Verdict: PASS\*\*/);
  assert.match(md, /1,000 acknowledged/);
  assert.match(md, /\| pause-etcd \| 1 \| 0 \| 1\.0 s \| 1\.0 s \| 1\.0 s \|/);
  assert.match(md, /\| wipe \| 1 \| 0 \| 2\.0 s \|/);
  assert.match(soakMarkdown(report({ clusterIds: ['a', 'b'] }), 'x'), /\*\*Verdict: FAIL\*\*/);
  assert.match(soakMarkdown(report({ notes: ['found X'] }), 'x'), /Notes:\n- found X/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregateBuckets,
  bucketWritesInWindow,
  escapeHtml,
  leaderStretches,
  renderHtmlReport,
  timelineFromSnapshots,
  voterSegments,
} from './report-html.ts';
import { PASS_MEANING } from './view.ts';
import type { AgentDecision } from './agent-log.ts';
import type { RoleTimeline, TimelineMember } from './report-html.ts';
import type { SimReport, StepRecord } from './run.ts';
import type { EventTimings } from './measure.ts';
import { describeStep } from './scenario.ts';
import { SPOT_ROUTES } from '../emulator/types.ts';
import type { ApiRoute, RouteStats } from '../emulator/types.ts';
import type { FleetSnapshot, InstanceRow, MemberRole, MemberRow } from './snapshot.ts';
import type { AvailabilityBucket } from './workload.ts';

const A = 'i-0a1b2c3d4e5f60718';
const B = 'i-1b2c3d4e5f6071829';
const C = 'i-2c3d4e5f607182930';
const D = 'i-3d4e5f60718293a41';
const mA = 'a1a1a1a1a1a1a1a1';
const mB = 'b2b2b2b2b2b2b2b2';
const mC = 'c3c3c3c3c3c3c3c3';
const mD = 'd4d4d4d4d4d4d4d4';

/** 3 instances; the leader (A) gets an interrupt at 20 s, B takes over, D replaces A. */
function fixture(): { report: SimReport; timeline: RoleTimeline } {
  const m = (key: string, role: TimelineMember['role'], memberId?: string): TimelineMember => ({
    key,
    role,
    ...(memberId !== undefined ? { memberId } : {}),
  });
  const timeline: RoleTimeline = {
    samples: [
      { tMs: 0, members: [m(A, 'absent'), m(B, 'absent'), m(C, 'absent')] },
      { tMs: 2000, members: [m(A, 'leader', mA), m(B, 'absent'), m(C, 'absent')] },
      { tMs: 4000, members: [m(A, 'leader', mA), m(B, 'learner', mB), m(C, 'unstarted', mC)] },
      { tMs: 7000, members: [m(A, 'leader', mA), m(B, 'follower', mB), m(C, 'follower', mC)] },
      { tMs: 20600, members: [m(A, 'follower', mA), m(B, 'leader', mB), m(C, 'follower', mC)] },
      { tMs: 21400, members: [m(A, 'absent'), m(B, 'leader', mB), m(C, 'follower', mC)] },
      { tMs: 35000, members: [m(B, 'leader', mB), m(C, 'follower', mC)] },
      { tMs: 36000, members: [m(B, 'leader', mB), m(C, 'follower', mC), m(D, 'absent')] },
      { tMs: 41000, members: [m(B, 'leader', mB), m(C, 'follower', mC), m(D, 'learner', mD)] },
      { tMs: 47000, members: [m(B, 'leader', mB), m(C, 'follower', mC), m(D, 'follower', mD)] },
    ],
  };
  const stepOf = (index: number, step: Parameters<typeof describeStep>[0], at: number, dur: number) =>
    ({
      index,
      kind: step.kind,
      description: describeStep(step),
      startedAtMs: at,
      durationMs: dur,
      ok: true,
    }) as StepRecord;
  const steps: StepRecord[] = [
    stepOf(0, { kind: 'converge' }, 200, 7800),
    { ...stepOf(1, { kind: 'interrupt', target: 'leader', noticeMs: 15_000 }, 20_000, 120), instanceId: A },
    stepOf(2, { kind: 'converge' }, 20_120, 27_000),
    stepOf(3, { kind: 'sleep', ms: 5000 }, 47_120, 5000),
  ];
  const event: EventTimings = {
    step: 1,
    kind: 'interrupt',
    description: steps[1]?.description ?? '',
    instanceId: A,
    memberId: mA,
    wasLeader: true,
    startedAtMs: 20_000,
    memberRemovedAfterMs: 1400,
    terminatedAfterMs: 15_000,
    removedBeforeTerminated: true,
    leaderMovedFirst: true,
    agentActions: ['move-leader', 'remove-member'],
    replacements: [
      {
        instanceId: D,
        launchedAfterMs: 16_000,
        memberAfterMs: 21_000,
        learnerAfterMs: 21_000,
        voterAfterMs: 27_000,
      },
    ],
    leaderChanges: 1,
    leaderChangedAfterMs: 600,
    belowTargetMs: 26_000,
    windowMs: 32_120,
    writes: { acknowledged: 12_000, failed: 4, longestGapMs: 842 },
    timingSource: 'monitor+agent-log',
  };
  const availability: AvailabilityBucket[] = [];
  for (let t = 8000; t < 52_000; t += 100) {
    const inGap = t >= 20_500 && t < 21_300;
    availability.push({ t, ok: inGap ? 0 : 40, failed: inGap && t % 200 === 0 ? 1 : 0 });
  }
  const acknowledged = availability.reduce((s, b) => s + b.ok, 0);
  const failed = availability.reduce((s, b) => s + b.failed, 0);
  const zero: RouteStats = {
    requests: 0,
    ok: 0,
    clientErrors: 0,
    serverErrors: 0,
    rateLimited: 0,
    faulted: 0,
    dropped: 0,
    noNotice: 0,
  };
  const routes = Object.fromEntries([...SPOT_ROUTES, 'imds'].map((r) => [r, { ...zero }])) as Record<
    ApiRoute,
    RouteStats
  >;
  routes['group-status'] = { ...zero, requests: 212, ok: 210, serverErrors: 2 };
  routes.imds = { ...zero, requests: 1800, ok: 1800 };
  const perMin = Object.fromEntries(Object.keys(routes).map((r) => [r, 0])) as Record<ApiRoute, number>;
  perMin['group-status'] = 240;
  perMin.imds = 2037.7;
  const usage = (rss: number) => ({
    peakRssMb: rss,
    meanCpuPercent: 3.2,
    cpuSeconds: 5.1,
    runningMs: 53_000,
  });
  const report: SimReport = {
    scenario: 'demo',
    agent: { etcdSpot: true, command: 'etcd-spot agent', env: {} },
    workload: { writers: 4, writesPerSecond: 0, valueSize: 0 },
    clusterIds: ['cdcdcdcdcdcdcdcd'],
    api: { durationMs: 53_000, callsPerMinute: perMin, spotCallsPerMinute: 240, routes },
    resources: {
      sampleIntervalMs: 1000,
      samples: 53,
      agent: usage(61.5),
      etcd: usage(48.2),
      perInstance: [],
    },
    seed: 424242,
    runDir: '/tmp/sim-demo',
    startedAt: '2025-03-14T09:26:53.589Z',
    durationMs: 53_000,
    instances: 3,
    maxVoters: 5,
    pass: true,
    converged: true,
    problems: [],
    writes: {
      acknowledged,
      lost: [],
      failed,
      longestGapMs: 850,
      mismatched: [],
      nonMonotonic: [],
      failedByCode: { 'deadline-exceeded': failed },
    },
    availability,
    events: [event],
    steps,
    leaderChanges: [
      { atMs: 2000, from: undefined, to: mA },
      { atMs: 20_600, from: mA, to: mB },
    ],
  };
  return { report, timeline };
}

/**
 * Every tag, the stylesheet and the script: the places where a URL would make the page fetch something.
 * The only link allowed is an `<a href>` to a relative path (an instance's log in the run dir): it
 * fetches nothing until clicked and leaves the machine never.
 */
function assertNoExternalReferences(html: string): void {
  for (const tag of html.match(/<[^>]*>/g) ?? []) {
    assert.doesNotMatch(tag, /https?:\/\//i, `a tag refers to a URL: ${tag}`);
    assert.doesNotMatch(tag, /^<(link|img|iframe|object|embed)\b/i, `an external resource tag: ${tag}`);
    const href = /^<a href="([^"]*)">$/.exec(tag)?.[1];
    if (href !== undefined) {
      assert.doesNotMatch(href, /^([a-z][a-z0-9+.-]*:|\/|\\)/i, `a link that is not a relative path: ${tag}`);
      continue;
    }
    assert.doesNotMatch(tag, /\s(src|href)=/i, `a src/href attribute: ${tag}`);
  }
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  assert.doesNotMatch(style, /https?:|@import|@font-face/i);
  for (const u of style.match(/url\([^)]*\)/g) ?? []) assert.match(u, /^url\(#/);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
  assert.equal(scripts.length, 1, 'only the inline cursor script');
  for (const s of scripts) assert.doesNotMatch(s, /https?:|fetch|XMLHttpRequest|import/);
}

function count(html: string, re: RegExp): number {
  return (html.match(re) ?? []).length;
}

test('failed writes by cause: each code with what it means for a writer, and "outcome unknown, not lost"', () => {
  const { report, timeline } = fixture();
  report.writes.failedByCode = { ETCD_UNAVAILABLE: 4, ETCD_TIMEOUT: 2, ETCD_WHATEVER: 1 };
  const html = renderHtmlReport(report, timeline);
  assert.match(html, /<h3>Failed writes by cause<\/h3><p class="small">Outcome unknown, not lost/);
  assert.match(
    html,
    /ETCD_UNAVAILABLE<\/td><td class="num">4<\/td><td class="small">the endpoint could not be reached/,
  );
  assert.match(
    html,
    /ETCD_TIMEOUT<\/td><td class="num">2<\/td><td class="small">the writer&#39;s per-put deadline passed/,
  );
  assert.match(
    html,
    /ETCD_WHATEVER<\/td><td class="num">1<\/td><td class="small">an error the simulator does not classify/,
  );
});

test('a complete, self-contained HTML page', () => {
  const { report, timeline } = fixture();
  const html = renderHtmlReport(report, timeline);
  assert.match(html, /^<!DOCTYPE html>\s*<html lang="en">/);
  assert.match(html, /<head>[\s\S]*<meta charset="utf-8">[\s\S]*<title>[^<]+<\/title>[\s\S]*<\/head>/);
  assert.match(html, /<body>[\s\S]*<svg id="chart"[\s\S]*<\/svg>[\s\S]*<\/body>\s*<\/html>\s*$/);
  assertNoExternalReferences(html);
});

test('the verdict, the run and the numbers are in the header', () => {
  const { report, timeline } = fixture();
  const html = renderHtmlReport(report, timeline);
  assert.match(html, /<div class="verdict pass">PASS<\/div>/);
  assert.doesNotMatch(html, /class="verdict fail"/);
  assert.match(html, /scenario <b>demo<\/b>/);
  assert.match(html, /seed <b>424242<\/b>/);
  assert.match(html, /instances <b>3<\/b>/);
  assert.match(html, /voter cap <b>5<\/b>/);
  assert.match(html, /duration <b>53\.0 s<\/b>/);
  assert.match(html, /2025-03-14 09:26:53 UTC/);
  const ack = report.writes.acknowledged.toLocaleString('en-US');
  assert.ok(ack.includes(','), 'the fixture has a number with a thousands separator');
  assert.match(html, new RegExp(`<div class="v">${ack}</div><div class="k">acknowledged writes</div>`));
  assert.match(html, /<div class="stat ok"[^>]*><div class="v">0<\/div><div class="k">lost writes<\/div>/);
  assert.match(
    html,
    new RegExp(`<div class="v">${report.writes.failed}</div><div class="k">failed writes</div>`),
  );
  assert.match(html, /<div class="v">850 ms<\/div><div class="k">longest write gap<\/div>/);
  assert.doesNotMatch(html, /<div class="problems">/, 'no problems section on a clean pass');
});

test('one lane per instance, in order of appearance', () => {
  const { report, timeline } = fixture();
  const html = renderHtmlReport(report, timeline);
  const lanes = [...html.matchAll(/<g class="lane" data-lane="([^"]+)">/g)].map((m) => m[1]);
  assert.deepEqual(lanes, [A, B, C, D]);
  // Each role of A's life is a segment: absent, leader, follower, absent (merged across unchanged samples).
  const laneA = /<g class="lane" data-lane="i-0a1b2c3d4e5f60718">([\s\S]*?)<\/g>/.exec(html)?.[1] ?? '';
  assert.equal(count(laneA, /<rect /g), 4);
  assert.match(laneA, /leader \(member a1a1a1a1a1a1a1a1\), 2\.0 s → 20\.6 s/);
});

test('an event marker per disruptive step, none for waits', () => {
  const { report, timeline } = fixture();
  report.steps.push({
    index: 4,
    description: describeStep({ kind: 'fault', route: 'signal', fault: { kind: 'status', status: 503 } }),
    startedAtMs: 52_200,
    durationMs: 1,
    ok: true,
  });
  report.steps.push({
    index: 5,
    description: describeStep({ kind: 'kill9', target: 'follower', instanceGone: false }),
    startedAtMs: 52_300,
    durationMs: 1,
    ok: true,
  });
  const html = renderHtmlReport(report, timeline);
  const markers = [...html.matchAll(/<g class="ev" data-step="(\d+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(markers, [2, 5, 6]);
  // Only the measured event carries a number, its event number (1), not its step's (2).
  assert.deepEqual(
    [...html.matchAll(/<g class="ev" data-step="(\d+)" data-event="([^"]+)">/g)].map((m) => [m[1], m[2]]),
    [['2', '1']],
  );
  assert.match(html, /<title>event 1 \(step 2\) at 20\.0 s: interrupt the leader/);
  assert.match(html, /<title>step 5 at 52\.2 s: API fault/);
  assert.match(html, />interrupt leader</);
  assert.match(html, />fault: status</);
  assert.match(html, />kill -9 follower</);
  // the smaller marks: the member removal on A's lane, the replacement's launch and vote on D's
  assert.match(html, /event 1 \(step 2\): member a1a1a1a1a1a1a1a1 removed 1\.4 s after the event/);
  assert.match(html, /event 1 \(step 2\): replacement i-3d4e5f60718293a41 launched 16\.0 s after the event/);
  assert.match(
    html,
    /event 1 \(step 2\): replacement i-3d4e5f60718293a41 became a voter 27\.0 s after the event/,
  );
  // the table row
  assert.match(html, /interrupt the leader \(notice 15s\)/);
  assert.match(html, /<b>voter 27\.0 s<\/b>/);
});

test("the per-event table shows the exact window counts, or the buckets' approximation without them", () => {
  const { report, timeline } = fixture();
  let html = renderHtmlReport(report, timeline);
  assert.match(html, /<td class="num bad">4<\/td>\s*<td class="num">842 ms<\/td>/);
  assert.match(html, /1<div class="dim small">first after 600 ms<\/div>/);
  assert.doesNotMatch(html, /a value marked ≈/);

  delete (report.events[0] as EventTimings).writes;
  const w = bucketWritesInWindow(report.availability, 20_000, 20_000 + 32_120);
  assert.equal(w.failed, 4);
  assert.equal(w.longestGapMs, 800);
  html = renderHtmlReport(report, timeline);
  assert.match(html, /<td class="num bad">4<\/td>\s*<td class="num">≈0\.8 s<\/td>/);
  assert.match(html, /a value marked ≈ comes from the 100 ms availability buckets/);
});

test('the run section: agent, workload, API calls, resources; a split cluster fails', () => {
  const { report, timeline } = fixture();
  let html = renderHtmlReport(report, timeline);
  assert.match(html, /<th>agent<\/th><td>etcd-spot's agent<\/td>/);
  assert.match(html, /4 writer\(s\), as fast as possible/);
  assert.match(html, /<b class="big">240<\/b> Spot API calls per minute/);
  assert.match(
    html,
    /<td class="mono">group-status<\/td><td class="num">240<\/td><td class="num">212<\/td><td class="num"><span class="dim">–<\/span><\/td><td class="num">2<\/td>/,
  );
  assert.doesNotMatch(html, /<td class="mono">signal<\/td>/, 'routes without calls are left out');
  assert.match(html, /<td>agent<\/td><td class="num">61\.5 MB<\/td>/);
  report.clusterIds = ['cdcdcdcdcdcdcdcd', 'efefefefefefefef'];
  report.agent = { etcdSpot: false, command: './my-agent.sh', env: { FOO: '1' } };
  html = renderHtmlReport(report, timeline);
  assert.match(html, /class="verdict fail">FAIL</);
  assert.match(html, /<li>2 cluster ids were seen during the run \(a split\)<\/li>/);
  assert.match(html, /agent <b>\.\/my-agent\.sh<\/b>/);
});

test('strings from the report are escaped', () => {
  const { report, timeline } = fixture();
  const evil = '<script>alert("x")</script> see https://example.invalid/a?b=1&c=2';
  const step = report.steps[2] as StepRecord;
  step.ok = false;
  step.error = evil;
  report.pass = false;
  report.problems = ['members without a running instance: <img src=x onerror=alert(1)>'];
  report.writes.failedByCode = { '<b>code</b>': 3 };
  report.scenario = 'demo"><svg onload=alert(1)>';
  report.runDir = `/tmp/'"&<>`;
  const html = renderHtmlReport(report, timeline);
  assert.equal(count(html, /<script>/g), 1, 'only our own script tag');
  assert.ok(!html.includes('<img'));
  assert.ok(!html.includes('<svg onload'));
  assert.ok(!html.includes('<b>code</b>'));
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('https://example.invalid/a?b=1&amp;c=2'), 'a URL in an error stays readable text');
  assert.ok(html.includes('/tmp/&#39;&quot;&amp;&lt;&gt;'));
  assertNoExternalReferences(html);
  assert.match(html, /class="verdict fail">FAIL</);
  assert.match(html, /<li>step 3 \(wait for convergence\) failed: &lt;script&gt;/);
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('a lost write is red and FAIL, even if the pass flag says otherwise', () => {
  const { report, timeline } = fixture();
  report.writes.lost = ['w2/8812'];
  const html = renderHtmlReport(report, timeline);
  assert.match(html, /<div class="verdict fail">FAIL<\/div>/);
  assert.match(html, /<div class="stat bad"[^>]*><div class="v">1<\/div><div class="k">lost writes<\/div>/);
  assert.match(html, /<li>1 acknowledged write\(s\) lost<\/li>/);
  assert.match(html, /Lost acknowledged writes \(1\)[\s\S]*w2\/8812/);
  assert.match(html, /<title>FAIL · /);
});

test('aggregateBuckets keeps the totals and caps the count', () => {
  const b: AvailabilityBucket[] = [];
  for (let i = 0; i < 6001; i++) b.push({ t: 5000 + i * 100, ok: i % 7, failed: i % 11 === 0 ? 1 : 0 });
  const { buckets, widthMs } = aggregateBuckets(b, 3000);
  assert.equal(widthMs, 300);
  assert.ok(buckets.length <= 3000);
  const sum = (xs: AvailabilityBucket[], k: 'ok' | 'failed') => xs.reduce((s, x) => s + x[k], 0);
  assert.equal(sum(buckets, 'ok'), sum(b, 'ok'));
  assert.equal(sum(buckets, 'failed'), sum(b, 'failed'));
  assert.equal(buckets[0]?.t, 5000);
  assert.deepEqual(aggregateBuckets(b.slice(0, 10), 3000).buckets, b.slice(0, 10));
});

// --- timelineFromSnapshots

function inst(
  id: string,
  memberId: string | undefined,
  opts: { leader?: string; learner?: boolean; state?: string } = {},
): InstanceRow {
  return {
    id,
    privateIp: `127.0.9.${id.length}`,
    state: opts.state ?? 'running',
    agent: 'running',
    ...(memberId !== undefined
      ? {
          etcd: {
            memberId,
            clusterId: 'c',
            leaderId: opts.leader,
            raftIndex: 1,
            isLearner: opts.learner ?? false,
            errors: [],
          },
        }
      : {}),
  };
}

function member(id: string, instanceId: string | undefined, role: MemberRole): MemberRow {
  return {
    id,
    name: role === 'unstarted' ? '' : (instanceId ?? 'gone'),
    peerUrl: `http://127.0.9.1:2380`,
    isLearner: role === 'learner',
    instanceId,
    role,
  };
}

function snapshot(
  at: number,
  instances: InstanceRow[],
  members: MemberRow[],
  memberListError?: string,
): FleetSnapshot {
  return { at, instances, members, ...(memberListError !== undefined ? { memberListError } : {}) };
}

test('timelineFromSnapshots keeps only the samples where something changed', () => {
  const steady = (at: number) =>
    snapshot(
      at,
      [inst('i-a', mA, { leader: mA }), inst('i-b', mB, { leader: mA })],
      [member(mA, 'i-a', 'leader'), member(mB, 'i-b', 'follower')],
    );
  const snaps = [
    { tMs: 0, snapshot: steady(1000) },
    { tMs: 250, snapshot: steady(1250) },
    { tMs: 500, snapshot: steady(1500) },
    {
      tMs: 750,
      snapshot: snapshot(
        1750,
        [inst('i-a', mA, { leader: mB }), inst('i-b', mB, { leader: mB })],
        [member(mA, 'i-a', 'follower'), member(mB, 'i-b', 'leader')],
      ),
    },
    {
      tMs: 1000,
      snapshot: snapshot(
        2000,
        [inst('i-a', mA, { leader: mB }), inst('i-b', mB, { leader: mB })],
        [member(mA, 'i-a', 'follower'), member(mB, 'i-b', 'leader')],
      ),
    },
  ];
  const t = timelineFromSnapshots(snaps);
  assert.deepEqual(
    t.samples.map((s) => s.tMs),
    [0, 750],
  );
  assert.deepEqual(t.samples[1]?.members, [
    { key: 'i-a', memberId: mA, role: 'follower' },
    { key: 'i-b', memberId: mB, role: 'leader' },
  ]);
  // input order does not matter
  assert.deepEqual(timelineFromSnapshots([...snaps].reverse()), t);
});

test('timelineFromSnapshots: absent instances, members outliving their instance, an unreadable member list', () => {
  const t = timelineFromSnapshots([
    // booting: nothing answers yet, nobody has been a member
    {
      tMs: -250,
      snapshot: snapshot(-250, [inst('i-a', undefined), inst('i-b', undefined)], [], 'no voter answers'),
    },
    // i-c is up but not a member yet
    {
      tMs: 0,
      snapshot: snapshot(
        0,
        [inst('i-a', mA, { leader: mA }), inst('i-b', mB, { leader: mA }), inst('i-c', undefined)],
        [member(mA, 'i-a', 'leader'), member(mB, 'i-b', 'follower')],
      ),
    },
    // i-b's instance is gone, its member lingers (no instance in the peer URL any more): same lane
    {
      tMs: 250,
      snapshot: snapshot(
        250,
        [
          inst('i-a', mA, { leader: mA }),
          inst('i-b', undefined, { state: 'terminated' }),
          inst('i-c', mC, { learner: true }),
        ],
        [member(mA, 'i-a', 'leader'), member(mB, undefined, 'unreachable'), member(mC, 'i-c', 'learner')],
      ),
    },
    // nobody answers the member list: the instances' own status, the rest unreachable
    {
      tMs: 500,
      snapshot: snapshot(
        500,
        [inst('i-a', undefined), inst('i-c', mC, { learner: true })],
        [],
        'no voter answers',
      ),
    },
  ]);
  assert.deepEqual(t.samples[0]?.members, [
    { key: 'i-a', role: 'absent' },
    { key: 'i-b', role: 'absent' },
  ]);
  t.samples.shift();
  assert.deepEqual(t.samples[0]?.members, [
    { key: 'i-a', memberId: mA, role: 'leader' },
    { key: 'i-b', memberId: mB, role: 'follower' },
    { key: 'i-c', role: 'absent' },
  ]);
  assert.deepEqual(t.samples[1]?.members, [
    { key: 'i-a', memberId: mA, role: 'leader' },
    { key: 'i-b', memberId: mB, role: 'unreachable' },
    { key: 'i-c', memberId: mC, role: 'learner' },
  ]);
  assert.deepEqual(t.samples[2]?.members, [
    { key: 'i-a', role: 'unreachable' },
    { key: 'i-b', memberId: mB, role: 'unreachable' },
    { key: 'i-c', memberId: mC, role: 'learner' },
  ]);
});

test('a wiped instance keeps its lane under the new member id; a member never seen with an instance gets its own', () => {
  const t = timelineFromSnapshots([
    {
      tMs: 0,
      snapshot: snapshot(
        0,
        [inst('i-a', mA, { leader: mA })],
        [member(mA, 'i-a', 'leader'), member(mD, undefined, 'unreachable')],
      ),
    },
    {
      tMs: 250,
      snapshot: snapshot(
        250,
        [inst('i-a', mB, { learner: true })],
        [member(mB, 'i-a', 'learner'), member(mD, undefined, 'unreachable')],
      ),
    },
  ]);
  assert.deepEqual(t.samples[1]?.members, [
    { key: mD, memberId: mD, role: 'unreachable' },
    { key: 'i-a', memberId: mB, role: 'learner' },
  ]);
});

test('a 10-minute run with churn stays well under 500 KB', () => {
  // 6 slots; every 15 s one instance is interrupted and replaced by a new one that joins via learner.
  const durationMs = 600_000;
  const snaps: { tMs: number; snapshot: FleetSnapshot }[] = [];
  let slots = [0, 1, 2, 3, 4].map((n) => ({
    id: `i-${String(n).padStart(17, '0')}`,
    member: (n + 1).toString(16).padStart(16, '0'),
    bornAt: -60_000,
  }));
  let next = 5;
  for (let t = 0; t < durationMs; t += 250) {
    if (t > 0 && t % 15_000 === 0) {
      slots = slots.slice(1);
      slots.push({
        id: `i-${String(next).padStart(17, '0')}`,
        member: (next + 1).toString(16).padStart(16, '0'),
        bornAt: t,
      });
      next++;
    }
    const leader = slots[slots.length > 1 ? 1 : 0]?.member;
    const rows: MemberRow[] = [];
    const instances: InstanceRow[] = [];
    for (const s of slots) {
      const age = t - s.bornAt;
      instances.push(inst(s.id, age > 3000 ? s.member : undefined, { leader }));
      if (age < 2000) continue;
      const role: MemberRole =
        age < 3000 ? 'unstarted' : age < 8000 ? 'learner' : s.member === leader ? 'leader' : 'follower';
      rows.push(member(s.member, s.id, role));
    }
    snaps.push({ tMs: t, snapshot: snapshot(t, instances, rows) });
  }
  const timeline = timelineFromSnapshots(snaps);
  assert.ok(timeline.samples.length < snaps.length / 4, `deduplicated to ${timeline.samples.length} samples`);

  const availability: AvailabilityBucket[] = [];
  for (let t = 5000; t < durationMs; t += 100)
    availability.push({ t, ok: 30 + (t % 700) / 100, failed: t % 15_000 < 400 ? 2 : 0 });
  const steps: StepRecord[] = [];
  const events: EventTimings[] = [];
  for (let k = 1; k * 15_000 < durationMs; k++) {
    const at = k * 15_000;
    const description = describeStep({ kind: 'interrupt', target: 'random', noticeMs: 15_000 });
    steps.push({
      index: steps.length,
      description,
      startedAtMs: at,
      durationMs: 100,
      ok: true,
      instanceId: `i-${String(k - 1).padStart(17, '0')}`,
    });
    events.push({
      step: steps.length - 1,
      kind: 'interrupt',
      description,
      instanceId: `i-${String(k - 1).padStart(17, '0')}`,
      startedAtMs: at,
      memberRemovedAfterMs: 1200,
      terminatedAfterMs: 15_000,
      removedBeforeTerminated: true,
      replacements: [
        {
          instanceId: `i-${String(k + 4).padStart(17, '0')}`,
          launchedAfterMs: 0,
          learnerAfterMs: 3000,
          voterAfterMs: 8000,
        },
      ],
      leaderChanges: 1,
      belowTargetMs: 8000,
      windowMs: 15_000,
    });
  }
  const { report } = fixture();
  const big: SimReport = {
    ...report,
    durationMs,
    availability,
    steps,
    events,
    leaderChanges: events.map((e) => ({ atMs: e.startedAtMs + 500, from: undefined, to: undefined })),
  };
  const html = renderHtmlReport(big, timeline);
  const bytes = Buffer.byteLength(html);
  assert.ok(bytes < 500_000, `${bytes} bytes`);
  assert.match(html, /per s, 200 ms buckets/, 'the 100 ms buckets were aggregated');
  assert.equal(count(html, /<g class="ev" /g), steps.length);
  assert.equal(count(html, /<g class="lane" /g), next);
  assertNoExternalReferences(html);
});

test('linearizability: a violation shows the key and its window, and fails the page', () => {
  const { report, timeline } = fixture();
  const ok = renderHtmlReport(
    {
      ...report,
      linearizability: {
        verdict: 'ok',
        operations: 1234,
        registerOperations: 200,
        keys: 1040,
        checkMs: 12,
        steps: 2500,
        droppedMaybe: 3,
        boundedMaybe: 1,
        violations: [],
        unknownKeys: [],
      },
    },
    timeline,
  );
  assert.match(
    ok,
    /<h2>Linearizability<\/h2><p><b class="good">Linearizable\.<\/b> 1,234 operations on 1,040 keys/,
  );
  const bad = renderHtmlReport(
    {
      ...report,
      linearizability: {
        verdict: 'violation',
        operations: 10,
        registerOperations: 10,
        keys: 1,
        checkMs: 1,
        steps: 20,
        droppedMaybe: 0,
        boundedMaybe: 0,
        violations: [
          {
            key: 'l/3',
            culprit: '#9 client 5 get → "a"',
            window: ['#7 client 4 put "b"', '#9 client 5 get → "a"'],
          },
        ],
        unknownKeys: [],
      },
    },
    timeline,
  );
  assert.match(bad, /<div class="verdict fail">FAIL<\/div>/, 'a violation is never shown as a pass');
  assert.match(bad, /<li>not linearizable: l\/3<\/li>/);
  assert.match(
    bad,
    /key <span class="mono">l\/3<\/span>[\s\S]*<ol class="mono small"><li>#7 client 4 put &quot;b&quot;<\/li><li>#9 client 5 get → &quot;a&quot;<\/li><\/ol>/,
  );
});

// --- issue 13 §5/§6: the verdict explained, every cell honest

test('what PASS means is on the page, and each event carries its targets with ✓/✗', () => {
  const { report, timeline } = fixture();
  const ev = report.events[0] as EventTimings;
  ev.targets = [
    {
      id: 'no-failed-writes-with-notice',
      target: '0 failed writes and longest gap < 50 ms (notice ≥ 10 s)',
      met: false,
      measured: '4 failed, longest gap 842 ms',
    },
    {
      id: 'removal-within-2x-poll',
      target: 'removed within 2 × poll = 2.0 s',
      met: true,
      measured: 'removed after 1.4 s',
    },
  ];
  ev.targetVoters = 3;
  const html = renderHtmlReport(report, timeline);
  assert.ok(html.includes(`<p class="meaning">${escapeHtml(PASS_MEANING)}</p>`));
  assert.match(
    html,
    /<div class="tg bad" data-target="no-failed-writes-with-notice" data-met="false">✗ 0 failed writes and longest gap &lt; 50 ms \(notice ≥ 10 s\): 4 failed, longest gap 842 ms<\/div>/,
  );
  assert.match(html, /<div class="tg good" data-target="removal-within-2x-poll" data-met="true">✓ removed/);
  // the events table numbers the event 1 and names its step; below target says against what
  assert.match(html, /<span class="badge" [^>]*>1<\/span><div class="dim small">step 2<\/div>/);
  assert.match(html, /26\.0 s<div class="dim small">target 3<\/div>/);
});

/** The leader (B) is killed at 30 s: its lane goes unreachable while the others still name it, then C wins. */
function killedLeaderFixture(): { report: SimReport; timeline: RoleTimeline } {
  const { report, timeline } = fixture();
  const m = (key: string, role: TimelineMember['role'], memberId: string): TimelineMember => ({
    key,
    role,
    memberId,
  });
  timeline.samples.push(
    { tMs: 50_000, members: [m(B, 'leader', mB), m(C, 'follower', mC), m(D, 'follower', mD)] },
    { tMs: 52_300, members: [m(B, 'unreachable', mB), m(C, 'follower', mC), m(D, 'follower', mD)] },
    { tMs: 53_900, members: [m(B, 'unreachable', mB), m(C, 'leader', mC), m(D, 'follower', mD)] },
  );
  report.durationMs = 60_000;
  report.leaderChanges.push({ atMs: 53_800, from: mB, to: mC });
  report.steps.push({
    index: 4,
    kind: 'kill9',
    description: describeStep({ kind: 'kill9', target: 'leader', instanceGone: true }),
    startedAtMs: 52_200,
    durationMs: 5,
    ok: true,
    instanceId: B,
  });
  report.events.push({
    step: 4,
    kind: 'kill9',
    description: report.steps[4]?.description ?? '',
    instanceId: B,
    memberId: mB,
    wasLeader: true,
    startedAtMs: 52_200,
    memberRemovedAfterMs: 4000,
    replacements: [],
    leaderChanges: 1,
    leaderChangedAfterMs: 1600,
    belowTargetMs: 4000,
    windowMs: 7800,
  });
  return { report, timeline };
}

test('a killed leader: "no, election" (never "moved first"), and the leader lane says it was unreachable', () => {
  const { report, timeline } = killedLeaderFixture();
  const html = renderHtmlReport(report, timeline);
  const rows = html.split('<tr>').filter((r) => r.includes('class="badge"'));
  assert.equal(rows.length, 2);
  assert.match(
    rows[0] as string,
    /<span class="good">yes<\/span>/,
    'the announced leave moved leadership first',
  );
  assert.match(rows[1] as string, /<span class="bad" [^>]*>no, election<\/span>/);
  assert.doesNotMatch(rows[1] as string, /class="good">yes/);
  // B led until 52.3 s; the others named it until 53.8 s although it no longer answered
  assert.match(
    html,
    /data-leader="unreachable"><title>leader unreachable from 52\.3 s to 53\.8 s: the members still named i-1b2c3d4e5f6071829 \(member b2b2b2b2b2b2b2b2\), whose etcd did not answer/,
  );
  assert.match(
    html,
    /data-leader="leader"><title>leader i-2c3d4e5f607182930 \(member c3c3c3c3c3c3c3c3\) from 53\.8 s/,
  );
  const stretches = leaderStretches(report.leaderChanges, timeline, 60_000);
  assert.deepEqual(
    stretches.map((x) => [x.kind, x.from, x.to, x.memberId]),
    [
      ['leader', 2000, 20_600, mA],
      ['leader', 20_600, 52_300, mB],
      ['unreachable', 52_300, 53_800, mB],
      ['leader', 53_800, 60_000, mC],
    ],
  );
  // A leader never seen in the timeline is not called unreachable (nothing says so).
  assert.deepEqual(
    leaderStretches([{ atMs: 0, from: undefined, to: 'ffffffffffffffff' }], { samples: [] }, 1000).map(
      (x) => x.kind,
    ),
    ['leader'],
  );
});

test('the healthy-voters band: amber below the target, red below quorum, grey otherwise', () => {
  const m = (key: string, role: TimelineMember['role']): TimelineMember => ({ key, role, memberId: key });
  const timeline: RoleTimeline = {
    samples: [
      {
        tMs: 0,
        members: [m('a', 'leader'), m('b', 'follower'), m('c', 'follower')],
        targetVoters: 3,
        votingMembers: 3,
      },
      {
        tMs: 10_000,
        members: [m('a', 'leader'), m('b', 'follower'), m('c', 'unreachable')],
        targetVoters: 3,
        votingMembers: 3,
      },
      {
        tMs: 20_000,
        members: [m('a', 'follower'), m('b', 'unreachable'), m('c', 'unreachable')],
        targetVoters: 3,
        votingMembers: 3,
      },
      {
        tMs: 30_000,
        members: [m('a', 'leader'), m('b', 'follower'), m('c', 'follower')],
        targetVoters: 3,
        votingMembers: 3,
      },
    ],
  };
  const segs = voterSegments(timeline, 40_000);
  assert.deepEqual(
    segs.map((v) => [v.from, v.n, v.level]),
    [
      [0, 3, 'ok'],
      [10_000, 2, 'below-target'],
      [20_000, 1, 'below-quorum'],
      [30_000, 3, 'ok'],
    ],
  );
  const { report } = fixture();
  const html = renderHtmlReport(report, timeline);
  assert.match(
    html,
    /fill="#f59e0b" fill-opacity="1\.00" stroke="#fff" data-level="below-target"><title>2 healthy voter\(s\): below the target of 3 \(quorum 2 holds\)/,
  );
  assert.match(
    html,
    /fill="#dc2626" fill-opacity="1\.00" stroke="#fff" data-level="below-quorum"><title>1 healthy voter\(s\): BELOW QUORUM \(2 needed: no write can commit\)/,
  );
  assert.equal(count(html, /data-level="ok"/g), 2);
  assert.match(html, /below the target voter count<\/span>/, 'the legend explains the colours');
});

test('timelineFromSnapshots records the target and the voting members; an unreadable list keeps the last count', () => {
  const t = timelineFromSnapshots(
    [
      {
        tMs: 0,
        snapshot: snapshot(
          0,
          [inst('i-a', mA, { leader: mA }), inst('i-b', mB, { leader: mA }), inst('i-c', mC, { leader: mA })],
          [member(mA, 'i-a', 'leader'), member(mB, 'i-b', 'follower'), member(mC, 'i-c', 'follower')],
        ),
      },
      {
        tMs: 250,
        snapshot: snapshot(
          250,
          [
            inst('i-a', mA, { leader: mA }),
            inst('i-b', mB, { leader: mA }),
            inst('i-c', undefined, { state: 'terminated' }),
          ],
          [member(mA, 'i-a', 'leader'), member(mB, 'i-b', 'follower'), member(mC, undefined, 'unreachable')],
        ),
      },
      {
        tMs: 500,
        snapshot: snapshot(500, [inst('i-a', undefined), inst('i-b', undefined)], [], 'no voter answers'),
      },
    ],
    5,
  );
  assert.deepEqual(
    t.samples.map((s) => [s.tMs, s.targetVoters, s.votingMembers]),
    [
      [0, 3, 3],
      [250, 1, 3],
      [500, 1, 3],
    ],
  );
});

test("IMDS 404s before a notice are 'no notice', not errors", () => {
  const { report, timeline } = fixture();
  report.api.routes.imds = { ...report.api.routes.imds, requests: 375, ok: 177, noNotice: 198 };
  const html = renderHtmlReport(report, timeline);
  assert.match(
    html,
    /<td class="mono">imds<\/td><td class="num">2037\.7<\/td><td class="num">375<\/td><td class="num">198<\/td><td class="num">0<\/td>/,
  );
  assert.match(html, /no notice \(404\)<\/th>/);
});

test("the agents' decision log (by time, whole reasons, expected refusals as retrying) and links to the logs", () => {
  const { report, timeline } = fixture();
  const t0 = Date.parse(report.startedAt);
  const reason = `remove self ${mA} (${A}): termination notice from spot-api: lifeCycleState=TERMINATING, deadline in 14.2 s; the replacement is not a voter yet (row B4b)`;
  const decisions: AgentDecision[] = [
    // as read per log file: A's lines first, then D's (earlier)
    {
      instanceId: A,
      at: t0 + 21_000,
      action: 'remove-member',
      reason,
      level: 30,
      outcome: { progressed: false, at: t0 + 21_010, code: 'ETCD_UNHEALTHY_CLUSTER' },
    },
    {
      instanceId: A,
      at: t0 + 22_000,
      action: 'remove-member',
      reason,
      level: 30,
      outcome: { progressed: true, at: t0 + 22_050 },
    },
    { instanceId: A, at: t0 + 22_100, action: 'wait', reason: 'left', level: 30 },
    {
      instanceId: D,
      at: t0 + 20_500,
      action: 'start-etcd',
      reason: 'start as a learner',
      level: 30,
      outcome: { progressed: true, at: t0 + 20_900 },
    },
  ];
  const html = renderHtmlReport(report, timeline, {
    decisions,
    logLinks: [
      { instanceId: A, agentLog: `${A}/agent.log`, etcdLog: `${A}/state/etcd.log` },
      { instanceId: D, agentLog: '/etc/passwd' },
    ],
  });
  const section = /<h2>Agents' decisions<\/h2>([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  const rows = [
    ...section.matchAll(
      /<tr data-status="(\w+)"><td class="num">([\d.]+ s)[\s\S]*?<td class="mono">([^<]+)<\/td><td class="mono">([^<]+)<\/td>/g,
    ),
  ].map((r) => [r[2], r[3], r[4], r[1]]);
  assert.deepEqual(rows, [
    ['20.5 s', D, 'start-etcd', 'ok'],
    ['21.0 s', A, 'remove-member', 'retrying'],
    ['22.0 s', A, 'remove-member', 'ok'],
  ]);
  assert.ok(section.includes(escapeHtml(reason)), 'the reason is whole');
  assert.match(
    section,
    /retrying: etcd refuses membership changes for ~5 s after one \(start-etcd by i-3d4e5f60718293a41 0\.1 s before; ETCD_UNHEALTHY_CLUSTER\)/,
  );
  assert.doesNotMatch(section, />wait</);
  // links: relative ones only; an absolute path is not linked
  assert.match(
    section,
    /<a href="i-0a1b2c3d4e5f60718\/agent\.log">agent\.log<\/a> · <a href="i-0a1b2c3d4e5f60718\/state\/etcd\.log">etcd\.log<\/a>/,
  );
  assert.match(section, /<span class="dim">agent\.log<\/span>/);
  assert.doesNotMatch(html, /href="\/etc/);
  assertNoExternalReferences(html);
});

test('the versions that ran are in the header', () => {
  const { report, timeline } = fixture();
  report.versions = {
    etcdSpot: '0.1.0',
    commit: 'a564173e0f0e0f0e0f0e0f0e0f0e0f0e0f0e0f0e',
    dirty: true,
    etcd: '3.4.23',
    node: 'v20.19.0',
  };
  const html = renderHtmlReport(report, timeline);
  assert.match(
    html,
    /ran <b>etcd-spot 0\.1\.0 \(a564173, uncommitted changes\), etcd 3\.4\.23, node v20\.19\.0<\/b>/,
  );
});

/**
 * The HTML report as a browser draws it: headless Chromium (Debian's chromium-headless-shell, which
 * scripts/setup.sh installs) screenshots pages rendered from hand-built reports that differ only in
 * what the cluster went through, and the test counts the pixels of the colours that must (or must not)
 * appear: the healthy-voters band amber below the target and red below quorum, and the leader lane's
 * dashed red stretch while the members still name a leader that no longer answers. The file's own
 * machinery (render → file → screenshot → PNG → pixel counts) is reusable for any page.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { renderHtmlReport } from '../../src/sim/report-html.ts';
import type { RoleTimeline, TimelineMember } from '../../src/sim/report-html.ts';
import type { SimReport } from '../../src/sim/run.ts';
import { SPOT_ROUTES } from '../../src/emulator/types.ts';
import type { ApiRoute, RouteStats } from '../../src/emulator/types.ts';
import { countColour, decodePng, distinctColours } from '../support/png.ts';
import type { Image } from '../support/png.ts';

const BROWSER = 'chromium-headless-shell';
const AMBER = '#f59e0b'; // below the target voter count
const RED = '#dc2626'; // below quorum; no agreed leader / leader unreachable

function browser(): string {
  const r = spawnSync('sh', ['-c', `command -v ${BROWSER}`], { encoding: 'utf8' });
  if (r.status !== 0)
    assert.fail(`${BROWSER} is not installed: run scripts/setup.sh (it installs it from Debian)`);
  return r.stdout.trim();
}

const dir = mkdtempSync(join(tmpdir(), 'report-shot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the page, has Chromium screenshot it at 1400 px wide, and decodes the PNG. */
function screenshot(name: string, html: string): Image {
  const page = join(dir, `${name}.html`);
  const png = join(dir, `${name}.png`);
  writeFileSync(page, html);
  const r = spawnSync(
    browser(),
    [
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      `--screenshot=${png}`,
      '--window-size=1400,1500',
      pathToFileURL(page).href,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  assert.equal(r.status, 0, `${BROWSER} failed:\n${r.stderr.slice(-2000)}`);
  return decodePng(readFileSync(png));
}

const [A, B, C] = ['i-0a1b2c3d4e5f60718', 'i-1b2c3d4e5f6071829', 'i-2c3d4e5f607182930'];
const [mA, mB, mC] = ['a1a1a1a1a1a1a1a1', 'b2b2b2b2b2b2b2b2', 'c3c3c3c3c3c3c3c3'];
type Role = TimelineMember['role'];

/** A 60 s run of 3 instances; `roles` gives each lane's role per 10 s slot; no failed write, no gap. */
function page(roles: [Role, Role, Role][], leaders: SimReport['leaderChanges']): string {
  const timeline: RoleTimeline = {
    samples: roles.map((r, i) => ({
      tMs: i * 10_000,
      members: [
        { key: A, memberId: mA, role: r[0] },
        { key: B, memberId: mB, role: r[1] },
        { key: C, memberId: mC, role: r[2] },
      ],
      targetVoters: 3,
      votingMembers: 3,
    })),
  };
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
  const availability = [];
  for (let t = 1000; t < 60_000; t += 100) availability.push({ t, ok: 30, failed: 0 });
  const report: SimReport = {
    scenario: 'screenshot',
    seed: 1,
    runDir: '/tmp/run',
    startedAt: '2026-11-30T12:00:00.000Z',
    durationMs: 60_000,
    instances: 3,
    maxVoters: 5,
    pass: true,
    converged: true,
    problems: [],
    agent: { etcdSpot: true, command: 'etcd-spot agent', env: {} },
    workload: { writers: 2, writesPerSecond: 0, valueSize: 0 },
    writes: {
      acknowledged: availability.length * 30,
      lost: [],
      failed: 0,
      longestGapMs: 40,
      mismatched: [],
      nonMonotonic: [],
      failedByCode: {},
    },
    availability,
    events: [],
    steps: [
      {
        index: 0,
        kind: 'converge',
        description: 'wait for convergence',
        startedAtMs: 0,
        durationMs: 900,
        ok: true,
      },
    ],
    leaderChanges: leaders,
    clusterIds: ['cdcdcdcdcdcdcdcd'],
    api: {
      durationMs: 60_000,
      callsPerMinute: Object.fromEntries(Object.keys(routes).map((r) => [r, 0])) as Record<ApiRoute, number>,
      spotCallsPerMinute: 0,
      routes,
    },
    resources: {
      sampleIntervalMs: 1000,
      samples: 0,
      agent: { peakRssMb: 0, meanCpuPercent: 0, cpuSeconds: 0, runningMs: 0 },
      etcd: { peakRssMb: 0, meanCpuPercent: 0, cpuSeconds: 0, runningMs: 0 },
      perInstance: [],
    },
  };
  return renderHtmlReport(report, timeline);
}

const healthy: [Role, Role, Role] = ['leader', 'follower', 'follower'];
const leaderA: SimReport['leaderChanges'] = [{ atMs: 0, from: undefined, to: mA }];
const calm = () => page([healthy, healthy, healthy, healthy, healthy, healthy], leaderA);

test('the page renders: a real picture, not a blank one', () => {
  const img = screenshot('calm', calm());
  assert.equal(img.width, 1400);
  assert.ok(distinctColours(img) > 200, `${distinctColours(img)} colours`);
});

test('the healthy-voters band is amber below the target and red below quorum', () => {
  const base = screenshot('calm', calm());
  const lowC: [Role, Role, Role] = ['leader', 'follower', 'unreachable'];
  // 20 s with 2 of 3 voters: below the target of 3, above the quorum of 2
  const belowTarget = screenshot(
    'below-target',
    page([healthy, lowC, lowC, healthy, healthy, healthy], leaderA),
  );
  const amber = countColour(belowTarget, AMBER) - countColour(base, AMBER);
  const redT = countColour(belowTarget, RED) - countColour(base, RED);
  assert.ok(amber > 3000, `an amber band of 20 s × 18 px (${amber} more amber pixels)`);
  assert.ok(redT < 100, `no red below target only (${redT} more red pixels)`);
  // 20 s with 1 of 3: below quorum
  const lowBC: [Role, Role, Role] = ['leader', 'unreachable', 'unreachable'];
  const belowQuorum = screenshot(
    'below-quorum',
    page([healthy, lowBC, lowBC, healthy, healthy, healthy], leaderA),
  );
  const red = countColour(belowQuorum, RED) - countColour(base, RED);
  const amberQ = countColour(belowQuorum, AMBER) - countColour(base, AMBER);
  assert.ok(red > 3000, `a red band of 20 s × 18 px (${red} more red pixels)`);
  assert.ok(amberQ < 100, `below quorum is red, not amber (${amberQ} more amber pixels)`);
});

test('the leader lane draws a dashed red stretch while the members name a leader that does not answer', () => {
  // A stops answering at 20 s; B leads from 30 s. Same lanes in both pages, only the agreed leader differs:
  // named until 30 s (10 s unreachable) or replaced at once at 20 s.
  const roles: [Role, Role, Role][] = [
    healthy,
    healthy,
    ['unreachable', 'follower', 'follower'],
    ['unreachable', 'leader', 'follower'],
    ['unreachable', 'leader', 'follower'],
    ['unreachable', 'leader', 'follower'],
  ];
  const promptly = screenshot('leader-prompt', page(roles, [...leaderA, { atMs: 20_000, from: mA, to: mB }]));
  const named = screenshot('leader-named', page(roles, [...leaderA, { atMs: 30_000, from: mA, to: mB }]));
  const red = countColour(named, RED) - countColour(promptly, RED);
  assert.ok(red > 200, `10 s of a dashed 4 px red line (${red} more red pixels)`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiCallStats } from './run.ts';
import { SPOT_ROUTES } from '../emulator/types.ts';
import type { EmulatorStats, RouteStats } from '../emulator/types.ts';

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

test('Spot API calls per minute and per instance-minute (instances counted only while running in the window)', () => {
  const routes = Object.fromEntries(SPOT_ROUTES.map((r) => [r, { ...zero }])) as EmulatorStats['routes'];
  routes['group-status'] = { ...zero, requests: 30 };
  const stats: EmulatorStats = { since: 0, now: 120_000, routes, aws: {} };
  // One instance for the whole 2 minutes, one for the last minute, one ended after 30 s, one before the window.
  const api = apiCallStats(stats, [
    { launchedAt: 0 },
    { launchedAt: 60_000 },
    { launchedAt: -10_000, terminatedAt: 30_000 },
    { launchedAt: -50_000, terminatedAt: -1 },
  ]);
  assert.equal(api.spotCallsPerMinute, 15);
  // 30 calls over 2 + 1 + 0.5 instance-minutes.
  assert.equal(api.spotCallsPerInstanceMinute, Math.round((30 / 3.5) * 100) / 100);
  assert.equal(apiCallStats(stats).spotCallsPerInstanceMinute, undefined, 'no instances: not measured');
});

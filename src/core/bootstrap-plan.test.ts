import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_PLAN_INSTANCES,
  initialVoterCount,
  parseBootstrapPlan,
  peerUrlAt,
  planShapeProblem,
  proposePlan,
  snapshotProblem,
} from './bootstrap-plan.ts';
import type { BootstrapPlan, GroupInstanceView } from './observation.ts';

const group = (n: number): GroupInstanceView[] =>
  Array.from({ length: n }, (_, i) => ({ id: `i-${n - i}`, privateIp: `127.0.160.${n - i}` }));
const base = {
  desiredCapacity: 5,
  selfPeerUrl: 'http://127.0.160.1:2380',
  maxVoters: 5,
  token: 'sig-1-i-1-1000',
  snapshot: undefined,
  emptyOrder: false,
};

describe('proposePlan', () => {
  test('the whole group in the list: every instance, sorted; the initial voters with peer URLs like self’s', () => {
    const r = proposePlan({ ...base, instances: group(5) });
    assert.ok(r.ok);
    assert.deepEqual(r.plan, {
      token: 'sig-1-i-1-1000',
      instances: ['i-1', 'i-2', 'i-3', 'i-4', 'i-5'],
      members: [1, 2, 3, 4, 5].map((k) => ({ instanceId: `i-${k}`, peerUrl: `http://127.0.160.${k}:2380` })),
    });
    assert.equal(planShapeProblem(r.plan, 5, 5), undefined);
  });

  test('the scheme and port are self’s (TLS: https peer URLs)', () => {
    const r = proposePlan({
      ...base,
      instances: group(3),
      desiredCapacity: 3,
      selfPeerUrl: 'https://127.0.160.1:12380',
    });
    assert.ok(r.ok);
    assert.deepEqual(
      r.plan.members.map((m) => m.peerUrl),
      ['https://127.0.160.1:12380', 'https://127.0.160.2:12380', 'https://127.0.160.3:12380'],
    );
  });

  test('an even group or one beyond maxVoters starts the largest odd number of the lowest ids; the rest join later', () => {
    const four = proposePlan({ ...base, instances: group(4), desiredCapacity: 4 });
    assert.ok(four.ok);
    assert.deepEqual(
      four.plan.members.map((m) => m.instanceId),
      ['i-1', 'i-2', 'i-3'],
    );
    assert.equal(four.plan.instances.length, 4);
    const seven = proposePlan({ ...base, instances: group(7), desiredCapacity: 7 });
    assert.ok(seven.ok);
    assert.equal(seven.plan.members.length, 5);
    assert.equal(initialVoterCount(7, 3), 3);
    assert.equal(initialVoterCount(2, 5), 1);
  });

  test('NOT proposed: a partial list, or more instances than the desired capacity', () => {
    const partial = proposePlan({ ...base, instances: group(4) });
    assert.equal(partial.ok, false);
    assert.match(partial.ok ? '' : partial.reason, /holds 4 of the 5 instances/);
    assert.equal(proposePlan({ ...base, instances: group(6) }).ok, false);
  });

  test('NOT proposed: a snapshot store that holds a snapshot or cannot be read (row C5), unless the operator ordered --empty', () => {
    const newest = { name: 'snap-1', revision: 7, takenAt: 0 };
    const held = proposePlan({ ...base, instances: group(5), snapshot: { ok: true, newest } });
    assert.equal(held.ok, false);
    assert.match(held.ok ? '' : held.reason, /holds snap-1, which is restored instead/);
    assert.equal(
      proposePlan({ ...base, instances: group(5), snapshot: { ok: false, error: 'timeout' } }).ok,
      false,
    );
    assert.equal(
      proposePlan({ ...base, instances: group(5), snapshot: { ok: true } }).ok,
      true,
      'an empty store',
    );
    assert.equal(
      proposePlan({ ...base, instances: group(5), snapshot: { ok: true, newest }, emptyOrder: true }).ok,
      true,
    );
    assert.equal(snapshotProblem(undefined, false), undefined);
  });

  test(`NOT proposed: more than ${MAX_PLAN_INSTANCES} instances`, () => {
    const n = MAX_PLAN_INSTANCES + 1;
    assert.equal(proposePlan({ ...base, instances: group(n), desiredCapacity: n }).ok, false);
  });
});

describe('peerUrlAt', () => {
  test('replaces the host, IPv6 in brackets; undefined for an unparsable URL', () => {
    assert.equal(peerUrlAt('http://10.0.0.1:2380', '10.0.0.9'), 'http://10.0.0.9:2380');
    assert.equal(peerUrlAt('https://[fd00::1]:2380', 'fd00::9'), 'https://[fd00::9]:2380');
    assert.equal(peerUrlAt('not a url', '10.0.0.9'), undefined);
  });
});

describe('planShapeProblem', () => {
  const ok = proposePlan({ ...base, instances: group(5) });
  assert.ok(ok.ok);
  const plan = ok.plan;
  for (const [what, bad, re] of [
    ['an empty token', { ...plan, token: '' }, /token is empty/],
    [
      'unsorted instances',
      { ...plan, instances: ['i-2', 'i-1', 'i-3', 'i-4', 'i-5'] },
      /not sorted and unique/,
    ],
    [
      'a duplicate instance',
      { ...plan, instances: ['i-1', 'i-1', 'i-3', 'i-4', 'i-5'] },
      /not sorted and unique/,
    ],
    ['too few members', { ...plan, members: plan.members.slice(0, 3) }, /starts 3 voters, 5 expected/],
    [
      'members that are not the lowest ids',
      { ...plan, members: [...plan.members.slice(1), plan.members[0]!] },
      /not the lowest 5 instances in order/,
    ],
    [
      'a shared peer URL',
      { ...plan, members: plan.members.map((m) => ({ ...m, peerUrl: 'http://127.0.160.1:2380' })) },
      /share a peer URL/,
    ],
  ] as [string, BootstrapPlan, RegExp][]) {
    test(`finds ${what}`, () => {
      assert.match(planShapeProblem(bad, 5, 5) ?? '', re);
    });
  }
});

describe('parseBootstrapPlan', () => {
  const good = {
    token: 't',
    instances: ['i-1', 'i-2'],
    members: [{ instanceId: 'i-1', peerUrl: 'http://10.0.0.1:2380' }],
  };
  test('accepts a well-formed plan and copies only its fields', () => {
    const r = parseBootstrapPlan({ ...good, extra: 1 });
    assert.deepEqual(r, { ok: true, plan: good });
  });
  for (const [field, value] of [
    ['plan', null],
    ['plan', []],
    ['plan.token', { ...good, token: 7 }],
    ['plan.token', { ...good, token: 'a\nb' }],
    ['plan.instances', { ...good, instances: [] }],
    [
      'plan.instances',
      { ...good, instances: Array.from({ length: MAX_PLAN_INSTANCES + 1 }, (_, i) => `i-${i}`) },
    ],
    ['plan.instances[0]', { ...good, instances: ['../x'] }],
    ['plan.members', { ...good, members: [] }],
    ['plan.members[0]', { ...good, members: ['i-1'] }],
    ['plan.members[0].instanceId', { ...good, members: [{ peerUrl: 'http://10.0.0.1:2380' }] }],
    [
      'plan.members[0].peerUrl',
      { ...good, members: [{ instanceId: 'i-1', peerUrl: 'http://10.0.0.1:2380/x' }] },
    ],
  ] as const) {
    test(`one error naming ${field} for ${JSON.stringify(value).slice(0, 60)}`, () => {
      const r = parseBootstrapPlan(value);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.error.startsWith(`${field}:`), JSON.stringify(r));
    });
  }
});

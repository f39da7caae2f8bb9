import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allSteps,
  chaosDraws,
  chaosKind,
  describeStep,
  listScenarios,
  loadScenario,
  scenarioNames,
} from './scenario.ts';
import type { DisruptionStep } from './scenario.ts';

test('the demo interrupts a follower, then the leader, then kill -9s one for good, converging after each', () => {
  const text = loadScenario('demo').timeline.map(describeStep);
  const follower = text.indexOf('interrupt a follower (notice 15s)');
  const leader = text.indexOf('interrupt the leader (notice 15s)');
  const kill = text.indexOf('kill -9 a random instance (instance gone)');
  assert.ok(follower > 0 && leader > follower && kill > leader, text.join(' | '));
  for (const i of [follower, leader, kill]) assert.equal(text[i + 1], 'wait for convergence');
});

test('the required scenarios ship, each loads, is named after its file and converges first', () => {
  const names = scenarioNames();
  for (const want of [
    'demo',
    'interrupt-follower',
    'interrupt-leader',
    'short-notice',
    'double-interrupt',
    'kill9-reaped',
    'api-outage',
    'scale-3-5-3',
    'boot-storm',
    'ip-reuse',
  ])
    assert.ok(names.includes(want), `scenarios/${want}.yaml is missing`);
  for (const s of listScenarios()) {
    assert.equal(s.error, undefined, `${s.name}: ${s.error}`);
    const sc = loadScenario(s.name);
    assert.equal(sc.name, s.name, `${s.path}: name differs from the file name`);
    const first = sc.timeline.find((x) => x.kind !== 'fault' && x.kind !== 'reuse-ip');
    assert.equal(first?.kind, 'converge', `${s.name} does not wait for convergence first`);
    assert.equal(
      sc.timeline[sc.timeline.length - 1]?.kind === 'converge' ||
        sc.timeline.some((x) => x.kind === 'converge'),
      true,
    );
  }
});

test('the shipped scenarios say what the brief asks of them', () => {
  const short = loadScenario('short-notice').timeline.find((s) => s.kind === 'interrupt');
  assert.equal(short?.kind === 'interrupt' && short.noticeMs, 2000);
  const dbl = loadScenario('double-interrupt');
  assert.equal(dbl.group.size, 5);
  const d = dbl.timeline.find((s) => s.kind === 'interrupt');
  assert.equal(d?.kind === 'interrupt' && d.count, 2);
  const storm = loadScenario('boot-storm');
  assert.equal(storm.group.size, 5);
  assert.equal(storm.timeline[0]?.kind, 'fault');
  assert.ok(loadScenario('ip-reuse').timeline.some((s) => s.kind === 'reuse-ip' && s.enabled));
  const scale = loadScenario('scale-3-5-3').timeline.filter((s) => s.kind === 'scale');
  assert.deepEqual(
    scale.map((s) => s.kind === 'scale' && s.to),
    [5, 3],
  );
});

test('chaos draws are a function of the seed', () => {
  const choose: DisruptionStep[] = [
    { kind: 'interrupt', target: 'random', noticeMs: 15_000 },
    { kind: 'kill9', target: 'random', instanceGone: true },
    { kind: 'wipe', target: 'random' },
  ];
  const seq = (seed: number) => {
    const draw = chaosDraws(seed, choose);
    return Array.from({ length: 20 }, () => draw().kind);
  };
  assert.deepEqual(seq(42), seq(42));
  assert.notDeepEqual(seq(1), seq(2));
  assert.equal(new Set(seq(7)).size, 3);
});

test('step descriptions name the target, the count and the fault', () => {
  assert.equal(
    describeStep({ kind: 'interrupt', target: 'follower', count: 2, noticeMs: 2000 }),
    'interrupt 2 followers at once (notice 2s)',
  );
  assert.equal(describeStep({ kind: 'wipe', target: 1 }), 'wipe the data dir of instance #1');
  assert.equal(
    describeStep({
      kind: 'fault',
      route: 'all',
      fault: { kind: 'status', status: 503 },
      label: 'outage',
      durationMs: 20_000,
    }),
    'API fault on all: outage (for 20s)',
  );
  assert.equal(describeStep({ kind: 'reuse-ip', enabled: true }), 'new instances reuse freed IPs');
});

test('interrupt-follower-tls is interrupt-follower over TLS (the bench compares the two rows)', () => {
  const plain = loadScenario('interrupt-follower');
  const tls = loadScenario('interrupt-follower-tls');
  assert.equal(plain.tls, false);
  assert.equal(tls.tls, true);
  assert.deepEqual(tls.timeline, plain.timeline);
  assert.deepEqual(tls.group, plain.group);
  assert.deepEqual(tls.workload, plain.workload);
});

test('chaos kinds tell the variants apart; an episode counts under its name', () => {
  assert.equal(chaosKind({ kind: 'interrupt', target: 'random', noticeMs: 1000 }), 'interrupt');
  assert.equal(chaosKind({ kind: 'interrupt', target: 'leader', noticeMs: 1000 }), 'interrupt-leader');
  assert.equal(
    chaosKind({ kind: 'interrupt', target: 'random', count: 2, noticeMs: 1000 }),
    'interrupt-2-at-once',
  );
  assert.equal(chaosKind({ kind: 'kill9', target: 'random', instanceGone: true }), 'kill9-gone');
  assert.equal(chaosKind({ kind: 'kill9', target: 'random', instanceGone: false }), 'kill9-reboot');
  assert.equal(
    chaosKind({ kind: 'fault', route: 'all', fault: { kind: 'status', status: 503 }, label: 'outage' }),
    'api-outage',
  );
  assert.equal(
    chaosKind({ kind: 'episode', name: 'partition-leader', steps: [{ kind: 'heal' }] }),
    'partition-leader',
  );
});

test('the soak draws from every fault kind, and its network episodes turn the peer proxies on', () => {
  const soak = loadScenario('soak');
  const chaos = soak.timeline.find((s) => s.kind === 'chaos');
  assert.ok(chaos?.kind === 'chaos');
  assert.ok((chaos.events ?? 0) >= 200);
  const kinds = new Set(allSteps(chaos.choose).map((s) => s.kind));
  for (const k of [
    'interrupt',
    'kill9',
    'wipe',
    'reuse-ip',
    'fault',
    'scale',
    'partition',
    'latency',
    'drop',
    'heal',
    'pause',
    'resume',
    'fill-disk',
    'free-disk',
    'clock-step',
  ])
    assert.ok(kinds.has(k as never), `the soak never draws a ${k} step`);
  const interrupts = allSteps(chaos.choose).filter((s) => s.kind === 'interrupt');
  assert.ok(interrupts.some((s) => s.kind === 'interrupt' && s.target === 'leader'));
  assert.ok(interrupts.some((s) => s.kind === 'interrupt' && (s.count ?? 1) > 1));
  const kills = allSteps(chaos.choose).filter((s) => s.kind === 'kill9');
  assert.deepEqual(new Set(kills.map((s) => s.kind === 'kill9' && s.instanceGone)), new Set([true, false]));
});

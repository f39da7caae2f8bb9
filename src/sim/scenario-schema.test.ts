import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioError, parseScenarioData, parseScenarioText } from './scenario-schema.ts';

function issuesOf(text: string, source = 'x.yaml'): string[] {
  try {
    parseScenarioText(text, source);
  } catch (err) {
    assert.ok(err instanceof ScenarioError, String(err));
    return [...err.issues];
  }
  assert.fail('the scenario was accepted');
}

test('a minimal file takes every default', () => {
  const s = parseScenarioText('name: tiny\ndescription: just boot\ntimeline: [waitConverged]\n', 'tiny.yaml');
  assert.equal(s.name, 'tiny');
  assert.equal(s.source, 'tiny.yaml');
  assert.equal(s.seed, undefined);
  assert.equal(s.durationMs, 600_000);
  assert.deepEqual(s.group, {
    size: 3,
    maxVoters: 5,
    signalTimeoutMs: 120_000,
    ipReuse: 'never',
    bootAllAtOnce: true,
    provider: 'elastigroup',
  });
  assert.deepEqual(s.agent, {});
  assert.deepEqual(s.agentEnv, {});
  assert.deepEqual(s.workload, {
    writers: 4,
    writesPerSecond: 0,
    valueSize: 0,
    registerClients: 2,
    registerKeys: 8,
    registerOpsPerSecond: 40,
  });
  assert.deepEqual(s.timeline, [{ kind: 'converge', timeoutMs: 180_000 }]);
});

test('every field and step kind is read', () => {
  const s = parseScenarioText(
    `
name: full
description: everything
seed: 42
duration: 7m
group: { size: 5, maxVoters: 3, signalTimeout: 30s, ipReuse: prefer, bootAllAtOnce: false, provider: asg }
agent: { cycleInterval: 500ms, memberDeadAfter: 15s, leaveOnRebalance: true }
agentEnv: { SEED_POLL_INTERVAL: 30, NAME: x }
workload: { writers: 2, writesPerSecond: 50, valueSize: 256, registerClients: 0 }
timeline:
  - fault: { route: group-status, kind: partial, dropRandom: 2, duration: 20s }
  - waitConverged: { timeout: 2m, voters: 3 }
  - sleep: 1.5s
  - interrupt: { target: leader, notice: 2s }
  - interrupt: { target: random, count: 2 }
  - kill9: { target: 0, instanceGone: false }
  - wipe: { target: follower }
  - reuseIp
  - reuseIp: false
  - fault: { kind: 5xx, status: 502, count: 3 }
  - fault: { route: instance-status, kind: 429, resetAfter: 2s, instance: leader }
  - fault: { kind: latency, delay: 2s }
  - fault: { kind: timeout }
  - fault: { kind: stale }
  - clearFaults
  - scaleTo: 4
  - chaos: { for: 1m, choose: [{ wipe: { target: random } }, { kill9: { target: random } }] }
`,
    'full.yaml',
  );
  assert.equal(s.seed, 42);
  assert.equal(s.durationMs, 420_000);
  assert.deepEqual(s.group, {
    size: 5,
    maxVoters: 3,
    signalTimeoutMs: 30_000,
    ipReuse: 'prefer',
    bootAllAtOnce: false,
    provider: 'asg',
  });
  assert.deepEqual(s.agent, { cycleInterval: '500ms', memberDeadAfter: '15s', leaveOnRebalance: 'true' });
  assert.deepEqual(s.agentEnv, { SEED_POLL_INTERVAL: '30', NAME: 'x' });
  assert.deepEqual(s.workload, {
    writers: 2,
    writesPerSecond: 50,
    valueSize: 256,
    registerClients: 0,
    registerKeys: 8,
    registerOpsPerSecond: 40,
  });
  assert.deepEqual(s.timeline, [
    {
      kind: 'fault',
      route: 'group-status',
      fault: { kind: 'partial', dropRandom: 2 },
      label: 'partial',
      durationMs: 20_000,
    },
    { kind: 'converge', timeoutMs: 120_000, voters: 3 },
    { kind: 'sleep', ms: 1500 },
    { kind: 'interrupt', target: 'leader', count: 1, noticeMs: 2000 },
    { kind: 'interrupt', target: 'random', count: 2, noticeMs: 120_000 },
    { kind: 'kill9', target: 0, count: 1, instanceGone: false },
    { kind: 'wipe', target: 'follower', count: 1 },
    { kind: 'reuse-ip', enabled: true },
    { kind: 'reuse-ip', enabled: false },
    { kind: 'fault', route: 'all', fault: { kind: 'status', status: 502, count: 3 }, label: '5xx' },
    {
      kind: 'fault',
      route: 'instance-status',
      fault: { kind: 'rate-limit', resetSec: 2 },
      label: '429',
      instance: 'leader',
    },
    { kind: 'fault', route: 'all', fault: { kind: 'latency', ms: 2000 }, label: 'latency' },
    { kind: 'fault', route: 'all', fault: { kind: 'timeout', ms: 5000 }, label: 'timeout' },
    { kind: 'fault', route: 'all', fault: { kind: 'stale' }, label: 'stale' },
    { kind: 'clear-faults' },
    { kind: 'scale', to: 4 },
    {
      kind: 'chaos',
      forMs: 60_000,
      choose: [
        { kind: 'wipe', target: 'random', count: 1 },
        { kind: 'kill9', target: 'random', count: 1, instanceGone: true },
      ],
      convergeTimeoutMs: 180_000,
    },
  ]);
});

test('a file with several mistakes reports each one, with file, line, path and fix', () => {
  const issues = issuesOf(
    [
      'name: Bad Name', //                                  1
      'description: several mistakes', //                   2
      'duration: 90', //                                    3
      'group:', //                                          4
      '  maxVoters: 4', //                                  5
      '  ipReus: prefer', //                                6
      'timeline:', //                                       7
      '  - waitConverged', //                               8
      '  - sleep: 15', //                                   9
      '  - interrupt: { target: leadr, notice: 15s }', //   10
      '  - interrupt: { target: follower, notice: 2 }', //  11
      '  - kill9', //                                       12
      '  - fault: { kind: latency, status: 502 }', //       13
      '  - scaleTo: 5', //                                  14
      '    sleep: 2s', //                                   15
      '  - interupt: { target: leader }', //                16
      '  - wipe: { target: 2, count: 2 }', //               17
    ].join('\n'),
    'bad.yaml',
  );
  const expect: [number, string, RegExp][] = [
    [1, 'name', /lowercase letters/],
    [3, 'duration', /write '90s' or '90ms'/],
    [5, 'group.maxVoters', /odd number between 1 and 9 \(got 4\)/],
    [6, 'group.ipReus', /did you mean 'ipReuse'/],
    [9, 'timeline[1].sleep', /write '15s'/],
    [10, 'timeline[2].interrupt.target', /did you mean 'leader'/],
    [11, 'timeline[3].interrupt.notice', /write '2s'/],
    [12, 'timeline[4].kill9', /needs a value; write '- kill9: \{/],
    [13, 'timeline[5].fault.status', /only applies to kind 5xx/],
    [13, 'timeline[5].fault.delay', /is required for kind latency/],
    [14, 'timeline[6]', /one step per list item, found scaleTo and sleep/],
    [16, 'timeline[7]', /unknown step 'interupt'; did you mean 'interrupt'/],
    [17, 'timeline[8].wipe.count', /count above 1 needs target leader, follower or random/],
  ];
  for (const [line, path, re] of expect) {
    const hit = issues.find((i) => i.startsWith(`bad.yaml line ${line}: ${path}: `));
    assert.ok(hit, `no issue for ${path} on line ${line}:\n${issues.join('\n')}`);
    assert.match(hit, re);
  }
  assert.equal(issues.length, expect.length, issues.join('\n'));
});

test('the error message lists every issue and names the file', () => {
  try {
    parseScenarioText('name: a\ndescription: b\ntimeline: [sleep: 1s]\nextra: 1\n', 'f.yaml');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ScenarioError);
    assert.equal(err.code, 'SCENARIO_INVALID');
    assert.match(err.message, /^invalid scenario f\.yaml:\n {2}- /);
    assert.match(err.message, /f\.yaml line 4: extra: unknown key/);
    assert.match(err.message, /f\.yaml line 3: timeline: has no waitConverged step/);
  }
});

test('missing required fields, an empty timeline and YAML syntax errors are explained', () => {
  const missing = issuesOf('group: { size: 3 }\n');
  assert.ok(
    missing.some((i) => /name: is required/.test(i)),
    missing.join('\n'),
  );
  assert.ok(missing.some((i) => /description: is required/.test(i)));
  assert.ok(missing.some((i) => /timeline: is required/.test(i)));
  assert.ok(issuesOf('name: a\ndescription: b\ntimeline: []\n').some((i) => /timeline: is empty/.test(i)));
  const syntax = issuesOf('name: a\n  description: [b\n');
  assert.ok(
    syntax.every((i) => /x\.yaml line \d+: .*YAML syntax/.test(i)),
    syntax.join('\n'),
  );
  const target = issuesOf(
    'name: a\ndescription: b\ntimeline: [waitConverged, { interrupt: { notice: 2s } }]\n',
  );
  assert.ok(
    target.some((i) =>
      /timeline\[1\]\.interrupt\.target: is required; one of leader, follower, random/.test(i),
    ),
  );
});

test('data built in code goes through the same checks', () => {
  const s = parseScenarioData(
    { name: 'inline', description: 'd', timeline: ['waitConverged', { sleep: '5s' }] },
    'bench row',
  );
  assert.deepEqual(s.timeline[1], { kind: 'sleep', ms: 5000 });
  assert.throws(
    () => parseScenarioData({ name: 'inline', description: 'd', timeline: [{ sleep: 5 }] }, 'bench row'),
    (err: unknown) =>
      err instanceof ScenarioError && err.issues.some((i) => i.startsWith('bench row: timeline[0].sleep')),
  );
});

test('group.provider asg and the instanceRefresh step (bare: 10 s warmup)', () => {
  const s = parseScenarioText(
    [
      'name: r',
      'description: d',
      'group: { provider: asg }',
      'timeline:',
      '  - waitConverged',
      '  - instanceRefresh: 5s',
      '  - instanceRefresh',
    ].join('\n'),
    'r.yaml',
  );
  assert.equal(s.group.provider, 'asg');
  assert.deepEqual(s.timeline.slice(1), [
    { kind: 'instance-refresh', warmupMs: 5000 },
    { kind: 'instance-refresh', warmupMs: 10_000 },
  ]);
});

test('a chaos step draws any step or a named episode, for a count of events', () => {
  const s = parseScenarioText(
    `name: soakish
description: events and episodes
timeline:
  - waitConverged
  - chaos:
      events: 12
      choose:
        - interrupt: { target: leader, notice: 5s }
        - episode:
            name: partition-follower
            steps:
              - partition: { target: follower }
              - sleep: 10s
              - heal
        - pause: { target: random, process: agent }
`,
    'soakish.yaml',
  );
  assert.deepEqual(s.timeline[1], {
    kind: 'chaos',
    events: 12,
    choose: [
      { kind: 'interrupt', target: 'leader', count: 1, noticeMs: 5000 },
      {
        kind: 'episode',
        name: 'partition-follower',
        steps: [
          { kind: 'partition', target: 'follower', count: 1, direction: 'both' },
          { kind: 'sleep', ms: 10_000 },
          { kind: 'heal' },
        ],
      },
      { kind: 'pause', target: 'random', process: 'agent' },
    ],
    convergeTimeoutMs: 180_000,
  });
});

test('a chaos step needs a time or a count, an episode needs a name and steps and no chaos inside', () => {
  const one = (timeline: string) =>
    issuesOf(`name: bad-chaos\ndescription: x\ntimeline:\n  - waitConverged\n${timeline}`).join('\n');
  assert.match(one('  - chaos: { choose: [heal] }\n'), /chaos\.for: is required without events/);
  assert.match(
    one('  - chaos: { events: 3, choose: [{ episode: { name: e, steps: [] } }] }\n'),
    /episode\.steps: is empty/,
  );
  assert.match(
    one('  - chaos: { events: 3, choose: [{ episode: { name: Bad Name, steps: [heal] } }] }\n'),
    /episode\.name: expected lowercase letters/,
  );
  assert.match(
    one(
      '  - chaos: { events: 3, choose: [{ episode: { name: e, steps: [{ chaos: { for: 1m, choose: [heal] } }] } }] }\n',
    ),
    /unknown step 'chaos'/,
  );
  // An episode is not a timeline step of its own.
  assert.match(one('  - episode: { name: e, steps: [heal] }\n'), /unknown step 'episode'/);
});

test('full-disk and clock-step steps', () => {
  const s = parseScenarioText(
    `name: disk-and-clock
description: x
timeline:
  - waitConverged
  - fillDisk: { target: follower }
  - freeDisk
  - clockStep: { target: leader, by: 10m }
  - clockStep: { target: 1, by: 90s, backward: true }
`,
    'x.yaml',
  );
  assert.deepEqual(s.timeline.slice(1), [
    { kind: 'fill-disk', target: 'follower' },
    { kind: 'free-disk' },
    { kind: 'clock-step', target: 'leader', byMs: 600_000 },
    { kind: 'clock-step', target: 1, byMs: -90_000 },
  ]);
  assert.match(
    issuesOf('name: c\ndescription: x\ntimeline: [waitConverged, { clockStep: { target: leader } }]\n').join(
      '\n',
    ),
    /clockStep\.by: is required/,
  );
});

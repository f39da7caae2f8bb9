import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configEnvVars, envVarFor, loadConfig } from './load.ts';
import type { LoadConfigResult } from './load.ts';
import { formatDuration, parseDuration } from './duration.ts';
import type { Config } from './schema.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-spot-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function file(text: string): string {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}

function ok(r: LoadConfigResult): Config {
  if (!r.ok) assert.fail(`expected a valid config, got:\n${r.issues.join('\n')}`);
  return r.config;
}

function issues(r: LoadConfigResult): string[] {
  if (r.ok) assert.fail('expected issues, got a valid config');
  return r.issues;
}

describe('durations', () => {
  test('parse Go-style durations to milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('15s'), 15_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(' 6h '), 21_600_000);
  });
  test('reject bare numbers, unknown units and garbage', () => {
    for (const bad of ['5', '5 s', '5d', '-1s', 's', '', '1s2', '5S'])
      assert.equal(parseDuration(bad), undefined, bad);
  });
  test('format round-trips', () => {
    for (const ms of [1, 500, 1000, 61_000, 5_400_000, 21_600_000])
      assert.equal(parseDuration(formatDuration(ms)), ms);
  });
});

describe('loadConfig', () => {
  test('defaults: nothing given gives an elastigroup config with every default, durations in ms', () => {
    const c = ok(loadConfig({}));
    assert.deepEqual(c.group, {
      provider: 'elastigroup',
      apiUrl: 'https://api.spotinst.io',
      requestTimeoutMs: 5000,
    });
    assert.deepEqual(c.metadata, {
      url: 'http://169.254.169.254',
      requireV2: false,
      timeoutMs: 2000,
      tokenTtlMs: 21_600_000,
    });
    assert.equal(c.etcd.binary, 'etcd');
    assert.equal(c.etcd.mode, 'supervise');
    assert.deepEqual(c.etcd.systemd.startCommand, ['systemctl', 'start', 'etcd']);
    assert.equal(c.etcd.callTimeoutMs, 2000);
    assert.deepEqual(c.agent, {
      stateDir: '/var/lib/etcd-spot',
      statusPort: 2378,
      cycleIntervalMs: 5000,
      terminationPollIntervalMs: 5000,
      groupPollIntervalMs: 10_000,
      memberDeadAfterMs: 60_000,
      unstartedMemberTtlMs: 120_000,
      maxVoters: 5,
      maxLearners: 1,
      leaveOnRebalance: false,
    });
    assert.equal(c.log.level, 'info');
  });

  test('the example file loads and sets what it says', () => {
    const example = fileURLToPath(new URL('../../etcd-spot.example.yaml', import.meta.url));
    const c = ok(loadConfig({ file: example }));
    assert.equal(c.group.provider, 'elastigroup');
    assert.equal(c.group.provider === 'elastigroup' && c.group.groupId, 'sig-12345678');
    assert.equal(c.agent.unstartedMemberTtlMs, 120_000);
  });

  test('every key of the example file carries a comment', async () => {
    const { readFileSync } = await import('node:fs');
    const example = fileURLToPath(new URL('../../etcd-spot.example.yaml', import.meta.url));
    const lines = readFileSync(example, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*[a-zA-Z]+:/.test(line)) {
        const prev = lines[i - 1] ?? '';
        assert.match(prev, /^\s*#/, `line ${i + 1} (${line.trim()}) has no comment above it`);
      }
    });
  });

  test('precedence: flag > env > file > default', () => {
    const f = file('agent:\n  cycleInterval: 7s\n  maxVoters: 3\n  groupPollInterval: 20s\n');
    const c = ok(
      loadConfig({
        file: f,
        env: { ETCD_SPOT_AGENT_CYCLE_INTERVAL: '3s', ETCD_SPOT_AGENT_MAX_VOTERS: '7' },
        overrides: { 'agent.maxVoters': '1' },
      }),
    );
    assert.equal(c.agent.cycleIntervalMs, 3000, 'env beats file');
    assert.equal(c.agent.maxVoters, 1, 'flag beats env');
    assert.equal(c.agent.groupPollIntervalMs, 20_000, 'file beats default');
    assert.equal(c.agent.memberDeadAfterMs, 60_000, 'default');
  });

  test('env and flag strings are coerced by the schema type (numbers, booleans, lists, JSON)', () => {
    const c = ok(
      loadConfig({
        env: {
          ETCD_SPOT_METADATA_REQUIRE_V2: 'true',
          ETCD_SPOT_ETCD_EXTRA_ARGS: '--a=1, --b',
          ETCD_SPOT_ETCD_SYSTEMD_START_COMMAND: '["systemctl","restart","etcd"]',
          ETCD_SPOT_GROUP_PROVIDER: 'static',
          ETCD_SPOT_GROUP_INSTANCES: '[{"id":"i-1","privateIp":"10.0.0.1"}]',
          ETCD_SPOT_ETCD_CLIENT_PORT: '12379',
          HOME: '/root',
        },
        overrides: { 'agent.leaveOnRebalance': 'yes' },
      }),
    );
    assert.equal(c.metadata.requireV2, true);
    assert.deepEqual(c.etcd.extraArgs, ['--a=1', '--b']);
    assert.deepEqual(c.etcd.systemd.startCommand, ['systemctl', 'restart', 'etcd']);
    assert.deepEqual(c.group, { provider: 'static', instances: [{ id: 'i-1', privateIp: '10.0.0.1' }] });
    assert.equal(c.etcd.clientPort, 12379);
    assert.equal(c.agent.leaveOnRebalance, true);
  });

  test('the env mapping is derived from the schema and has no collisions', () => {
    const vars = configEnvVars();
    assert.equal(envVarFor(['agent', 'cycleInterval']), 'ETCD_SPOT_AGENT_CYCLE_INTERVAL');
    for (const name of [
      'ETCD_SPOT_GROUP_PROVIDER',
      'ETCD_SPOT_GROUP_GROUP_ID',
      'ETCD_SPOT_GROUP_INSTANCES',
      'ETCD_SPOT_METADATA_URL',
      'ETCD_SPOT_METADATA_REQUIRE_V2',
      'ETCD_SPOT_ETCD_SYSTEMD_DROP_IN_PATH',
      'ETCD_SPOT_AGENT_MAX_VOTERS',
      'ETCD_SPOT_LOG_LEVEL',
    ]) {
      assert.ok(vars.has(name), name);
    }
    assert.equal(vars.get('ETCD_SPOT_GROUP_GROUP_ID')?.path.join('.'), 'group.groupId');
  });

  test('an invalid file with 4 wrong fields reports 4 issues, each naming its field and line', () => {
    const f = file(
      [
        'group:',
        '  provider: aws',
        'agent:',
        '  maxVoters: 4',
        '  cycleInterval: soon',
        'log:',
        '  level: verbose',
      ].join('\n'),
    );
    const got = issues(loadConfig({ file: f }));
    assert.equal(got.length, 4, got.join('\n'));
    assert.ok(
      got.includes(`group.provider: expected 'elastigroup' or 'static' (got 'aws') [${f} line 2]`),
      got.join('\n'),
    );
    assert.ok(
      got.includes(`agent.maxVoters: must be an odd number between 1 and 9 (got 4) [${f} line 4]`),
      got.join('\n'),
    );
    assert.ok(got.some((i) => i.startsWith("agent.cycleInterval: expected a duration such as '500ms'")));
    assert.ok(
      got.some((i) =>
        i.startsWith("log.level: expected one of 'trace', 'debug', 'info', 'warn', 'error' (got 'verbose')"),
      ),
    );
  });

  test('issues from the file, env and flags are all reported at once, each naming its source', () => {
    const f = file('etcd:\n  clientPort: 70000\n');
    const got = issues(
      loadConfig({
        file: f,
        env: { ETCD_SPOT_METADATA_TIMEOUT: '5', ETCD_SPOT_AGENT_MAX_VOTERS: 'many' },
        overrides: { 'agent.statusPort': 'x' },
      }),
    );
    assert.equal(got.length, 4, got.join('\n'));
    assert.ok(
      got.some((i) => i.startsWith('etcd.clientPort: must be a TCP port between 1 and 65535 (got 70000)')),
    );
    assert.ok(got.some((i) => i.includes('metadata.timeout') && i.endsWith('[ETCD_SPOT_METADATA_TIMEOUT]')));
    assert.ok(
      got.includes("agent.maxVoters: expected a number (got 'many') [ETCD_SPOT_AGENT_MAX_VOTERS]"),
      got.join('\n'),
    );
    assert.ok(
      got.includes("agent.statusPort: expected a number (got 'x') [flag agent.statusPort]"),
      got.join('\n'),
    );
  });

  test('durations: numbers and out-of-range values are rejected with the fix', () => {
    const got = issues(loadConfig({ file: file('agent:\n  cycleInterval: 5\nmetadata:\n  tokenTtl: 7h\n') }));
    assert.ok(
      got.some(
        (i) => i.includes('agent.cycleInterval: expected a duration') && i.includes("write '5s' or '5ms'"),
      ),
    );
    assert.ok(got.some((i) => i.startsWith("metadata.tokenTtl: must be between 1s and 6h (got '7h')")));
  });

  test('unknown keys are rejected, with "did you mean" when close', () => {
    const got = issues(
      loadConfig({ file: file('agent:\n  maxVoter: 3\n  cycle_interval: 2s\n  frobnicate: 1\nlogs: {}\n') }),
    );
    assert.ok(
      got.some((i) => i.startsWith("agent.maxVoter: unknown key; did you mean 'maxVoters'?")),
      got.join('\n'),
    );
    assert.ok(
      got.some((i) => i.startsWith("agent.cycle_interval: unknown key; did you mean 'cycleInterval'?")),
    );
    assert.ok(got.some((i) => i.startsWith('agent.frobnicate: unknown key; expected one of: stateDir,')));
    assert.ok(got.some((i) => i.startsWith("logs: unknown key; did you mean 'log'?")));
  });

  test('a key of the other provider is named as such', () => {
    const got = issues(
      loadConfig({ file: file('group:\n  provider: static\n  groupId: sig-1\n  instances: []\n') }),
    );
    assert.ok(
      got.some((i) =>
        i.startsWith(
          "group.groupId: unknown key for provider 'static' (it belongs to provider 'elastigroup')",
        ),
      ),
    );
    assert.ok(
      got.some((i) => i.startsWith('group.instances: list at least one instance')),
      got.join('\n'),
    );
  });

  test('static instances are validated: IPs, duplicates, unknown keys', () => {
    const got = issues(
      loadConfig({
        file: file(
          'group:\n  provider: static\n  instances:\n    - { id: i-1, privateIp: 10.0.0.1 }\n    - { id: i-1, privateIp: nope }\n    - { id: i-3, privateIp: 10.0.0.3, zone: a }\n',
        ),
      }),
    );
    assert.ok(
      got.some((i) =>
        i.startsWith("group.instances[1].privateIp: must be an IPv4 or IPv6 address (got 'nope')"),
      ),
    );
    assert.ok(got.some((i) => i.startsWith("group.instances[1].id: duplicate 'i-1'")));
    assert.ok(
      got.some((i) => i.startsWith('group.instances[2].zone: unknown key')),
      got.join('\n'),
    );
  });

  test('unknown ETCD_SPOT_ variables are issues; reserved ones and other variables are ignored', () => {
    const got = issues(
      loadConfig({
        env: {
          ETCD_SPOT_AGENT_CYCLE_INTERVL: '3s',
          ETCD_SPOT_BANANA: '1',
          ETCD_SPOT_CONFIG: '/etc/etcd-spot.yaml',
          ETCD_SPOT_NO_FORCE_EXIT: '1',
          PATH: '/usr/bin',
        },
      }),
    );
    assert.deepEqual(got, [
      'ETCD_SPOT_AGENT_CYCLE_INTERVL: unknown setting; did you mean ETCD_SPOT_AGENT_CYCLE_INTERVAL?',
      'ETCD_SPOT_BANANA: unknown setting; unset it or see etcd-spot.example.yaml for the settings',
    ]);
  });

  test('unknown override paths are issues with a hint', () => {
    const got = issues(loadConfig({ overrides: { 'agent.maxVoter': '3' } }));
    assert.deepEqual(got, ["agent.maxVoter: unknown setting; did you mean 'agent.maxVoters'? [flag]"]);
  });

  test('a YAML syntax error names the file and line', () => {
    const f = file('group:\n  provider: elastigroup\nagent:\n  maxVoters: [3\n');
    const got = issues(loadConfig({ file: f }));
    assert.ok(got.length >= 1);
    assert.match(got[0] as string, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line [45]: `));
  });

  test('duplicate keys are a YAML error', () => {
    const got = issues(loadConfig({ file: file('agent:\n  maxVoters: 3\n  maxVoters: 5\n') }));
    assert.match(got[0] as string, / line 3: /);
  });

  test('a missing file is one issue; an empty file and empty sections mean defaults', () => {
    assert.deepEqual(issues(loadConfig({ file: join(dir, 'nope.yaml') })), [
      `${join(dir, 'nope.yaml')}: cannot read the config file (ENOENT); check the path`,
    ]);
    assert.equal(ok(loadConfig({ file: file('') })).agent.maxVoters, 5);
    assert.equal(ok(loadConfig({ file: file('agent:\nlog:\n') })).log.level, 'info');
    assert.match(issues(loadConfig({ file: file('- a\n- b\n') }))[0] as string, /line 1: expected a mapping/);
  });

  test('ports must differ', () => {
    const got = issues(loadConfig({ env: { ETCD_SPOT_AGENT_STATUS_PORT: '2380' } }));
    assert.deepEqual(got, [
      'agent.statusPort: must differ from etcd.peerPort (both are 2380) [ETCD_SPOT_AGENT_STATUS_PORT]',
    ]);
  });

  test('elastigroup ids and URLs are checked', () => {
    const got = issues(
      loadConfig({
        file: file('group:\n  groupId: 12345\n  account: acct\n  apiUrl: ftp://x\n'),
      }),
    );
    assert.equal(got.length, 3, got.join('\n'));
    assert.ok(got.some((i) => i.startsWith('group.groupId: expected a string (got 12345)')));
    assert.ok(got.some((i) => i.startsWith("group.account: must look like 'act-12345678' (got 'acct')")));
    assert.ok(
      got.some((i) => i.startsWith("group.apiUrl: must be an http:// or https:// URL (got 'ftp://x')")),
    );
  });
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import {
  MAX_ISSUES,
  MAX_ISSUE_LENGTH,
  MAX_YAML_MESSAGE_LENGTH,
  configEnvVars,
  envVarFor,
  loadConfig,
} from './load.ts';
import type { LoadConfigResult } from './load.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { configLeaves } from './schema.ts';
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
      metrics: true,
      cycleIntervalMs: 5000,
      terminationPollIntervalMs: 5000,
      groupPollIntervalMs: 10_000,
      steadyGroupPollIntervalMs: 60_000,
      followerGroupPollIntervalMs: 60_000,
      cloudStatusPollIntervalMs: 60_000,
      memberDeadAfterMs: 60_000,
      terminatedMemberDeadAfterMs: 5000,
      unstartedMemberTtlMs: 120_000,
      leaveAfterReplacement: true,
      leaveMarginMs: 15_000,
      replacementWaitMs: 15_000,
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

  test('systemd mode: every command can be set for a unit with another name; an empty one is refused, but the reload may be skipped', () => {
    const c = ok(
      loadConfig({
        file: file(
          'etcd:\n  mode: systemd\n  systemd:\n    startCommand: [systemctl, start, etcd3]\n' +
            '    stopCommand: [systemctl, stop, etcd3]\n    checkCommand: [systemctl, is-active, --quiet, etcd3]\n' +
            '    reloadCommand: []\n',
        ),
      }),
    );
    assert.deepEqual(c.etcd.systemd.checkCommand, ['systemctl', 'is-active', '--quiet', 'etcd3']);
    assert.deepEqual(c.etcd.systemd.reloadCommand, []);
    assert.deepEqual(ok(loadConfig({})).etcd.systemd.checkCommand, [
      'systemctl',
      'is-active',
      '--quiet',
      'etcd',
    ]);
    const got = issues(loadConfig({ file: file('etcd:\n  systemd:\n    checkCommand: []\n') }));
    assert.equal(got.length, 1);
    assert.match(got[0] as string, /^etcd\.systemd\.checkCommand: list the command and its arguments/);
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
      got.includes(`group.provider: expected 'elastigroup' or 'static' or 'asg' (got 'aws') [${f} line 2]`),
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

describe('hardening (issue 7)', () => {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  test('C26/C4: every duration has an upper bound within Node timers, named in the message', () => {
    const durations = configLeaves().filter((l) => l.kind === 'duration');
    assert.ok(durations.length >= 9, durations.map((l) => l.path.join('.')).join(', '));
    for (const l of durations) {
      const path = l.path.join('.');
      // A group key of another provider than the default is set with its provider.
      const provider: Record<string, string> =
        l.path[0] === 'group' && l.path[1] === 'heartbeatInterval' ? { 'group.provider': 'asg' } : {};
      // 600h is above 2^31-1 ms: Node would clamp such a timer to 1 ms.
      const got = issues(loadConfig({ overrides: { ...provider, [path]: '600h' } }));
      assert.equal(got.length, 1, `${path}: ${got.join('\n')}`);
      assert.match(got[0] as string, new RegExp(`^${esc(path)}: must be between \\S+ and \\S+`), got[0]);
      assert.ok((got[0] as string).endsWith(`(got '600h') [flag ${path}]`), got[0]);
    }
  });

  test('C4/C27: the agent intervals take the maxima a user expects', () => {
    const f = file(
      [
        'agent:',
        '  cycleInterval: 596h',
        '  groupPollInterval: 99999999999999999999h',
        '  memberDeadAfter: 10000h',
        '  unstartedMemberTtl: 25h',
      ].join('\n'),
    );
    assert.deepEqual(issues(loadConfig({ file: f })), [
      `agent.cycleInterval: must be between 100ms and 5m (got '596h') [${f} line 2]`,
      `agent.groupPollInterval: must be between 100ms and 10m (got '99999999999999999999h') [${f} line 3]`,
      `agent.memberDeadAfter: must be between 1s and 24h (got '10000h') [${f} line 4]`,
      `agent.unstartedMemberTtl: must be between 1s and 24h (got '25h') [${f} line 5]`,
    ]);
    const c = ok(
      loadConfig({
        overrides: {
          'agent.cycleInterval': '5m',
          'agent.groupPollInterval': '10m',
          'agent.memberDeadAfter': '24h',
          'agent.unstartedMemberTtl': '24h',
          'agent.terminationPollInterval': '60s',
        },
      }),
    );
    assert.equal(c.agent.memberDeadAfterMs, 86_400_000);
  });

  test('C27: terminationPollInterval above 60s is refused with the 2-minute notice as the reason', () => {
    assert.deepEqual(issues(loadConfig({ env: { ETCD_SPOT_AGENT_TERMINATION_POLL_INTERVAL: '1h' } })), [
      "agent.terminationPollInterval: must be between 100ms and 60s: a spot instance gets a 2-minute notice and the leave (hand over leadership, remove the member) needs most of it (got '1h') [ETCD_SPOT_AGENT_TERMINATION_POLL_INTERVAL]",
    ]);
  });

  test('warnings: legal but risky values are accepted with a warning each; defaults have none', () => {
    assert.deepEqual(ok2(loadConfig({})).warnings, []);
    const f = file('agent:\n  terminationPollInterval: 45s\n  memberDeadAfter: 15s\n');
    assert.deepEqual(ok2(loadConfig({ file: f })).warnings, [
      `agent.terminationPollInterval: 45s leaves little of a 2-minute spot notice for the leave; 30s or less is safer (default 5s) [${f} line 2]`,
      `agent.memberDeadAfter: 15s is shorter than 2 × agent.groupPollInterval (10s): one stale read of the group can get a member removed; make it at least 20s [${f} line 3]`,
    ]);
    assert.deepEqual(
      ok2(
        loadConfig({ overrides: { 'agent.terminationPollInterval': '30s', 'agent.memberDeadAfter': '20s' } }),
      ).warnings,
      [],
    );
  });

  test('S1: a secret of the wrong type or too short is described without its value', () => {
    const f = file('group:\n  token: [SUPERSECRET-in-list]\nagent:\n  peerSecret: 1234567890123\n');
    const got = issues(loadConfig({ file: f }));
    assert.deepEqual(got, [
      `group.token: expected a string (got (hidden list)) [${f} line 2]`,
      `agent.peerSecret: expected a string (got (hidden number)) [${f} line 4]`,
    ]);
    const short = issues(loadConfig({ env: { ETCD_SPOT_AGENT_PEER_SECRET: 'SUPERSECRET' } }));
    assert.deepEqual(short, [
      "agent.peerSecret: must be at least 16 characters (got (hidden, 11 characters)); generate one with 'openssl rand -hex 32' [ETCD_SPOT_AGENT_PEER_SECRET]",
    ]);
    for (const text of [...got, ...short]) {
      assert.ok(!text.includes('SUPERSECRET') && !text.includes('1234567890123'), text);
    }
  });

  test('S1/C22: a YAML error that quotes a secret line is blanked, and quoted text is cut', () => {
    const f = file('group:\n  token: [a]] SUPERSECRET-xyz\n');
    const got = issues(loadConfig({ file: f }));
    assert.ok(
      got.includes(`${f} line 2: Unexpected scalar token in YAML stream: "(hidden)"`),
      got.join('\n'),
    );
    assert.ok(!got.join('\n').includes('SUPERSECRET'), got.join('\n'));
    const long = issues(loadConfig({ file: file(`key: [a]] ${'x'.repeat(100_000)}\n`) }));
    assert.ok(long.length >= 1);
    for (const line of long) {
      const text = line.replace(/^.* line \d+: /, '');
      assert.ok(text.length <= MAX_YAML_MESSAGE_LENGTH, `${text.length} characters`);
    }
    assert.ok(
      long.some((l) => l.endsWith('…')),
      long.join('\n'),
    );
  });

  test('C22: binary files give a bounded list of bounded lines', () => {
    const got = issues(loadConfig({ file: process.execPath }));
    assert.ok(got.length <= MAX_ISSUES + 1, `${got.length} issues`);
    for (const line of got) assert.ok(line.length <= MAX_ISSUE_LENGTH, `${line.length} characters`);
  });

  test('new keys: token and tokenFile, peerSecret and peerSecretFile are each one or the other', () => {
    const f = file('group:\n  token: SUPERSECRET-token\n  tokenFile: /etc/etcd-spot/token\n');
    const got = issues(
      loadConfig({
        file: f,
        env: {
          ETCD_SPOT_AGENT_PEER_SECRET: 'SUPERSECRET-peer-0123456789',
          ETCD_SPOT_AGENT_PEER_SECRET_FILE: '/etc/etcd-spot/peer',
        },
      }),
    );
    assert.deepEqual(got, [
      `group.tokenFile: set either group.token or group.tokenFile, not both; remove one [${f} line 3]`,
      'agent.peerSecretFile: set either agent.peerSecret or agent.peerSecretFile, not both; remove one [ETCD_SPOT_AGENT_PEER_SECRET_FILE]',
    ]);
    assert.ok(!got.join('\n').includes('SUPERSECRET'));
    assert.deepEqual(issues(loadConfig({ overrides: { 'agent.peerSecretFile': 'secret.txt' } })), [
      "agent.peerSecretFile: must be an absolute path (got 'secret.txt') [flag agent.peerSecretFile]",
    ]);
    const c = ok(
      loadConfig({
        env: {
          ETCD_SPOT_GROUP_TOKEN_FILE: '/etc/etcd-spot/token',
          ETCD_SPOT_AGENT_PEER_SECRET: '0123456789abcdef',
        },
      }),
    );
    assert.equal(c.group.provider === 'elastigroup' && c.group.tokenFile, '/etc/etcd-spot/token');
    assert.equal(c.agent.peerSecret, '0123456789abcdef');
    const leaves = configLeaves();
    assert.deepEqual(
      leaves.filter((l) => l.secret).map((l) => l.path.join('.')),
      ['group.token', 'agent.peerSecret'],
    );
  });

  test('C15: loading is linear in the number of keys and the issue list is bounded', () => {
    let text = '';
    let keys = 0;
    while (text.length < 1_000_000) text += `unknown_key_${keys++}: ${keys}\n`;
    const f = file(text);
    const started = Date.now();
    const got = issues(loadConfig({ file: f }));
    const ms = Date.now() - started;
    // Quadratic loading took ~10 s for 20 000 keys; linear takes ~1 s for 40 000 on a shared core.
    assert.ok(ms < 15_000, `${ms} ms for ${keys} keys`);
    assert.equal(got.length, MAX_ISSUES + 1);
    assert.equal(
      got[0],
      `unknown_key_0: unknown key; expected one of: group, metadata, etcd, agent, recovery, snapshot, log [${f} line 1]`,
    );
    assert.equal(got[MAX_ISSUES], `… and ${keys - MAX_ISSUES} more`);
  });

  test('C15/C16: a file over 1 MiB is refused before it is parsed', () => {
    const f = file(`${'unknown_key: 1\n'.repeat(420_000)}`);
    const started = Date.now();
    assert.deepEqual(issues(loadConfig({ file: f })), [
      `${f}: the config file is larger than 1 MiB (6 MiB); a config file is a few kB, check the path`,
    ]);
    assert.ok(Date.now() - started < 2000);
  });

  test('C16: a FIFO or a device is refused without reading (no hang)', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.deepEqual(issues(loadConfig({ file: fifo })), [
      `${fifo}: not a regular file (a FIFO); point -c at a YAML file`,
    ]);
    assert.deepEqual(issues(loadConfig({ file: '/dev/null' })), [
      '/dev/null: not a regular file (a character device); point -c at a YAML file',
    ]);
    assert.deepEqual(issues(loadConfig({ file: dir })), [
      `${dir}: not a regular file (a directory); point -c at a YAML file`,
    ]);
  });

  test('C17: a YAML alias bomb is a config issue naming the file', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ])
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    const f = file(`${lines.join('\n')}\n`);
    assert.deepEqual(issues(loadConfig({ file: f })), [
      `${f}: the config file uses too many YAML aliases (*name); write the values out`,
    ]);
  });

  test('C25: a second YAML document is named as such', () => {
    const f = file('group:\n  groupId: sig-1\n---\n- a\n');
    assert.deepEqual(issues(loadConfig({ file: f })), [
      `${f}: the config file must hold one YAML document; found a second one at line 3; remove the '---' and what follows, or merge the documents`,
    ]);
  });

  test('duplicate keys are found without the quadratic check and named with both lines', () => {
    const f = file('agent:\n  maxVoters: 3\n  maxVoters: 5\n');
    assert.deepEqual(issues(loadConfig({ file: f })), [
      `${f} line 3: agent.maxVoters is set twice (first at line 2); keep one`,
    ]);
  });

  test('C8: etcd.dataDir may not be agent.stateDir nor contain it', () => {
    assert.deepEqual(
      issues(
        loadConfig({ overrides: { 'etcd.dataDir': '/srv/d1/state', 'agent.stateDir': '/srv/d1/state/' } }),
      ),
      [
        "etcd.dataDir: must differ from agent.stateDir (both are /srv/d1/state): wiping the member's data would delete the agent's own record; use e.g. /srv/d1/state/etcd [flag etcd.dataDir]",
      ],
    );
    assert.deepEqual(
      issues(
        loadConfig({
          env: { ETCD_SPOT_ETCD_DATA_DIR: '/srv/d1', ETCD_SPOT_AGENT_STATE_DIR: '/srv/d1/state' },
        }),
      ),
      [
        "etcd.dataDir: must not contain agent.stateDir (/srv/d1/state is inside /srv/d1): wiping the member's data would delete the agent's own record; put the state outside, e.g. agent.stateDir: /srv/etcd-spot-state [ETCD_SPOT_ETCD_DATA_DIR]",
      ],
    );
    // The default layout (data inside the state dir) is safe: wiping the data dir leaves the state.
    ok(loadConfig({}));
    ok(loadConfig({ overrides: { 'etcd.dataDir': '/srv/d1-data', 'agent.stateDir': '/srv/d1' } }));
  });

  test('C8b: system directories are refused for both', () => {
    assert.deepEqual(issues(loadConfig({ overrides: { 'etcd.dataDir': '/', 'agent.stateDir': '/' } })), [
      'etcd.dataDir: / is a system directory and the agent deletes etcd.dataDir when it wipes its member; use a directory of its own, e.g. /var/lib/etcd-spot/etcd [flag etcd.dataDir]',
      'agent.stateDir: / is a system directory; use a directory of its own, e.g. /var/lib/etcd-spot [flag agent.stateDir]',
      "etcd.dataDir: must differ from agent.stateDir (both are /): wiping the member's data would delete the agent's own record; use e.g. /etcd [flag etcd.dataDir]",
    ]);
    for (const d of ['/var', '/etc/', '/home', '/tmp', '/usr', '/var/lib', '/usr/../boot']) {
      const got = issues(loadConfig({ overrides: { 'etcd.dataDir': d } }));
      assert.match(
        got[0] as string,
        /^etcd\.dataDir: \/\S* is a system directory/,
        `${d}: ${got.join('\n')}`,
      );
      const got2 = issues(loadConfig({ overrides: { 'agent.stateDir': d } }));
      assert.ok(
        got2.some((i) => /^agent\.stateDir: \/\S* is a system directory/.test(i)),
        `${d}: ${got2.join('\n')}`,
      );
    }
    ok(
      loadConfig({
        overrides: { 'etcd.dataDir': '/tmp/etcd-x/data', 'agent.stateDir': '/tmp/etcd-x/state' },
      }),
    );
  });
});

function ok2(r: LoadConfigResult): Extract<LoadConfigResult, { ok: true }> {
  if (!r.ok) assert.fail(`expected a valid config, got:\n${r.issues.join('\n')}`);
  return r;
}

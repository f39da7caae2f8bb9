// `etcd-spot status` as a user runs it: the CLI process against the emulator's Spot.io API over HTTP and
// a real 3-member etcd on 127.0.33.x whose IPs are the emulated instances' private IPs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { startTestCluster, type TestCluster } from '../support/etcd-cluster-fixture.ts';

const TOKEN = 'status-test-token';
let emu: RunningEmulator;
let cluster: TestCluster;
let groupId: string;
const instanceByIp = new Map<string, string>();

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/etcd-spot.js', ...args],
      {
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', SPOTINST_TOKEN: TOKEN, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

before(async () => {
  cluster = await startTestCluster({ size: 3, ipPrefix: '127.0.33' });
  emu = await startEmulator({
    listen: '127.0.0.1:0',
    token: TOKEN,
    instanceImds: false,
    ipPrefix: '127.0.33',
  });
  const g = emu.state.createGroup({ name: 'status-test', targetCapacity: 0, autoReplace: false });
  groupId = g.id;
  for (const m of cluster.members) {
    const inst = emu.state.launchInstance(groupId, { privateIp: m.ip });
    instanceByIp.set(m.ip, inst.id);
  }
});

after(async () => {
  await emu?.close();
  await cluster?.close();
});

test('status --json shows every instance matched to a healthy member with one leader, exit 0', async () => {
  const r = await cli(['status', '--json', '--api-url', emu.url, '--group-id', groupId]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.problems, 0);
  assert.equal(report.voters, 3);
  assert.equal(report.rows.length, 3);
  const leaders = report.rows.filter((x: { role: string }) => x.role === 'leader');
  assert.equal(leaders.length, 1);
  for (const row of report.rows) {
    assert.equal(row.instanceId, instanceByIp.get(row.privateIp));
    assert.match(row.memberId, /^[0-9a-f]{16}$/);
    assert.equal(row.healthy, true);
    assert.ok(row.raftIndex > 0);
  }
});

test('the table names its columns and says that instances and members match', async () => {
  const r = await cli(['status', '--api-url', emu.url, '--group-id', groupId]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^INSTANCE\s+PRIVATE IP\s+MEMBER ID\s+NAME\s+ROLE\s+HEALTHY\s+RAFT TERM\s+RAFT INDEX\s+VERSION\s+DB SIZE\s+AGENT\s+PROBLEM\n/,
  );
  assert.match(r.stdout, /3 voter\(s\), 0 learner\(s\), leader [0-9a-f]{16}; instances and members match/);
  // Which cluster, which group, and when: the line above the summary.
  assert.match(
    r.stdout,
    new RegExp(`\\ncluster [0-9a-f]{1,16} · .*${groupId} · \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n`),
  );
  const json = JSON.parse(
    (await cli(['status', '--json', '--api-url', emu.url, '--group-id', groupId])).stdout,
  );
  assert.match(json.clusterId, /^[0-9a-f]{1,16}$/);
  assert.match(json.group, new RegExp(groupId));
  assert.ok(Math.abs(Date.parse(json.generatedAt) - Date.now()) < 60_000, json.generatedAt);
});

/** The stderr lines that are not JSON log lines. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{') && !l.startsWith('warning: '));
}

function assertNoSecret(r: { stdout: string; stderr: string }, secret: string): void {
  assert.ok(!r.stdout.includes(secret), 'secret printed on stdout');
  assert.ok(!r.stderr.includes(secret), 'secret printed on stderr');
}

test('wrong token: one line naming the token, exit 3, the token not printed', async () => {
  const wrong = 'wrong-status-token-5521';
  const r = await cli(['status', '--api-url', emu.url, '--group-id', groupId], { SPOTINST_TOKEN: wrong });
  assert.equal(r.code, 3);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^Error: cannot list the instances of elastigroup sig-\w+: .*HTTP 401.*check the token/,
  );
  assert.doesNotMatch(r.stderr, /caused by/);
  assertNoSecret(r, wrong);
});

test('a group that does not exist: exit 3 naming the group', async () => {
  const r = await cli(['status', '--api-url', emu.url, '--group-id', 'sig-doesnotexist']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /sig-doesnotexist/);
  assert.equal(errorLines(r.stderr).length, 1, r.stderr);
});

test('cloud API unreachable: exit 3, one line, no hang', async () => {
  const r = await cli([
    'status',
    '--api-url',
    'http://127.0.33.250:9',
    '--group-id',
    groupId,
    '--set',
    'group.requestTimeout=1s',
  ]);
  assert.equal(r.code, 3);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^Error: cannot list the instances of elastigroup sig-\w+: cannot reach Spot\.io at http:\/\/127\.0\.33\.250:9 .*; check group\.apiUrl \(--api-url\)/,
  );
});

test('etcd unreachable (L6): exit 4, one short line per failure reason naming every endpoint', async () => {
  const r = await cli([
    'status',
    '--api-url',
    emu.url,
    '--group-id',
    groupId,
    '--endpoints',
    'http://127.0.33.251:2379,http://127.0.33.252:2379',
  ]);
  assert.equal(r.code, 4);
  assert.deepEqual(errorLines(r.stderr), [
    'Error: no etcd member answered at http://127.0.33.251:2379, http://127.0.33.252:2379 (connection refused); is etcd running? check --endpoints',
  ]);
  assert.equal(r.stdout, '');
});

test("a group whose instances run no etcd (L6): exit 4, one line naming each instance's client URL", async () => {
  const g = emu.state.createGroup({ name: 'status-no-etcd', targetCapacity: 2, autoReplace: false });
  const urls = emu.state
    .listInstances({ groupId: g.id })
    .map((i) => `http://${i.privateIp}:2379`)
    .sort();
  const r = await cli(['status', '--api-url', emu.url, '--group-id', g.id]);
  assert.equal(r.code, 4, r.stderr);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  const m =
    /^Error: no etcd member answered at (.+) \(connection refused\); is etcd running\? check --endpoints$/.exec(
      lines[0]!,
    );
  assert.ok(m, lines[0]);
  assert.deepEqual(m[1]!.split(', ').sort(), urls);
  assert.ok(r.stderr.length < 300, `${r.stderr.length} bytes on stderr`);
});

test('etcd unreachable with --verbose: the cause follows, each on a "caused by" line', async () => {
  const r = await cli([
    'status',
    '--verbose',
    '--api-url',
    emu.url,
    '--group-id',
    groupId,
    '--endpoints',
    'http://127.0.33.251:2379',
  ]);
  assert.equal(r.code, 4);
  const lines = errorLines(r.stderr);
  assert.match(
    lines[0]!,
    /^Error: no etcd member answered at http:\/\/127\.0\.33\.251:2379 \(connection refused\)/,
  );
  assert.ok(lines.length >= 2, r.stderr);
  assert.ok(
    lines
      .slice(1)
      .some((l) => /^ {2}caused by: member list via http:\/\/127\.0\.33\.251:2379: .*ECONNREFUSED/.test(l)),
    r.stderr,
  );
  for (const l of lines.slice(1)) assert.match(l, /^ {2}caused by: /);
});

test('etcd unreachable with --json (L7): a JSON error document on stdout, exit 4', async () => {
  const r = await cli([
    'status',
    '--json',
    '--api-url',
    emu.url,
    '--group-id',
    groupId,
    '--endpoints',
    'http://127.0.33.251:2379',
  ]);
  assert.equal(r.code, 4);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc, {
    schemaVersion: 1,
    error: {
      code: 'ETCD_UNREACHABLE',
      message:
        'no etcd member answered at http://127.0.33.251:2379 (connection refused); is etcd running? check --endpoints',
      exitCode: 4,
    },
  });
  assertNoSecret(r, TOKEN);
});

test('a malformed --endpoints is a usage error naming the flag (L17), exit 2, also as JSON', async () => {
  const r = await cli([
    'status',
    '--api-url',
    emu.url,
    '--group-id',
    groupId,
    '--endpoints',
    'not a url,ftp://x:1',
  ]);
  assert.equal(r.code, 2);
  assert.deepEqual(errorLines(r.stderr), [
    'Error: --endpoints: "not a url", "ftp://x:1" are not etcd client URLs; expected http://host:port, e.g. http://10.0.0.5:2379',
  ]);
  const j = await cli([
    'status',
    '--json',
    '--api-url',
    emu.url,
    '--group-id',
    groupId,
    '--endpoints',
    'ftp://x:1',
  ]);
  assert.equal(j.code, 2);
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.error.code, 'USAGE');
  assert.equal(doc.error.exitCode, 2);
  assert.match(doc.error.message, /^--endpoints: "ftp:\/\/x:1" is not an etcd client URL/);
});

test('no token anywhere: the configuration error once, exit 2, as JSON with --json', async () => {
  const r = await cli(['status', '--api-url', emu.url, '--group-id', groupId], { SPOTINST_TOKEN: '' });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.match(/no Spot\.io token found/g)?.length, 1, r.stderr);
  const j = await cli(['status', '--json', '--api-url', emu.url, '--group-id', groupId], {
    SPOTINST_TOKEN: '',
  });
  assert.equal(j.code, 2);
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.error.code, 'CONFIG_INVALID');
  assert.equal(doc.error.issues.length, 1);
  assert.match(doc.error.issues[0], /^no Spot\.io token found/);
});

test('an invalid flag value names the field, exit 2', async () => {
  const r = await cli(['status', '--api-url', emu.url, '--group-id', groupId, '--set', 'agent.maxVoters=4']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /agent\.maxVoters/);
});

test("when a member's instance is gone and its etcd is down, status flags it and exits 5", async () => {
  // A follower: killing the leader would add an election to the picture (every member "no-leader" for
  // a second or two, as status rightly says), a flake in CI where the CLI starts slower.
  const lead = await cluster.leaderIndex();
  assert.notEqual(lead, undefined, 'the cluster has a leader before the kill');
  const index = lead === 2 ? 1 : 2;
  const victim = cluster.members[index]!;
  await cluster.killMember(index);
  emu.state.terminateInstance(instanceByIp.get(victim.ip)!);
  const r = await cli(['status', '--json', '--api-url', emu.url, '--group-id', groupId]);
  assert.equal(r.code, 5, r.stderr);
  const report = JSON.parse(r.stdout);
  const row = report.rows.find((x: { privateIp: string }) => x.privateIp === victim.ip);
  assert.equal(row.problem, 'member-without-instance');
  assert.equal(row.healthy, false);
  const problems = report.rows.filter((x: { problem?: string }) => x.problem);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  const text = await cli(['status', '--api-url', emu.url, '--group-id', groupId]);
  assert.equal(text.code, 5);
  assert.match(text.stdout, /1 problem\(s\):\n {2}- member-without-instance: /);
});

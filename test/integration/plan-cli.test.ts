// `etcd-spot plan` as a user runs it: the CLI process against the emulator's Spot.io API and instance
// metadata (by-path on the main listener), no etcd running (so the plan waits for a seeder). Checks the
// exit codes of an incomplete observation, the one-line errors, --json failures and that no token leaks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { closedPort, errorLines, runCli } from './cli-support.ts';

const TOKEN = 'plan-cli-secret-token-7f3a';
let emu: RunningEmulator;
let groupId: string;
let imdsUrl: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-spot-plan-cli-'));
  emu = await startEmulator({
    listen: '127.0.0.1:0',
    token: TOKEN,
    instanceImds: false,
    ipPrefix: '127.0.61',
  });
  const g = emu.state.createGroup({ name: 'plan-cli', targetCapacity: 0, autoReplace: false });
  groupId = g.id;
  const first = emu.state.launchInstance(groupId, {});
  emu.state.launchInstance(groupId, {});
  emu.state.launchInstance(groupId, {});
  imdsUrl = emu.imdsUrl(first.id);
});

after(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

function plan(extra: string[], env: Record<string, string> = {}) {
  return runCli(
    [
      'plan',
      '--api-url',
      emu.url,
      '--group-id',
      groupId,
      '--metadata-url',
      imdsUrl,
      '--set',
      `agent.stateDir=${join(dir, 'state')}`,
      '--set',
      `etcd.dataDir=${join(dir, 'data')}`,
      '--set',
      'etcd.callTimeout=1s',
      '--set',
      'group.requestTimeout=2s',
      ...extra,
    ],
    { SPOTINST_TOKEN: TOKEN, ...env },
  );
}

function assertNoSecret(r: { stdout: string; stderr: string }, secret = TOKEN): void {
  assert.ok(!r.stdout.includes(secret), 'token printed on stdout');
  assert.ok(!r.stderr.includes(secret), 'token printed on stderr');
}

test('a complete observation: the plan table and exit 0, nothing on stderr', async () => {
  const r = await plan([]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^#\s+WHEN\s+ACTION\s+TARGET\s+REASON\n1\s+now\s+wait/);
  assert.equal(r.stderr, '');
  assertNoSecret(r);
});

test('--json of a complete observation: schemaVersion, actions, the group, no error', async () => {
  const r = await plan(['--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.schemaVersion, 1);
  assert.ok(Array.isArray(doc.actions) && doc.actions.length > 0);
  assert.equal(doc.observation.group.ok, true);
  assert.equal(doc.observation.group.instances.length, 3);
  assert.equal(doc.error, undefined);
});

test('wrong token (L14): the plan is still printed, then one error line naming the token, exit 3', async () => {
  const wrong = 'WRONG-token-plan-cli-91';
  const r = await plan([], { SPOTINST_TOKEN: wrong });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^#\s+WHEN\s+ACTION/);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^Error: the plan is incomplete: cannot list the instances of elastigroup sig-\w+: .*HTTP 401.*check the token/,
  );
  assert.doesNotMatch(r.stderr, /caused by/);
  assertNoSecret(r, wrong);
});

test('cloud API down (L15): exit 3 naming the API URL, within the request timeout', async () => {
  const port = await closedPort();
  const r = await plan(['--api-url', `http://127.0.0.1:${port}`]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^#\s+WHEN\s+ACTION/);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    new RegExp(
      `cannot reach Spot\\.io at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); check group\\.apiUrl \\(--api-url\\) and that the API is reachable from here$`,
    ),
  );
  assertNoSecret(r);
});

test('a group that does not exist (L16): exit 3 naming the group', async () => {
  const r = await plan(['--group-id', 'sig-doesnotexist']);
  assert.equal(r.code, 3, r.stderr);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /sig-doesnotexist does not exist/);
});

test('--json with a wrong token: one JSON document with the plan and the error, exit 3', async () => {
  const r = await plan(['--json'], { SPOTINST_TOKEN: 'WRONG-token-plan-cli-92' });
  assert.equal(r.code, 3, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.schemaVersion, 1);
  assert.ok(Array.isArray(doc.actions));
  assert.equal(doc.observation.group.ok, false);
  assert.equal(doc.error.code, 'CLOUD_UNAVAILABLE');
  assert.equal(doc.error.exitCode, 3);
  assert.match(doc.error.message, /HTTP 401/);
  assertNoSecret(r, 'WRONG-token-plan-cli-92');
});

test('metadata unreachable (C28): fails within seconds naming the URL and --metadata-url, exit 3', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const r = await plan(['--metadata-url', url]);
  assert.equal(r.code, 3, r.stderr);
  assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
  assert.equal(r.stdout, '');
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(
    lines[0]!.startsWith(`Error: no instance metadata at ${url}: not on an instance? use --metadata-url`),
    lines[0],
  );
  assert.doesNotMatch(r.stderr, /operation was aborted/);
});

test('metadata unreachable with --json: a JSON error document on stdout', async () => {
  const port = await closedPort();
  const r = await plan(['--metadata-url', `http://127.0.0.1:${port}`, '--json']);
  assert.equal(r.code, 3, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(doc).sort(), ['error', 'schemaVersion']);
  assert.equal(doc.error.code, 'METADATA_UNREACHABLE');
  assert.equal(doc.error.exitCode, 3);
  assert.match(doc.error.message, /^no instance metadata at /);
});

test('--verbose adds the cause chain, one "caused by" line per cause', async () => {
  const port = await closedPort();
  const r = await plan(['--metadata-url', `http://127.0.0.1:${port}`, '--verbose']);
  assert.equal(r.code, 3);
  const lines = errorLines(r.stderr);
  assert.match(lines[0]!, /^Error: no instance metadata at /);
  assert.ok(lines.length >= 2, r.stderr);
  for (const l of lines.slice(1)) assert.match(l, /^ {2}caused by: /);
});

test('log.level=debug shows the cause chain as --verbose does', async () => {
  const port = await closedPort();
  const r = await plan(['--metadata-url', `http://127.0.0.1:${port}`, '--set', 'log.level=debug']);
  assert.equal(r.code, 3);
  const lines = errorLines(r.stderr);
  assert.match(lines[0]!, /^Error: no instance metadata at /);
  assert.match(lines[1] ?? '', /^ {2}caused by: /, r.stderr);
});

test('no token anywhere (C6): the configuration error is printed once, exit 2', async () => {
  const r = await plan([], { SPOTINST_TOKEN: '' });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.match(/no Spot\.io token found/g)?.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /caused by/);
  assert.match(r.stderr, /(^|\n)Error: invalid configuration:\n {2}- no Spot\.io token found/);
});

test('a usage error with --json still yields a JSON document, exit 2', async () => {
  const r = await runCli(['plan', '--json', '--no-such-flag']);
  assert.equal(r.code, 2);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.error.code, 'USAGE');
  assert.equal(doc.error.exitCode, 2);
  assert.match(doc.error.message, /--no-such-flag/);
});

test('--endpoints: plan probes etcd there too (a cluster not at the group IPs), and a bad URL is exit 2', async () => {
  const { startTestCluster } = await import('../support/etcd-cluster-fixture.ts');
  const cluster = await startTestCluster({ size: 1, ipPrefix: '127.0.63' });
  try {
    const endpoint = cluster.endpoints[0]!;
    const r = await plan(['--json', '--endpoints', endpoint]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.observation.cluster.reachable, true, r.stdout);
    assert.equal(doc.observation.cluster.via, endpoint);
    const bad = await plan(['--endpoints', 'not a url']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(errorLines(bad.stderr)[0]!, /^Error: --endpoints: "not a url" is not an etcd client URL/);
  } finally {
    await cluster.close();
  }
});

test('a plan that waits for etcd says why in a few words, not gRPC’s chain', async () => {
  const r = await plan(['--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.observation.cluster.reachable, false);
  // Refused at once, or (on a loaded machine) past etcd.callTimeout: either way a few words.
  assert.match(doc.observation.cluster.error, /: (connection refused|timed out)\)$/);
  assert.doesNotMatch(r.stdout, /UNAVAILABLE|Resolution note/);
});

function planAs(instance: string, extra: string[] = []) {
  return runCli(
    [
      'plan',
      '--api-url',
      emu.url,
      '--group-id',
      groupId,
      '--instance',
      instance,
      '--set',
      `agent.stateDir=${join(dir, 'state-as')}`,
      '--set',
      `etcd.dataDir=${join(dir, 'data-as')}`,
      '--set',
      'etcd.callTimeout=1s',
      '--set',
      'group.requestTimeout=2s',
      ...extra,
    ],
    { SPOTINST_TOKEN: TOKEN },
  );
}

test('plan --instance: plans as that instance from anywhere (no metadata service), in every format', async () => {
  const [, second] = emu.state.listInstances({ groupId });
  const table = await planAs(second!.id);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^#\s+WHEN\s+ACTION\s+TARGET\s+REASON\n1\s+now\s+\S+/);
  const bare = await planAs(second!.id, ['--no-headers']);
  assert.match(bare.stdout, /^1\s+now\s+/);
  const wide = await planAs(second!.id, ['-o', 'wide']);
  assert.match(
    wide.stdout,
    new RegExp(
      `\\nobserved as ${second!.id} \\(${second!.privateIp.replace(/\./g, '\\.')}\\):\\n  group: 3 instance\\(s\\)`,
    ),
  );
  assert.match(wide.stdout, /notices: none; unknown from: .*no instance metadata: planning as --instance/);
  const json = await planAs(second!.id, ['-o', 'json']);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.schemaVersion, 1);
  assert.equal(doc.observation.self.instanceId, second!.id);
  assert.equal(doc.actions[0].step, 1);
  assert.equal(doc.actions[0].expected, false);
  assert.ok(doc.actions.slice(1).every((a: { expected: boolean }) => a.expected));
  const yaml = await planAs(second!.id, ['-o', 'yaml']);
  assert.match(yaml.stdout, /^schemaVersion: 1\nactions:\n {2}- /);
  assertNoSecret(json);
});

test('plan --instance of no running instance, or with --metadata-url: one usage line, exit 2', async () => {
  const r = await planAs('i-notthere');
  assert.equal(r.code, 2);
  assert.match(
    errorLines(r.stderr)[0]!,
    /^Error: --instance "i-notthere": not a running instance of elastigroup sig-\w+; running: i-/,
  );
  const both = await planAs('i-x', ['--metadata-url', imdsUrl]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--instance and --metadata-url exclude each other/);
});

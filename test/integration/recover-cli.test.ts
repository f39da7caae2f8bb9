// `etcd-spot recover` as an operator runs it on an instance: against the emulator's Spot.io API and
// instance metadata, no etcd running. --dry-run writes nothing and prints the plan the agent would make
// with the order; without it the order lands in <agent.stateDir>/recover.json; contradictory flags are
// a usage error (exit 2).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { runCli } from './cli-support.ts';

const TOKEN = 'recover-cli-secret-token-21c9';
let emu: RunningEmulator;
let groupId: string;
let selfId: string;
let imdsUrl: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-spot-recover-cli-'));
  emu = await startEmulator({
    listen: '127.0.0.1:0',
    token: TOKEN,
    instanceImds: false,
    ipPrefix: '127.0.66',
  });
  const g = emu.state.createGroup({ name: 'recover-cli', targetCapacity: 0, autoReplace: false });
  groupId = g.id;
  const first = emu.state.launchInstance(groupId, {});
  emu.state.launchInstance(groupId, {});
  selfId = first.id;
  imdsUrl = emu.imdsUrl(first.id);
});

after(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

const stateDir = () => join(dir, 'state');

function recover(extra: string[]) {
  return runCli(
    [
      'recover',
      '--set',
      'group.provider=elastigroup',
      '--set',
      `group.apiUrl=${emu.url}`,
      '--set',
      `group.groupId=${groupId}`,
      '--set',
      `metadata.url=${imdsUrl}`,
      '--set',
      `agent.stateDir=${stateDir()}`,
      '--set',
      `etcd.dataDir=${join(dir, 'data')}`,
      '--set',
      'etcd.callTimeout=1s',
      '--set',
      'group.requestTimeout=2s',
      ...extra,
    ],
    { SPOTINST_TOKEN: TOKEN },
  );
}

test('--dry-run prints the plan with the order in place and writes nothing', async () => {
  const r = await recover(['--dry-run', '--from', selfId]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`dry run, nothing written; with the order \\{"at":\\d+,"from":"${selfId}"\\}`),
  );
  assert.match(r.stdout, /^#\s+WHEN\s+ACTION\s+TARGET\s+REASON$/m);
  assert.ok(!existsSync(join(stateDir(), 'recover.json')), 'a dry run wrote the order');
  assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
});

test('the order is written to agent.stateDir/recover.json', async () => {
  const r = await recover(['--from', selfId]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /recovery order written to .*recover\.json \(valid 10 min\)/);
  const order = JSON.parse(readFileSync(join(stateDir(), 'recover.json'), 'utf8'));
  assert.equal(order.from, selfId);
  assert.ok(Math.abs(order.at - Date.now()) < 60_000);
});

test('--from with --empty is a usage error, exit 2', async () => {
  const r = await recover(['--from', selfId, '--empty']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--from and --empty exclude each other/);
});

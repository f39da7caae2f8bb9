// `etcd-spot agent` start-up refusals as a user meets them, with the CLI process against the emulator's
// Spot.io API and instance metadata (by-path on the main listener) and a real etcd from PATH:
// - L19: a second agent for the same instance (or any program on agent.statusPort) → exit 2, one line,
//   and the first agent and its etcd untouched;
// - H1: an etcd.binary that is not there → exit 2 at start, before any directory is created.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { closedPort, errorLines, listenOn, runCli } from './cli-support.ts';

const TOKEN = 'agent-cli-secret-token-c41e';
const IP_PREFIX = '127.0.62';
let emu: RunningEmulator;
let groupId: string;
let instanceId: string;
let privateIp: string;
let dir: string;
const started: ChildProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-spot-agent-cli-'));
  emu = await startEmulator({
    listen: '127.0.0.1:0',
    token: TOKEN,
    instanceImds: false,
    ipPrefix: IP_PREFIX,
  });
  // A group of one: its desired capacity is what the agent's bootstrap majority counts.
  const g = emu.state.createGroup({ name: 'agent-cli', targetCapacity: 1, autoReplace: false });
  groupId = g.id;
  const [inst] = emu.state.listInstances({ groupId });
  instanceId = inst!.id;
  privateIp = inst!.privateIp;
});

after(async () => {
  for (const p of started) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  }
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The flags of an agent for the group's one instance, with its dirs under `base`. */
function agentArgs(base: string, statusPort: number, clientPort: number, extra: string[] = []): string[] {
  const set = (kv: string) => ['--set', kv];
  return [
    'agent',
    ...set(`group.groupId=${groupId}`),
    ...set(`group.apiUrl=${emu.url}`),
    ...set('group.requestTimeout=2s'),
    ...set(`metadata.url=${emu.imdsUrl(instanceId)}`),
    ...set('metadata.timeout=1s'),
    ...set(`etcd.dataDir=${join(base, 'data')}`),
    ...set(`agent.stateDir=${join(base, 'state')}`),
    ...set(`agent.statusPort=${statusPort}`),
    ...set(`etcd.clientPort=${clientPort}`),
    ...set(`etcd.peerPort=${clientPort + 1}`),
    ...set('etcd.callTimeout=1s'),
    ...set('agent.cycleInterval=500ms'),
    ...extra,
  ];
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  context: () => string = () => '',
  ms = 45_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a second agent for the same instance (L19): exit 2 naming agent.statusPort; the first agent and its etcd untouched', async () => {
  const base = join(dir, 'same-instance');
  const statusPort = await closedPort(privateIp);
  const clientPort = 23790;
  const log = openSync(join(dir, 'first-agent.log'), 'a');
  const first = spawn(process.execPath, ['bin/etcd-spot.js', ...agentArgs(base, statusPort, clientPort)], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', SPOTINST_TOKEN: TOKEN },
    stdio: ['ignore', log, log],
  });
  started.push(first);
  const statusUrl = `http://${privateIp}:${statusPort}`;
  const pidFile = join(base, 'state', 'etcd.pid');
  const etcdPid = await waitFor(
    'the first agent to run etcd',
    async () => {
      const res = await fetch(`${statusUrl}/healthz`);
      if (!res.ok || !existsSync(pidFile)) return undefined;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      return pid > 0 && alive(pid) ? pid : undefined;
    },
    () => readFileSync(join(dir, 'first-agent.log'), 'utf8').split('\n').slice(-15).join('\n'),
  );

  const r = await runCli(agentArgs(base, statusPort, clientPort), { SPOTINST_TOKEN: TOKEN }, 30_000);
  assert.equal(r.code, 2, r.stderr);
  const lines = errorLines(r.stderr);
  assert.deepEqual(lines, [
    `Error: another etcd-spot agent (or another program) already listens on ${privateIp}:${statusPort} (agent.statusPort); stop it or choose another port`,
  ]);
  assert.doesNotMatch(r.stderr, /EADDRINUSE: address already in use/);
  assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN), 'token printed');

  assert.equal(first.exitCode, null, 'the first agent exited');
  assert.ok(alive(etcdPid), "the first agent's etcd was stopped");
  assert.equal(Number(readFileSync(pidFile, 'utf8').trim()), etcdPid);
  const health = await fetch(`${statusUrl}/healthz`);
  assert.equal(health.status, 200);

  first.kill('SIGTERM');
  await new Promise((res) => first.once('exit', res));
});

test('any other program on agent.statusPort: the same message, exit 2, no etcd started', async () => {
  const base = join(dir, 'other-program');
  const holder = await listenOn(privateIp, 0);
  const port = (holder.address() as { port: number }).port;
  try {
    const r = await runCli(agentArgs(base, port, 23795), { SPOTINST_TOKEN: TOKEN }, 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [
      `Error: another etcd-spot agent (or another program) already listens on ${privateIp}:${port} (agent.statusPort); stop it or choose another port`,
    ]);
    assert.ok(!existsSync(join(base, 'state', 'etcd.pid')), 'etcd was started');
    assert.ok(!existsSync(join(base, 'data')), 'the data dir was created');
  } finally {
    await new Promise<void>((res) => holder.close(() => res()));
  }
});

test('etcd.binary that does not exist (H1): refused at start, exit 2, nothing created', async () => {
  const base = join(dir, 'no-binary');
  const port = await closedPort(privateIp);
  const r = await runCli(agentArgs(base, port, 23797, ['--set', 'etcd.binary=/nonexistent/etcd']), {
    SPOTINST_TOKEN: TOKEN,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(errorLines(r.stderr), [
    'Error: etcd.binary: /nonexistent/etcd not found or not executable; install etcd or set etcd.binary',
  ]);
  assert.ok(!existsSync(base), 'a directory was created');
});

test('etcd.binary as a bare name is looked up in PATH; a file that is not executable is refused', async () => {
  const port = await closedPort(privateIp);
  const bare = await runCli(
    agentArgs(join(dir, 'bare'), port, 23797, ['--set', 'etcd.binary=etcd-spot-no-such-etcd']),
    { SPOTINST_TOKEN: TOKEN },
  );
  assert.equal(bare.code, 2, bare.stderr);
  assert.deepEqual(errorLines(bare.stderr), [
    'Error: etcd.binary: etcd-spot-no-such-etcd (looked up in PATH) not found or not executable; install etcd or set etcd.binary',
  ]);
  const file = join(dir, 'not-executable-etcd');
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o644);
  const r = await runCli(agentArgs(join(dir, 'noexec'), port, 23797, ['--set', `etcd.binary=${file}`]), {
    SPOTINST_TOKEN: TOKEN,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    errorLines(r.stderr)[0]!,
    new RegExp(`^Error: etcd\\.binary: ${file} not found or not executable`),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { waitFor } from '../../../test/support/wait.ts';
import {
  buildEtcdArgs,
  buildEtcdEnvironment,
  etcdEnvironment,
  etcdExitReason,
  formatEnvironmentFile,
  hasEtcdData,
  runningEtcdPids,
  startEtcd,
  wipeDataDir,
  type EtcdLaunchOptions,
} from './etcd-process.ts';

const run = promisify(execFile);

const opts: EtcdLaunchOptions = {
  name: 'm1',
  dataDir: '/var/lib/etcd',
  clientUrl: 'http://10.0.0.5:2379',
  peerUrl: 'http://10.0.0.5:2380',
  initialCluster: [
    { name: 'm1', peerUrl: 'http://10.0.0.5:2380' },
    { name: 'm2', peerUrl: 'http://10.0.0.6:2380/' },
  ],
  initialClusterState: 'new',
  initialClusterToken: 'sig-1234',
};

test('buildEtcdArgs listens and advertises only the given URLs, with zap logs on stderr', () => {
  assert.deepEqual(buildEtcdArgs({ ...opts, extraArgs: ['--snapshot-count=1000'] }), [
    '--name=m1',
    '--data-dir=/var/lib/etcd',
    '--listen-client-urls=http://10.0.0.5:2379',
    '--advertise-client-urls=http://10.0.0.5:2379',
    '--listen-peer-urls=http://10.0.0.5:2380',
    '--initial-advertise-peer-urls=http://10.0.0.5:2380',
    '--initial-cluster=m1=http://10.0.0.5:2380,m2=http://10.0.0.6:2380',
    '--initial-cluster-state=new',
    '--initial-cluster-token=sig-1234',
    '--logger=zap',
    '--log-outputs=stderr',
    '--pre-vote=true',
    '--snapshot-count=1000',
  ]);
});

test('pre-vote is on, so a member back from a partition cannot depose a healthy leader; extraArgs can turn it off', () => {
  assert.ok(buildEtcdArgs(opts).includes('--pre-vote=true'));
  // Go's flag package takes the last value of a repeated flag: the operator's comes after ours.
  const args = buildEtcdArgs({ ...opts, extraArgs: ['--pre-vote=false'] });
  assert.ok(args.indexOf('--pre-vote=false') > args.indexOf('--pre-vote=true'));
  assert.equal(buildEtcdEnvironment({ ...opts, extraArgs: ['--pre-vote=false'] }).ETCD_PRE_VOTE, 'false');
});

test('buildEtcdEnvironment gives the EnvironmentFile shape, extra args included', () => {
  const env = buildEtcdEnvironment({
    ...opts,
    initialClusterState: 'existing',
    extraArgs: ['--enable-pprof'],
  });
  assert.deepEqual(env, {
    ETCD_NAME: 'm1',
    ETCD_DATA_DIR: '/var/lib/etcd',
    ETCD_LISTEN_CLIENT_URLS: 'http://10.0.0.5:2379',
    ETCD_ADVERTISE_CLIENT_URLS: 'http://10.0.0.5:2379',
    ETCD_LISTEN_PEER_URLS: 'http://10.0.0.5:2380',
    ETCD_INITIAL_ADVERTISE_PEER_URLS: 'http://10.0.0.5:2380',
    ETCD_INITIAL_CLUSTER: 'm1=http://10.0.0.5:2380,m2=http://10.0.0.6:2380',
    ETCD_INITIAL_CLUSTER_STATE: 'existing',
    ETCD_INITIAL_CLUSTER_TOKEN: 'sig-1234',
    ETCD_LOGGER: 'zap',
    ETCD_LOG_OUTPUTS: 'stderr',
    ETCD_PRE_VOTE: 'true',
    ETCD_ENABLE_PPROF: 'true',
  });
  assert.match(formatEnvironmentFile(env), /^ETCD_NAME="m1"\nETCD_DATA_DIR="\/var\/lib\/etcd"\n/);
});

test('launch options are validated: every problem reported at once', () => {
  assert.throws(
    () =>
      buildEtcdArgs({
        ...opts,
        name: 'bad name',
        clientUrl: 'http://0.0.0.0:2379',
        peerUrl: 'http://10.0.0.5',
        initialClusterToken: '',
        extraArgs: ['--listen-metrics-urls=http://0.0.0.0:2381'],
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const text = e.issues.join('\n');
      assert.match(text, /^name:/m);
      assert.match(text, /clientUrl: etcd-spot listens only on a concrete address, never 0\.0\.0\.0/);
      assert.match(text, /peerUrl: needs an explicit port/);
      assert.match(text, /initialClusterToken/);
      assert.match(text, /initialCluster: must contain this member/);
      assert.match(
        text,
        /extraArgs: "--listen-metrics-urls=http:\/\/0\.0\.0\.0:2381": never listen on a wildcard/,
      );
      return true;
    },
  );
});

test('buildEtcdArgs refuses extraArgs that override a managed flag or listen on any wildcard spelling (campaign H4)', () => {
  const bad = [
    ['--listen-client-urls=http://0:2379'],
    ['--listen-client-urls=http://[::0]:2379'],
    ['--listen-peer-urls=http://:2380'],
    ['--data-dir=/'],
    ['-data-dir', '/elsewhere'],
    ['--wal-dir=/wal'],
    ['--listen-metrics-urls=http://0:2381'],
    ['--listen-metrics-urls', 'http://[0:0:0:0:0:0:0:0]:2381'],
  ];
  for (const extraArgs of bad) {
    assert.throws(
      () => buildEtcdArgs({ ...opts, extraArgs }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.startsWith('extraArgs: "')),
      JSON.stringify(extraArgs),
    );
    // The systemd drop-in is built from the same arguments.
    assert.throws(() => buildEtcdEnvironment({ ...opts, extraArgs }), ConfigError);
  }
  for (const url of ['http://0:2379', 'http://[::0]:2379', 'http://[0:0:0:0:0:0:0:0]:2379']) {
    assert.throws(
      () => buildEtcdArgs({ ...opts, clientUrl: url }),
      /clientUrl: etcd-spot listens only on a concrete address/,
    );
  }
});

test('hasEtcdData is true only when member/wal has files; wipeDataDir empties an etcd data dir', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-unit-'));
  try {
    const dataDir = join(dir, 'data');
    assert.equal(await hasEtcdData(dataDir), false);
    await mkdir(join(dataDir, 'member', 'wal'), { recursive: true });
    assert.equal(await hasEtcdData(dataDir), false);
    await writeFile(join(dataDir, 'member', 'wal', '0000000000000000-0000000000000000.wal'), 'x');
    assert.equal(await hasEtcdData(dataDir), true);
    await wipeDataDir(dataDir);
    assert.deepEqual(await readdir(dataDir), []);
    assert.equal(await hasEtcdData(dataDir), false);
    await wipeDataDir(join(dir, 'missing'));

    const notEtcd = join(dir, 'home');
    await mkdir(notEtcd);
    await writeFile(join(notEtcd, 'precious.txt'), 'keep me');
    await assert.rejects(wipeDataDir(notEtcd), /does not look like an etcd data dir/);
    assert.deepEqual(await readdir(notEtcd), ['precious.txt']);
    await assert.rejects(wipeDataDir('relative/dir'), /absolute/);
    await assert.rejects(wipeDataDir('/'), /root/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// The process handle, with small shell scripts standing in for etcd (they ignore etcd's flags).
async function fakeEtcd(dir: string, script: string): Promise<string> {
  const path = join(dir, `fake-etcd-${Math.random().toString(36).slice(2)}`);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}

const local: EtcdLaunchOptions = {
  ...opts,
  clientUrl: 'http://127.0.29.11:2379',
  peerUrl: 'http://127.0.29.11:2380',
  initialCluster: [{ name: 'm1', peerUrl: 'http://127.0.29.11:2380' }],
};

test('a binary that cannot be spawned throws ETCD_SPAWN_FAILED at once', () => {
  assert.throws(() => startEtcd({ ...local, dataDir: '/nonexistent', etcdBinary: '/nonexistent/etcd' }), {
    code: 'ETCD_SPAWN_FAILED',
  });
});

test('waitUntilServing rejects at once with the exit and the last log lines when etcd exits early', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-unit-'));
  try {
    const bin = await fakeEtcd(dir, 'echo "failed to start etcd: bind: address already in use" >&2\nexit 1');
    const logFile = join(dir, 'etcd.log');
    const proc = startEtcd({ ...local, dataDir: join(dir, 'd'), etcdBinary: bin, logFile });
    await assert.rejects(proc.waitUntilServing(30_000), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ETCD_PROCESS_EXITED');
      assert.match((e as Error).message, /exited with code 1/);
      assert.match((e as Error).message, /address already in use/);
      return true;
    });
    assert.deepEqual(await proc.exited, { code: 1, signal: null });
    assert.equal(proc.running, false);
    assert.ok(!runningEtcdPids().includes(proc.pid));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('waitUntilServing times out naming the URL and the last error when nothing answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-unit-'));
  try {
    const proc = startEtcd({
      ...local,
      dataDir: join(dir, 'd'),
      etcdBinary: await fakeEtcd(dir, 'exec sleep 30'),
    });
    assert.ok(runningEtcdPids().includes(proc.pid));
    try {
      await assert.rejects(proc.waitUntilServing(500), (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'TIMEOUT');
        assert.match((e as Error).message, /http:\/\/127\.0\.29\.11:2379\/health/);
        // Refused when the probe gets an answer in time; on a loaded machine the probe's own deadline
        // can pass first. Either is the real last error of "nothing answers", never an empty one.
        assert.match(
          (e as Error).message,
          /last error: .*(ECONNREFUSED|fetch failed|aborted due to timeout)/,
        );
        return true;
      });
    } finally {
      await proc.kill();
    }
    assert.deepEqual(await proc.exited, { code: null, signal: 'SIGKILL' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('stop() sends SIGTERM and escalates to SIGKILL after the grace time', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-unit-'));
  try {
    const polite = startEtcd({
      ...local,
      dataDir: join(dir, 'a'),
      etcdBinary: await fakeEtcd(dir, 'exec sleep 30'),
    });
    await polite.stop(5000);
    assert.deepEqual(await polite.exited, { code: null, signal: 'SIGTERM' });
    await polite.stop(); // already gone: no-op

    const stubborn = startEtcd({
      ...local,
      dataDir: join(dir, 'b'),
      etcdBinary: await fakeEtcd(dir, "trap '' TERM\necho trap-set\nexec sleep 30"),
    });
    await waitFor(() => stubborn.logTail().includes('trap-set'), {
      timeoutMs: 10_000,
      what: 'the fake to ignore SIGTERM',
    });
    await stubborn.stop(100);
    assert.deepEqual(await stubborn.exited, { code: null, signal: 'SIGKILL' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function isAlive(pid: number): boolean {
  try {
    // A zombie (killed, not yet reaped by its new parent) is not alive.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('children still running when the parent process exits are SIGKILLed by the exit hook', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-unit-'));
  try {
    const bin = await fakeEtcd(dir, 'exec sleep 30');
    const moduleUrl = new URL('./etcd-process.ts', import.meta.url).href;
    const script = `
      const { startEtcd } = await import(${JSON.stringify(moduleUrl)});
      const p = startEtcd({ ...${JSON.stringify(local)}, dataDir: ${JSON.stringify(join(dir, 'd'))}, etcdBinary: ${JSON.stringify(bin)} });
      console.log(p.pid);
      process.exit(0);`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 20_000,
    });
    const pid = Number(stdout.trim());
    assert.ok(Number.isInteger(pid) && pid > 0, `child printed ${stdout}`);
    await waitFor(() => !isAlive(pid), { timeoutMs: 5000, what: `orphaned fake etcd ${pid} to be killed` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('etcd gets only an allow-list of the parent environment plus what the caller sets (S7)', () => {
  const env = etcdEnvironment(
    {
      PATH: '/usr/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      LC_ALL: 'C',
      TZ: 'UTC',
      GOMAXPROCS: '2',
      SPOTINST_TOKEN: 'secret',
      SPOTINST_CREDENTIALS_FILE: '/x',
      ETCD_SPOT_GROUP_TOKEN: 'secret',
      AWS_SECRET_ACCESS_KEY: 'secret',
      ETCD_DATA_DIR: '/elsewhere',
      NODE_OPTIONS: '--inspect',
      UNDEFINED: undefined,
    },
    { ETCD_UNSUPPORTED_ARCH: 'arm64' },
  );
  assert.deepEqual(env, {
    PATH: '/usr/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    TZ: 'UTC',
    GOMAXPROCS: '2',
    ETCD_UNSUPPORTED_ARCH: 'arm64',
  });
});

test('a real etcd child does not inherit SPOTINST_*, ETCD_SPOT_* or AWS_* from the agent (S7)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-unit-'));
  const secrets = {
    SPOTINST_TOKEN: 'SUPERSECRET-spot',
    ETCD_SPOT_GROUP_TOKEN: 'SUPERSECRET-etcdspot',
    AWS_SECRET_ACCESS_KEY: 'SUPERSECRET-aws',
  };
  const saved = Object.fromEntries(Object.keys(secrets).map((k) => [k, process.env[k]]));
  Object.assign(process.env, secrets);
  try {
    const ip = '127.0.29.21';
    const proc = startEtcd({
      name: 'env1',
      dataDir: join(dir, 'd'),
      clientUrl: `http://${ip}:2379`,
      peerUrl: `http://${ip}:2380`,
      initialCluster: [{ name: 'env1', peerUrl: `http://${ip}:2380` }],
      initialClusterState: 'new',
      initialClusterToken: `env-test-${process.pid}`,
      logFile: join(dir, 'etcd.log'),
      env: { ETCD_SNAPSHOT_COUNT: '5000' },
    });
    try {
      await proc.waitUntilServing(20_000);
      const environ = readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0').filter(Boolean);
      const names = environ.map((e) => e.slice(0, e.indexOf('=')));
      assert.ok(!environ.some((e) => e.includes('SUPERSECRET')), environ.join('\n'));
      assert.deepEqual(
        names.filter((k) => /^(SPOTINST_|ETCD_SPOT_|AWS_)/.test(k)),
        [],
      );
      assert.ok(names.includes('PATH'));
      assert.ok(environ.includes('ETCD_SNAPSHOT_COUNT=5000'), 'what the caller sets reaches etcd');
    } finally {
      await proc.kill();
    }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(dir, { recursive: true, force: true });
  }
});

test("etcdExitReason finds etcd's own words: flag errors, fatal zap lines, else errors", () => {
  const flagError = [
    'flag provided but not defined: -bogus-flag',
    'Usage:',
    '',
    '  etcd [flags]',
    '    Start an etcd server.',
    '',
  ].join('\n');
  assert.equal(etcdExitReason(flagError), 'flag provided but not defined: -bogus-flag');
  const fatal = [
    '{"level":"info","msg":"starting"}',
    '{"level":"warn","msg":"failed to start etcd","error":"listen tcp 10.9.9.9:2381: bind: cannot assign requested address"}',
    '{"level":"fatal","msg":"discovery failed","error":"listen tcp 10.9.9.9:2381: bind: cannot assign requested address","stacktrace":"go.etcd.io/etcd/etcdmain.startEtcdOrProxyV2\\n\\tgo.etcd.io/x.go:271"}',
    'goroutine 1 [running]:',
  ].join('\n');
  assert.equal(
    etcdExitReason(fatal),
    'discovery failed: listen tcp 10.9.9.9:2381: bind: cannot assign requested address',
  );
  assert.equal(
    etcdExitReason(
      '{"level":"warn","msg":"failed to verify flags","error":"unknown auto-compaction-mode \\"foo\\""}\n',
    ),
    'failed to verify flags: unknown auto-compaction-mode "foo"',
  );
  assert.equal(etcdExitReason('{"level":"info","msg":"serving"}\n'), undefined);
  assert.equal(etcdExitReason(''), undefined);
  assert.ok((etcdExitReason(`boom ${'x'.repeat(1000)}`) ?? '').length <= 300);
});

test('a real etcd that rejects a flag: waitUntilServing quotes etcd and names the log file (H3)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-unit-'));
  try {
    const logFile = join(dir, 'etcd.log');
    await writeFile(logFile, 'flag provided but not defined: -from-an-earlier-run\n');
    const proc = startEtcd({ ...local, dataDir: join(dir, 'd'), extraArgs: ['--bogus-flag=1'], logFile });
    await assert.rejects(proc.waitUntilServing(20_000), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ETCD_PROCESS_EXITED');
      assert.match(
        (e as Error).message,
        new RegExp(
          `exited with code 2 before serving http://127\\.0\\.29\\.11:2379: "flag provided but not defined: -bogus-flag" \\(see ${logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`,
        ),
      );
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

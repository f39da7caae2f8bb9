import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.ts';
import { extraArgsIssues, isWildcardHost, urlHost } from './etcd-flags.ts';

test('ordinary tuning flags pass', () => {
  assert.deepEqual(
    extraArgsIssues([
      '--heartbeat-interval=50',
      '--snapshot-count',
      '1000',
      '-election-timeout=500',
      '--enable-pprof',
      '--listen-metrics-urls=http://127.0.0.1:2381,http://10.0.0.5:2381',
      '--listen-metrics-urls',
      'http://[::1]:2381',
      '--quota-backend-bytes=8589934592',
    ]),
    [],
  );
});

test('every flag the agent owns is refused in --flag=value, --flag value and single-dash form, naming the fix', () => {
  const cases: [string[], RegExp][] = [
    [['--name=x'], /^"--name=x": etcd-spot sets --name itself \(the instance id\)$/],
    [['--data-dir=/'], /^"--data-dir=\/": etcd-spot sets --data-dir itself; use etcd\.dataDir instead$/],
    [['--data-dir', '/srv/etcd'], /^"--data-dir \/srv\/etcd": .*use etcd\.dataDir/],
    [['-data-dir=/srv'], /^"-data-dir=\/srv": .*use etcd\.dataDir/],
    [['-data-dir', '/srv'], /^"-data-dir \/srv": .*use etcd\.dataDir/],
    [['--wal-dir=/wal'], /^"--wal-dir=\/wal": a separate WAL dir is not supported: .*member\/wal/],
    [['--listen-client-urls=http://10.0.0.5:2379'], /sets --listen-client-urls itself .*etcd\.clientPort/],
    [['--advertise-client-urls', 'http://a:1'], /sets --advertise-client-urls itself .*etcd\.clientPort/],
    [['-listen-peer-urls=http://10.0.0.5:2380'], /sets --listen-peer-urls itself .*etcd\.peerPort/],
    [
      ['--initial-advertise-peer-urls=http://x:2380'],
      /sets --initial-advertise-peer-urls itself .*etcd\.peerPort/,
    ],
    [['--initial-cluster=a=http://x:2380'], /sets --initial-cluster itself/],
    [['--initial-cluster-state=new'], /sets --initial-cluster-state itself/],
    [['--initial-cluster-token', 't'], /sets --initial-cluster-token itself; use etcd\.clusterToken instead/],
    [['--force-new-cluster'], /^"--force-new-cluster": never: forcing a new cluster/],
    [['-force-new-cluster=true'], /never: forcing a new cluster/],
    [['--config-file=/etc/etcd.yaml'], /etcd ignores every other flag/],
  ];
  for (const [args, re] of cases) {
    const got = extraArgsIssues(args);
    assert.equal(got.length, 1, `${JSON.stringify(args)} → ${JSON.stringify(got)}`);
    assert.match(got[0] as string, re, JSON.stringify(args));
  }
});

test('a bare boolean flag does not swallow the next argument', () => {
  const got = extraArgsIssues(['--force-new-cluster', '--data-dir=/x']);
  assert.equal(got.length, 2);
  assert.match(got[1] as string, /^"--data-dir=\/x"/);
});

test('wildcard listen addresses are refused in every spelling (campaign H2, H4), not by substring', () => {
  const wild = [
    'http://0.0.0.0:2381',
    'http://0:2381',
    'http://0.0:2381',
    'http://000.0.0.0:2381',
    'http://0x0:2381',
    'http://[::]:2381',
    'http://[::0]:2381',
    'http://[0:0:0:0:0:0:0:0]:2381',
    'http://[0::0]:2381',
    'http://[::ffff:0.0.0.0]:2381',
    'http://[::%25eth0]:2381',
    'http://:2381',
    'https://user@:2381',
    'http://127.0.0.1:2381,http://[::]:2381',
  ];
  for (const url of wild) {
    const eq = extraArgsIssues([`--listen-metrics-urls=${url}`]);
    assert.equal(eq.length, 1, url);
    assert.match(eq[0] as string, /never listen on a wildcard address/, url);
    const sep = extraArgsIssues(['-listen-metrics-urls', url]);
    assert.equal(sep.length, 1, `separate ${url}`);
  }
  assert.match(
    extraArgsIssues(['--listen-metrics-urls=http://:2381'])[0] as string,
    /an empty host means every interface/,
  );
  // Not wildcards: a hostname with zeros in it, a concrete address, loopback v6.
  for (const url of [
    'http://0.example:2381',
    'http://10.0.0.0:2381',
    'http://[::1]:2381',
    'http://100.0.0.0:2381',
  ]) {
    assert.deepEqual(extraArgsIssues([`--listen-metrics-urls=${url}`]), [], url);
  }
});

test('isWildcardHost and urlHost read hosts the way Go does', () => {
  assert.equal(urlHost('http://[::]:2379'), '::');
  assert.equal(urlHost('http://:2379'), '');
  assert.equal(urlHost('http://u:p@10.0.0.1:2379/x'), '10.0.0.1');
  assert.equal(urlHost('http://:::2379'), '::');
  assert.equal(urlHost('not a url'), undefined);
  assert.equal(isWildcardHost('::'), true);
  assert.equal(isWildcardHost('0.0.0.0'), true);
  assert.equal(isWildcardHost('::1'), false);
  assert.equal(isWildcardHost('1::'), false);
  assert.equal(isWildcardHost('localhost'), false);
  assert.equal(isWildcardHost('0.0.0.1'), false);
});

test('long arguments are shortened in messages', () => {
  const got = extraArgsIssues([`--data-dir=/${'a'.repeat(500)}`]);
  assert.ok((got[0] as string).length < 200, got[0]);
});

test('config load refuses bad extraArgs from a flag, the environment and the file, naming the key and the source', () => {
  const r = loadConfig({
    env: { ETCD_SPOT_ETCD_EXTRA_ARGS: '--listen-metrics-urls=http://[::0]:2381', ETCD_SPOT_GROUP_TOKEN: 'x' },
    overrides: { 'group.groupId': 'sig-1' },
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.issues.filter((i) => i.startsWith('etcd.extraArgs')),
    [
      `etcd.extraArgs: "--listen-metrics-urls=http://[::0]:2381": never listen on a wildcard address (::0 means every interface); name a concrete IP such as the instance's private IP [ETCD_SPOT_ETCD_EXTRA_ARGS]`,
    ],
  );
  const ok = loadConfig({
    env: { ETCD_SPOT_GROUP_TOKEN: 'x' },
    overrides: { 'group.groupId': 'sig-1', 'etcd.extraArgs': '--snapshot-count=1000' },
  });
  assert.ok(ok.ok, ok.ok ? '' : ok.issues.join('\n'));
  assert.deepEqual(ok.config.etcd.extraArgs, ['--snapshot-count=1000']);
});

test('etcd-spot plan exits 2 at once on extraArgs that override a managed flag (campaign H2)', async () => {
  const bin = fileURLToPath(new URL('../../bin/etcd-spot.js', import.meta.url));
  const t0 = Date.now();
  const err = await promisify(execFile)(
    process.execPath,
    [
      bin,
      'plan',
      '--set',
      'group.groupId=sig-1',
      '--set',
      'metadata.url=http://127.0.0.1:1',
      '--set',
      'etcd.extraArgs=--listen-client-urls=http://0.0.0.0:2379',
    ],
    { timeout: 30_000, env: { ...process.env, ETCD_SPOT_GROUP_TOKEN: 'x' } },
  ).then(
    () => undefined,
    (e: unknown) => e as { code?: number; stderr?: string },
  );
  assert.ok(err !== undefined, 'plan succeeded');
  assert.equal(err.code, 2, err.stderr);
  assert.match(
    err.stderr ?? '',
    /etcd\.extraArgs: "--listen-client-urls=http:\/\/0\.0\.0\.0:2379": etcd-spot sets --listen-client-urls itself/,
  );
  assert.equal((err.stderr ?? '').match(/^\s+- /gm)?.length, 1, `only the extraArgs issue: ${err.stderr}`);
  assert.ok(Date.now() - t0 < 20_000, 'not after retrying the metadata service');
});

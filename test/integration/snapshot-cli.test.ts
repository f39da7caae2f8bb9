/**
 * `etcd-spot snapshot save | list | verify | restore` as a user runs them: real etcd on 127.0.62.x, a
 * real directory store, an s3rver for the S3 errors (fake credentials in the environment; never AWS).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCluster, type TestCluster } from '../support/etcd-cluster-fixture.ts';
import { startS3rver, type TestS3 } from '../support/snapshot-fixtures.ts';
import { errorLines, runCli } from './cli-support.ts';

describe('etcd-spot snapshot (CLI)', () => {
  let cluster: TestCluster;
  let s3: TestS3;
  let dir: string;
  let store: string;
  const fs = () => [
    '--set',
    'snapshot.store=fs',
    '--set',
    `snapshot.dir=${store}`,
    '--set',
    `snapshot.tmpDir=${join(dir, 'tmp')}`,
    '--group-id',
    'sig-cli',
  ];

  before(async () => {
    cluster = await startTestCluster({ size: 1, ipPrefix: '127.0.62' });
    s3 = await startS3rver('cli-bucket');
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-snapcli-'));
    store = join(dir, 'store');
  });
  after(async () => {
    await cluster?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('save prints a table; list --json, verify, a corrupted one fails verify, restore picks the good one', async () => {
    const save = await runCli(['snapshot', 'save', ...fs(), '--endpoints', cluster.endpoints[0] as string]);
    assert.equal(save.code, 0, save.stderr);
    assert.match(save.stdout, /^Snapshot saved and verified in /);
    assert.match(save.stdout, /NAME\s+CLUSTER ID\s+REVISION/);
    const save2 = await runCli([
      'snapshot',
      'save',
      ...fs(),
      '--endpoints',
      cluster.endpoints[0] as string,
      '--json',
    ]);
    assert.equal(save2.code, 0, save2.stderr);
    const second = (JSON.parse(save2.stdout) as { snapshot: { name: string; clusterId: string } }).snapshot;

    const list = await runCli(['snapshot', 'list', ...fs(), '--json']);
    assert.equal(list.code, 0, list.stderr);
    const doc = JSON.parse(list.stdout) as { schemaVersion: number; snapshots: { name: string }[] };
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.snapshots.length, 2);
    assert.equal(doc.snapshots[1]?.name, second.name);
    const yaml = await runCli(['snapshot', 'list', ...fs(), '-o', 'yaml']);
    assert.match(
      yaml.stdout,
      new RegExp(`^schemaVersion: 1\\n(.*\\n)*snapshots:\\n(.*\\n)* {4}name: ${second.name}\\n`),
    );
    const bare = await runCli(['snapshot', 'list', ...fs(), '--no-headers']);
    assert.equal(bare.stdout.trimEnd().split('\n').length, 2, 'two rows, no header');
    assert.match(
      bare.stdout,
      /^\S+\s+[0-9a-f]{16}\s+\d+\s+\d+\s+1\s+3\.4\.23\s+\d+(\.\d)? (B|kB|MB)\s+[0-9a-f]{12}\s/,
    );
    const wide = await runCli(['snapshot', 'list', ...fs(), '-o', 'wide']);
    assert.match(wide.stdout, /\s[0-9a-f]{64}\s/, 'the whole SHA-256');

    const ok = await runCli(['snapshot', 'verify', ...fs(), '--all']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /STATUS/);
    assert.equal((ok.stdout.match(/ ok/g) ?? []).length, 2);

    // Corrupt the newest on disk: verify names it and exits 1; restore falls back to the first.
    const file = join(store, 'sig-cli', second.clusterId, `${second.name}.db`);
    const bytes = await readFile(file);
    bytes[2000] = (bytes[2000] as number) ^ 0xff;
    await writeFile(file, bytes);
    const bad = await runCli(['snapshot', 'verify', ...fs()]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /SNAPSHOT_HASH_MISMATCH/);
    assert.deepEqual(errorLines(bad.stderr), ['Error: 1 of 1 snapshot failed verification']);

    const dataDir = join(dir, 'restored');
    const restore = await runCli([
      'snapshot',
      'restore',
      ...fs(),
      '--data-dir',
      dataDir,
      '--name',
      'r1',
      '--peer-url',
      'http://127.0.62.40:2380',
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, new RegExp(`skipped ${second.name}: .*does not match`));
    assert.match(restore.stdout, /^Restored \S+ \(cluster [0-9a-f]{16}, revision \d+\) into /);
    assert.ok((await readdir(dataDir)).includes('member'));
    // Nothing was deleted.
    const after = JSON.parse((await runCli(['snapshot', 'list', ...fs(), '--json'])).stdout) as {
      snapshots: unknown[];
    };
    assert.equal(after.snapshots.length, 2);
  });

  it('clear errors: no store configured (exit 2), a missing bucket (exit 1), no etcd (exit 4)', async () => {
    const none = await runCli(['snapshot', 'list', '--group-id', 'sig-cli']);
    assert.equal(none.code, 2);
    assert.match(errorLines(none.stderr)[0] ?? '', /no snapshot store is configured/);

    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
    const missing = await runCli(
      [
        'snapshot',
        'list',
        '--group-id',
        'sig-cli',
        '--set',
        'snapshot.store=s3',
        '--set',
        'snapshot.bucket=nope',
        '--set',
        `snapshot.endpoint=${s3.endpoint}`,
        '--set',
        'snapshot.forcePathStyle=true',
        '--json',
      ],
      env,
    );
    assert.equal(missing.code, 1, missing.stderr);
    const err = (JSON.parse(missing.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(err.code, 'SNAPSHOT_STORE_MISSING');
    assert.match(err.message, /bucket nope does not exist/);

    const noEtcd = await runCli(['snapshot', 'save', ...fs(), '--endpoints', 'http://127.0.62.99:2379']);
    assert.equal(noEtcd.code, 4);
    assert.match(errorLines(noEtcd.stderr)[0] ?? '', /no etcd member answered/);
  });
});

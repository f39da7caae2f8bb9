/**
 * What a snapshot costs the leader's agent in memory (issue 8 target: ≤ 5 MB of RSS beyond its
 * baseline while streaming a 100 MB database). Not part of `npm test`.
 *
 *   node --import tsx bench/snapshot-rss.ts [--mb 100] [--stores fs,s3] [--runs 1] [--ip-prefix 127.0.63] [--json file]
 *
 * 1. A real etcd on <ip-prefix>.11 is filled to about --mb MB (1 MB values, from this process).
 * 2. For each store, a fresh child process (the measured one) loads the modules the agent would have
 *    loaded (etcd3 adapter, snapshot code, and for s3 the AWS SDK), warms up with one status call,
 *    settles, and takes its baseline RSS (max over 1 s); then takes one snapshot through
 *    `takeSnapshot` (stream to a temp file while hashing, verify, upload, read back, manifest) while
 *    sampling its own RSS every 10 ms. It prints peak − baseline.
 * The S3 store is s3rver in THIS process (loopback, fake credentials), so its memory is not counted.
 * SNAPSHOT_RSS_NODE_FLAGS sets the measured process's node flags, e.g. "--max-semi-space-size=1 --expose-gc".
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';

const here = fileURLToPath(import.meta.url);

interface ChildResult {
  store: string;
  baselineRssMb: number;
  peakRssMb: number;
  deltaMb: number;
  sizeMb: number;
  seconds: number;
  revision: number;
}

async function child(): Promise<void> {
  const [, , , endpoint, kind, dir, s3endpoint] = process.argv;
  const { createEtcdCluster } = await import('../src/adapters/etcd/etcd3-cluster.ts');
  const { takeSnapshot } = await import('../src/adapters/snapshots/snapshots.ts');
  const { createFsSnapshotStore } = await import('../src/adapters/snapshots/fs-store.ts');
  const store =
    kind === 's3'
      ? (await import('../src/adapters/snapshots/s3-store.ts')).createS3SnapshotStore({
          bucket: 'bench',
          prefix: 'etcd-spot',
          region: 'us-east-1',
          endpoint: s3endpoint as string,
          forcePathStyle: true,
          credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        })
      : createFsSnapshotStore({ dir: join(dir as string, 'store') });
  const etcd = createEtcdCluster({ callTimeoutMs: 5000 });
  await etcd.status(endpoint as string);
  await store.list('sig-bench');
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setTimeout(r, 500));
  let baseline = 0;
  for (let i = 0; i < 20; i++) {
    baseline = Math.max(baseline, process.memoryUsage.rss());
    await new Promise((r) => setTimeout(r, 50));
  }
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const t0 = Date.now();
  const r = await takeSnapshot({
    etcd,
    clientUrl: endpoint as string,
    store,
    groupId: 'sig-bench',
    takenBy: 'bench',
    reason: 'bench',
    memberCount: 1,
    tmpDir: join(dir as string, 'tmp'),
    now: Date.now,
  });
  const seconds = (Date.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  const out: ChildResult = {
    store: kind as string,
    baselineRssMb: mb(baseline),
    peakRssMb: mb(peak),
    deltaMb: mb(peak - baseline),
    sizeMb: mb(r.manifest.sizeBytes),
    seconds,
    revision: r.manifest.revision,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await store.close?.();
  await etcd.close();
}

function runChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const flags = (process.env.SNAPSHOT_RSS_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const p = spawn(process.execPath, [...flags, '--import', 'tsx', here, '--child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`measuring child exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as ChildResult);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '100' },
      stores: { type: 'string', default: 'fs,s3' },
      'ip-prefix': { type: 'string', default: '127.0.63' },
      runs: { type: 'string', default: '1' },
      json: { type: 'string' },
    },
  });
  const { startTestCluster } = await import('../test/support/etcd-cluster-fixture.ts');
  const { startS3rver } = await import('../test/support/snapshot-fixtures.ts');
  const cluster = await startTestCluster({
    size: 1,
    ipPrefix: values['ip-prefix'] as string,
    extraArgs: ['--quota-backend-bytes=4294967296'],
  });
  const s3 = await startS3rver('bench');
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-snaprss-'));
  await mkdir(join(dir, 'store'));
  const results: ChildResult[] = [];
  try {
    const client = new Etcd3({ hosts: cluster.endpoints[0] as string });
    const value = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < Number(values.mb); i++) await client.put(`bench/${i}`).value(value);
    client.close();
    for (const kind of (values.stores as string).split(',')) {
      const deltas: number[] = [];
      for (let run = 0; run < Number(values.runs); run++) {
        const r = await runChild([cluster.endpoints[0] as string, kind, dir, s3.endpoint]);
        results.push(r);
        deltas.push(r.deltaMb);
        process.stdout.write(
          `${kind}: ${r.sizeMb} MB snapshot in ${r.seconds.toFixed(1)} s; RSS baseline ${r.baselineRssMb} MB, peak ${r.peakRssMb} MB, +${r.deltaMb} MB\n`,
        );
      }
      const sorted = [...deltas].sort((a, b) => a - b);
      process.stdout.write(
        `${kind}: median +${sorted[Math.floor(sorted.length / 2)]} MB (min +${sorted[0]}, max +${sorted.at(-1)}) over ${sorted.length} run(s)\n`,
      );
    }
    if (values.json !== undefined) await writeFile(values.json, JSON.stringify(results, null, 2));
  } finally {
    await s3.close();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child();
else await main();

/**
 * A real etcd cluster of `size` members on loopback addresses `<ipPrefix>.11`, `.12`, … (ports 2379 /
 * 2380; never 127.0.0.1, never 0.0.0.0), each with a fresh data dir and log file under one temp dir.
 * `close()` kills every process this fixture started and removes the temp dir; it is safe to call twice.
 *
 * @example
 * const cluster = await startTestCluster({ size: 3, ipPrefix: '127.0.21' });
 * try { … cluster.endpoints … } finally { await cluster.close(); }
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startEtcd, type RunningEtcd } from '../../src/adapters/etcd/etcd-process.ts';
import { etcdctl } from './etcd-ctl.ts';

export interface TestMember {
  name: string;
  ip: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  /** The current process (replaced by startMember). */
  proc: RunningEtcd;
}

export interface TestCluster {
  members: TestMember[];
  endpoints: string[];
  token: string;
  /** The temp dir holding data dirs and logs. */
  dir: string;
  /** Starts member i again on its existing data dir and waits until it serves. */
  startMember(i: number, timeoutMs?: number): Promise<RunningEtcd>;
  /** SIGTERM (then SIGKILL after the grace time). */
  stopMember(i: number): Promise<void>;
  /**
   * The index of the member that leads now, as `etcdctl endpoint status` reports it (undefined when no
   * answering member says it leads). A test that kills a member and wants no election in its way kills
   * a follower.
   */
  leaderIndex(): Promise<number | undefined>;
  /** SIGKILL. */
  killMember(i: number): Promise<void>;
  /** Registers a process started by the test itself (e.g. a joining learner) so close() kills it too. */
  track(proc: RunningEtcd): RunningEtcd;
  /** The last log lines of every member, for failure messages. */
  logs(lines?: number): string;
  close(): Promise<void>;
}

export interface TestClusterOptions {
  size: number;
  /** Three octets, e.g. '127.0.21'. Members get .11, .12, … */
  ipPrefix: string;
  /** Default: unique per call (etcd-physics §3b: identical tokens give identical member ids). */
  token?: string;
  extraArgs?: string[];
  /** Deadline for every member to answer /health (default 20 s). */
  startTimeoutMs?: number;
}

export async function startTestCluster(opts: TestClusterOptions): Promise<TestCluster> {
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(opts.ipPrefix) || opts.ipPrefix === '127.0.0') {
    throw new Error(
      `ipPrefix must be a loopback prefix other than 127.0.0 (e.g. 127.0.21), got ${opts.ipPrefix}`,
    );
  }
  const token = opts.token ?? `etcd-spot-test-${process.pid}-${randomBytes(6).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-test-'));
  const started: RunningEtcd[] = [];
  const base = Array.from({ length: opts.size }, (_, i) => {
    const ip = `${opts.ipPrefix}.${11 + i}`;
    return {
      name: `m${i + 1}`,
      ip,
      clientUrl: `http://${ip}:2379`,
      peerUrl: `http://${ip}:2380`,
      dataDir: join(dir, `m${i + 1}`),
      logFile: join(dir, `m${i + 1}.log`),
    };
  });
  const initialCluster = base.map((m) => ({ name: m.name, peerUrl: m.peerUrl }));
  const launch = (m: (typeof base)[number], state: 'new' | 'existing') => {
    const proc = startEtcd({
      name: m.name,
      dataDir: m.dataDir,
      clientUrl: m.clientUrl,
      peerUrl: m.peerUrl,
      initialCluster,
      initialClusterState: state,
      initialClusterToken: token,
      extraArgs: opts.extraArgs,
      logFile: m.logFile,
    });
    started.push(proc);
    return proc;
  };

  let closed = false;
  const members: TestMember[] = [];
  const logs = (lines = 10) =>
    members
      .map(
        (m) =>
          `--- ${m.name} (${m.ip}, pid ${m.proc.pid}):\n${m.proc
            .logTail()
            .split('\n')
            .slice(-lines - 1)
            .join('\n')}`,
      )
      .join('\n');
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(started.map((p) => p.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  const member = (i: number): TestMember => {
    const m = members[i];
    if (m === undefined) throw new Error(`no member ${i} (size ${members.length})`);
    return m;
  };

  try {
    for (const m of base) members.push({ ...m, proc: launch(m, 'new') });
    const timeoutMs = opts.startTimeoutMs ?? 20_000;
    const results = await Promise.allSettled(members.map((m) => m.proc.waitUntilServing(timeoutMs)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${members[i]?.name}: ${String(r.reason)}`] : [],
    );
    if (failed.length > 0) throw new Error(`test cluster did not start:\n${failed.join('\n')}\n${logs()}`);
  } catch (e) {
    await close();
    throw e;
  }

  return {
    members,
    endpoints: members.map((m) => m.clientUrl),
    token,
    dir,
    async startMember(i, timeoutMs = 20_000) {
      const m = member(i);
      if (m.proc.running) throw new Error(`member ${m.name} is still running (pid ${m.proc.pid})`);
      m.proc = launch(m, 'existing');
      await m.proc.waitUntilServing(timeoutMs);
      return m.proc;
    },
    stopMember: (i) => member(i).proc.stop(),
    async leaderIndex() {
      // Simple form: endpoint, id, version, db size, is leader, is learner, term, index, applied, errors.
      const out = await etcdctl([
        `--endpoints=${members.map((m) => m.clientUrl).join(',')}`,
        'endpoint',
        'status',
      ]);
      const lead = out
        .split('\n')
        .map((l) => l.split(', '))
        .find((f) => f[4] === 'true');
      const i = lead === undefined ? -1 : members.findIndex((m) => m.clientUrl === lead[0]);
      return i < 0 ? undefined : i;
    },
    killMember: (i) => member(i).proc.kill(),
    track(proc) {
      started.push(proc);
      return proc;
    },
    logs,
    close,
  };
}

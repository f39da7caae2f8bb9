/**
 * `supervise` mode: etcd is a child process of the agent, its output appended to `<stateDir>/etcd.log`.
 * When it exits, the exit is recorded with whether its output said "permanently removed from the
 * cluster" (etcd then exits with code 0: etcd-physics §4). The runner never restarts etcd by itself:
 * the planner decides, with back-off.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { EtcdError, describeError } from '../../core/errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type { EtcdExit, EtcdLaunch, EtcdRunner } from '../../ports/etcd-runner.ts';
import type { Logger } from '../../ports/logger.ts';
import { etcdExitReason, startEtcd } from '../etcd/etcd-process.ts';
import type { EtcdTlsFiles, RunningEtcd } from '../etcd/etcd-process.ts';

/** What etcd logs when it learns that it was removed from the cluster. */
export const REMOVED_MESSAGE = 'permanently removed from the cluster';

/** How much of the log written since the start is searched for {@link REMOVED_MESSAGE}. */
const SCAN_BYTES = 256 * 1024;

export interface SupervisedRunnerOptions {
  dataDir: string;
  stateDir: string;
  /** Default 'etcd' on PATH. */
  binary?: string;
  extraArgs?: string[];
  /** etcd's client and peer certificates (paths; etcd.tls): passed as --cert-file … / ETCD_CERT_FILE …. */
  clientTls?: EtcdTlsFiles;
  peerTls?: EtcdTlsFiles;
  /** Token used when a launch has none (an `existing` start; etcd ignores it then). */
  defaultToken?: string;
  /** SIGTERM grace before SIGKILL (default 10 s). */
  stopGraceMs?: number;
  clock: Clock;
  logger: Logger;
}

/** Reads `path` from byte `from` (at most the last `max` bytes of that range). */
function readSince(path: string, from: number, max: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - max);
    const len = Math.max(0, size - start);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, start);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether `pid` is alive and is an etcd on `dataDir` (guards against PID reuse). Linux /proc only. */
async function isOurEtcd(pid: number, dataDir: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return args.includes(`--data-dir=${dataDir}`);
  } catch {
    return false;
  }
}

/**
 * An etcd left running by an earlier agent process that was killed without cleanup (SIGKILL): found
 * through `<stateDir>/etcd.pid` and adopted, so the new agent neither starts a second etcd on the same
 * ports and data dir nor thinks etcd is down.
 */
interface Adopted {
  pid: number;
  /** Log size when adopted: the removed message is searched after it. */
  offset: number;
}

export class SupervisedEtcdRunner implements EtcdRunner {
  readonly logFile: string;
  readonly pidFile: string;
  private readonly opts: SupervisedRunnerOptions;
  private child: RunningEtcd | undefined;
  private adopted: Adopted | undefined;
  private checkedPidFile = false;
  private exit: EtcdExit | undefined;
  /** The child's exit is recorded in {@link exit}: until then it still counts as running. */
  private childExitRecorded = false;

  constructor(opts: SupervisedRunnerOptions) {
    this.opts = opts;
    this.logFile = join(opts.stateDir, 'etcd.log');
    this.pidFile = join(opts.stateDir, 'etcd.pid');
  }

  /** PID of the running etcd, if any. */
  pid(): number | undefined {
    if (this.child?.running) return this.child.pid;
    return this.adopted?.pid;
  }

  isRunning(): boolean {
    // A child that has exited counts as running until its exit is recorded (a few ms, for its output
    // to drain), so that whoever sees it stop also sees why in lastExit().
    return (this.child !== undefined && !this.childExitRecorded) || this.adopted !== undefined;
  }

  /** Adopts an etcd left by a killed agent (first call), and notices when an adopted one has gone. */
  async refresh(): Promise<void> {
    if (this.child?.running) return;
    if (!this.checkedPidFile) {
      this.checkedPidFile = true;
      const text = await readFile(this.pidFile, 'utf8').catch(() => '');
      const pid = Number(text.trim());
      if (Number.isInteger(pid) && pid > 0 && (await isOurEtcd(pid, this.opts.dataDir))) {
        const offset = await stat(this.logFile).then(
          (st) => st.size,
          () => 0,
        );
        this.adopted = { pid, offset };
        this.opts.logger.warn({ etcdPid: pid }, 'adopted an etcd left running by an earlier agent process');
      }
      return;
    }
    const a = this.adopted;
    if (a && !(await isOurEtcd(a.pid, this.opts.dataDir))) this.adoptedGone(a);
  }

  private adoptedGone(a: Adopted): void {
    if (this.adopted !== a) return;
    this.adopted = undefined;
    const removed = readSince(this.logFile, a.offset, SCAN_BYTES).includes(REMOVED_MESSAGE);
    this.exit = { at: this.opts.clock.now(), code: null, removed };
    this.opts.logger.info({ etcdPid: a.pid, removed }, 'adopted etcd exited');
  }

  lastExit(): EtcdExit | undefined {
    return this.exit;
  }

  async start(launch: EtcdLaunch): Promise<void> {
    if (this.isRunning()) {
      throw new EtcdError(`etcd already runs (pid ${this.pid()}); stop it first`, {
        code: 'ETCD_ALREADY_RUNNING',
        retryable: false,
      });
    }
    await mkdir(this.opts.stateDir, { recursive: true });
    await mkdir(this.opts.dataDir, { recursive: true, mode: 0o700 });
    const offset = await stat(this.logFile).then(
      (s) => s.size,
      () => 0,
    );
    const token = launch.token ?? this.opts.defaultToken ?? 'etcd-spot';
    const child = startEtcd({
      name: launch.name,
      dataDir: this.opts.dataDir,
      clientUrl: launch.clientUrl,
      peerUrl: launch.peerUrl,
      initialCluster: launch.initialCluster,
      initialClusterState: launch.state,
      initialClusterToken: token,
      ...(this.opts.binary !== undefined ? { etcdBinary: this.opts.binary } : {}),
      extraArgs: this.opts.extraArgs ?? [],
      ...(this.opts.clientTls !== undefined ? { clientTls: this.opts.clientTls } : {}),
      ...(this.opts.peerTls !== undefined ? { peerTls: this.opts.peerTls } : {}),
      logFile: this.logFile,
      ...(launch.forceNewCluster === true ? { forceNewCluster: true } : {}),
    });
    this.child = child;
    this.childExitRecorded = false;
    this.checkedPidFile = true;
    await this.writePidFile(child.pid);
    this.opts.logger.info(
      {
        etcdPid: child.pid,
        state: launch.state,
        name: launch.name,
        logFile: this.logFile,
        ...(launch.forceNewCluster === true ? { forceNewCluster: true } : {}),
      },
      'etcd started',
    );
    void child.exited.then((e) => {
      const output = readSince(this.logFile, offset, SCAN_BYTES);
      const removed = output.includes(REMOVED_MESSAGE);
      const reason = etcdExitReason(output);
      const exit: EtcdExit = { at: this.opts.clock.now(), code: e.code, removed, logFile: this.logFile };
      if (e.signal !== null) exit.signal = e.signal;
      if (reason !== undefined) exit.reason = reason;
      this.exit = exit;
      if (this.child === child) this.childExitRecorded = true;
      const fields = {
        etcdPid: child.pid,
        code: e.code,
        signal: e.signal,
        removed,
        reason,
        logFile: this.logFile,
      };
      if (e.code === 0 || e.signal === 'SIGTERM') this.opts.logger.info(fields, 'etcd exited');
      else this.opts.logger.warn(fields, 'etcd exited');
    });
  }

  async stop(reason: string): Promise<void> {
    const a = this.adopted;
    if (a && !this.child?.running) return this.stopAdopted(a, reason);
    const child = this.child;
    if (!child?.running) return;
    this.opts.logger.info({ etcdPid: child.pid, reason }, 'stopping etcd');
    try {
      await child.stop(this.opts.stopGraceMs ?? 10_000);
    } catch (err) {
      throw new EtcdError(`could not stop etcd (pid ${child.pid}): ${describeError(err)}`, {
        code: 'ETCD_STOP_FAILED',
        retryable: true,
        cause: err,
      });
    }
    // Let the exit handler above record the exit before the caller observes again.
    await child.exited;
    await new Promise((r) => setImmediate(r));
  }

  private async stopAdopted(a: Adopted, reason: string): Promise<void> {
    this.opts.logger.info({ etcdPid: a.pid, reason }, 'stopping adopted etcd');
    const grace = this.opts.stopGraceMs ?? 10_000;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(a.pid, sig);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const end = Date.now() + grace;
    while ((await isOurEtcd(a.pid, this.opts.dataDir)) && Date.now() < end) await delay(20);
    if (await isOurEtcd(a.pid, this.opts.dataDir)) {
      signal('SIGKILL');
      const killEnd = Date.now() + 5000;
      while ((await isOurEtcd(a.pid, this.opts.dataDir)) && Date.now() < killEnd) await delay(20);
    }
    if (await isOurEtcd(a.pid, this.opts.dataDir)) {
      throw new EtcdError(`could not stop adopted etcd (pid ${a.pid})`, {
        code: 'ETCD_STOP_FAILED',
        retryable: true,
      });
    }
    this.adoptedGone(a);
  }

  private async writePidFile(pid: number): Promise<void> {
    const tmp = `${this.pidFile}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, `${pid}\n`);
      await rename(tmp, this.pidFile);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      this.opts.logger.warn(
        { err: describeError(err), pidFile: this.pidFile },
        'cannot write the etcd pid file',
      );
    }
  }
}

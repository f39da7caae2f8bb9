/**
 * `systemd` mode: etcd runs as a unit. Starting writes the environment drop-in (ETCD_NAME,
 * ETCD_INITIAL_CLUSTER, ETCD_INITIAL_CLUSTER_STATE, …, built with buildEtcdEnvironment) atomically, then
 * runs the reload and start commands; stopping runs the stop command. Whether etcd runs is the exit
 * status of the check command (default `systemctl is-active --quiet etcd`), refreshed once per cycle.
 * The unit's own log is not read, so `lastExit().removed` is always false here: the planner still sees
 * the removal in the member list.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EtcdError } from '../../core/errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type { EtcdExit, EtcdLaunch, EtcdRunner } from '../../ports/etcd-runner.ts';
import type { Logger } from '../../ports/logger.ts';
import { buildEtcdEnvironment } from '../etcd/etcd-process.ts';
import type { EtcdTlsFiles } from '../etcd/etcd-process.ts';

export interface SystemdRunnerOptions {
  dataDir: string;
  dropInPath: string;
  startCommand: string[];
  stopCommand: string[];
  /** Exit status 0 = etcd runs. Default `systemctl is-active --quiet etcd`. */
  checkCommand?: string[];
  /** Run after writing the drop-in, before starting. Default `systemctl daemon-reload`; [] to skip. */
  reloadCommand?: string[];
  /** Deadline of each command (default 60 s: `systemctl start` waits for etcd's readiness). */
  commandTimeoutMs?: number;
  binary?: string;
  extraArgs?: string[];
  /** etcd's client and peer certificates (paths; etcd.tls): passed as --cert-file … / ETCD_CERT_FILE …. */
  clientTls?: EtcdTlsFiles;
  peerTls?: EtcdTlsFiles;
  defaultToken?: string;
  clock: Clock;
  logger: Logger;
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a command without a shell, with a deadline; never throws for a non-zero exit. */
export function runCommand(argv: string[], timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined)
    return Promise.reject(new EtcdError('empty command', { code: 'ETCD_COMMAND_FAILED', retryable: false }));
  const deadline = AbortSignal.timeout(timeoutMs);
  const sig = signal ? AbortSignal.any([signal, deadline]) : deadline;
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: sig,
      killSignal: 'SIGKILL',
    });
    const keep = (c: Buffer) => {
      output = (output + c.toString('utf8')).slice(-4096);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => {
      const what = deadline.aborted ? `timed out after ${timeoutMs} ms` : 'could not run';
      reject(
        new EtcdError(`${argv.join(' ')}: ${what}`, {
          code: 'ETCD_COMMAND_FAILED',
          retryable: true,
          cause: err,
        }),
      );
    });
    child.on('close', (code) => resolve({ code, output: output.trim() }));
  });
}

/** `KEY=value` as a systemd `Environment=` assignment (quoted; `%` escaped against specifier expansion). */
function environmentLine(key: string, value: string): string {
  const quoted = `${key}=${value}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  return `Environment="${quoted}"\n`;
}

/** The drop-in's text: a `[Service]` section of `Environment=` lines, in a stable order. */
export function formatDropIn(env: Record<string, string>): string {
  return (
    '# Written by etcd-spot; rewritten before every start.\n[Service]\n' +
    Object.entries(env)
      .map(([k, v]) => environmentLine(k, v))
      .join('')
  );
}

export class SystemdEtcdRunner implements EtcdRunner {
  private readonly opts: SystemdRunnerOptions;
  private running = false;
  private exit: EtcdExit | undefined;

  constructor(opts: SystemdRunnerOptions) {
    this.opts = opts;
  }

  private get timeoutMs(): number {
    return this.opts.commandTimeoutMs ?? 60_000;
  }

  isRunning(): boolean {
    return this.running;
  }

  lastExit(): EtcdExit | undefined {
    return this.exit;
  }

  async refresh(signal?: AbortSignal): Promise<void> {
    const check = this.opts.checkCommand ?? ['systemctl', 'is-active', '--quiet', 'etcd'];
    const r = await runCommand(check, Math.min(this.timeoutMs, 10_000), signal);
    const now = r.code === 0;
    if (this.running && !now) this.exit = { at: this.opts.clock.now(), code: null, removed: false };
    this.running = now;
  }

  async start(launch: EtcdLaunch): Promise<void> {
    if (launch.forceNewCluster === true) {
      // The drop-in persists: every later restart of the unit would force a new cluster again.
      throw new EtcdError(
        'systemd mode cannot restart etcd with --force-new-cluster once; run it by hand (see `etcd-spot recover --dry-run`)',
        { code: 'ETCD_UNSUPPORTED', retryable: false },
      );
    }
    const env = buildEtcdEnvironment({
      name: launch.name,
      dataDir: this.opts.dataDir,
      clientUrl: launch.clientUrl,
      peerUrl: launch.peerUrl,
      initialCluster: launch.initialCluster,
      initialClusterState: launch.state,
      initialClusterToken: launch.token ?? this.opts.defaultToken ?? 'etcd-spot',
      ...(this.opts.binary !== undefined ? { etcdBinary: this.opts.binary } : {}),
      extraArgs: this.opts.extraArgs ?? [],
      ...(this.opts.clientTls !== undefined ? { clientTls: this.opts.clientTls } : {}),
      ...(this.opts.peerTls !== undefined ? { peerTls: this.opts.peerTls } : {}),
    });
    await this.writeDropIn(formatDropIn(env));
    const reload = this.opts.reloadCommand ?? ['systemctl', 'daemon-reload'];
    if (reload.length > 0) await this.mustRun(reload);
    this.opts.logger.info(
      { state: launch.state, name: launch.name, dropIn: this.opts.dropInPath },
      'starting etcd unit',
    );
    await this.mustRun(this.opts.startCommand);
    this.running = true;
  }

  async stop(reason: string): Promise<void> {
    this.opts.logger.info({ reason }, 'stopping etcd unit');
    await this.mustRun(this.opts.stopCommand);
    if (this.running) this.exit = { at: this.opts.clock.now(), code: null, removed: false };
    this.running = false;
  }

  private async mustRun(argv: string[]): Promise<void> {
    const r = await runCommand(argv, this.timeoutMs);
    if (r.code !== 0) {
      throw new EtcdError(`${argv.join(' ')} exited with ${r.code}${r.output ? `: ${r.output}` : ''}`, {
        code: 'ETCD_COMMAND_FAILED',
        retryable: true,
      });
    }
  }

  private async writeDropIn(text: string): Promise<void> {
    const path = this.opts.dropInPath;
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new EtcdError(`cannot write the systemd drop-in ${path}`, {
        code: 'ETCD_COMMAND_FAILED',
        retryable: false,
        cause: err,
      });
    }
  }
}

/**
 * Process handles for the simulator's "VMs": one agent process per instance, spawned detached in its
 * own process group so that one `kill(-pgid)` takes the agent AND the etcd it supervises, as a VM that
 * disappears would. Typestate: {@link StoppedProcess.start} → {@link RunningProcess}, whose
 * {@link RunningProcess.kill} → StoppedProcess again. Every group this module started is killed on the
 * parent's exit as well (a test that dies mid-way must not leave members holding loopback addresses).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { TimeoutError } from '../core/errors.ts';
import { readProcStats } from './resources.ts';

/** Process-group ids started here and not yet seen dead. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs what is left of a process group whose leader already exited (e.g. the etcd an agent
 * supervised when the agent itself died), and waits until the descendants collected are gone.
 */
export async function killLeftoverGroup(pgid: number, timeoutMs = 10_000): Promise<void> {
  if (!liveGroups.has(pgid)) return;
  const members = groupMembers(pgid);
  signalGroup(pgid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (members.some(isAlive)) {
    if (Date.now() > deadline)
      throw new TimeoutError(`process group ${pgid} still has live processes ${timeoutMs} ms after SIGKILL`);
    await delay(20);
  }
  liveGroups.delete(pgid);
}

/** PIDs whose process group is `pgid` (from /proc). */
function groupMembers(pgid: number): number[] {
  return readProcStats()
    .filter((p) => p.pgid === pgid)
    .map((p) => p.pid);
}

/** Process groups started by this module that are still alive (for diagnostics and tests). */
export function liveProcessGroups(): number[] {
  return [...liveGroups];
}

/** `pid → ppid` for every process visible in /proc (Linux). Empty elsewhere. */
function parentMap(): Map<number, number> {
  return new Map(readProcStats().map((p) => [p.pid, p.ppid]));
}

/** Every live descendant of `pid` (children, grandchildren, …), read from /proc. */
export function descendantsOf(pid: number): number[] {
  const parents = parentMap();
  const children = new Map<number, number[]>();
  for (const [p, pp] of parents) children.set(pp, [...(children.get(pp) ?? []), p]);
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const cur = queue.shift() as number;
    for (const c of children.get(cur) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * PIDs of live processes whose command line contains `needle` (a path unique to this run, such as the
 * run directory). Used only as the last sweep in cleanup, for processes that escaped their group.
 */
export function pidsWithCommandLineContaining(needle: string): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Alive and not a zombie (an orphan's zombie may linger when PID 1 does not reap). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export interface ProcessSpec {
  /** Shown in errors and logs, e.g. the instance id. */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** stdout and stderr are appended here. */
  logPath: string;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export class StoppedProcess {
  readonly spec: ProcessSpec;
  /** How the previous run ended, when there was one. */
  readonly lastExit: ProcessExit | undefined;

  constructor(spec: ProcessSpec, lastExit?: ProcessExit) {
    this.spec = spec;
    this.lastExit = lastExit;
  }

  /** Spawns the process detached, in its own process group, output appended to the log file. */
  start(): RunningProcess {
    const fd = openSync(this.spec.logPath, 'a');
    let child;
    try {
      writeSync(
        fd,
        `\n# ${new Date().toISOString()} starting ${this.spec.command} ${this.spec.args.join(' ')}\n`,
      );
      child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined)
      throw new Error(`could not start ${this.spec.name}: ${this.spec.command} did not spawn`);
    installExitHook();
    liveGroups.add(pid);
    const exited = new Promise<ProcessExit>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
    });
    child.on('error', () => undefined);
    return new RunningProcess(this.spec, pid, exited);
  }
}

export class RunningProcess {
  readonly spec: ProcessSpec;
  readonly pid: number;
  readonly startedAt = Date.now();
  /** Resolves when the process itself (the group leader) exits. */
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;

  constructor(spec: ProcessSpec, pid: number, exited: Promise<ProcessExit>) {
    this.spec = spec;
    this.pid = pid;
    this.exited = exited.then((e) => (this.exit = e));
  }

  /** Set once the group leader exited. */
  get exitInfo(): ProcessExit | undefined {
    return this.exit;
  }

  /**
   * SIGKILLs the whole process group (and any descendant that left it), then waits until the leader
   * and every one of those processes is gone. The VM is gone: nobody gets to clean up.
   */
  async kill(timeoutMs = 10_000): Promise<StoppedProcess> {
    const victims = [this.pid, ...descendantsOf(this.pid)];
    signalGroup(this.pid, 'SIGKILL');
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + timeoutMs;
    await Promise.race([this.exited, delay(timeoutMs)]);
    while (victims.some(isAlive)) {
      if (Date.now() > deadline) {
        throw new TimeoutError(
          `${this.spec.name} (pgid ${this.pid}) still has live processes ${timeoutMs} ms after SIGKILL`,
        );
      }
      await delay(20);
    }
    liveGroups.delete(this.pid);
    return new StoppedProcess(this.spec, this.exit ?? { code: null, signal: 'SIGKILL', at: Date.now() });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}

/**
 * SIGKILLs every process group this module started, synchronously. For paths where no async cleanup
 * can run (a second Ctrl-C, a fatal error); the `exit` hook does the same on a normal exit.
 */
export function killAllProcessGroupsSync(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

/**
 * SIGINT/SIGTERM for a simulator run: the first signal calls `onFirst` (an orderly stop), a second one
 * kills every process group started here and dies by that signal. Returns the uninstaller.
 */
export function installStopSignals(onFirst: (sig: NodeJS.Signals) => void): () => void {
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (++count === 1) {
      onFirst(sig);
      return;
    }
    // Second signal: no time for an orderly shutdown; kill what we started, then die by the signal.
    killAllProcessGroupsSync();
    uninstall();
    process.kill(process.pid, sig);
  };
  const uninstall = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return uninstall;
}

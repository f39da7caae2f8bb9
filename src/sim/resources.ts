/**
 * What the agents cost: every second, each instance's processes are read from /proc (the agent's
 * process group plus any descendant that left it) and split into etcd (command name `etcd`) and
 * "the agent" (everything else: etcd-spot's node process, or a script agent's shells, curls and
 * etcdctls). Reported per instance and over the fleet: peak resident memory, and CPU as a percentage
 * of one core, averaged over the time the processes ran.
 *
 * CPU is counted from each process's own user+system ticks between samples. Processes that live and
 * die between two samples (a script's curl) are counted through their parent's "children" ticks,
 * which the kernel adds when it reaps them; the part of that which is a reaped process already
 * counted (e.g. an etcd the agent restarted) is subtracted. The {@link ResourceAccountant} is pure,
 * fed with parsed samples, so this arithmetic is unit-tested.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat this module uses (ticks and pages as the kernel reports them). */
export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  pgid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** Ticks after boot the process started (tells a reused pid apart). */
  starttime: number;
  /** Resident set size in pages. */
  rss: number;
}

/** Parses one /proc/<pid>/stat line; undefined when it is not one. */
export function parseProcStat(line: string): ProcStat | undefined {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(line.slice(0, open).trim());
  const comm = line.slice(open + 1, close);
  // After ") ": state(3) ppid(4) pgrp(5) session tty tpgid flags minflt cminflt majflt cmajflt
  // utime(14) stime(15) cutime(16) cstime(17) priority nice threads itrealvalue starttime(22) vsize rss(24)
  const f = line
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const n = (field: number) => Number(f[field - 3]);
  const out: ProcStat = {
    pid,
    comm,
    ppid: n(4),
    pgid: n(5),
    utime: n(14),
    stime: n(15),
    cutime: n(16),
    cstime: n(17),
    starttime: n(22),
    rss: n(24),
  };
  return Object.values(out).every((v) => typeof v === 'string' || Number.isFinite(v)) ? out : undefined;
}

/** Every process visible in /proc right now (Linux; empty elsewhere). */
export function readProcStats(): ProcStat[] {
  const out: ProcStat[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const p = parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (p) out.push(p);
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function getconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

/** Clock ticks per second and page size of this machine (`getconf`; 100 and 4096 when unknown). */
export function systemUnits(): { ticksPerSecond: number; pageSize: number } {
  return { ticksPerSecond: getconf('CLK_TCK', 100), pageSize: getconf('PAGESIZE', 4096) };
}

export type ProcessClass = 'agent' | 'etcd';

export interface ResourceUsage {
  /** Highest sum of resident memory of the class's processes of one instance at one sample, MB. */
  peakRssMb: number;
  /** CPU time used / time the class's processes ran, as % of one core. */
  meanCpuPercent: number;
  cpuSeconds: number;
  /** Sampled time during which the class had at least one process. */
  runningMs: number;
}

export interface InstanceResources {
  instanceId: string;
  agent: ResourceUsage;
  etcd: ResourceUsage;
  /** Distinct command names seen per class (e.g. node; bash, curl, etcdctl). */
  commands: { agent: string[]; etcd: string[] };
}

export interface ResourceReport {
  sampleIntervalMs: number;
  samples: number;
  /**
   * Over all instances: the peak is the highest of any one instance, the mean CPU is the total CPU
   * time over the total running time (so: per instance, on average).
   */
  agent: ResourceUsage;
  etcd: ResourceUsage;
  perInstance: InstanceResources[];
}

interface Usage {
  peakPages: number;
  ticks: number;
  runningMs: number;
  commands: Set<string>;
}

interface Seen {
  instanceId: string;
  cls: ProcessClass;
  pid: number;
  ppid: number;
  self: number;
  children: number;
}

function newUsage(): Usage {
  return { peakPages: 0, ticks: 0, runningMs: 0, commands: new Set() };
}

/** Pure bookkeeping over samples of /proc; see the module comment for how CPU is attributed. */
export class ResourceAccountant {
  private readonly ticksPerSecond: number;
  private readonly pageSize: number;
  private readonly isEtcd: (comm: string) => boolean;
  private readonly usage = new Map<string, Record<ProcessClass, Usage>>();
  private prev = new Map<string, Seen>();
  private lastAt: number | undefined;
  samples = 0;

  constructor(opts: { ticksPerSecond: number; pageSize: number; etcdCommands?: readonly string[] }) {
    this.ticksPerSecond = opts.ticksPerSecond;
    this.pageSize = opts.pageSize;
    const names = new Set(opts.etcdCommands ?? ['etcd']);
    this.isEtcd = (c) => names.has(c);
  }

  private of(instanceId: string): Record<ProcessClass, Usage> {
    let u = this.usage.get(instanceId);
    if (!u) {
      u = { agent: newUsage(), etcd: newUsage() };
      this.usage.set(instanceId, u);
    }
    return u;
  }

  /**
   * One sample at `at`: `procs` is every process (as read from /proc), `groups` each instance's agent
   * process group. A process belongs to an instance when its process group is the agent's, or when it
   * descends from the agent's process.
   */
  observe(
    at: number,
    procs: readonly ProcStat[],
    groups: readonly { instanceId: string; pgid: number }[],
  ): void {
    const elapsed = this.lastAt === undefined ? 0 : Math.max(0, at - this.lastAt);
    this.lastAt = at;
    this.samples++;
    const byPgid = new Map(groups.map((g) => [g.pgid, g.instanceId]));
    const children = new Map<number, ProcStat[]>();
    for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    const owner = new Map<number, string>();
    for (const p of procs) {
      const id = byPgid.get(p.pgid);
      if (id !== undefined) owner.set(p.pid, id);
    }
    // Descendants of an agent process that moved to another process group (setsid) still count.
    for (const g of groups) {
      const queue = [g.pgid];
      while (queue.length > 0) {
        const cur = queue.shift() as number;
        for (const c of children.get(cur) ?? []) {
          if (!owner.has(c.pid)) owner.set(c.pid, g.instanceId);
          if (owner.get(c.pid) === g.instanceId) queue.push(c.pid);
        }
      }
    }

    const next = new Map<string, Seen>();
    const current: { p: ProcStat; id: string; cls: ProcessClass; key: string }[] = [];
    for (const p of procs) {
      const id = owner.get(p.pid);
      if (id === undefined) continue;
      const cls: ProcessClass = this.isEtcd(p.comm) ? 'etcd' : 'agent';
      current.push({ p, id, cls, key: `${p.pid}:${p.starttime}` });
    }
    // Totals of the processes that vanished since the last sample, per parent (what it reaped).
    const present = new Set(current.map((c) => c.key));
    const reaped = new Map<number, number>();
    for (const [key, s] of this.prev) {
      if (present.has(key)) continue;
      reaped.set(s.ppid, (reaped.get(s.ppid) ?? 0) + s.self + s.children);
    }

    const pages = new Map<string, Record<ProcessClass, number>>();
    for (const { p, id, cls, key } of current) {
      const u = this.of(id);
      const self = p.utime + p.stime;
      const kids = p.cutime + p.cstime;
      const before = this.prev.get(key);
      const dSelf = before ? Math.max(0, self - before.self) : self;
      const dKids = before ? Math.max(0, kids - before.children) : kids;
      u[cls].ticks += dSelf;
      // Reaped children's time not seen before: short-lived helpers, or the last moments of a process.
      u.agent.ticks += Math.max(0, dKids - (before ? (reaped.get(p.pid) ?? 0) : 0));
      u[cls].commands.add(p.comm);
      const pp = pages.get(id) ?? { agent: 0, etcd: 0 };
      pp[cls] += p.rss;
      pages.set(id, pp);
      next.set(key, { instanceId: id, cls, pid: p.pid, ppid: p.ppid, self, children: kids });
    }
    for (const [id, pp] of pages) {
      const u = this.of(id);
      for (const cls of ['agent', 'etcd'] as const) {
        if (pp[cls] > u[cls].peakPages) u[cls].peakPages = pp[cls];
      }
    }
    // Running time: the interval before this sample counts in full for a class that ran at both ends
    // of it, half for one that appeared within it.
    const prevRunning = new Set([...this.prev.values()].map((s) => `${s.instanceId}\0${s.cls}`));
    const counted = new Set<string>();
    for (const { id, cls } of current) {
      const k = `${id}\0${cls}`;
      if (counted.has(k)) continue;
      counted.add(k);
      this.of(id)[cls].runningMs += prevRunning.has(k) ? elapsed : elapsed / 2;
    }
    this.prev = next;
  }

  private toUsage(u: Usage): ResourceUsage {
    const cpuSeconds = u.ticks / this.ticksPerSecond;
    return {
      peakRssMb: round1((u.peakPages * this.pageSize) / (1024 * 1024)),
      meanCpuPercent: u.runningMs > 0 ? round1((cpuSeconds * 1000 * 100) / u.runningMs) : 0,
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      runningMs: Math.round(u.runningMs),
    };
  }

  report(sampleIntervalMs: number): ResourceReport {
    const perInstance: InstanceResources[] = [...this.usage.entries()].map(([instanceId, u]) => ({
      instanceId,
      agent: this.toUsage(u.agent),
      etcd: this.toUsage(u.etcd),
      commands: { agent: [...u.agent.commands].sort(), etcd: [...u.etcd.commands].sort() },
    }));
    const total = (cls: ProcessClass): ResourceUsage => {
      const all = [...this.usage.values()].map((u) => u[cls]);
      const sum: Usage = newUsage();
      for (const u of all) {
        sum.peakPages = Math.max(sum.peakPages, u.peakPages);
        sum.ticks += u.ticks;
        sum.runningMs += u.runningMs;
      }
      return this.toUsage(sum);
    };
    return {
      sampleIntervalMs,
      samples: this.samples,
      agent: total('agent'),
      etcd: total('etcd'),
      perInstance,
    };
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Samples the fleet's processes every `intervalMs` (default 1 s) into a {@link ResourceAccountant}. */
export class ResourceSampler {
  private readonly accountant: ResourceAccountant;
  private readonly groups: () => { instanceId: string; pgid: number }[];
  readonly intervalMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(opts: {
    groups: () => { instanceId: string; pgid: number }[];
    intervalMs?: number;
    etcdCommands?: readonly string[];
  }) {
    this.groups = opts.groups;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.accountant = new ResourceAccountant({
      ...systemUnits(),
      ...(opts.etcdCommands ? { etcdCommands: opts.etcdCommands } : {}),
    });
  }

  sample(): void {
    const groups = this.groups();
    if (groups.length === 0 && this.accountant.samples === 0) return;
    this.accountant.observe(Date.now(), readProcStats(), groups);
  }

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): ResourceReport {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.accountant.report(this.intervalMs);
  }
}

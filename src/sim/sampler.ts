/**
 * Samples a fleet every `intervalMs`: feeds each snapshot to a {@link Monitor}, keeps the workload's
 * endpoints equal to the cluster's started voters (see {@link writerEndpoints}), and hands snapshots to
 * an optional listener.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Fleet } from './fleet.ts';
import type { Monitor } from './monitor.ts';
import type { FleetSnapshot } from './snapshot.ts';
import type { Workload } from './workload.ts';

/**
 * The client URLs the writers use: those of the started voters, as a client configured with the
 * cluster's members would (kube-apiserver's `--etcd-servers`). Not every live instance: a replacement
 * whose etcd is not running yet, or a learner (it refuses KV calls), made the writers' client retry
 * on a dead or refusing host, and replacing the client at each launch cost every writer a new
 * connection; in a leader interruption that was the longest write gap, before the agent had done
 * anything (issue 11 §4, bench/trace-leader-gap.ts). Undefined: keep the current set (the member list
 * could not be read). Before any member started, every live instance (boot).
 */
export function writerEndpoints(snap: FleetSnapshot, liveUrls: readonly string[]): string[] | undefined {
  if (snap.memberListError !== undefined) return undefined;
  const ips = new Set(
    snap.members
      .filter((m) => !m.isLearner && m.name !== '' && m.instanceId !== undefined)
      .flatMap((m) => snap.instances.filter((i) => i.id === m.instanceId).map((i) => i.privateIp)),
  );
  if (ips.size === 0) return [...liveUrls];
  const urls = liveUrls.filter((u) => ips.has(new URL(u).hostname));
  return urls.length > 0 ? urls : [...liveUrls];
}

export class FleetSampler {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly fleet: Fleet;
  private readonly monitor: Monitor;
  private readonly workload: Workload | undefined;
  private readonly intervalMs: number;
  private readonly listeners = new Set<(s: FleetSnapshot) => void>();

  constructor(opts: { fleet: Fleet; monitor: Monitor; workload?: Workload; intervalMs?: number }) {
    this.fleet = opts.fleet;
    this.monitor = opts.monitor;
    this.workload = opts.workload;
    this.intervalMs = opts.intervalMs ?? 250;
  }

  /** Calls `fn` with every snapshot; returns the unsubscribe function. */
  onSnapshot(fn: (s: FleetSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Takes one sample now. */
  async sample(): Promise<FleetSnapshot> {
    const snap = await this.fleet.snapshot();
    const endpoints = writerEndpoints(snap, this.fleet.clientUrls());
    if (endpoints !== undefined) this.workload?.setEndpoints(endpoints);
    this.monitor.observe(snap);
    for (const fn of this.listeners) fn(snap);
    return snap;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.sample().catch(() => undefined);
        await delay(this.intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/**
 * Samples a fleet every `intervalMs`: feeds each snapshot to a {@link Monitor}, keeps the workload's
 * endpoints equal to the fleet's live instances, and hands snapshots to an optional listener.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Fleet } from './fleet.ts';
import type { Monitor } from './monitor.ts';
import type { FleetSnapshot } from './snapshot.ts';
import type { Workload } from './workload.ts';

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
    this.workload?.setEndpoints(this.fleet.clientUrls());
    const snap = await this.fleet.snapshot();
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

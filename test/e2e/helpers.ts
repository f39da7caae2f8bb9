/**
 * Shared by the end-to-end files: a fleet of real agents + etcd on the file's own loopback subnet, a
 * writer holding all endpoints, a monitor sampling every 250 ms, and failure output that names the seed,
 * the run directory and the fleet's trace. Seeded (E2E_SEED overrides each file's default), bounded
 * (every wait has a deadline), never retried. A passing test deletes its run directory (etcd
 * preallocates 64 MB of WAL per member); a failing one keeps it (E2E_KEEP_RUNS=1 keeps them all).
 */
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError, TimeoutError } from '../../src/core/errors.ts';
import { Fleet } from '../../src/sim/fleet.ts';
import type { FleetEvent, FleetOptions } from '../../src/sim/fleet.ts';
import { Monitor } from '../../src/sim/monitor.ts';
import { FleetSampler } from '../../src/sim/sampler.ts';
import type { FleetSnapshot, MemberRow } from '../../src/sim/snapshot.ts';
import { Workload } from '../../src/sim/workload.ts';
import type { WorkloadResult } from '../../src/sim/workload.ts';

/** Convergence deadline on a 2-core machine (bootstrap, a join after etcd's 5 s reconfig window, a TTL reap). */
export const CONVERGE_MS = 120_000;

export function seedFor(fileDefault: number): number {
  const env = process.env.E2E_SEED;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : fileDefault;
}

export interface Harness {
  fleet: Fleet;
  monitor: Monitor;
  sampler: FleetSampler;
  workload: Workload;
  events: FleetEvent[];
  /** Starts the writers (after the first convergence). */
  startWriting(): void;
  /** Stops the writers and reads everything back. */
  checkWrites(): Promise<WorkloadResult>;
  /** The member row of an instance in a snapshot. */
  memberOf(s: FleetSnapshot, instanceId: string): MemberRow | undefined;
  /** Waits for a fleet event (already happened ones count when `since` is before them). */
  waitForEvent(
    pred: (e: FleetEvent) => boolean,
    timeoutMs: number,
    what: string,
    since?: number,
  ): Promise<FleetEvent>;
  /** Kills everything; `passed` also deletes the run directory (a failed run keeps it for inspection). */
  close(passed?: boolean): Promise<void>;
}

export async function startHarness(t: TestContext, opts: FleetOptions): Promise<Harness> {
  const fleet = await Fleet.start(opts);
  t.diagnostic(`seed ${fleet.seed}, run dir ${fleet.runDir}`);
  const monitor = new Monitor(fleet.maxVoters);
  const workload = new Workload({ writers: 4, runId: `e2e${fleet.seed}` });
  const sampler = new FleetSampler({ fleet, monitor, workload });
  sampler.start();
  let closed = false;
  const h: Harness = {
    fleet,
    monitor,
    sampler,
    workload,
    events: fleet.events,
    startWriting: () => workload.start(),
    checkWrites: () => workload.check(30_000),
    memberOf: (s, id) => s.members.find((m) => m.instanceId === id),
    async waitForEvent(pred, timeoutMs, what, since = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = fleet.events.find((x) => x.at >= since && pred(x));
        if (e) return e;
        if (Date.now() > deadline)
          throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await delay(100);
      }
    },
    async close(passed = false) {
      if (!closed) {
        closed = true;
        await sampler.stop();
        await workload.close();
        await fleet.close();
      }
      if (passed && process.env.E2E_KEEP_RUNS !== '1') await fleet.removeRunDir();
    },
  };
  return h;
}

/**
 * Runs `body` with a harness; on failure prints the trace (fleet events, agent decisions) as
 * diagnostics and rethrows with the seed and run directory in the message. Always cleans up.
 */
export async function withFleet(
  t: TestContext,
  opts: FleetOptions,
  body: (h: Harness) => Promise<void>,
): Promise<void> {
  const h = await startHarness(t, opts);
  let passed = false;
  try {
    await body(h);
    passed = true;
  } catch (err) {
    for (const line of h.fleet.trace().split('\n')) t.diagnostic(line);
    throw new Error(`${describeError(err)} [seed ${h.fleet.seed}, run dir ${h.fleet.runDir}]`, {
      cause: err,
    });
  } finally {
    await h.close(passed);
  }
}

/** Reports the writes as diagnostics and asserts that no acknowledged write was lost. */
export function reportWrites(t: TestContext, r: WorkloadResult): void {
  const c = r.check;
  t.diagnostic(
    `writes: ${c.acknowledged} acknowledged, ${c.lost.length} lost, ${c.failed} failed ${JSON.stringify(c.failedByCode)}, longest gap ${c.longestGapMs} ms`,
  );
}

/**
 * Experiment (issue 11 §4): do in-flight client writes fail when a leaving member goes, and does the
 * order of the last two steps matter? A real 3-member etcd, 4 writers through one client on every
 * member's URL (no retry of a write that may have been sent), 300 puts/s; then, on a follower:
 *   A. `member remove` while it runs (etcd stops itself: today's agent order), or
 *   B. SIGTERM it (etcd's graceful stop) and remove it once it has exited.
 * Counts failed puts and the longest gap around the step. Not a test: a diagnostic whose numbers go
 * into BENCHMARKS.md.   node --import tsx bench/leave-order-experiment.ts [--runs 3] [--ip-prefix 127.0.211]
 */
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { startTestCluster } from '../test/support/etcd-cluster-fixture.ts';
import { neverSent } from '../src/sim/workload.ts';

async function trial(order: 'A' | 'B', ipPrefix: string): Promise<{ failed: number; gapMs: number }> {
  const cluster = await startTestCluster({ size: 3, ipPrefix });
  const kv = new Etcd3({
    hosts: cluster.endpoints,
    defaultCallOptions: () => ({ deadline: Date.now() + 1000 }),
    faultHandling: {
      global: retry(handleWhen(neverSent), {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 10, maxDelay: 100 }),
      }),
    },
  });
  const admin = (url: string) => new Etcd3({ hosts: url, faultHandling: { host: () => noop, global: noop } });
  let stop = false;
  const acked: number[] = [];
  let failed = 0;
  const writer = async (w: number) => {
    let n = 0;
    while (!stop) {
      const t = performance.now();
      try {
        await kv.put(`x/${w}/${n++}`).value('v');
        acked.push(performance.now());
      } catch {
        failed++;
      }
      const wait = 13 - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const loops = [0, 1, 2, 3].map(writer);
  // etcd refuses a removal for 5 s after a member started (strict reconfiguration check).
  await new Promise((r) => setTimeout(r, 6000));
  // A follower: move the leadership away if it happens to lead.
  const statuses = await Promise.all(
    cluster.members.map(async (m) => {
      const c = admin(m.clientUrl);
      try {
        return await c.maintenance.status();
      } finally {
        c.close();
      }
    }),
  );
  const leaderId = statuses[0]?.leader as string;
  const idx = statuses.findIndex((s) => s.header.member_id !== leaderId);
  const victim = cluster.members[idx]!;
  const victimId = statuses[idx]!.header.member_id;
  const other = cluster.members.find((_, i) => i !== idx)!;
  const failedBefore = failed;
  const t0 = performance.now();
  const c = admin(other.clientUrl);
  if (order === 'A') {
    await c.cluster.memberRemove({ ID: victimId });
  } else {
    await cluster.stopMember(idx);
    await c.cluster.memberRemove({ ID: victimId });
  }
  c.close();
  await new Promise((r) => setTimeout(r, 2000));
  stop = true;
  await Promise.all(loops);
  kv.close();
  let gap = 0;
  const around = acked.filter((t) => t >= t0 - 200 && t <= t0 + 2000).sort((a, b) => a - b);
  for (let i = 1; i < around.length; i++) gap = Math.max(gap, around[i]! - around[i - 1]!);
  void victim;
  await cluster.close();
  return { failed: failed - failedBefore, gapMs: gap };
}

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, 'ip-prefix': { type: 'string', default: '127.0.211' } },
});
for (const order of ['A', 'B'] as const) {
  const rs: { failed: number; gapMs: number }[] = [];
  for (let i = 0; i < Number(values.runs); i++) rs.push(await trial(order, values['ip-prefix']));
  console.log(
    `${order === 'A' ? 'A remove while running' : 'B SIGTERM, then remove'}: failed puts ${rs.map((r) => r.failed).join(', ')}; longest gap ${rs.map((r) => r.gapMs.toFixed(0)).join(', ')} ms`,
  );
}

/**
 * The fast bootstrap's plan (docs/design.md row C4, "the whole group at once"): when the seeder's list
 * holds exactly the group's desired capacity D, its vote request carries one agreed initial cluster
 * (each instance's id → member name and peer URL) and a token. A voter records the plan with its vote
 * only when its own list is the same set ({@link planAcceptance}); the seeder starts it only once every
 * one of the D instances accepted it, and the others start it only on their own recorded copy
 * (src/core/vote.ts: `wholeGroupAgreed`, `recordedPlanToStart`). Pure; the safety argument is in
 * vote.ts's header.
 */
import type { InstanceId } from './ids.ts';
import type { BootstrapPlan, GroupInstanceView, SnapshotView } from './observation.ts';
import { largestOddAtMost } from './quorum.ts';

/** Whether `s` holds a control character (a token goes on etcd's command line). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A plan names at most this many instances (a vote request stays a few KiB). */
export const MAX_PLAN_INSTANCES = 64;
const MAX_TOKEN_CHARS = 1024;
const INSTANCE_ID = /^[A-Za-z0-9._-]{1,128}$/;
const PEER_URL = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** How many instances start as the initial voters: the largest odd number ≤ min(D, maxVoters). */
export function initialVoterCount(desiredCapacity: number, maxVoters: number): number {
  return largestOddAtMost(Math.min(desiredCapacity, maxVoters));
}

/** `self`'s peer URL with its host replaced by `ip` (every agent of a group runs the same scheme and port). */
export function peerUrlAt(selfPeerUrl: string, ip: string): string | undefined {
  const m = PEER_URL.exec(selfPeerUrl);
  if (m === null) return undefined;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `${m[1]}://${host}:${m[3]}`;
}

/**
 * The plan the seeder proposes with its vote request, or why it proposes none (then the vote is the
 * one-by-one path's, as before). Preconditions:
 * - the list holds exactly D instances (a partial list, or more than D, proposes nothing);
 * - D is at most {@link MAX_PLAN_INSTANCES};
 * - no snapshot may need restoring (row C5): no snapshot store, or a store read as empty, or the
 *   operator's `recover --empty` order; a restore starts one member from the snapshot, never a plan;
 * - every member's peer URL can be built from self's (same scheme and port, the instance's IP).
 */
export function proposePlan(args: {
  instances: readonly GroupInstanceView[];
  desiredCapacity: number;
  selfPeerUrl: string;
  maxVoters: number;
  token: string;
  snapshot: SnapshotView | undefined;
  emptyOrder: boolean;
}): { ok: true; plan: BootstrapPlan } | { ok: false; reason: string } {
  const { instances, desiredCapacity: d } = args;
  if (instances.length !== d)
    return {
      ok: false,
      reason: `the list holds ${instances.length} of the ${d} instances of the desired capacity`,
    };
  if (d > MAX_PLAN_INSTANCES)
    return { ok: false, reason: `a group of ${d} is more than ${MAX_PLAN_INSTANCES} instances` };
  const snap = snapshotProblem(args.snapshot, args.emptyOrder);
  if (snap !== undefined) return { ok: false, reason: snap };
  const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const members: BootstrapPlan['members'] = [];
  for (const i of sorted.slice(0, initialVoterCount(d, args.maxVoters))) {
    const peerUrl = peerUrlAt(args.selfPeerUrl, i.privateIp);
    if (peerUrl === undefined)
      return { ok: false, reason: `self's peer URL ${args.selfPeerUrl} does not parse` };
    members.push({ instanceId: i.id, peerUrl });
  }
  return { ok: true, plan: { token: args.token, instances: sorted.map((i) => i.id), members } };
}

/**
 * Why a snapshot store keeps the whole group from starting empty at once (row C5: the seeder restores
 * the newest snapshot instead, or waits while the store is unreadable), or undefined: no store, a
 * store read as empty, or the operator's `recover --empty` order.
 */
export function snapshotProblem(snapshot: SnapshotView | undefined, emptyOrder: boolean): string | undefined {
  if (snapshot === undefined || emptyOrder) return undefined;
  if (!snapshot.ok) return `the snapshot store could not be read (${snapshot.error})`;
  if (snapshot.newest !== undefined)
    return `the snapshot store holds ${snapshot.newest.name}, which is restored instead`;
  return undefined;
}

/**
 * What is wrong with a plan's shape for a group of `desiredCapacity`, or undefined when nothing is:
 * instances sorted, unique, exactly D; members the lowest `largestOddAtMost(min(D, maxVoters))` of
 * them in order (the seeder first), each with a peer URL; a non-empty token. `maxVoters` is the
 * voter's own (a plan with more initial voters than it allows is refused).
 */
export function planShapeProblem(
  plan: BootstrapPlan,
  desiredCapacity: number,
  maxVoters: number,
): string | undefined {
  if (plan.token === '') return 'its token is empty';
  if (plan.instances.length !== desiredCapacity)
    return `it names ${plan.instances.length} instances, the desired capacity is ${desiredCapacity}`;
  for (let i = 1; i < plan.instances.length; i++) {
    if (!((plan.instances[i - 1] as string) < (plan.instances[i] as string)))
      return 'its instances are not sorted and unique';
  }
  const k = initialVoterCount(desiredCapacity, maxVoters);
  if (plan.members.length !== k)
    return `it starts ${plan.members.length} voters, ${k} expected for ${desiredCapacity} instances (maxVoters ${maxVoters})`;
  for (const [i, m] of plan.members.entries()) {
    if (m.instanceId !== plan.instances[i])
      return `its members are not the lowest ${k} instances in order (${m.instanceId} at ${i + 1})`;
    if (!PEER_URL.test(m.peerUrl)) return `member ${m.instanceId}'s peer URL ${m.peerUrl} does not parse`;
  }
  const urls = new Set(plan.members.map((m) => m.peerUrl));
  if (urls.size !== plan.members.length) return 'two members share a peer URL';
  return undefined;
}

/**
 * Whether a voter that grants its vote also accepts the plan (records it with the vote), or why not.
 * - the plan is well formed for the voter's D and maxVoters ({@link planShapeProblem});
 * - the candidate is the plan's first member (the seeder is the lowest id);
 * - the voter's own list, as a set, is the plan's instances: the whole group, seen alike;
 * - the voter knows its own peer URL, and when it is one of the plan's members, its entry is exactly
 *   that URL (an entry at another IP or scheme means the seeder's list is stale, or TLS differs).
 */
export function planAcceptance(args: {
  plan: BootstrapPlan;
  candidate: InstanceId;
  voter: { instanceId: InstanceId; peerUrl: string } | undefined;
  localView: readonly InstanceId[];
  desiredCapacity: number;
  maxVoters: number;
}): { accepted: true } | { accepted: false; reason: string } {
  const { plan, candidate, voter, localView } = args;
  const shape = planShapeProblem(plan, args.desiredCapacity, args.maxVoters);
  if (shape !== undefined) return { accepted: false, reason: `the plan is malformed: ${shape}` };
  if (plan.members[0]?.instanceId !== candidate)
    return { accepted: false, reason: `the plan's first member is not the candidate ${candidate}` };
  const planned = new Set(plan.instances);
  const mine = new Set(localView);
  const missing = plan.instances.filter((id) => !mine.has(id));
  const extra = [...mine].filter((id) => !planned.has(id)).sort();
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`lacks ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`also has ${extra.join(', ')}`] : []),
    ];
    return {
      accepted: false,
      reason: `my list of ${mine.size} ${parts.join(' and ')} compared with the plan's ${plan.instances.length}`,
    };
  }
  if (voter === undefined) return { accepted: false, reason: 'my own peer URL is not known yet' };
  const entry = plan.members.find((m) => m.instanceId === voter.instanceId);
  if (entry !== undefined && entry.peerUrl !== voter.peerUrl)
    return {
      accepted: false,
      reason: `the plan has me at ${entry.peerUrl}, but my peer URL is ${voter.peerUrl}`,
    };
  return { accepted: true };
}

/** Two plans are the same agreement (same token, same instances, same members and URLs). */
export function samePlan(a: BootstrapPlan | undefined, b: BootstrapPlan | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return (
    a.token === b.token &&
    a.instances.length === b.instances.length &&
    a.instances.every((id, i) => id === b.instances[i]) &&
    a.members.length === b.members.length &&
    a.members.every(
      (m, i) => m.instanceId === b.members[i]?.instanceId && m.peerUrl === b.members[i]?.peerUrl,
    )
  );
}

/** `--initial-cluster` of a plan: each member named after its instance id. */
export function planInitialCluster(plan: BootstrapPlan): { name: string; peerUrl: string }[] {
  return plan.members.map((m) => ({ name: m.instanceId, peerUrl: m.peerUrl }));
}

/**
 * A plan from untrusted JSON (a vote request's body, state.json), or one error naming the field:
 * `{ token, instances: [id…], members: [{ instanceId, peerUrl }…] }`, at most
 * {@link MAX_PLAN_INSTANCES} instances. Only the shape: {@link planShapeProblem} checks the agreement.
 */
export function parseBootstrapPlan(
  value: unknown,
  field = 'plan',
): { ok: true; plan: BootstrapPlan } | { ok: false; error: string } {
  const bad = (where: string, what: string) => ({ ok: false as const, error: `${field}${where}: ${what}` });
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return bad('', 'expected an object {token, instances, members}');
  const v = value as Record<string, unknown>;
  const token = v.token;
  if (typeof token !== 'string' || token === '' || token.length > MAX_TOKEN_CHARS || hasControl(token))
    return bad('.token', `expected a non-empty string of at most ${MAX_TOKEN_CHARS} printable characters`);
  if (!Array.isArray(v.instances) || v.instances.length === 0 || v.instances.length > MAX_PLAN_INSTANCES)
    return bad('.instances', `expected 1 to ${MAX_PLAN_INSTANCES} instance ids`);
  const instances: InstanceId[] = [];
  for (const [i, id] of v.instances.entries()) {
    if (typeof id !== 'string' || !INSTANCE_ID.test(id))
      return bad(`.instances[${i}]`, 'expected an instance id');
    instances.push(id);
  }
  if (!Array.isArray(v.members) || v.members.length === 0 || v.members.length > instances.length)
    return bad('.members', `expected 1 to ${instances.length} members (no more than instances)`);
  const members: BootstrapPlan['members'] = [];
  for (const [i, m] of v.members.entries()) {
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      return bad(`.members[${i}]`, 'expected an object {instanceId, peerUrl}');
    const r = m as Record<string, unknown>;
    if (typeof r.instanceId !== 'string' || !INSTANCE_ID.test(r.instanceId))
      return bad(`.members[${i}].instanceId`, 'expected an instance id');
    if (typeof r.peerUrl !== 'string' || !PEER_URL.test(r.peerUrl))
      return bad(`.members[${i}].peerUrl`, 'expected http(s)://<ip>:<port>');
    members.push({ instanceId: r.instanceId, peerUrl: r.peerUrl });
  }
  return { ok: true, plan: { token, instances, members } };
}

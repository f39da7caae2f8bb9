/**
 * etcd's version rules that decide whether a membership change can work, as named pure predicates.
 * Read off etcd's source (etcd-io/etcd at v3.4.23, v3.5.33, v3.6.14; only 3.4.23 runs here):
 *
 * - **Joining.** A member of server version X that starts with `--initial-cluster-state=existing` asks
 *   its peers for their cluster version C and refuses to run unless MinClusterVersion ≤ C ≤ X.major.minor
 *   (`isCompatibleWithCluster` / `isCompatibleWithVers` in etcdserver/cluster_util.go, all three tags:
 *   "cluster version of remote member is not compatible; too high"); 3.6 also panics when its version is
 *   below the determined cluster version (`MustDetectDowngrade`, server/etcdserver/version/downgrade.go:
 *   "invalid downgrade; server version is lower than determined cluster version"). MinClusterVersion is
 *   "3.0.0" in every tag. The cluster version only rises, to the lowest server version of the members
 *   (`decideClusterVersion` / `membersMinimalServerVersion`, version/monitor.go in 3.6), so the lowest
 *   server version the members report is a safe stand-in for it: C ≤ that.
 *   Upstream supports upgrades one minor at a time only ("skipping a minor will likely fail",
 *   upgrade_3_6.md), so a joiner more than one minor above the lowest member is refused too.
 * - **Learner limit.** 3.4 and 3.5 hard-code one learner (`maxLearners = 1`, membership/cluster.go);
 *   3.6 has `--max-learners` (default 1, `DefaultMaxLearners`, membership/cluster_opts.go), checked by
 *   every member as it applies the add (`ValidateMaxLearnerConfig`). etcd does not report the flag
 *   through its API (only in its startup log, field "max-learners"), so the agent is told the value
 *   (`agent.maxLearners`) and uses it only when every member runs 3.6 or later.
 * - **MemberUpdate on a learner** promotes it before 3.6.12 / 3.5.31 (CHANGELOG-3.6 v3.6.12, CHANGELOG-3.5
 *   v3.5.31: "MemberUpdate implicitly and unexpectedly promotes a learner"). etcd-spot never calls
 *   MemberUpdate (the EtcdCluster port has no such call; a test guards it).
 */
import type { MemberView } from './observation.ts';

export interface EtcdVersion {
  major: number;
  minor: number;
  patch: number;
  /** As etcd printed it. */
  text: string;
}

/** `3.4.23`, `v3.6.14`, `3.6.0-rc.1`, `etcd Version: 3.5.33` → the version; anything else → undefined. */
export function parseEtcdVersion(text: string | undefined): EtcdVersion | undefined {
  if (text === undefined) return undefined;
  const m = /(?:^|[\s:v])v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.-]*)?/.exec(text.trim());
  if (m === null) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

/** `3.4`. */
export function minorText(v: Pick<EtcdVersion, 'major' | 'minor'>): string {
  return `${v.major}.${v.minor}`;
}

function compareMinor(a: EtcdVersion, b: EtcdVersion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** The members' server versions that are known (reachable members that reported one). */
export function knownMemberVersions(
  members: readonly MemberView[],
): { member: MemberView; v: EtcdVersion }[] {
  const out: { member: MemberView; v: EtcdVersion }[] = [];
  for (const m of members) {
    const v = parseEtcdVersion(m.version);
    if (v !== undefined) out.push({ member: m, v });
  }
  return out;
}

/** The lowest server version among the members that reported one (≥ the cluster version), or undefined. */
export function lowestMemberVersion(members: readonly MemberView[]): EtcdVersion | undefined {
  let low: EtcdVersion | undefined;
  for (const { v } of knownMemberVersions(members))
    if (low === undefined || compareMinor(v, low) < 0) low = v;
  return low;
}

export type VersionVerdict = { ok: true; summary: string } | { ok: false; reason: string };

/**
 * Whether a new member running etcd `joiner` can join a cluster whose members report these versions.
 * - the joiner's version is known (unknown: allowed, and said so — etcd itself still refuses an
 *   incompatible member at its start, which then shows as a never-started member);
 * - at least one member reported a version (none: allowed, and said so);
 * - same major version as the lowest member;
 * - joiner minor ≥ the lowest member's minor: etcd refuses to run a member below the cluster version;
 * - joiner minor ≤ the lowest member's minor + 1: upgrades go one minor at a time.
 */
export function canJoinWithVersion(
  joiner: string | undefined,
  members: readonly MemberView[],
): VersionVerdict {
  const j = parseEtcdVersion(joiner);
  if (j === undefined)
    return {
      ok: true,
      summary: "self's etcd version is unknown, so it was not checked against the cluster's",
    };
  const low = lowestMemberVersion(members);
  if (low === undefined)
    return { ok: true, summary: `etcd ${j.text}; no member reported its version, so it was not checked` };
  if (j.major !== low.major)
    return {
      ok: false,
      reason: `self runs etcd ${j.text} and the cluster runs ${low.text}: etcd does not join across major versions`,
    };
  if (j.minor < low.minor)
    return {
      ok: false,
      reason: `self runs etcd ${j.text}, older than the cluster (lowest member ${low.text}): etcd refuses to run a member below the cluster version ${minorText(low)}; install etcd ${minorText(low)} or later here`,
    };
  if (j.minor > low.minor + 1)
    return {
      ok: false,
      reason: `self runs etcd ${j.text}, more than one minor above the cluster (lowest member ${low.text}): etcd upgrades go one minor at a time; upgrade the cluster to ${low.major}.${j.minor - 1} first`,
    };
  return { ok: true, summary: `etcd ${j.text} can join a cluster at ${minorText(low)}` };
}

export interface LearnerLimit {
  limit: number;
  /** Where the limit comes from, for reasons. */
  why: string;
}

/**
 * How many learners etcd allows at once in this cluster.
 * - `configured` (agent.maxLearners, meant to equal etcd's `--max-learners`) only when every member and
 *   the joiner (when given) report etcd 3.6 or later;
 * - otherwise 1: 3.4/3.5 hard-code it, and a member whose version is unknown may be one of those.
 */
export function learnerLimit(
  members: readonly MemberView[],
  configured: number,
  joiner?: string,
): LearnerLimit {
  const conf = Math.max(1, Math.floor(configured));
  if (conf === 1) return { limit: 1, why: 'limit 1' };
  const known = knownMemberVersions(members);
  const unknown = members.length - known.length;
  const old = known.find(({ v }) => v.major < 3 || (v.major === 3 && v.minor < 6));
  if (old !== undefined)
    return {
      limit: 1,
      why: `limit 1: member ${old.member.id} runs etcd ${old.v.text}, which allows one learner`,
    };
  const j = parseEtcdVersion(joiner);
  if (joiner !== undefined && (j === undefined || j.minor < 6))
    return {
      limit: 1,
      why: `limit 1: self's etcd ${j?.text ?? 'version unknown'} may allow only one learner`,
    };
  if (unknown > 0 || members.length === 0)
    return { limit: 1, why: `limit 1 until every member reports etcd 3.6+ (${unknown} did not)` };
  return { limit: conf, why: `limit ${conf}, agent.maxLearners on etcd 3.6+` };
}

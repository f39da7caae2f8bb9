import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canJoinWithVersion, learnerLimit, lowestMemberVersion, parseEtcdVersion } from './etcd-version.ts';
import type { MemberView } from './observation.ts';

function m(id: string, version: string | undefined, opts: Partial<MemberView> = {}): MemberView {
  return {
    id,
    name: `i-${id}`,
    peerUrls: [],
    clientUrls: [],
    isLearner: false,
    reachable: version !== undefined,
    ...(version === undefined ? {} : { version }),
    ...opts,
  };
}
const cluster = (...versions: (string | undefined)[]): MemberView[] =>
  versions.map((v, i) => m(String(i + 1).padStart(16, '0'), v));

describe('parseEtcdVersion', () => {
  const table: [string | undefined, string | undefined][] = [
    ['3.4.23', '3.4.23'], // Maintenance.Status on Debian's etcd
    ['v3.6.14', '3.6.14'],
    ['3.6.0-rc.1', '3.6.0'],
    ['etcd Version: 3.5.33', '3.5.33'], // `etcd --version`, first line
    ['', undefined],
    ['3.6', undefined],
    ['not a version', undefined],
    [undefined, undefined],
  ];
  for (const [input, want] of table)
    test(`${JSON.stringify(input)} → ${want ?? 'undefined'}`, () => {
      assert.equal(parseEtcdVersion(input)?.text, want);
    });
});

describe('lowestMemberVersion (stands in for the cluster version, which is ≤ it)', () => {
  test('the lowest major.minor among members that reported one; unknown members are skipped', () => {
    assert.equal(lowestMemberVersion(cluster('3.6.14', '3.5.33', undefined))?.text, '3.5.33');
    assert.equal(lowestMemberVersion(cluster(undefined, undefined)), undefined);
  });
});

describe('canJoinWithVersion: isCompatibleWithVers (cluster_util.go) + one minor at a time', () => {
  const table: { joiner: string | undefined; members: MemberView[]; ok: boolean; text: RegExp }[] = [
    {
      joiner: '3.4.23',
      members: cluster('3.4.23', '3.4.23', '3.4.23'),
      ok: true,
      text: /can join a cluster at 3\.4/,
    },
    { joiner: '3.4.45', members: cluster('3.4.23'), ok: true, text: /can join/ }, // patch versions mix freely
    { joiner: '3.5.33', members: cluster('3.4.23', '3.4.23'), ok: true, text: /can join a cluster at 3\.4/ },
    { joiner: '3.6.14', members: cluster('3.5.33', '3.6.14'), ok: true, text: /can join a cluster at 3\.5/ },
    { joiner: '3.5.0', members: cluster('3.6.14', '3.5.33'), ok: true, text: /can join a cluster at 3\.5/ },
    // etcd refuses to run below the cluster version ("too high" / "invalid downgrade")
    {
      joiner: '3.4.23',
      members: cluster('3.5.33', '3.5.33'),
      ok: false,
      text: /older than the cluster .*3\.5\.33/,
    },
    { joiner: '3.5.33', members: cluster('3.6.14'), ok: false, text: /install etcd 3\.6 or later/ },
    // skipping a minor
    { joiner: '3.6.14', members: cluster('3.4.23'), ok: false, text: /upgrade the cluster to 3\.5 first/ },
    { joiner: '3.7.1', members: cluster('3.5.33', '3.6.14'), ok: false, text: /one minor at a time/ },
    { joiner: '4.0.0', members: cluster('3.6.14'), ok: false, text: /across major versions/ },
    // unknown: not checked, and said so
    { joiner: undefined, members: cluster('3.6.14'), ok: true, text: /unknown, so it was not checked/ },
    { joiner: 'garbage', members: cluster('3.6.14'), ok: true, text: /unknown/ },
    { joiner: '3.6.14', members: cluster(undefined, undefined), ok: true, text: /no member reported/ },
  ];
  for (const row of table)
    test(`${row.joiner ?? '(unknown)'} into [${row.members.map((x) => x.version ?? '?').join(', ')}] → ${row.ok ? 'ok' : 'refused'}`, () => {
      const v = canJoinWithVersion(row.joiner, row.members);
      assert.equal(v.ok, row.ok);
      assert.match(v.ok ? v.summary : v.reason, row.text);
    });
});

describe('learnerLimit: 1 on 3.4/3.5 (maxLearners = 1, membership/cluster.go), --max-learners on 3.6+', () => {
  const table: { members: MemberView[]; configured: number; joiner?: string; limit: number; why: RegExp }[] =
    [
      {
        members: cluster('3.6.14', '3.6.14', '3.6.14'),
        configured: 3,
        limit: 3,
        why: /agent\.maxLearners on etcd 3\.6\+/,
      },
      { members: cluster('3.6.14', '3.6.14'), configured: 3, joiner: '3.6.0', limit: 3, why: /limit 3/ },
      { members: cluster('3.6.14', '3.6.14'), configured: 1, limit: 1, why: /^limit 1$/ },
      {
        members: cluster('3.6.14', '3.5.33'),
        configured: 3,
        limit: 1,
        why: /runs etcd 3\.5\.33, which allows one learner/,
      },
      { members: cluster('3.4.23'), configured: 2, limit: 1, why: /3\.4\.23/ },
      {
        members: cluster('3.6.14', undefined),
        configured: 2,
        limit: 1,
        why: /until every member reports etcd 3\.6\+ \(1 did not\)/,
      },
      { members: cluster('3.6.14'), configured: 2, joiner: '3.5.33', limit: 1, why: /self's etcd 3\.5\.33/ },
      { members: cluster('3.6.14'), configured: 0, limit: 1, why: /limit 1/ }, // never below 1
    ];
  for (const row of table)
    test(`[${row.members.map((x) => x.version ?? '?').join(', ')}] configured ${row.configured}${row.joiner ? `, joiner ${row.joiner}` : ''} → ${row.limit}`, () => {
      const l = learnerLimit(row.members, row.configured, row.joiner);
      assert.equal(l.limit, row.limit);
      assert.match(l.why, row.why);
    });
});

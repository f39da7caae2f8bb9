// `etcd-spot member list | remove | promote | move-leader` as an operator runs them, against a real
// 3-member etcd on 127.0.76.x: each output format, the agents' safety predicates refusing an unsafe
// removal and an unready promotion (exit 6, nothing changed), and --force taking the step anyway.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startEtcd } from '../../src/adapters/etcd/etcd-process.ts';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { waitFor } from '../support/wait.ts';
import { startTestCluster, type TestCluster } from '../support/etcd-cluster-fixture.ts';
import { etcdctl, parseMemberListSimple } from '../support/etcd-ctl.ts';
import { runCli } from './cli-support.ts';

let cluster: TestCluster;
let endpoints: string;

before(async () => {
  cluster = await startTestCluster({ size: 3, ipPrefix: '127.0.76' });
  endpoints = cluster.endpoints.join(',');
});

after(async () => {
  await cluster?.close();
});

const members = async (eps = cluster.endpoints) =>
  parseMemberListSimple(await etcdctl([`--endpoints=${eps.join(',')}`, 'member', 'list']));

async function leaderName(): Promise<string> {
  const r = await runCli(['member', 'list', '-o', 'json', '--endpoints', endpoints]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  return doc.members.find((m: { role: string }) => m.role === 'leader').name;
}

/** Adds an (unstarted) learner, retrying through etcd's ~5 s refusal after a membership change or a (re)connect. */
async function addLearner(peerUrl: string): Promise<string> {
  const etcd = createEtcdCluster({ callTimeoutMs: 2000 });
  try {
    return await waitFor(
      async () => {
        try {
          return (await etcd.addLearner(cluster.endpoints, peerUrl)).member.id;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 15_000, intervalMs: 500, what: 'etcd to accept the learner' },
    );
  } finally {
    await etcd.close();
  }
}

test('member list: table, wide, --no-headers, json and yaml agree with etcdctl', async () => {
  const truth = await members();
  const table = await runCli(['member', 'list', '--endpoints', endpoints]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.split('\n');
  assert.match(lines[0]!, /^ID\s+NAME\s+ROLE\s+STATUS\s+PEER URLS\s+CLIENT URLS$/);
  for (const m of truth) {
    const row = lines.find((l) => l.startsWith(m.id));
    assert.ok(row, `row for ${m.id}:\n${table.stdout}`);
    assert.match(
      row,
      new RegExp(`^${m.id}\\s+${m.name}\\s+(leader|follower)\\s+healthy\\s+${m.peerUrls[0]}`),
    );
  }
  assert.equal(lines.filter((l) => /\bleader\b/.test(l) && /^[0-9a-f]{16}/.test(l)).length, 1);
  assert.match(
    table.stdout,
    /\n3 voter\(s\), 0 learner\(s\), 3 healthy voter\(s\), quorum 2, leader [0-9a-f]{16}\n$/,
  );

  const wide = await runCli(['member', 'list', '-o', 'wide', '--endpoints', endpoints]);
  assert.match(wide.stdout.split('\n')[0]!, /RAFT TERM\s+RAFT INDEX\s+VERSION\s+DB SIZE\s+ERROR$/);
  assert.match(wide.stdout, /\s3\.4\.23\s+\d+(\.\d)? (kB|MB)/);

  const bare = await runCli(['member', 'list', '--no-headers', '--endpoints', endpoints]);
  assert.deepEqual(
    bare.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .sort(),
    truth.map((m) => m.id).sort(),
    'no header and no summary line',
  );

  for (const flag of [['-o', 'json'], ['--json']]) {
    const r = await runCli(['member', 'list', ...flag, '--endpoints', endpoints]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.schemaVersion, 1);
    assert.deepEqual(Object.keys(doc), [
      'schemaVersion',
      'leaderId',
      'voters',
      'learners',
      'healthyVoters',
      'quorum',
      'members',
    ]);
    assert.equal(doc.voters, 3);
    assert.equal(doc.quorum, 2);
    assert.deepEqual(doc.members.map((m: { id: string }) => m.id).sort(), truth.map((m) => m.id).sort());
    for (const m of doc.members) {
      assert.equal(m.status, 'healthy');
      assert.ok(m.raftTerm >= 1 && m.raftIndex > 0, JSON.stringify(m));
      assert.equal(m.version, '3.4.23');
    }
  }
  const y = await runCli(['member', 'list', '-o', 'yaml', '--endpoints', endpoints]);
  assert.equal(y.code, 0, y.stderr);
  assert.match(y.stdout, /^schemaVersion: 1\n/);
  const ydoc = parseYaml(y.stdout);
  assert.equal(ydoc.members.length, 3);

  const bad = await runCli(['member', 'list', '-o', 'xml', '--endpoints', endpoints]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /-o "xml": unknown output format; use one of table, wide, json, yaml/);
});

test('member move-leader hands leadership to a follower named by its instance; to the leader it refuses', async () => {
  const before = await leaderName();
  const target = cluster.members.map((m) => m.name).find((n) => n !== before)!;
  const r = await runCli(['member', 'move-leader', target, '--endpoints', endpoints]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`^safe: move leadership from [0-9a-f]{16} \\(${before}\\) to [0-9a-f]{16} \\(${target}\\)`),
  );
  assert.match(r.stdout, new RegExp(`done: leadership moved to [0-9a-f]{16} \\(${target}\\)`));
  assert.equal(await leaderName(), target);

  const again = await runCli(['member', 'move-leader', target, '--endpoints', endpoints, '-o', 'json']);
  assert.equal(again.code, 6, again.stderr);
  const doc = JSON.parse(again.stdout);
  assert.equal(doc.safe, false);
  assert.match(doc.check, /is already the leader/);
  assert.deepEqual(doc.done, []);
});

test('member promote refuses a learner that never started (not caught up); remove of a learner is safe', async () => {
  const id = await addLearner('http://127.0.76.14:2380');
  const r = await runCli(['member', 'promote', id, '--endpoints', endpoints]);
  assert.equal(r.code, 6, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^refused: promoting [0-9a-f]{16} \(unstarted at 127\.0\.76\.14\) is not safe now: learner .* is not caught up with the leader \(unreachable\)/,
  );
  assert.match(r.stdout, /--force would risk: /);
  assert.match(
    r.stderr,
    /member promote refused \(safety predicate\); nothing changed\. --force takes it anyway/,
  );
  assert.ok((await members()).find((m) => m.id === id)?.isLearner, 'still a learner');

  const rm = await runCli(['member', 'remove', id, '--endpoints', endpoints]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(
    rm.stdout,
    /^safe: remove [0-9a-f]{16} \(unstarted at 127\.0\.76\.14\): 3 healthy voters of 3 remain ≥ quorum 2\n/,
  );
  assert.equal((await members()).length, 3);
});

test('member promote of a started, caught-up learner is safe and promotes it; removing it again is safe', async () => {
  const peerUrl = 'http://127.0.76.15:2380';
  const id = await addLearner(peerUrl);
  cluster.track(
    startEtcd({
      name: 'spare2',
      dataDir: join(cluster.dir, 'spare2'),
      clientUrl: 'http://127.0.76.15:2379',
      peerUrl,
      initialCluster: [
        ...cluster.members.map((m) => ({ name: m.name, peerUrl: m.peerUrl })),
        { name: 'spare2', peerUrl },
      ],
      initialClusterState: 'existing',
      initialClusterToken: cluster.token,
      logFile: join(cluster.dir, 'spare2.log'),
    }),
  );
  await waitFor(
    async () => {
      const r = await runCli(['member', 'list', '-o', 'json', '--endpoints', endpoints]);
      const m = JSON.parse(r.stdout).members.find((x: { id: string }) => x.id === id);
      return m?.status === 'healthy' && m.role === 'learner' ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 300, what: 'the learner to start and follow the leader' },
  );
  const r = await runCli(['member', 'promote', 'spare2', '--endpoints', endpoints]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^safe: promote [0-9a-f]{16} \(spare2\): \d+ entries behind the leader; 4 healthy voters of 4 ≥ quorum 3\ndone: promoted [0-9a-f]{16} \(spare2\)\n$/,
  );
  assert.equal((await members()).find((m) => m.id === id)?.isLearner, false);
  const rm = await runCli(['member', 'remove', id, '--endpoints', endpoints]);
  assert.equal(rm.code, 0, rm.stdout + rm.stderr);
  assert.match(rm.stdout, /^safe: remove [0-9a-f]{16} \(spare2\): 3 healthy voters of 3 remain ≥ quorum 2\n/);
  assert.equal((await members()).length, 3);
});

test('with one voter down, removing a healthy one is refused with the arithmetic; --dry-run --force changes nothing; --force reaches etcd, whose own check refuses it too', async () => {
  await cluster.killMember(2); // m3
  const [m1, m2] = cluster.members;
  const live = [m1!.clientUrl, m2!.clientUrl];
  const truth = await members(live);
  const list = await runCli(['member', 'list', '-o', 'json', '--endpoints', endpoints]);
  assert.equal(list.code, 0, list.stderr);
  const doc = JSON.parse(list.stdout);
  assert.equal(doc.healthyVoters, 2);
  assert.equal(doc.members.find((m: { name: string }) => m.name === 'm3').status, 'unreachable');

  const refused = await runCli(['member', 'remove', 'm2', '--endpoints', endpoints]);
  assert.equal(refused.code, 6, refused.stdout + refused.stderr);
  assert.match(
    refused.stdout,
    /^refused: removing [0-9a-f]{16} \(m2\) would break quorum: only 1 healthy voter of 2 would remain < quorum 2\n--force would risk: the cluster keeps 2 voters and needs 2 to commit/,
  );
  assert.deepEqual(await members(live), truth, 'nothing removed');

  const dry = await runCli([
    'member',
    'remove',
    'm2',
    '--force',
    '--dry-run',
    '-o',
    'yaml',
    '--endpoints',
    endpoints,
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  const dryDoc = parseYaml(dry.stdout);
  assert.equal(dryDoc.forced, true);
  assert.equal(dryDoc.dryRun, true);
  assert.deepEqual(dryDoc.done, []);
  assert.deepEqual(await members(live), truth, 'nothing removed by a dry run');

  // etcd's own strict reconfiguration check refuses the same removal: --force reaches etcd, which says no.
  const forced = await runCli(['member', 'remove', 'm2', '--force', '--endpoints', endpoints]);
  assert.equal(forced.code, 1, forced.stdout + forced.stderr);
  assert.match(forced.stdout, /^UNSAFE, forced: removing .*\nrisk taken: the cluster keeps 2 voters/);
  assert.doesNotMatch(forced.stdout, /done:/);
  assert.match(
    forced.stderr,
    /^Error: member remove [0-9a-f]{16} \(m2\) failed: .*unhealthy cluster; etcd's own check refused it too \(strict reconfiguration check\), nothing changed\n$/,
  );
  assert.deepEqual(await members(live), truth, 'etcd removed nothing');
  await cluster.startMember(2);
});

test('member remove of an unknown reference is a usage error naming the members', async () => {
  const r = await runCli(['member', 'remove', 'i-nope', '--endpoints', cluster.members[0]!.clientUrl]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Error: member remove: no member has the id or instance name "i-nope"; members: /);
});

test('member remove of the leader, when quorum holds: leadership is handed over first (no election), then it is removed', async () => {
  const live = cluster.members.map((m) => m.clientUrl).join(',');
  const leader = await leaderName();
  const r = await runCli(['member', 'remove', leader, '--endpoints', live]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^safe: remove [0-9a-f]{16} \\(${leader}\\): 2 healthy voters of 2 remain ≥ quorum 2\\ndone: moved leadership to [0-9a-f]{16} \\(m\\d\\) first\\ndone: removed [0-9a-f]{16} \\(${leader}\\)\\n$`,
    ),
  );
  const left = await members(cluster.members.filter((m) => m.name !== leader).map((m) => m.clientUrl));
  assert.deepEqual(left.map((m) => m.name).includes(leader), false);
  assert.equal(left.length, 2);
});

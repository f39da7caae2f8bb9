import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemberView } from './observation.ts';
import { agreedLeader, checkMoveLeader, checkPromote, checkRemove, resolveMember } from './member-ops.ts';

const L = '000000000000000a';
function m(id: string, over: Partial<MemberView> = {}): MemberView {
  return {
    id,
    name: `i-${id.slice(-1)}`,
    peerUrls: [`http://10.0.0.${parseInt(id.slice(-1), 16)}:2380`],
    clientUrls: [`http://10.0.0.${parseInt(id.slice(-1), 16)}:2379`],
    isLearner: false,
    reachable: true,
    leaderId: L,
    raftIndex: 100,
    ...over,
  };
}
const three = () => [m(L), m('000000000000000b'), m('000000000000000c')];
const byId = (ms: MemberView[], id: string) => ms.find((x) => x.id === id)!;

test('resolveMember finds a member by hex id (any case) or by the instance it is named after', () => {
  const ms = three();
  assert.equal(resolveMember(ms, '000000000000000B').ok, true);
  const r = resolveMember(ms, 'i-c');
  assert.ok(r.ok && r.member.id === '000000000000000c');
  const miss = resolveMember(ms, 'i-z');
  assert.ok(
    !miss.ok &&
      /no member has the id or instance name "i-z"; members: 000000000000000a \(i-a\)/.test(miss.reason),
  );
});

test('checkRemove: allowed with the arithmetic when quorum holds, refused with it and a risk when not', () => {
  const ms = three();
  const ok = checkRemove(ms, byId(ms, '000000000000000b'));
  assert.deepEqual(ok, {
    ok: true,
    summary: 'remove 000000000000000b (i-b): 2 healthy voters of 2 remain ≥ quorum 2',
  });
  const down = [
    m(L),
    m('000000000000000b'),
    m('000000000000000c', { reachable: false, leaderId: undefined }),
  ];
  const no = checkRemove(down, byId(down, '000000000000000b'));
  assert.equal(no.ok, false);
  assert.ok(!no.ok);
  assert.equal(
    no.reason,
    'removing 000000000000000b (i-b) would break quorum: only 1 healthy voter of 2 would remain < quorum 2',
  );
  assert.match(no.risk, /^the cluster keeps 2 voters and needs 2 to commit/);
  // Removing the unreachable one is safe: it never counted.
  assert.equal(checkRemove(down, byId(down, '000000000000000c')).ok, true);
});

test('checkRemove counts a member that answered without a leader as unhealthy (unknown is never healthy)', () => {
  const ms = [m(L), m('000000000000000b'), m('000000000000000c', { leaderId: undefined })];
  assert.equal(checkRemove(ms, byId(ms, '000000000000000b')).ok, false);
});

test('checkPromote: a caught-up learner is promoted; one behind or unreachable is refused', () => {
  const ms = [
    m(L, { raftIndex: 5000 }),
    m('000000000000000b', { raftIndex: 5000 }),
    m('000000000000000d', { isLearner: true, raftIndex: 4990 }),
  ];
  assert.equal(checkPromote(ms, byId(ms, '000000000000000d'), 1000).ok, true);
  const behind = checkPromote(ms, byId(ms, '000000000000000d'), 5);
  assert.ok(
    !behind.ok && /not caught up with the leader \(10 entries behind the leader\)/.test(behind.reason),
  );
  const voter = checkPromote(ms, byId(ms, '000000000000000b'), 1000);
  assert.ok(!voter.ok && /already a voter/.test(voter.reason));
});

test('checkMoveLeader: only to a healthy voter other than the leader, and only with one agreed leader', () => {
  const ms = three();
  assert.equal(agreedLeader(ms), L);
  assert.equal(checkMoveLeader(ms, byId(ms, '000000000000000b')).ok, true);
  assert.equal(checkMoveLeader(ms, byId(ms, L)).ok, false);
  const down = [
    m(L),
    m('000000000000000b'),
    m('000000000000000c', { reachable: false, leaderId: undefined }),
  ];
  const r = checkMoveLeader(down, byId(down, '000000000000000c'));
  assert.ok(!r.ok && /not a healthy voter \(unreachable\)/.test(r.reason));
  const split = [m(L), m('000000000000000b', { leaderId: '000000000000000b' })];
  assert.equal(agreedLeader(split), undefined);
  const e = checkMoveLeader(split, byId(split, '000000000000000b'));
  assert.ok(!e.ok && /no agreed leader/.test(e.reason));
});

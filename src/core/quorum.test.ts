import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canAddLearner,
  canPromote,
  canRemoveSafely,
  coldStandbyReason,
  faultTolerance,
  healthyVoters,
  hostOfUrl,
  isCaughtUp,
  largestOddAtMost,
  peerHostOf,
  quorumSize,
} from './quorum.ts';
import type { MemberView } from './observation.ts';

const LEADER = '00000000000000a1';

function m(id: string, opts: Partial<MemberView> = {}): MemberView {
  return {
    id,
    name: `i-${id.slice(-1)}`,
    peerUrls: [`http://127.0.0.1${id.slice(-1)}:2380`],
    clientUrls: [`http://127.0.0.1${id.slice(-1)}:2379`],
    isLearner: false,
    reachable: true,
    raftIndex: 100,
    leaderId: LEADER,
    ...opts,
  };
}

const down = { reachable: false, leaderId: undefined, raftIndex: undefined, unreachableSince: 0 };

describe('quorum arithmetic', () => {
  test('quorumSize is floor(n/2)+1', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(quorumSize), [1, 1, 2, 2, 3, 3, 4, 4]);
  });

  test('faultTolerance is n minus quorum, never negative', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(faultTolerance), [0, 0, 0, 1, 1, 2, 2, 3]);
  });

  test('largestOddAtMost rounds down to an odd number, at least 1', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 9, 10].map(largestOddAtMost), [1, 1, 1, 3, 3, 5, 5, 9, 9]);
  });

  test('healthyVoters counts reachable voters that follow a leader, not learners', () => {
    const members = [
      m('00000000000000a1'),
      m('00000000000000a2', { isLearner: true }),
      m('00000000000000a3', down),
      m('00000000000000a4', { leaderId: undefined }),
      m('00000000000000a5'),
    ];
    assert.deepEqual(
      healthyVoters(members).map((x) => x.id),
      ['00000000000000a1', '00000000000000a5'],
    );
  });
});

describe('canRemoveSafely', () => {
  test('refuses a member that is not in the list', () => {
    const v = canRemoveSafely([m('00000000000000a1')], '00000000000000ff');
    assert.equal(v.ok, false);
  });

  test('allows removing an unreachable voter: the healthy count does not drop', () => {
    const v = canRemoveSafely(
      [m('00000000000000a1'), m('00000000000000a2'), m('00000000000000a3', down)],
      '00000000000000a3',
    );
    assert.deepEqual(v, { ok: true, summary: '2 healthy voters of 2 remain ≥ quorum 2' });
  });

  test('refuses removing a healthy voter when only two of three are healthy', () => {
    const v = canRemoveSafely(
      [m('00000000000000a1'), m('00000000000000a2'), m('00000000000000a3', down)],
      '00000000000000a2',
    );
    assert.deepEqual(v, { ok: false, reason: 'only 1 healthy voter of 2 would remain < quorum 2' });
  });

  test('allows removing a live voter from four voters with one dead (as etcd does)', () => {
    const members = [
      m('00000000000000a1'),
      m('00000000000000a2'),
      m('00000000000000a3'),
      m('00000000000000a4', down),
    ];
    assert.equal(canRemoveSafely(members, '00000000000000a3').ok, true);
  });

  test('refuses removing the last healthy voter of a single-member cluster', () => {
    assert.equal(canRemoveSafely([m('00000000000000a1')], '00000000000000a1').ok, false);
  });

  test('a learner removal still needs a quorum of healthy voters', () => {
    const lost = [
      m('00000000000000a1'),
      m('00000000000000a2', down),
      m('00000000000000a3', down),
      m('00000000000000a4', { isLearner: true }),
    ];
    assert.equal(canRemoveSafely(lost, '00000000000000a4').ok, false);
    const fine = [m('00000000000000a1'), m('00000000000000a2'), m('00000000000000a4', { isLearner: true })];
    assert.equal(canRemoveSafely(fine, '00000000000000a4').ok, true);
  });
});

describe('canAddLearner', () => {
  const voters = [m('00000000000000a1'), m('00000000000000a2'), m('00000000000000a3')];

  test('allows an add when every voter is reachable and there is no learner', () => {
    assert.equal(canAddLearner(voters).ok, true);
  });

  test('refuses while a learner exists (one learner at a time)', () => {
    const v = canAddLearner([...voters, m('00000000000000a4', { isLearner: true })]);
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /one learner at a time/);
  });

  test('refuses while an unstarted member exists', () => {
    const v = canAddLearner([...voters, m('00000000000000a4', { ...down, name: '', isLearner: false })]);
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /never started/);
  });

  test('refuses while a voter is down (etcd: unhealthy cluster)', () => {
    const v = canAddLearner([m('00000000000000a1'), m('00000000000000a2'), m('00000000000000a3', down)]);
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /refuses adds while voter 00000000000000a3 \(i-3\) is down/);
  });

  test('refuses when no voter follows a leader', () => {
    assert.equal(canAddLearner([m('00000000000000a1', { leaderId: undefined })]).ok, false);
  });
});

describe('isCaughtUp and canPromote', () => {
  const leader = m(LEADER, { raftIndex: 5000 });

  test('a reachable learner within catchUpEntries of the leader is caught up', () => {
    assert.equal(isCaughtUp(m('00000000000000a4', { isLearner: true, raftIndex: 4000 }), leader, 1000), true);
  });

  test('a learner further behind than catchUpEntries is not caught up', () => {
    assert.equal(
      isCaughtUp(m('00000000000000a4', { isLearner: true, raftIndex: 3999 }), leader, 1000),
      false,
    );
  });

  test('an unreachable learner is not caught up', () => {
    assert.equal(
      isCaughtUp(m('00000000000000a4', { isLearner: true, ...down, raftIndex: 5000 }), leader, 1000),
      false,
    );
  });

  test('an unknown raft index (learner or leader) is not caught up', () => {
    assert.equal(
      isCaughtUp(m('00000000000000a4', { isLearner: true, raftIndex: undefined }), leader, 1000),
      false,
    );
    assert.equal(
      isCaughtUp(m('00000000000000a4', { isLearner: true }), m(LEADER, { raftIndex: undefined }), 1000),
      false,
    );
    assert.equal(isCaughtUp(m('00000000000000a4', { isLearner: true }), undefined, 1000), false);
  });

  test('a voter is never "caught up" as a learner', () => {
    assert.equal(isCaughtUp(m('00000000000000a4', { raftIndex: 5000 }), leader, 1000), false);
  });

  test('canPromote needs a leader, a learner, and a caught-up one', () => {
    const members = [
      leader,
      m('00000000000000a2'),
      m('00000000000000a3'),
      m('00000000000000a4', { isLearner: true, raftIndex: 4990 }),
    ];
    assert.equal(canPromote(members, '00000000000000a4', LEADER, 1000).ok, true);
    assert.equal(canPromote(members, '00000000000000a4', undefined, 1000).ok, false);
    assert.equal(canPromote(members, '00000000000000a2', LEADER, 1000).ok, false);
    assert.equal(canPromote(members, '00000000000000a4', LEADER, 5).ok, false);
    assert.equal(canPromote(members, '00000000000000ff', LEADER, 1000).ok, false);
  });

  test('canPromote refuses a promotion that would leave healthy voters below quorum', () => {
    // 2 voters, one down; a caught-up learner that follows no leader would make 3 voters with 1 healthy.
    const members = [
      leader,
      m('00000000000000a2', down),
      m('00000000000000a4', { isLearner: true, raftIndex: 5000, leaderId: undefined }),
    ];
    assert.equal(canPromote(members, '00000000000000a4', LEADER, 1000).ok, false);
  });
});

describe('peer hosts', () => {
  test('hostOfUrl reads IPv4, hostnames and bracketed IPv6', () => {
    assert.equal(hostOfUrl('http://10.0.0.5:2380'), '10.0.0.5');
    assert.equal(hostOfUrl('https://etcd-1.internal:2380/'), 'etcd-1.internal');
    assert.equal(hostOfUrl('http://[::1]:2380'), '::1');
    assert.equal(hostOfUrl('not a url'), undefined);
  });

  test('peerHostOf uses the first parseable peer URL', () => {
    assert.equal(peerHostOf({ peerUrls: ['garbage', 'http://127.0.0.12:2380'] }), '127.0.0.12');
    assert.equal(peerHostOf({ peerUrls: [] }), undefined);
  });
});

describe('canAddLearner with a learner limit above 1 (etcd 3.6 --max-learners)', () => {
  const voters = [m('00000000000000a1'), m('00000000000000a2'), m('00000000000000a3')];
  const oneLearner = [...voters, m('00000000000000a4', { isLearner: true })];

  test('a second learner is allowed under a limit of 2, and refused at the limit', () => {
    const v = canAddLearner(oneLearner, 2);
    assert.equal(v.ok, true);
    assert.match(v.ok ? v.summary : '', /1 of 2 learners/);
    const full = canAddLearner([...oneLearner, m('00000000000000a5', { isLearner: true })], 2);
    assert.equal(full.ok, false);
    assert.match(!full.ok ? full.reason : '', /2 learners .* reach the limit of 2/);
  });

  test('an unstarted member still blocks the next add under a higher limit (one add at a time)', () => {
    const v = canAddLearner([...voters, m('00000000000000a4', { ...down, name: '', isLearner: true })], 3);
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /never started; one add at a time/);
  });
});

describe('coldStandbyReason', () => {
  const five = ['a1', 'a2', 'a3', 'a4', 'a5'].map((x) => m(`00000000000000${x}`));
  const spare = m('00000000000000a6', { isLearner: true });

  test('voters at maxVoters and learners at the limit: the exact reason', () => {
    assert.equal(
      coldStandbyReason([...five, spare], 5, 1),
      'cold standby: 5 voters (maxVoters 5) and 1 learner (limit 1) leave no slot; joins when a slot frees',
    );
  });

  test('no cold standby while a learner slot or a voter slot is free', () => {
    assert.equal(coldStandbyReason(five, 5, 1), undefined, 'learner slot free');
    assert.equal(coldStandbyReason([...five.slice(0, 3), spare], 5, 1), undefined, 'voter slot free');
    assert.equal(coldStandbyReason([...five, spare], 5, 2), undefined, 'second learner slot free');
  });

  test('an unstarted learner takes a slot too', () => {
    const pending = m('00000000000000a6', { ...down, name: '', isLearner: true });
    assert.match(coldStandbyReason([...five, pending], 5, 1) ?? '', /^cold standby/);
  });
});

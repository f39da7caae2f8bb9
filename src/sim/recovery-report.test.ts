import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentDecision } from './agent-log.ts';
import type { AckedWrite } from './checker.ts';
import {
  keptRevisionOf,
  lossesExplained,
  measureRecoveries,
  orderViolationsExplained,
} from './recovery-report.ts';
import type { RecoveryTimings } from './recovery-report.ts';

const T0 = 1_000_000;
const ack = (key: string, revision: number, at: number): AckedWrite => ({
  writer: 0,
  seq: revision,
  key,
  value: key,
  revision,
  startedAt: at - 5,
  at,
});
const force = (at: number, detail: string, progressed = true): AgentDecision => ({
  instanceId: 'i-1',
  at,
  action: 'force-new-cluster',
  reason: 'quorum lost: …',
  level: 30,
  outcome: { progressed, at: at + 1500, detail },
});

describe('measureRecoveries', () => {
  const acked = [
    ack('w0/1', 10, T0 + 100),
    ack('w0/2', 11, T0 + 200),
    ack('w0/3', 12, T0 + 300),
    ack('w0/4', 13, T0 + 9000),
  ];
  const detail = 'forced a new cluster from member 01 (raft index 40, revision 11) in 1500 ms';

  it('times no leader → writable again, and splits the lost writes by the revision the survivor kept', () => {
    const [r, ...rest] = measureRecoveries({
      decisions: [force(T0 + 6000, detail)],
      acked,
      lostKeys: ['w0/3'],
      leaderLostAt: [T0 + 50, T0 + 1000],
      startedAt: T0,
    });
    assert.equal(rest.length, 0);
    assert.ok(r);
    assert.equal(r.keptRevision, 11);
    assert.equal(r.noLeaderAtMs, 1000);
    assert.equal(r.decidedAtMs, 6000);
    assert.equal(r.writableAgainAtMs, 9000);
    assert.equal(r.recoveryMs, 8000);
    assert.equal(r.decisionToWritableMs, 3000);
    assert.equal(r.lost, 1);
    assert.equal(r.couldNotSurvive, 1);
    assert.deepEqual(r.heldBySurvivor, []);
    assert.equal(lossesExplained(['w0/3'], [r]), true);
  });

  it('every member gone at once (no sample without a leader): "no leader" falls back to the disruption', () => {
    const [r] = measureRecoveries({
      decisions: [force(T0 + 6000, detail)],
      acked,
      lostKeys: [],
      leaderLostAt: [],
      disruptedAt: [T0 + 2000, T0 + 7000],
      startedAt: T0,
    });
    assert.equal(r?.noLeaderAtMs, 2000);
    assert.equal(r?.recoveryMs, 7000);
  });

  it('a lost write the survivor held (revision ≤ kept) is not explained: the verdict fails', () => {
    const rs = measureRecoveries({
      decisions: [force(T0 + 6000, detail)],
      acked,
      lostKeys: ['w0/2', 'w0/3'],
      leaderLostAt: [],
      startedAt: T0,
    });
    assert.deepEqual(rs[0]?.heldBySurvivor, ['w0/2']);
    assert.equal(lossesExplained(['w0/2', 'w0/3'], rs), false);
  });

  it('without a kept revision, or without any recovery, nothing is explained', () => {
    const noRev = measureRecoveries({
      decisions: [force(T0 + 6000, 'forced')],
      acked,
      lostKeys: ['w0/3'],
      leaderLostAt: [],
      startedAt: T0,
    });
    assert.deepEqual(noRev[0]?.heldBySurvivor, ['w0/3']);
    assert.equal(lossesExplained(['w0/3'], noRev), false);
    assert.equal(lossesExplained(['w0/3'], []), false);
    assert.equal(lossesExplained([], []), true);
  });

  it('a write lost after the recovery is never explained by it', () => {
    const rs = measureRecoveries({
      decisions: [force(T0 + 6000, detail)],
      acked,
      lostKeys: ['w0/4'],
      leaderLostAt: [],
      startedAt: T0,
    });
    assert.equal(rs[0]?.lost, 0);
    assert.equal(lossesExplained(['w0/4'], rs), false);
  });

  it('ignores recoveries that did not make progress, and reads revisions from restore outcomes too', () => {
    assert.deepEqual(
      measureRecoveries({
        decisions: [force(T0, detail, false)],
        acked,
        lostKeys: [],
        leaderLostAt: [],
        startedAt: T0,
      }),
      [],
    );
    assert.equal(keptRevisionOf('restored s-42 (revision 42); etcd serving'), 42);
    assert.equal(keptRevisionOf('no number here'), undefined);
  });
});

describe('the HTML report marks the recovery', () => {
  it('shows the timings and flags writes a surviving copy held', async () => {
    const { recoverySection } = await import('./report-html.ts');
    assert.equal(recoverySection({}), '');
    const [r] = measureRecoveries({
      decisions: [force(T0 + 6000, 'forced a new cluster from member 01 (raft index 40, revision 11)')],
      acked: [ack('w0/1', 10, T0 + 100), ack('w0/2', 12, T0 + 200), ack('w1/9', 13, T0 + 7000)],
      lostKeys: ['w0/1', 'w0/2'],
      leaderLostAt: [T0 + 1000],
      startedAt: T0,
    });
    assert.ok(r);
    const html = recoverySection({ recovery: [r] });
    assert.match(html, /<h2>Quorum-loss recovery<\/h2>/);
    assert.match(html, /force-new-cluster/);
    assert.match(html, /<b>6(\.0)?\s?s<\/b>/, 'no leader (1 s) → writable again (7 s) = 6 s');
    assert.match(html, /class="num bad">1</, 'the write at revision 10 ≤ 11 was held by the survivor');
    assert.match(html, /quorum lost: …/);
  });
});

describe('orderViolationsExplained', () => {
  const restore = (kept: number | undefined): RecoveryTimings => ({
    instanceId: 'i-1',
    action: 'restore-snapshot',
    decidedAtMs: 0,
    lost: 0,
    couldNotSurvive: 0,
    heldBySurvivor: [],
    reason: 'r',
    ...(kept === undefined ? {} : { keptRevision: kept }),
  });

  it('explains only a rewind past a restored snapshot', () => {
    assert.equal(orderViolationsExplained([], []), true);
    assert.equal(orderViolationsExplained([{ previousRevision: 50 }], [restore(40)]), true);
    assert.equal(orderViolationsExplained([{ previousRevision: 40 }], [restore(40)]), false);
    assert.equal(orderViolationsExplained([{ previousRevision: 50 }], [restore(undefined)]), false);
    assert.equal(
      orderViolationsExplained([{ previousRevision: 50 }], [{ ...restore(40), action: 'force-new-cluster' }]),
      false,
    );
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  isSnapshotDue,
  needsSnapshotBeforeRemove,
  parseSnapshotName,
  selectRetained,
  snapshotName,
} from './snapshot-policy.ts';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

function snaps(...agesMs: number[]) {
  return agesMs.map((age) => ({ name: snapshotName(NOW - age, 1000 - age / 60_000), takenAt: NOW - age }));
}

describe('snapshotName / parseSnapshotName', () => {
  it('round-trips time and revision, and sorts by time as a string', () => {
    const a = snapshotName(NOW, 42);
    assert.equal(a, '20261130T120000.000Z-000000000042');
    assert.deepEqual(parseSnapshotName(a), { takenAt: NOW, revision: 42 });
    assert.ok(snapshotName(NOW - 1, 99) < a);
  });
  it('refuses names that are not ours', () => {
    assert.equal(parseSnapshotName('backup.db'), undefined);
    assert.equal(parseSnapshotName('20261130T120000Z-42'), undefined);
  });
});

describe('selectRetained', () => {
  const table: {
    name: string;
    ages: number[];
    retention: { keepLast: number; hourlyDays: number; dailyDays: number };
    keep: number[];
  }[] = [
    { name: 'nothing stored', ages: [], retention: { keepLast: 3, hourlyDays: 0, dailyDays: 0 }, keep: [] },
    {
      name: 'keepLast only: the newest N',
      ages: [1 * 60_000, 16 * 60_000, 31 * 60_000, 46 * 60_000],
      retention: { keepLast: 2, hourlyDays: 0, dailyDays: 0 },
      keep: [1 * 60_000, 16 * 60_000],
    },
    {
      name: 'keepLast 0 still keeps the newest',
      ages: [5 * 60_000, 20 * 60_000],
      retention: { keepLast: 0, hourlyDays: 0, dailyDays: 0 },
      keep: [5 * 60_000],
    },
    {
      name: 'hourly: the newest of each UTC hour within the window',
      // 11:59, 11:30 (same hour as 11:59), 10:45, 10:10 (same hour), 09:00 (older than 2 h window? no: 3 h)
      ages: [1 * 60_000, 30 * 60_000, 75 * 60_000, 110 * 60_000, 3 * H],
      retention: { keepLast: 1, hourlyDays: 1, dailyDays: 0 },
      keep: [1 * 60_000, 75 * 60_000, 3 * H],
    },
    {
      name: 'daily: the newest of each UTC day within dailyDays; older ones expire',
      ages: [1 * H, 13 * H, 1 * D + 1 * H, 1 * D + 5 * H, 3 * D, 9 * D],
      retention: { keepLast: 1, hourlyDays: 0, dailyDays: 7 },
      // 11:00 today; yesterday's newest is 23:00 (13 h ago); 3 days ago; 9 days ago is out of the window
      keep: [1 * H, 13 * H, 3 * D],
    },
    {
      name: 'a snapshot from the future (clock skew) is kept',
      ages: [-10 * 60_000, 2 * D],
      retention: { keepLast: 1, hourlyDays: 0, dailyDays: 0 },
      keep: [-10 * 60_000],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const list = snaps(...row.ages);
      const { keep, expire } = selectRetained(list, row.retention, NOW);
      assert.deepEqual(
        keep.map((s) => NOW - s.takenAt),
        row.keep,
      );
      assert.equal(keep.length + expire.length, list.length);
      for (const e of expire) assert.ok(!keep.includes(e));
    });
  }
});

describe('isSnapshotDue', () => {
  const last = { takenAt: NOW - 20 * 60_000, revision: 10, name: 'x' };
  it('is due with no snapshot at all', () => {
    assert.equal(isSnapshotDue({}, 5, 15 * 60_000, NOW).due, true);
  });
  it('is due when the interval passed and the revision moved', () => {
    assert.equal(isSnapshotDue({ last }, 11, 15 * 60_000, NOW).due, true);
  });
  it('is skipped when the revision has not changed', () => {
    const r = isSnapshotDue({ last }, 10, 15 * 60_000, NOW);
    assert.equal(r.due, false);
    assert.match(r.reason, /unchanged/);
  });
  it('is not due before the interval', () => {
    assert.equal(isSnapshotDue({ last }, 11, 30 * 60_000, NOW).due, false);
  });
  it('a clock stepped back 10 min does not put the next snapshot or the next try off for the step', () => {
    const future = { takenAt: NOW + 10 * 60_000, revision: 10, name: 'x' };
    assert.equal(isSnapshotDue({ last: future }, 11, 15 * 60_000, NOW).due, true);
    assert.equal(
      isSnapshotDue({ last, lastFailure: { at: NOW + 10 * 60_000, error: 'boom' } }, 11, 15 * 60_000, NOW)
        .due,
      true,
    );
  });
  it('waits a minute after a failure', () => {
    const r = isSnapshotDue({ last, lastFailure: { at: NOW - 10_000, error: 'boom' } }, 11, 15 * 60_000, NOW);
    assert.equal(r.due, false);
    assert.match(r.reason, /boom/);
    assert.equal(
      isSnapshotDue({ last, lastFailure: { at: NOW - 61_000, error: 'boom' } }, 11, 15 * 60_000, NOW).due,
      true,
    );
  });
});

describe('needsSnapshotBeforeRemove', () => {
  it('yes without a snapshot, no with one younger than a minute', () => {
    assert.equal(needsSnapshotBeforeRemove({}, NOW), true);
    assert.equal(
      needsSnapshotBeforeRemove({ last: { takenAt: NOW - 30_000, revision: 1, name: 'a' } }, NOW),
      false,
    );
    assert.equal(
      needsSnapshotBeforeRemove({ last: { takenAt: NOW - 90_000, revision: 1, name: 'a' } }, NOW),
      true,
    );
  });
  it('a clock stepped back 10 min: a snapshot "from the future" is not fresh proof for a removal', () => {
    const future = { takenAt: NOW + 10 * 60_000, revision: 1, name: 'a' };
    assert.equal(needsSnapshotBeforeRemove({ last: future }, NOW), true);
    assert.equal(
      needsSnapshotBeforeRemove({ lastFailure: { at: NOW + 10 * 60_000, error: 'x' } }, NOW),
      true,
    );
  });
  it('no after a fresh failure: a broken store must not block the removal', () => {
    assert.equal(needsSnapshotBeforeRemove({ lastFailure: { at: NOW - 5000, error: 'x' } }, NOW), false);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkWrites, longestGap } from './checker.ts';
import type { AckedWrite, FailedWrite } from './checker.ts';

function write(
  writer: number,
  seq: number,
  revision: number,
  at: number,
  value = `v${writer}-${seq}`,
): AckedWrite {
  return { writer, seq, key: `w${writer}/${seq}`, value, revision, startedAt: at - 2, at };
}

function readAll(writes: readonly AckedWrite[]): Map<string, string> {
  return new Map(writes.map((w) => [w.key, w.value]));
}

test('a clean run: nothing lost, gap is the largest spacing', () => {
  const acked = [write(0, 1, 10, 1000), write(1, 1, 11, 1010), write(0, 2, 12, 1020), write(1, 2, 13, 1030)];
  const r = checkWrites(acked, readAll(acked));
  assert.equal(r.acknowledged, 4);
  assert.deepEqual(r.lost, []);
  assert.deepEqual(r.nonMonotonic, []);
  assert.equal(r.longestGapMs, 10);
  assert.equal(r.ok, true);
});

test('catches a lost acknowledged write', () => {
  const acked = [write(0, 1, 10, 1000), write(0, 2, 11, 1010), write(0, 3, 12, 1020)];
  const back = readAll(acked);
  back.delete('w0/2');
  const r = checkWrites(acked, back);
  assert.deepEqual(r.lost, ['w0/2']);
  assert.equal(r.ok, false);
});

test('catches a write read back with another value', () => {
  const acked = [write(0, 1, 10, 1000)];
  const r = checkWrites(acked, new Map([['w0/1', 'other']]));
  assert.deepEqual(r.mismatched, [{ key: 'w0/1', expected: 'v0-1', actual: 'other' }]);
  assert.equal(r.ok, false);
});

test('catches a gap between successes across writers, and locates it', () => {
  const acked = [write(0, 1, 10, 1000), write(1, 1, 11, 1005), write(0, 2, 12, 2300), write(1, 2, 13, 2310)];
  const r = checkWrites(acked, readAll(acked));
  assert.equal(r.longestGapMs, 1295);
  assert.deepEqual(r.longestGap, { ms: 1295, from: 1005, to: 2300 });
  // A gap is not data loss.
  assert.equal(r.ok, true);
});

test('catches revisions that do not increase per writer, whatever order the records come in', () => {
  const acked = [write(0, 2, 9, 1010), write(0, 1, 10, 1000), write(1, 1, 5, 1000), write(1, 2, 6, 1010)];
  const r = checkWrites(acked, readAll(acked));
  assert.equal(r.nonMonotonic.length, 1);
  assert.deepEqual(r.nonMonotonic[0], {
    writer: 0,
    key: 'w0/2',
    revision: 9,
    previousKey: 'w0/1',
    previousRevision: 10,
  });
  assert.equal(r.ok, false);
});

test('counts failures by code without calling them losses', () => {
  const failures: FailedWrite[] = [
    { writer: 0, seq: 3, key: 'w0/3', startedAt: 0, at: 1000, code: 'DEADLINE' },
    { writer: 1, seq: 3, key: 'w1/3', startedAt: 0, at: 1000, code: 'DEADLINE' },
    { writer: 1, seq: 4, key: 'w1/4', startedAt: 0, at: 1000, code: 'UNAVAILABLE' },
  ];
  const r = checkWrites([], new Map(), failures);
  assert.equal(r.failed, 3);
  assert.deepEqual(r.failedByCode, { DEADLINE: 2, UNAVAILABLE: 1 });
  assert.equal(r.longestGapMs, 0);
  assert.equal(r.ok, true);
});

test('longestGap equals the max difference of sorted completion times (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 2, maxLength: 50 }), (times) => {
      const sorted = [...times].sort((a, b) => a - b);
      let expected = 0;
      for (let i = 1; i < sorted.length; i++)
        expected = Math.max(expected, (sorted[i] as number) - (sorted[i - 1] as number));
      assert.equal(longestGap(times)?.ms, expected);
    }),
  );
});

test('dropping any acknowledged key from the read-back is always caught (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), fc.nat(), (n, pick) => {
      const acked = Array.from({ length: n }, (_, i) => write(i % 3, i, i + 1, 1000 + i));
      const back = readAll(acked);
      const victim = acked[pick % n] as AckedWrite;
      back.delete(victim.key);
      assert.deepEqual(checkWrites(acked, back).lost, [victim.key]);
    }),
  );
});

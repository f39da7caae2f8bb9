import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkLinearizable, describeOperation, prepareKey, stepRegister } from './linearizability.ts';
import type { KvOperation } from './linearizability.ts';

let nextId = 1;
function op(
  o: Omit<KvOperation, 'id' | 'key' | 'status'> & Partial<Pick<KvOperation, 'key' | 'status'>>,
): KvOperation {
  return { id: nextId++, key: 'k', status: 'ok', ...o };
}
const put = (client: number, value: string, start: number, end: number, status: 'ok' | 'failed' = 'ok') =>
  op({ client, kind: 'put', value, start, end, status });
const get = (client: number, read: string | null, start: number, end: number) =>
  op({ client, kind: 'get', read, start, end });
const cas = (
  client: number,
  expected: string | null,
  value: string,
  succeeded: boolean | undefined,
  start: number,
  end: number,
) =>
  op({
    client,
    kind: 'cas',
    expected,
    value,
    start,
    end,
    ...(succeeded === undefined ? { status: 'failed' as const } : { succeeded }),
  });

test('a sequential history that follows the register is linearizable', () => {
  const r = checkLinearizable([
    get(0, null, 0, 1),
    put(0, 'a', 2, 3),
    get(1, 'a', 4, 5),
    cas(1, 'a', 'b', true, 6, 7),
    cas(0, 'a', 'c', false, 8, 9),
    get(0, 'b', 10, 11),
  ]);
  assert.equal(r.verdict, 'ok');
  assert.deepEqual(r.violations, []);
});

test('a stale read (the older value after a newer acknowledged put) is a violation, with a small window', () => {
  const stale = get(2, 'a', 6, 7);
  const r = checkLinearizable([
    put(0, 'x', 0, 0.5),
    get(1, 'x', 0.6, 0.9),
    put(0, 'a', 1, 2),
    put(1, 'b', 3, 4),
    stale,
    get(0, 'b', 8, 9),
  ]);
  assert.equal(r.verdict, 'violation');
  const v = r.violations[0];
  assert.equal(v?.key, 'k');
  assert.equal(v?.culprit?.id, stale.id);
  // The window is the newer put and the stale read: everything before them is not needed to show it.
  assert.deepEqual(
    v?.window?.map((o) => o.value ?? o.read),
    ['b', 'a'],
  );
});

test('a lost write (acknowledged, then absent) is a violation', () => {
  const r = checkLinearizable([put(0, 'a', 0, 1), get(1, null, 10, 11)]);
  assert.equal(r.verdict, 'violation');
  assert.equal(r.violations[0]?.window?.length, 2);
});

test('a failed write may appear later (maybe applied), or never', () => {
  const applied = checkLinearizable([put(0, 'a', 0, 1), put(1, 'b', 2, 3, 'failed'), get(0, 'b', 50, 51)]);
  assert.equal(applied.verdict, 'ok');
  assert.equal(applied.boundedMaybe, 1);
  const never = checkLinearizable([put(0, 'a', 0, 1), put(1, 'b', 2, 3, 'failed'), get(0, 'a', 50, 51)]);
  assert.equal(never.verdict, 'ok');
  assert.equal(never.droppedMaybe, 1);
});

test('a failed write cannot take effect before it started', () => {
  const r = checkLinearizable([put(1, 'b', 10, 11, 'failed'), get(0, 'b', 0, 1)]);
  assert.equal(r.verdict, 'violation');
});

test('a value read after it was overwritten and then again after is a violation (no going back)', () => {
  const r = checkLinearizable([put(0, 'a', 0, 1), put(0, 'b', 2, 3), get(1, 'b', 4, 5), get(2, 'a', 6, 7)]);
  assert.equal(r.verdict, 'violation');
});

test('a read of a value never written is a violation', () => {
  const r = checkLinearizable([put(0, 'a', 0, 1), get(1, 'zzz', 2, 3)]);
  assert.equal(r.verdict, 'violation');
});

test('concurrent put and get: both orders are accepted', () => {
  for (const read of [null, 'a']) {
    const r = checkLinearizable([put(0, 'a', 0, 10), get(1, read, 1, 5)]);
    assert.equal(r.verdict, 'ok', `read ${String(read)}`);
  }
  // But not a third value.
  assert.equal(checkLinearizable([put(0, 'a', 0, 10), get(1, 'b', 1, 5)]).verdict, 'violation');
});

test('two concurrent puts and two later reads: any order of the puts, but the reads agree', () => {
  const puts = () => [put(0, 'a', 0, 10), put(1, 'b', 1, 9)];
  for (const last of ['a', 'b']) {
    const r = checkLinearizable([...puts(), get(2, last, 20, 21), get(3, last, 22, 23)]);
    assert.equal(r.verdict, 'ok');
  }
  const flip = checkLinearizable([...puts(), get(2, 'a', 20, 21), get(3, 'b', 22, 23)]);
  assert.equal(flip.verdict, 'violation');
});

test('every permutation of three concurrent puts is explored', () => {
  const values = ['a', 'b', 'c'];
  for (const last of values) {
    const h = values.map((v, i) => put(i, v, i * 0.1, 10 + i * 0.1));
    assert.equal(checkLinearizable([...h, get(9, last, 20, 21)]).verdict, 'ok', last);
  }
});

test('compare-and-swap: two successes from the same expected value are a violation', () => {
  const r = checkLinearizable([
    put(0, 'a', 0, 1),
    cas(1, 'a', 'b', true, 2, 10),
    cas(2, 'a', 'c', true, 3, 11),
  ]);
  assert.equal(r.verdict, 'violation');
});

test('compare-and-swap: a failed compare needs another value in place', () => {
  assert.equal(checkLinearizable([put(0, 'a', 0, 1), cas(1, 'a', 'b', false, 2, 3)]).verdict, 'violation');
  // A concurrent put explains it.
  assert.equal(
    checkLinearizable([put(0, 'a', 0, 1), put(2, 'z', 1.5, 5), cas(1, 'a', 'b', false, 2, 3)]).verdict,
    'ok',
  );
  // So does a failed (maybe applied) put that nobody read: it is kept, because the compare needs it.
  const maybe = put(2, 'z', 1.5, 1.8, 'failed');
  const r = checkLinearizable([put(0, 'a', 0, 1), maybe, cas(1, 'a', 'b', false, 2, 3)]);
  assert.equal(r.verdict, 'ok');
  assert.equal(r.droppedMaybe, 0);
});

test('a compare-and-swap with an unknown outcome may or may not have happened', () => {
  const h = (read: string) => [put(0, 'a', 0, 1), cas(1, 'a', 'b', undefined, 2, 3), get(2, read, 10, 11)];
  assert.equal(checkLinearizable(h('a')).verdict, 'ok');
  assert.equal(checkLinearizable(h('b')).verdict, 'ok');
});

test('keys are independent: a violation on one names that key', () => {
  const r = checkLinearizable([
    { ...put(0, 'a', 0, 1), key: 'x' },
    { ...get(1, 'a', 2, 3), key: 'x' },
    { ...put(0, 'a', 0, 1), key: 'y' },
    { ...get(1, null, 2, 3), key: 'y' },
  ]);
  assert.equal(r.keys, 2);
  assert.deepEqual(
    r.violations.map((v) => v.key),
    ['y'],
  );
});

test('a search past its budget is unknown, not passed', () => {
  // Many concurrent failed puts that a read observed keep the search busy.
  const h: KvOperation[] = [];
  for (let i = 0; i < 14; i++) h.push(put(i, `v${i}`, 0, 100));
  for (let i = 0; i < 14; i++) h.push(get(20 + i, `v${(i * 5) % 14}`, 1 + i, 1.5 + i));
  const r = checkLinearizable(h, { stepBudgetPerKey: 50 });
  assert.equal(r.verdict, 'unknown');
  assert.deepEqual(r.unknown, ['k']);
});

test('prepareKey bounds an observed maybe-write by its first observer', () => {
  const w = put(0, 'a', 5, 6, 'failed');
  const { ops } = prepareKey([w, get(1, 'a', 20, 30), get(2, 'a', 10, 15)]);
  assert.equal(ops.find((o) => o.id === w.id)?.end, 15);
});

test('the model: a get in a wrong state is refused, a failed put is accepted anywhere', () => {
  assert.equal(stepRegister('a', get(0, 'b', 0, 1)), undefined);
  assert.equal(stepRegister('a', put(0, 'b', 0, 1, 'failed')), 'b');
});

test('describeOperation names the result and the window', () => {
  assert.match(describeOperation(get(3, 'a', 10, 12.5)), /client 3 get → "a"\s+\[10\.0, 12\.5\] ms/);
  assert.match(describeOperation(put(1, 'b', 0, 1, 'failed')), /maybe applied/);
});

/** A random sequential-ish history generated by running the model, with small concurrency. */
const historyArb = fc
  .array(
    fc.record({
      client: fc.integer({ min: 0, max: 3 }),
      kind: fc.constantFrom('put', 'get', 'cas'),
      key: fc.constantFrom('k1', 'k2', 'k3'),
      expectCurrent: fc.boolean(),
      fails: fc.integer({ min: 0, max: 9 }),
      spread: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((specs) => {
    const state = new Map<string, string | null>();
    const out: KvOperation[] = [];
    specs.forEach((s, i) => {
      // Each op is linearized at 10·i; its interval reaches a little either side (overlaps neighbours).
      const start = 10 * i - s.spread * 4;
      const end = 10 * i + s.spread * 4 + 1;
      const cur = state.get(s.key) ?? null;
      const value = `v${i}`;
      const base = { id: i + 1, client: s.client, key: s.key, start, end, status: 'ok' as const };
      if (s.kind === 'get') out.push({ ...base, kind: 'get', read: cur });
      else if (s.kind === 'put') {
        // A failed put here was applied (the model says so); the checker must still accept it.
        out.push({ ...base, kind: 'put', value, ...(s.fails === 0 ? { status: 'failed' as const } : {}) });
        state.set(s.key, value);
      } else {
        const expected = s.expectCurrent ? cur : 'nope';
        const succeeded = expected === cur;
        out.push({ ...base, kind: 'cas', expected, value, succeeded });
        if (succeeded) state.set(s.key, value);
      }
    });
    return out;
  });

test('property: a history generated from the model is always accepted', () => {
  fc.assert(
    fc.property(historyArb, (h) => {
      const r = checkLinearizable(h);
      return r.verdict === 'ok';
    }),
    { numRuns: 300 },
  );
});

test('property: a read changed to a value never written is always rejected', () => {
  fc.assert(
    fc.property(historyArb, fc.nat(), (h, pick) => {
      const reads = h.filter((o) => o.kind === 'get');
      fc.pre(reads.length > 0);
      const victim = reads[pick % reads.length] as KvOperation;
      const mutated = h.map((o) => (o === victim ? { ...o, read: 'never-written' } : o));
      const r = checkLinearizable(mutated);
      return r.verdict === 'violation' && r.violations[0]?.key === victim.key;
    }),
    { numRuns: 300 },
  );
});

test('property: a sequential read changed to an older value is rejected', () => {
  fc.assert(
    fc.property(historyArb, fc.nat(), (h, pick) => {
      // Sequential: no overlaps, so an older value read after a newer write is stale.
      const seq: KvOperation[] = h.map((o, i) => ({
        ...o,
        start: 10 * i,
        end: 10 * i + 1,
        status: 'ok' as const,
      }));
      const candidates = seq.filter((o, i) => {
        if (o.kind !== 'get' || o.read === null) return false;
        return seq.slice(0, i).some((w) => w.key === o.key && w.kind !== 'get' && w.value !== o.read);
      });
      fc.pre(candidates.length > 0);
      const victim = candidates[pick % candidates.length] as KvOperation;
      const i = seq.indexOf(victim);
      // The value the key held before the one read: the latest write of another value before it.
      const older = seq
        .slice(0, i)
        .filter(
          (w) =>
            w.key === victim.key &&
            w.kind !== 'get' &&
            w.value !== victim.read &&
            (w.kind === 'put' || w.succeeded),
        )
        .at(0);
      fc.pre(older !== undefined);
      const mutated = seq.map((o) => (o === victim ? { ...o, read: older?.value ?? null } : o));
      return checkLinearizable(mutated).verdict === 'violation';
    }),
    { numRuns: 300 },
  );
});

test('scale: 20,000 operations over 20 keys from 8 clients are checked (not a timing assert)', () => {
  const h: KvOperation[] = [];
  const state = new Map<string, string | null>();
  let t = 0;
  for (let i = 0; i < 20_000; i++) {
    const key = `k${i % 20}`;
    const client = i % 8;
    // Each op overlaps the next 7 (8 clients in flight), linearized in issue order.
    const start = t;
    const end = t + 8;
    t += 1;
    const cur = state.get(key) ?? null;
    if (i % 3 === 0)
      h.push({ id: i, client, key, kind: 'get', read: cur, start: start + 7.5, end, status: 'ok' });
    else {
      h.push({
        id: i,
        client,
        key,
        kind: 'put',
        value: `v${i}`,
        start,
        end: start + 0.5,
        status: i % 50 === 1 ? 'failed' : 'ok',
      });
      state.set(key, `v${i}`);
    }
  }
  const r = checkLinearizable(h);
  assert.equal(r.verdict, 'ok');
  assert.equal(r.operations, 20_000);
});

test('a failed compare that read the value it found is an observation of that value', () => {
  const found = (read: string) =>
    op({ client: 1, kind: 'cas', expected: 'a', value: 'c', succeeded: false, read, start: 4, end: 5 });
  assert.equal(checkLinearizable([put(0, 'a', 0, 1), put(0, 'b', 2, 3), found('b')]).verdict, 'ok');
  assert.equal(checkLinearizable([put(0, 'a', 0, 1), put(0, 'b', 2, 3), found('a')]).verdict, 'violation');
  // It lets an unobserved maybe-write go: nothing needs it to explain the failure.
  const r = checkLinearizable([
    put(0, 'a', 0, 1),
    put(2, 'z', 1.5, 1.8, 'failed'),
    put(0, 'b', 2, 3),
    found('b'),
  ]);
  assert.equal(r.verdict, 'ok');
  assert.equal(r.droppedMaybe, 1);
});

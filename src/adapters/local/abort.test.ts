import { test } from 'node:test';
import assert from 'node:assert/strict';
import { raceAbort } from './abort.ts';

test('raceAbort resolves with the promise when no abort comes', async () => {
  const c = new AbortController();
  assert.equal(await raceAbort(Promise.resolve(7), c.signal, () => new Error('aborted')), 7);
});

test('raceAbort rejects with the mapped error when the signal fires first, and at once when already aborted', async () => {
  const c = new AbortController();
  const never = new Promise<number>(() => undefined);
  const r = raceAbort(never, c.signal, () => new Error('mapped'));
  c.abort();
  await assert.rejects(r, /mapped/);
  await assert.rejects(
    raceAbort(never, c.signal, () => new Error('again')),
    /again/,
  );
});

test('raceAbort passes the promise rejection through', async () => {
  await assert.rejects(
    raceAbort(Promise.reject(new Error('boom')), new AbortController().signal, () => 'x'),
    /boom/,
  );
});

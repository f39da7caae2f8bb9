import { test } from 'node:test';
import assert from 'node:assert/strict';
import { padValue } from './workload.ts';

test('values are padded to the asked size with a filler that depends on the tag', () => {
  assert.equal(padValue('s1-0-1', 0), 's1-0-1');
  assert.equal(padValue('s1-0-1', 4), 's1-0-1');
  const a = padValue('s1-0-1', 100);
  const b = padValue('s1-0-2', 100);
  assert.equal(a.length, 100);
  assert.ok(a.startsWith('s1-0-1:'));
  assert.notEqual(a.slice(7), b.slice(7));
  assert.equal(padValue('s1-0-1', 100), a);
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  createDrainOrderSource,
  drainPath,
  parseDrainOrder,
  removeDrainOrder,
  writeDrainOrder,
} from './drain-order.ts';

test('parseDrainOrder accepts {at, reason?} and names what is wrong otherwise', () => {
  assert.deepEqual(parseDrainOrder('{"at":5,"reason":"kernel update"}'), { at: 5, reason: 'kernel update' });
  assert.equal(parseDrainOrder('nope'), 'not JSON');
  assert.equal(parseDrainOrder('[]'), 'not a JSON object');
  assert.equal(parseDrainOrder('{"at":"x"}'), '"at" must be a time in ms');
  assert.match(parseDrainOrder(JSON.stringify({ at: 1, reason: 'x'.repeat(201) })) as string, /at most 200/);
});

test('the drain source: no file is no notice; an order is an operator-drain notice without a deadline; a bad file throws', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'drain-'));
  try {
    const source = createDrainOrderSource(dir);
    assert.equal(source.name, 'operator-drain');
    assert.equal(await source.poll(), null);
    await writeDrainOrder(dir, { at: Date.UTC(2026, 10, 30, 15), reason: 'disk swap' });
    assert.equal(
      (await readFile(drainPath(dir), 'utf8')).trim(),
      JSON.stringify({ at: Date.UTC(2026, 10, 30, 15), reason: 'disk swap' }),
    );
    const n = await source.poll();
    assert.deepEqual(n, {
      source: 'operator-drain',
      seenAt: Date.UTC(2026, 10, 30, 15),
      detail: 'etcd-spot drain at 2026-11-30T15:00:00.000Z: disk swap; undo with etcd-spot drain --cancel',
    });
    assert.equal(n?.deadline, undefined);
    await writeFile(drainPath(dir), '{oops');
    await assert.rejects(source.poll(), /is not a drain order \(not JSON\)/);
    assert.equal(await removeDrainOrder(dir), true);
    assert.equal(await removeDrainOrder(dir), false);
    assert.equal(await source.poll(), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalStateStore, validateRecord } from './local-state.ts';

describe('LocalStateStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a missing file as an empty record', async () => {
    const store = new LocalStateStore(join(dir, 'missing'));
    assert.deepEqual(await store.read(), { ok: true, record: {}, exists: false });
  });

  it('writes atomically and reads back only the known fields', async () => {
    const sub = join(dir, 'rw');
    const store = new LocalStateStore(sub);
    await store.write({
      memberId: '8e9e05c52164694d',
      clusterId: 'cdf818194e3a8c32',
      vote: { candidate: 'i-1', at: 5 },
    });
    const r = await store.read();
    assert.deepEqual(r, {
      ok: true,
      exists: true,
      record: {
        memberId: '8e9e05c52164694d',
        clusterId: 'cdf818194e3a8c32',
        vote: { candidate: 'i-1', at: 5 },
      },
    });
    assert.deepEqual(await readdir(sub), ['state.json'], 'no temporary file is left behind');
  });

  it('update applies a change; undefined writes nothing', async () => {
    const store = new LocalStateStore(join(dir, 'upd'));
    await store.update((r) => ({ ...r, left: { at: 1, reason: 'notice' } }));
    const unchanged = await store.update(() => undefined);
    assert.deepEqual(unchanged, { left: { at: 1, reason: 'notice' } });
  });

  it('serializes concurrent updates (no lost update)', async () => {
    const store = new LocalStateStore(join(dir, 'conc'));
    await Promise.all([
      store.update(async (r) => {
        await new Promise((res) => setTimeout(res, 20));
        return { ...r, memberId: '0000000000000001' };
      }),
      store.update((r) => ({ ...r, clusterId: 'abc' })),
    ]);
    const r = await store.read();
    assert.ok(r.ok);
    assert.deepEqual(r.record, { memberId: '0000000000000001', clusterId: 'abc' });
  });

  for (const [name, text] of [
    ['broken JSON', '{"memberId": '],
    ['a bad member id', '{"memberId": "xyz"}'],
    ['an array', '[]'],
    ['a vote without time', '{"vote": {"candidate": "i-1"}}'],
  ] as const) {
    it(`reports ${name} as an error and never overwrites it`, async () => {
      const sub = join(dir, name.replace(/\W+/g, '-'));
      const store = new LocalStateStore(sub);
      await store.write({});
      await writeFile(store.path, text);
      const r = await store.read();
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, 'LOCAL_STATE_CORRUPT');
        assert.match(r.error.message, /fix or delete it/);
      }
      await assert.rejects(store.write({ memberId: '0000000000000001' }), { code: 'LOCAL_STATE_CORRUPT' });
      await assert.rejects(
        store.update((x) => x),
        { code: 'LOCAL_STATE_CORRUPT' },
      );
      assert.equal(await readFile(store.path, 'utf8'), text, 'the corrupt file is untouched');
    });
  }

  it('refuses to write an invalid record', async () => {
    const store = new LocalStateStore(join(dir, 'invalid'));
    await assert.rejects(store.write({ memberId: 'nothex' }), { code: 'LOCAL_STATE_CORRUPT' });
  });

  it('validateRecord names every problem', () => {
    assert.deepEqual(validateRecord({ clusterId: '', left: { at: 'x' } }), [
      'clusterId: expected a non-empty string',
      'left.at: expected a number (ms since epoch)',
      'left.reason: expected a string',
    ]);
  });
});

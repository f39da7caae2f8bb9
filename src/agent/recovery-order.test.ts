import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitError } from '../core/errors.ts';
import { orderFromFlags } from '../cli/commands/recover.ts';
import {
  ORDER_TTL_MS,
  orderPath,
  parseRecoveryOrder,
  readRecoveryOrder,
  writeRecoveryOrder,
} from './recovery-order.ts';

const NOW = 1_800_000_000_000;

describe('recovery order (recover.json)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-order-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses a valid order and refuses anything else, saying why', () => {
    assert.deepEqual(parseRecoveryOrder('{"at":1,"from":"i-0abc"}'), { at: 1, from: 'i-0abc' });
    assert.deepEqual(parseRecoveryOrder('{"at":1,"empty":true}'), { at: 1, empty: true });
    assert.deepEqual(parseRecoveryOrder('{"at":1,"empty":false}'), { at: 1 });
    const bad: [string, RegExp][] = [
      ['nope', /not JSON/],
      ['[]', /not a JSON object/],
      ['{}', /"at"/],
      ['{"at":1,"from":"a b"}', /"from"/],
      ['{"at":1,"empty":"yes"}', /"empty"/],
      ['{"at":1,"from":"i-1","empty":true}', /exclude each other/],
      [`{"at":1,"from":"${'x'.repeat(5000)}"}`, /over 4096 bytes/],
    ];
    for (const [text, why] of bad) {
      const r = parseRecoveryOrder(text);
      assert.equal(typeof r, 'string', text);
      assert.match(r as string, why);
    }
  });

  it('is written atomically with mode 0600 and read back; a missing file is no order and no problem', async () => {
    const problems: string[] = [];
    assert.equal(
      readRecoveryOrder(dir, NOW, (p) => problems.push(p)),
      undefined,
    );
    assert.deepEqual(problems, []);
    const path = await writeRecoveryOrder(dir, { at: NOW - 1000, from: 'i-1' });
    assert.equal(path, orderPath(dir));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { at: NOW - 1000, from: 'i-1' });
    assert.deepEqual(readRecoveryOrder(dir, NOW), { at: NOW - 1000, from: 'i-1' });
  });

  it('an expired, future or invalid order is ignored and reported', async () => {
    const problems: string[] = [];
    await writeRecoveryOrder(dir, { at: NOW - ORDER_TTL_MS - 1 });
    assert.equal(
      readRecoveryOrder(dir, NOW, (p) => problems.push(p)),
      undefined,
    );
    await writeRecoveryOrder(dir, { at: NOW + 120_000 });
    assert.equal(
      readRecoveryOrder(dir, NOW, (p) => problems.push(p)),
      undefined,
    );
    await writeFile(orderPath(dir), '{"at":');
    assert.equal(
      readRecoveryOrder(dir, NOW, (p) => problems.push(p)),
      undefined,
    );
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /expired/);
    assert.match(problems[2]!, /not JSON/);
  });

  it('the CLI flags make an order, and --from with --empty is a usage error (exit 2)', () => {
    assert.deepEqual(orderFromFlags({ from: 'i-7' }, NOW), { at: NOW, from: 'i-7' });
    assert.deepEqual(orderFromFlags({ empty: true }, NOW), { at: NOW, empty: true });
    assert.deepEqual(orderFromFlags({}, NOW), { at: NOW });
    assert.throws(
      () => orderFromFlags({ from: 'i-7', empty: true }, NOW),
      (err: unknown) =>
        err instanceof ExitError && err.exitCode === 2 && /--from and --empty/.test(err.message),
    );
  });
});

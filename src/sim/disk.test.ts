import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILLER, fillDisk, freeDisk, mountSmallDisk, unmountDisk } from './disk.ts';

const root = process.getuid?.() === 0;

test(
  'a small disk fills to a real ENOSPC and is free again without the filler',
  { skip: !root && 'needs root (mount)' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-disk-'));
    mountSmallDisk(dir, 4);
    try {
      const n = fillDisk(dir);
      assert.ok(n > 3 * 2 ** 20 && n <= 4 * 2 ** 20, `filled ${n} bytes of a 4 MiB disk`);
      assert.throws(() => writeFileSync(join(dir, 'x'), 'y'), { code: 'ENOSPC' });
      freeDisk(dir);
      assert.equal(existsSync(join(dir, FILLER)), false);
      writeFileSync(join(dir, 'x'), 'y');
      assert.equal(statSync(join(dir, 'x')).size, 1);
    } finally {
      assert.ok(unmountDisk(dir));
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

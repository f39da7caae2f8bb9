import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLOCK_OFFSET_ENV,
  CLOCK_OFFSET_FILE_ENV,
  OFFSET_FILE_REREAD_MS,
  clockFromEnv,
  systemClock,
} from './system-clock.ts';

const HOUR = 3_600_000;

test('without the test hooks the agent gets the system clock itself', () => {
  assert.equal(clockFromEnv({}), systemClock);
  assert.equal(clockFromEnv({ [CLOCK_OFFSET_ENV]: '', [CLOCK_OFFSET_FILE_ENV]: '' }), systemClock);
});

test('a fixed offset shifts now() and nothing else', () => {
  const c = clockFromEnv({ [CLOCK_OFFSET_ENV]: String(-HOUR) }, { wall: () => 10 * HOUR });
  assert.equal(c.now(), 9 * HOUR);
  assert.equal(c.sleep, systemClock.sleep);
  assert.throws(() => clockFromEnv({ [CLOCK_OFFSET_ENV]: '5m' }), /whole number of ms/);
});

test('an offset file steps a running clock (re-read after a while); a missing file is no offset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clock-'));
  try {
    const file = join(dir, 'offset');
    let mono = 0;
    const c = clockFromEnv(
      { [CLOCK_OFFSET_FILE_ENV]: file, [CLOCK_OFFSET_ENV]: '5' },
      { wall: () => 10 * HOUR, mono: () => mono },
    );
    assert.equal(c.now(), 10 * HOUR + 5);
    writeFileSync(file, `${2 * HOUR}\n`);
    assert.equal(c.now(), 10 * HOUR + 5, 'read again only after the re-read interval');
    mono += OFFSET_FILE_REREAD_MS;
    assert.equal(c.now(), 12 * HOUR + 5);
    writeFileSync(file, `${-HOUR}\n`);
    mono += OFFSET_FILE_REREAD_MS;
    assert.equal(c.now(), 9 * HOUR + 5);
    writeFileSync(file, 'garbage');
    mono += OFFSET_FILE_REREAD_MS;
    assert.equal(c.now(), 10 * HOUR + 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

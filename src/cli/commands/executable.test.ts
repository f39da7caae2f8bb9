import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './executable.ts';
import { parseEndpoints } from './target-flags.ts';
import { ExitError } from '../../core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'etcd-spot-exe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('findExecutable: a path as is, a bare name through PATH, never a directory or a non-executable file', () => {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const exe = join(bin, 'my-etcd');
  writeFileSync(exe, '#!/bin/sh\n');
  chmodSync(exe, 0o755);
  const plain = join(bin, 'plain');
  writeFileSync(plain, 'x');
  chmodSync(plain, 0o644);
  mkdirSync(join(bin, 'a-dir'));
  assert.equal(findExecutable(exe, ''), exe);
  assert.equal(findExecutable('my-etcd', `/nonexistent:${bin}`), exe);
  assert.equal(findExecutable('bin/my-etcd', '', dir), exe);
  assert.equal(findExecutable('my-etcd', '/nonexistent'), undefined);
  assert.equal(findExecutable('plain', bin), undefined);
  assert.equal(findExecutable(plain, bin), undefined);
  assert.equal(findExecutable('a-dir', bin), undefined);
  assert.equal(findExecutable('/nonexistent/etcd', bin), undefined);
  assert.equal(findExecutable('', bin), undefined);
});

test('parseEndpoints: http(s) URLs normalised to scheme://host:port; anything else is a usage error (exit 2)', () => {
  assert.equal(parseEndpoints(undefined), undefined);
  assert.deepEqual(parseEndpoints(' http://10.0.0.1:2379/ , https://[::1]:2379,http://10.0.0.1:2379'), [
    'http://10.0.0.1:2379',
    'https://[::1]:2379',
  ]);
  for (const bad of ['not a url', 'ftp://x:1', 'x:2379', ',']) {
    assert.throws(
      () => parseEndpoints(bad),
      (e: unknown) => e instanceof ExitError && e.exitCode === 2 && e.message.startsWith('--endpoints: '),
      bad,
    );
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  etcdBinaryVersionReader,
  parseEtcdVersionOutput,
  readEtcdBinaryVersion,
} from './etcd-binary-version.ts';

// The first line is `fmt.Printf("etcd Version: %s\n", version.Version)` in etcdmain/config.go (v3.4.23)
// and server/etcdmain/config.go (v3.5.33, v3.6.14); the Debian binary here prints exactly this.
const DEBIAN_3_4 =
  'etcd Version: 3.4.23\nGit SHA: Not provided (use ./build instead of go build)\nGo Version: go1.19.8\nGo OS/Arch: linux/amd64\n';
const UPSTREAM_3_6 =
  'etcd Version: 3.6.14\nGit SHA: 1a2b3c4\nGo Version: go1.25.11\nGo OS/Arch: linux/amd64\n';

test('parses the "etcd Version:" line of 3.4 and 3.6, and nothing else', () => {
  assert.equal(parseEtcdVersionOutput(DEBIAN_3_4), '3.4.23');
  assert.equal(parseEtcdVersionOutput(UPSTREAM_3_6), '3.6.14');
  assert.equal(parseEtcdVersionOutput('Go Version: go1.19.8\n'), undefined);
  assert.equal(parseEtcdVersionOutput(''), undefined);
});

test('runs the binary, reports a failure without throwing, and remembers only a success', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-version-'));
  try {
    const fake = join(dir, 'etcd');
    await writeFile(
      fake,
      `#!/bin/sh\n[ "$1" = --version ] || exit 3\nprintf '${UPSTREAM_3_6.replace(/\n/g, '\\n')}'\n`,
    );
    await chmod(fake, 0o755);
    assert.deepEqual(await readEtcdBinaryVersion(fake), { ok: true, version: '3.6.14' });

    const missing = await readEtcdBinaryVersion(join(dir, 'nope'));
    assert.equal(missing.ok, false);
    assert.match(missing.ok ? '' : missing.error, /nope --version/);

    const silent = join(dir, 'silent');
    await writeFile(silent, '#!/bin/sh\necho hello\n');
    await chmod(silent, 0o755);
    const r = await readEtcdBinaryVersion(silent);
    assert.match(r.ok ? '' : r.error, /printed no "etcd Version:" line/);

    // Memoised: a failure is retried (the binary appears), a success is kept (it disappears).
    const later = join(dir, 'later');
    const read = etcdBinaryVersionReader(later);
    assert.equal((await read()).ok, false);
    await writeFile(later, `#!/bin/sh\necho 'etcd Version: 3.5.33'\n`);
    await chmod(later, 0o755);
    assert.deepEqual(await read(), { ok: true, version: '3.5.33' });
    await rm(later);
    assert.deepEqual(await read(), { ok: true, version: '3.5.33' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

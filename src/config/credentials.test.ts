import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../core/errors.ts';
import { resolvePeerSecret, resolveSpotCredentials } from './credentials.ts';
import { MAX_CONFIG_FILE_BYTES } from './read-file.ts';
import type { ReadTextFile } from './credentials.ts';
import { loadConfig } from './load.ts';

function files(map: Record<string, string>): ReadTextFile & { reads: string[] } {
  const reads: string[] = [];
  const fn = ((path: string) => {
    reads.push(path);
    return map[path];
  }) as ReadTextFile & { reads: string[] };
  fn.reads = reads;
  return fn;
}

test('the config token wins over SPOTINST_TOKEN and the file, which is then not read', () => {
  const fs = files({ '/home/u/.spotinst/credentials': '[default]\ntoken=fromfile\n' });
  const c = resolveSpotCredentials(
    { token: 'cfg', account: 'act-1' },
    { SPOTINST_TOKEN: 'env', SPOTINST_ACCOUNT: 'act-env', HOME: '/home/u' },
    fs,
  );
  assert.deepEqual(c, { token: 'cfg', account: 'act-1', tokenSource: 'config' });
  assert.deepEqual(fs.reads, []);
});

test('a full Config is accepted too', () => {
  const r = loadConfig({ env: { ETCD_SPOT_GROUP_TOKEN: 'tok', ETCD_SPOT_GROUP_ACCOUNT: 'act-9' } });
  assert.ok(r.ok);
  assert.deepEqual(resolveSpotCredentials(r.config, {}, files({})), {
    token: 'tok',
    account: 'act-9',
    tokenSource: 'config',
  });
});

test('SPOTINST_TOKEN and SPOTINST_ACCOUNT from the environment', () => {
  const c = resolveSpotCredentials(
    {},
    { SPOTINST_TOKEN: ' env ', SPOTINST_ACCOUNT: 'act-env', HOME: '/h' },
    files({}),
  );
  assert.deepEqual(c, { token: 'env', account: 'act-env', tokenSource: 'SPOTINST_TOKEN' });
});

test('INI credentials file in the home directory, default profile', () => {
  const fs = files({
    '/home/u/.spotinst/credentials':
      '# comment\n[default]\ntoken = "abc"\naccount=act-1\n\n[other]\ntoken=zzz\n',
  });
  const c = resolveSpotCredentials({}, { HOME: '/home/u' }, fs);
  assert.deepEqual(c, {
    token: 'abc',
    account: 'act-1',
    tokenSource: 'file /home/u/.spotinst/credentials [default]',
  });
});

test('INI profile from SPOTINST_CREDENTIALS_PROFILE and file from SPOTINST_CREDENTIALS_FILE', () => {
  const fs = files({ '/etc/spot.ini': '[default]\ntoken=abc\n[prod]\ntoken=prodtok\naccount=act-prod\n' });
  const c = resolveSpotCredentials(
    {},
    { HOME: '/home/u', SPOTINST_CREDENTIALS_FILE: '/etc/spot.ini', SPOTINST_CREDENTIALS_PROFILE: 'prod' },
    fs,
  );
  assert.deepEqual(c, { token: 'prodtok', account: 'act-prod', tokenSource: 'file /etc/spot.ini [prod]' });
});

test('JSON credentials file, flat and per profile; SPOTINST_ACCOUNT beats the file account', () => {
  const flat = files({ '/h/.spotinst/credentials': '{"token":"jt","account":"act-j"}' });
  assert.deepEqual(resolveSpotCredentials({}, { HOME: '/h' }, flat), {
    token: 'jt',
    account: 'act-j',
    tokenSource: 'file /h/.spotinst/credentials [default]',
  });
  const scoped = files({ '/h/.spotinst/credentials': '{"dev":{"token":"dt"}}' });
  assert.equal(
    resolveSpotCredentials(
      {},
      { HOME: '/h', SPOTINST_CREDENTIALS_PROFILE: 'dev', SPOTINST_ACCOUNT: 'act-e' },
      scoped,
    ).account,
    'act-e',
  );
});

test('nothing found: one clear error naming all three places', () => {
  assert.throws(
    () => resolveSpotCredentials({}, { HOME: '/home/u' }, files({})),
    (err: Error & { issues?: string[]; code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      const msg = err.issues?.[0] ?? '';
      assert.match(msg, /no Spot\.io token found/);
      assert.match(msg, /group\.token/);
      assert.match(msg, /SPOTINST_TOKEN/);
      assert.match(
        msg,
        /\/home\/u\/\.spotinst\/credentials \(SPOTINST_CREDENTIALS_FILE names another file\)/,
      );
      assert.doesNotMatch(msg, /path from SPOTINST_CREDENTIALS_FILE/, 'the path came from HOME');
      return true;
    },
  );
});

test('a missing SPOTINST_CREDENTIALS_FILE, a missing profile and a broken file are named', () => {
  assert.throws(
    () => resolveSpotCredentials({}, { SPOTINST_CREDENTIALS_FILE: '/x/creds' }, files({})),
    /SPOTINST_CREDENTIALS_FILE names \/x\/creds, which does not exist/,
  );
  assert.throws(
    () =>
      resolveSpotCredentials(
        {},
        { HOME: '/h', SPOTINST_CREDENTIALS_PROFILE: 'prod' },
        files({ '/h/.spotinst/credentials': '[default]\ntoken=a\n' }),
      ),
    /has no \[prod\] profile \(profiles: default/,
  );
  assert.throws(
    () => resolveSpotCredentials({}, { HOME: '/h' }, files({ '/h/.spotinst/credentials': '{"token": ' })),
    /is not valid JSON/,
  );
  assert.throws(
    () =>
      resolveSpotCredentials(
        {},
        { HOME: '/h' },
        files({ '/h/.spotinst/credentials': '[default]\naccount=act-1\n' }),
      ),
    /has no token in profile 'default'/,
  );
  const failing: ReadTextFile = () => {
    throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  };
  assert.throws(
    () => resolveSpotCredentials({}, { HOME: '/h' }, failing),
    /cannot read the Spot\.io credentials file .*EACCES/,
  );
});

test('S2: a bad INI line is named by file and line number, never by its content', () => {
  const path = '/h/.spotinst/credentials';
  assert.throws(
    () =>
      resolveSpotCredentials(
        {},
        { HOME: '/h' },
        files({ [path]: '# creds\n[default]\ntoken SUPERSECRET-no-equals\n' }),
      ),
    (err: Error & { issues?: string[] }) => {
      assert.deepEqual(err.issues, [
        `the Spot.io credentials file ${path} line 3 is neither a [profile] header nor key=value; expected INI ([default] token=…) or JSON ({"token": …})`,
      ]);
      assert.ok(!describeError(err).includes('SUPERSECRET'), describeError(err));
      return true;
    },
  );
  assert.throws(
    () => resolveSpotCredentials({}, { HOME: '/h' }, files({ [path]: 'token=SUPERSECRET-before-profile\n' })),
    (err: Error & { issues?: string[] }) => {
      assert.match(err.issues?.[0] ?? '', /credentials line 1 sets a key before any \[profile\] header/);
      assert.ok(!describeError(err).includes('SUPERSECRET'), describeError(err));
      return true;
    },
  );
});

test('S2: a broken JSON credentials file names the line when known, never the text JSON.parse quotes', () => {
  const path = '/h/.spotinst/credentials';
  const check = (text: string, expected: string) =>
    assert.throws(
      () => resolveSpotCredentials({}, { HOME: '/h' }, files({ [path]: text })),
      (err: Error & { issues?: string[] }) => {
        assert.deepEqual(err.issues, [expected]);
        assert.ok(!describeError(err).includes('SUPERSECRET'), describeError(err));
        return true;
      },
    );
  // V8 quotes the text around the error ('..."token": SUPERSECRE"...'): that message is never shown.
  check(
    '{\n"token": SUPERSECRET-json\n}',
    `the Spot.io credentials file ${path} is not valid JSON; expected INI ([default] token=…) or JSON ({"token": …})`,
  );
  check(
    '{\n"token": "SUPERSECRET-json",\n}',
    `the Spot.io credentials file ${path} is not valid JSON (line 3); expected INI ([default] token=…) or JSON ({"token": …})`,
  );
});

test('group.tokenFile: after group.token, before SPOTINST_TOKEN and the credentials file; trimmed', () => {
  const fs = files({
    '/etc/etcd-spot/token': '  file-token\n',
    '/h/.spotinst/credentials': '[default]\ntoken=c\n',
  });
  assert.deepEqual(
    resolveSpotCredentials({ tokenFile: '/etc/etcd-spot/token' }, { SPOTINST_TOKEN: 'env', HOME: '/h' }, fs),
    { token: 'file-token', tokenSource: 'tokenFile /etc/etcd-spot/token' },
  );
  assert.deepEqual(fs.reads, ['/etc/etcd-spot/token']);
  const fs2 = files({ '/etc/etcd-spot/token': 'file-token' });
  assert.equal(
    resolveSpotCredentials({ token: 'cfg', tokenFile: '/etc/etcd-spot/token' }, {}, fs2).token,
    'cfg',
  );
  assert.deepEqual(fs2.reads, []);
  const r = loadConfig({ env: { ETCD_SPOT_GROUP_TOKEN_FILE: '/etc/etcd-spot/token' } });
  assert.ok(r.ok);
  assert.equal(resolveSpotCredentials(r.config, { SPOTINST_TOKEN: 'env' }, fs).token, 'file-token');
});

test('group.tokenFile: missing, empty or unreadable files are named by path, never by content', () => {
  const check = (fs: ReadTextFile, expected: string) =>
    assert.throws(
      () => resolveSpotCredentials({ tokenFile: '/etc/t' }, { SPOTINST_TOKEN: 'env' }, fs),
      (err: Error & { issues?: string[]; code?: string }) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.deepEqual(err.issues, [expected]);
        return true;
      },
    );
  check(
    files({}),
    'group.tokenFile: /etc/t does not exist; create it with the Spot.io token or leave group.tokenFile out',
  );
  check(files({ '/etc/t': ' \n\n' }), 'group.tokenFile: /etc/t is empty; put the Spot.io token in it');
  check(() => {
    throw Object.assign(new Error("EACCES: permission denied, open '/etc/t'"), { code: 'EACCES' });
  }, 'group.tokenFile: cannot read /etc/t (EACCES); check the path and that the agent may read it');
});

test('the default reader refuses a FIFO instead of blocking, and a file over 1 MiB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-spot-creds-'));
  try {
    const fifo = join(dir, 'token');
    execFileSync('mkfifo', [fifo]);
    assert.throws(
      () => resolveSpotCredentials({ tokenFile: fifo }, {}),
      (err: Error & { issues?: string[] }) => {
        assert.deepEqual(err.issues, [
          `group.tokenFile: cannot read ${fifo} (not a regular file (a FIFO)); check the path and that the agent may read it`,
        ]);
        return true;
      },
    );
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(MAX_CONFIG_FILE_BYTES + 1));
    assert.throws(
      () => resolveSpotCredentials({ tokenFile: big }, {}),
      /cannot read .*big \(is larger than 1 MiB/,
    );
    const good = join(dir, 'good');
    writeFileSync(good, 'tok\n');
    assert.equal(resolveSpotCredentials({ tokenFile: good }, {}).token, 'tok');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('resolvePeerSecret', () => {
  const config = (env: Record<string, string>) => {
    const r = loadConfig({ env });
    if (!r.ok) assert.fail(r.issues.join('\n'));
    return r.config;
  };

  test('from the file (trimmed), else the key, else undefined', () => {
    const fs = files({ '/etc/peer': '\n  0123456789abcdef-from-file \n' });
    assert.equal(
      resolvePeerSecret(config({ ETCD_SPOT_AGENT_PEER_SECRET_FILE: '/etc/peer' }), fs),
      '0123456789abcdef-from-file',
    );
    assert.equal(
      resolvePeerSecret(config({ ETCD_SPOT_AGENT_PEER_SECRET: '0123456789abcdef-key' }), files({})),
      '0123456789abcdef-key',
    );
    assert.equal(resolvePeerSecret(config({}), files({})), undefined);
  });

  test('a missing, empty, short or unreadable file is a ConfigError naming the path, never the value', () => {
    const c = config({ ETCD_SPOT_AGENT_PEER_SECRET_FILE: '/etc/peer' });
    const check = (fs: ReadTextFile, expected: string) =>
      assert.throws(
        () => resolvePeerSecret(c, fs),
        (err: Error & { issues?: string[]; code?: string }) => {
          assert.equal(err.code, 'CONFIG_INVALID');
          assert.deepEqual(err.issues, [expected]);
          assert.ok(!describeError(err).includes('SHORTSECRET'), describeError(err));
          return true;
        },
      );
    check(
      files({}),
      'agent.peerSecretFile: /etc/peer does not exist; create it with the peer secret or leave agent.peerSecretFile out',
    );
    check(
      files({ '/etc/peer': '\n' }),
      'agent.peerSecretFile: /etc/peer is empty; put the peer secret in it',
    );
    check(
      files({ '/etc/peer': 'SHORTSECRET\n' }),
      "agent.peerSecretFile: the secret in /etc/peer is too short (11 characters, at least 16); generate one with 'openssl rand -hex 32 > /etc/peer'",
    );
    check(() => {
      throw Object.assign(new Error("EACCES: permission denied, open '/etc/peer'"), { code: 'EACCES' });
    }, 'agent.peerSecretFile: cannot read /etc/peer (EACCES); check the path and that the agent may read it');
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSpotCredentials } from './credentials.ts';
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
      assert.match(msg, /\/home\/u\/\.spotinst\/credentials/);
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

import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildEtcdArgs, buildEtcdEnvironment } from '../adapters/etcd/etcd-process.ts';
import type { EtcdLaunchOptions } from '../adapters/etcd/etcd-process.ts';
import { createCa, issueCert } from '../adapters/local/openssl-certs.ts';
import { extraArgsIssues } from '../core/etcd-flags.ts';
import { ConfigError } from '../core/errors.ts';
import { loadConfig } from './load.ts';
import { TlsSource, clientTlsFiles, readTlsMaterial } from './tls-files.ts';
import type { TlsFiles } from './tls-files.ts';

const KEYS = { cert: 'etcd.tls.certFile', key: 'etcd.tls.keyFile', ca: 'etcd.tls.caFile' };

let dir: string;
let a: TlsFiles;
let b: TlsFiles;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-spot-tls-unit-'));
  await createCa(join(dir, 'ca'));
  await createCa(join(dir, 'ca2'));
  a = {
    ...(await issueCert({
      caDir: join(dir, 'ca'),
      outDir: join(dir, 'a'),
      commonName: 'a',
      ips: ['10.0.0.5'],
    })),
    keys: KEYS,
  };
  b = {
    ...(await issueCert({
      caDir: join(dir, 'ca2'),
      outDir: join(dir, 'b'),
      commonName: 'b',
      ips: ['10.0.0.6'],
    })),
    keys: KEYS,
  };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The one issue of the ConfigError `fn` throws. */
function issueOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.issues.length, 1, e.message);
    return e.issues[0] as string;
  }
  assert.fail('expected a ConfigError');
}

describe('etcd.tls files: one clear error each, never key contents', () => {
  test('a certificate, its key and the CA that issued it check out', () => {
    const m = readTlsMaterial(a);
    assert.equal(m.generation, 1);
    assert.ok(m.notAfter > Date.now());
  });

  test('a missing file names the key, the path and the fix', () => {
    const issue = issueOf(() => readTlsMaterial({ ...a, certFile: join(dir, 'nope.crt') }));
    assert.match(
      issue,
      /^etcd\.tls\.certFile: cannot read the certificate .*nope\.crt \(ENOENT\); create it \(etcd-spot certs issue\) or fix the path$/,
    );
  });

  test('a key that does not match the certificate', async () => {
    const keyText = await readFile(b.keyFile, 'utf8');
    const issue = issueOf(() => readTlsMaterial({ ...a, keyFile: b.keyFile }));
    assert.match(
      issue,
      /^etcd\.tls\.keyFile: the key in .* does not match the certificate in etcd\.tls\.certFile/,
    );
    assert.ok(!issue.includes(keyText.split('\n')[1] as string), 'the message never quotes the key');
  });

  test('a certificate from another CA (wrong caFile)', () => {
    const issue = issueOf(() => readTlsMaterial({ ...a, caFile: b.caFile }));
    assert.match(
      issue,
      /^etcd\.tls\.certFile: the certificate in .* was not issued by the CA in etcd\.tls\.caFile/,
    );
  });

  test('a key file that is no key says so without quoting it', async () => {
    const bad = join(dir, 'bad.key');
    await writeFile(bad, 'not a key but a secret-looking SECRETVALUE\n');
    const issue = issueOf(() => readTlsMaterial({ ...a, keyFile: bad }));
    assert.match(issue, /^etcd\.tls\.keyFile: .* is not a PEM private key/);
    assert.doesNotMatch(issue, /SECRETVALUE/);
  });

  test('half-configured TLS is refused by the schema, naming what is missing', () => {
    const r = loadConfig({ env: {}, overrides: { 'etcd.tls.certFile': a.certFile } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.issues.length, 1, r.issues.join('\n'));
    assert.match(
      r.issues[0] as string,
      /^etcd\.tls\.keyFile: client TLS is half configured: etcd\.tls\.certFile is set but etcd\.tls\.keyFile and etcd\.tls\.caFile are not/,
    );
    const peer = loadConfig({
      env: {},
      overrides: { 'etcd.tls.peerKeyFile': a.keyFile, 'etcd.tls.peerCaFile': a.caFile },
    });
    assert.equal(peer.ok, false);
    if (!peer.ok)
      assert.match(peer.issues.join('\n'), /etcd\.tls\.peerCertFile: peer TLS is half configured/);
  });

  test('all three files configured: client TLS on; none: off', () => {
    const on = loadConfig({
      env: {},
      overrides: {
        'etcd.tls.certFile': a.certFile,
        'etcd.tls.keyFile': a.keyFile,
        'etcd.tls.caFile': a.caFile,
      },
    });
    assert.ok(on.ok);
    if (on.ok) assert.equal(clientTlsFiles(on.config.etcd.tls)?.certFile, a.certFile);
    const off = loadConfig({ env: {} });
    assert.ok(off.ok);
    if (off.ok) assert.equal(clientTlsFiles(off.config.etcd.tls), undefined);
  });
});

describe('TlsSource: a rotated set is picked up; a broken one keeps the last good', () => {
  test('new generation after the files change, none while they do not', async () => {
    const d = join(dir, 'rot');
    const files: TlsFiles = {
      ...(await issueCert({ caDir: join(dir, 'ca'), outDir: d, commonName: 'r', ips: ['10.0.0.7'] })),
      keys: KEYS,
    };
    const t0 = Date.now();
    let now = t0;
    const problems: string[] = [];
    const src = new TlsSource(files, {
      checkIntervalMs: 1000,
      now: () => now,
      onProblem: (p) => problems.push(p),
    });
    const seen: number[] = [];
    src.onChange((m) => seen.push(m.generation));
    const first = src.current();
    now = t0 + 5000;
    assert.equal(src.current().generation, 1, 'unchanged files: same generation');
    // A half-done rotation: the new certificate, the old key.
    await copyFile(a.certFile, files.certFile);
    now = t0 + 10_000;
    assert.equal(src.current(), first, 'a mismatched pair keeps the last good material');
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /does not match.*keeping the certificate loaded before/);
    await copyFile(a.keyFile, files.keyFile);
    now = t0 + 15_000;
    const next = src.current();
    assert.equal(next.generation, 2);
    assert.deepEqual(seen, [2]);
    assert.ok(next.cert.equals(await readFile(a.certFile)));
  });
});

describe("etcd's TLS flags: paths only, both modes, no mixing", () => {
  const base = (scheme: 'http' | 'https'): EtcdLaunchOptions => ({
    name: 'i-1',
    dataDir: '/var/lib/etcd-spot/etcd',
    clientUrl: `${scheme}://10.0.0.5:2379`,
    peerUrl: `${scheme}://10.0.0.5:2380`,
    initialCluster: [{ name: 'i-1', peerUrl: `${scheme}://10.0.0.5:2380` }],
    initialClusterState: 'new',
    initialClusterToken: 't',
  });
  const tls = {
    certFile: '/etc/etcd-spot/tls/node.crt',
    keyFile: '/etc/etcd-spot/tls/node.key',
    caFile: '/etc/etcd-spot/tls/ca.crt',
  };

  test('supervise mode: --cert-file, --key-file, --trusted-ca-file, --client-cert-auth and the --peer- ones', () => {
    const args = buildEtcdArgs({ ...base('https'), clientTls: tls, peerTls: tls });
    for (const want of [
      '--listen-client-urls=https://10.0.0.5:2379',
      '--initial-advertise-peer-urls=https://10.0.0.5:2380',
      '--initial-cluster=i-1=https://10.0.0.5:2380',
      '--cert-file=/etc/etcd-spot/tls/node.crt',
      '--key-file=/etc/etcd-spot/tls/node.key',
      '--trusted-ca-file=/etc/etcd-spot/tls/ca.crt',
      '--client-cert-auth=true',
      '--peer-cert-file=/etc/etcd-spot/tls/node.crt',
      '--peer-key-file=/etc/etcd-spot/tls/node.key',
      '--peer-trusted-ca-file=/etc/etcd-spot/tls/ca.crt',
      '--peer-client-cert-auth=true',
    ])
      assert.ok(args.includes(want), `${want} in ${args.join(' ')}`);
  });

  test('systemd mode: the same as ETCD_* variables', () => {
    const env = buildEtcdEnvironment({
      ...base('https'),
      clientTls: { ...tls, clientCertAuth: false },
      peerTls: tls,
    });
    assert.equal(env.ETCD_CERT_FILE, tls.certFile);
    assert.equal(env.ETCD_PEER_KEY_FILE, tls.keyFile);
    assert.equal(env.ETCD_CLIENT_CERT_AUTH, 'false');
    assert.equal(env.ETCD_PEER_CLIENT_CERT_AUTH, 'true');
    assert.equal(env.ETCD_ADVERTISE_CLIENT_URLS, 'https://10.0.0.5:2379');
  });

  test('plain HTTP adds no TLS flag', () => {
    assert.ok(!buildEtcdArgs(base('http')).some((x) => /cert|trusted-ca/.test(x)));
  });

  test('https without certificates, a certificate on http, and a mixed initial cluster are refused', () => {
    assert.throws(
      () => buildEtcdArgs(base('https')),
      /clientUrl: .* is https:\/\/ but no client certificate/,
    );
    assert.throws(
      () => buildEtcdArgs({ ...base('http'), clientTls: tls }),
      /is http:\/\/ but a client certificate is given/,
    );
    assert.throws(
      () =>
        buildEtcdArgs({
          ...base('https'),
          clientTls: tls,
          peerTls: tls,
          initialCluster: [...base('https').initialCluster, { name: 'i-2', peerUrl: 'http://10.0.0.6:2380' }],
        }),
      /initialCluster: i-2=http:\/\/10\.0\.0\.6:2380 uses another scheme .* mixed TLS and plain peers are refused/,
    );
  });

  test('etcd.extraArgs may not set the TLS flags the agent owns', () => {
    assert.match(extraArgsIssues(['--cert-file=/x'])[0] ?? '', /use etcd\.tls\.certFile/);
    assert.match(
      extraArgsIssues(['--peer-client-cert-auth', '--snapshot-count=5'])[0] ?? '',
      /etcd\.tls\.peerClientCertAuth/,
    );
    assert.equal(extraArgsIssues(['--peer-client-cert-auth', '--snapshot-count=5']).length, 1);
    assert.match(extraArgsIssues(['--auto-tls'])[0] ?? '', /not supported/);
  });
});

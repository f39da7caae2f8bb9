/**
 * `etcd-spot render` as a user runs it, and its output checked by the real validators: cloud-init's
 * own schema (`cloud-init schema --config-file`, Debian's cloud-init 22.4), `systemd-analyze verify`
 * (systemd 252) on the units inside a scratch root, and `ignition-validate` (Debian's ignition 2.14) on
 * the Butane config translated to Ignition 3.3.0 here (no Butane translator is packaged for Debian).
 * scripts/setup.sh installs the three tools; a missing one fails the test with that hint.
 *
 * Also: no secret reaches the output, and an inline secret is refused naming its key.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { buildEtcdEnvironment } from '../../src/adapters/etcd/etcd-process.ts';
import { formatDropIn } from '../../src/adapters/runner/systemd-runner.ts';
import { runCli } from './cli-support.ts';

let dir: string;
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-spot-render-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeTemp(name: string, text: string, mode = 0o600): string {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, text, { mode });
  return p;
}

const TOKEN_CANARY = 'spot-token-canary-7f3a9c';
const PEER_CANARY = 'peer-secret-canary-0123456789abcdef';

/** etcd.tls for both sets, the files `certs issue` writes (issued at boot by the rendered etcd-spot-certs unit). */
const TLS_LINES = [
  '  tls:',
  '    certFile: /etc/etcd-spot/tls/node.crt',
  '    keyFile: /etc/etcd-spot/tls/node.key',
  '    caFile: /etc/etcd-spot/tls/ca.crt',
  '    peerCertFile: /etc/etcd-spot/tls/node.crt',
  '    peerKeyFile: /etc/etcd-spot/tls/node.key',
  '    peerCaFile: /etc/etcd-spot/tls/ca.crt',
];

function configFile(extra: { mode?: 'supervise' | 'systemd'; tls?: boolean } = {}): string {
  const tokenFile = writeTemp('spot-token', `${TOKEN_CANARY}\n`);
  const peerFile = writeTemp('peer-secret', `${PEER_CANARY}\n`);
  return writeTemp(
    'etcd-spot.yaml',
    [
      'group:',
      '  groupId: sig-12345678',
      `  tokenFile: ${tokenFile}`,
      'etcd:',
      `  mode: ${extra.mode ?? 'supervise'}`,
      ...(extra.tls === true ? TLS_LINES : []),
      'agent:',
      `  peerSecretFile: ${peerFile}`,
      '',
    ].join('\n'),
  );
}

function tool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0)
    assert.fail(`${name} is not installed: run scripts/setup.sh (it installs it from Debian)`);
  return r.stdout.trim();
}

function run(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

const matrix: { mode: 'supervise' | 'systemd'; secrets: string; tls?: boolean }[] = [
  { mode: 'supervise', secrets: 'none' },
  { mode: 'supervise', secrets: 'ssm:/etcd-spot/prod' },
  { mode: 'systemd', secrets: 'secretsmanager:etcd-spot/prod' },
  { mode: 'systemd', secrets: 'none' },
  // TLS: the boot script issues the instance's certificate (etcd-spot-certs.service) before the agent.
  { mode: 'supervise', secrets: 'ssm:/etcd-spot/prod', tls: true },
  { mode: 'systemd', secrets: 'none', tls: true },
];
const label = (m: (typeof matrix)[number]) =>
  `${m.mode}, secrets ${m.secrets}${m.tls === true ? ', TLS' : ''}`;

describe('secrets never reach the output', () => {
  test('an inline group.token is refused (exit 2), naming the key and the file key, without the value', async () => {
    const cfg = writeTemp('inline.yaml', `group:\n  groupId: sig-1\n  token: ${TOKEN_CANARY}\n`);
    const r = await runCli(['render', 'cloud-init', '-c', cfg]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /group\.token: refused: .*group\.tokenFile/);
    assert.equal(r.stdout, '');
    assert.ok(!r.stderr.includes(TOKEN_CANARY));
  });

  test('a peer secret from ETCD_SPOT_AGENT_PEER_SECRET is refused (exit 2), naming agent.peerSecret', async () => {
    const cfg = writeTemp(
      'no-peer-file.yaml',
      'group:\n  groupId: sig-1\n  tokenFile: /run/etcd-spot/spot-token\n',
    );
    const r = await runCli(['render', 'systemd', '-c', cfg], {
      ETCD_SPOT_AGENT_PEER_SECRET: PEER_CANARY,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /agent\.peerSecret: refused: .*agent\.peerSecretFile/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(PEER_CANARY));
  });

  for (const target of ['cloud-init', 'butane', 'systemd']) {
    test(`${target}: the token files' contents and SPOTINST_TOKEN are nowhere in the output`, async () => {
      const r = await runCli(['render', target, '-c', configFile(), '--secrets', 'ssm:/p'], {
        SPOTINST_TOKEN: `${TOKEN_CANARY}-env`,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.length > 500);
      for (const canary of [TOKEN_CANARY, PEER_CANARY]) {
        assert.ok(!r.stdout.includes(canary) && !r.stderr.includes(canary), `${canary} leaked`);
      }
    });
  }

  test('a bad --secrets is a usage error (exit 2)', async () => {
    const r = await runCli(['render', 'cloud-init', '-c', configFile(), '--secrets', 'vault:x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected none, ssm:<parameter prefix> or secretsmanager:<secret prefix>/);
  });
});

describe('cloud-init schema --config-file', () => {
  before(() => tool('cloud-init'));

  for (const m of matrix) {
    test(`${label(m)}: valid cloud-config`, async () => {
      const r = await runCli([
        'render',
        'cloud-init',
        '-c',
        configFile({ mode: m.mode, tls: m.tls === true }),
        '--secrets',
        m.secrets,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const f = writeTemp('user-data.yaml', r.stdout);
      const v = run('cloud-init', ['schema', '--config-file', f]);
      assert.equal(v.code, 0, v.out);
      assert.match(v.out, /^Valid cloud-config: /m);
    });
  }

  test('the validator rejects a broken document (the check can fail)', async () => {
    const r = await runCli(['render', 'cloud-init', '-c', configFile()]);
    const broken = r.stdout.replace(/permissions: "0644"/, 'permissions: 644');
    assert.notEqual(broken, r.stdout);
    const v = run('cloud-init', ['schema', '--config-file', writeTemp('broken.yaml', broken)]);
    assert.equal(v.code, 1, v.out);
    assert.match(v.out, /permissions: 644 is not of type 'string'/);
  });
});

/**
 * A scratch root for `systemd-analyze verify --root`: the rendered files, the system's unit directory
 * (for the targets they order against and the distribution's etcd.service), and a stub for every
 * executable a unit names (verify checks they exist and are executable).
 */
async function scratchRoot(mode: 'supervise' | 'systemd', secrets: string, tls = false): Promise<string> {
  const root = mkdtempSync(join(dir, 'root-'));
  const r = await runCli([
    'render',
    'systemd',
    '-c',
    configFile({ mode, tls }),
    '--secrets',
    secrets,
    '--out-dir',
    root,
  ]);
  assert.equal(r.code, 0, r.stderr);
  cpSync('/lib/systemd/system', join(root, 'lib/systemd/system'), { recursive: true });
  const stub = (p: string) => {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), '#!/bin/sh\n', { mode: 0o755 });
  };
  stub('/usr/local/bin/etcd-spot');
  if (mode === 'systemd') {
    stub('/usr/bin/etcd');
    stub('/usr/bin/install');
    const unit = join(root, 'lib/systemd/system/etcd.service');
    if (!existsSync(unit)) {
      // Debian's etcd-server unit, as shipped in bookworm, when the package is not installed here.
      writeFileSync(
        unit,
        '[Unit]\nDescription=etcd\nAfter=network.target\n\n[Service]\nEnvironment=ETCD_NAME=%H\nEnvironment=ETCD_DATA_DIR=/var/lib/etcd/default\nEnvironmentFile=-/etc/default/%p\nType=notify\nUser=etcd\nExecStart=/usr/bin/etcd $DAEMON_ARGS\nRestart=on-abnormal\n\n[Install]\nWantedBy=multi-user.target\n',
      );
    }
    // What the agent writes before each start (SystemdEtcdRunner): the seed's 30-etcd_peers.conf done right.
    const scheme = tls ? 'https' : 'http';
    const files = {
      certFile: '/etc/etcd-spot/tls/node.crt',
      keyFile: '/etc/etcd-spot/tls/node.key',
      caFile: '/etc/etcd-spot/tls/ca.crt',
    };
    const env = buildEtcdEnvironment({
      name: 'i-0123456789abcdef0',
      dataDir: '/var/lib/etcd-spot/etcd',
      clientUrl: `${scheme}://10.0.1.11:2379`,
      peerUrl: `${scheme}://10.0.1.11:2380`,
      initialCluster: [
        { name: 'i-0123456789abcdef0', peerUrl: `${scheme}://10.0.1.11:2380` },
        { name: 'i-0fedcba9876543210', peerUrl: `${scheme}://10.0.2.12:2380` },
      ],
      ...(tls ? { clientTls: files, peerTls: files } : {}),
      initialClusterState: 'existing',
      initialClusterToken: 'etcd-spot-sig-12345678',
      extraArgs: ['--quota-backend-bytes=8589934592'],
    });
    writeFileSync(join(root, 'etc/systemd/system/etcd.service.d/30-etcd-spot.conf'), formatDropIn(env));
  }
  chmodSync(root, 0o755);
  return root;
}

describe('systemd-analyze verify', () => {
  before(() => tool('systemd-analyze'));

  for (const m of matrix) {
    test(`${label(m)}: every unit verifies without a warning`, async () => {
      const root = await scratchRoot(m.mode, m.secrets, m.tls === true);
      const units = ['etcd-spot.service'];
      if (m.secrets !== 'none') units.push('etcd-spot-secrets.service');
      if (m.tls === true) units.push('etcd-spot-certs.service');
      if (m.mode === 'systemd') units.push('etcd.service');
      const v = run('systemd-analyze', ['verify', `--root=${root}`, ...units]);
      assert.equal(v.code, 0, v.out);
      assert.equal(v.out, '', `systemd-analyze printed:\n${v.out}`);
    });
  }

  test('a wrong directive and a missing executable are reported (the check can fail)', async () => {
    const root = await scratchRoot('systemd', 'none');
    const dropIn = join(root, 'etc/systemd/system/etcd.service.d/20-etcd-spot-base.conf');
    writeFileSync(dropIn, '[Service]\nBogusKey=1\n', { flag: 'a' });
    rmSync(join(root, 'usr/local/bin/etcd-spot'));
    const v = run('systemd-analyze', ['verify', `--root=${root}`, 'etcd-spot.service', 'etcd.service']);
    assert.notEqual(v.code, 0);
    assert.match(v.out, /Unknown key 'BogusKey'/);
    assert.match(v.out, /\/usr\/local\/bin\/etcd-spot is not executable/);
  });
});

/** Butane fcos 1.4.0 → Ignition 3.3.0 for the subset `render butane` emits (what `butane` itself does). */
function butaneToIgnition(b: Record<string, unknown>): Record<string, unknown> {
  assert.deepEqual([b.variant, b.version], ['fcos', '1.4.0']);
  const camel = (o: unknown): unknown => {
    if (Array.isArray(o)) return o.map(camel);
    if (o === null || typeof o !== 'object') return o;
    return Object.fromEntries(
      Object.entries(o).map(([k, v]) => [
        k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
        camel(v),
      ]),
    );
  };
  const storage = b.storage as { files: { contents: { inline: string } }[] };
  const files = storage.files.map((f) => ({
    ...(camel(f) as object),
    contents: { source: `data:,${encodeURIComponent(f.contents.inline)}` },
  }));
  const { variant: _v, version: _ver, ...rest } = b;
  return { ignition: { version: '3.3.0' }, ...(camel(rest) as object), storage: { files } };
}

describe('ignition-validate (Butane translated to Ignition 3.3.0)', () => {
  before(() => tool('ignition-validate'));

  for (const m of matrix) {
    test(`${label(m)}: valid, no warning`, async () => {
      const r = await runCli([
        'render',
        'butane',
        '-c',
        configFile({ mode: m.mode, tls: m.tls === true }),
        '--secrets',
        m.secrets,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const ign = butaneToIgnition(parse(r.stdout) as Record<string, unknown>);
      const v = run('ignition-validate', [writeTemp('config.ign', JSON.stringify(ign))]);
      assert.equal(v.code, 0, v.out);
      assert.equal(v.out, '', `ignition-validate printed:\n${v.out}`);
    });
  }

  test('the validator rejects a relative path (the check can fail)', async () => {
    const r = await runCli(['render', 'butane', '-c', configFile()]);
    const ign = butaneToIgnition(parse(r.stdout) as Record<string, unknown>) as {
      storage: { files: { path: string }[] };
    };
    (ign.storage.files[0] as { path: string }).path = 'etc/etcd-spot/etcd-spot.yaml';
    const v = run('ignition-validate', [writeTemp('bad.ign', JSON.stringify(ign))]);
    assert.equal(v.code, 1, v.out);
    assert.match(v.out, /path not absolute/);
  });
});

describe('the boot-time secret fetcher', () => {
  /** Renders the fetcher for files in a temp dir, with a fake `aws` on PATH; runs it as root's user. */
  async function fetcher(
    aws: string,
  ): Promise<{ code: number | null; out: string; token: string; peer: string; modes: string }> {
    const root = mkdtempSync(join(dir, 'fetch-'));
    const token = join(root, 'run/etcd-spot/spot-token');
    const peer = join(root, 'run/etcd-spot/peer-secret');
    const cfg = writeTemp(
      'fetch.yaml',
      `group:\n  groupId: sig-1\n  tokenFile: ${token}\nagent:\n  peerSecretFile: ${peer}\n`,
    );
    const out = join(root, 'out');
    const r = await runCli([
      'render',
      'systemd',
      '-c',
      cfg,
      '--secrets',
      'ssm:/etcd-spot/prod',
      '--secrets-region',
      'eu-west-1',
      '--user',
      'root',
      '--out-dir',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'aws'), `#!/bin/sh\n${aws}\n`, { mode: 0o755 });
    const script = join(out, 'usr/local/lib/etcd-spot/fetch-secrets');
    const run = spawnSync('sh', [script], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
    const mode = (p: string) => (existsSync(p) ? (statSync(p).mode & 0o777).toString(8) : '-');
    return {
      code: run.status,
      out: `${run.stdout}${run.stderr}`,
      token: read(token),
      peer: read(peer),
      modes: `${mode(token)} ${mode(peer)}`,
    };
  }

  test('writes each secret 0600 from its parameter, with the region, and prints nothing', async () => {
    // Echoes the value the parameter name stands for, and the region, as the real CLI's --output text.
    const r = await fetcher(
      'case "$*" in *"--name /etcd-spot/prod/spot-token "*) echo "tok-$AWS_DEFAULT_REGION";; *"--name /etcd-spot/prod/peer-secret "*) echo "peer-secret-value-0123456789";; *) exit 3;; esac',
    );
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, '');
    assert.equal(r.token, 'tok-eu-west-1\n');
    assert.equal(r.peer, 'peer-secret-value-0123456789\n');
    assert.equal(r.modes, '600 600');
  });

  test('a secret that cannot be read: exit 1 naming the parameter, no partial file, no value printed', async () => {
    const r = await fetcher('echo "partial-canary"; exit 255');
    assert.equal(r.code, 1);
    assert.match(r.out, /etcd-spot: cannot read the secret \/etcd-spot\/prod\/spot-token/);
    assert.ok(!r.out.includes('partial-canary'));
    assert.equal(r.token, '');
  });
});

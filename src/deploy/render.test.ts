import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { configSchema, type Config, type ConfigInput } from '../config/schema.ts';
import {
  DEFAULT_RENDER_OPTIONS,
  agentUnit,
  buildDeploy,
  configFileText,
  inlineSecretIssues,
  renderButane,
  renderCloudInit,
  stopTimeoutSec,
  type DeployBundle,
  type RenderOptions,
} from './render.ts';

const base: ConfigInput = {
  group: { groupId: 'sig-12345678', tokenFile: '/run/etcd-spot/spot-token' },
  agent: { peerSecretFile: '/run/etcd-spot/peer-secret' },
};

function config(patch: (c: Record<string, Record<string, unknown>>) => void = () => {}): Config {
  const input = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
  patch(input);
  return configSchema.parse(input);
}

const opts = (o: Partial<RenderOptions> = {}): RenderOptions => ({ ...DEFAULT_RENDER_OPTIONS, ...o });

function file(bundle: DeployBundle, path: string): string {
  const f = bundle.files.find((x) => x.path === path);
  assert.ok(f, `no ${path} in ${bundle.files.map((x) => x.path).join(', ')}`);
  return f.content;
}

/** `Key=value` lines of a unit, by key (a key may repeat). */
function directives(unit: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0 || line.startsWith('#')) continue;
    const k = line.slice(0, i);
    m.set(k, [...(m.get(k) ?? []), line.slice(i + 1)]);
  }
  return m;
}

describe('the agent unit', () => {
  const cases: {
    name: string;
    config: Config;
    opts?: Partial<RenderOptions>;
    want: Record<string, string>;
  }[] = [
    {
      name: 'supervise mode: a dedicated user, no capabilities, state and data dir writable',
      config: config(),
      want: {
        User: 'etcd-spot',
        Group: 'etcd-spot',
        CapabilityBoundingSet: '',
        Restart: 'always',
        KillMode: 'mixed',
        TimeoutStopSec: '30s',
        StandardOutput: 'journal',
        StandardError: 'journal',
        ProtectSystem: 'strict',
        ReadWritePaths: '/var/lib/etcd-spot',
        NoNewPrivileges: 'yes',
        PrivateTmp: 'yes',
        ExecStart: '/usr/local/bin/etcd-spot agent --config /etc/etcd-spot/etcd-spot.yaml',
        Environment: '"NODE_OPTIONS=--max-semi-space-size=1 --expose-gc"',
        After: 'network-online.target',
      },
    },
    {
      name: 'systemd mode: root (it runs systemctl), the drop-in directory writable, after etcd.service',
      config: config((c) => (c.etcd = { mode: 'systemd' })),
      want: {
        User: 'root',
        ReadWritePaths: '/var/lib/etcd-spot /run/systemd/system/etcd.service.d',
        After: 'network-online.target etcd.service',
      },
    },
    {
      name: 'a data dir outside the state dir: its parent is writable (a wipe renames it aside)',
      config: config((c) => (c.etcd = { dataDir: '/data/etcd/member-data' })),
      want: { ReadWritePaths: '/var/lib/etcd-spot /data/etcd' },
    },
    {
      name: 'an fs snapshot store is writable (a staging dir inside the state dir already is)',
      config: config(
        (c) => (c.snapshot = { store: 'fs', dir: '/srv/etcd-snapshots', tmpDir: '/var/lib/etcd-spot/tmp' }),
      ),
      want: { ReadWritePaths: '/var/lib/etcd-spot /srv/etcd-snapshots' },
    },
    {
      name: 'slow etcd calls: the stop timeout covers a leave (3 calls + the signal + etcd stop + 5 s)',
      config: config((c) => (c.etcd = { callTimeout: '10s' })),
      want: { TimeoutStopSec: '50s' },
    },
    {
      name: 'the stop timeout never outlasts the termination window',
      config: config((c) => (c.etcd = { callTimeout: '30s' })),
      opts: { terminationWindowMs: 45_000 },
      want: { TimeoutStopSec: '45s' },
    },
    {
      name: 'a secret source: the agent starts after the secrets are fetched, and needs them',
      config: config(),
      opts: { secrets: { kind: 'ssm', prefix: '/etcd-spot/prod' } },
      want: {
        After: 'network-online.target etcd-spot-secrets.service',
        Requires: 'etcd-spot-secrets.service',
      },
    },
    {
      name: 'an argument with a space is quoted',
      config: config(),
      opts: { configPath: '/etc/etcd spot/c.yaml' },
      want: { ExecStart: '/usr/local/bin/etcd-spot agent --config "/etc/etcd spot/c.yaml"' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = directives(agentUnit(c.config, opts(c.opts)));
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(d.get(k), [v], k);
    });
  }

  test('no Requires= on secrets without a secret source', () => {
    assert.equal(directives(agentUnit(config(), opts())).get('Requires'), undefined);
  });

  test('stopTimeoutSec is at least 30 s and at most the window', () => {
    assert.equal(stopTimeoutSec(config(), 120_000), 30);
    assert.equal(
      stopTimeoutSec(
        config((c) => (c.etcd = { callTimeout: '2m' })),
        120_000,
      ),
      120,
    );
  });

  test('a data dir directly in /var/lib draws a warning naming etcd.dataDir', () => {
    const warnings: string[] = [];
    agentUnit(
      config((c) => (c.etcd = { dataDir: '/var/lib/etcd' })),
      opts(),
      warnings,
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /^etcd\.dataDir: .*directory of its own/);
  });
});

describe('secrets', () => {
  test('an inline Spot token is refused, naming group.token and group.tokenFile', () => {
    const c = config((c) => (c.group = { groupId: 'sig-1', token: 'tok-canary-123' }));
    const issues = inlineSecretIssues(c);
    assert.equal(issues.length, 1);
    assert.match(issues[0] as string, /^group\.token: refused: .*group\.tokenFile/);
    assert.ok(!(issues[0] as string).includes('tok-canary-123'));
    assert.throws(() => buildDeploy(c, opts()), /group\.token: refused/);
  });

  test('an inline peer secret is refused, naming agent.peerSecret and agent.peerSecretFile', () => {
    const c = config((c) => (c.agent = { peerSecret: 'peer-canary-0123456789' }));
    const issues = inlineSecretIssues(c);
    assert.equal(issues.length, 1);
    assert.match(issues[0] as string, /^agent\.peerSecret: refused: .*agent\.peerSecretFile/);
    assert.throws(() => buildDeploy(c, opts()), /agent\.peerSecret: refused/);
  });

  test('the *File keys are fine', () => {
    assert.deepEqual(inlineSecretIssues(config()), []);
  });

  test('ssm: one fetch per secret file, decrypted, written 0600 through a temp file, region from metadata', () => {
    const b = buildDeploy(config(), opts({ secrets: { kind: 'ssm', prefix: '/etcd-spot/prod/' } }));
    const script = file(b, '/usr/local/lib/etcd-spot/fetch-secrets');
    assert.match(script, /^#!\/bin\/sh\n/);
    assert.match(script, /aws ssm get-parameter --with-decryption --name "\$1"/);
    assert.match(script, /fetch '\/etcd-spot\/prod\/spot-token' '\/run\/etcd-spot\/spot-token'/);
    assert.match(script, /fetch '\/etcd-spot\/prod\/peer-secret' '\/run\/etcd-spot\/peer-secret'/);
    assert.match(script, /umask 077/);
    assert.match(script, /chmod 0600 "\$tmp"/);
    assert.match(script, /chown etcd-spot:etcd-spot "\$tmp"/);
    assert.match(script, /latest\/meta-data\/placement\/region/);
    assert.equal(b.files.find((f) => f.path.endsWith('fetch-secrets'))?.mode, 0o700);
    assert.deepEqual(b.enable, ['etcd-spot-secrets.service', 'etcd-spot.service']);
    assert.ok(b.debianPackages.includes('awscli'));
  });

  test('secretsmanager with a region: no metadata lookup', () => {
    const b = buildDeploy(
      config(),
      opts({ secrets: { kind: 'secretsmanager', prefix: 'etcd-spot/prod', region: 'eu-west-1' } }),
    );
    const script = file(b, '/usr/local/lib/etcd-spot/fetch-secrets');
    assert.match(script, /aws secretsmanager get-secret-value --secret-id "\$1" --query SecretString/);
    assert.match(script, /AWS_DEFAULT_REGION='eu-west-1'/);
    assert.ok(!script.includes('169.254.169.254'));
  });

  test('none: no fetcher, no unit, no AWS CLI', () => {
    const b = buildDeploy(config(), opts());
    assert.ok(!b.files.some((f) => f.path.includes('secrets')));
    assert.deepEqual(b.enable, ['etcd-spot.service']);
    assert.ok(!b.debianPackages.includes('awscli'));
  });

  test('an Elastigroup config without group.tokenFile draws a warning', () => {
    const b = buildDeploy(
      config((c) => (c.group = { groupId: 'sig-1' })),
      opts(),
    );
    assert.ok(
      b.warnings.some((w) => w.startsWith('group.tokenFile: not set')),
      b.warnings.join('\n'),
    );
  });
});

describe('the config file', () => {
  const configs: [string, Config][] = [
    ['defaults', config()],
    [
      'systemd mode',
      config((c) => (c.etcd = { mode: 'systemd', extraArgs: ['--quota-backend-bytes=8589934592'] })),
    ],
    [
      'a static group and odd durations',
      configSchema.parse({
        group: {
          provider: 'static',
          instances: [
            { id: 'i-1', privateIp: '10.0.0.1', availabilityZone: 'us-east-1a' },
            { id: 'i-2', privateIp: '10.0.0.2' },
          ],
        },
        agent: { cycleInterval: '1500ms', memberDeadAfter: '1h30m', peerSecretFile: '/etc/etcd-spot/peer' },
      }),
    ],
  ];
  for (const [name, c] of configs) {
    test(`reads back as the same config: ${name}`, () => {
      assert.deepEqual(configSchema.parse(parse(configFileText(c))), c);
    });
  }

  test('systemd mode moves the drop-in out of /run, with a warning', () => {
    const b = buildDeploy(
      config((c) => (c.etcd = { mode: 'systemd' })),
      opts(),
    );
    const written = configSchema.parse(parse(file(b, '/etc/etcd-spot/etcd-spot.yaml')));
    assert.equal(written.etcd.systemd.dropInPath, '/etc/systemd/system/etcd.service.d/30-etcd-spot.conf');
    assert.ok(
      b.warnings.some((w) => w.startsWith('etcd.systemd.dropInPath: /run/')),
      b.warnings.join('\n'),
    );
    const base = file(b, '/etc/systemd/system/etcd.service.d/20-etcd-spot-base.conf');
    assert.match(base, /^ConditionPathExists=\/etc\/systemd\/system\/etcd\.service\.d\/30-etcd-spot\.conf$/m);
    assert.match(
      base,
      /^ExecStartPre=\+\/usr\/bin\/install -d -o etcd -g etcd -m 0700 \/var\/lib\/etcd-spot\/etcd$/m,
    );
    assert.match(
      file(b, '/etc/systemd/system/etcd-spot.service'),
      /^ReadWritePaths=.* \/etc\/systemd\/system\/etcd\.service\.d$/m,
    );
  });

  test('a persistent drop-in path is kept, without a warning', () => {
    const c = config(
      (c) =>
        (c.etcd = {
          mode: 'systemd',
          systemd: { dropInPath: '/etc/systemd/system/etcd.service.d/40-x.conf' },
        }),
    );
    const b = buildDeploy(c, opts());
    assert.equal(b.config.etcd.systemd.dropInPath, '/etc/systemd/system/etcd.service.d/40-x.conf');
    assert.ok(!b.warnings.some((w) => w.startsWith('etcd.systemd.dropInPath')));
  });

  test('tmpfiles: supervise mode owns its dirs; systemd mode lets etcd traverse the state dir', () => {
    assert.equal(
      file(buildDeploy(config(), opts()), '/etc/tmpfiles.d/etcd-spot.conf').split('\n').slice(1).join('\n'),
      'd /var/lib/etcd-spot 0700 etcd-spot etcd-spot -\nd /var/lib/etcd-spot/etcd 0700 etcd-spot etcd-spot -\nd /run/etcd-spot 0700 etcd-spot etcd-spot -\n',
    );
    const sys = file(
      buildDeploy(
        config((c) => (c.etcd = { mode: 'systemd' })),
        opts(),
      ),
      '/etc/tmpfiles.d/etcd-spot.conf',
    );
    assert.match(sys, /^d \/var\/lib\/etcd-spot 0711 root root -$/m);
  });
});

describe('AWS Auto Scaling (group.provider: asg)', () => {
  const asg = (peerSecretFile = true): Config =>
    configSchema.parse({
      group: { provider: 'asg', heartbeatInterval: '30s' },
      agent: peerSecretFile ? { peerSecretFile: '/run/etcd-spot/peer-secret' } : {},
    });

  test('user-data for a launch template: names the metadata options, the instance profile and the hook; no Spot token', () => {
    const o = opts({ secrets: { kind: 'ssm', prefix: '/etcd' } });
    const bundle = buildDeploy(asg(), o);
    assert.deepEqual(bundle.warnings, []);
    const text = renderCloudInit(bundle, o);
    assert.match(text, /^#cloud-config\n/);
    assert.match(text, /launch template's UserData/);
    assert.match(text, /InstanceMetadataTags: enabled/);
    assert.match(text, /EC2_INSTANCE_TERMINATING lifecycle hook/);
    assert.doesNotMatch(text, /spot-token|SPOTINST/);
    const conf = parse(file(bundle, DEFAULT_RENDER_OPTIONS.configPath)) as { group: Record<string, unknown> };
    assert.deepEqual(conf.group, { provider: 'asg', heartbeatInterval: '30s', requestTimeout: '5s' });
    // Still valid YAML for cloud-init after the comment lines.
    assert.ok((parse(text) as { runcmd: unknown[] }).runcmd.length > 0);
  });

  test('without agent.peerSecretFile: a warning (no Spot token to derive the peer key from)', () => {
    const w = buildDeploy(asg(false), opts()).warnings;
    assert.equal(w.length, 1);
    assert.match(w[0] as string, /^agent.peerSecretFile: not set; an Auto Scaling group/);
  });

  test('an Elastigroup config gets no launch-template note', () => {
    assert.doesNotMatch(renderCloudInit(buildDeploy(config(), opts()), opts()), /launch template/);
  });
});

describe('cloud-init', () => {
  test('supervise: installs the packages, masks the package etcd, writes files, installs the agent and starts it', () => {
    const o = opts({
      secrets: { kind: 'ssm', prefix: '/p' },
      packageSpec: 'https://example.invalid/etcd-spot-0.1.0.tgz',
    });
    const text = renderCloudInit(buildDeploy(config(), o), o);
    assert.match(text, /^#cloud-config\n/);
    const doc = parse(text) as Record<string, unknown>;
    assert.deepEqual(doc.packages, ['nodejs', 'npm', 'etcd-server', 'etcd-client', 'awscli', 'curl']);
    assert.deepEqual(doc.bootcmd, [['systemctl', 'mask', 'etcd.service']]);
    const users = doc.users as unknown[];
    assert.equal(users[0], 'default');
    assert.equal((users[1] as { name: string; system: boolean }).name, 'etcd-spot');
    const files = doc.write_files as { path: string; permissions: string; owner?: string; defer?: boolean }[];
    const cfg = files.find((f) => f.path === '/etc/etcd-spot/etcd-spot.yaml');
    assert.deepEqual([cfg?.permissions, cfg?.owner, cfg?.defer], ['0640', 'root:etcd-spot', true]);
    assert.equal(files.find((f) => f.path.endsWith('fetch-secrets'))?.permissions, '0700');
    const runcmd = doc.runcmd as unknown[];
    assert.equal(runcmd[0], 'set -e');
    assert.match(runcmd[1] as string, /process\.versions\.node.* >= 20/);
    assert.deepEqual(runcmd[2], [
      'npm',
      'install',
      '--global',
      '--no-fund',
      '--no-audit',
      'https://example.invalid/etcd-spot-0.1.0.tgz',
    ]);
    assert.deepEqual(runcmd.at(-1), [
      'systemctl',
      'enable',
      '--now',
      'etcd-spot-secrets.service',
      'etcd-spot.service',
    ]);
  });

  test('--node-packages replaces nodejs npm (NodeSource: nodejs alone)', () => {
    const o = opts({ nodePackages: ['nodejs'] });
    const doc = parse(renderCloudInit(buildDeploy(config(), o), o)) as { packages: string[] };
    assert.deepEqual(doc.packages, ['nodejs', 'etcd-server', 'etcd-client']);
  });

  test('systemd mode: no agent user, no mask (the package etcd.service is the one used)', () => {
    const text = renderCloudInit(
      buildDeploy(
        config((c) => (c.etcd = { mode: 'systemd' })),
        opts(),
      ),
      opts(),
    );
    const doc = parse(text) as Record<string, unknown>;
    assert.equal(doc.bootcmd, undefined);
    assert.deepEqual(doc.users, ['default']);
    const files = doc.write_files as { path: string }[];
    assert.ok(files.some((f) => f.path === '/etc/systemd/system/etcd.service.d/20-etcd-spot-base.conf'));
  });
});

describe('butane', () => {
  test('fcos 1.4.0: the user, files, masked package etcd, an install unit the agent requires', () => {
    const o = opts({ secrets: { kind: 'ssm', prefix: '/p' } });
    const doc = parse(renderButane(buildDeploy(config(), o), o)) as {
      variant: string;
      version: string;
      passwd: { users: { name: string; system: boolean }[] };
      storage: {
        files: { path: string; mode: number; contents: { inline: string }; user?: { name: string } }[];
      };
      systemd: { units: { name: string; enabled?: boolean; mask?: boolean; contents?: string }[] };
    };
    assert.deepEqual([doc.variant, doc.version], ['fcos', '1.4.0']);
    assert.deepEqual(
      doc.passwd.users.map((u) => [u.name, u.system]),
      [['etcd-spot', true]],
    );
    const cfg = doc.storage.files.find((f) => f.path === '/etc/etcd-spot/etcd-spot.yaml');
    assert.equal(cfg?.mode, 0o640);
    assert.equal(cfg?.user?.name, 'root');
    const units = new Map(doc.systemd.units.map((u) => [u.name, u]));
    assert.equal(units.get('etcd.service')?.mask, true);
    assert.match(
      units.get('etcd-spot-install.service')?.contents ?? '',
      /rpm-ostree install --apply-live .*nodejs npm etcd awscli2/,
    );
    const agent = units.get('etcd-spot.service');
    assert.equal(agent?.enabled, true);
    assert.match(agent?.contents ?? '', /^Requires=etcd-spot-install\.service$/m);
    assert.match(agent?.contents ?? '', /^After=.*etcd-spot-install\.service$/m);
    assert.equal(units.get('etcd-spot-secrets.service')?.enabled, true);
  });
});

describe('TLS: the instance certificate is issued at boot', () => {
  const tls = (c: Record<string, Record<string, unknown>>) => {
    c.etcd = {
      ...(c.etcd ?? {}),
      tls: {
        certFile: '/etc/etcd-spot/tls/node.crt',
        keyFile: '/etc/etcd-spot/tls/node.key',
        caFile: '/etc/etcd-spot/tls/ca.crt',
        peerCertFile: '/etc/etcd-spot/tls/node.crt',
        peerKeyFile: '/etc/etcd-spot/tls/node.key',
        peerCaFile: '/etc/etcd-spot/tls/ca.crt',
      },
    };
  };

  test('ssm: fetches the CA to tmpfs, issues for the private IP, installs each file once, removes the CA key', () => {
    const b = buildDeploy(config(tls), opts({ secrets: { kind: 'ssm', prefix: '/etcd-spot/prod' } }));
    const script = file(b, '/usr/local/lib/etcd-spot/issue-cert');
    assert.match(script, /fetch '\/etcd-spot\/prod\/ca-cert' "\$ca\/ca\.crt"/);
    assert.match(script, /fetch '\/etcd-spot\/prod\/ca-key' "\$ca\/ca\.key"/);
    assert.match(script, /private_ip=\$\(imds local-ipv4\)/);
    assert.match(script, /etcd-spot certs issue --ca-dir "\$ca" --ip "\$private_ip" --cn "\$instance_id"/);
    assert.match(script, /trap 'rm -rf "\$out"; rm -f "\$ca\/ca\.key"' EXIT/);
    assert.match(script, /install -d -o etcd-spot -g etcd-spot -m 0750 '\/etc\/etcd-spot\/tls'/);
    assert.match(
      script,
      /-m 0600 "\$out\/node\.key" '\/etc\/etcd-spot\/tls\/node\.key' +# etcd\.tls\.keyFile, etcd\.tls\.peerKeyFile/,
    );
    assert.equal(script.match(/node\.key' /g)?.length, 1, 'each file installed once');
    assert.deepEqual(b.enable, ['etcd-spot-secrets.service', 'etcd-spot-certs.service', 'etcd-spot.service']);
    assert.ok(b.debianPackages.includes('openssl'));
    const agent = directives(file(b, '/etc/systemd/system/etcd-spot.service'));
    assert.ok(agent.get('Requires')?.includes('etcd-spot-certs.service'));
    // The rendered config names the files, never their contents.
    assert.match(file(b, '/etc/etcd-spot/etcd-spot.yaml'), /certFile: \/etc\/etcd-spot\/tls\/node\.crt/);
  });

  test('systemd mode: the key is readable by the etcd user (root:etcd 0640); no secret source: the CA comes from /run/etcd-spot/ca', () => {
    const b = buildDeploy(
      config((c) => {
        tls(c);
        (c.etcd as Record<string, unknown>).mode = 'systemd';
      }),
      opts(),
    );
    const script = file(b, '/usr/local/lib/etcd-spot/issue-cert');
    assert.match(script, /-o root -g etcd -m 0640 "\$out\/node\.key"/);
    assert.match(script, /ca=\/run\/etcd-spot\/ca/);
    assert.ok(!script.includes('aws '));
    assert.ok(b.debianPackages.includes('curl'));
  });

  test('without etcd.tls: no certificate unit', () => {
    const b = buildDeploy(config(), opts());
    assert.ok(!b.files.some((f) => f.path.includes('issue-cert')));
    assert.ok(!b.debianPackages.includes('openssl'));
  });
});

/**
 * Deploy artifacts, generated (issue 9 §5): from a validated configuration, the files an instance needs
 * (the agent's systemd unit, its config file, tmpfiles, the etcd drop-in in `systemd` mode, a boot-time
 * secret fetcher) and three renderings of them: a Debian/Ubuntu `#cloud-config`, a Butane (Fedora CoreOS)
 * config, and the bare systemd files. Pure: config and options in, text out; no I/O, no clock, no
 * environment. The CLI (`etcd-spot render`) reads the config and writes the result.
 *
 * Secrets never reach the output: a config that holds `group.token` or `agent.peerSecret` inline is
 * refused ({@link inlineSecretIssues}); the rendered config names the files (`group.tokenFile`,
 * `agent.peerSecretFile`) and, with a secret source, a oneshot unit fills them at every boot from AWS SSM
 * Parameter Store or Secrets Manager with the instance profile's credentials, mode 0600, on tmpfs.
 *
 * With `etcd.tls`, a second oneshot issues the instance's certificate for its private IP at every boot
 * (`etcd-spot certs issue`, from the group CA fetched the same way or placed in /run/etcd-spot/ca) and
 * removes the CA key: the IP is known only on the instance (docs/deploy.md section 5).
 */
import { posix } from 'node:path';
import { stringify } from 'yaml';
import { formatDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import { leaveBudgetMs } from './timing.ts';

export { leaveBudgetMs } from './timing.ts';

export type DeployTarget = 'cloud-init' | 'butane' | 'systemd';
export const DEPLOY_TARGETS: readonly DeployTarget[] = ['cloud-init', 'butane', 'systemd'];

/** Where the secrets come from at boot. `none`: the operator puts the files there (baked image, own tooling). */
export type SecretSource =
  | { kind: 'none' }
  | { kind: 'ssm'; prefix: string; region?: string }
  | { kind: 'secretsmanager'; prefix: string; region?: string };

export interface RenderOptions {
  /** Where the config file is written on the instance. */
  configPath: string;
  /** The agent's executable on the instance (`npm install -g` puts it in /usr/local/bin). */
  binPath: string;
  /** What `npm install -g` installs: a registry spec (`etcd-spot@0.1.0`) or a tarball URL. */
  packageSpec: string;
  secrets: SecretSource;
  /**
   * The termination window: the time between a notice and the power-off (AWS spot: 2 minutes; an
   * Elastigroup signal timeout may be longer, but the AWS notice is not). Caps the stop timeout.
   */
  terminationWindowMs: number;
  /** The agent's (and in supervise mode etcd's) system user. */
  user: string;
  /** The user of the distribution's etcd.service (Debian: etcd), for its data dir in `systemd` mode. */
  etcdUser: string;
  /**
   * The packages that give Node.js ≥ 20 and npm: Debian's `nodejs npm` (Debian 12 ships Node 18: use a
   * release with 20+, or an apt repository such as NodeSource's, whose `nodejs` includes npm).
   */
  nodePackages: string[];
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = {
  configPath: '/etc/etcd-spot/etcd-spot.yaml',
  binPath: '/usr/local/bin/etcd-spot',
  packageSpec: 'etcd-spot@0.1.0',
  secrets: { kind: 'none' },
  terminationWindowMs: 120_000,
  user: 'etcd-spot',
  etcdUser: 'etcd',
  nodePackages: ['nodejs', 'npm'],
};

/** One file on the instance. `owner` is `user:group`; root's files leave it out. */
export interface DeployFile {
  path: string;
  content: string;
  mode: number;
  owner?: string;
}

export interface DeployBundle {
  files: DeployFile[];
  /** Units to enable and start, in order (their files are in `files`). */
  enable: string[];
  /** Distribution packages (Debian names) the instance needs. */
  debianPackages: string[];
  /** Things the operator should know; the output is still usable. */
  warnings: string[];
  /** The effective config written to the instance (`etcd.systemd.dropInPath` made persistent). */
  config: Config;
}

export const AGENT_UNIT = 'etcd-spot.service';
export const SECRETS_UNIT = 'etcd-spot-secrets.service';
const SECRETS_SCRIPT = '/usr/local/lib/etcd-spot/fetch-secrets';
export const CERTS_UNIT = 'etcd-spot-certs.service';
const CERTS_SCRIPT = '/usr/local/lib/etcd-spot/issue-cert';
/** Where the boot script expects (or, with --secrets, fetches) the group CA; tmpfs, removed after use. */
export const BOOT_CA_DIR = '/run/etcd-spot/ca';
const TMPFILES = '/etc/tmpfiles.d/etcd-spot.conf';
const PERSISTENT_DROP_IN = '/etc/systemd/system/etcd.service.d/30-etcd-spot.conf';

/** Parents a service must never be given write access to (the config's "a directory of its own"). */
const SYSTEM_DIRS = new Set([
  '/',
  '/var',
  '/var/lib',
  '/srv',
  '/opt',
  '/home',
  '/mnt',
  '/tmp',
  '/etc',
  '/usr',
]);

/**
 * The inline secrets of a config, one message each naming the key and the file key to use instead.
 * Rendered user-data is readable by anyone who can read the instance's user-data (the EC2 API, IMDS,
 * the Spot.io console), so the deploy artifacts carry only file paths.
 */
export function inlineSecretIssues(config: Config): string[] {
  const issues: string[] = [];
  if (config.group.provider === 'elastigroup' && config.group.token !== undefined) {
    issues.push(
      'group.token: refused: user-data is readable through the EC2 API and instance metadata; set group.tokenFile (e.g. /run/etcd-spot/spot-token) and fill it from a secret store (--secrets ssm:<prefix>)',
    );
  }
  if (config.agent.peerSecret !== undefined) {
    issues.push(
      'agent.peerSecret: refused: user-data is readable through the EC2 API and instance metadata; set agent.peerSecretFile (e.g. /run/etcd-spot/peer-secret) and fill it from a secret store (--secrets ssm:<prefix>); unset ETCD_SPOT_AGENT_PEER_SECRET when rendering',
    );
  }
  return issues;
}

/** The config as a user writes it: `fooMs: 5000` back to `foo: 5s`, undefined keys left out. */
export function configToInput(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(configToInput);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (k.endsWith('Ms') && typeof v === 'number') out[k.slice(0, -2)] = formatDuration(v);
    else out[k] = configToInput(v);
  }
  return out;
}

/** The config file's text: every key spelled out, so the instance does not depend on this version's defaults. */
export function configFileText(config: Config): string {
  return (
    '# Written by `etcd-spot render`. Secrets are not in this file: see group.tokenFile and agent.peerSecretFile.\n' +
    stringify(configToInput(config), { lineWidth: 0 })
  );
}

/**
 * `TimeoutStopSec`: enough for a leave in flight and etcd's graceful stop (never below 30 s), never more
 * than the termination window (the instance is powered off at its end whatever systemd waits for).
 */
export function stopTimeoutSec(config: Config, terminationWindowMs: number): number {
  const want = Math.max(30_000, leaveBudgetMs(config));
  return Math.ceil(Math.min(want, terminationWindowMs) / 1000);
}

function secretFiles(config: Config): { key: string; file: string; name: string }[] {
  const out: { key: string; file: string; name: string }[] = [];
  if (config.group.provider === 'elastigroup' && config.group.tokenFile !== undefined)
    out.push({ key: 'group.tokenFile', file: config.group.tokenFile, name: 'spot-token' });
  if (config.agent.peerSecretFile !== undefined)
    out.push({ key: 'agent.peerSecretFile', file: config.agent.peerSecretFile, name: 'peer-secret' });
  return out;
}

/** Read-write paths of the agent: its state, etcd's data dir's parent (a wipe renames the dir aside). */
function writablePaths(config: Config, warnings: string[]): string[] {
  const paths = [config.agent.stateDir];
  const parent = posix.dirname(config.etcd.dataDir);
  const inside = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  if (SYSTEM_DIRS.has(parent)) {
    warnings.push(
      `etcd.dataDir: ${config.etcd.dataDir} is directly in ${parent}; the agent wipes it by renaming it aside, which needs write access to ${parent}: put it in a directory of its own (e.g. ${config.agent.stateDir}/etcd)`,
    );
    if (!inside(config.etcd.dataDir, config.agent.stateDir)) paths.push(config.etcd.dataDir);
  } else if (!inside(parent, config.agent.stateDir)) paths.push(parent);
  if (config.etcd.mode === 'systemd') paths.push(posix.dirname(config.etcd.systemd.dropInPath));
  for (const d of snapshotDirs(config)) if (!paths.some((p) => inside(d, p))) paths.push(d);
  return paths;
}

/** Local snapshot directories the agent writes (an `fs` store, a staging dir). */
function snapshotDirs(config: Config): string[] {
  const s = config.snapshot;
  return [
    ...(s.store === 'fs' && s.dir !== undefined ? [s.dir] : []),
    ...(s.tmpDir !== undefined ? [s.tmpDir] : []),
  ];
}

function quoteArg(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The agent's unit. */
export function agentUnit(config: Config, opts: RenderOptions, warnings: string[] = []): string {
  const systemd = config.etcd.mode === 'systemd';
  const rw = writablePaths(config, warnings);
  const withSecrets = opts.secrets.kind !== 'none';
  const withCerts = tlsTargets(config).length > 0;
  const after = [
    'network-online.target',
    ...(withSecrets ? [SECRETS_UNIT] : []),
    ...(withCerts ? [CERTS_UNIT] : []),
    ...(systemd ? ['etcd.service'] : []),
  ];
  const lines = [
    '# Written by `etcd-spot render`.',
    '[Unit]',
    'Description=etcd-spot agent: keeps etcd membership equal to the running instances of the group',
    'Wants=network-online.target',
    `After=${after.join(' ')}`,
    ...(withSecrets ? [`Requires=${SECRETS_UNIT}`] : []),
    ...(withCerts ? [`Requires=${CERTS_UNIT}`] : []),
    // Never give up restarting: an agent that stays down cannot leave on a notice.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=exec',
    `ExecStart=${[opts.binPath, 'agent', '--config', opts.configPath].map(quoteArg).join(' ')}`,
    // A small young generation and explicit collections while a snapshot streams keep the agent's
    // RSS near its baseline (BENCHMARKS.md: agent footprint, snapshot memory); Node reads them at start only.
    'Environment="NODE_OPTIONS=--max-semi-space-size=1 --expose-gc"',
    'Restart=always',
    'RestartSec=5s',
    // SIGTERM to the agent alone: it stops its etcd child itself (etcd hands leadership over); whatever is
    // left when the timeout runs out is SIGKILLed.
    'KillMode=mixed',
    `TimeoutStopSec=${stopTimeoutSec(config, opts.terminationWindowMs)}s`,
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=etcd-spot',
    'LimitNOFILE=65536',
    ...(systemd
      ? [
          // systemd mode runs systemctl and writes etcd.service's drop-in: root, but no other write access.
          'User=root',
        ]
      : [`User=${opts.user}`, `Group=${opts.user}`, 'CapabilityBoundingSet=', 'AmbientCapabilities=']),
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${rw.join(' ')}`,
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'UMask=0077',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

/**
 * The static drop-in for the distribution's etcd.service in `systemd` mode (the seed's
 * 30-etcd_peers.conf done right): etcd starts only once the agent has written its flags, and its data
 * dir exists with the unit's user as owner (the agent may have wiped it).
 */
export function etcdBaseDropIn(config: Config, opts: RenderOptions): string {
  return [
    "# Written by `etcd-spot render`: etcd-spot writes etcd's flags to the drop-in named below before every start.",
    '[Unit]',
    `ConditionPathExists=${config.etcd.systemd.dropInPath}`,
    '',
    '[Service]',
    `ExecStartPre=+/usr/bin/install -d -o ${opts.etcdUser} -g ${opts.etcdUser} -m 0700 ${config.etcd.dataDir}`,
    '',
  ].join('\n');
}

/** tmpfiles.d: the agent's directories, created at every boot (and once by the user-data). */
export function tmpfilesText(config: Config, opts: RenderOptions): string {
  const systemd = config.etcd.mode === 'systemd';
  const owner = systemd ? 'root' : opts.user;
  const lines = ['# Written by `etcd-spot render`.'];
  // In systemd mode etcd (another user) must reach its data dir inside the state dir: traverse only.
  lines.push(`d ${config.agent.stateDir} ${systemd ? '0711' : '0700'} ${owner} ${owner} -`);
  if (!systemd) {
    const parent = posix.dirname(config.etcd.dataDir);
    if (!SYSTEM_DIRS.has(parent) && parent !== config.agent.stateDir)
      lines.push(`d ${parent} 0700 ${owner} ${owner} -`);
    lines.push(`d ${config.etcd.dataDir} 0700 ${owner} ${owner} -`);
  }
  for (const d of snapshotDirs(config)) lines.push(`d ${d} 0700 ${owner} ${owner} -`);
  const secretDirs = new Set(secretFiles(config).map((s) => posix.dirname(s.file)));
  for (const d of secretDirs) if (d.startsWith('/run/')) lines.push(`d ${d} 0700 ${owner} ${owner} -`);
  return lines.join('\n') + '\n';
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The boot-time secret fetcher (POSIX sh + the AWS CLI with the instance profile). */
export function secretsScript(config: Config, opts: RenderOptions): string | undefined {
  const src = opts.secrets;
  if (src.kind === 'none') return undefined;
  const owner = config.etcd.mode === 'systemd' ? 'root' : opts.user;
  const get =
    src.kind === 'ssm'
      ? 'aws ssm get-parameter --with-decryption --name "$1" --query Parameter.Value --output text'
      : 'aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text';
  const region = src.region
    ? `AWS_DEFAULT_REGION=${shellQuote(src.region)}`
    : [
        '# The region from instance metadata (IMDSv2); the AWS CLI v1 does not look it up itself.',
        'imds_token=$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)',
        'AWS_DEFAULT_REGION=$(curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/placement/region)',
      ].join('\n');
  const prefix = src.prefix.replace(/\/+$/, '');
  const fetches = secretFiles(config).map(
    (s) => `fetch ${shellQuote(`${prefix}/${s.name}`)} ${shellQuote(s.file)}   # ${s.key}`,
  );
  return [
    '#!/bin/sh',
    `# Written by \`etcd-spot render\`: fetches etcd-spot's secrets from AWS ${src.kind === 'ssm' ? 'SSM Parameter Store' : 'Secrets Manager'}`,
    '# with the instance profile, at every boot, into files only the agent can read. Nothing is logged.',
    'set -eu',
    'umask 077',
    region,
    'export AWS_DEFAULT_REGION',
    'fetch() {',
    '  dir=$(dirname "$2")',
    `  [ -d "$dir" ] || { mkdir -p "$dir"; chown ${owner}:${owner} "$dir"; }`,
    '  tmp=$(mktemp "$2.XXXXXX")',
    `  if ! ${get} > "$tmp"; then rm -f "$tmp"; echo "etcd-spot: cannot read the secret $1" >&2; exit 1; fi`,
    `  chown ${owner}:${owner} "$tmp"`,
    '  chmod 0600 "$tmp"',
    '  mv -f "$tmp" "$2"',
    '}',
    ...fetches,
    '',
  ].join('\n');
}

function secretsUnit(): string {
  return [
    '# Written by `etcd-spot render`.',
    '[Unit]',
    "Description=Fetch etcd-spot's secrets from the secret store",
    'Wants=network-online.target',
    'After=network-online.target',
    `Before=${AGENT_UNIT}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${SECRETS_SCRIPT}`,
    'Restart=on-failure',
    'RestartSec=10s',
    'StandardOutput=journal',
    'StandardError=journal',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The certificate files `etcd.tls` names, each with the file `certs issue` writes for it. */
function tlsTargets(
  config: Config,
): { key: string; file: string; from: 'node.crt' | 'node.key' | 'ca.crt' }[] {
  const t = config.etcd.tls;
  const out: { key: string; file: string; from: 'node.crt' | 'node.key' | 'ca.crt' }[] = [];
  const add = (key: string, file: string | undefined, from: 'node.crt' | 'node.key' | 'ca.crt') => {
    if (file !== undefined) out.push({ key: `etcd.tls.${key}`, file, from });
  };
  add('certFile', t.certFile, 'node.crt');
  add('keyFile', t.keyFile, 'node.key');
  add('caFile', t.caFile, 'ca.crt');
  add('peerCertFile', t.peerCertFile, 'node.crt');
  add('peerKeyFile', t.peerKeyFile, 'node.key');
  add('peerCaFile', t.peerCaFile, 'ca.crt');
  return out;
}

/**
 * The boot-time certificate issuer (POSIX sh): the instance's private IP is known only now, so each boot
 * issues a certificate for it from the group CA (`etcd-spot certs issue`), installs it where etcd.tls
 * says, and removes the CA key. With a secret source, the CA (`<prefix>/ca-cert`, `<prefix>/ca-key`) is
 * fetched to tmpfs first; without one, the operator's tooling puts ca.crt and ca.key in {@link BOOT_CA_DIR}.
 */
export function certsScript(config: Config, opts: RenderOptions): string | undefined {
  const targets = tlsTargets(config);
  if (targets.length === 0) return undefined;
  const src = opts.secrets;
  const systemd = config.etcd.mode === 'systemd';
  // supervise: the agent's user runs etcd; systemd: root runs the agent, etcd.service runs as etcdUser.
  const owner = systemd ? `root:${opts.etcdUser}` : `${opts.user}:${opts.user}`;
  const keyMode = systemd ? '0640' : '0600';
  const imds = [
    'imds_token=$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)',
    'imds() { curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" "http://169.254.169.254/latest/meta-data/$1"; }',
    'private_ip=$(imds local-ipv4)',
    'instance_id=$(imds instance-id)',
  ];
  let fetchCa: string[] = [];
  if (src.kind !== 'none') {
    const get =
      src.kind === 'ssm'
        ? 'aws ssm get-parameter --with-decryption --name "$1" --query Parameter.Value --output text'
        : 'aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text';
    const prefix = src.prefix.replace(/\/+$/, '');
    fetchCa = [
      src.region
        ? `AWS_DEFAULT_REGION=${shellQuote(src.region)}`
        : 'AWS_DEFAULT_REGION=$(imds placement/region)',
      'export AWS_DEFAULT_REGION',
      'fetch() {',
      `  if ! ${get} > "$2"; then echo "etcd-spot: cannot read the secret $1" >&2; exit 1; fi`,
      '}',
      `fetch ${shellQuote(`${prefix}/ca-cert`)} "$ca/ca.crt"`,
      `fetch ${shellQuote(`${prefix}/ca-key`)} "$ca/ca.key"`,
    ];
  }
  const [user, group] = owner.split(':') as [string, string];
  // Each file once (the peer set usually names the client set's files), its directory first: readable by
  // the user that runs etcd (and the agent), nobody else.
  const unique = targets.filter((t, i) => targets.findIndex((u) => u.file === t.file) === i);
  const dirs = [...new Set(unique.map((t) => posix.dirname(t.file)))];
  const installs = [
    ...dirs.map((d) => `install -d -o ${user} -g ${group} -m 0750 ${shellQuote(d)}`),
    ...unique.map(
      (t) =>
        `install -o ${user} -g ${group} -m ${t.from === 'node.key' ? keyMode : '0644'} "$out/${t.from}" ${shellQuote(t.file)}   # ${targets
          .filter((u) => u.file === t.file)
          .map((u) => u.key)
          .join(', ')}`,
    ),
  ];
  return [
    '#!/bin/sh',
    "# Written by `etcd-spot render`: issues this instance's certificate for its private IP from the group",
    `# CA at every boot (etcd.tls), then removes the CA key. ${src.kind === 'none' ? `The CA (ca.crt, ca.key) must be in ${BOOT_CA_DIR} (your tooling).` : `The CA comes from AWS ${src.kind === 'ssm' ? 'SSM Parameter Store' : 'Secrets Manager'}.`}`,
    'set -eu',
    'umask 077',
    `ca=${BOOT_CA_DIR}`,
    'out=$(mktemp -d /run/etcd-spot-cert.XXXXXX)',
    `trap 'rm -rf "$out"; rm -f "$ca/ca.key"' EXIT`,
    'mkdir -p "$ca"',
    ...imds,
    ...fetchCa,
    `${opts.binPath} certs issue --ca-dir "$ca" --ip "$private_ip" --cn "$instance_id" --out "$out" >/dev/null`,
    ...installs,
    '',
  ].join('\n');
}

function certsUnit(withSecrets: boolean): string {
  return [
    '# Written by `etcd-spot render`.',
    '[Unit]',
    "Description=Issue this instance's etcd-spot TLS certificate for its private IP",
    'Wants=network-online.target',
    `After=network-online.target${withSecrets ? ` ${SECRETS_UNIT}` : ''}`,
    `Before=${AGENT_UNIT}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${CERTS_SCRIPT}`,
    'Restart=on-failure',
    'RestartSec=10s',
    'StandardOutput=journal',
    'StandardError=journal',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Every file an instance needs, the units to enable, the packages, and warnings. */
export function buildDeploy(input: Config, opts: RenderOptions): DeployBundle {
  const issues = inlineSecretIssues(input);
  if (issues.length > 0) throw new Error(issues.join('; '));
  const warnings: string[] = [];
  let config = input;
  if (config.etcd.mode === 'systemd' && config.etcd.systemd.dropInPath.startsWith('/run/')) {
    warnings.push(
      `etcd.systemd.dropInPath: ${config.etcd.systemd.dropInPath} is cleared at every boot; the rendered config uses ${PERSISTENT_DROP_IN} so that etcd restarts on its data after a reboot`,
    );
    config = {
      ...config,
      etcd: { ...config.etcd, systemd: { ...config.etcd.systemd, dropInPath: PERSISTENT_DROP_IN } },
    };
  }
  if (config.group.provider === 'elastigroup' && config.group.tokenFile === undefined) {
    warnings.push(
      'group.tokenFile: not set; the agent then needs SPOTINST_TOKEN or ~/.spotinst/credentials, which this user-data does not provide: set group.tokenFile',
    );
  }
  if (config.group.provider === 'asg' && config.agent.peerSecretFile === undefined) {
    warnings.push(
      "agent.peerSecretFile: not set; an Auto Scaling group's agents have no Spot.io token to derive their peer key from, so they refuse to start without a peer secret: set agent.peerSecretFile and fill it from a secret store (--secrets ssm:<prefix>)",
    );
  }
  if (opts.secrets.kind !== 'none' && secretFiles(config).length === 0 && tlsTargets(config).length === 0) {
    warnings.push(
      '--secrets: the config names no secret file (group.tokenFile, agent.peerSecretFile): nothing to fetch',
    );
  }
  const files: DeployFile[] = [];
  const owner = config.etcd.mode === 'systemd' ? undefined : `root:${opts.user}`;
  files.push({
    path: opts.configPath,
    content: configFileText(config),
    mode: owner ? 0o640 : 0o600,
    ...(owner ? { owner } : {}),
  });
  files.push({ path: TMPFILES, content: tmpfilesText(config, opts), mode: 0o644 });
  files.push({
    path: `/etc/systemd/system/${AGENT_UNIT}`,
    content: agentUnit(config, opts, warnings),
    mode: 0o644,
  });
  const enable = [AGENT_UNIT];
  const script = secretsScript(config, opts);
  if (script !== undefined) {
    files.push({ path: SECRETS_SCRIPT, content: script, mode: 0o700 });
    files.push({ path: `/etc/systemd/system/${SECRETS_UNIT}`, content: secretsUnit(), mode: 0o644 });
    enable.unshift(SECRETS_UNIT);
  }
  const certs = certsScript(config, opts);
  if (certs !== undefined) {
    files.push({ path: CERTS_SCRIPT, content: certs, mode: 0o700 });
    files.push({
      path: `/etc/systemd/system/${CERTS_UNIT}`,
      content: certsUnit(opts.secrets.kind !== 'none'),
      mode: 0o644,
    });
    enable.splice(enable.indexOf(AGENT_UNIT), 0, CERTS_UNIT);
  }
  if (config.etcd.mode === 'systemd') {
    const dir = posix.dirname(config.etcd.systemd.dropInPath);
    files.push({ path: `${dir}/20-etcd-spot-base.conf`, content: etcdBaseDropIn(config, opts), mode: 0o644 });
  }
  const debianPackages = [...opts.nodePackages, 'etcd-server', 'etcd-client'];
  if (opts.secrets.kind !== 'none') debianPackages.push('awscli', 'curl');
  if (certs !== undefined) debianPackages.push('openssl', ...(opts.secrets.kind === 'none' ? ['curl'] : []));
  return { files, enable, debianPackages, warnings, config };
}

const NODE_CHECK =
  'node -e \'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)\' || { echo "etcd-spot needs Node.js >= 20: $(node --version 2>&1); use a distribution release that ships Node.js 20+ or add a Node.js 20+ apt repository" >&2; exit 1; }';

/** What an Auto Scaling group's launch template needs besides this user-data (docs/deploy.md §2b). */
export const ASG_LAUNCH_TEMPLATE_NOTE =
  "# AWS Auto Scaling: use as the launch template's UserData (base64). The launch template sets\n" +
  '#   MetadataOptions: { HttpTokens: required, HttpPutResponseHopLimit: 1, InstanceMetadataTags: enabled }\n' +
  '# (the agent reads aws:autoscaling:groupName and placement/region from instance metadata) and an\n' +
  '# instance profile with the IAM policy of docs/deploy.md; the group needs an\n' +
  '# autoscaling:EC2_INSTANCE_TERMINATING lifecycle hook (HeartbeatTimeout 300, DefaultResult CONTINUE).\n';

/** A `#cloud-config` for Debian/Ubuntu (cloud-init 22.4+). */
export function renderCloudInit(bundle: DeployBundle, opts: RenderOptions): string {
  const supervise = bundle.config.etcd.mode === 'supervise';
  const doc: Record<string, unknown> = {
    users: [
      'default',
      ...(supervise
        ? [
            {
              name: opts.user,
              system: true,
              shell: '/usr/sbin/nologin',
              homedir: '/nonexistent',
              no_create_home: true,
              lock_passwd: true,
            },
          ]
        : []),
    ],
    // supervise mode: etcd runs as the agent's child; the package's own etcd.service must never start
    // a stray single-member cluster. Masked before the package is installed (bootcmd runs first).
    ...(supervise ? { bootcmd: [['systemctl', 'mask', 'etcd.service']] } : {}),
    package_update: true,
    packages: bundle.debianPackages,
    write_files: bundle.files.map((f) => ({
      path: f.path,
      content: f.content,
      permissions: `0${f.mode.toString(8)}`,
      // Files owned by the agent's user are written after the user exists (final stage).
      ...(f.owner ? { owner: f.owner, defer: true } : {}),
    })),
    // One shell script: stop at the first failure rather than enable an agent that is not installed.
    runcmd: [
      'set -e',
      NODE_CHECK,
      ['npm', 'install', '--global', '--no-fund', '--no-audit', opts.packageSpec],
      ['systemd-tmpfiles', '--create', TMPFILES],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', ...bundle.enable],
    ],
  };
  return (
    '#cloud-config\n' +
    '# Written by `etcd-spot render cloud-init`. Holds no secret: see docs/deploy.md.\n' +
    (bundle.config.group.provider === 'asg' ? ASG_LAUNCH_TEMPLATE_NOTE : '') +
    stringify(doc, { lineWidth: 0 })
  );
}

/** A Butane config (variant fcos 1.4.0 → Ignition 3.3.0) for Fedora CoreOS. */
export function renderButane(bundle: DeployBundle, opts: RenderOptions): string {
  const supervise = bundle.config.etcd.mode === 'supervise';
  const packages = ['nodejs', 'npm', 'etcd', ...(opts.secrets.kind !== 'none' ? ['awscli2'] : [])];
  // FCOS has no package step in its config: a oneshot unit layers the packages once and installs the agent.
  const install = [
    '# Written by `etcd-spot render butane`.',
    '[Unit]',
    'Description=Install Node.js, etcd and etcd-spot (once)',
    'Wants=network-online.target',
    'After=network-online.target',
    `Before=${bundle.enable.join(' ')}`,
    'ConditionPathExists=!/var/lib/etcd-spot-installed',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/usr/bin/rpm-ostree install --apply-live --idempotent --allow-inactive ${packages.join(' ')}`,
    `ExecStart=/usr/bin/node -e "process.exit(Number(process.versions.node.split('.')[0]) >= 20 ? 0 : 1)"`,
    `ExecStart=/usr/bin/npm install --global --prefix /usr/local --no-fund --no-audit ${opts.packageSpec}`,
    'ExecStart=/usr/bin/touch /var/lib/etcd-spot-installed',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const unitFiles = bundle.files.filter(
    (f) => f.path.startsWith('/etc/systemd/system/') && f.path.endsWith('.service'),
  );
  const otherFiles = bundle.files.filter((f) => !unitFiles.includes(f));
  const doc = {
    variant: 'fcos',
    version: '1.4.0',
    ...(supervise
      ? {
          passwd: {
            users: [{ name: opts.user, system: true, no_create_home: true, shell: '/usr/sbin/nologin' }],
          },
        }
      : {}),
    storage: {
      files: otherFiles.map((f) => ({
        path: f.path,
        mode: f.mode,
        contents: { inline: f.content },
        ...(f.owner
          ? {
              user: { name: f.owner.split(':')[0] as string },
              group: { name: f.owner.split(':')[1] ?? f.owner },
            }
          : {}),
      })),
    },
    systemd: {
      units: [
        ...(supervise ? [{ name: 'etcd.service', mask: true }] : []),
        { name: 'etcd-spot-install.service', enabled: true, contents: install },
        ...unitFiles.map((f) => ({
          name: posix.basename(f.path),
          enabled: bundle.enable.includes(posix.basename(f.path)),
          contents: f.content
            .replace(/^After=(.*)$/m, 'After=$1 etcd-spot-install.service')
            .replace(/^\[Unit\]$/m, '[Unit]\nRequires=etcd-spot-install.service'),
        })),
      ],
    },
  };
  return (
    '# Written by `etcd-spot render butane`. Holds no secret: see docs/deploy.md.\n' +
    stringify(doc, { lineWidth: 0 })
  );
}

/** The bare files (systemd units, drop-in, tmpfiles, config, secret fetcher), for image builders. */
export function renderSystemdFiles(bundle: DeployBundle): DeployFile[] {
  return bundle.files;
}

/** The files one after another, each under a `# ==> path (mode) <==` header. */
export function formatFiles(files: readonly DeployFile[]): string {
  return files
    .map(
      (f) =>
        `# ==> ${f.path} (mode 0${f.mode.toString(8)}${f.owner ? `, ${f.owner}` : ''}) <==\n${f.content}`,
    )
    .join('\n');
}

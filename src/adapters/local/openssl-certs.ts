/**
 * A group's certificates through the `openssl` binary (OpenSSL ≥ 3.0, for `req -x509 -CA`): one CA,
 * and per instance one certificate for its private IP that serves and authenticates both ways (etcd's
 * client and peer ports, the agent's status server and its calls). ECDSA P-256, SHA-256. Used by
 * `etcd-spot certs`, the rendered boot script (through `certs issue`), the simulator and tests; the
 * agent never imports it.
 *
 * Files: a CA dir holds `ca.crt` and `ca.key` (0600); an issued dir holds `node.crt`, `node.key`
 * (0600) and a copy of `ca.crt`: the three files `etcd.tls.*` names. Each file is written under a
 * temporary name and renamed into place, so an agent watching them never reads half a rotation.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ConfigError, EtcdSpotError } from '../../core/errors.ts';

export const CA_CERT = 'ca.crt';
export const CA_KEY = 'ca.key';
export const NODE_CERT = 'node.crt';
export const NODE_KEY = 'node.key';

export interface CertOptions {
  /** Default 'openssl' on PATH. */
  openssl?: string;
}

function run(openssl: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      openssl,
      args,
      { timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, _out, stderr) => {
        if (err === null) return resolve();
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          new EtcdSpotError(
            code === 'ENOENT'
              ? `cannot run ${openssl} (not installed?); install OpenSSL 3 (Debian: apt-get install openssl)`
              : `${openssl} ${args[0]} failed: ${stderr.trim().split('\n').slice(-2).join(' ') || err.message}`,
            { code: 'OPENSSL_FAILED', retryable: false, cause: err },
          ),
        );
      },
    );
  });
}

/** A DN value for an openssl config line: no newlines, no characters that start a variable or comment. */
function dnValue(s: string): string {
  return s.replace(/[^A-Za-z0-9 ._:@-]/g, '_').slice(0, 64) || 'etcd-spot';
}

function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Makes a new CA in `dir` (created 0700): `ca.crt`, `ca.key`. Refuses to overwrite an existing CA. */
export async function createCa(
  dir: string,
  opts: CertOptions & { commonName?: string; days?: number } = {},
): Promise<{ certFile: string; keyFile: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, CA_CERT);
  const keyFile = join(dir, CA_KEY);
  const exists = await readFile(keyFile).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new ConfigError([
      `--out: ${keyFile} exists; a new CA would orphan every certificate it issued. Choose another directory`,
    ]);
  }
  const cnf = tmpName(join(dir, 'ca.cnf'));
  const tmpKey = tmpName(keyFile);
  const tmpCert = tmpName(certFile);
  await writeFile(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${dnValue(opts.commonName ?? 'etcd-spot CA')}`,
      '[ext]',
      'basicConstraints = critical,CA:TRUE,pathlen:0',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  try {
    await run(opts.openssl ?? 'openssl', [
      'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc',
      '-keyout', tmpKey, '-out', tmpCert, '-days', String(opts.days ?? 3650),
      '-config', cnf, '-extensions', 'ext',
    ]); // prettier-ignore
    await rename(tmpKey, keyFile);
    await rename(tmpCert, certFile);
  } finally {
    await Promise.all([cnf, tmpKey, tmpCert].map((f) => rm(f, { force: true })));
  }
  return { certFile, keyFile };
}

export interface IssueOptions extends CertOptions {
  /** Directory holding `ca.crt` and `ca.key`. */
  caDir: string;
  /** Where `node.crt`, `node.key` and `ca.crt` go (created 0700). */
  outDir: string;
  /** Subject CN, e.g. the instance id. */
  commonName: string;
  /** IP SANs: the instance's private IP (etcd and the agents address each other by IP). */
  ips: string[];
  dns?: string[];
  days?: number;
}

/** Checks that `caDir` holds a matching CA certificate and key; returns the certificate's validity end. */
async function checkCa(caDir: string): Promise<void> {
  let cert: string;
  let key: string;
  try {
    cert = await readFile(join(caDir, CA_CERT), 'utf8');
    key = await readFile(join(caDir, CA_KEY), 'utf8');
  } catch (cause) {
    throw new ConfigError(
      [
        `--ca-dir: cannot read ${join(caDir, CA_CERT)} and ${join(caDir, CA_KEY)} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); make a CA with 'etcd-spot certs ca --out ${caDir}'`,
      ],
      cause,
    );
  }
  let ok = false;
  try {
    const x = new X509Certificate(cert);
    ok = x.ca && x.checkPrivateKey(createPrivateKey(key));
  } catch (cause) {
    throw new ConfigError([`--ca-dir: ${CA_CERT} or ${CA_KEY} in ${caDir} does not parse`], cause);
  }
  if (!ok)
    throw new ConfigError([
      `--ca-dir: ${CA_KEY} does not match ${CA_CERT} in ${caDir} (or it is no CA certificate)`,
    ]);
}

/** Issues `node.crt`/`node.key` for one instance, signed by the CA in `caDir`, and copies `ca.crt` beside them. */
export async function issueCert(
  opts: IssueOptions,
): Promise<{ certFile: string; keyFile: string; caFile: string }> {
  const bad = opts.ips.filter((ip) => isIP(ip) === 0);
  if (bad.length > 0)
    throw new ConfigError([`--ip: not an IP address: ${bad.map((b) => JSON.stringify(b)).join(', ')}`]);
  const badDns = (opts.dns ?? []).filter((d) => !/^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(d));
  if (badDns.length > 0)
    throw new ConfigError([`--dns: not a host name: ${badDns.map((b) => JSON.stringify(b)).join(', ')}`]);
  if (opts.ips.length === 0)
    throw new ConfigError([
      "--ip: give the instance's private IP: etcd and the agents address each other by IP",
    ]);
  await checkCa(opts.caDir);
  await mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  const certFile = join(opts.outDir, NODE_CERT);
  const keyFile = join(opts.outDir, NODE_KEY);
  const caFile = join(opts.outDir, CA_CERT);
  const cnf = tmpName(join(opts.outDir, 'node.cnf'));
  const tmpKey = tmpName(keyFile);
  const tmpCert = tmpName(certFile);
  const tmpCa = tmpName(caFile);
  const sans = [...opts.ips.map((ip) => `IP:${ip}`), ...(opts.dns ?? []).map((d) => `DNS:${d}`)];
  await writeFile(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${dnValue(opts.commonName)}`,
      '[ext]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth,clientAuth',
      `subjectAltName = ${sans.join(',')}`,
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  try {
    await run(opts.openssl ?? 'openssl', [
      'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc',
      '-keyout', tmpKey, '-out', tmpCert, '-days', String(opts.days ?? 365),
      '-config', cnf, '-extensions', 'ext',
      '-CA', join(opts.caDir, CA_CERT), '-CAkey', join(opts.caDir, CA_KEY),
    ]); // prettier-ignore
    await copyFile(join(opts.caDir, CA_CERT), tmpCa);
    // The key first: a watcher that sees the new certificate before its key keeps the old pair.
    await rename(tmpKey, keyFile);
    await rename(tmpCert, certFile);
    await rename(tmpCa, caFile);
  } finally {
    await Promise.all([cnf, tmpKey, tmpCert, tmpCa].map((f) => rm(f, { force: true })));
  }
  return { certFile, keyFile, caFile };
}

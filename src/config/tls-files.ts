/**
 * The TLS files named by `etcd.tls` (src/config/schema.ts): read, checked, and re-read when they change.
 * Checks at start (each a ConfigError naming the key and the fix): the file is readable, the
 * certificate and the CA parse as PEM certificates, the key parses, the key matches the certificate,
 * the certificate was issued by the CA and is within its validity. Key contents never appear in a
 * message, a log line or argv: etcd gets the paths, the agent keeps the bytes in memory.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { statSync } from 'node:fs';
import { ConfigError } from '../core/errors.ts';
import { readFailure, readRegularFile } from './read-file.ts';
import type { EtcdTlsConfig } from './schema.ts';

/** One TLS identity as files, with the config keys that name them (for messages). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Config keys, e.g. `{ cert: 'etcd.tls.certFile', … }`. */
  keys: { cert: string; key: string; ca: string };
}

/** The bytes of one TLS identity, as node:tls and the etcd3 client take them. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** Changes whenever a re-read found different files (1 for the first read). */
  generation: number;
  /** When the certificate stops being valid (epoch ms). */
  notAfter: number;
}

/** The client set of `etcd.tls` (etcd's client port, the agent's calls, the agent's status server), or undefined when off. */
export function clientTlsFiles(tls: EtcdTlsConfig): TlsFiles | undefined {
  if (tls.certFile === undefined || tls.keyFile === undefined || tls.caFile === undefined) return undefined;
  return {
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    caFile: tls.caFile,
    keys: { cert: 'etcd.tls.certFile', key: 'etcd.tls.keyFile', ca: 'etcd.tls.caFile' },
  };
}

/** The peer set of `etcd.tls` (etcd's peer port), or undefined when off. */
export function peerTlsFiles(tls: EtcdTlsConfig): TlsFiles | undefined {
  if (tls.peerCertFile === undefined || tls.peerKeyFile === undefined || tls.peerCaFile === undefined)
    return undefined;
  return {
    certFile: tls.peerCertFile,
    keyFile: tls.peerKeyFile,
    caFile: tls.peerCaFile,
    keys: { cert: 'etcd.tls.peerCertFile', key: 'etcd.tls.peerKeyFile', ca: 'etcd.tls.peerCaFile' },
  };
}

/** `https` when the set is configured, else `http`. */
export function schemeOf(files: TlsFiles | undefined): 'http' | 'https' {
  return files === undefined ? 'http' : 'https';
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readOne(path: string, key: string, what: string): Buffer {
  try {
    return Buffer.from(readRegularFile(path, 1024 * 1024), 'utf8');
  } catch (cause) {
    throw new ConfigError(
      [
        `${key}: cannot read the ${what} ${path} (${readFailure(cause)}); create it (etcd-spot certs issue) or fix the path`,
      ],
      cause,
    );
  }
}

function parseCerts(pem: Buffer, path: string, key: string, what: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERT) ?? [];
  const certs: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certs.push(new X509Certificate(block));
    } catch (cause) {
      throw new ConfigError([`${key}: ${path} holds a ${what} that does not parse; replace the file`], cause);
    }
  }
  if (certs.length === 0)
    throw new ConfigError([
      `${key}: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----); point it at the ${what}`,
    ]);
  return certs;
}

/**
 * Reads and checks one identity. Throws one ConfigError whose single issue names the key and the fix.
 * `now` checks the validity window.
 */
export function readTlsMaterial(files: TlsFiles, now = Date.now(), generation = 1): TlsMaterial {
  const cert = readOne(files.certFile, files.keys.cert, 'certificate');
  const key = readOne(files.keyFile, files.keys.key, 'private key');
  const ca = readOne(files.caFile, files.keys.ca, 'CA certificate');
  const [leaf] = parseCerts(cert, files.certFile, files.keys.cert, 'certificate');
  const cas = parseCerts(ca, files.caFile, files.keys.ca, 'CA certificate');
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (cause) {
    // The parser's message never quotes the key, but say nothing of it anyway.
    throw new ConfigError(
      [
        `${files.keys.key}: ${files.keyFile} is not a PEM private key (unencrypted PKCS#8, SEC1 or PKCS#1); replace the file`,
      ],
      cause,
    );
  }
  const leafCert = leaf as X509Certificate;
  if (!leafCert.checkPrivateKey(privateKey)) {
    throw new ConfigError([
      `${files.keys.key}: the key in ${files.keyFile} does not match the certificate in ${files.keys.cert} (${files.certFile}, ${leafCert.subject.replace(/\n/g, ', ')}); install the key issued with that certificate`,
    ]);
  }
  if (!cas.some((c) => leafCert.checkIssued(c) && leafCert.verify(c.publicKey))) {
    throw new ConfigError([
      `${files.keys.cert}: the certificate in ${files.certFile} (issuer ${leafCert.issuer.replace(/\n/g, ', ')}) was not issued by the CA in ${files.keys.ca} (${files.caFile}, ${(cas[0] as X509Certificate).subject.replace(/\n/g, ', ')}, SHA-256 ${(cas[0] as X509Certificate).fingerprint256.slice(0, 23)}…); issue it from the group's CA or point ${files.keys.ca} at that CA`,
    ]);
  }
  const notBefore = Date.parse(leafCert.validFrom);
  const notAfter = Date.parse(leafCert.validTo);
  if (now < notBefore || now > notAfter) {
    throw new ConfigError([
      `${files.keys.cert}: the certificate in ${files.certFile} is valid from ${leafCert.validFrom} to ${leafCert.validTo}, not now; issue a new one`,
    ]);
  }
  return { cert, key, ca, generation, notAfter };
}

/** The files' identity (inode, size, mtime); a change means they were replaced. */
function fingerprint(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.caFile]
    .map((p) => {
      try {
        const st = statSync(p);
        return `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

export interface TlsSourceOptions {
  /** Files are checked at most this often (etcd.tls.reloadInterval). */
  checkIntervalMs: number;
  now?: () => number;
  /** A changed set that does not check out (reported once per distinct problem). */
  onProblem?: (problem: string) => void;
}

/**
 * One identity, re-read when its files change (checked at most every `checkIntervalMs`). A change that
 * does not check out (a key that no longer matches while a rotation is half written) keeps the last
 * good material and is reported once through `onProblem`; `onChange` hears of each new generation.
 */
export class TlsSource {
  private material: TlsMaterial;
  private seen: string;
  private checkedAt: number;
  private lastProblem: string | undefined;
  private readonly listeners: ((m: TlsMaterial) => void)[] = [];

  readonly files: TlsFiles;
  private readonly opts: TlsSourceOptions;

  constructor(files: TlsFiles, opts: TlsSourceOptions) {
    this.files = files;
    this.opts = opts;
    this.seen = fingerprint(files);
    this.material = readTlsMaterial(files, this.now());
    this.checkedAt = this.now();
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** The current material, re-read first when the check interval has passed and the files changed. */
  current(): TlsMaterial {
    if (this.now() - this.checkedAt >= this.opts.checkIntervalMs) this.refresh();
    return this.material;
  }

  /** Checks the files now; true when a new generation was loaded. */
  refresh(): boolean {
    this.checkedAt = this.now();
    const fp = fingerprint(this.files);
    if (fp === this.seen) return false;
    try {
      this.material = readTlsMaterial(this.files, this.now(), this.material.generation + 1);
      this.seen = fp;
      this.lastProblem = undefined;
    } catch (e) {
      const problem = `${e instanceof ConfigError ? e.issues.join('; ') : String(e)}; keeping the certificate loaded before`;
      if (problem !== this.lastProblem) this.opts.onProblem?.(problem);
      this.lastProblem = problem;
      return false;
    }
    for (const l of this.listeners) l(this.material);
    return true;
  }

  /** Called with each new generation. */
  onChange(listener: (m: TlsMaterial) => void): void {
    this.listeners.push(listener);
  }
}

/** Both sets of `etcd.tls`, read and checked now (a ConfigError for the first problem found). */
export function checkTlsConfig(tls: EtcdTlsConfig, now = Date.now()): void {
  const client = clientTlsFiles(tls);
  const peer = peerTlsFiles(tls);
  if (client !== undefined) readTlsMaterial(client, now);
  if (peer !== undefined) readTlsMaterial(peer, now);
}

/**
 * The local etcd binary's version, from `etcd --version`, whose first line is "etcd Version: 3.4.23"
 * in every line (etcdmain/config.go at v3.4.23, server/etcdmain/config.go at v3.5.33 and v3.6.14). The
 * planner checks it against the cluster's versions before joining (core/etcd-version.ts). Read once and
 * remembered: the binary does not change under a running agent (a package upgrade restarts it).
 */
import { execFile } from 'node:child_process';
import { parseEtcdVersion } from '../../core/etcd-version.ts';

/** "etcd Version: 3.6.14\nGit SHA: …" → "3.6.14"; undefined when no such line. */
export function parseEtcdVersionOutput(stdout: string): string | undefined {
  const line = stdout.split('\n').find((l) => /^etcd Version:/i.test(l.trim()));
  return line === undefined ? undefined : parseEtcdVersion(line.slice(line.indexOf(':') + 1))?.text;
}

export type BinaryVersion = { ok: true; version: string } | { ok: false; error: string };

/** Runs `<binary> --version` (5 s at most) and parses it. Never throws. */
export function readEtcdBinaryVersion(binary: string, timeoutMs = 5000): Promise<BinaryVersion> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => {
      if (err !== null) {
        resolve({ ok: false, error: `${binary} --version: ${err.message}` });
        return;
      }
      const version = parseEtcdVersionOutput(stdout);
      resolve(
        version === undefined
          ? { ok: false, error: `${binary} --version printed no "etcd Version:" line` }
          : { ok: true, version },
      );
    });
  });
}

/**
 * A memoised reader for the agent: the first successful answer is kept; a failure is retried on the
 * next call (the binary may be installed later).
 */
export function etcdBinaryVersionReader(binary: string): () => Promise<BinaryVersion> {
  let known: BinaryVersion | undefined;
  return async () => {
    if (known !== undefined) return known;
    const r = await readEtcdBinaryVersion(binary);
    if (r.ok) known = r;
    return r;
  };
}

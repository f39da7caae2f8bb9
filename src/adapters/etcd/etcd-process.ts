/**
 * The etcd process handle: builds etcd's command line / environment, starts etcd as a child process,
 * waits until it serves, stops it. Used by the agent's `supervise` mode, the fleet simulator and tests.
 *
 * Every started PID is kept in a module-level registry and SIGKILLed from a `process.on('exit')` handler.
 * This is the one module global in the project and it is deliberate: the exit handler must reach every
 * child no matter which object started it, or a test that dies mid-way leaves members holding loopback
 * IPs (and, with a reused token, joining the next test's cluster; etcd-physics §8). A PID leaves the
 * registry in the same tick its exit is reaped, so the handler can never signal a reused PID.
 * Default SIGINT/SIGTERM handling skips 'exit' handlers; the children are in our process group then and
 * get the terminal's signal themselves.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError, EtcdError, TimeoutError, describeError } from '../../core/errors.ts';
import { extraArgsIssues, isWildcardHost, urlHost } from '../../core/etcd-flags.ts';
import { requestText } from '../local/https-get.ts';
import type { ClientTls } from '../local/https-get.ts';

/** One TLS identity as etcd takes it: file paths (etcd re-reads them per connection), never contents. */
export interface EtcdTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** `--client-cert-auth` / `--peer-client-cert-auth`: require a certificate from the CA (default true). */
  clientCertAuth?: boolean;
}

export interface EtcdLaunchOptions {
  name: string;
  dataDir: string;
  /** The one URL etcd listens on and advertises for clients, e.g. http://10.0.0.5:2379. */
  clientUrl: string;
  /** The one URL etcd listens on and advertises for peers, e.g. http://10.0.0.5:2380. */
  peerUrl: string;
  /** Every member's name and peer URL, this one included. Ignored by etcd once the data dir exists. */
  initialCluster: { name: string; peerUrl: string }[];
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  /** Default 'etcd' (looked up on PATH). */
  etcdBinary?: string;
  /** Appended as they are, e.g. ['--heartbeat-interval=50', '--snapshot-count=1000']. */
  extraArgs?: string[];
  /** `--force-new-cluster` for this start (quorum-loss recovery; never allowed through extraArgs). */
  forceNewCluster?: boolean;
  /** The client port's certificate (required when `clientUrl` is https://, refused otherwise). */
  clientTls?: EtcdTlsFiles;
  /** The peer port's certificate (required when `peerUrl` is https://, refused otherwise). */
  peerTls?: EtcdTlsFiles;
}

export interface StartEtcdOptions extends EtcdLaunchOptions {
  /** stdout and stderr are appended to this file. Without it the last 16 KiB are kept in memory for errors. */
  logFile?: string;
  /** The client identity {@link RunningEtcd.waitUntilServing} presents to an https:// client URL. */
  healthTls?: ClientTls;
  /**
   * Extra environment (e.g. ETCD_* variables). Nothing else of the parent's environment reaches etcd
   * except {@link ETCD_ENV_ALLOW}: not the Spot token, not ETCD_SPOT_* or AWS_* (campaign S7).
   */
  env?: Record<string, string>;
}

export interface EtcdExit {
  code: number | null;
  signal: string | null;
}

export interface RunningEtcd {
  readonly pid: number;
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** False once the process has exited. */
  readonly running: boolean;
  /** Settles when the process exits (never rejects). */
  readonly exited: Promise<EtcdExit>;
  /** SIGTERM, then SIGKILL once `graceMs` has passed; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>;
  /**
   * Polls GET /health every 25 ms until HTTP 200 (any body: a learner answers true; a member without
   * quorum answers 503, so polling goes on). Rejects with a TimeoutError naming the URL and the last
   * error, or at once with an EtcdError (ETCD_PROCESS_EXITED) when the process exits first.
   */
  waitUntilServing(timeoutMs: number): Promise<void>;
  /** The last lines etcd wrote (from the log file or the in-memory tail). */
  logTail(maxBytes?: number): string;
  [Symbol.asyncDispose](): Promise<void>;
}

const LOG_TAIL_BYTES = 16 * 1024;

/**
 * The parent's variables etcd may inherit: the search path, locale, time zone, home, temp dir and Go
 * runtime tuning. Everything else (SPOTINST_TOKEN, ETCD_SPOT_*, AWS_*, stray ETCD_* flags) stays out.
 */
export const ETCD_ENV_ALLOW: RegExp =
  /^(PATH|HOME|TMPDIR|TZ|LANG|LANGUAGE|LC_[A-Z_]+|GOMAXPROCS|GOGC|GOMEMLIMIT)$/;

/** etcd's environment: the allow-listed part of `parent`, then `extra` (pure). */
export function etcdEnvironment(
  parent: Record<string, string | undefined>,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v !== undefined && ETCD_ENV_ALLOW.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

const REASON_MAX = 300;

/**
 * Why etcd gave up, in its own words, from its output (pure): the last fatal/panic zap line
 * (`msg: error`), else the last plain-text line such as Go's `flag provided but not defined: -x`
 * (usage text skipped), else the last error/warn zap line that carries an error. Undefined when
 * the output says nothing useful.
 */
export function etcdExitReason(output: string): string | undefined {
  let fatal: string | undefined;
  let plain: string | undefined;
  let soft: string | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.trimEnd();
    if (line.trim() === '') continue;
    if (line.startsWith('{')) {
      let entry: { level?: unknown; msg?: unknown; error?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      const msg = typeof entry.msg === 'string' ? entry.msg : '';
      const err = typeof entry.error === 'string' ? entry.error : '';
      const text = [msg, err].filter((t) => t !== '').join(': ');
      if (text === '') continue;
      if (entry.level === 'fatal' || entry.level === 'panic') fatal = text;
      else if (entry.level === 'error' || (entry.level === 'warn' && err !== '')) soft = text;
      continue;
    }
    // Go's flag package prints the error, then "Usage:" and indented help.
    if (/^\s/.test(line) || /^Usage:?$/.test(line) || /^(goroutine \d+|\S+\.go:\d+)/.test(line)) continue;
    plain = line;
  }
  const reason = fatal ?? plain ?? soft;
  if (reason === undefined) return undefined;
  return reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX - 3)}...` : reason;
}
const KILL_WAIT_MS = 10_000;

/** PID → true while the child runs. See the module comment. */
const livePids = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** PIDs of etcd processes started by this module that are still running (for diagnostics and tests). */
export function runningEtcdPids(): number[] {
  return [...livePids];
}

function validate(opts: EtcdLaunchOptions): void {
  const issues: string[] = [];
  const checkUrl = (field: string, url: string) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      issues.push(`${field}: not a URL: ${JSON.stringify(url)}`);
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      issues.push(`${field}: scheme must be http or https: ${url}`);
    if (u.port === '') issues.push(`${field}: needs an explicit port: ${url}`);
    const host = urlHost(url) ?? u.hostname;
    if (isWildcardHost(host)) {
      issues.push(
        `${field}: etcd-spot listens only on a concrete address, never ${host || 'an empty host'}: ${url}`,
      );
    }
    if (u.pathname !== '/' || u.search !== '') issues.push(`${field}: no path or query allowed: ${url}`);
  };
  if (!/^[A-Za-z0-9._-]+$/.test(opts.name))
    issues.push(`name: letters, digits, '.', '_', '-' only: ${JSON.stringify(opts.name)}`);
  if (opts.dataDir.trim() === '') issues.push('dataDir: must not be empty');
  checkUrl('clientUrl', opts.clientUrl);
  checkUrl('peerUrl', opts.peerUrl);
  if (opts.initialClusterToken.trim() === '' || /[\s,]/.test(opts.initialClusterToken)) {
    issues.push(
      `initialClusterToken: non-empty, no spaces or commas: ${JSON.stringify(opts.initialClusterToken)}`,
    );
  }
  if (
    !opts.initialCluster.some((m) => m.name === opts.name && trimSlash(m.peerUrl) === trimSlash(opts.peerUrl))
  ) {
    issues.push(`initialCluster: must contain this member (${opts.name}=${trimSlash(opts.peerUrl)})`);
  }
  for (const m of opts.initialCluster) {
    if (!/^[A-Za-z0-9._-]+$/.test(m.name))
      issues.push(`initialCluster: bad member name ${JSON.stringify(m.name)}`);
    checkUrl(`initialCluster[${m.name}].peerUrl`, m.peerUrl);
  }
  const scheme = (url: string) => (URL.canParse(url) ? new URL(url).protocol.replace(/:$/, '') : '');
  const peerScheme = scheme(opts.peerUrl);
  if ((scheme(opts.clientUrl) === 'https') !== (opts.clientTls !== undefined)) {
    issues.push(
      `clientUrl: ${opts.clientUrl} ${opts.clientTls === undefined ? 'is https:// but no client certificate is given (etcd.tls.certFile)' : 'is http:// but a client certificate is given; use https://'}`,
    );
  }
  if ((peerScheme === 'https') !== (opts.peerTls !== undefined)) {
    issues.push(
      `peerUrl: ${opts.peerUrl} ${opts.peerTls === undefined ? 'is https:// but no peer certificate is given (etcd.tls.peerCertFile)' : 'is http:// but a peer certificate is given; use https://'}`,
    );
  }
  const mixed = opts.initialCluster.filter((m) => scheme(m.peerUrl) !== peerScheme);
  if (mixed.length > 0) {
    issues.push(
      `initialCluster: ${mixed.map((m) => `${m.name}=${m.peerUrl}`).join(', ')} ${mixed.length === 1 ? 'uses' : 'use'} another scheme than this member's ${peerScheme}:// peer URL; mixed TLS and plain peers are refused (docs/deploy.md, "Turning TLS on")`,
    );
  }
  // The config schema refuses these already; checked again for every other caller.
  for (const issue of extraArgsIssues(opts.extraArgs ?? [])) issues.push(`extraArgs: ${issue}`);
  if (issues.length > 0) throw new ConfigError(issues);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * etcd's command line for `opts` (pure). Listens only on the given URLs; always zap JSON logs on stderr;
 * pre-vote on (a member back from a partition must not depose a healthy leader).
 *
 * @example
 * buildEtcdArgs({ name: 'm1', dataDir: '/var/lib/etcd', clientUrl: 'http://10.0.0.5:2379',
 *   peerUrl: 'http://10.0.0.5:2380', initialCluster: [{ name: 'm1', peerUrl: 'http://10.0.0.5:2380' }],
 *   initialClusterState: 'new', initialClusterToken: 'sig-1234' })
 */
export function buildEtcdArgs(opts: EtcdLaunchOptions): string[] {
  validate(opts);
  const clientUrl = trimSlash(opts.clientUrl);
  const peerUrl = trimSlash(opts.peerUrl);
  return [
    `--name=${opts.name}`,
    `--data-dir=${opts.dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${formatInitialCluster(opts.initialCluster)}`,
    `--initial-cluster-state=${opts.initialClusterState}`,
    `--initial-cluster-token=${opts.initialClusterToken}`,
    '--logger=zap',
    '--log-outputs=stderr',
    ...tlsArgs('', opts.clientTls),
    ...tlsArgs('peer-', opts.peerTls),
    // etcd 3.4 defaults to false (3.5 to true). Without it a member cut off from its peers keeps
    // raising its term, and when the partition heals it deposes the healthy leader: 6 s without a
    // leader and 279 failed writes in the simulator's partition-leader scenario, none with it.
    // extraArgs come later, so `--pre-vote=false` there still wins.
    '--pre-vote=true',
    ...(opts.forceNewCluster === true ? ['--force-new-cluster'] : []),
    ...(opts.extraArgs ?? []),
  ];
}

/** `--cert-file=… --key-file=… --trusted-ca-file=… --client-cert-auth` (or the `--peer-` ones): paths only. */
function tlsArgs(prefix: '' | 'peer-', tls: EtcdTlsFiles | undefined): string[] {
  if (tls === undefined) return [];
  return [
    `--${prefix}cert-file=${tls.certFile}`,
    `--${prefix}key-file=${tls.keyFile}`,
    `--${prefix}trusted-ca-file=${tls.caFile}`,
    `--${prefix}client-cert-auth=${tls.clientCertAuth === false ? 'false' : 'true'}`,
  ];
}

/** `m1=http://a:2380,m2=http://b:2380`, etcd's --initial-cluster / ETCD_INITIAL_CLUSTER format. */
export function formatInitialCluster(members: { name: string; peerUrl: string }[]): string {
  return members.map((m) => `${m.name}=${trimSlash(m.peerUrl)}`).join(',');
}

/**
 * The same configuration as environment variables (pure), the shape of a systemd drop-in
 * `EnvironmentFile` such as the seed's `30-etcd_peers.conf`. `extraArgs` become ETCD_<FLAG> too
 * (`--snapshot-count=1000` → ETCD_SNAPSHOT_COUNT=1000, a bare `--force-new-cluster` → "true").
 */
export function buildEtcdEnvironment(opts: EtcdLaunchOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const arg of buildEtcdArgs(opts)) {
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (m === null)
      throw new ConfigError([`extraArgs: cannot express ${JSON.stringify(arg)} as an ETCD_* variable`]);
    env[`ETCD_${(m[1] ?? '').toUpperCase().replace(/-/g, '_')}`] = m[2] ?? 'true';
  }
  return env;
}

/** Lines for an EnvironmentFile (`KEY="value"`), in a stable order. */
export function formatEnvironmentFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
    .join('');
}

/** The last `maxBytes` of `path`, not before byte `from`. */
function readFileTail(path: string, maxBytes: number, from = 0): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = Math.max(0, Math.min(size - from, maxBytes));
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-n).join('\n');
}

/**
 * Starts etcd with {@link buildEtcdArgs}. Throws at once (EtcdError ETCD_SPAWN_FAILED) when the binary
 * cannot be spawned; everything later (bind errors, bad data dir) shows as an early exit.
 */
export function startEtcd(opts: StartEtcdOptions): RunningEtcd {
  const args = buildEtcdArgs(opts);
  const binary = opts.etcdBinary ?? 'etcd';
  const env = etcdEnvironment(process.env, opts.env);

  let logFd: number | undefined;
  let logStart = 0;
  if (opts.logFile !== undefined) {
    logFd = openSync(opts.logFile, 'a');
    logStart = fstatSync(logFd).size;
  }
  let memTail = '';
  let child;
  try {
    child = spawn(binary, args, {
      env,
      stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
    });
  } finally {
    // The child has its own copy of the descriptor.
    if (logFd !== undefined) closeSync(logFd);
  }
  let spawnError: Error | undefined;
  child.on('error', (e) => {
    spawnError = e;
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new EtcdError(
      `could not start ${binary} for member ${opts.name} (is etcd installed and on PATH?)`,
      {
        code: 'ETCD_SPAWN_FAILED',
        retryable: false,
        cause: spawnError,
      },
    );
  }
  installExitHook();
  livePids.add(pid);

  const keep = (chunk: Buffer) => {
    memTail = (memTail + chunk.toString('utf8')).slice(-LOG_TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exitInfo: EtcdExit | undefined;
  const exited = new Promise<EtcdExit>((resolveExit) => {
    child.on('exit', (code, signal) => {
      livePids.delete(pid);
      exitInfo = { code, signal };
      const info = exitInfo;
      // Settle once the pipes have drained too ('close'), so the in-memory log tail is complete, but
      // never wait long for it.
      const t = setTimeout(() => resolveExit(info), 200);
      child.once('close', () => {
        clearTimeout(t);
        resolveExit(info);
      });
    });
  });

  const logTail = (maxBytes = LOG_TAIL_BYTES): string =>
    opts.logFile !== undefined ? readFileTail(opts.logFile, maxBytes) : memTail.slice(-maxBytes);

  const signalChild = (sig: NodeJS.Signals) => {
    if (exitInfo !== undefined) return;
    try {
      process.kill(pid, sig);
    } catch {
      // exited between the check and the signal
    }
  };

  const waitExit = async (ms: number, what: string): Promise<void> => {
    const ac = new AbortController();
    const timedOut = await Promise.race([
      exited.then(() => false),
      delay(ms, true, { signal: ac.signal }).catch(() => false),
    ]);
    ac.abort();
    if (timedOut)
      throw new TimeoutError(`etcd ${opts.name} (pid ${pid}) did not exit within ${ms} ms after ${what}`);
  };

  const kill = async (): Promise<void> => {
    signalChild('SIGKILL');
    await waitExit(KILL_WAIT_MS, 'SIGKILL');
  };

  const stop = async (graceMs = 5000): Promise<void> => {
    if (exitInfo !== undefined) return;
    signalChild('SIGTERM');
    const ac = new AbortController();
    const graceOver = await Promise.race([
      exited.then(() => false),
      delay(graceMs, true, { signal: ac.signal }).catch(() => false),
    ]);
    ac.abort();
    if (graceOver) await kill();
  };

  const describeExit = (e: EtcdExit) => {
    // Only this run's output: the log file is appended to across starts.
    const output =
      opts.logFile !== undefined ? readFileTail(opts.logFile, LOG_TAIL_BYTES, logStart) : logTail();
    const reason = etcdExitReason(output);
    return (
      `etcd ${opts.name} (pid ${pid}) exited with ${e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`} before serving ${opts.clientUrl}` +
      (reason !== undefined ? `: ${JSON.stringify(reason)}` : '') +
      (opts.logFile !== undefined ? ` (see ${opts.logFile})` : '')
    );
  };

  const waitUntilServing = async (timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const url = `${trimSlash(opts.clientUrl)}/health`;
    let lastError = 'no answer yet';
    const stopPolling = new AbortController();
    void exited.then(() => stopPolling.abort());
    try {
      for (;;) {
        if (exitInfo !== undefined) {
          const info = await exited;
          throw new EtcdError(`${describeExit(info)}; last log lines:\n${lastLines(logTail(), 8)}`, {
            code: 'ETCD_PROCESS_EXITED',
            retryable: false,
          });
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new TimeoutError(
            `etcd ${opts.name} not serving ${url} after ${timeoutMs} ms; last error: ${lastError}`,
          );
        }
        try {
          const res = await requestText(url, {
            signal: AbortSignal.any([AbortSignal.timeout(Math.min(1000, remaining)), stopPolling.signal]),
            ...(opts.healthTls !== undefined ? { tls: opts.healthTls } : {}),
          });
          if (res.status === 200 && exitInfo === undefined) return;
          lastError = `HTTP ${res.status} ${res.text.trim()}`;
        } catch (e) {
          lastError = describeError(e);
        }
        if (exitInfo === undefined) {
          await delay(Math.max(0, Math.min(25, deadline - Date.now())), undefined, {
            signal: stopPolling.signal,
          }).catch(() => undefined);
        }
      }
    } finally {
      stopPolling.abort();
    }
  };

  return {
    pid,
    name: opts.name,
    clientUrl: trimSlash(opts.clientUrl),
    peerUrl: trimSlash(opts.peerUrl),
    dataDir: opts.dataDir,
    get running() {
      return exitInfo === undefined;
    },
    exited,
    stop,
    kill,
    waitUntilServing,
    logTail,
    [Symbol.asyncDispose]: kill,
  };
}

/** True when `dataDir` holds an etcd write-ahead log (`member/wal` has files): etcd will ignore the initial-cluster flags. */
export async function hasEtcdData(dataDir: string): Promise<boolean> {
  try {
    const entries = await readdir(join(dataDir, 'member', 'wal'));
    return entries.length > 0;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Empties an etcd data dir (keeps the directory itself, which may be a mount point). Refuses a relative
 * path, a filesystem root, and a non-empty directory without a `member` entry (probably not an etcd
 * data dir at all). A missing directory is fine.
 */
export async function wipeDataDir(dataDir: string): Promise<void> {
  if (!isAbsolute(dataDir))
    throw new ConfigError([`dataDir: must be an absolute path to wipe it: ${dataDir}`]);
  const dir = resolve(dataDir);
  if (dir === resolve(dir, '..'))
    throw new ConfigError([`dataDir: refusing to wipe a filesystem root: ${dir}`]);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return;
    throw e;
  }
  if (entries.length === 0) return;
  if (!entries.includes('member')) {
    throw new ConfigError([
      `dataDir: ${dir} does not look like an etcd data dir (no "member" entry; found ${entries.slice(0, 5).join(', ')}); not wiping it`,
    ]);
  }
  for (const e of entries) await rm(join(dir, e), { recursive: true, force: true });
}

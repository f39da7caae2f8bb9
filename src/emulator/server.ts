/**
 * Runs the cloud emulator over real sockets: one main listener (Spot API + control API + IMDS by path)
 * on a loopback address, plus one IMDS listener per live instance on `http://<privateIp>:<imdsPort>`,
 * opened when the instance launches and closed when it terminates (a terminated VM's metadata service
 * is gone: connection refused). A short real interval and every request call `state.advance()`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import { systemClock } from '../adapters/local/system-clock.ts';
import { EmulatorError } from './errors.ts';
import { CloudState } from './state.ts';
import type { GroupSpec } from './types.ts';
import { createEmulatorApp } from './http/app.ts';
import { createImdsApp } from './http/imds.ts';

export interface StartEmulatorOptions {
  /** `host:port` of the main listener; host must be in 127.0.0.0/8. Default `127.0.0.1:0`. */
  listen?: string;
  token: string;
  account?: string;
  /** Port of the per-instance IMDS listeners (default 1338). */
  imdsPort?: number;
  /** Open per-instance IMDS listeners (default true). Without them, use the main listener's `/emulator/instances/{id}/imds/…`. */
  instanceImds?: boolean;
  /** Three octets in 127.0.0.0/8 (default `127.0.100`). */
  ipPrefix?: string;
  clock?: Clock;
  seed?: number;
  /** Real interval between `state.advance()` calls (default 50 ms). */
  tickMs?: number;
  /** Groups to create once the listeners are up. */
  groups?: GroupSpec[];
  /** AWS region of the Auto Scaling / EC2 endpoints (default us-east-1). */
  region?: string;
  /** SigV4 access key ids the AWS endpoints accept (default: any well-formed one). */
  awsAccessKeyIds?: string[];
  logger?: Logger;
}

export interface RunningEmulator {
  /** `http://127.0.0.1:PORT` — the Spot API base URL, the AWS Auto Scaling / EC2 endpoint and the control API's origin. */
  url: string;
  state: CloudState;
  /** Undefined when per-instance listeners are off. */
  imdsPort: number | undefined;
  /** The IMDS endpoint of a live instance: `http://<privateIp>:<imdsPort>`, or the by-path URL on the main listener. */
  imdsUrl(instanceId: string): string;
  /** Resolves once every pending IMDS listener open/close has finished. */
  settled(): Promise<void>;
  /**
   * Instances launched after event `sinceSeq` (default: all) whose IMDS listener could not be opened;
   * their `imdsUrl` would reach whoever holds the address. Call after {@link settled}.
   */
  imdsFailures(sinceSeq?: number): ImdsListenerFailure[];
  /** Stops the tick and closes every listener. Idempotent. */
  close(): Promise<void>;
}

const LOOPBACK =
  /^127\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses `127.x.y.z:port`, refusing anything that is not an IPv4 loopback address. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(listen.trim());
  if (!m)
    throw new ConfigError([
      `listen: expected host:port such as 127.0.0.1:8080, got ${JSON.stringify(listen)}`,
    ]);
  const host = m[1] as string;
  const port = Number(m[2]);
  if (!LOOPBACK.test(host)) {
    throw new ConfigError([
      `listen: ${host} is not a loopback address; the emulator binds only 127.0.0.0/8 (e.g. 127.0.0.1:8080)`,
    ]);
  }
  if (port > 65_535) throw new ConfigError([`listen: port ${port} is out of range`]);
  return { host, port };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An instance whose metadata service could not be opened. */
export interface ImdsListenerFailure {
  instanceId: string;
  ip: string;
  port: number;
  /** Seq of the instance's `launched` event. */
  launchSeq: number;
  /** e.g. `address in use`. */
  why: string;
  error: unknown;
}

function bindProblem(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'EADDRINUSE') return 'address in use';
  if (code === 'EADDRNOTAVAIL') return 'address not available';
  if (code === 'EACCES') return 'permission denied';
  return describeError(err);
}

/**
 * What a user reads when instance metadata cannot be served: never a silent fallback, because an agent
 * asking that address would get another emulator's instance (campaign E9).
 */
export function imdsFailureMessage(failures: readonly ImdsListenerFailure[], ipPrefix: string): string {
  const f = failures[0];
  if (f === undefined) return 'instance metadata listeners failed';
  const more =
    failures.length > 1
      ? ` (and ${failures.length - 1} more instance${failures.length === 2 ? '' : 's'})`
      : '';
  const hint =
    f.why === 'address in use'
      ? `: another emulator may use --ip-prefix ${ipPrefix} / --imds-port ${f.port}; pick others`
      : '';
  return `cannot serve instance metadata on ${f.ip}:${f.port} (${f.why})${more}${hint}`;
}

/** Opens and closes the per-instance IMDS listeners, serialised per address (a reused IP waits for the old listener to close). */
class ImdsListeners {
  private readonly servers = new Map<string, { ip: string; server: Server }>();
  private readonly failures: ImdsListenerFailure[] = [];
  /** Set once the emulator has started: failures before that are thrown by startEmulator, not logged. */
  started = false;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;
  private readonly state: CloudState;
  private readonly port: number;
  private readonly logger: Logger | undefined;

  constructor(state: CloudState, port: number, logger: Logger | undefined) {
    this.state = state;
    this.port = port;
    this.logger = logger;
  }

  private enqueue(ip: string, op: () => Promise<void>): void {
    const prev = this.chains.get(ip) ?? Promise.resolve();
    const next = prev.then(op).catch((err: unknown) => {
      this.state.appendEvent('imds-listener', { detail: { ip, port: this.port, error: describeError(err) } });
      this.logger?.warn({ ip, port: this.port, err: describeError(err) }, 'emulator: IMDS listener failed');
    });
    this.chains.set(ip, next);
    this.pending.add(next);
    void next.finally(() => {
      this.pending.delete(next);
      if (this.chains.get(ip) === next) this.chains.delete(ip);
    });
  }

  open(instanceId: string, ip: string, launchSeq: number): void {
    this.enqueue(ip, async () => {
      const inst = this.state.getInstance(instanceId);
      if (this.closed || !inst || inst.state === 'terminated' || this.servers.has(instanceId)) return;
      const app = createImdsApp(this.state, instanceId);
      const server = createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server;
      try {
        await listen(server, this.port, ip);
      } catch (error) {
        const failure = { instanceId, ip, port: this.port, launchSeq, why: bindProblem(error), error };
        this.failures.push(failure);
        const message = imdsFailureMessage([failure], this.state.ipPrefix);
        this.state.appendEvent('imds-listener', {
          instanceId,
          detail: { ip, port: this.port, error: describeError(error), message },
        });
        if (this.started)
          this.logger?.error(
            { instanceId, ip, port: this.port, err: describeError(error) },
            `emulator: ${message}`,
          );
        return;
      }
      if (this.closed || this.state.getInstance(instanceId)?.state === 'terminated') {
        await closeServer(server);
        return;
      }
      this.servers.set(instanceId, { ip, server });
    });
  }

  close(instanceId: string, ip: string): void {
    this.enqueue(ip, async () => {
      const entry = this.servers.get(instanceId);
      if (!entry) return;
      this.servers.delete(instanceId);
      await closeServer(entry.server);
    });
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Listeners that could not be opened for instances launched after event `seq`. */
  failuresAfter(seq: number): ImdsListenerFailure[] {
    return this.failures.filter((f) => f.launchSeq > seq);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    await this.settled();
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((e) => closeServer(e.server)));
  }
}

/** Starts the emulator. Throws ConfigError for a non-loopback address or IP prefix. */
export async function startEmulator(opts: StartEmulatorOptions): Promise<RunningEmulator> {
  const { host, port } = parseListen(opts.listen ?? '127.0.0.1:0');
  const instanceImds = opts.instanceImds ?? true;
  const imdsPort = opts.imdsPort ?? 1338;
  if (!Number.isInteger(imdsPort) || imdsPort < 1 || imdsPort > 65_535)
    throw new ConfigError([`imdsPort: expected 1-65535, got ${imdsPort}`]);
  const ipPrefix = opts.ipPrefix ?? '127.0.100';
  if (instanceImds && !ipPrefix.startsWith('127.')) {
    throw new ConfigError([
      `ipPrefix: ${ipPrefix} is not in 127.0.0.0/8; per-instance IMDS listeners bind only loopback addresses`,
    ]);
  }
  const state = new CloudState({
    clock: opts.clock ?? systemClock,
    token: opts.token,
    ipPrefix,
    ...(opts.account !== undefined ? { account: opts.account } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.awsAccessKeyIds !== undefined ? { awsAccessKeyIds: opts.awsAccessKeyIds } : {}),
  });

  const listeners = instanceImds ? new ImdsListeners(state, imdsPort, opts.logger) : undefined;
  const unsubscribe = state.subscribe((e) => {
    if (!listeners || e.instanceId === undefined) return;
    const ip = e.detail.privateIp;
    if (typeof ip !== 'string') return;
    if (e.type === 'launched') listeners.open(e.instanceId, ip, e.seq);
    else if (e.type === 'terminated') listeners.close(e.instanceId, ip);
  });

  const app = createEmulatorApp(state, {
    afterMutation: async (sinceSeq) => {
      if (!listeners) return undefined;
      await listeners.settled();
      const failed = listeners.failuresAfter(sinceSeq);
      return failed.length > 0 ? imdsFailureMessage(failed, ipPrefix) : undefined;
    },
  });
  const main = createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server;
  try {
    await listen(main, port, host);
  } catch (err) {
    unsubscribe();
    throw new ConfigError([`listen: cannot bind ${host}:${port}: ${describeError(err)}`], err);
  }
  const bound = main.address() as AddressInfo;
  const url = `http://${host}:${bound.port}`;

  const tick = setInterval(() => {
    try {
      state.advance();
    } catch (err) {
      opts.logger?.error({ err: describeError(err) }, 'emulator: advance failed');
    }
  }, opts.tickMs ?? 50);
  tick.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(tick);
      unsubscribe();
      await Promise.all([closeServer(main), listeners?.closeAll()]);
    })();
    return closing;
  };

  try {
    for (const g of opts.groups ?? []) state.createGroup(g);
    await listeners?.settled();
    // An instance whose metadata address is served by someone else must not start (E9).
    const failed = listeners?.failuresAfter(0) ?? [];
    if (failed.length > 0)
      throw new EmulatorError(imdsFailureMessage(failed, ipPrefix), 409, failed[0]?.error);
    if (listeners) listeners.started = true;
  } catch (err) {
    await close();
    throw err;
  }

  return {
    url,
    state,
    imdsPort: listeners ? imdsPort : undefined,
    imdsUrl: (instanceId) => {
      const inst = state.getInstance(instanceId);
      if (listeners && inst) return `http://${inst.privateIp}:${imdsPort}`;
      return `${url}/emulator/instances/${instanceId}/imds`;
    },
    settled: async () => listeners?.settled(),
    imdsFailures: (sinceSeq = 0) => listeners?.failuresAfter(sinceSeq) ?? [],
    close,
  };
}

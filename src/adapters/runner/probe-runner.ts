/**
 * A read-only {@link EtcdRunner} for commands that observe without owning etcd (`etcd-spot plan` in
 * supervise mode, where the agent process is etcd's parent): "running" means the local client URL
 * answers HTTP at all. It cannot start or stop anything.
 */
import { EtcdError } from '../../core/errors.ts';
import { requestText } from '../local/https-get.ts';
import type { ClientTls } from '../local/https-get.ts';
import type { EtcdExit, EtcdRunner } from '../../ports/etcd-runner.ts';

export class ProbeEtcdRunner implements EtcdRunner {
  private readonly clientUrl: () => string | undefined;
  private readonly timeoutMs: number;
  private running = false;
  private readonly tls: (() => ClientTls) | undefined;

  constructor(opts: { clientUrl: () => string | undefined; timeoutMs?: number; tls?: () => ClientTls }) {
    this.clientUrl = opts.clientUrl;
    this.tls = opts.tls;
    this.timeoutMs = opts.timeoutMs ?? 1000;
  }

  async refresh(signal?: AbortSignal): Promise<void> {
    const url = this.clientUrl();
    if (url === undefined) {
      this.running = false;
      return;
    }
    const deadline = AbortSignal.timeout(this.timeoutMs);
    try {
      const tls = this.tls?.();
      await requestText(`${url.replace(/\/+$/, '')}/version`, {
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        ...(tls !== undefined ? { tls } : {}),
      });
      this.running = true;
    } catch {
      this.running = false;
    }
  }

  isRunning(): boolean {
    return this.running;
  }

  lastExit(): EtcdExit | undefined {
    return undefined;
  }

  async start(): Promise<void> {
    throw new EtcdError('this runner only observes; it cannot start etcd', {
      code: 'ETCD_READ_ONLY',
      retryable: false,
    });
  }

  async stop(): Promise<void> {
    throw new EtcdError('this runner only observes; it cannot stop etcd', {
      code: 'ETCD_READ_ONLY',
      retryable: false,
    });
  }
}

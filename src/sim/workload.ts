/**
 * The write workload: N concurrent writers, each sequential, putting `w<writer>/<seq>` through one
 * etcd3 client that holds ALL running members' client URLs (etcd-physics §8: short per-request
 * deadlines and concurrency, so a failover is measured, not etcd's 7 s server timeout). Every
 * acknowledged put and every failure is recorded; {@link Workload.check} reads everything back at the
 * end and runs the pure checker.
 */
import { Etcd3 } from 'etcd3';
import { classifyEtcdFailure } from '../adapters/etcd/etcd-errors.ts';
import { systemClock } from '../adapters/local/system-clock.ts';
import type { Clock } from '../ports/clock.ts';
import { checkWrites, longestGap } from './checker.ts';
import type { AckedWrite, FailedWrite, WriteCheck } from './checker.ts';

export interface WorkloadOptions {
  /** Concurrent sequential writers (default 4). */
  writers?: number;
  /** Pause after each put, per writer (default 10 ms; ignored when `writesPerSecond` is set). */
  pauseMs?: number;
  /**
   * Total puts per second over all writers (each writer paces itself to its share). 0 = as fast as
   * possible (no pause at all); undefined = `pauseMs` after each put.
   */
  writesPerSecond?: number;
  /** Bytes per value: the key's tag padded to this length (default 0 = just the tag). */
  valueSize?: number;
  /** Deadline of each put attempt (default 1000 ms). */
  callDeadlineMs?: number;
  /** Makes values unique to this run (default: the start time). */
  runId?: string;
  clock?: Clock;
  /** Width of one availability bucket (default 100 ms). */
  bucketMs?: number;
  /** Client certificate, key and CA for https:// endpoints. */
  tls?: { cert: Buffer; key: Buffer; ca: Buffer };
}

/** One bucket of the availability timeline: puts that completed in [t, t + bucketMs). */
export interface AvailabilityBucket {
  t: number;
  ok: number;
  failed: number;
}

export interface WorkloadStats {
  running: boolean;
  endpoints: string[];
  acknowledged: number;
  failed: number;
  lastOkAt: number | undefined;
  /** Longest interval between consecutive successes so far. */
  longestGapMs: number;
  /** Time since the last success (0 while writes succeed). */
  currentGapMs: number;
}

export interface WorkloadResult {
  check: WriteCheck;
  timeline: AvailabilityBucket[];
  /** Keys read back (every `w*` key in the cluster). */
  readBackKeys: number;
  /** Set when the final read-back failed: then every acknowledged write counts as unverified, not lost. */
  readBackError?: string;
}

/** How long a replaced client stays open for the puts still in flight on it. */
const RETIRE_AFTER_MS = 5000;

/** The tag padded to `size` bytes with a filler that depends on the tag (so a swapped value shows). */
export function padValue(tag: string, size: number): string {
  if (tag.length >= size) return tag;
  const fill = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let h = 0;
  for (let i = 0; i < tag.length; i++) h = (h * 31 + tag.charCodeAt(i)) >>> 0;
  let out = `${tag}:`;
  while (out.length < size) out += fill[(h + out.length) % fill.length];
  return out.slice(0, size);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class Workload {
  readonly acked: AckedWrite[] = [];
  readonly failures: FailedWrite[] = [];
  private readonly writers: number;
  private readonly pauseMs: number;
  /** Per writer, ms between put starts (0 = none). */
  private readonly intervalMs: number;
  private readonly valueSize: number;
  private readonly callDeadlineMs: number;
  private readonly runId: string;
  private readonly clock: Clock;
  private readonly bucketMs: number;
  private readonly buckets = new Map<number, AvailabilityBucket>();
  private endpoints: string[] = [];
  private client: Etcd3 | undefined;
  private readonly retiring = new Set<Etcd3>();
  private readonly tls: WorkloadOptions['tls'];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private stopController = new AbortController();
  private loops: Promise<void>[] = [];
  private lastOkAt: number | undefined;
  private maxGapMs = 0;
  private startedAt: number | undefined;

  constructor(options: WorkloadOptions = {}) {
    this.writers = options.writers ?? 4;
    const rate = options.writesPerSecond;
    this.pauseMs = rate === undefined ? (options.pauseMs ?? 10) : 0;
    this.intervalMs = rate !== undefined && rate > 0 ? (this.writers * 1000) / rate : 0;
    this.valueSize = options.valueSize ?? 0;
    this.callDeadlineMs = options.callDeadlineMs ?? 1000;
    this.clock = options.clock ?? systemClock;
    this.runId = options.runId ?? String(this.clock.now());
    this.bucketMs = options.bucketMs ?? 100;
    this.tls = options.tls;
  }

  /** Replaces the client when the set of URLs changed; puts in flight finish on the old one. */
  setEndpoints(urls: readonly string[]): void {
    const next = [...new Set(urls)].sort();
    if (sameSet(next, this.endpoints)) return;
    this.endpoints = next;
    const old = this.client;
    this.client = next.length > 0 ? this.newClient(next) : undefined;
    if (old) this.retire(old);
  }

  /** Starts the writers (no-op when running). */
  start(): void {
    if (this.loops.length > 0) return;
    this.stopController = new AbortController();
    this.startedAt = this.clock.now();
    for (let w = 0; w < this.writers; w++) this.loops.push(this.writerLoop(w, this.stopController.signal));
  }

  /** Stops the writers and waits for the puts in flight (each ends by its deadline). */
  async stop(): Promise<void> {
    this.stopController.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  stats(): WorkloadStats {
    const now = this.clock.now();
    const running = this.loops.length > 0 && !this.stopController.signal.aborted;
    const since = this.lastOkAt ?? this.startedAt;
    return {
      running,
      endpoints: [...this.endpoints],
      acknowledged: this.acked.length,
      failed: this.failures.length,
      lastOkAt: this.lastOkAt,
      longestGapMs: this.maxGapMs,
      currentGapMs: running && since !== undefined ? Math.max(0, now - since) : 0,
    };
  }

  /** Ok/failed completions per bucket, from the first to the last bucket that saw any (gaps filled with zeros). */
  timeline(): AvailabilityBucket[] {
    if (this.buckets.size === 0) return [];
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    const first = keys[0] as number;
    const last = keys[keys.length - 1] as number;
    const out: AvailabilityBucket[] = [];
    for (let t = first; t <= last; t += this.bucketMs)
      out.push(this.buckets.get(t) ?? { t, ok: 0, failed: 0 });
    return out;
  }

  /**
   * Stops the writers, reads every `w` key back through a linearizable range read (retrying up to
   * `readTimeoutMs` while the cluster settles), and checks the acknowledged writes against it.
   */
  async check(readTimeoutMs = 30_000): Promise<WorkloadResult> {
    await this.stop();
    let readBack: Map<string, string> | undefined;
    let readBackError: string | undefined;
    const deadline = this.clock.now() + readTimeoutMs;
    while (readBack === undefined) {
      try {
        readBack = await this.readAll();
      } catch (err) {
        readBackError = `${classifyEtcdFailure(err).code}: ${err instanceof Error ? err.message : String(err)}`;
        if (this.clock.now() >= deadline) break;
        await this.clock.sleep(500);
      }
    }
    if (readBack === undefined) {
      // Without a read-back nothing can be called lost; the report says so instead.
      const check = checkWrites([], new Map(), this.failures);
      return {
        check: { ...check, acknowledged: this.acked.length, longestGapMs: this.gapOfAcked(), ok: false },
        timeline: this.timeline(),
        readBackKeys: 0,
        readBackError: readBackError ?? 'read-back failed',
      };
    }
    return {
      check: checkWrites(this.acked, readBack, this.failures),
      timeline: this.timeline(),
      readBackKeys: readBack.size,
    };
  }

  /** Closes every client (call after check/stop). */
  async close(): Promise<void> {
    await this.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.client?.close();
    this.client = undefined;
    for (const c of this.retiring) c.close();
    this.retiring.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private gapOfAcked(): number {
    return longestGap(this.acked.map((w) => w.at))?.ms ?? 0;
  }

  private newClient(hosts: string[]): Etcd3 {
    const deadlineMs = this.callDeadlineMs;
    const tls = this.tls;
    return new Etcd3({
      hosts,
      defaultCallOptions: () => ({ deadline: Date.now() + deadlineMs }),
      ...(tls !== undefined
        ? { credentials: { rootCertificate: tls.ca, privateKey: tls.key, certChain: tls.cert } }
        : {}),
    });
  }

  private retire(client: Etcd3): void {
    this.retiring.add(client);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.retiring.delete(client);
      client.close();
    }, RETIRE_AFTER_MS);
    t.unref();
    this.timers.add(t);
  }

  private record(at: number, ok: boolean): void {
    const t = Math.floor(at / this.bucketMs) * this.bucketMs;
    const b = this.buckets.get(t) ?? { t, ok: 0, failed: 0 };
    if (ok) b.ok++;
    else b.failed++;
    this.buckets.set(t, b);
    if (ok) {
      if (this.lastOkAt !== undefined && at - this.lastOkAt > this.maxGapMs)
        this.maxGapMs = at - this.lastOkAt;
      if (this.lastOkAt === undefined || at > this.lastOkAt) this.lastOkAt = at;
    }
  }

  private async writerLoop(writer: number, signal: AbortSignal): Promise<void> {
    let seq = 0;
    // Paced writers start spread over one interval and keep to a fixed schedule (no catch-up bursts).
    let nextAt = this.clock.now() + (this.intervalMs * writer) / this.writers;
    while (!signal.aborted) {
      if (this.intervalMs > 0) {
        const wait = nextAt - this.clock.now();
        if (wait > 0) await this.pause(wait, signal);
        if (signal.aborted) break;
        nextAt = Math.max(nextAt + this.intervalMs, this.clock.now());
      }
      const client = this.client;
      if (client === undefined) {
        await this.pause(100, signal);
        continue;
      }
      seq++;
      const key = `w${writer}/${seq}`;
      const value = padValue(`${this.runId}-${writer}-${seq}`, this.valueSize);
      const startedAt = this.clock.now();
      try {
        const res = await client.put(key).value(value).exec();
        const at = this.clock.now();
        this.acked.push({ writer, seq, key, value, revision: Number(res.header.revision), startedAt, at });
        this.record(at, true);
      } catch (err) {
        const at = this.clock.now();
        this.failures.push({ writer, seq, key, startedAt, at, code: classifyEtcdFailure(err).code });
        this.record(at, false);
        // A failing cluster is not hammered: back off a little before the next attempt.
        await this.pause(Math.max(this.pauseMs, 50), signal);
        continue;
      }
      await this.pause(this.pauseMs, signal);
    }
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    await this.clock.sleep(ms, signal).catch(() => undefined);
  }

  /** Every `w…` key, paginated so no single reply grows past gRPC's message limit. */
  private async readAll(): Promise<Map<string, string>> {
    if (this.endpoints.length === 0) throw new Error('no endpoints to read back from');
    // A fresh client: the writers' one may hold hosts its circuit breaker has just blocked.
    const client = this.newClient(this.endpoints);
    try {
      return await this.readAllWith(client);
    } finally {
      client.close();
    }
  }

  private async readAllWith(client: Etcd3): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const end = Buffer.from('x'); // 'w' + 1: the prefix range end of 'w'
    let start = Buffer.from('w');
    const page = 5000;
    for (;;) {
      const res = await client.kv.range(
        { key: start, range_end: end, limit: page, serializable: false },
        { deadline: Date.now() + 10_000 },
      );
      for (const kv of res.kvs) out.set(kv.key.toString(), kv.value.toString());
      if (!res.more || res.kvs.length === 0) break;
      const lastKey = (res.kvs[res.kvs.length - 1] as { key: Buffer }).key;
      start = Buffer.concat([lastKey, Buffer.from([0])]);
    }
    return out;
  }
}

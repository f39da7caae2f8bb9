/**
 * The write workload: N concurrent writers, each sequential, putting `w<writer>/<seq>` through one
 * etcd3 client that holds the started voters' client URLs (etcd-physics §8: short per-request
 * deadlines and concurrency, so a failover is measured, not etcd's 7 s server timeout). A call is
 * retried only when it was never sent ({@link neverSent}). Every
 * acknowledged put and every failure is recorded; {@link Workload.check} reads everything back at the
 * end and runs the pure checker.
 *
 * Beside the writers, "register clients" do get / put / compare-and-swap (an etcd txn) on a few shared
 * keys `l/<n>`. Every operation of both kinds, and the final read-back, goes into {@link Workload.history}
 * with start and end times from a monotonic clock, for the linearizability checker.
 *
 * Values are never kept in memory: a value is its tag padded to `valueSize` ({@link padValue}), so
 * what is recorded and compared is the tag, and the read-back checks the padding as it pages.
 */
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { classifyEtcdFailure } from '../adapters/etcd/etcd-errors.ts';
import { systemClock } from '../adapters/local/system-clock.ts';
import type { Clock } from '../ports/clock.ts';
import { checkWrites, longestGap } from './checker.ts';
import type { AckedWrite, FailedWrite, WriteCheck } from './checker.ts';
import { checkLinearizable } from './linearizability.ts';
import type { KvOperation, LinearizabilityResult } from './linearizability.ts';
import { Prng } from '../emulator/prng.ts';

/**
 * Whether a failed call surely never reached etcd (no connection could be made), so sending it again
 * cannot apply it twice. The same rule as etcd's Go client (clientv3 `isSafeRetryMutableRPC`: a
 * mutation is retried only when no connection was available); any other error leaves the write
 * "maybe applied", and it is recorded as failed instead of retried.
 */
export function neverSent(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /No connection established|there is no (address|connection) available|connect ECONNREFUSED/i.test(
    msg,
  );
}

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
  /** Register clients (get / put / compare-and-swap on shared keys) for the linearizability check (default 0). */
  registerClients?: number;
  /** Keys the register clients share (default 8). */
  registerKeys?: number;
  /** Their total operations per second (default 40; 0 = as fast as possible). */
  registerOpsPerSecond?: number;
  /** Seeds the register clients' choices (default 1). */
  seed?: number;
  /** Monotonic time in ms for the history (default performance.now). */
  monotonicNow?: () => number;
  /** Step budget per key of the linearizability search (default the checker's). */
  stepBudgetPerKey?: number;
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
  /** The whole history (writers, register clients, final read-back) checked for linearizability. */
  linearizability: LinearizabilityResult;
  /** Operations of the register clients (the writers' puts are `check.acknowledged` + `check.failed`). */
  registerOps: number;
  /** The history that was checked (with the final reads), for a file when the check did not pass. */
  history: readonly KvOperation[];
}

/** The tag a stored value carries, or `corrupt:<tag>` when its padding is not the tag's. */
export function tagOfValue(value: string, size: number): string {
  const colon = value.indexOf(':');
  const tag = colon < 0 ? value : value.slice(0, colon);
  return padValue(tag, size) === value ? tag : `corrupt:${tag}`;
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
  /** Acknowledged puts; `value` is the tag (the stored value is the tag padded to `valueSize`). */
  readonly acked: AckedWrite[] = [];
  readonly failures: FailedWrite[] = [];
  /** Every client operation with monotonic start/end times (see the module comment). */
  readonly history: KvOperation[] = [];
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
  private readonly registerClients: number;
  private readonly registerKeys: number;
  private readonly registerIntervalMs: number;
  private readonly rng: Prng;
  private readonly mono: () => number;
  private readonly stepBudgetPerKey: number | undefined;
  private opId = 0;

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
    this.registerClients = options.registerClients ?? 0;
    this.registerKeys = options.registerKeys ?? 8;
    const regRate = options.registerOpsPerSecond ?? 40;
    this.registerIntervalMs = regRate > 0 ? (this.registerClients * 1000) / regRate : 0;
    this.rng = new Prng(options.seed ?? 1);
    this.mono = options.monotonicNow ?? (() => performance.now());
    this.stepBudgetPerKey = options.stepBudgetPerKey;
  }

  /** When the writers' client was replaced (monotonic ms, as the history) and with which URLs. */
  readonly endpointChanges: { at: number; endpoints: string[] }[] = [];

  /** Replaces the client when the set of URLs changed; puts in flight finish on the old one. */
  setEndpoints(urls: readonly string[]): void {
    const next = [...new Set(urls)].sort();
    if (sameSet(next, this.endpoints)) return;
    this.endpoints = next;
    this.endpointChanges.push({ at: this.mono(), endpoints: next });
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
    for (let c = 0; c < this.registerClients; c++)
      this.loops.push(
        this.registerLoop(this.writers + c, new Prng(this.rng.int(2 ** 31)), this.stopController.signal),
      );
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
    let readStart = 0;
    const deadline = this.clock.now() + readTimeoutMs;
    while (readBack === undefined) {
      try {
        readStart = this.mono();
        readBack = await this.readAll();
      } catch (err) {
        readBackError = `${classifyEtcdFailure(err).code}: ${err instanceof Error ? err.message : String(err)}`;
        if (this.clock.now() >= deadline) break;
        await this.clock.sleep(500);
      }
    }
    const registerOps = this.history.length - this.acked.length - this.failures.length;
    if (readBack === undefined) {
      // Without a read-back nothing can be called lost; the report says so instead.
      const check = checkWrites([], new Map(), this.failures);
      return {
        check: { ...check, acknowledged: this.acked.length, longestGapMs: this.gapOfAcked(), ok: false },
        timeline: this.timeline(),
        readBackKeys: 0,
        readBackError: readBackError ?? 'read-back failed',
        linearizability: this.checkHistory(this.history),
        registerOps,
        history: this.history,
      };
    }
    // The read-back is one read per key, somewhere in [readStart, readEnd]; a key never seen is absent.
    const readEnd = this.mono();
    const finalReads: KvOperation[] = [];
    const keys = new Set(this.history.map((o) => o.key));
    for (const key of keys)
      finalReads.push({
        id: ++this.opId,
        client: -1,
        key,
        kind: 'get',
        start: readStart,
        end: readEnd,
        status: 'ok',
        read: readBack.get(key) ?? null,
      });
    const history = [...this.history, ...finalReads];
    return {
      check: checkWrites(this.acked, readBack, this.failures),
      timeline: this.timeline(),
      readBackKeys: readBack.size,
      linearizability: this.checkHistory(history),
      registerOps,
      history,
    };
  }

  private checkHistory(history: readonly KvOperation[]): LinearizabilityResult {
    return checkLinearizable(history, {
      ...(this.stepBudgetPerKey !== undefined ? { stepBudgetPerKey: this.stepBudgetPerKey } : {}),
    });
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
      // etcd3's default retries a put after a deadline or an Unknown error too, when it may already be
      // applied: the soak's checker caught a put applied twice around another client's write.
      faultHandling: {
        global: retry(handleWhen(neverSent), {
          maxAttempts: 2,
          backoff: new ExponentialBackoff({ initialDelay: 10, maxDelay: 100 }),
        }),
      },
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
      const tag = `${this.runId}-${writer}-${seq}`;
      const startedAt = this.clock.now();
      const start = this.mono();
      const op: KvOperation = {
        id: ++this.opId,
        client: writer,
        key,
        kind: 'put',
        value: tag,
        start,
        end: start,
        status: 'failed',
      };
      this.history.push(op);
      try {
        const res = await client.put(key).value(padValue(tag, this.valueSize)).exec();
        const at = this.clock.now();
        op.end = this.mono();
        op.status = 'ok';
        op.revision = Number(res.header.revision);
        this.acked.push({ writer, seq, key, value: tag, revision: op.revision, startedAt, at });
        this.record(at, true);
      } catch (err) {
        const at = this.clock.now();
        op.end = this.mono();
        this.failures.push({ writer, seq, key, startedAt, at, code: classifyEtcdFailure(err).code });
        this.record(at, false);
        // A failing cluster is not hammered: back off a little before the next attempt.
        await this.pause(Math.max(this.pauseMs, 50), signal);
        continue;
      }
      await this.pause(this.pauseMs, signal);
    }
  }

  /**
   * One register client: a sequential process doing get (40 %), put (30 %) or compare-and-swap from the
   * value it last read (30 %) on a random shared key. Failures back off like the writers'.
   */
  private async registerLoop(client: number, rng: Prng, signal: AbortSignal): Promise<void> {
    let seq = 0;
    const lastRead = new Map<string, string | null>();
    let nextAt = this.clock.now() + rng.int(Math.max(1, Math.floor(this.registerIntervalMs)));
    while (!signal.aborted) {
      if (this.registerIntervalMs > 0) {
        const wait = nextAt - this.clock.now();
        if (wait > 0) await this.pause(wait, signal);
        if (signal.aborted) break;
        nextAt = Math.max(nextAt + this.registerIntervalMs, this.clock.now());
      }
      const etcd = this.client;
      if (etcd === undefined) {
        await this.pause(100, signal);
        continue;
      }
      seq++;
      const key = `l/${rng.int(this.registerKeys)}`;
      const roll = rng.int(10);
      const value = `${this.runId}-c${client}-${seq}`;
      const start = this.mono();
      const op: KvOperation =
        roll < 4
          ? { id: ++this.opId, client, key, kind: 'get', start, end: start, status: 'failed' }
          : roll < 7
            ? { id: ++this.opId, client, key, kind: 'put', value, start, end: start, status: 'failed' }
            : {
                id: ++this.opId,
                client,
                key,
                kind: 'cas',
                value,
                expected: lastRead.get(key) ?? null,
                start,
                end: start,
                status: 'failed',
              };
      this.history.push(op);
      try {
        if (op.kind === 'get') {
          const res = await etcd.kv.range({ key: Buffer.from(key), serializable: false });
          const kv = res.kvs[0];
          op.read = kv === undefined ? null : tagOfValue(kv.value.toString(), 0);
          op.revision = kv === undefined ? 0 : Number(kv.mod_revision);
          lastRead.set(key, op.read);
        } else if (op.kind === 'put') {
          const res = await etcd.put(key).value(value).exec();
          op.revision = Number(res.header.revision);
        } else {
          const expected = op.expected ?? null;
          const cond =
            expected === null ? etcd.if(key, 'Version', '==', 0) : etcd.if(key, 'Value', '==', expected);
          // The else branch reads what was there instead: a failed compare is an observation too.
          const res = await cond.then(etcd.put(key).value(value)).else(etcd.get(key)).commit();
          op.succeeded = res.succeeded;
          op.revision = Number(res.header.revision);
          if (res.succeeded) lastRead.set(key, value);
          else {
            const kv = res.responses[0]?.response_range?.kvs[0];
            const found = kv === undefined ? null : tagOfValue(kv.value.toString(), 0);
            // etcd3 retries a call that timed out: when an earlier attempt was applied, the retry's
            // compare fails on this op's own (unique) value. The op did happen, with its compare held.
            if (found === value) op.succeeded = true;
            else op.read = found;
            lastRead.set(key, found);
          }
        }
        op.end = this.mono();
        op.status = 'ok';
      } catch {
        op.end = this.mono();
        await this.pause(50, signal);
      }
    }
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    await this.clock.sleep(ms, signal).catch(() => undefined);
  }

  /** Every `w…` and `l/…` key (their tags), paginated so no single reply grows past gRPC's message limit. */
  private async readAll(): Promise<Map<string, string>> {
    if (this.endpoints.length === 0) throw new Error('no endpoints to read back from');
    // A fresh client: the writers' one may hold hosts its circuit breaker has just blocked.
    const client = this.newClient(this.endpoints);
    try {
      const out = new Map<string, string>();
      await readRange(client, 'w', 'x', this.valueSize, out);
      await readRange(client, 'l/', 'l0', 0, out);
      return out;
    } finally {
      client.close();
    }
  }
}

/** Keys per page for values of `valueSize` bytes: a reply stays near 1 MiB, well under gRPC's 4 MiB. */
export function pageSize(valueSize: number): number {
  return Math.max(1, Math.min(5000, Math.floor(1_048_576 / (valueSize + 64))));
}

/**
 * Reads [start, end) page by page (linearizable) into `out` as key → tag ({@link tagOfValue}). Every
 * page is its own range request: one reply never holds more than {@link pageSize} values.
 */
export async function readRange(
  client: Etcd3,
  start: string,
  end: string,
  valueSize: number,
  out: Map<string, string>,
): Promise<void> {
  const rangeEnd = Buffer.from(end);
  let from = Buffer.from(start);
  const limit = pageSize(valueSize);
  for (;;) {
    const res = await client.kv.range(
      { key: from, range_end: rangeEnd, limit, serializable: false },
      { deadline: Date.now() + 10_000 },
    );
    for (const kv of res.kvs) out.set(kv.key.toString(), tagOfValue(kv.value.toString(), valueSize));
    if (!res.more || res.kvs.length === 0) break;
    const lastKey = (res.kvs[res.kvs.length - 1] as { key: Buffer }).key;
    from = Buffer.concat([lastKey, Buffer.from([0])]);
  }
}

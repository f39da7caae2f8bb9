/**
 * Network faults between instances: a TCP proxy per instance in front of etcd's peer port, owned by
 * the simulator, and the fault model every proxy consults (partition, latency with jitter, dropped
 * connections). Only peer traffic goes through it: clients, the agents' calls to the cloud and to
 * etcd's client port are untouched (a partition inside the VPC, not a cloud outage).
 *
 * How the proxy gets into the path without the agent knowing: the agent makes etcd listen on and
 * advertise `http://<ip>:2380`. The fleet gives every agent an etcd "binary" that is a shim
 * ({@link writePeerShim}): it rewrites `--listen-peer-urls` to port {@link REAL_PEER_PORT} and execs
 * the real etcd. The member list still says `<ip>:2380`, which is where the proxy listens, so every
 * peer connection to a member passes its proxy (etcd's robustness suite does the same with
 * `--listen-peer-urls` on the real port and `--initial-advertise-peer-urls` on the proxy).
 *
 * Who is on the other end: etcd dials from 127.0.0.1, so the proxy reads the first request of each
 * connection: etcd's raft transport names the sender in `X-PeerURLs` (and `X-Server-From`). Bytes
 * from the dialer are traffic sender → this instance, bytes back are this instance → sender, so a
 * one-way partition blocks one direction of the same connection. A blocked direction is a blackhole
 * (bytes are swallowed, the connection stays open), as in etcd's proxy; a connection that lost bytes
 * is closed at heal so etcd redials with clean framing. A connection with no sender header (etcd's
 * version probe, lease forwarding) is blocked only when this instance is cut off from everyone.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Prng } from '../emulator/prng.ts';

/** The port etcd's peer listener really binds (the proxy holds the advertised 2380). */
export const REAL_PEER_PORT = 12380;
export const ADVERTISED_PEER_PORT = 2380;

/**
 * Writes the etcd shim into `dir` and returns its path: a POSIX sh script that moves
 * `--listen-peer-urls=http://<ip>:2380` to port {@link REAL_PEER_PORT} and execs `etcdBinary`.
 */
export function writePeerShim(dir: string, etcdBinary = 'etcd'): string {
  const path = join(dir, 'etcd-peer-shim.sh');
  writeFileSync(
    path,
    `#!/bin/sh
# etcd-spot sim: etcd's peer listener moves to :${REAL_PEER_PORT}; the simulator's proxy holds :${ADVERTISED_PEER_PORT}.
for a do
  shift
  case "$a" in
    --listen-peer-urls=*:${ADVERTISED_PEER_PORT}) a="\${a%:${ADVERTISED_PEER_PORT}}:${REAL_PEER_PORT}" ;;
  esac
  set -- "$@" "$a"
done
exec ${etcdBinary} "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** A partition's direction, seen from the cut-off set: `both`, `in` (the rest → set lost), `out` (set → rest lost). */
export type PartitionDirection = 'both' | 'in' | 'out';

/** What changed: a fault, a drop (existing connections are drawn from), or a heal. */
export type NetworkChange = 'fault' | 'drop' | 'heal';

interface Partition {
  set: ReadonlySet<string>;
  direction: PartitionDirection;
}

interface Latency {
  instances: ReadonlySet<string>;
  delayMs: number;
  jitterMs: number;
}

interface Drop {
  instances: ReadonlySet<string>;
  fraction: number;
}

/** The network's faults right now; every proxy asks it per connection and per chunk. */
export class NetworkFaults {
  private partitions: Partition[] = [];
  private latencies: Latency[] = [];
  private drops: Drop[] = [];
  private readonly rng: Prng;
  private readonly listeners = new Set<(change: NetworkChange) => void>();
  /** Every instance the network knows of (for "cut off from everyone"). */
  private readonly known: () => readonly string[];

  constructor(opts: { seed: number; instances: () => readonly string[] }) {
    this.rng = new Prng(opts.seed);
    this.known = opts.instances;
  }

  /** Cuts `set` off from every other instance, in one or both directions. */
  partition(set: readonly string[], direction: PartitionDirection = 'both'): void {
    this.partitions.push({ set: new Set(set), direction });
    this.changed('fault');
  }

  /** Delays every chunk to and from `instances` by `delayMs` ± `jitterMs` (order kept). */
  latency(instances: readonly string[], delayMs: number, jitterMs = 0): void {
    this.latencies.push({ instances: new Set(instances), delayMs, jitterMs });
    this.changed('fault');
  }

  /** Resets this fraction of the connections to and from `instances`, now and for every new one. */
  drop(instances: readonly string[], fraction: number): void {
    this.drops.push({ instances: new Set(instances), fraction });
    this.changed('drop');
  }

  /** Clears every network fault. */
  heal(): void {
    this.partitions = [];
    this.latencies = [];
    this.drops = [];
    this.changed('heal');
  }

  get active(): boolean {
    return this.partitions.length + this.latencies.length + this.drops.length > 0;
  }

  /**
   * Whether bytes from `from` to `to` are lost. An unknown end (undefined) is blocked only when the
   * known end is cut off from every other instance in that direction.
   */
  isBlocked(from: string | undefined, to: string | undefined): boolean {
    if (from === undefined && to === undefined) return false;
    if (from === undefined || to === undefined) {
      const known = (from ?? to) as string;
      const others = this.known().filter((i) => i !== known);
      return (
        others.length > 0 &&
        others.every((o) => (from === undefined ? this.isBlocked(o, known) : this.isBlocked(known, o)))
      );
    }
    if (from === to) return false;
    for (const p of this.partitions) {
      const fromIn = p.set.has(from);
      const toIn = p.set.has(to);
      if (fromIn === toIn) continue;
      if (p.direction === 'both') return true;
      if (p.direction === 'out' && fromIn) return true;
      if (p.direction === 'in' && toIn) return true;
    }
    return false;
  }

  /** The delay of the next chunk between two instances (either direction; 0 = none). */
  delayMs(a: string | undefined, b: string): number {
    let ms = 0;
    for (const l of this.latencies) {
      if (!(l.instances.has(b) || (a !== undefined && l.instances.has(a)))) continue;
      ms += Math.max(0, l.delayMs + (l.jitterMs > 0 ? (this.rng.next() * 2 - 1) * l.jitterMs : 0));
    }
    return ms;
  }

  /** A seeded draw: should this connection between `a` and `b` be reset? */
  shouldDrop(a: string | undefined, b: string): boolean {
    for (const d of this.drops)
      if ((d.instances.has(b) || (a !== undefined && d.instances.has(a))) && this.rng.next() < d.fraction)
        return true;
    return false;
  }

  /** Called after every change (the proxies re-check their connections). */
  onChange(fn: (change: NetworkChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One line for the trace. */
  describe(): string {
    const parts = [
      ...this.partitions.map((p) => `partition [${[...p.set].join(', ')}] ${p.direction}`),
      ...this.latencies.map(
        (l) => `latency ${l.delayMs}±${l.jitterMs} ms on [${[...l.instances].join(', ')}]`,
      ),
      ...this.drops.map((d) => `drop ${Math.round(d.fraction * 100)}% on [${[...d.instances].join(', ')}]`),
    ];
    return parts.length === 0 ? 'no network faults' : parts.join('; ');
  }

  private changed(change: NetworkChange): void {
    for (const fn of this.listeners) fn(change);
  }
}

/** The sender named in the first request's headers: X-PeerURLs' host, else X-Server-From (a member id). */
export function senderFromHeaders(head: string): { ip?: string; memberId?: string } {
  const out: { ip?: string; memberId?: string } = {};
  const urls = /^x-peerurls:\s*([^\r\n]*)/im.exec(head);
  if (urls) {
    const first = (urls[1] as string).split(',')[0]?.trim() ?? '';
    try {
      out.ip = new URL(first).hostname;
    } catch {
      // not a URL
    }
  }
  const from = /^x-server-from:\s*([0-9a-f]+)/im.exec(head);
  if (from) out.memberId = (from[1] as string).toLowerCase().padStart(16, '0');
  return out;
}

const MAX_HEAD = 16 * 1024;

interface Conn {
  client: net.Socket;
  upstream: net.Socket;
  sender: string | undefined;
  /** Bytes were swallowed: the HTTP stream is broken, close it at heal. */
  tainted: boolean;
  /** Each direction's delayed chunks, written in order. */
  up: DelayLine;
  down: DelayLine;
}

/** A timer source (tests pass a fake one). */
export interface DelayClock {
  now: () => number;
  setTimer: (fn: () => void, ms: number) => void;
}

const realDelayClock: DelayClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => void setTimeout(fn, ms).unref(),
};

/**
 * One direction of a connection under latency: chunks go out no earlier than their delay and never
 * out of order (one queue, one timer). A timer per chunk does not keep the order: Node schedules a
 * timer from its cached loop time, so a chunk handled later in the same loop turn with a shorter
 * remaining delay could fire first, and a TCP stream with bytes swapped is no longer the stream etcd
 * sent (rafthttp frames have no checksum).
 */
export class DelayLine {
  private readonly queue: { at: number; chunk: Buffer }[] = [];
  private armed = false;
  private readonly write: (chunk: Buffer) => void;
  private readonly clock: DelayClock;

  constructor(write: (chunk: Buffer) => void, clock: DelayClock = realDelayClock) {
    this.write = write;
    this.clock = clock;
  }

  push(chunk: Buffer, delayMs: number): void {
    if (delayMs <= 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    const last = this.queue[this.queue.length - 1]?.at ?? 0;
    this.queue.push({ at: Math.max(this.clock.now() + Math.max(0, delayMs), last), chunk });
    this.drain();
  }

  private drain(): void {
    if (this.armed) return;
    const now = this.clock.now();
    for (let head = this.queue[0]; head !== undefined && head.at <= now; head = this.queue[0]) {
      this.queue.shift();
      this.write(head.chunk);
    }
    const next = this.queue[0];
    if (next === undefined) return;
    this.armed = true;
    this.clock.setTimer(
      () => {
        this.armed = false;
        this.drain();
      },
      Math.max(1, next.at - now),
    );
  }
}

export interface PeerProxyOptions {
  /** The instance's IP: listens on `<ip>:2380`, forwards to `<ip>:12380`. */
  ip: string;
  network: NetworkFaults;
  /** The instance that holds an IP now (undefined: none). */
  instanceAt: (ip: string) => string | undefined;
  /** The instance a member id belongs to (undefined: not known). */
  instanceOfMember?: (memberId: string) => string | undefined;
  listenPort?: number;
  targetPort?: number;
}

/** One instance's peer proxy. */
export class PeerProxy {
  readonly ip: string;
  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly opts: PeerProxyOptions;
  private readonly unsubscribe: () => void;
  /** Counters for the report and tests. */
  readonly stats = { connections: 0, dropped: 0, swallowedBytes: 0, forwardedBytes: 0 };

  private constructor(opts: PeerProxyOptions, server: net.Server) {
    this.opts = opts;
    this.ip = opts.ip;
    this.server = server;
    this.unsubscribe = opts.network.onChange((change) => this.onNetworkChange(change));
  }

  static async start(opts: PeerProxyOptions): Promise<PeerProxy> {
    const server = net.createServer();
    const proxy = new PeerProxy(opts, server);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listenPort ?? ADVERTISED_PEER_PORT, opts.ip, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  /** Open connections (tests). */
  get connectionCount(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    for (const c of this.conns) this.destroy(c);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private me(): string | undefined {
    return this.opts.instanceAt(this.ip);
  }

  private accept(client: net.Socket): void {
    this.stats.connections++;
    const upstream = net.connect({ host: this.ip, port: this.opts.targetPort ?? REAL_PEER_PORT });
    const writeTo = (to: net.Socket) => (chunk: Buffer) => {
      if (!to.destroyed) to.write(chunk);
    };
    const conn: Conn = {
      client,
      upstream,
      sender: undefined,
      tainted: false,
      up: new DelayLine(writeTo(upstream)),
      down: new DelayLine(writeTo(client)),
    };
    this.conns.add(conn);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const end = () => this.destroy(conn);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    let head: Buffer | undefined = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (head !== undefined) {
        head = Buffer.concat([head, chunk]);
        const text = head.toString('latin1');
        if (!text.includes('\r\n\r\n') && head.length < MAX_HEAD) return;
        conn.sender = this.resolveSender(text);
        const me = this.me();
        if (me !== undefined && this.opts.network.shouldDrop(conn.sender, me)) {
          this.stats.dropped++;
          this.destroy(conn);
          return;
        }
        chunk = head;
        head = undefined;
      }
      this.forward(conn, chunk, 'up');
    });
    upstream.on('data', (chunk: Buffer) => this.forward(conn, chunk, 'down'));
  }

  private resolveSender(head: string): string | undefined {
    const { ip, memberId } = senderFromHeaders(head);
    if (ip !== undefined) {
      const byIp = this.opts.instanceAt(ip);
      if (byIp !== undefined) return byIp;
    }
    if (memberId !== undefined) return this.opts.instanceOfMember?.(memberId);
    return undefined;
  }

  /** `up`: dialer → this instance; `down`: this instance → dialer. */
  private forward(conn: Conn, chunk: Buffer, dir: 'up' | 'down'): void {
    const me = this.me();
    const net_ = this.opts.network;
    const blocked =
      me !== undefined && (dir === 'up' ? net_.isBlocked(conn.sender, me) : net_.isBlocked(me, conn.sender));
    if (blocked) {
      conn.tainted = true;
      this.stats.swallowedBytes += chunk.length;
      return;
    }
    const delay = me === undefined ? 0 : net_.delayMs(conn.sender, me);
    this.stats.forwardedBytes += chunk.length;
    (dir === 'up' ? conn.up : conn.down).push(chunk, delay);
  }

  private onNetworkChange(change: NetworkChange): void {
    const me = this.me();
    for (const c of [...this.conns]) {
      if (change === 'heal' && c.tainted) this.destroy(c);
      else if (change === 'drop' && me !== undefined && this.opts.network.shouldDrop(c.sender, me)) {
        this.stats.dropped++;
        this.destroy(c);
      }
    }
  }

  private destroy(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    conn.client.destroy();
    conn.upstream.destroy();
  }
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { NetworkFaults, PeerProxy, senderFromHeaders, writePeerShim, DelayLine } from './network.ts';

test('the sender comes from X-PeerURLs, else X-Server-From (padded to a canonical member id)', () => {
  assert.deepEqual(
    senderFromHeaders(
      'GET /raft/stream/msgappv2/1 HTTP/1.1\r\nHost: x\r\nX-Server-From: 8e9e05c52164694d\r\nX-PeerURLs: http://127.0.91.11:2380\r\n\r\n',
    ),
    { ip: '127.0.91.11', memberId: '8e9e05c52164694d' },
  );
  assert.deepEqual(senderFromHeaders('POST /raft HTTP/1.1\r\nx-server-from: 5d\r\n\r\n'), {
    memberId: '000000000000005d',
  });
  assert.deepEqual(senderFromHeaders('GET /version HTTP/1.1\r\n\r\n'), {});
});

test('partitions: both ways, one way out of the set, one way into it; heal clears them', () => {
  const n = new NetworkFaults({ seed: 1, instances: () => ['a', 'b', 'c'] });
  n.partition(['a'], 'both');
  assert.equal(n.isBlocked('a', 'b'), true);
  assert.equal(n.isBlocked('b', 'a'), true);
  assert.equal(n.isBlocked('b', 'c'), false);
  assert.equal(n.isBlocked(undefined, 'a'), true, 'a is cut off from everyone: an unknown sender too');
  assert.equal(n.isBlocked(undefined, 'b'), false, 'b still hears c');
  n.heal();
  assert.equal(n.active, false);
  n.partition(['a'], 'out');
  assert.equal(n.isBlocked('a', 'b'), true);
  assert.equal(n.isBlocked('b', 'a'), false);
  n.heal();
  n.partition(['a', 'b'], 'in');
  assert.equal(n.isBlocked('c', 'a'), true);
  assert.equal(n.isBlocked('a', 'c'), false);
  assert.equal(n.isBlocked('a', 'b'), false, 'inside the set nothing is lost');
});

test('latency adds delay ± jitter to traffic touching the instance; drop draws with the seed', () => {
  const n = new NetworkFaults({ seed: 7, instances: () => ['a', 'b'] });
  assert.equal(n.delayMs('a', 'b'), 0);
  n.latency(['b'], 100, 20);
  for (let i = 0; i < 50; i++) {
    const d = n.delayMs('a', 'b');
    assert.ok(d >= 80 && d <= 120, String(d));
  }
  assert.equal(n.delayMs('a', 'c'), 0);
  n.drop(['b'], 1);
  assert.equal(n.shouldDrop('a', 'b'), true);
  assert.equal(n.shouldDrop('a', 'c'), false);
});

test('the etcd shim moves only the peer listener to the real port', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shim-'));
  try {
    const shim = writePeerShim(dir, 'echo');
    const out = execFileSync(shim, [
      '--name=i-1',
      '--listen-peer-urls=http://127.0.91.10:2380',
      '--initial-advertise-peer-urls=http://127.0.91.10:2380',
      '--initial-cluster=i-1=http://127.0.91.10:2380',
      'two words',
    ]).toString();
    assert.equal(
      out.trim(),
      '--name=i-1 --listen-peer-urls=http://127.0.91.10:12380 --initial-advertise-peer-urls=http://127.0.91.10:2380 --initial-cluster=i-1=http://127.0.91.10:2380 two words',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An echo server standing in for etcd's real peer listener. */
async function echoServer(host: string, port: number): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return server;
}

/** Connects to the proxy as `fromIp`'s etcd would, sends the header and `payload`, collects replies. */
async function dial(host: string, port: number, fromIp: string | undefined) {
  const socket = net.connect({ host, port });
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let received = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('close', () => (closed = true));
  const head = `GET /raft/stream/message/1 HTTP/1.1\r\n${fromIp ? `X-PeerURLs: http://${fromIp}:2380\r\n` : ''}\r\n`;
  socket.write(head);
  return {
    head,
    send: (s: string) => socket.write(s),
    received: () => received,
    closed: () => closed,
    close: () => socket.destroy(),
  };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

test('the proxy forwards, blackholes a partitioned direction, closes broken connections at heal', async () => {
  const IP = '127.0.95.11';
  const OTHER = '127.0.95.12';
  const echo = await echoServer(IP, 22380);
  const names: Record<string, string> = { [IP]: 'b', [OTHER]: 'a' };
  const network = new NetworkFaults({ seed: 3, instances: () => ['a', 'b', 'c'] });
  const proxy = await PeerProxy.start({
    ip: IP,
    network,
    instanceAt: (ip) => names[ip],
    listenPort: 22381,
    targetPort: 22380,
  });
  try {
    const c1 = await dial(IP, 22381, OTHER);
    c1.send('hello');
    await until(() => c1.received().endsWith('hello'), 'the echo');

    // a → b lost (a cut off, one way out): the request never arrives, nothing comes back.
    network.partition(['a'], 'out');
    c1.send('lost');
    await delay(100);
    assert.ok(!c1.received().includes('lost'));
    assert.ok(proxy.stats.swallowedBytes >= 4);

    // Heal: the connection lost bytes, so it is closed; a new one works.
    network.heal();
    await until(() => c1.closed(), 'the broken connection to close');
    const c2 = await dial(IP, 22381, OTHER);
    c2.send('again');
    await until(() => c2.received().endsWith('again'), 'the echo after heal');

    // b → a lost only (a cut off, one way in): the request arrives, the reply does not.
    network.partition(['a'], 'in');
    c2.send('reply-lost');
    await delay(100);
    assert.ok(!c2.received().includes('reply-lost'));
    network.heal();
    await until(() => c2.closed(), 'the broken connection to close');

    // A sender nobody knows is blocked only when this instance is cut off from everyone.
    network.partition(['a'], 'both');
    const c3 = await dial(IP, 22381, undefined);
    c3.send('x');
    await until(() => c3.received().endsWith('x'), 'the echo to an unknown sender');
    network.heal();
    network.partition(['b'], 'both');
    const c4 = await dial(IP, 22381, undefined);
    c4.send('y');
    await delay(100);
    assert.ok(!c4.received().includes('y'));
    network.heal();

    // Drop 100 %: existing connections are reset and new ones too.
    const c5 = await dial(IP, 22381, OTHER);
    c5.send('z');
    await until(() => c5.received().endsWith('z'), 'the echo');
    network.drop(['a'], 1);
    await until(() => c5.closed(), 'the dropped connection to close');
    const c6 = await dial(IP, 22381, OTHER);
    await until(() => c6.closed(), 'a new connection to be dropped');
    network.heal();

    // Latency with jitter keeps the byte order.
    network.latency(['a'], 30, 25);
    const c7 = await dial(IP, 22381, OTHER);
    for (let i = 0; i < 20; i++) c7.send(`${i},`);
    const want = Array.from({ length: 20 }, (_, i) => `${i},`).join('');
    await until(() => c7.received().endsWith(want), 'every delayed chunk, in order');
    for (const c of [c1, c2, c3, c4, c5, c6, c7]) c.close();
  } finally {
    await proxy.close();
    await new Promise<void>((r) => echo.close(() => r()));
  }
});

test('a delay line writes chunks in order, however their delays fall, with one timer at a time', () => {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const clock = {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => void timers.push({ at: now + ms, fn }),
  };
  const out: string[] = [];
  const line = new DelayLine((b) => out.push(b.toString()), clock);
  const fire = (to: number) => {
    now = to;
    for (let t = timers.shift(); t !== undefined; t = timers.shift()) {
      if (t.at > now) {
        timers.unshift(t);
        break;
      }
      t.fn();
    }
  };
  line.push(Buffer.from('a'), 50); // due at 50
  now = 3;
  line.push(Buffer.from('b'), 10); // due at 13 on its own: must still wait for a
  line.push(Buffer.from('c'), 0); // no delay now, but behind a and b
  assert.deepEqual(out, []);
  assert.equal(timers.length, 1, 'one timer for the line');
  fire(49);
  assert.deepEqual(out, []);
  fire(50);
  assert.deepEqual(out, ['a', 'b', 'c']);
  assert.equal(timers.length, 0);
  line.push(Buffer.from('d'), 0); // nothing queued: straight through
  assert.deepEqual(out, ['a', 'b', 'c', 'd']);
  line.push(Buffer.from('e'), 20);
  now = 60;
  line.push(Buffer.from('f'), 5); // due at 70 after e
  fire(70);
  assert.deepEqual(out.slice(4), ['e', 'f']);
});

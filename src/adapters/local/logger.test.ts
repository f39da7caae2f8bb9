import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { createLogger, REDACTED } from './logger.ts';

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  return { stream, lines };
}

const tick = () => new Promise((r) => setImmediate(r));

test('JSON lines with level names, ISO time, child bindings and serialized errors', async () => {
  const { stream, lines } = capture();
  const log = createLogger({ level: 'info', destination: stream });
  log.child({ component: 'agent' }).info({ cycle: 3 }, 'cycle done');
  log.error({ err: new Error('boom', { cause: new Error('inner') }) }, 'failed');
  await tick();
  assert.equal(lines.length, 2);
  const [a, b] = lines as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(a.level, 'info');
  assert.equal(a.component, 'agent');
  assert.equal(a.cycle, 3);
  assert.equal(a.msg, 'cycle done');
  assert.ok(!Number.isNaN(Date.parse(String(a.time))));
  assert.equal(b.level, 'error');
  assert.match((b.err as { message: string }).message, /^boom/);
});

test('the level filters', async () => {
  const { stream, lines } = capture();
  const log = createLogger({ level: 'warn', destination: stream });
  log.debug({}, 'no');
  log.info({}, 'no');
  log.warn({}, 'yes');
  await tick();
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['yes'],
  );
  const t = capture();
  createLogger({ level: 'trace', destination: t.stream }).debug({}, 'shown');
  await tick();
  assert.equal(t.lines.length, 1);
});

const dir = mkdtempSync(join(tmpdir(), 'etcd-spot-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a file destination is created and appended to', () => {
  const file = join(dir, 'sub', 'agent.log');
  const log = createLogger({ level: 'info', destination: file });
  log.info({ n: 1 }, 'one');
  log.flush();
  const log2 = createLogger({ level: 'info', destination: file });
  log2.info({ n: 2 }, 'two');
  log2.flush();
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { n: number });
  assert.deepEqual(
    lines.map((l) => l.n),
    [1, 2],
  );
});

test('default destination is stderr, stdout stays clean', () => {
  const script = `import { createLogger } from ${JSON.stringify(new URL('./logger.ts', import.meta.url).href)};
createLogger({ level: 'info' }).info({ x: 1 }, 'to stderr');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const line = JSON.parse(r.stderr.trim().split('\n').pop() as string) as { msg: string; x: number };
  assert.equal(line.msg, 'to stderr');
  assert.equal(line.x, 1);
});

test('secrets are redacted wherever they sit in a log object; other fields are kept', async () => {
  const { stream, lines } = capture();
  const log = createLogger({ level: 'info', destination: stream });
  const secrets = ['S-top-token', 'S-nested', 'S-deep', 'S-bearer', 'S-imds', 'S-env', 'S-peer', 'S-pass'];
  log.child({ component: 'spot' }).info(
    {
      token: secrets[0],
      group: { groupId: 'sig-1', token: secrets[1] },
      config: { group: { credentials: { secret: secrets[2] } } },
      request: { headers: { authorization: `Bearer ${secrets[3]}`, accept: 'application/json' } },
      headers: { 'x-aws-ec2-metadata-token': secrets[4] },
      env: { SPOTINST_TOKEN: secrets[5], HOME: '/root' },
      peerSecret: secrets[6],
      password: secrets[7],
      tokenTtl: 21600,
    },
    'calling Spot.io',
  );
  await tick();
  assert.equal(lines.length, 1);
  const text = JSON.stringify(lines[0]);
  for (const s of secrets) assert.ok(!text.includes(s), `${s} leaked: ${text}`);
  type Line = {
    [k: string]: string | number | Line;
  };
  const l = lines[0] as Line;
  const at = (...path: string[]): unknown => path.reduce<unknown>((o, k) => (o as Line)[k], l);
  assert.equal(at('token'), REDACTED);
  assert.equal(at('group', 'token'), REDACTED);
  assert.equal(at('group', 'groupId'), 'sig-1');
  assert.equal(at('config', 'group', 'credentials'), REDACTED);
  assert.equal(at('request', 'headers', 'authorization'), REDACTED);
  assert.equal(at('request', 'headers', 'accept'), 'application/json');
  assert.equal(at('headers', 'x-aws-ec2-metadata-token'), REDACTED);
  assert.equal(at('env', 'SPOTINST_TOKEN'), REDACTED);
  assert.equal(at('env', 'HOME'), '/root');
  assert.equal(at('peerSecret'), REDACTED);
  assert.equal(at('password'), REDACTED);
  assert.equal(at('tokenTtl'), 21600);
  assert.equal(at('msg'), 'calling Spot.io');
  assert.equal(REDACTED, '[redacted]');
});

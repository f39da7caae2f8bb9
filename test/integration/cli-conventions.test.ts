// The CLI's conventions as an operator meets them (issue 13 §1): help with no arguments exits 0, a
// usage error is one line plus where to read more, no commander artefacts in help, -o on every
// command that prints data, and -w/--watch refreshing until Ctrl-C. No etcd, no cloud: only the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { runCli } from './cli-support.ts';

test('etcd-spot with no arguments prints the help and exits 0', async () => {
  const r = await runCli([]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: etcd-spot \[options\] \[command\]/);
  assert.match(r.stdout, /\n {2}member /);
  assert.match(r.stdout, /\n {2}drain /);
  assert.equal(r.stderr, '');
});

test('a command group without its subcommand prints its help and exits 0, as kubectl does', async () => {
  for (const g of ['member', 'snapshot', 'certs']) {
    const r = await runCli([g]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: etcd-spot ${g} \\[options\\] \\[command\\]`));
  }
});

test('a usage error is one line and "see `etcd-spot <cmd> --help`", not the whole help', async () => {
  for (const [args, first, see] of [
    [['status', '--bogus'], "Error: unknown option '--bogus'", 'see `etcd-spot status --help`'],
    [
      ['member', 'remove'],
      "Error: missing required argument 'id|instance'",
      'see `etcd-spot member remove --help`',
    ],
    [['stauts'], "Error: unknown command 'stauts'", '(Did you mean status?)'],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], first);
    assert.ok(lines.includes(see), r.stderr);
    assert.ok(lines.length <= 3, `short: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Usage:/);
  }
});

test('-o with an unknown format names the flag and the choices (exit 2); -o json usage errors are JSON', async () => {
  const r = await runCli(['member', 'list', '-o', 'xml', '--endpoints', 'http://127.0.76.99:2379']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'Error: -o "xml": unknown output format; use one of table, wide, json, yaml\n');
  const j = await runCli(['status', '-o', 'json', '--bogus']);
  assert.equal(j.code, 2);
  assert.equal(JSON.parse(j.stdout).error.code, 'USAGE');
});

test('help shows no commander artefacts, and -o/--no-headers on every command that prints data', async () => {
  for (const cmd of [
    ['status'],
    ['plan'],
    ['member', 'list'],
    ['member', 'remove'],
    ['snapshot', 'list'],
    ['snapshot', 'verify'],
    ['sim'],
    ['agent'],
  ]) {
    const r = await runCli([...cmd, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /\(default: (\[\]|false)\)/, cmd.join(' '));
    if (cmd[0] !== 'sim' && cmd[0] !== 'agent') {
      assert.match(r.stdout, /-o, --output <format>\s+output format: table, wide, json, yaml/, cmd.join(' '));
      assert.match(r.stdout, /--no-headers/, cmd.join(' '));
      assert.match(r.stdout, /--json\s+same as -o json/, cmd.join(' '));
    }
  }
});

test('status -w refreshes until SIGINT, then exits 0; each refresh is stamped', async () => {
  const child = spawn(
    process.execPath,
    [
      'bin/etcd-spot.js',
      'status',
      '-w',
      '500ms',
      '--set',
      'group.provider=static',
      '--set',
      'group.instances=[{"id":"i-1","privateIp":"127.0.76.99"}]',
      '--set',
      'etcd.callTimeout=300ms',
    ],
    { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 20_000;
  while ((out.match(/every 0\.5s/g) ?? []).length < 2 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0, err);
  const stamps = out.match(/^\d{4}-\d\d-\d\dT\S+Z {2}every 0\.5s$/gm) ?? [];
  assert.ok(stamps.length >= 2, out);
  // Nothing answers at 127.0.76.99: each refresh says so and the watch goes on.
  assert.ok(
    (out.match(/Error: no etcd member answered at http:\/\/127\.0\.76\.99:2379/g) ?? []).length >= 2,
    out,
  );
});

test('output piped into a reader that stops early (| head) ends quietly with exit 0, no EPIPE trace', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['bin/etcd-spot.js', 'sim', '--list-scenarios'], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // Close the pipe before the command writes a byte (as `| true` does; `| head -1` after a line):
  // every write then fails with EPIPE.
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Unhandled|at /);
});

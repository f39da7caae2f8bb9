/**
 * `loadConfigFromFlags` (src/cli/commands/agent.ts): how the CLI turns config problems into exit code 2,
 * refuses secrets on the command line and prints warnings.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFromFlags } from '../cli/commands/agent.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { describeError } from '../core/errors.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-spot-flags-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs loadConfigFromFlags and returns the ExitError's code and message, failing if it does not throw. */
function exitOf(set: string[], opts: { config?: string; env?: Record<string, string> } = {}) {
  const warnings: string[] = [];
  try {
    loadConfigFromFlags({ set, ...(opts.config ? { config: opts.config } : {}) }, opts.env ?? {}, (l) =>
      warnings.push(l),
    );
  } catch (err) {
    const e = err as Error & { exitCode?: number };
    return { exitCode: e.exitCode, message: describeError(e), warnings };
  }
  return assert.fail('expected loadConfigFromFlags to throw');
}

test('S7: --set group.token / agent.peerSecret is refused, naming ps and the alternatives', () => {
  const r = exitOf(['group.token=SUPERSECRET-flag', 'agent.peerSecret=SUPERSECRET-peer-0123456789']);
  assert.equal(r.exitCode, EXIT.badArgs);
  assert.equal(
    r.message,
    'invalid configuration:\n' +
      '  - --set group.token: refused: a secret on the command line is visible to every user in ps and /proc; use group.tokenFile (a file only the agent can read) or the environment variable ETCD_SPOT_GROUP_TOKEN instead\n' +
      '  - --set agent.peerSecret: refused: a secret on the command line is visible to every user in ps and /proc; use agent.peerSecretFile (a file only the agent can read) or the environment variable ETCD_SPOT_AGENT_PEER_SECRET instead',
  );
  assert.ok(!r.message.includes('SUPERSECRET'));
});

test('a malformed --set never echoes what follows "="', () => {
  const r = exitOf(['=SUPERSECRET-x']);
  assert.equal(r.exitCode, EXIT.badArgs);
  assert.equal(
    r.message,
    'invalid configuration:\n  - --set =…: expected path=value, e.g. agent.maxVoters=3',
  );
});

test('C17: an alias bomb takes the exit-code-2 path with the file named', () => {
  const f = join(dir, 'bomb.yaml');
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (const [n, p] of [
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'c'],
    ['e', 'd'],
  ])
    lines.push(`${n}: &${n} [${Array(9).fill(`*${p}`).join(', ')}]`);
  writeFileSync(f, lines.join('\n'));
  const r = exitOf([], { config: f });
  assert.equal(r.exitCode, EXIT.badArgs);
  assert.equal(
    r.message,
    `invalid configuration:\n  - ${f}: the config file uses too many YAML aliases (*name); write the values out`,
  );
});

test('S1: a mistyped token in the file is not echoed on the exit path either', () => {
  const f = join(dir, 'tokleak.yaml');
  writeFileSync(f, 'group:\n  groupId: sig-1\n  token: [SUPERSECRET-in-list]\n');
  const r = exitOf([], { config: f });
  assert.equal(r.exitCode, EXIT.badArgs);
  assert.equal(
    r.message,
    `invalid configuration:\n  - group.token: expected a string (got (hidden list)) [${f} line 3]`,
  );
});

test('C26: 600h on the command line is refused with exit code 2', () => {
  const r = exitOf([
    'agent.cycleInterval=600h',
    'agent.terminationPollInterval=600h',
    'agent.groupPollInterval=600h',
  ]);
  assert.equal(r.exitCode, EXIT.badArgs);
  assert.match(
    r.message,
    /agent\.cycleInterval: must be between 100ms and 5m \(got '600h'\) \[flag agent\.cycleInterval\]/,
  );
  assert.match(
    r.message,
    /agent\.terminationPollInterval: must be between 100ms and 60s: a spot instance gets a 2-minute notice/,
  );
  assert.match(r.message, /agent\.groupPollInterval: must be between 100ms and 10m \(got '600h'\)/);
});

test('warnings of a valid config are printed once each as "warning: <text>"', () => {
  const printed: string[] = [];
  const config = loadConfigFromFlags(
    { set: ['agent.terminationPollInterval=45s', 'agent.memberDeadAfter=15s'] },
    { ETCD_SPOT_AGENT_PEER_SECRET: 'SUPERSECRET-peer-0123456789' },
    (l) => printed.push(l),
  );
  assert.equal(config.agent.terminationPollIntervalMs, 45_000);
  assert.deepEqual(printed, [
    'warning: agent.terminationPollInterval: 45s leaves little of a 2-minute spot notice for the leave; 30s or less is safer (default 5s) [flag agent.terminationPollInterval]',
    'warning: agent.memberDeadAfter: 15s is shorter than 2 × agent.groupPollInterval (10s): one stale read of the group can get a member removed; make it at least 20s [flag agent.memberDeadAfter]',
  ]);
  const quiet: string[] = [];
  loadConfigFromFlags({ set: [] }, {}, (l) => quiet.push(l));
  assert.deepEqual(quiet, []);
});

/**
 * Starting etcd when it cannot start (campaign H1, H3): the error says why in etcd's own words and
 * where its log is, failed starts back off (bootstrap included), and the failure log line is valid
 * JSON with one `action` key. Uses the real etcd binary for the early-exit case.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { EtcdError } from '../core/errors.ts';
import type { Action } from '../core/actions.ts';
import type { Observation } from '../core/observation.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import { createLogger } from '../adapters/local/logger.ts';
import { systemClock } from '../adapters/local/system-clock.ts';
import { SupervisedEtcdRunner } from '../adapters/runner/supervised-runner.ts';
import type { EtcdRunner } from '../ports/etcd-runner.ts';
import type { Logger } from '../ports/logger.ts';
import { earlyExitMessage, executeAction } from './execute.ts';
import type { ExecuteContext } from './execute.ts';
import { LocalStateStore } from './local-state.ts';
import { FakeEtcd, FakeGroup, FakeRunner, recordingLogger } from './testing/fakes.ts';
import { newAgentMemory } from './types.ts';

const IP = '127.0.29.41';
const SELF = {
  instanceId: 'i-2',
  privateIp: IP,
  peerUrl: `http://${IP}:2380`,
  clientUrl: `http://${IP}:2379`,
};

const noCluster: Observation = {
  self: SELF,
  group: { ok: true, fetchedAt: 0, instances: [{ id: 'i-2', privateIp: IP }] },
  termination: { notices: [], errors: [] },
  local: { etcdRunning: false, hasData: false, record: {}, startFailures: 0, signalledReady: false },
  cluster: { reachable: false, error: 'none', probed: [] },
};

const startExisting: Action = {
  kind: 'start-etcd',
  state: 'existing',
  initialCluster: [{ name: 'i-2', peerUrl: SELF.peerUrl }],
  reason: 'r',
};

describe('starting an etcd that cannot start', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-exec-start-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function context(runner: EtcdRunner, logger: Logger = recordingLogger()): ExecuteContext {
    return {
      obs: noCluster,
      settings: {
        dataDir: join(dir, `d${++n}`),
        clientPort: 2379,
        peerPort: 2380,
        statusPort: 2378,
        callTimeoutMs: 200,
        cloudTimeoutMs: 200,
        cycleIntervalMs: 100,
        groupPollIntervalMs: 100,
        policy: DEFAULT_POLICY,
        startWaitMs: 5000,
      },
      etcd: new FakeEtcd(),
      runner,
      group: new FakeGroup(),
      store: new LocalStateStore(join(dir, `s${n}`)),
      peers: {
        bootstrapView: async (p) => ({ instanceId: p.id, reachable: true }),
        requestVote: async () => ({ granted: true, reason: 'ok' }),
      },
      castOwnVote: async () => ({ granted: true, reason: 'self' }),
      memory: newAgentMemory(),
      hasData: async () => false,
      wipeData: async () => undefined,
      clock: systemClock,
      logger,
    };
  }

  it('a real etcd that rejects a flag: the error quotes etcd and names etcd.log, and the failure counts (H3)', async () => {
    const stateDir = join(dir, 'real');
    const runner = new SupervisedEtcdRunner({
      dataDir: join(stateDir, 'data'),
      stateDir,
      extraArgs: ['--bogus-flag=1'],
      clock: systemClock,
      logger: recordingLogger(),
    });
    const ctx = context(runner);
    const r = await executeAction(startExisting, ctx);
    assert.equal(r.progressed, false);
    assert.equal(r.code, 'ETCD_PROCESS_EXITED');
    assert.equal(
      r.detail,
      `etcd exited before serving (code 2): "flag provided but not defined: -bogus-flag" (see ${join(stateDir, 'etcd.log')})`,
    );
    assert.equal(ctx.memory.startFailures, 1);
    assert.ok((ctx.memory.nextStartAt ?? 0) > Date.now() + 500, 'a back-off of about 1 s');
  });

  it('bootstrap waits out the start back-off instead of respawning a broken etcd every cycle (H1)', async () => {
    const runner = new FakeRunner();
    runner.startError = new EtcdError('could not start /nonexistent/etcd for member i-2', {
      code: 'ETCD_SPAWN_FAILED',
      retryable: false,
    });
    const ctx = context(runner);
    ctx.memory.votes = { requestedAt: Date.now(), granted: ['i-2'], refused: [] };
    const bootstrap: Action = { kind: 'bootstrap', token: 'sig-1-i-2-1', reason: 'r' };

    const r1 = await executeAction(bootstrap, ctx);
    assert.deepEqual([r1.progressed, r1.code, ctx.memory.startFailures], [false, 'ETCD_SPAWN_FAILED', 1]);
    const r2 = await executeAction(bootstrap, ctx);
    assert.equal(runner.launches.length, 1, 'no second spawn during the back-off');
    assert.equal(r2.progressed, false);
    assert.match(r2.detail ?? '', /^not starting etcd: 1 start failed in a row; next try in 1s$/);

    // Once it has passed, the next bootstrap tries again and a second failure doubles the wait.
    ctx.memory.nextStartAt = Date.now() - 1;
    await executeAction(bootstrap, ctx);
    assert.equal(runner.launches.length, 2);
    assert.equal(ctx.memory.startFailures, 2);
    assert.ok((ctx.memory.nextStartAt ?? 0) > Date.now() + 1500, 'about 2 s');
  });

  it('"action failed" is one JSON line with one action key (H1)', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (c: Buffer) => lines.push(...c.toString('utf8').split('\n').filter(Boolean)));
    const logger = createLogger({ level: 'info', destination: out });
    const runner = new FakeRunner();
    runner.startError = new EtcdError('could not start /nonexistent/etcd', {
      code: 'ETCD_SPAWN_FAILED',
      retryable: false,
    });
    // The agent hands execute a child logger bound to the cycle and the action.
    await executeAction(startExisting, context(runner, logger.child({ cycle: 7, action: 'start-etcd' })));
    const line = lines.find((l) => l.includes('"action failed"'));
    assert.ok(line !== undefined, lines.join('\n'));
    assert.equal(line.match(/"action":/g)?.length, 1, line);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual([parsed.action, parsed.cycle, parsed.code], ['start-etcd', 7, 'ETCD_SPAWN_FAILED']);
  });

  it('earlyExitMessage: signal, removal, reason and log file when known', () => {
    assert.equal(earlyExitMessage(undefined), 'etcd exited before serving');
    assert.equal(
      earlyExitMessage({ at: 1, code: 0, removed: true }),
      'etcd exited before serving (code 0, removed from the cluster)',
    );
    assert.equal(
      earlyExitMessage({
        at: 1,
        code: null,
        signal: 'SIGKILL',
        removed: false,
        reason: 'x "y"',
        logFile: '/s/etcd.log',
      }),
      'etcd exited before serving (signal SIGKILL): "x \\"y\\"" (see /s/etcd.log)',
    );
  });
});

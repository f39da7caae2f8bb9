import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { systemClock } from '../local/system-clock.ts';
import { recordingLogger } from '../../agent/testing/fakes.ts';
import type { EtcdLaunch } from '../../ports/etcd-runner.ts';
import { SupervisedEtcdRunner } from './supervised-runner.ts';

const launch: EtcdLaunch = {
  name: 'i-1',
  clientUrl: 'http://127.0.33.1:2379',
  peerUrl: 'http://127.0.33.1:2380',
  state: 'new',
  initialCluster: [{ name: 'i-1', peerUrl: 'http://127.0.33.1:2380' }],
  token: 'tok',
};

async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

describe('SupervisedEtcdRunner (fake etcd binaries)', () => {
  let dir: string;
  let removedEtcd: string;
  let longEtcd: string;
  let failingEtcd: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-runner-'));
    removedEtcd = join(dir, 'etcd-removed.sh');
    await writeFile(
      removedEtcd,
      `#!/bin/sh\necho '{"level":"warn","msg":"server error","error":"the member has been permanently removed from the cluster"}' >&2\nexit 0\n`,
    );
    longEtcd = join(dir, 'etcd-long.sh');
    await writeFile(
      longEtcd,
      `#!/bin/sh\necho "args: $*"\ntrap 'echo stopping; exit 0' TERM\nwhile true; do sleep 0.05; done\n`,
    );
    failingEtcd = join(dir, 'etcd-fail.sh');
    await writeFile(failingEtcd, `#!/bin/sh\necho 'bind: address already in use' >&2\nexit 1\n`);
    for (const f of [removedEtcd, longEtcd, failingEtcd]) await chmod(f, 0o755);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records a removed exit (code 0 + the removed message), with no restart', async () => {
    const stateDir = join(dir, 's1');
    const runner = new SupervisedEtcdRunner({
      binary: removedEtcd,
      dataDir: join(stateDir, 'data'),
      stateDir,
      clock: systemClock,
      logger: recordingLogger(),
    });
    await runner.start(launch);
    await until('exit', () => runner.lastExit() !== undefined);
    assert.equal(runner.isRunning(), false);
    assert.equal(runner.lastExit()?.code, 0);
    assert.equal(runner.lastExit()?.removed, true);
    await delay(100);
    assert.equal(runner.isRunning(), false, 'never restarted by the runner');
  });

  it('an earlier run’s removed message in the same log does not count for a later exit', async () => {
    const stateDir = join(dir, 's2');
    const a = new SupervisedEtcdRunner({
      binary: removedEtcd,
      dataDir: join(stateDir, 'data'),
      stateDir,
      clock: systemClock,
      logger: recordingLogger(),
    });
    await a.start(launch);
    await until('first exit', () => a.lastExit() !== undefined);
    const b = new SupervisedEtcdRunner({
      binary: failingEtcd,
      dataDir: join(stateDir, 'data'),
      stateDir,
      clock: systemClock,
      logger: recordingLogger(),
    });
    await b.start(launch);
    await until('second exit', () => b.lastExit() !== undefined);
    assert.deepEqual(
      { code: b.lastExit()?.code, removed: b.lastExit()?.removed },
      { code: 1, removed: false },
    );
    const log = await readFile(join(stateDir, 'etcd.log'), 'utf8');
    assert.match(log, /permanently removed/);
    assert.match(log, /address already in use/, 'both runs appended to <stateDir>/etcd.log');
  });

  it("an exit is seen together with why: isRunning() turns false only once lastExit() has etcd's reason and etcd.log (H3)", async () => {
    const stateDir = join(dir, 's5');
    const runner = new SupervisedEtcdRunner({
      binary: removedEtcd,
      dataDir: join(stateDir, 'data'),
      stateDir,
      clock: systemClock,
      logger: recordingLogger(),
    });
    await runner.start(launch);
    await until('exit', () => !runner.isRunning());
    assert.deepEqual(runner.lastExit() && { ...runner.lastExit(), at: 0 }, {
      at: 0,
      code: 0,
      removed: true,
      reason: 'server error: the member has been permanently removed from the cluster',
      logFile: join(stateDir, 'etcd.log'),
    });
    // A later run's reason is its own, not the earlier run's line in the same log.
    const again = new SupervisedEtcdRunner({
      binary: failingEtcd,
      dataDir: join(stateDir, 'data'),
      stateDir,
      clock: systemClock,
      logger: recordingLogger(),
    });
    await again.start(launch);
    await until('second exit', () => !again.isRunning());
    assert.equal(again.lastExit()?.reason, 'bind: address already in use');
  });

  it('stops gracefully with SIGTERM; refuses a second start while running', async () => {
    const stateDir = join(dir, 's3');
    const runner = new SupervisedEtcdRunner({
      binary: longEtcd,
      dataDir: join(stateDir, 'data'),
      stateDir,
      clock: systemClock,
      logger: recordingLogger(),
    });
    await runner.start(launch);
    try {
      assert.equal(runner.isRunning(), true);
      await assert.rejects(runner.start(launch), { code: 'ETCD_ALREADY_RUNNING' });
      await delay(50);
      await runner.stop('test');
      assert.equal(runner.isRunning(), false);
      assert.deepEqual(
        { code: runner.lastExit()?.code, removed: runner.lastExit()?.removed },
        { code: 0, removed: false },
      );
      const log = await readFile(join(stateDir, 'etcd.log'), 'utf8');
      assert.match(log, /--initial-cluster-state=new/);
      assert.match(log, /--initial-cluster-token=tok/);
      await runner.stop('again');
    } finally {
      const pid = runner.pid();
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
  });

  it('adopts an etcd left running by a killed agent (pid file), and stops it', async () => {
    const stateDir = join(dir, 's4');
    const dataDir = join(stateDir, 'data');
    const first = new SupervisedEtcdRunner({
      binary: longEtcd,
      dataDir,
      stateDir,
      clock: systemClock,
      logger: recordingLogger(),
    });
    await first.start(launch);
    const pid = first.pid();
    try {
      assert.ok(pid);
      // A new agent process (same state dir) after the first was SIGKILLed: its runner finds the orphan.
      const second = new SupervisedEtcdRunner({
        binary: longEtcd,
        dataDir,
        stateDir,
        clock: systemClock,
        logger: recordingLogger(),
      });
      assert.equal(second.isRunning(), false);
      await second.refresh();
      assert.equal(second.isRunning(), true);
      assert.equal(second.pid(), pid);
      await assert.rejects(second.start(launch), { code: 'ETCD_ALREADY_RUNNING' });
      await second.stop('test');
      assert.equal(second.isRunning(), false);
      assert.equal(second.lastExit()?.removed, false);
      await until('the first runner to see the exit', () => !first.isRunning());
      // A pid file naming a process that is not our etcd is ignored.
      const third = new SupervisedEtcdRunner({
        binary: longEtcd,
        dataDir: join(stateDir, 'other'),
        stateDir,
        clock: systemClock,
        logger: recordingLogger(),
      });
      await third.refresh();
      assert.equal(third.isRunning(), false);
    } finally {
      const p = first.pid();
      if (p !== undefined) process.kill(p, 'SIGKILL');
    }
  });
});

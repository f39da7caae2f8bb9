import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../local/system-clock.ts';
import { recordingLogger } from '../../agent/testing/fakes.ts';
import { SystemdEtcdRunner, formatDropIn, runCommand } from './systemd-runner.ts';

describe('SystemdEtcdRunner (fake commands, never real systemctl)', () => {
  let dir: string;
  let fakectl: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-systemd-'));
    // A fake systemctl: `start` / `stop` flip a marker file, `is-active` tests it, every call is logged.
    fakectl = join(dir, 'fakectl.sh');
    await writeFile(
      fakectl,
      `#!/bin/sh\necho "$*" >> "${dir}/calls.log"\ncase "$1" in\n  start) touch "${dir}/active" ;;\n  stop) rm -f "${dir}/active" ;;\n  is-active) test -f "${dir}/active" ;;\n  fail) echo boom >&2; exit 3 ;;\nesac\n`,
    );
    await chmod(fakectl, 0o755);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the drop-in, reloads, starts; refresh and stop follow the check command', async () => {
    const dropInPath = join(dir, 'etcd.service.d', '30-etcd-spot.conf');
    const runner = new SystemdEtcdRunner({
      dataDir: '/var/lib/etcd-spot/etcd',
      dropInPath,
      startCommand: [fakectl, 'start'],
      stopCommand: [fakectl, 'stop'],
      checkCommand: [fakectl, 'is-active'],
      reloadCommand: [fakectl, 'daemon-reload'],
      clock: systemClock,
      logger: recordingLogger(),
    });
    await runner.refresh();
    assert.equal(runner.isRunning(), false);
    await runner.start({
      name: 'i-2',
      clientUrl: 'http://10.0.0.2:2379',
      peerUrl: 'http://10.0.0.2:2380',
      state: 'existing',
      initialCluster: [
        { name: 'i-1', peerUrl: 'http://10.0.0.1:2380' },
        { name: 'i-2', peerUrl: 'http://10.0.0.2:2380' },
      ],
    });
    assert.equal(runner.isRunning(), true);
    const dropIn = await readFile(dropInPath, 'utf8');
    assert.match(dropIn, /^\[Service\]$/m);
    assert.match(dropIn, /^Environment="ETCD_NAME=i-2"$/m);
    assert.match(
      dropIn,
      /^Environment="ETCD_INITIAL_CLUSTER=i-1=http:\/\/10.0.0.1:2380,i-2=http:\/\/10.0.0.2:2380"$/m,
    );
    assert.match(dropIn, /^Environment="ETCD_INITIAL_CLUSTER_STATE=existing"$/m);
    assert.match(dropIn, /^Environment="ETCD_DATA_DIR=\/var\/lib\/etcd-spot\/etcd"$/m);
    assert.equal(existsSync(`${dropInPath}.tmp-${process.pid}`), false);

    await runner.refresh();
    assert.equal(runner.isRunning(), true);
    await runner.stop('test');
    assert.equal(runner.isRunning(), false);
    assert.ok(runner.lastExit());
    const calls = (await readFile(join(dir, 'calls.log'), 'utf8')).trim().split('\n');
    assert.deepEqual(calls, ['is-active', 'daemon-reload', 'start', 'is-active', 'stop']);
  });

  it('a failing start command is an error with its output', async () => {
    const runner = new SystemdEtcdRunner({
      dataDir: '/var/lib/etcd',
      dropInPath: join(dir, 'x', 'drop.conf'),
      startCommand: [fakectl, 'fail'],
      stopCommand: ['true'],
      reloadCommand: [],
      clock: systemClock,
      logger: recordingLogger(),
    });
    await assert.rejects(
      runner.start({
        name: 'i-1',
        clientUrl: 'http://10.0.0.1:2379',
        peerUrl: 'http://10.0.0.1:2380',
        state: 'new',
        initialCluster: [{ name: 'i-1', peerUrl: 'http://10.0.0.1:2380' }],
        token: 't',
      }),
      (err: Error & { code?: string }) =>
        err.code === 'ETCD_COMMAND_FAILED' && /exited with 3: boom/.test(err.message),
    );
    assert.equal(runner.isRunning(), false);
  });

  it('runCommand enforces its deadline', async () => {
    await assert.rejects(runCommand(['sleep', '5'], 100), /timed out after 100 ms/);
    assert.deepEqual(await runCommand(['true'], 5000), { code: 0, output: '' });
  });

  it('formatDropIn quotes and escapes', () => {
    assert.equal(
      formatDropIn({ A: 'x"y', B: '50%' }).split('\n').slice(1).join('\n'),
      '[Service]\nEnvironment="A=x\\"y"\nEnvironment="B=50%%"\n',
    );
  });
});

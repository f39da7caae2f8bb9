/**
 * The emulator over real loopback sockets when instance metadata cannot be served (campaign E9): a
 * second emulator on the same --ip-prefix / --imds-port refuses to start, and an instance launched
 * later whose address is taken fails its control call loudly; neither serves another's metadata.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Server } from 'node:net';
import { test } from 'node:test';
import { imdsFailureMessage, startEmulator } from './server.ts';
import type { RunningEmulator } from './server.ts';

const PREFIX = '127.0.36';
const IMDS_PORT = 19471;

async function instanceIdAt(ip: string): Promise<string> {
  const res = await fetch(`http://${ip}:${IMDS_PORT}/latest/meta-data/instance-id`);
  return res.text();
}

function occupy(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

test('a second emulator on the same --ip-prefix / --imds-port refuses to start, naming the address and the fix', async () => {
  const first = await startEmulator({
    token: 't1',
    ipPrefix: PREFIX,
    imdsPort: IMDS_PORT,
    groups: [{ id: 'sig-first', name: 'first', targetCapacity: 1 }],
  });
  try {
    const own = first.state.listInstances()[0];
    assert.ok(own);
    assert.equal(own.privateIp, `${PREFIX}.10`);
    await assert.rejects(
      startEmulator({
        listen: '127.0.0.1:0',
        token: 't2',
        ipPrefix: PREFIX,
        imdsPort: IMDS_PORT,
        groups: [{ id: 'sig-clash', name: 'clash', targetCapacity: 1 }],
      }),
      (e: unknown) => {
        assert.equal(
          (e as Error).message,
          `cannot serve instance metadata on ${PREFIX}.10:${IMDS_PORT} (address in use): another emulator may use --ip-prefix ${PREFIX} / --imds-port ${IMDS_PORT}; pick others`,
        );
        assert.equal((e as { code?: string }).code, 'EMULATOR_CONFLICT');
        return true;
      },
    );
    // The first emulator still serves its own instance, untouched.
    assert.equal(await instanceIdAt(own.privateIp), own.id);
  } finally {
    await first.close();
  }
});

test('an instance launched later whose metadata address is taken: 409 to the control caller and an event, no cross-wiring', async () => {
  // Someone else holds .11 (the address the second instance will get).
  const squatter = await occupy(`${PREFIX}.11`, IMDS_PORT);
  let emu: RunningEmulator | undefined;
  try {
    emu = await startEmulator({
      token: 't',
      ipPrefix: PREFIX,
      imdsPort: IMDS_PORT,
      groups: [{ id: 'sig-later', name: 'later', targetCapacity: 1 }],
    });
    const first = emu.state.listInstances()[0];
    assert.ok(first);
    assert.equal(await instanceIdAt(first.privateIp), first.id);

    const res = await fetch(`${emu.url}/emulator/groups/sig-later/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 409);
    assert.deepEqual(await res.json(), {
      error: `cannot serve instance metadata on ${PREFIX}.11:${IMDS_PORT} (address in use): another emulator may use --ip-prefix ${PREFIX} / --imds-port ${IMDS_PORT}; pick others`,
      code: 'EMULATOR_IMDS_UNAVAILABLE',
    });
    assert.deepEqual(
      emu.imdsFailures().map((f) => [f.ip, f.why]),
      [[`${PREFIX}.11`, 'address in use']],
    );
    const events = emu.state.events().filter((e) => e.type === 'imds-listener');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.detail.ip, `${PREFIX}.11`);

    // A later mutation that launches nothing is not blamed for the earlier failure.
    const ok = await fetch(`${emu.url}/emulator/stats/reset`, { method: 'POST' });
    assert.equal(ok.status, 200);
    // The Spot API's own reply stands: its call did succeed.
    const spot = await fetch(`${emu.url}/aws/ec2/instance/signal`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ instanceId: first.id, signal: 'INSTANCE_READY' }),
    });
    assert.equal(spot.status, 200);
  } finally {
    await emu?.close();
    await new Promise((r) => squatter.close(r));
  }
});

test('etcd-spot emulator exits 2 at start when an instance address is taken (E9)', async () => {
  const squatter = await occupy(`${PREFIX}.10`, IMDS_PORT);
  try {
    const bin = fileURLToPath(new URL('../../bin/etcd-spot.js', import.meta.url));
    const args = ['emulator', '--token', 'T2', '--listen', '127.0.0.1:0', '--imds-port', String(IMDS_PORT)];
    const err = await promisify(execFile)(
      process.execPath,
      [bin, ...args, '--ip-prefix', PREFIX, '--group', 'sig-clash:1'],
      { timeout: 30_000 },
    ).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: unknown) => e as { code?: number; stdout?: string; stderr?: string },
    );
    assert.equal(err.code, 2, `stdout: ${err.stdout}\nstderr: ${err.stderr}`);
    assert.equal(err.stdout, '', 'no JSON line announcing a running emulator');
    assert.match(
      err.stderr ?? '',
      new RegExp(
        `cannot serve instance metadata on ${PREFIX.replace(/\./g, '\\.')}\\.10:${IMDS_PORT} \\(address in use\\): another emulator may use --ip-prefix ${PREFIX.replace(/\./g, '\\.')} / --imds-port ${IMDS_PORT}; pick others`,
      ),
    );
  } finally {
    await new Promise((r) => squatter.close(r));
  }
});

test('imdsFailureMessage names other causes without the prefix hint, and counts further failures', () => {
  const f = { instanceId: 'i-1', ip: '127.0.36.10', port: 1338, launchSeq: 1, error: undefined };
  assert.equal(
    imdsFailureMessage([{ ...f, why: 'permission denied' }], '127.0.36'),
    'cannot serve instance metadata on 127.0.36.10:1338 (permission denied)',
  );
  assert.equal(
    imdsFailureMessage(
      [
        { ...f, why: 'address in use' },
        { ...f, ip: '127.0.36.11', why: 'address in use' },
      ],
      '127.0.36',
    ),
    'cannot serve instance metadata on 127.0.36.10:1338 (address in use) (and 1 more instance): another emulator may use --ip-prefix 127.0.36 / --imds-port 1338; pick others',
  );
});

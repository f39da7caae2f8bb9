// The emulator over real sockets, driven by unmodified clients: curl, the AWS SDK's
// @aws-sdk/ec2-metadata-service (only its endpoint set), and the seed's termination check in bash
// (its curl + jq logic, only the base URLs changed). Listeners: 127.0.31.1 (main) and one IMDS per
// instance on 127.0.31.10+ :1338.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataService } from '@aws-sdk/ec2-metadata-service';
import { ManualClock } from '../support/manual-clock.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';

const IMDS_PORT = 1338;
const TOKEN = 'wire-test-token';

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function curl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('curl', ['-sS', '--max-time', '10', ...args]);
}

// The seed's termination.sh (seeds/000_*.txt): instance id from IMDS, lifeCycleState from the Spot API
// through jq, "TERMINATING" → leave. Only the two base URLs are variables; the etcdctl steps are
// replaced by echo since no etcd runs here.
const SEED_TERMINATION_CHECK = `#!/bin/bash
pkg="spotinst_etcd_termination"
spotinst_token="\${SPOTINST_TOKEN}"
ec2_instance_id=$(curl -s \${IMDS_URL}/latest/meta-data/instance-id)
if [[ ! $ec2_instance_id ]]; then
  echo "$pkg: failed to get instance id from instance metadata"
  exit 2
fi
ec2_instance_status=$(curl -X GET -H "Content-Type: application/json" -H "Authorization: Bearer \${spotinst_token}" "\${SPOT_URL}/aws/ec2/instance/\${ec2_instance_id}" | jq '.response | .items[0]|.lifeCycleState')
echo "ec2_instance_status=$ec2_instance_status"
if [[ $ec2_instance_status = *"TERMINATING"* ]]; then
  echo "removing etcd member from cluster: $ec2_instance_id"
fi
`;

describe('emulator over the wire', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let emu: RunningEmulator;
  let dir: string;

  before(async () => {
    const jq = await run('jq', ['--version']);
    assert.equal(jq.code, 0, 'jq is required (apt-get install -y jq)');
    dir = await mkdtemp(join(tmpdir(), 'emulator-wire-'));
    emu = await startEmulator({
      listen: '127.0.31.1:0',
      token: TOKEN,
      ipPrefix: '127.0.31',
      imdsPort: IMDS_PORT,
      clock,
      seed: 2026,
      groups: [
        { id: 'sig-aaaa0001', name: 'etcd', targetCapacity: 3 },
        { id: 'sig-aaaa0002', name: 'etcd-v2', targetCapacity: 1, imds: { requireV2: true } },
        { id: 'sig-aaaa0003', name: 'etcd-v1', targetCapacity: 1, imds: { tokenPut: 403 } },
      ],
    });
  });

  after(async () => {
    await emu?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const first = (groupId: string) => emu.state.listInstances({ groupId }).find((i) => i.state === 'running')!;

  test('curl: Spot API group status and a 401 without the token', async () => {
    const r = await curl(
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      `${emu.url}/aws/ec2/group/sig-aaaa0001/status`,
    );
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { response: { items: { privateIp: string }[]; count: number } };
    assert.equal(body.response.count, 3);
    assert.deepEqual(
      body.response.items.map((i) => i.privateIp),
      ['127.0.31.10', '127.0.31.11', '127.0.31.12'],
    );
    const denied = await curl(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${emu.url}/aws/ec2/group/sig-aaaa0001/status`,
    );
    assert.equal(denied.stdout, '401');
  });

  test('curl: IMDSv2 token flow on the instance address', async () => {
    const inst = first('sig-aaaa0001');
    assert.equal(emu.imdsUrl(inst.id), `http://${inst.privateIp}:${IMDS_PORT}`);
    const tok = await curl(
      '-X',
      'PUT',
      '-H',
      'X-aws-ec2-metadata-token-ttl-seconds: 60',
      `http://${inst.privateIp}:${IMDS_PORT}/latest/api/token`,
    );
    assert.equal(tok.code, 0, tok.stderr);
    assert.ok(tok.stdout.length > 20);
    const id = await curl(
      '-H',
      `X-aws-ec2-metadata-token: ${tok.stdout}`,
      `http://${inst.privateIp}:${IMDS_PORT}/latest/meta-data/instance-id`,
    );
    assert.equal(id.stdout, inst.id);
    const ip = await curl(`http://${inst.privateIp}:${IMDS_PORT}/latest/meta-data/local-ipv4`);
    assert.equal(ip.stdout, inst.privateIp);
    const group = await curl(
      `http://${inst.privateIp}:${IMDS_PORT}/latest/meta-data/tags/instance/spotinst:aws:ec2:group:id`,
    );
    assert.equal(group.stdout, 'sig-aaaa0001');
    const notice = await curl(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://${inst.privateIp}:${IMDS_PORT}/latest/meta-data/spot/instance-action`,
    );
    assert.equal(notice.stdout, '404');
    const bad = await curl(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'PUT',
      `http://${inst.privateIp}:${IMDS_PORT}/latest/api/token`,
    );
    assert.equal(bad.stdout, '400');
    // the same metadata by path on the main listener
    const byPath = await curl(`${emu.url}/emulator/instances/${inst.id}/imds/latest/meta-data/instance-id`);
    assert.equal(byPath.stdout, inst.id);
  });

  test('@aws-sdk/ec2-metadata-service with only its endpoint set (default mode)', async () => {
    const inst = first('sig-aaaa0001');
    const md = new MetadataService({
      endpoint: `http://${inst.privateIp}:${IMDS_PORT}`,
      httpOptions: { timeout: 5_000 },
    });
    assert.equal(await md.request('/latest/meta-data/instance-id', {}), inst.id); // sent as //latest/…
    assert.equal(
      await md.request('/latest/meta-data/placement/availability-zone', {}),
      inst.availabilityZone,
    );
  });

  test('@aws-sdk/ec2-metadata-service against requireV2 (token flow) — and 401 when the client cannot get a token', async () => {
    const inst = first('sig-aaaa0002');
    const md = new MetadataService({
      endpoint: `http://${inst.privateIp}:${IMDS_PORT}`,
      httpOptions: { timeout: 5_000 },
    });
    assert.equal(await md.request('/latest/meta-data/instance-id', {}), inst.id);
    const v1only = new MetadataService({
      endpoint: `http://${inst.privateIp}:${IMDS_PORT}`,
      disableFetchToken: true,
      retries: 0,
    });
    await assert.rejects(
      v1only.request('/latest/meta-data/instance-id', {}),
      (err: { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.$metadata?.httpStatusCode, 401);
        return true;
      },
    );
  });

  test('@aws-sdk/ec2-metadata-service falls back to IMDSv1 after a 403 on the token PUT, and never PUTs again', async () => {
    const inst = first('sig-aaaa0003');
    const md = new MetadataService({
      endpoint: `http://${inst.privateIp}:${IMDS_PORT}`,
      httpOptions: { timeout: 5_000 },
    });
    const before = emu.state.stats().routes.imds;
    assert.equal(await md.request('/latest/meta-data/instance-id', {}), inst.id);
    assert.equal(await md.request('/latest/meta-data/local-ipv4', {}), inst.privateIp);
    const afterStats = emu.state.stats().routes.imds;
    // PUT (403) + GET, then GET only.
    assert.equal(afterStats.requests - before.requests, 3);
    assert.equal(afterStats.clientErrors - before.clientErrors, 1);
    assert.equal(afterStats.ok - before.ok, 2);
  });

  test("the seed's termination check (bash + curl + jq) sees TERMINATING after an interrupt", async () => {
    const script = join(dir, 'termination.sh');
    await writeFile(script, SEED_TERMINATION_CHECK, { mode: 0o755 });
    const inst = first('sig-aaaa0001');
    const env = {
      SPOTINST_TOKEN: TOKEN,
      IMDS_URL: `http://${inst.privateIp}:${IMDS_PORT}`,
      SPOT_URL: emu.url,
    };
    const quiet = await run('bash', [script], env);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stdout, /ec2_instance_status="ACTIVE"/);
    assert.doesNotMatch(quiet.stdout, /removing etcd member/);

    const r = await curl(
      '-X',
      'POST',
      '-d',
      '{"noticeMs":60000}',
      `${emu.url}/emulator/instances/${inst.id}/interrupt`,
    );
    assert.equal(r.code, 0, r.stderr);
    const loud = await run('bash', [script], env);
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stdout, /ec2_instance_status="TERMINATING"/);
    assert.match(loud.stdout, new RegExp(`removing etcd member from cluster: ${inst.id}`));
    const action = await curl(`http://${inst.privateIp}:${IMDS_PORT}/latest/meta-data/spot/instance-action`);
    assert.equal(action.stdout, '{"action":"terminate","time":"2026-01-01T00:01:00Z"}');
  });

  test('signal over the wire terminates the instance; its IMDS listener is gone (connection refused); the replacement has one', async () => {
    const inst = emu.state.listInstances({ groupId: 'sig-aaaa0001' }).find((i) => i.state === 'terminating')!;
    const sig = await curl(
      '-X',
      'POST',
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify({ instanceId: inst.id, signal: 'INSTANCE_READY_TO_SHUTDOWN' }),
      `${emu.url}/aws/ec2/instance/signal`,
    );
    assert.equal(sig.code, 0, sig.stderr);
    assert.equal(emu.state.getInstance(inst.id)?.state, 'terminated');
    await emu.settled();
    const refused = await curl(`http://${inst.privateIp}:${IMDS_PORT}/latest/meta-data/instance-id`);
    assert.equal(refused.code, 7, `curl exit 7 = connection refused; got ${refused.code} ${refused.stderr}`);
    const replacement = emu.state.listInstances({ groupId: 'sig-aaaa0001' }).at(-1)!;
    assert.notEqual(replacement.id, inst.id);
    const id = await curl(`${emu.imdsUrl(replacement.id)}/latest/meta-data/instance-id`);
    assert.equal(id.stdout, replacement.id);
  });

  test('the grace period follows the injected clock: the interrupted instance ends when the clock passes it', async () => {
    const inst = first('sig-aaaa0001');
    await curl(
      '-X',
      'POST',
      '-d',
      '{"noticeMs":30000}',
      `${emu.url}/emulator/instances/${inst.id}/interrupt`,
    );
    await clock.advance(29_999);
    const still = await curl(
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      `${emu.url}/aws/ec2/instance/${inst.id}`,
    );
    assert.match(still.stdout, /"lifeCycleState":"TERMINATING"/);
    await clock.advance(1);
    const gone = await curl('-H', `Authorization: Bearer ${TOKEN}`, `${emu.url}/aws/ec2/instance/${inst.id}`);
    assert.match(gone.stdout, /INSTANCE_DOESNT_EXIST/);
  });

  test('timeout fault: curl sees the connection dropped; rate-limit fault: 429 with the headers', async () => {
    await curl(
      '-X',
      'POST',
      '-d',
      '{"route":"group-status","kind":"timeout","ms":50,"count":1}',
      `${emu.url}/emulator/faults`,
    );
    const dropped = await curl(
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      `${emu.url}/aws/ec2/group/sig-aaaa0001/status`,
    );
    assert.equal(dropped.code, 52, `curl exit 52 = empty reply; got ${dropped.code} ${dropped.stderr}`);
    await curl(
      '-X',
      'POST',
      '-d',
      '{"route":"group-status","kind":"rate-limit","resetSec":9,"count":1}',
      `${emu.url}/emulator/faults`,
    );
    const limited = await curl(
      '-i',
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      `${emu.url}/aws/ec2/group/sig-aaaa0001/status`,
    );
    assert.match(limited.stdout, /^HTTP\/1\.1 429/);
    assert.match(limited.stdout, /x-ratelimit-reset: 9/i);
    assert.match(limited.stdout, /"data":"Rate limit exceeded"/);
  });
});

test('startEmulator refuses non-loopback listen addresses and IP prefixes', async () => {
  await assert.rejects(startEmulator({ listen: '0.0.0.0:0', token: 't' }), /not a loopback address/);
  await assert.rejects(startEmulator({ listen: '10.0.0.1:8080', token: 't' }), /not a loopback address/);
  await assert.rejects(startEmulator({ listen: 'localhost', token: 't' }), /expected host:port/);
  await assert.rejects(
    startEmulator({ listen: '127.0.31.1:0', token: 't', ipPrefix: '10.1.2' }),
    /not in 127\.0\.0\.0\/8/,
  );
});

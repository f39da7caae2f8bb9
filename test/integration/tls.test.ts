/**
 * TLS end to end (issue 9 §3-4): two agents in-process against the emulator and real etcd 3.4 on
 * loopback 127.0.71.x, with certificates made by `etcd-spot certs`' adapter (openssl). Proves that etcd's
 * client and peer ports and the agents' endpoints refuse plain HTTP, no certificate, and a certificate
 * from another CA; that TLS agents bootstrap and join; that a rotated certificate is served without a
 * restart; and that no key material reaches etcd's argv or environment or the agents' logs.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { createEtcdCluster } from '../../src/adapters/etcd/etcd3-cluster.ts';
import { runningEtcdPids } from '../../src/adapters/etcd/etcd-process.ts';
import { requestText } from '../../src/adapters/local/https-get.ts';
import type { ClientTls } from '../../src/adapters/local/https-get.ts';
import { createCa, issueCert } from '../../src/adapters/local/openssl-certs.ts';
import { startEmulator } from '../../src/emulator/server.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';
import { waitFor } from '../support/wait.ts';
import { TOKEN, closeAll, logTail, startAgent } from './agent-support.ts';
import { runCli } from './cli-support.ts';
import type { TestAgent } from './agent-support.ts';

const IMDS_PORT = 13_771;

async function identity(files: { certFile: string; keyFile: string; caFile: string }): Promise<ClientTls> {
  return {
    cert: await readFile(files.certFile),
    key: await readFile(files.keyFile),
    ca: await readFile(files.caFile),
  };
}

/** Whether a request is answered with HTTP 200 (false for a refused handshake, a reset, any other status). */
async function answers200(url: string, tls?: ClientTls): Promise<{ ok: boolean; why: string }> {
  try {
    const r = await requestText(url, { signal: AbortSignal.timeout(3000), ...(tls ? { tls } : {}) });
    return { ok: r.status === 200, why: `HTTP ${r.status} ${r.text.slice(0, 80)}` };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

/** The SHA-256 fingerprint of the certificate a TLS server presents. */
function servedFingerprint(host: string, port: number, tls: ClientTls): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, ca: tls.ca, cert: tls.cert, key: tls.key }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
    s.setTimeout(3000, () => s.destroy(new Error('timeout')));
  });
}

describe('TLS: etcd and the agents with certificates from the group CA', () => {
  it('refuses plain HTTP, no certificate and another CA; bootstraps, joins, rotates; keeps keys out of argv, env and logs', async (t) => {
    let emu: RunningEmulator | undefined;
    const agents: TestAgent[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'etcd-spot-tls-'));
    try {
      emu = await startEmulator({
        listen: '127.0.71.1:0',
        token: TOKEN,
        imdsPort: IMDS_PORT,
        ipPrefix: '127.0.71',
        tickMs: 20,
      });
      const group = emu.state.createGroup({ name: 'tls', targetCapacity: 2, autoReplace: false });
      await emu.settled();
      const instances = emu.state.listInstances({ groupId: group.id });
      assert.equal(instances.length, 2);

      await createCa(join(dir, 'ca'));
      await createCa(join(dir, 'other-ca'));
      const nodeFiles = new Map<string, { certFile: string; keyFile: string; caFile: string }>();
      for (const [i, inst] of instances.entries()) {
        nodeFiles.set(
          inst.id,
          await issueCert({
            caDir: join(dir, 'ca'),
            outDir: join(dir, inst.id),
            commonName: inst.id,
            // etcd checks a peer's certificate against the source address: 127.0.0.1 on loopback.
            ips: [inst.privateIp, '127.0.0.1'],
            // The second one expires within 30 days: its agent warns.
            ...(i === 1 ? { days: 10 } : {}),
          }),
        );
      }
      const clientFiles = await issueCert({
        caDir: join(dir, 'ca'),
        outDir: join(dir, 'client'),
        commonName: 'test',
        ips: ['127.0.0.1'],
      });
      const good = await identity(clientFiles);
      const otherFiles = await issueCert({
        caDir: join(dir, 'other-ca'),
        outDir: join(dir, 'rogue'),
        commonName: 'rogue',
        ips: ['127.0.0.1'],
      });
      // Trusts the real CA (so any failure is the server refusing it) but presents another CA's certificate.
      const rogue: ClientTls = { ...(await identity(otherFiles)), ca: good.ca };
      const noCert = { ca: good.ca } as ClientTls;

      const tlsConfig = (id: string): Record<string, string> => {
        const f = nodeFiles.get(id);
        assert.ok(f);
        return {
          'etcd.tls.certFile': f.certFile,
          'etcd.tls.keyFile': f.keyFile,
          'etcd.tls.caFile': f.caFile,
          'etcd.tls.peerCertFile': f.certFile,
          'etcd.tls.peerKeyFile': f.keyFile,
          'etcd.tls.peerCaFile': f.caFile,
          'etcd.tls.reloadInterval': '200ms',
        };
      };
      for (const inst of instances)
        agents.push(await startAgent(emu, group.id, inst.id, { config: tlsConfig(inst.id) }));
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];

      // Both members over https, both started.
      const etcd = createEtcdCluster({ callTimeoutMs: 2000, tls: () => ({ ...good, generation: 1 }) });
      try {
        const members = await waitFor(
          async () => {
            const list = await etcd
              .listMembers(instances.map((i) => `https://${i.privateIp}:2379`))
              .catch(() => []);
            return list.length === 2 && list.every((m) => m.name !== '') ? list : undefined;
          },
          { timeoutMs: 40_000, intervalMs: 250, what: 'two started members over TLS' },
        );
        for (const m of members) {
          assert.match(m.peerUrls[0] ?? '', /^https:\/\/127\.0\.71\.\d+:2380$/);
          assert.match(m.clientUrls[0] ?? '', /^https:\/\/127\.0\.71\.\d+:2379$/);
        }
        // The follower reads the leader's agent's group list over mTLS (GET /v1/group, signed both ways).
        await waitFor(
          () =>
            agents.some((ag) => {
              const g = ag.runtime.observer.groupView();
              return g?.ok === true && g.sharedBy !== undefined;
            }),
          {
            timeoutMs: 20_000,
            intervalMs: 200,
            what: "a follower reading the leader's agent's list over TLS",
          },
        );
      } catch (err) {
        for (const ag of agents) t.diagnostic(await logTail(ag, 15));
        throw err;
      } finally {
        await etcd.close();
      }

      // etcd's client port (2379) and peer port (2380), and the agent's status server (2378).
      const endpoints = [
        { what: 'etcd client port', url: `${a.privateIp}:2379/health` },
        { what: 'etcd peer port', url: `${a.privateIp}:2380/members` },
        { what: 'agent status server', url: `${a.privateIp}:2378/healthz` },
      ];
      for (const e of endpoints) {
        const ok = await answers200(`https://${e.url}`, good);
        assert.ok(ok.ok, `${e.what}: a certificate from the group CA is served: ${ok.why}`);
        for (const [who, r] of [
          ['plain HTTP', await answers200(`http://${e.url}`)],
          ['no client certificate', await answers200(`https://${e.url}`, noCert)],
          ['a certificate from another CA', await answers200(`https://${e.url}`, rogue)],
        ] as const) {
          assert.equal(r.ok, false, `${e.what}: ${who} must be refused (got ${r.why})`);
          t.diagnostic(`${e.what}, ${who}: ${r.why}`);
        }
      }
      // The HMAC check stays on with TLS: a valid certificate without a signature is still 401 under /v1.
      const unsigned = await requestText(`https://${a.privateIp}:2378/v1/status`, { tls: good });
      assert.equal(unsigned.status, 401);
      // `etcd-spot status` with etcdctl's TLS flags reads etcd over https and each agent's signed
      // /v1/status over mTLS: every row has its agent's activity (issue 13 §2).
      const tlsFlags = [
        '--cacert',
        clientFiles.caFile,
        '--cert',
        clientFiles.certFile,
        '--key',
        clientFiles.keyFile,
      ];
      const st = await runCli(
        ['status', '-o', 'json', '--api-url', emu.url, '--group-id', group.id, ...tlsFlags],
        {
          SPOTINST_TOKEN: TOKEN,
        },
      );
      const report = JSON.parse(st.stdout);
      assert.equal(report.rows.length, 2, st.stdout + st.stderr);
      for (const row of report.rows) {
        assert.equal(row.healthy, true, JSON.stringify(row));
        assert.ok(row.agent.cycle > 0 && row.agent.decision !== undefined, JSON.stringify(row.agent));
      }
      const noCertStatus = await runCli(
        ['status', '-o', 'json', '--api-url', emu.url, '--group-id', group.id],
        {
          SPOTINST_TOKEN: TOKEN,
        },
      );
      assert.equal(noCertStatus.code, 4, 'plain http reaches no member of a TLS cluster');

      // Nothing secret in etcd's argv or environment: paths only.
      const pids = runningEtcdPids();
      assert.equal(pids.length, 2);
      const keyPem = await readFile(nodeFiles.get(a.id)?.keyFile ?? '', 'utf8');
      const keyBody = keyPem.split('\n')[1] ?? 'unreachable';
      for (const pid of pids) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
        assert.ok(
          argv.some((x) => /^--key-file=\/.+node\.key$/.test(x)),
          argv.join(' '),
        );
        assert.ok(argv.some((x) => /^--peer-key-file=\/.+node\.key$/.test(x)));
        assert.ok(argv.includes('--client-cert-auth=true') && argv.includes('--peer-client-cert-auth=true'));
        const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
        for (const text of [argv.join(' '), environ]) {
          assert.doesNotMatch(text, /PRIVATE KEY|BEGIN CERTIFICATE/);
          assert.ok(!text.includes(keyBody) && !text.includes(TOKEN));
        }
      }

      // Rotation: a new certificate and key for agent a, written in place, is served without a restart.
      const before = await servedFingerprint(a.privateIp, 2378, good);
      const rotated = await issueCert({
        caDir: join(dir, 'ca'),
        outDir: join(dir, a.id),
        commonName: `${a.id}-rotated`,
        ips: [a.privateIp, '127.0.0.1'],
      });
      const want = new X509Certificate(await readFile(rotated.certFile)).fingerprint256;
      assert.notEqual(want, before);
      for (const [what, port] of [
        ['the agent status server', 2378],
        ['etcd (reloads per connection)', 2379],
      ] as const) {
        await waitFor(async () => (await servedFingerprint(a.privateIp, port, good)) === want, {
          timeoutMs: 10_000,
          intervalMs: 100,
          what: `${what} to serve the rotated certificate`,
        });
      }
      const agentA = agents[0] as TestAgent;
      await waitFor(
        async () => (await readFile(agentA.logFile, 'utf8')).includes('TLS certificate reloaded'),
        { timeoutMs: 5000, what: "agent a's log to say it reloaded the certificate" },
      );
      // Its etcd client reconnected with the new certificate and still works (another cycle ran).
      const cycles = agentA.runtime.agent.cycleCount;
      await waitFor(() => agentA.runtime.agent.cycleCount > cycles + 2 && agentA.runtime.readiness().ready, {
        timeoutMs: 10_000,
        what: 'agent a to keep cycling, ready, after the rotation',
      });
      const agentB = agents[1] as TestAgent;
      const logB = await readFile(agentB.logFile, 'utf8');
      assert.match(logB, /"daysLeft":9.*TLS certificate expires soon/);
      assert.doesNotMatch(await readFile(agentA.logFile, 'utf8'), /expires soon/);
      void b;

      // No key material in either agent's log.
      for (const ag of agents) {
        const log = await readFile(ag.logFile, 'utf8');
        assert.doesNotMatch(log, /PRIVATE KEY/);
        assert.ok(!log.includes(keyBody));
      }
    } finally {
      await closeAll(agents, emu);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

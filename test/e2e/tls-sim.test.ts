/**
 * The simulator over TLS (`tls: true`, `sim --tls`): a 2-instance group of real agents and etcd on
 * 127.0.74.x with a CA and certificates made for the run converges and takes writes, and no key
 * material reaches the JSON report, the HTML report, the agents' logs or etcd's logs.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runSim } from '../../src/sim/run.ts';
import { parseScenarioText } from '../../src/sim/scenario-schema.ts';
import { seedFor } from './helpers.ts';

const SCENARIO = `
name: tls-smoke
description: 2 instances over TLS; converge and write
duration: 2m
tls: true
group:
  size: 2
workload:
  writers: 2
  writesPerSecond: 100
timeline:
  - waitConverged
  - sleep: 3s
`;

/** Every file under `dir` whose name matches `re`. */
async function filesUnder(dir: string, re: RegExp): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && re.test(e.name)) out.push(join(e.parentPath, e.name));
  }
  return out;
}

test(
  'a TLS run converges, writes, and keeps every private key out of reports and logs',
  { timeout: 150_000 },
  async (t) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const { report, fleet } = await runSim({
      scenario: parseScenarioText(SCENARIO, 'tls-smoke.yaml'),
      seed: seedFor(7400),
      ipPrefix: '127.0.74',
      out,
      tty: false,
      keepFleet: true,
    });
    try {
      t.diagnostic(`seed ${fleet.seed}, run dir ${fleet.runDir}`);
      assert.ok(report.pass, `verdict FAIL:\n${text.slice(-3000)}`);
      assert.match(text, /agent: etcd-spot agent, TLS/);
      assert.ok(fleet.clientUrls().every((u) => u.startsWith('https://')));
      const keys = await filesUnder(fleet.runDir, /\.key$/);
      assert.ok(keys.length >= 3, `a CA key, the simulator's and one per instance: ${keys.join(', ')}`);
      // The base64 body lines of every key (never in any report or log).
      const bodies = (await Promise.all(keys.map((k) => readFile(k, 'utf8'))))
        .flatMap((pem) => pem.split('\n'))
        .filter((l) => l.length > 20 && !l.startsWith('-----'));
      const docs = [
        join(fleet.runDir, 'report.html'),
        ...(await filesUnder(fleet.runDir, /^(agent|etcd)\.log$|\.json$/)),
      ];
      assert.ok(docs.some((d) => d.endsWith('report.html')));
      for (const d of docs) {
        const body = await readFile(d, 'utf8').catch(() => '');
        assert.doesNotMatch(body, /PRIVATE KEY/, d);
        for (const b of bodies) assert.ok(!body.includes(b), `${d} holds key material`);
      }
    } finally {
      await fleet.close({ removeData: true });
      if (report.pass) await rm(fleet.runDir, { recursive: true, force: true });
    }
  },
);

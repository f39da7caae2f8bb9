/**
 * The simulator explains itself (issue 13 §5, §6) on a real run: a 3-instance group of real agents and
 * etcd on 127.0.151.x, the leader interrupted with a 15 s notice. The verdict says what PASS means and
 * numbers the event 1 with its step; the JSON report carries the versions, the event's number and its
 * targets; the HTML report links every instance's logs; and the lines `sim --keep` prints, pasted into
 * a shell against the kept fleet, list the members with etcd-spot and with etcdctl.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/sim/fleet.ts';
import { keepHintLines } from '../../src/sim/keep-hints.ts';
import { runSim } from '../../src/sim/run.ts';
import { parseScenarioText } from '../../src/sim/scenario-schema.ts';
import { PASS_MEANING } from '../../src/sim/view.ts';
import { seedFor } from './helpers.ts';

const execFileAsync = promisify(execFile);

/** Runs a pasted line with sh in the repository: exit code and output, never throws. */
async function run(cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileAsync('sh', ['-c', cmd], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const SCENARIO = `
name: report-smoke
description: interrupt the leader of 3 with a 15 s notice, then converge
duration: 3m
group:
  size: 3
workload:
  writers: 2
  writesPerSecond: 100
timeline:
  - waitConverged
  - sleep: 2s
  - interrupt: { target: leader, notice: 15s }
  - waitConverged
`;

test(
  'a real run: the verdict explained, the JSON and HTML reports, and the --keep lines work when pasted',
  { timeout: 240_000 },
  async (t) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const { report, fleet } = await runSim({
      scenario: parseScenarioText(SCENARIO, 'report-smoke.yaml'),
      seed: seedFor(15100),
      ipPrefix: '127.0.151',
      out,
      tty: false,
      keepFleet: true,
    });
    try {
      t.diagnostic(`seed ${fleet.seed}, run dir ${fleet.runDir}`);
      assert.ok(report.pass, `verdict FAIL:\n${text.slice(-3000)}`);

      // The verdict: what PASS means, the event numbered 1 with the step that caused it, its targets.
      assert.ok(text.includes(PASS_MEANING));
      assert.match(
        text,
        /\n {2}1\. interrupt the leader \(notice 15s\) → i-[0-9a-f]{17} \(leader\) \[step 3\]\n/,
      );
      assert.match(text, /leadership moved first/);
      assert.match(text, /\n {5}[✓✗] removed within 2 × poll = 2\.0 s: removed after /);
      assert.match(
        text,
        /\n {5}[✓✗] 0 failed writes and longest gap < 50 ms \(notice ≥ 10 s\): \d+ failed, /,
      );

      // The JSON report: versions, the event's number and targets, the logs, IMDS no-notice polls.
      assert.equal(report.schemaVersion, 1);
      assert.match(report.versions?.etcd ?? '', /^\d+\.\d+\.\d+$/, 'etcd --version was read');
      assert.match(report.versions?.commit ?? '', /^[0-9a-f]{40}$/, 'run from a git checkout');
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
      assert.equal(report.versions?.etcdSpot, pkg.version);
      const ev = report.events[0];
      assert.equal(report.events.length, 1);
      assert.equal(ev?.n, 1);
      assert.equal(ev?.step, 2);
      assert.equal(ev?.noticeMs, 15_000);
      assert.equal(ev?.targetVoters, 3);
      assert.deepEqual(
        ev?.targets?.map((c) => c.id),
        ['no-failed-writes-with-notice', 'removal-within-2x-poll', 'replacement-voter-5s'],
      );
      assert.equal(report.terminationPollMs, 1000);
      const imds = report.api.routes.imds;
      assert.ok(imds.noNotice > 0, 'the agents polled for a notice before there was one');
      assert.ok(
        imds.clientErrors < imds.noNotice,
        `no-notice 404s are not errors (${imds.clientErrors} errors, ${imds.noNotice} no notice)`,
      );
      assert.ok((report.instanceLogs?.length ?? 0) >= 4, 'the three instances and the replacement');
      for (const l of report.instanceLogs ?? []) assert.ok(existsSync(l.agentLog), l.agentLog);

      // The HTML report: the decision log and a link to every instance's agent log that resolves.
      const htmlPath = join(fleet.runDir, 'report.html');
      const html = readFileSync(htmlPath, 'utf8');
      assert.match(html, /<h2>Agents' decisions<\/h2>/);
      assert.match(html, /<tr data-status="ok">[\s\S]*?move-leader/);
      const hrefs = [...html.matchAll(/<a href="([^"]+)">agent\.log<\/a>/g)].map((m) => m[1] as string);
      assert.equal(hrefs.length, report.instanceLogs?.length);
      for (const h of hrefs) assert.ok(existsSync(join(dirname(htmlPath), decodeURIComponent(h))), h);

      // sim --keep: paste the printed lines into a shell (etcd-spot run from this checkout).
      const lines = keepHintLines(fleet.keptFleet(), 'node --import tsx src/cli/main.ts');
      const commands = lines.filter((l) => l.startsWith('  ')).map((l) => l.trim());
      assert.equal(commands.length, 3);
      // Every member of the kept fleet, as etcd lists it now, must be in each command's output.
      const memberIds = (await fleet.snapshot()).members.map((m) => m.id);
      assert.equal(memberIds.length, 3);
      for (const cmd of commands) {
        // Asynchronously: the emulator the command talks to runs in this very process.
        const r = await run(cmd);
        assert.equal(r.code, 0, `${cmd}\n${r.stdout}\n${r.stderr}`);
        // etcdctl prints member ids without leading zeros (%x), etcd-spot with all 16 digits.
        for (const id of memberIds)
          assert.match(r.stdout, new RegExp(`\\b0*${id.replace(/^0+/, '')}\\b`), `${cmd} shows member ${id}`);
      }
    } finally {
      await fleet.close({ removeData: true });
      if (report.pass) rmSync(fleet.runDir, { recursive: true, force: true });
    }
  },
);

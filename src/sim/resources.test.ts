import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceAccountant, parseProcStat, readProcStats } from './resources.ts';
import type { ProcStat } from './resources.ts';

test('a /proc/<pid>/stat line is parsed, also with spaces and parentheses in the command name', () => {
  const line =
    '4242 (node (x) y) S 4000 4242 4242 0 -1 4194560 1000 0 0 0 150 50 7 3 20 0 11 0 123456 1234567 20480 18446744073709551615';
  assert.deepEqual(parseProcStat(line), {
    pid: 4242,
    comm: 'node (x) y',
    ppid: 4000,
    pgid: 4242,
    utime: 150,
    stime: 50,
    cutime: 7,
    cstime: 3,
    starttime: 123456,
    rss: 20480,
  });
  assert.equal(parseProcStat('garbage'), undefined);
});

test('this process is found in /proc with plausible numbers', () => {
  const me = readProcStats().find((p) => p.pid === process.pid);
  assert.ok(me, 'own pid not in /proc');
  assert.ok(me.rss > 0);
  assert.equal(me.ppid, process.ppid);
});

function proc(p: Partial<ProcStat> & { pid: number; comm: string }): ProcStat {
  return { ppid: 1, pgid: p.pid, utime: 0, stime: 0, cutime: 0, cstime: 0, starttime: p.pid, rss: 0, ...p };
}

const UNITS = { ticksPerSecond: 100, pageSize: 4096 };
const MB = 256; // pages of 4 KiB

test('agent and etcd are told apart; peak RSS is per instance, CPU is ticks over running time', () => {
  const a = new ResourceAccountant(UNITS);
  const groups = [
    { instanceId: 'i-a', pgid: 100 },
    { instanceId: 'i-b', pgid: 200 },
  ];
  const sample = (t: number, agentTicks: number, etcdTicks: number, agentMb: number) => [
    proc({ pid: 100, comm: 'node', utime: agentTicks, rss: agentMb * MB }),
    proc({ pid: 101, comm: 'etcd', ppid: 100, pgid: 100, utime: etcdTicks, rss: 40 * MB }),
    proc({ pid: 200, comm: 'node', utime: agentTicks / 2, rss: 60 * MB }),
    // A process of nobody's group (e.g. another test's etcd): not counted.
    proc({ pid: 300, comm: 'etcd', utime: 10_000 * t, rss: 999 * MB }),
  ];
  a.observe(0, sample(0, 0, 0, 70), groups);
  a.observe(1000, sample(1, 10, 30, 90), groups);
  a.observe(2000, sample(2, 20, 60, 80), groups);
  const r = a.report(1000);
  assert.equal(r.samples, 3);
  const ia = r.perInstance.find((x) => x.instanceId === 'i-a');
  assert.ok(ia);
  assert.equal(ia.agent.peakRssMb, 90);
  assert.equal(ia.etcd.peakRssMb, 40);
  assert.equal(ia.agent.runningMs, 2000);
  assert.equal(ia.agent.cpuSeconds, 0.2);
  assert.equal(ia.agent.meanCpuPercent, 10); // 0.2 s over 2 s
  assert.equal(ia.etcd.meanCpuPercent, 30);
  assert.deepEqual(ia.commands, { agent: ['node'], etcd: ['etcd'] });
  // Fleet: the highest peak of any one instance; CPU summed over summed running time.
  assert.equal(r.agent.peakRssMb, 90);
  assert.equal(r.agent.meanCpuPercent, 7.5); // (0.2 + 0.1) s over 4 s
  assert.equal(r.etcd.peakRssMb, 40);
});

test('helpers that live between two samples are counted through their parent; a reaped etcd is not counted twice', () => {
  const a = new ResourceAccountant(UNITS);
  const groups = [{ instanceId: 'i-a', pgid: 100 }];
  a.observe(
    0,
    [proc({ pid: 100, comm: 'bash' }), proc({ pid: 101, comm: 'etcd', ppid: 100, pgid: 100, utime: 0 })],
    groups,
  );
  a.observe(
    1000,
    [proc({ pid: 100, comm: 'bash' }), proc({ pid: 101, comm: 'etcd', ppid: 100, pgid: 100, utime: 50 })],
    groups,
  );
  // Between 1 s and 2 s: a curl ran and was reaped (5 ticks), and etcd exited (it had used 52 ticks
  // in all, 2 after the last sample) and was reaped by bash, which was restarting it.
  a.observe(2000, [proc({ pid: 100, comm: 'bash', cutime: 5 + 52 })], groups);
  const r = a.report(1000);
  const i = r.perInstance[0];
  assert.ok(i);
  // Agent: 5 ticks of curl + the 2 unseen ticks of etcd's last moments (attributed to the agent).
  assert.equal(i.agent.cpuSeconds, 0.07);
  assert.equal(i.etcd.cpuSeconds, 0.5);
});

test('a reused pid is a new process; a descendant in another process group still counts', () => {
  const a = new ResourceAccountant(UNITS);
  const groups = [{ instanceId: 'i-a', pgid: 100 }];
  a.observe(0, [proc({ pid: 100, comm: 'node', utime: 500, starttime: 1 })], groups);
  // pid 100 died and was reused by a fresh process (new start time): its 3 ticks are new, not -497.
  a.observe(
    1000,
    [
      proc({ pid: 100, comm: 'node', utime: 3, starttime: 999 }),
      proc({ pid: 150, comm: 'etcd', ppid: 100, pgid: 150, utime: 20 }),
    ],
    groups,
  );
  const i = a.report(1000).perInstance[0];
  assert.ok(i);
  assert.equal(i.agent.cpuSeconds, 5.03);
  assert.equal(i.etcd.cpuSeconds, 0.2);
});

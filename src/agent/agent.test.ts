import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Action } from '../core/actions.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { Agent } from './agent.ts';
import type { CycleResult, PlanFn } from './agent.ts';
import { LocalStateStore } from './local-state.ts';
import { Observer } from './observe.ts';
import { FakeEtcd, FakeGroup, FakeRunner, recordingLogger } from './testing/fakes.ts';
import { newAgentMemory } from './types.ts';
import type { AgentSettings, PeerAgents } from './types.ts';
import { VoteKeeper } from './votes.ts';

describe('Agent', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-agent-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function setup(
    plan: PlanFn,
    onCycle?: (r: CycleResult) => void,
    voteOver: Partial<ConstructorParameters<typeof VoteKeeper>[0]> = {},
  ) {
    const clock = new ManualClock(1_000_000);
    const logger = recordingLogger();
    const settings: AgentSettings = {
      dataDir: '/d',
      clientPort: 2379,
      peerPort: 2380,
      statusPort: 2378,
      callTimeoutMs: 100,
      cloudTimeoutMs: 100,
      cycleIntervalMs: 5000,
      groupPollIntervalMs: 1000,
      policy: DEFAULT_POLICY,
    };
    const etcd = new FakeEtcd();
    const runner = new FakeRunner();
    const group = new FakeGroup();
    group.instances = [{ id: 'i-1', privateIp: '10.0.0.1' }];
    const store = new LocalStateStore(join(dir, `s${++n}`));
    const memory = newAgentMemory();
    const peers: PeerAgents = {
      bootstrapView: async (p) => ({ instanceId: p.id, reachable: false }),
      requestVote: async () => ({ granted: false, reason: '' }),
    };
    const observer = new Observer({
      settings,
      metadata: {
        identity: async () => ({ instanceId: 'i-1', privateIp: '10.0.0.1' }),
        get: async () => undefined,
      },
      group,
      etcd,
      runner,
      termination: { view: () => ({ notices: [], errors: [] }) },
      store,
      peers,
      memory,
      hasData: async () => true,
      clock,
      logger,
    });
    const votes = new VoteKeeper({
      store,
      clock,
      logger,
      voteTtlMs: 30_000,
      groupView: () => undefined,
      localFacts: async () => ({ hasData: true }),
      ...voteOver,
    });
    const wiped: string[] = [];
    const agent = new Agent({
      settings,
      observer,
      etcd,
      runner,
      group,
      store,
      peers,
      votes,
      memory,
      hasData: async () => true,
      wipeData: async (d) => void wiped.push(d),
      clock,
      logger,
      plan,
      ...(onCycle !== undefined ? { onCycle } : {}),
    });
    return { agent, clock, store, wiped, logger, memory };
  }

  it('executes only the first action and logs one plan line', async () => {
    const s = setup(() => [
      { kind: 'mark-left', reason: 'notice' },
      { kind: 'signal-ready-to-shutdown', reason: 'then' },
    ]);
    const r = await s.agent.runOnce();
    assert.deepEqual([r.cycle, r.action.kind, r.progressed, r.plan.length], [1, 'mark-left', true, 2]);
    const rec = await s.store.read();
    assert.equal(rec.ok && rec.record.left?.reason, 'notice');
    const planLines = s.logger.entries.filter((e) => e.msg === 'plan');
    assert.deepEqual(
      planLines.map((e) => [e.level, e.obj.cycle, e.obj.action, e.obj.reason]),
      [['info', 1, 'mark-left', 'notice']],
    );
  });

  it('refuses destructive actions while state.json is corrupt, and leaves the file alone', async () => {
    const s = setup(() => [{ kind: 'wipe-data', reason: 'stale' }]);
    await s.store.write({});
    await writeFile(s.store.path, 'not json');
    const r = await s.agent.runOnce();
    assert.equal(r.action.kind, 'wait');
    assert.match(r.action.reason, /refusing wipe-data while the state file is unreadable/);
    assert.deepEqual(s.wiped, []);
  });

  it('tells onCycle about every cycle; an onCycle that throws is logged and the cycle still counts', async () => {
    const seen: [number, string, string | undefined][] = [];
    const s = setup(
      () => [{ kind: 'wipe-data', reason: 'stale' }],
      (r) => {
        seen.push([r.cycle, r.action.kind, r.plan[0]?.kind]);
        if (r.cycle === 2) throw new Error('metrics broke');
      },
    );
    await s.agent.runOnce();
    const r2 = await s.agent.runOnce();
    assert.equal(r2.progressed, true);
    assert.deepEqual(seen, [
      [1, 'wipe-data', 'wipe-data'],
      [2, 'wipe-data', 'wipe-data'],
    ]);
    assert.ok(s.logger.entries.some((e) => e.msg === 'onCycle failed' && e.level === 'warn'));
  });

  it('re-observes at once after progress, sleeps after a wait, and a notice wakes it early', async () => {
    const plans: Action[] = [
      { kind: 'mark-left', reason: 'a' },
      { kind: 'wait', reason: 'b' },
      { kind: 'wait', reason: 'c' },
    ];
    let i = 0;
    const s = setup(() => [plans[Math.min(i++, plans.length - 1)] as Action]);
    const ac = new AbortController();
    const loop = s.agent.run(ac.signal);
    const reach = async (cycles: number, ms = 3000) => {
      const end = Date.now() + ms;
      while (s.agent.cycleCount < cycles && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      // Let a cycle that should not happen get its chance.
      await new Promise((r) => setTimeout(r, 50));
      return s.agent.cycleCount;
    };
    assert.equal(await reach(2), 2, 'progress → next cycle without sleeping; wait → sleep');
    await s.clock.advance(1000);
    assert.equal(await reach(3, 200), 2, 'still sleeping');
    s.agent.wake();
    assert.equal(await reach(3), 3, 'woken by a notice');
    // Advance only once the loop sleeps again: an advance before its sleep starts would never wake it
    // (a CI flake under load, where 50 ms were not always enough to get there).
    const asleepBy = Date.now() + 3000;
    while (s.clock.pendingSleeps === 0 && Date.now() < asleepBy) await new Promise((r) => setTimeout(r, 5));
    await s.clock.advance(5000);
    assert.equal(await reach(4), 4, 'the interval passed');
    ac.abort();
    await loop;
  });

  it('a start notice for the plan recorded with our vote wakes the loop at once; one for another plan does not', async () => {
    const plan = {
      token: 'sig-1-i-0-1',
      instances: ['i-0', 'i-1', 'i-2'],
      members: ['i-0', 'i-1', 'i-2'].map((id, k) => ({ instanceId: id, peerUrl: `http://10.0.0.${k}:2380` })),
    };
    const s = setup(() => [{ kind: 'wait', reason: 'waiting for seeder i-0' }], undefined, {
      localFacts: async () => ({ hasData: false }),
      self: () => ({ instanceId: 'i-1', peerUrl: 'http://10.0.0.1:2380' }),
    });
    await s.store.write({ vote: { candidate: 'i-0', at: s.clock.now() - 1000, plan } });
    const ac = new AbortController();
    const loop = s.agent.run(ac.signal);
    const reach = async (cycles: number, ms = 3000) => {
      const end = Date.now() + ms;
      while (s.agent.cycleCount < cycles && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      return s.agent.cycleCount;
    };
    assert.equal(await reach(1), 1);
    const other = await s.agent.notePlanStart('i-0', 'sig-1-i-0-0');
    assert.equal(other.accepted, false);
    assert.equal(await reach(2, 200), 1, 'still sleeping');
    const taken = await s.agent.notePlanStart('i-0', plan.token);
    assert.equal(taken.accepted, true, taken.reason);
    assert.equal(await reach(2), 2, 'woken by the notice');
    const rec = await s.store.read();
    assert.equal(rec.ok && rec.record.planStarted?.token, plan.token, 'the start is recorded');
    ac.abort();
    await loop;
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdError, EtcdSpotError } from '../core/errors.ts';
import type { Action } from '../core/actions.ts';
import type { BootstrapPlan, MemberView, Observation } from '../core/observation.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import { systemClock } from '../adapters/local/system-clock.ts';
import { executeAction, initialClusterFrom, SIGNAL_BACKOFF_MAX_MS, startBackoffMs } from './execute.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import type { ExecuteContext } from './execute.ts';
import { LocalStateStore } from './local-state.ts';
import { FakeEtcd, FakeGroup, FakeRunner, memberStatus, recordingLogger } from './testing/fakes.ts';
import { newAgentMemory } from './types.ts';
import type { PeerAgents, VoteAnswer } from './types.ts';

const SELF = {
  instanceId: 'i-2',
  privateIp: '10.0.0.2',
  peerUrl: 'http://10.0.0.2:2380',
  clientUrl: 'http://10.0.0.2:2379',
};
const CLUSTER = 'c0000000000000c1';
const M1 = '0000000000000001';
const M3 = '0000000000000003';

function member(id: string, ip: string, extra: Partial<MemberView> = {}): MemberView {
  return {
    id,
    name: `i-${ip.split('.').pop()}`,
    peerUrls: [`http://${ip}:2380`],
    clientUrls: [`http://${ip}:2379`],
    isLearner: false,
    reachable: true,
    leaderId: M1,
    ...extra,
  };
}

function observation(over: Partial<Observation> = {}): Observation {
  return {
    self: SELF,
    group: {
      ok: true,
      fetchedAt: 0,
      instances: [
        { id: 'i-1', privateIp: '10.0.0.1' },
        { id: 'i-2', privateIp: '10.0.0.2' },
        { id: 'i-3', privateIp: '10.0.0.3' },
      ],
    },
    termination: { notices: [], errors: [] },
    local: { etcdRunning: false, hasData: false, record: {}, startFailures: 0, signalledReady: false },
    cluster: {
      reachable: true,
      clusterId: CLUSTER,
      leaderId: M1,
      via: 'http://10.0.0.3:2379',
      members: [member(M3, '10.0.0.3'), member(M1, '10.0.0.1')],
    },
    ...over,
  };
}

describe('executeAction (fake ports)', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-spot-exec-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function setup(obs = observation()) {
    const etcd = new FakeEtcd();
    const runner = new FakeRunner();
    const group = new FakeGroup();
    const store = new LocalStateStore(join(dir, `s${++n}`));
    const memory = newAgentMemory();
    const logger = recordingLogger();
    const wiped: string[] = [];
    const votes: { peer: string; candidate: string; desiredCapacity: number; plan?: BootstrapPlan }[] = [];
    const ownVotes: number[] = [];
    const ownPlans: (BootstrapPlan | undefined)[] = [];
    let hasData = false;
    /** How each peer answers a vote request (default: i-3 unreachable, the others grant). */
    const answers = new Map<string, VoteAnswer | Error>([['i-3', new Error('connect ECONNREFUSED')]]);
    const notices: { peer: string; candidate: string; token: string; launchesBefore: number }[] = [];
    const peers: PeerAgents = {
      bootstrapView: async (p) => ({ instanceId: p.id, reachable: true }),
      announcePlanStart: async (p, n) => {
        notices.push({ peer: p.id, ...n, launchesBefore: runner.launches.length });
        return { accepted: true, reason: 'ok' };
      },
      requestVote: async (p, request): Promise<VoteAnswer> => {
        votes.push({ peer: p.id, ...request });
        const a = answers.get(p.id) ?? { granted: true, reason: 'ok' };
        if (a instanceof Error) throw a;
        return a;
      },
    };
    const ctx: ExecuteContext = {
      obs,
      settings: {
        dataDir: '/data/etcd',
        clientPort: 2379,
        peerPort: 2380,
        statusPort: 2378,
        callTimeoutMs: 200,
        cloudTimeoutMs: 200,
        cycleIntervalMs: 100,
        groupPollIntervalMs: 100,
        policy: DEFAULT_POLICY,
        startWaitMs: 300,
      },
      etcd,
      runner,
      group,
      store,
      peers,
      castOwnVote: async (_candidate, desiredCapacity, plan) => {
        ownVotes.push(desiredCapacity);
        ownPlans.push(plan);
        return { granted: true, reason: 'self', ...(plan !== undefined ? { planAccepted: true } : {}) };
      },
      memory,
      hasData: async () => hasData,
      wipeData: async (d) => {
        wiped.push(d);
      },
      clock: systemClock,
      logger,
    };
    runner.onStart = () => etcd.statuses.set(SELF.clientUrl, memberStatus('00000000000000aa', CLUSTER, M1));
    return {
      ctx,
      etcd,
      runner,
      group,
      store,
      memory,
      logger,
      wiped,
      ownVotes,
      ownPlans,
      answers,
      notices,
      votes,
      setHasData: (v: boolean) => (hasData = v),
    };
  }

  it('bootstrap starts a new single-member cluster and records its ids', async () => {
    const s = setup(observation({ cluster: { reachable: false, error: 'none', probed: [] } }));
    s.runner.onStart = () =>
      s.etcd.statuses.set(
        SELF.clientUrl,
        memberStatus('00000000000000bb', 'cccccccccccccccc', '00000000000000bb'),
      );
    s.memory.votes = { requestedAt: 0, granted: ['i-2'], refused: [] };
    const r = await executeAction({ kind: 'bootstrap', token: 'g-i-2-1', reason: 'r' }, s.ctx);
    assert.equal(r.progressed, true, r.detail);
    assert.deepEqual(s.runner.launches, [
      {
        name: 'i-2',
        clientUrl: SELF.clientUrl,
        peerUrl: SELF.peerUrl,
        state: 'new',
        initialCluster: [{ name: 'i-2', peerUrl: SELF.peerUrl }],
        token: 'g-i-2-1',
      },
    ]);
    assert.deepEqual((await s.store.read()).ok && (await s.store.read()), {
      ok: true,
      exists: true,
      record: { memberId: '00000000000000bb', clusterId: 'cccccccccccccccc' },
    });
    assert.equal(s.memory.votes, undefined, 'the tally is spent');
  });

  it('a start whose etcd reports other ids than state.json records them, with a warning naming both', async () => {
    const s = setup();
    await s.store.write({ memberId: '00000000000000aa', clusterId: 'dddddddddddddddd' });
    s.runner.onStart = () =>
      s.etcd.statuses.set(
        SELF.clientUrl,
        memberStatus('00000000000000bb', 'cccccccccccccccc', '00000000000000bb'),
      );
    const r = await executeAction(
      { kind: 'start-etcd', state: 'existing', initialCluster: [], reason: 'r' },
      s.ctx,
    );
    assert.equal(r.progressed, true, r.detail);
    const rec = await s.store.read();
    assert.deepEqual(rec.ok && rec.record, { memberId: '00000000000000bb', clusterId: 'cccccccccccccccc' });
    const warned = s.logger.entries.filter(
      (e) => e.level === 'warn' && /state\.json named another/.test(e.msg ?? ''),
    );
    assert.equal(warned.length, 1);
    assert.deepEqual(
      [warned[0]?.obj.recordedMemberId, warned[0]?.obj.recordedClusterId, warned[0]?.obj.memberId],
      ['00000000000000aa', 'dddddddddddddddd', '00000000000000bb'],
    );
    // Ids that agree (or none recorded before) are recorded without a word.
    const quiet = setup();
    quiet.runner.onStart = s.runner.onStart;
    quiet.etcd.statuses = s.etcd.statuses;
    await executeAction(
      { kind: 'start-etcd', state: 'existing', initialCluster: [], reason: 'r' },
      quiet.ctx,
    );
    assert.equal(quiet.logger.entries.filter((e) => /state\.json named another/.test(e.msg ?? '')).length, 0);
  });

  it('bootstrap refuses over existing data', async () => {
    const s = setup();
    s.setHasData(true);
    const r = await executeAction({ kind: 'bootstrap', token: 't', reason: 'r' }, s.ctx);
    assert.deepEqual(
      { progressed: r.progressed, code: r.code },
      { progressed: false, code: 'PRECONDITION_FAILED' },
    );
    assert.equal(s.runner.launches.length, 0);
  });

  it('a failed start counts for the back-off: 1 s doubling to 30 s', async () => {
    const s = setup();
    s.runner.startError = new EtcdError('spawn failed', { code: 'ETCD_SPAWN_FAILED', retryable: false });
    const start: Action = {
      kind: 'start-etcd',
      state: 'existing',
      initialCluster: [{ name: 'i-2', peerUrl: SELF.peerUrl }],
      reason: 'r',
    };
    const t0 = Date.now();
    const r1 = await executeAction(start, s.ctx);
    assert.deepEqual(
      { progressed: r1.progressed, code: r1.code, failures: s.memory.startFailures },
      { progressed: false, code: 'ETCD_SPAWN_FAILED', failures: 1 },
    );
    assert.ok((s.memory.nextStartAt ?? 0) >= t0 + 1000);
    await executeAction(start, s.ctx);
    assert.equal(s.memory.startFailures, 2);
    assert.deepEqual(
      [1, 2, 3, 5, 6, 7, 20].map(startBackoffMs),
      [1000, 2000, 4000, 16_000, 30_000, 30_000, 30_000],
    );
    s.runner.startError = undefined;
    const r3 = await executeAction(start, s.ctx);
    assert.equal(r3.progressed, true);
    assert.deepEqual(
      { failures: s.memory.startFailures, next: s.memory.nextStartAt },
      { failures: 0, next: undefined },
    );
  });

  it('a start whose etcd exits at once is a failure naming the removal', async () => {
    const s = setup();
    s.runner.onStart = () => {
      s.runner.running = false;
      s.runner.exit = { at: 1, code: 0, removed: true };
    };
    const r = await executeAction(
      { kind: 'start-etcd', state: 'existing', initialCluster: [], reason: 'r' },
      s.ctx,
    );
    assert.equal(r.progressed, false);
    assert.match(r.detail ?? '', /removed from the cluster/);
    assert.equal(s.memory.startFailures, 1);
  });

  it('add-self-as-learner adds through healthy voters (leader first), records, then starts in the same action', async () => {
    const s = setup();
    s.etcd.members = [
      {
        id: M3,
        name: 'i-3',
        peerUrls: ['http://10.0.0.3:2380'],
        clientUrls: ['http://10.0.0.3:2379'],
        isLearner: false,
      },
      {
        id: M1,
        name: 'i-1',
        peerUrls: ['http://10.0.0.1:2380'],
        clientUrls: ['http://10.0.0.1:2379'],
        isLearner: false,
      },
    ];
    let recordAtStart: unknown;
    s.runner.onStart = () => {
      recordAtStart = JSON.parse(readFileSync(s.store.path, 'utf8'));
      s.etcd.statuses.set(SELF.clientUrl, memberStatus('00000000000000aa', CLUSTER, M1, { isLearner: true }));
    };
    const r = await executeAction({ kind: 'add-self-as-learner', reason: 'r' }, s.ctx);
    assert.equal(r.progressed, true, r.detail);
    assert.deepEqual(s.etcd.calls[0], {
      method: 'addLearner',
      args: [['http://10.0.0.1:2379', 'http://10.0.0.3:2379'], SELF.peerUrl],
    });
    assert.deepEqual(recordAtStart, { memberId: '00000000000000aa', clusterId: CLUSTER });
    assert.deepEqual(s.runner.launches[0]?.initialCluster, [
      { name: 'i-3', peerUrl: 'http://10.0.0.3:2380' },
      { name: 'i-1', peerUrl: 'http://10.0.0.1:2380' },
      { name: 'i-2', peerUrl: SELF.peerUrl },
    ]);
    assert.equal(s.runner.launches[0]?.state, 'existing');
  });

  it('initialClusterFrom names the new member after self and placeholders other unstarted ones', () => {
    assert.deepEqual(
      initialClusterFrom(
        [
          { id: 'a', name: '', peerUrls: ['http://x:2380'] },
          { id: 'b', name: '', peerUrls: ['http://y:2380'] },
        ],
        'b',
        'i-9',
      ),
      [
        { name: 'unstarted-a', peerUrl: 'http://x:2380' },
        { name: 'i-9', peerUrl: 'http://y:2380' },
      ],
    );
  });

  it('promote retries while the learner is not in sync', async () => {
    const s = setup();
    const notReady = () => new EtcdError('not in sync', { code: 'ETCD_LEARNER_NOT_READY', retryable: true });
    s.etcd.failNext.set('promote', [notReady(), notReady()]);
    const r = await executeAction({ kind: 'promote-member', memberId: M3, reason: 'r' }, s.ctx);
    assert.equal(r.progressed, true);
    assert.equal(s.etcd.calls.filter((c) => c.method === 'promote').length, 3);
    assert.deepEqual(
      s.etcd.calls[0]?.args,
      [['http://10.0.0.1:2379'], M3],
      'sent to voters other than the learner',
    );
  });

  it('remove of an unknown member counts as done; other errors are no progress', async () => {
    const s = setup();
    s.etcd.failNext.set('remove', [
      new EtcdError('member not found', { code: 'ETCD_MEMBER_NOT_FOUND', retryable: false }),
    ]);
    const r = await executeAction({ kind: 'remove-member', memberId: M3, why: 'dead', reason: 'r' }, s.ctx);
    assert.deepEqual(
      { progressed: r.progressed, detail: r.detail },
      { progressed: true, detail: 'already removed' },
    );
    s.etcd.failNext.set('remove', [
      new EtcdError('unhealthy cluster', { code: 'ETCD_UNHEALTHY_CLUSTER', retryable: true }),
    ]);
    const r2 = await executeAction({ kind: 'remove-member', memberId: M3, why: 'dead', reason: 'r' }, s.ctx);
    assert.deepEqual(
      { progressed: r2.progressed, code: r2.code },
      { progressed: false, code: 'ETCD_UNHEALTHY_CLUSTER' },
    );
    assert.ok(s.logger.entries.some((e) => e.level === 'warn' && e.obj.code === 'ETCD_UNHEALTHY_CLUSTER'));
  });

  it('move-leader goes to the leader’s client URL', async () => {
    const s = setup();
    await executeAction({ kind: 'move-leader', from: M1, to: M3, reason: 'r' }, s.ctx);
    assert.deepEqual(s.etcd.calls, [{ method: 'moveLeader', args: ['http://10.0.0.1:2379', M3] }]);
  });

  it('wipe-data stops etcd first, wipes, and forgets the ids', async () => {
    const s = setup();
    s.runner.running = true;
    await s.store.write({ memberId: M3, clusterId: CLUSTER, left: { at: 1, reason: 'x' } });
    const r = await executeAction({ kind: 'wipe-data', reason: 'r' }, s.ctx);
    assert.equal(r.progressed, true);
    assert.equal(s.runner.stops.length, 1);
    assert.deepEqual(s.wiped, ['/data/etcd']);
    const rec = await s.store.read();
    assert.deepEqual(rec.ok && rec.record, { left: { at: 1, reason: 'x' } });
  });

  it('mark-left, signal-ready-to-shutdown and clear-left', async () => {
    const s = setup();
    await executeAction({ kind: 'mark-left', reason: 'notice' }, s.ctx);
    let rec = await s.store.read();
    assert.equal(rec.ok && rec.record.left?.reason, 'notice');
    await executeAction({ kind: 'signal-ready-to-shutdown', reason: 'r' }, s.ctx);
    assert.deepEqual(s.group.signalled, ['i-2']);
    assert.equal(s.memory.signalledReady, true);
    await executeAction({ kind: 'clear-left', reason: 'r' }, s.ctx);
    rec = await s.store.read();
    assert.deepEqual(rec.ok && rec.record, {});
  });

  it('a refused ready-to-shutdown signal backs off (doubling from the cycle interval, at most 60 s) instead of going every cycle', async () => {
    const s = setup();
    const clock = new ManualClock();
    s.ctx.clock = clock;
    const refused = Object.assign(new Error('Spot.io: 400 instance not in a state to signal'), {
      retryable: false,
    });
    let calls = 0;
    s.group.signalReadyToShutdown = async () => {
      calls++;
      throw refused;
    };
    const interval = s.ctx.settings.cycleIntervalMs;
    const signal = () => executeAction({ kind: 'signal-ready-to-shutdown', reason: 'r' }, s.ctx);
    const failed = async () => {
      const f = await signal();
      assert.equal(f.progressed, false);
      assert.match(f.detail ?? '', /400/);
    };
    await failed();
    assert.equal(calls, 1);
    const r = await signal();
    assert.equal(r.progressed, false);
    assert.match(r.detail ?? '', /1 signal\(s\) failed in a row; next try in \d+s/);
    assert.equal(calls, 1, 'not sent again within the back-off');
    await clock.advance(interval);
    await failed();
    assert.equal(calls, 2);
    await clock.advance(interval); // the second wait is twice as long
    assert.equal((await signal()).progressed, false);
    assert.equal(calls, 2);
    await clock.advance(interval);
    s.group.signalReadyToShutdown = async () => {
      calls++;
    };
    assert.equal((await signal()).progressed, true);
    assert.equal(calls, 3);
    assert.equal(s.memory.signalledReady, true);
    assert.equal(s.memory.signalFailures, 0);
    // Never longer than the cap, however many failures came before.
    s.memory.signalledReady = false;
    s.memory.signalFailures = 20;
    s.group.signalReadyToShutdown = async () => {
      calls++;
      throw refused;
    };
    await failed();
    assert.equal((s.memory.nextSignalAt ?? 0) - clock.now(), SIGNAL_BACKOFF_MAX_MS);
  });

  it('collect-votes asks self directly and the peers over HTTP, and keeps the tally', async () => {
    const s = setup(observation({ cluster: { reachable: false, error: 'none', probed: [] } }));
    const r = await executeAction(
      { kind: 'collect-votes', from: ['i-1', 'i-2', 'i-3', 'i-9'], desiredCapacity: 4, reason: 'r' },
      s.ctx,
    );
    assert.equal(r.progressed, true);
    assert.deepEqual(s.votes.map((v) => v.peer).sort(), ['i-1', 'i-3']);
    assert.ok(s.votes.every((v) => v.candidate === 'i-2'));
    assert.ok(
      s.votes.every((v) => v.desiredCapacity === 4),
      'every request says which capacity the majority counts',
    );
    assert.deepEqual(s.ownVotes, [4]);
    assert.deepEqual(s.memory.votes?.granted, ['i-1', 'i-2']);
    assert.deepEqual(
      s.memory.votes?.refused.map((x) => x.instanceId),
      ['i-3', 'i-9'],
    );
  });

  /** The whole group at once: i-1 (the seeder), i-2 (self) and i-3, at the observation's IPs. */
  const PLAN: BootstrapPlan = {
    token: 'sig-1-i-1-1000',
    instances: ['i-1', 'i-2', 'i-3'],
    members: [
      { instanceId: 'i-1', peerUrl: 'http://10.0.0.1:2380' },
      { instanceId: 'i-2', peerUrl: 'http://10.0.0.2:2380' },
      { instanceId: 'i-3', peerUrl: 'http://10.0.0.3:2380' },
    ],
  };
  const noCluster = () => observation({ cluster: { reachable: false, error: 'none', probed: [] } });

  it('collect-votes with a plan: every voter (self too) gets the plan with its final token; the tally keeps who recorded it and who did not answer', async () => {
    const s = setup(noCluster());
    s.ctx.settings = { ...s.ctx.settings, clusterToken: 'prod' };
    s.answers.set('i-1', { granted: true, reason: 'ok', planAccepted: true });
    s.answers.set('i-4', { granted: true, reason: 'granted, one by one: my list differs' });
    s.answers.set(
      'i-3',
      new EtcdSpotError('vote request to i-3 failed: connect ECONNREFUSED', {
        code: 'PEER_UNREACHABLE',
        retryable: true,
      }),
    );
    s.ctx.obs.group = {
      ok: true,
      fetchedAt: 0,
      instances: [
        { id: 'i-1', privateIp: '10.0.0.1' },
        { id: 'i-2', privateIp: '10.0.0.2' },
        { id: 'i-3', privateIp: '10.0.0.3' },
        { id: 'i-4', privateIp: '10.0.0.4' },
      ],
    };
    const r = await executeAction(
      {
        kind: 'collect-votes',
        from: ['i-1', 'i-2', 'i-3', 'i-4'],
        desiredCapacity: 4,
        plan: PLAN,
        reason: 'r',
      },
      s.ctx,
    );
    assert.equal(r.progressed, true, r.detail);
    const sent = { ...PLAN, token: `prod-${PLAN.token}` };
    assert.deepEqual(
      s.votes.map((v) => [v.peer, v.plan]),
      [
        ['i-1', sent],
        ['i-3', sent],
        ['i-4', sent],
      ].sort(),
    );
    assert.deepEqual(s.ownPlans, [sent]);
    const t = s.memory.votes;
    assert.deepEqual(t?.plan, sent);
    assert.deepEqual(t?.planAccepted, ['i-1', 'i-2']);
    assert.deepEqual(t?.granted, ['i-1', 'i-2', 'i-4']);
    assert.deepEqual(t?.noAnswer, ['i-3']);
    assert.equal(t?.since, t?.requestedAt, 'the first round of a series');
    assert.match(r.detail ?? '', /3 of 4 granted, 2 recorded the plan/);
  });

  it('collect-votes: a round soon after a fresh one keeps the series start and is paced', async () => {
    const s = setup(noCluster());
    const first = Date.now() - 100;
    s.memory.votes = { requestedAt: first, granted: [], refused: [], since: first - 2000 };
    const t0 = Date.now();
    await executeAction(
      { kind: 'collect-votes', from: ['i-1', 'i-2'], desiredCapacity: 2, reason: 'r' },
      s.ctx,
    );
    assert.equal(s.memory.votes?.since, first - 2000);
    assert.ok(Date.now() - t0 >= 350, 'waited out the gap between rounds');
    assert.equal(s.memory.votes?.plan, undefined);
  });

  it('bootstrap on a plan: records the start before etcd starts, then starts new with exactly the plan (no token prefix)', async () => {
    const s = setup(noCluster());
    s.ctx.settings = { ...s.ctx.settings, clusterToken: 'prod' };
    await s.store.write({ vote: { candidate: 'i-1', at: Date.now() - 1000, plan: PLAN } });
    let recordAtStart: unknown;
    s.runner.onStart = () => {
      recordAtStart = JSON.parse(readFileSync(s.store.path, 'utf8'));
      s.etcd.statuses.set(SELF.clientUrl, memberStatus('00000000000000bb', CLUSTER, M1));
    };
    const r = await executeAction({ kind: 'bootstrap', token: PLAN.token, plan: PLAN, reason: 'r' }, s.ctx);
    assert.equal(r.progressed, true, r.detail);
    assert.deepEqual(s.runner.launches, [
      {
        name: 'i-2',
        clientUrl: SELF.clientUrl,
        peerUrl: SELF.peerUrl,
        state: 'new',
        initialCluster: PLAN.members.map((m) => ({ name: m.instanceId, peerUrl: m.peerUrl })),
        token: PLAN.token,
      },
    ]);
    assert.equal((recordAtStart as { planStarted?: { token: string } }).planStarted?.token, PLAN.token);
  });

  it('the seeder’s start on its plan tells the other members before its own etcd starts; a member’s start tells nobody', async () => {
    const seeder = setup(
      observation({
        self: {
          instanceId: 'i-1',
          privateIp: '10.0.0.1',
          peerUrl: 'http://10.0.0.1:2380',
          clientUrl: SELF.clientUrl,
        },
        cluster: { reachable: false, error: 'none', probed: [] },
      }),
    );
    await seeder.store.write({ vote: { candidate: 'i-1', at: Date.now(), plan: PLAN } });
    const r = await executeAction(
      { kind: 'bootstrap', token: PLAN.token, plan: PLAN, reason: 'r' },
      seeder.ctx,
    );
    assert.equal(r.progressed, true, r.detail);
    assert.deepEqual(seeder.notices.map((n) => [n.peer, n.candidate, n.token, n.launchesBefore]).sort(), [
      ['i-2', 'i-1', PLAN.token, 0],
      ['i-3', 'i-1', PLAN.token, 0],
    ]);
    const member = setup(noCluster());
    await member.store.write({ vote: { candidate: 'i-1', at: Date.now(), plan: PLAN } });
    await executeAction({ kind: 'bootstrap', token: PLAN.token, plan: PLAN, reason: 'r' }, member.ctx);
    assert.deepEqual(member.notices, []);
  });

  for (const [what, record, expect] of [
    [
      'state.json holds no plan (a voter never starts on a plan it did not record)',
      { vote: { candidate: 'i-1', at: 0 } },
      /does not hold this plan/,
    ],
    [
      'state.json holds another round’s plan (token mismatch)',
      { vote: { candidate: 'i-1', at: 0, plan: { ...PLAN, token: 'sig-1-i-1-999' } } },
      /does not hold this plan/,
    ],
    [
      'the vote expired',
      { vote: { candidate: 'i-1', at: -DEFAULT_POLICY.voteTtlMs, plan: PLAN } },
      /vote for i-1 expired/,
    ],
  ] as const) {
    it(`bootstrap on a plan is NOT taken when ${what}`, async () => {
      const s = setup(noCluster());
      const now = Date.now();
      const rec = structuredClone(record) as { vote: { at: number } };
      rec.vote.at += now;
      await s.store.write(rec as never);
      const r = await executeAction({ kind: 'bootstrap', token: PLAN.token, plan: PLAN, reason: 'r' }, s.ctx);
      assert.equal(r.code, 'PRECONDITION_FAILED', r.detail);
      assert.match(r.detail ?? '', expect);
      assert.equal(s.runner.launches.length, 0);
      const after = await s.store.read();
      assert.ok(after.ok && after.record.planStarted === undefined, 'no start recorded');
    });
  }

  it('bootstrap on a plan is NOT taken when the plan has self at another peer URL', async () => {
    const s = setup(noCluster());
    const other = {
      ...PLAN,
      members: PLAN.members.map((m) =>
        m.instanceId === 'i-2' ? { ...m, peerUrl: 'https://10.0.0.2:2380' } : m,
      ),
    };
    await s.store.write({ vote: { candidate: 'i-1', at: Date.now(), plan: other } });
    const r = await executeAction({ kind: 'bootstrap', token: other.token, plan: other, reason: 'r' }, s.ctx);
    assert.equal(r.code, 'PRECONDITION_FAILED');
    assert.match(r.detail ?? '', /not at our peer URL/);
    assert.equal(s.runner.launches.length, 0);
  });

  it('bootstrap on a plan resumes a start it already recorded, although the vote expired since', async () => {
    const s = setup(noCluster());
    const long = Date.now() - 10 * DEFAULT_POLICY.voteTtlMs;
    await s.store.write({
      vote: { candidate: 'i-1', at: long, plan: PLAN },
      planStarted: { token: PLAN.token, at: long },
    });
    const r = await executeAction({ kind: 'bootstrap', token: PLAN.token, plan: PLAN, reason: 'r' }, s.ctx);
    assert.equal(r.progressed, true, r.detail);
    assert.equal(s.runner.launches.length, 1);
  });

  it('wipe-data forgets a start on a plan and the plan, and keeps the vote', async () => {
    const s = setup();
    await s.store.write({
      memberId: M1,
      clusterId: CLUSTER,
      vote: { candidate: 'i-1', at: 5, plan: PLAN },
      planStarted: { token: PLAN.token, at: 6 },
    });
    const r = await executeAction({ kind: 'wipe-data', reason: 'r' }, s.ctx);
    assert.equal(r.progressed, true, r.detail);
    const after = await s.store.read();
    assert.ok(after.ok);
    assert.deepEqual(after.record, { vote: { candidate: 'i-1', at: 5 } });
  });

  it('wait makes no progress and calls nothing', async () => {
    const s = setup();
    assert.deepEqual(await executeAction({ kind: 'wait', reason: 'converged' }, s.ctx), {
      progressed: false,
    });
    assert.equal(s.etcd.calls.length, 0);
  });
});

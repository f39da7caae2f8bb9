/**
 * The composition root: validated Config → adapters → Agent. The only place (besides config loading)
 * that reads the environment, and the only place in src/agent that picks adapter implementations.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Action } from '../core/actions.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import type { InstanceId } from '../core/ids.ts';
import type { GroupView, Observation, RecoveryOrder } from '../core/observation.ts';
import { planMembership } from '../core/plan.ts';
import { DEFAULT_POLICY } from '../core/policy.ts';
import type { Policy } from '../core/policy.ts';
import { createEtcdCluster } from '../adapters/etcd/etcd3-cluster.ts';
import { hasEtcdData } from '../adapters/etcd/etcd-process.ts';
import { createImds } from '../adapters/imds/imds.ts';
import { createLogger } from '../adapters/local/logger.ts';
import { clockFromEnv } from '../adapters/local/system-clock.ts';
import { SupervisedEtcdRunner } from '../adapters/runner/supervised-runner.ts';
import { SystemdEtcdRunner } from '../adapters/runner/systemd-runner.ts';
import { resolvePeerSecret } from '../config/credentials.ts';
import { createProvider, providerSettings } from '../providers/registry.ts';
import type { Provider } from '../providers/provider.ts';
import type { Config } from '../config/schema.ts';
import { TlsSource, clientTlsFiles, peerTlsFiles, schemeOf } from '../config/tls-files.ts';
import type { TlsFiles } from '../config/tls-files.ts';
import type { EtcdTlsFiles } from '../adapters/etcd/etcd-process.ts';
import { etcdBinaryVersionReader } from '../adapters/etcd/etcd-binary-version.ts';
import type { Clock } from '../ports/clock.ts';
import type { EtcdCluster } from '../ports/etcd-cluster.ts';
import type { EtcdRunner } from '../ports/etcd-runner.ts';
import type { InstanceGroup } from '../ports/instance-group.ts';
import type { InstanceIdentity, InstanceMetadata } from '../ports/instance-metadata.ts';
import type { Logger } from '../ports/logger.ts';
import { statusClass } from '../ports/metrics.ts';
import type { AgentMetrics, MetricsExposition } from '../ports/metrics.ts';
import type { TerminationSource } from '../ports/termination-source.ts';
import { noopMetrics } from '../adapters/metrics/noop.ts';
import { Agent } from './agent.ts';
import type { CycleResult } from './agent.ts';
import { wipeLocalData } from './data-dir.ts';
import { readiness, recordCycle } from './health.ts';
import type { Readiness } from './health.ts';
import { LocalStateStore } from './local-state.ts';
import { Observer } from './observe.ts';
import { createHttpPeerAgents } from './peer-client.ts';
import { PeerAuthVerifier, peerKeyFromSecret, peerKeyFromSpotToken } from './peer-auth.ts';
import type { PeerKey } from './peer-auth.ts';
import { createStatusApp, startStatusServer } from './status-server.ts';
import type { StatusServer } from './status-server.ts';
import { TerminationWatcher } from './termination-watcher.ts';
import { createDrainOrderSource } from './drain-order.ts';
import type { AgentSettings } from './types.ts';
import { newAgentMemory } from './types.ts';
import { VoteKeeper } from './votes.ts';
import type { LocalBootstrapFacts } from './votes.ts';
import { withDeadline } from './deadline.ts';
import { readRecoveryOrder } from './recovery-order.ts';
import { createSnapshotRecovery, lazySnapshotStore } from './snapshot-recovery.ts';
import { createSnapshotStore, retentionFromConfig } from '../adapters/snapshots/create-store.ts';
import { Snapshotter } from './snapshotter.ts';
import type { SnapshotRecovery } from './snapshot-recovery.ts';
import type { SnapshotStore } from '../ports/snapshot-store.ts';

/** Every poll (group list, decision cycle) is jittered by ±10 %, so agents started together drift apart. */
const POLL_JITTER = 0.1;

/** A certificate closer to its end than this draws a daily warning. */
const CERT_EXPIRY_WARN_MS = 30 * 86_400_000;

export interface RuntimeOptions {
  /** Default process.env (SPOTINST_TOKEN and friends for the Elastigroup credentials). */
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** Default: a pino logger at config.log.level on stderr. */
  logger?: Logger;
  /** Overrides of the planner's tunables that have no config key (voteTtlMs, catchUpEntries). */
  policy?: Partial<Policy>;
  /** Replaces adapters (tests). */
  metadata?: InstanceMetadata;
  group?: InstanceGroup;
  runner?: EtcdRunner;
  /** More etcd client URLs to probe after the group's (`plan --endpoints`). */
  clientUrls?: string[];
  /** The operator's recovery order (`recover --dry-run`); default: `<stateDir>/recover.json`. */
  recoveryOrder?: () => RecoveryOrder | undefined;
  /**
   * The group's snapshot store: with it, an all-lost group's seeder restores the newest verified
   * snapshot instead of bootstrapping an empty cluster (design row C5), and never bootstraps while the
   * store cannot be read.
   */
  snapshotStore?: SnapshotStore;
  /**
   * When the newest verified snapshot was taken (epoch ms; undefined while there is none), for
   * `etcd_spot_snapshot_age_seconds`; without it that gauge is not exported.
   */
  snapshotTakenAt?: () => number | undefined;
}

/** The agent's tunables from config. */
export function settingsFromConfig(config: Config, policy: Partial<Policy> = {}): AgentSettings {
  const a = config.agent;
  const provider = providerSettings(config);
  const settings: AgentSettings = {
    dataDir: config.etcd.dataDir,
    clientPort: config.etcd.clientPort,
    peerPort: config.etcd.peerPort,
    statusPort: a.statusPort,
    callTimeoutMs: config.etcd.callTimeoutMs,
    cloudTimeoutMs: provider.cloudTimeoutMs,
    cycleIntervalMs: a.cycleIntervalMs,
    groupPollIntervalMs: a.groupPollIntervalMs,
    followerGroupPollIntervalMs: Math.max(a.followerGroupPollIntervalMs, a.groupPollIntervalMs),
    steadyGroupPollIntervalMs: Math.max(a.steadyGroupPollIntervalMs, a.groupPollIntervalMs),
    pollJitter: POLL_JITTER,
    policy: {
      ...DEFAULT_POLICY,
      maxVoters: a.maxVoters,
      maxLearners: a.maxLearners,
      memberDeadAfterMs: a.memberDeadAfterMs,
      terminatedMemberDeadAfterMs: Math.min(a.terminatedMemberDeadAfterMs, a.memberDeadAfterMs),
      unstartedMemberTtlMs: a.unstartedMemberTtlMs,
      leaveOnRebalance: a.leaveOnRebalance,
      leaveAfterReplacement: a.leaveAfterReplacement,
      leaveMarginMs: a.leaveMarginMs,
      replacementWaitMs: a.replacementWaitMs,
      recoveryMode: config.recovery.mode,
      noLeaderForMs: config.recovery.noLeaderForMs,
      ...policy,
    },
  };
  const clientScheme = schemeOf(clientTlsFiles(config.etcd.tls));
  const peerScheme = schemeOf(peerTlsFiles(config.etcd.tls));
  if (clientScheme === 'https') settings.clientScheme = clientScheme;
  if (peerScheme === 'https') settings.peerScheme = peerScheme;
  if (config.etcd.clusterToken !== undefined) settings.clusterToken = config.etcd.clusterToken;
  if (provider.groupId !== undefined) settings.groupId = provider.groupId;
  return settings;
}

/** Everything one agent runs, built from config; `start` → `run` → `shutdown`. */
export interface AgentRuntime {
  readonly agent: Agent;
  readonly observer: Observer;
  readonly runner: EtcdRunner;
  readonly logger: Logger;
  /** Reads the instance identity (retrying until `signal` aborts), builds the group, starts the watcher and the status server. */
  start(signal: AbortSignal): Promise<InstanceIdentity>;
  /** The loop; returns when `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
  /** Reads the identity, polls the termination sources once, observes once and plans; executes nothing (the `plan` command). */
  planOnce(signal?: AbortSignal): Promise<{ observation: Observation; actions: Action[] }>;
  /** One cycle (tests). */
  runOnce(signal?: AbortSignal): Promise<CycleResult>;
  /** Status server URL once started. */
  statusUrl(): string | undefined;
  /** The /readyz verdict now: the last cycle's, or `stalled` when the loop stopped or is stuck. */
  readiness(): Readiness;
  /**
   * Stops the watcher and the status server and, in supervise mode, stops etcd gracefully (SIGTERM:
   * it hands leadership over by itself). Never removes the member.
   */
  shutdown(opts?: { stopEtcd?: boolean }): Promise<void>;
}

export function createAgentRuntime(config: Config, opts: RuntimeOptions = {}): AgentRuntime {
  const env = opts.env ?? process.env;
  // The wall clock; the simulator's clock-step test hook may shift it (clockFromEnv; unset: systemClock).
  const clock = opts.clock ?? clockFromEnv(env);
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const settings = settingsFromConfig(config, opts.policy);
  const stateDir = config.agent.stateDir;
  // No-op until start() loads prom-client (the agent command only: never `plan`).
  let metrics: AgentMetrics = noopMetrics;
  let exposition: MetricsExposition | undefined;
  let lastCycle: CycleResult | undefined;

  const metadata =
    opts.metadata ??
    createImds({
      url: config.metadata.url,
      requireV2: config.metadata.requireV2,
      timeoutMs: config.metadata.timeoutMs,
      tokenTtlSec: Math.floor(config.metadata.tokenTtlMs / 1000),
      clock,
      logger: logger.child({ component: 'imds' }),
    });

  let identity: InstanceIdentity | undefined;
  // The group, its termination sources, its release call and its credentials (a missing credential
  // is a configuration error here, not a cycle error): one unit per `group.provider`.
  const provider: Provider = createProvider(config, {
    metadata,
    clock,
    logger,
    env,
    onCloudCall: (route, status) => metrics.cloudApiCall(route, statusClass(status)),
    ...(opts.group !== undefined ? { group: opts.group } : {}),
  });
  const group: InstanceGroup = provider.group;

  const peerKey = resolvePeerKey(config, provider.sharedSecret);
  // TLS files are checked now (a ConfigError names the key); the client set is re-read when it changes.
  const tlsConfig = config.etcd.tls;
  const clientFiles = clientTlsFiles(tlsConfig);
  const peerFiles = peerTlsFiles(tlsConfig);
  const clientTls =
    clientFiles === undefined
      ? undefined
      : new TlsSource(clientFiles, {
          checkIntervalMs: tlsConfig.reloadIntervalMs,
          now: () => clock.now(),
          onProblem: (problem) => logger.warn({ problem }, 'TLS files changed but do not check out'),
        });
  // etcd reads the peer files itself; the agent checks them at start and watches them for expiry.
  const peerTls =
    peerFiles === undefined
      ? undefined
      : new TlsSource(peerFiles, {
          checkIntervalMs: tlsConfig.reloadIntervalMs,
          now: () => clock.now(),
          onProblem: (problem) => logger.warn({ problem }, 'TLS files changed but do not check out'),
        });
  const expiryWarned = new Map<string, number>();
  /** One warning a day per certificate that expires within 30 days (kops#8959: certificates nobody renewed). */
  const warnExpiry = (): void => {
    for (const src of [clientTls, peerTls]) {
      if (src === undefined) continue;
      const m = src.current();
      const left = m.notAfter - clock.now();
      const key = `${src.files.certFile}#${m.generation}`;
      const last = expiryWarned.get(key);
      if (left > CERT_EXPIRY_WARN_MS || (last !== undefined && clock.now() - last < 86_400_000)) continue;
      expiryWarned.set(key, clock.now());
      logger.warn(
        {
          certFile: src.files.certFile,
          notAfter: new Date(m.notAfter).toISOString(),
          daysLeft: Math.floor(left / 86_400_000),
        },
        'TLS certificate expires soon: issue a new one (systemctl restart etcd-spot-certs, or etcd-spot certs issue); etcd and the agent pick it up without a restart',
      );
    }
  };
  clientTls?.onChange((m) =>
    logger.info(
      {
        certFile: clientFiles?.certFile,
        generation: m.generation,
        notAfter: new Date(m.notAfter).toISOString(),
      },
      'TLS certificate reloaded',
    ),
  );
  const etcdTls = (files: TlsFiles | undefined, auth: boolean): EtcdTlsFiles | undefined =>
    files === undefined
      ? undefined
      : { certFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile, clientCertAuth: auth };
  const runnerTls = {
    ...(clientFiles !== undefined ? { clientTls: etcdTls(clientFiles, tlsConfig.clientCertAuth) } : {}),
    ...(peerFiles !== undefined ? { peerTls: etcdTls(peerFiles, tlsConfig.peerClientCertAuth) } : {}),
  };
  const etcd: EtcdCluster = createEtcdCluster({
    callTimeoutMs: settings.callTimeoutMs,
    ...(clientTls !== undefined ? { tls: () => clientTls.current() } : {}),
  });
  const runner: EtcdRunner =
    opts.runner ??
    (config.etcd.mode === 'systemd'
      ? new SystemdEtcdRunner({
          dataDir: config.etcd.dataDir,
          dropInPath: config.etcd.systemd.dropInPath,
          startCommand: config.etcd.systemd.startCommand,
          stopCommand: config.etcd.systemd.stopCommand,
          checkCommand: config.etcd.systemd.checkCommand,
          reloadCommand: config.etcd.systemd.reloadCommand,
          binary: config.etcd.binary,
          extraArgs: config.etcd.extraArgs,
          ...runnerTls,
          ...(config.etcd.clusterToken !== undefined ? { defaultToken: config.etcd.clusterToken } : {}),
          clock,
          logger: logger.child({ component: 'etcd-runner' }),
        })
      : new SupervisedEtcdRunner({
          dataDir: config.etcd.dataDir,
          stateDir,
          binary: config.etcd.binary,
          extraArgs: config.etcd.extraArgs,
          ...runnerTls,
          ...(config.etcd.clusterToken !== undefined ? { defaultToken: config.etcd.clusterToken } : {}),
          clock,
          logger: logger.child({ component: 'etcd-runner' }),
        }));

  const store = new LocalStateStore(stateDir);
  const memory = newAgentMemory();
  const peers = createHttpPeerAgents({
    statusPort: settings.statusPort,
    timeoutMs: Math.min(1000, settings.callTimeoutMs),
    key: peerKey,
    now: () => clock.now(),
    ...(clientTls !== undefined ? { tls: () => clientTls.current() } : {}),
  });
  const hasData = (dir: string) => hasEtcdData(dir);

  const sources: TerminationSource[] = [];
  const watcher = new TerminationWatcher({
    sources,
    clock,
    logger: logger.child({ component: 'termination' }),
    intervalMs: config.agent.terminationPollIntervalMs,
    timeoutMs: Math.max(settings.cloudTimeoutMs, config.metadata.timeoutMs),
    // Called only after start(), when `agent` exists.
    onNotice: (notice) => {
      // A leave must not wait for an upload.
      snapshotter?.abort('termination notice');
      if (identity !== undefined) provider.onNotice?.(notice, identity);
      agent.wake();
    },
  });
  let lastOrderProblem: string | undefined;
  const snapshotStore =
    opts.snapshotStore ??
    (config.snapshot.store === 'none'
      ? undefined
      : lazySnapshotStore(`the ${config.snapshot.store} snapshot store`, () =>
          createSnapshotStore(config.snapshot),
        ));
  const snapshotRecovery: SnapshotRecovery | undefined =
    snapshotStore === undefined
      ? undefined
      : createSnapshotRecovery({
          store: snapshotStore,
          groupId: (): string | undefined => {
            const g: GroupView | undefined = observer.groupView();
            return settings.groupId ?? (g?.ok === true ? g.groupId : undefined);
          },
          tmpDir: config.snapshot.tmpDir ?? join(stateDir, 'tmp'),
          now: () => clock.now(),
          logger: logger.child({ component: 'snapshot-recovery' }),
        });
  // The leader's agent's snapshot duty (row E take-snapshot), filed under the same group id as restores read.
  const snapshotter: Snapshotter | undefined =
    snapshotStore === undefined
      ? undefined
      : new Snapshotter({
          store: snapshotStore,
          etcd,
          groupId: (): string | undefined => {
            const g: GroupView | undefined = observer.groupView();
            return settings.groupId ?? (g?.ok === true ? g.groupId : undefined);
          },
          clientUrl: (): string | undefined => observer.self()?.clientUrl,
          takenBy: (): string => observer.self()?.instanceId ?? 'agent',
          intervalMs: config.snapshot.intervalMs,
          timeoutMs: config.snapshot.timeoutMs,
          retention: retentionFromConfig(config.snapshot),
          tmpDir: config.snapshot.tmpDir ?? join(stateDir, 'tmp'),
          now: () => clock.now(),
          logger: logger.child({ component: 'snapshot' }),
        });
  const observer = new Observer({
    settings,
    metadata,
    group,
    etcd,
    runner,
    termination: watcher,
    store,
    peers,
    memory,
    hasData,
    ...(opts.clientUrls !== undefined ? { extraClientUrls: opts.clientUrls } : {}),
    etcdVersion: etcdBinaryVersionReader(config.etcd.binary),
    ...(snapshotRecovery !== undefined ? { snapshots: (s?: AbortSignal) => snapshotRecovery.view(s) } : {}),
    ...(snapshotter !== undefined ? { snapshotSchedule: () => snapshotter.schedule() } : {}),
    recoveryOrder:
      opts.recoveryOrder ??
      (() =>
        readRecoveryOrder(stateDir, clock.now(), (problem) => {
          if (problem !== lastOrderProblem) logger.warn({ problem }, 'recovery order ignored');
          lastOrderProblem = problem;
        })),
    clock,
    logger: logger.child({ component: 'observe' }),
  });
  const votes: VoteKeeper = new VoteKeeper({
    store,
    clock,
    logger: logger.child({ component: 'vote' }),
    voteTtlMs: settings.policy.voteTtlMs,
    maxVoters: settings.policy.maxVoters,
    // Before the agent's first observation, from the instance metadata (cached once read).
    self: async () => {
      const s =
        observer.self() ??
        (await observer.observeSelf(AbortSignal.timeout(settings.cloudTimeoutMs)).catch(() => undefined));
      return s === undefined ? undefined : { instanceId: s.instanceId, peerUrl: s.peerUrl };
    },
    // Before the agent's first observation, a vote request asks the group itself (the seeder may be quicker).
    groupView: async (): Promise<GroupView | undefined> => {
      const seen = observer.groupView();
      if (seen !== undefined) return seen;
      const sig = AbortSignal.timeout(settings.cloudTimeoutMs);
      const [list, desired] = await Promise.all([
        group.listInstances(sig).catch(() => undefined),
        group.desiredCapacity ? group.desiredCapacity(sig).catch(() => undefined) : undefined,
      ]);
      if (list === undefined) return undefined;
      const view: GroupView = {
        ok: true,
        fetchedAt: clock.now(),
        instances: list.map((i) => ({ id: i.id, privateIp: i.privateIp })),
      };
      if (desired !== undefined) view.desiredCapacity = desired;
      return view;
    },
    localFacts: async (): Promise<LocalBootstrapFacts> => {
      const clusterId: string | undefined = await agent.runningClusterId();
      return { hasData: await hasData(settings.dataDir), ...(clusterId !== undefined ? { clusterId } : {}) };
    },
  });
  const agent: Agent = new Agent({
    settings,
    observer,
    etcd,
    runner,
    group,
    store,
    peers,
    votes,
    memory,
    hasData,
    wipeData: (dir) => wipeLocalData(dir, clock.now()),
    ...(snapshotRecovery !== undefined ? { restoreSnapshot: snapshotRecovery.restore } : {}),
    ...(snapshotter !== undefined
      ? { takeSnapshot: (reason: string, s?: AbortSignal) => snapshotter.take(reason, s) }
      : {}),
    onCycle: (r) => {
      lastCycle = r;
      const policy = settings.policy;
      recordCycle(metrics, r, readiness(r.observation, r.action, policy), policy, clock.now());
    },
    clock,
    logger: logger.child({ component: 'agent' }),
  });

  let server: StatusServer | undefined;
  let tlsTimer: NodeJS.Timeout | undefined;

  function readinessNow(): Readiness {
    if (lastCycle !== undefined && !agent.healthy()) return { ready: false, reason: 'stalled' };
    return readiness(lastCycle?.observation, lastCycle?.action, settings.policy);
  }
  let sourcesReady = false;

  async function readIdentity(signal: AbortSignal): Promise<InstanceIdentity> {
    await mkdir(stateDir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      try {
        identity = await metadata.identity(withDeadline(settings.cloudTimeoutMs, signal));
        break;
      } catch (err) {
        if (signal.aborted) throw err;
        logger.warn({ attempt, err: describeError(err) }, 'cannot read instance metadata yet; retrying');
        await clock.sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)), signal);
      }
    }
    await observer.observeSelf(signal);
    if (!sourcesReady) {
      sourcesReady = true;
      // The operator's `etcd-spot drain` order is a notice too: the same leave path as the cloud's.
      sources.push(createDrainOrderSource(stateDir));
      sources.push(...provider.terminationSources(identity));
    }
    return identity;
  }

  async function start(signal: AbortSignal): Promise<InstanceIdentity> {
    const id = await readIdentity(signal);
    const self: InstanceId = id.instanceId;
    watcher.start();
    const authority = `${id.privateIp.includes(':') ? `[${id.privateIp}]` : id.privateIp}:${settings.statusPort}`;
    if (config.agent.metrics && exposition === undefined) {
      // Loaded here, not at the top: only a running agent pays for prom-client.
      const { createPrometheusMetrics } = await import('../adapters/metrics/prometheus.ts');
      const prom = createPrometheusMetrics({
        now: () => clock.now(),
        ...(opts.snapshotTakenAt !== undefined
          ? { snapshotTakenAt: opts.snapshotTakenAt }
          : snapshotter !== undefined
            ? { snapshotTakenAt: () => snapshotter.lastTakenAt() }
            : {}),
      });
      metrics = prom;
      exposition = prom;
    }
    const app = createStatusApp({
      auth: new PeerAuthVerifier({ key: peerKey, authority: () => authority, now: () => clock.now() }),
      problem: () => observer.stateError(),
      status: () => ({
        ...agent.status(),
        termination: watcher.view(),
        statePath: store.path,
        logFile: join(stateDir, 'etcd.log'),
      }),
      healthy: () => agent.healthy(),
      ready: readinessNow,
      ...(exposition !== undefined ? { metrics: exposition } : {}),
      bootstrapView: () => agent.bootstrapView(),
      castVote: (c, capacity, plan) => agent.castVote(c, capacity, plan),
      planStarted: (c, token) => agent.notePlanStart(c, token),
      groupList: () => observer.sharedGroupList(),
    });
    server = await startStatusServer({
      app,
      hostname: id.privateIp,
      port: settings.statusPort,
      ...(clientTls !== undefined ? { tls: clientTls } : {}),
    });
    if ((clientTls !== undefined || peerTls !== undefined) && tlsTimer === undefined) {
      // The etcd client re-checks on each call; this also covers an agent whose etcd calls pause.
      warnExpiry();
      tlsTimer = setInterval(() => {
        clientTls?.refresh();
        peerTls?.refresh();
        warnExpiry();
      }, tlsConfig.reloadIntervalMs);
      tlsTimer.unref();
    }
    logger.info(
      {
        instanceId: self,
        privateIp: id.privateIp,
        group: group.description,
        status: server.url,
        mode: config.etcd.mode,
        dataDir: settings.dataDir,
      },
      'agent started',
    );
    // Warn once if the group will not wait for a leave (docs/deploy.md); never blocks the start.
    void provider.checkDeployment(id, signal);
    return id;
  }

  return {
    agent,
    observer,
    runner,
    logger,
    start,
    run: (signal) => agent.run(signal),
    async planOnce(signal) {
      const sig = signal ?? AbortSignal.timeout(60_000);
      await readIdentity(sig);
      await watcher.pollOnce(sig);
      const observation = await observer.observe(sig);
      return { observation, actions: planMembership(observation, settings.policy, clock.now()) };
    },
    runOnce: (signal) => agent.runOnce(signal),
    statusUrl: () => server?.url,
    readiness: readinessNow,
    async shutdown(o = {}) {
      await watcher.stop();
      await provider.close();
      if (tlsTimer !== undefined) clearInterval(tlsTimer);
      tlsTimer = undefined;
      await server?.close();
      server = undefined;
      if ((o.stopEtcd ?? config.etcd.mode === 'supervise') && runner.isRunning()) {
        await runner
          .stop('agent shutdown')
          .catch((err: unknown) => logger.error({ err: describeError(err) }, 'could not stop etcd'));
      }
      await etcd.close();
      logger.info({ cycles: agent.cycleCount }, 'agent stopped');
    },
  };
}

/**
 * The key that authenticates the agents to each other: `agent.peerSecret`/`peerSecretFile` when set,
 * else derived from the secret the provider says every agent of the group holds (the Spot.io token), or
 * a random one for a lone static instance (it has no peers to talk to). Otherwise it must be configured.
 */
function resolvePeerKey(config: Config, shared: Provider['sharedSecret']): PeerKey {
  const secret = resolvePeerSecret(config);
  if (secret !== undefined) return peerKeyFromSecret(secret);
  if (shared?.derive === 'spot-token') return peerKeyFromSpotToken(shared.value);
  if (shared?.derive === 'secret') return peerKeyFromSecret(shared.value);
  throw new ConfigError([
    "agent.peerSecret: required for this group (it authenticates the agents' bootstrap votes and status to each other); " +
      'set agent.peerSecretFile or ETCD_SPOT_AGENT_PEER_SECRET to the same secret of 16+ characters on every instance',
  ]);
}

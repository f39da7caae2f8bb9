/**
 * The agent's metrics over prom-client, in a Registry of their own (never prom-client's global one),
 * served as Prometheus text by the status server's `GET /metrics`. See docs/metrics.md.
 *
 * prom-client's index also loads its default-metrics collectors, which pull in `@opentelemetry/api`
 * (about 5 MB of RSS for an agent that is kept under 65 MB): only the four classes used here are
 * loaded, from prom-client's own files. The few process metrics worth having are collected here.
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';
import type { ActionKind } from '../../core/actions.ts';
import type {
  AgentMetrics,
  DecisionOutcome,
  MembershipChange,
  MembershipChangeWhy,
  MetricsExposition,
  StatusClass,
} from '../../ports/metrics.ts';

export interface PrometheusMetricsOptions {
  /** Epoch ms; for the snapshot age. */
  now: () => number;
  /**
   * When the newest verified snapshot was taken (epoch ms), or undefined while there is none. Without
   * this option (no snapshot store configured), `etcd_spot_snapshot_age_seconds` is not exported.
   */
  snapshotTakenAt?: () => number | undefined;
  /** Also export process_resident_memory_bytes, process_cpu_seconds_total, process_start_time_seconds (default true). */
  processMetrics?: boolean;
}

export type PrometheusMetrics = AgentMetrics & MetricsExposition;

/** Seconds from a notice to self's removal: the leave takes ~0.2 s after a notice is seen, a 2-minute notice bounds it. */
export const NOTICE_TO_REMOVED_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120];

interface PromClasses {
  Registry: typeof Prom.Registry;
  Counter: typeof Prom.Counter;
  Gauge: typeof Prom.Gauge;
  Histogram: typeof Prom.Histogram;
}

function loadPromClient(): PromClasses {
  const require = createRequire(import.meta.url);
  return {
    Registry: require('prom-client/lib/registry') as typeof Prom.Registry,
    Counter: require('prom-client/lib/counter') as typeof Prom.Counter,
    Gauge: require('prom-client/lib/gauge') as typeof Prom.Gauge,
    Histogram: require('prom-client/lib/histogram') as typeof Prom.Histogram,
  };
}

/**
 * Creates the agent's metrics in a fresh registry.
 * @example
 * const metrics = createPrometheusMetrics({ now: () => Date.now() });
 * metrics.decision('add-self-as-learner', 'progressed');
 * const text = await metrics.text(); // etcd_spot_decisions_total{action="add-self-as-learner",outcome="progressed"} 1
 */
export function createPrometheusMetrics(opts: PrometheusMetricsOptions): PrometheusMetrics {
  const { Registry, Counter, Gauge, Histogram } = loadPromClient();
  const registry = new Registry();
  const registers = [registry];

  const decisions = new Counter({
    name: 'etcd_spot_decisions_total',
    help: 'Decisions executed (the first action of each plan), by action kind and outcome (progressed, waited, failed, refused).',
    labelNames: ['action', 'outcome'] as const,
    registers,
  });
  const membership = new Counter({
    name: 'etcd_spot_membership_changes_total',
    help: 'Committed etcd membership changes made by this agent (add-learner, promote, remove), by why.',
    labelNames: ['change', 'why'] as const,
    registers,
  });
  const noticeToRemoved = new Histogram({
    name: 'etcd_spot_notice_to_removed_seconds',
    help: "Seconds from the first sight of a termination notice to the removal of self's member.",
    buckets: NOTICE_TO_REMOVED_BUCKETS,
    registers,
  });
  const cloudCalls = new Counter({
    name: 'etcd_spot_cloud_api_calls_total',
    help: 'Requests to the cloud API (Spot.io), by route and status class (2xx, 4xx, 429, 5xx, timeout, unreachable).',
    labelNames: ['route', 'status'] as const,
    registers,
  });
  const lastCycle = new Gauge({
    name: 'etcd_spot_last_cycle_success_timestamp_seconds',
    help: 'When the agent last completed a cycle (observe, plan, execute), in Unix seconds; 0 before the first.',
    registers,
  });
  const etcdUp = new Gauge({
    name: 'etcd_spot_etcd_reachable',
    help: '1 when the last observation reached the etcd cluster (a voter listed the members), else 0.',
    registers,
  });
  const leader = new Gauge({
    name: 'etcd_spot_is_leader_agent',
    help: "1 when self's member is the etcd leader (this agent carries the cluster-wide duties), else 0.",
    registers,
  });
  const stateFile = new Gauge({
    name: 'etcd_spot_state_file_readable',
    help: '1 when state.json could be read at the last observation, else 0 (destructive actions are refused).',
    registers,
  });
  const ready = new Gauge({
    name: 'etcd_spot_ready',
    help: '1 when GET /readyz answers 200 (self is a healthy member or legitimately waiting), else 0.',
    registers,
  });
  const noticePending = new Gauge({
    name: 'etcd_spot_notice_pending_seconds',
    help: "Seconds since a termination notice was first seen while self's member is still in the cluster; 0 otherwise.",
    registers,
  });
  if (opts.snapshotTakenAt !== undefined) {
    const takenAt = opts.snapshotTakenAt;
    new Gauge({
      name: 'etcd_spot_snapshot_age_seconds',
      help: 'Age of the newest verified snapshot of the cluster, in seconds; +Inf while there is none.',
      registers,
      collect() {
        const at = takenAt();
        this.set(at === undefined ? Infinity : Math.max(0, (opts.now() - at) / 1000));
      },
    });
  }
  if (opts.processMetrics ?? true) {
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
      registers,
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
    new Gauge({
      name: 'process_start_time_seconds',
      help: 'Start time of the process since unix epoch in seconds.',
      registers,
    }).set(Math.round((Date.now() - process.uptime() * 1000) / 1000));
  }

  return {
    contentType: registry.contentType,
    text: () => registry.metrics(),
    decision: (action: ActionKind, outcome: DecisionOutcome) => decisions.inc({ action, outcome }),
    membershipChange: (change: MembershipChange, why: MembershipChangeWhy) => membership.inc({ change, why }),
    noticeToRemoved: (seconds: number) => {
      if (Number.isFinite(seconds) && seconds >= 0) noticeToRemoved.observe(seconds);
    },
    cloudApiCall: (route: string, status: StatusClass) => cloudCalls.inc({ route, status }),
    cycleSucceeded: (atMs: number) => lastCycle.set(atMs / 1000),
    etcdReachable: (up: boolean) => etcdUp.set(up ? 1 : 0),
    leaderAgent: (is: boolean) => leader.set(is ? 1 : 0),
    stateFileReadable: (ok: boolean) => stateFile.set(ok ? 1 : 0),
    ready: (ok: boolean) => ready.set(ok ? 1 : 0),
    noticePending: (seconds: number) => noticePending.set(Math.max(0, seconds)),
  };
}

/**
 * The benchmark's standard scenarios: one disruption each, between a settled start and a settled end,
 * so that every write failure and gap of a run belongs to that one disruption.
 * Each row runs the simulator's own scenario file, scenarios/<id>.yaml.
 */
export interface BenchScenario {
  /** The scenario name under scenarios/; also the row key in BENCHMARKS.md and bench-results.json. */
  id: string;
  /** In `--quick`. */
  quick: boolean;
  /** The group's cloud the row's scenario must use (default elastigroup). */
  provider?: 'elastigroup' | 'asg';
  /** The agents that run this row (default all). The seed baseline speaks only the Spot.io API. */
  agents?: readonly ('etcd-spot' | 'etcd-spot-defaults' | 'seed')[];
  /** The one disruption a scenario file must hold to be used for this row. */
  expect:
    | { kind: 'interrupt'; target: 'follower' | 'leader'; minNoticeMs: number; maxNoticeMs: number }
    | { kind: 'kill9'; target: 'follower' | 'leader'; instanceGone: boolean }
    /** Quorum loss: one kill -9 step, instances gone for good, hitting a majority but not all of them. */
    | { kind: 'majority-lost' }
    /** Quorum loss: one kill -9 step, every instance gone for good. */
    | { kind: 'all-lost' }
    /** One interrupt step that hits every instance of the group at once. */
    | { kind: 'interrupt-all'; minNoticeMs: number }
    /** The whole group boots at once (no disruption, no API fault): how long it takes to form. */
    | { kind: 'boot'; size: number }
    /** Nothing happens (no disruption, no API fault): what a calm group costs in API calls. */
    | { kind: 'steady'; size: number };
}

/** The rows judged by a target of their own (src/sim/bench-stats.ts BenchRowKind). */
export function rowKindOf(id: string): 'boot' | 'steady' | 'interrupt-all' | undefined {
  const e = BENCH_SCENARIOS.find((s) => s.id === id)?.expect;
  return e?.kind === 'boot' || e?.kind === 'steady' || e?.kind === 'interrupt-all' ? e.kind : undefined;
}

/** The quorum-loss rows' kind (their metrics, targets and section of BENCHMARKS.md are their own). */
export function recoveryKindOf(id: string): 'majority-lost' | 'all-lost' | undefined {
  const e = BENCH_SCENARIOS.find((s) => s.id === id)?.expect;
  return e?.kind === 'majority-lost' || e?.kind === 'all-lost' ? e.kind : undefined;
}

const ELASTIGROUP_EXPECT: Record<string, BenchScenario['expect']> = {
  'interrupt-follower': { kind: 'interrupt', target: 'follower', minNoticeMs: 10_000, maxNoticeMs: 120_000 },
  'interrupt-leader': { kind: 'interrupt', target: 'leader', minNoticeMs: 10_000, maxNoticeMs: 120_000 },
  'short-notice': { kind: 'interrupt', target: 'follower', minNoticeMs: 0, maxNoticeMs: 5000 },
  'kill9-reaped': { kind: 'kill9', target: 'follower', instanceGone: true },
};

function expectOf(id: string): BenchScenario['expect'] {
  const e = ELASTIGROUP_EXPECT[id];
  if (e === undefined) throw new Error(`no bench expectation for ${id}`);
  return e;
}

export const BENCH_SCENARIOS: readonly BenchScenario[] = [
  {
    id: 'interrupt-follower',
    quick: true,
    expect: { kind: 'interrupt', target: 'follower', minNoticeMs: 10_000, maxNoticeMs: 120_000 },
  },
  {
    id: 'interrupt-leader',
    quick: true,
    expect: { kind: 'interrupt', target: 'leader', minNoticeMs: 10_000, maxNoticeMs: 120_000 },
  },
  {
    id: 'interrupt-notice-30s',
    quick: false,
    expect: { kind: 'interrupt', target: 'follower', minNoticeMs: 30_000, maxNoticeMs: 120_000 },
  },
  {
    // interrupt-follower over TLS (scenario `tls: true`): what TLS costs; etcd-spot only (the seed is plain HTTP).
    id: 'interrupt-follower-tls',
    quick: false,
    expect: { kind: 'interrupt', target: 'follower', minNoticeMs: 10_000, maxNoticeMs: 120_000 },
  },
  {
    id: 'short-notice',
    quick: false,
    expect: { kind: 'interrupt', target: 'follower', minNoticeMs: 0, maxNoticeMs: 5000 },
  },
  {
    id: 'kill9-reaped',
    quick: false,
    expect: { kind: 'kill9', target: 'follower', instanceGone: true },
  },
  // The same disruptions on an AWS Auto Scaling group with a termination lifecycle hook (issue 10), next
  // to the Elastigroup rows; etcd-spot at both settings (the seed baseline cannot speak the AWS APIs).
  ...(['interrupt-follower', 'interrupt-leader', 'short-notice', 'kill9-reaped'] as const).map(
    (id): BenchScenario => ({
      id: `asg-${id}`,
      quick: false,
      provider: 'asg',
      agents: ['etcd-spot', 'etcd-spot-defaults'],
      expect: expectOf(id),
    }),
  ),
  // Issue 11's rows: the whole group interrupted with the 2-minute notice, a group forming, a calm group.
  {
    id: 'interrupt-all-2m',
    quick: false,
    expect: { kind: 'interrupt-all', minNoticeMs: 120_000 },
  },
  {
    id: 'boot-5',
    quick: false,
    expect: { kind: 'boot', size: 5 },
  },
  {
    id: 'steady-5',
    quick: false,
    expect: { kind: 'steady', size: 5 },
  },
  {
    id: 'majority-lost',
    quick: false,
    expect: { kind: 'majority-lost' },
  },
  {
    id: 'all-lost',
    quick: false,
    expect: { kind: 'all-lost' },
  },
];

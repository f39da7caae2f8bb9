/**
 * Scenarios: a timeline of steps run against a {@link Fleet} while the workload writes. Built-in ones
 * are listed in {@link SCENARIOS}; `chaos` draws its steps from the seed.
 */
import { formatDuration } from '../config/duration.ts';
import { Prng } from '../emulator/prng.ts';
import type { FaultRoute, FaultSpec } from '../emulator/types.ts';
import type { InterruptTarget } from './fleet.ts';

export type Step =
  /** Wait until the fleet is converged (see checkConvergence). */
  | { kind: 'converge'; timeoutMs?: number; voters?: number }
  /** Spot interruption with a notice. */
  | { kind: 'interrupt'; target: InterruptTarget; noticeMs: number }
  /** SIGKILL the VM's processes; the instance is terminated too, or reboots. */
  | { kind: 'kill9'; target: InterruptTarget; instanceGone: boolean }
  /** Kill, wipe the etcd data dir, start again. */
  | { kind: 'wipe'; target: InterruptTarget }
  | { kind: 'scale'; to: number }
  | { kind: 'fault'; route: FaultRoute; fault: FaultSpec }
  | { kind: 'clear-faults' }
  | { kind: 'sleep'; ms: number };

export type StepKind = Step['kind'];

export interface Scenario {
  name: string;
  description: string;
  /** Group size at start (the CLI's --instances overrides it). */
  instances: number;
  /** What --duration means for this scenario: a cap on the whole run, or how long to churn. */
  durationMeaning: 'cap' | 'churn';
  defaultDurationMs: number;
  /** The steps, given the run's seed, duration and group size. */
  steps(ctx: { seed: number; durationMs: number; instances: number }): Step[];
}

function targetText(t: InterruptTarget): string {
  if (t === 'leader') return 'the leader';
  if (t === 'follower') return 'a follower';
  if (t === 'random') return 'a random instance';
  return t;
}

/** One line for the live view and the report. */
export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'converge':
      return s.voters === undefined ? 'wait for convergence' : `wait for convergence with ${s.voters} voters`;
    case 'interrupt':
      return `interrupt ${targetText(s.target)} (notice ${formatDuration(s.noticeMs)})`;
    case 'kill9':
      return `kill -9 ${targetText(s.target)} ${s.instanceGone ? '(instance gone)' : '(instance reboots)'}`;
    case 'wipe':
      return `wipe the data dir of ${targetText(s.target)}`;
    case 'scale':
      return `scale the group to ${s.to}`;
    case 'fault':
      return `API fault on ${s.route}: ${s.fault.kind}${'status' in s.fault ? ` ${s.fault.status}` : ''}`;
    case 'clear-faults':
      return 'clear the API faults';
    case 'sleep':
      return `keep writing for ${formatDuration(s.ms)}`;
  }
}

/** Steps that disturb the fleet (and get per-event timings in the report). */
export function isDisruption(s: Step): boolean {
  return s.kind === 'interrupt' || s.kind === 'kill9' || s.kind === 'wipe' || s.kind === 'scale';
}

const NOTICE_MS = 15_000;

const demo: Scenario = {
  name: 'demo',
  description:
    '3 instances and a writer: interrupt a follower (15 s notice), then the leader, then kill -9 an instance that never comes back',
  instances: 3,
  durationMeaning: 'cap',
  defaultDurationMs: 5 * 60_000,
  steps: () => [
    { kind: 'converge' },
    { kind: 'sleep', ms: 3000 },
    { kind: 'interrupt', target: 'follower', noticeMs: NOTICE_MS },
    { kind: 'converge' },
    { kind: 'interrupt', target: 'leader', noticeMs: NOTICE_MS },
    { kind: 'converge' },
    { kind: 'kill9', target: 'random', instanceGone: true },
    { kind: 'converge' },
    { kind: 'sleep', ms: 3000 },
  ],
};

const steady: Scenario = {
  name: 'steady',
  description: 'boot, then write for the duration with nothing going wrong (a baseline)',
  instances: 3,
  durationMeaning: 'churn',
  defaultDurationMs: 30_000,
  steps: ({ durationMs }) => [{ kind: 'converge' }, { kind: 'sleep', ms: durationMs }, { kind: 'converge' }],
};

const scale: Scenario = {
  name: 'scale',
  description: 'scale 3 → 5 → 3 while writing',
  instances: 3,
  durationMeaning: 'cap',
  defaultDurationMs: 5 * 60_000,
  steps: () => [
    { kind: 'converge' },
    { kind: 'scale', to: 5 },
    { kind: 'converge' },
    { kind: 'scale', to: 3 },
    { kind: 'converge' },
  ],
};

const apiOutage: Scenario = {
  name: 'api-outage',
  description: 'the Spot API answers 503 while an instance is interrupted; faults cleared after 20 s',
  instances: 3,
  durationMeaning: 'cap',
  defaultDurationMs: 5 * 60_000,
  steps: () => [
    { kind: 'converge' },
    { kind: 'fault', route: 'all', fault: { kind: 'status', status: 503 } },
    { kind: 'kill9', target: 'follower', instanceGone: true },
    { kind: 'sleep', ms: 20_000 },
    { kind: 'clear-faults' },
    { kind: 'converge' },
  ],
};

/** Seeded random churn: one disruption at a time, each followed by convergence, until the duration is used. */
export function chaosSteps(seed: number, durationMs: number): Step[] {
  const rng = new Prng(seed ^ 0x5eed);
  const menu: Step[] = [
    { kind: 'interrupt', target: 'random', noticeMs: NOTICE_MS },
    { kind: 'interrupt', target: 'leader', noticeMs: NOTICE_MS },
    { kind: 'kill9', target: 'random', instanceGone: true },
    { kind: 'kill9', target: 'random', instanceGone: false },
    { kind: 'wipe', target: 'random' },
  ];
  // A disruption plus its convergence takes ~25 s here; plan that many, the run's cap stops the rest.
  const count = Math.max(1, Math.floor(durationMs / 25_000));
  const steps: Step[] = [{ kind: 'converge' }];
  for (let i = 0; i < count; i++) {
    steps.push(menu[rng.int(menu.length)] as Step, { kind: 'converge' });
  }
  return steps;
}

const chaos: Scenario = {
  name: 'chaos',
  description: 'seeded random churn (interruptions, kill -9, wipes), converging after each',
  instances: 3,
  durationMeaning: 'churn',
  defaultDurationMs: 90_000,
  steps: ({ seed, durationMs }) => chaosSteps(seed, durationMs),
};

export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map(
  [demo, steady, scale, apiOutage, chaos].map((s) => [s.name, s]),
);

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.get(name);
}

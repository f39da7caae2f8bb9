/**
 * The scenario file format (scenarios/*.yaml): a zod schema plus checks across fields, turning a YAML
 * text into a {@link Scenario}. Every problem is reported at once, each naming the file, the line, the
 * path (e.g. `timeline[3].interrupt.notice`) and the fix.
 *
 * Steps are one-key mappings (`- sleep: 5s`, `- interrupt: { target: leader, notice: 15s }`); a step
 * without arguments may be written as a bare word (`- waitConverged`, `- clearFaults`, `- reuseIp`).
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { EtcdSpotError } from '../core/errors.ts';
import { formatDuration, parseDuration } from '../config/duration.ts';
import { closest } from '../config/load.ts';
import { showValue } from '../config/schema.ts';
import { FAULT_ROUTES } from '../emulator/types.ts';
import type { FaultRoute, FaultSpec } from '../emulator/types.ts';
import type { AgentSettingKey, DisruptionStep, Scenario, Step, Target } from './scenario.ts';

/** A scenario file that does not validate; `issues` lists every problem, one line each. */
export class ScenarioError extends EtcdSpotError {
  readonly issues: readonly string[];
  constructor(source: string, issues: readonly string[], cause?: unknown) {
    super(`invalid scenario ${source}:\n  - ${issues.join('\n  - ')}`, {
      code: 'SCENARIO_INVALID',
      retryable: false,
      cause,
    });
    this.issues = issues;
  }
}

// ------------------------------------------------------------------------------------ field parsers

type Parsed<T> = { ok: T } | { error: string };

const DURATION_HINT = "expected a duration such as '500ms', '15s' or '2m'";

function fail(error: string): { error: string } {
  return { error };
}

/**
 * A field from a parser with its own messages. `def` is used when the key is missing or null (a YAML
 * key with nothing after it); without one the field is required and `requiredHint` says what to write.
 */
function field<T>(parse: (v: unknown) => Parsed<T>, opts: { def?: T; requiredHint?: string } = {}) {
  return (
    z
      .unknown()
      .transform((v, ctx): T => {
        if (v === undefined || v === null) {
          if (opts.def !== undefined) return opts.def;
          ctx.issues.push({
            code: 'custom',
            message: `is required${opts.requiredHint ? `; ${opts.requiredHint}` : ''}`,
            input: v,
          });
          return z.NEVER;
        }
        const r = parse(v);
        if ('error' in r) {
          ctx.issues.push({ code: 'custom', message: r.error, input: v });
          return z.NEVER;
        }
        return r.ok;
      })
      // zod 4 parses an absent key only with a prefault: the transform then sees null.
      .prefault(null)
  );
}

/** Like {@link field} but the output may be undefined (key left out). */
function optionalField<T>(parse: (v: unknown) => Parsed<T>) {
  return z
    .unknown()
    .transform((v, ctx): T | undefined => {
      if (v === undefined || v === null) return undefined;
      const r = parse(v);
      if ('error' in r) {
        ctx.issues.push({ code: 'custom', message: r.error, input: v });
        return z.NEVER;
      }
      return r.ok;
    })
    .prefault(null);
}

function durationMs(limits: { min?: number; max?: number } = {}): (v: unknown) => Parsed<number> {
  return (v) => {
    if (typeof v === 'number') return fail(`${DURATION_HINT} (got ${v}); write '${v}s' or '${v}ms'`);
    if (typeof v !== 'string') return fail(`${DURATION_HINT} (got ${showValue(v)})`);
    const ms = parseDuration(v);
    if (ms === undefined) return fail(`${DURATION_HINT} (got ${showValue(v)})`);
    const min = limits.min ?? 0;
    if (ms < min || (limits.max !== undefined && ms > limits.max)) {
      const range =
        limits.max === undefined
          ? `at least ${formatDuration(min)}`
          : `between ${formatDuration(min)} and ${formatDuration(limits.max)}`;
      return fail(`must be ${range} (got '${v}')`);
    }
    return { ok: ms };
  };
}

function integer(min: number, max: number, what = 'a whole number'): (v: unknown) => Parsed<number> {
  return (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? { ok: v }
      : fail(`must be ${what} between ${min} and ${max} (got ${showValue(v)})`);
}

function oddVoters(v: unknown): Parsed<number> {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 9 && v % 2 === 1
    ? { ok: v }
    : fail(`must be an odd number between 1 and 9 (got ${showValue(v)})`);
}

function nonNegative(v: unknown): Parsed<number> {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0
    ? { ok: v }
    : fail(`must be a number ≥ 0 (0 = as fast as possible; got ${showValue(v)})`);
}

function bool(v: unknown): Parsed<boolean> {
  return typeof v === 'boolean' ? { ok: v } : fail(`expected true or false (got ${showValue(v)})`);
}

function text(v: unknown): Parsed<string> {
  return typeof v === 'string' && v.trim() !== ''
    ? { ok: v.trim() }
    : fail(`expected a non-empty string (got ${showValue(v)})`);
}

function oneOf<T extends string>(values: readonly T[]): (v: unknown) => Parsed<T> {
  return (v) => {
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return { ok: v as T };
    const near = typeof v === 'string' ? closest(v, values) : undefined;
    return fail(
      `expected one of ${values.join(', ')} (got ${showValue(v)})${near ? `; did you mean '${near}'?` : ''}`,
    );
  };
}

const TARGET_HINT = 'one of leader, follower, random, or the index of a running instance (0 = the oldest)';

function target(v: unknown): Parsed<Target> {
  if (v === 'leader' || v === 'follower' || v === 'random') return { ok: v };
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 250) return { ok: v };
  if (typeof v === 'string' && /^\d+$/.test(v)) return { ok: Number(v) };
  const near = typeof v === 'string' ? closest(v, ['leader', 'follower', 'random']) : undefined;
  return fail(`expected ${TARGET_HINT} (got ${showValue(v)})${near ? `; did you mean '${near}'?` : ''}`);
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

function scenarioName(v: unknown): Parsed<string> {
  return typeof v === 'string' && NAME_RE.test(v)
    ? { ok: v }
    : fail(
        `expected lowercase letters, digits, '.', '_' or '-', e.g. 'interrupt-leader' (got ${showValue(v)})`,
      );
}

function seed(v: unknown): Parsed<number> {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 31
    ? { ok: v }
    : fail(`must be a whole number between 0 and ${2 ** 31 - 1} (got ${showValue(v)})`);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envMap(v: unknown): Parsed<Record<string, string>> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return fail(`expected a mapping of NAME: value, e.g. { SEED_POLL_INTERVAL: 30 } (got ${showValue(v)})`);
  const out: Record<string, string> = {};
  const bad: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!ENV_NAME.test(k)) bad.push(`'${k}' is not a variable name`);
    else if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else bad.push(`${k}: expected a string, number or boolean (got ${showValue(x)})`);
  }
  return bad.length > 0 ? fail(bad.join('; ')) : { ok: out };
}

/** A mapping; `key:` with nothing after it counts as an empty one. */
function mapping<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.preprocess((v) => (v === null || v === undefined ? {} : v), z.strictObject(shape));
}

/** A section of the file that may be left out (then every key takes its default). */
function section<S extends z.core.$ZodLooseShape>(shape: S) {
  return mapping(shape).prefault({});
}

// ------------------------------------------------------------------------------------ shapes

/** The routes whose replies list a group's instances (a `partial` fault drops some of them). */
const PARTIAL_ROUTES: readonly FaultRoute[] = [
  'group-status',
  'all',
  'autoscaling',
  'autoscaling:DescribeAutoScalingGroups',
  'ec2',
  'ec2:DescribeInstances',
];

const groupShape = {
  size: field(integer(1, 9), { def: 3 }),
  maxVoters: field(oddVoters, { def: 5 }),
  signalTimeout: field(durationMs({ min: 0, max: 3_600_000 }), { def: 120_000 }),
  ipReuse: field(oneOf(['never', 'prefer'] as const), { def: 'never' as const }),
  bootAllAtOnce: field(bool, { def: true }),
  // The cloud the agents talk to: a Spot.io Elastigroup (default) or an AWS Auto Scaling group with a
  // termination lifecycle hook (issue 10).
  provider: field(oneOf(['elastigroup', 'asg'] as const), { def: 'elastigroup' as const }),
};

/** etcd-spot agent settings a scenario may override (`agent.<key>` of its config). */
export const AGENT_SETTINGS: Record<AgentSettingKey, 'duration' | 'boolean'> = {
  cycleInterval: 'duration',
  terminationPollInterval: 'duration',
  groupPollInterval: 'duration',
  steadyGroupPollInterval: 'duration',
  followerGroupPollInterval: 'duration',
  cloudStatusPollInterval: 'duration',
  memberDeadAfter: 'duration',
  terminatedMemberDeadAfter: 'duration',
  unstartedMemberTtl: 'duration',
  leaveOnRebalance: 'boolean',
  leaveAfterReplacement: 'boolean',
  leaveMargin: 'duration',
  replacementWait: 'duration',
};

const agentShape = Object.fromEntries(
  Object.entries(AGENT_SETTINGS).map(([k, kind]) => [
    k,
    optionalField<string>((v) => {
      if (kind === 'boolean') {
        const b = bool(v);
        return 'ok' in b ? { ok: String(b.ok) } : b;
      }
      const d = durationMs({ min: 100 })(v);
      return 'ok' in d ? { ok: formatDuration(d.ok) } : d;
    }),
  ]),
) as Record<AgentSettingKey, ReturnType<typeof optionalField<string>>>;

const workloadShape = {
  writers: field(integer(1, 64), { def: 4 }),
  writesPerSecond: field(nonNegative, { def: 0 }),
  valueSize: field(integer(0, 1_048_576, 'a byte count'), { def: 0 }),
  registerClients: field(integer(0, 32), { def: 2 }),
  registerKeys: field(integer(1, 1000), { def: 8 }),
  registerOpsPerSecond: field(nonNegative, { def: 40 }),
};

/** The YAML fault kinds and the emulator fault each one becomes. */
export const FAULT_KINDS = [
  'outage',
  '5xx',
  '429',
  'latency',
  'timeout',
  'stale',
  'partial',
  'malformed',
  'empty',
] as const;
type FaultKindName = (typeof FAULT_KINDS)[number];

/** Which optional fault fields make sense for which kind. */
const FAULT_FIELDS: Record<string, readonly FaultKindName[]> = {
  status: ['5xx'],
  delay: ['latency', 'timeout'],
  resetAfter: ['429'],
  dropRandom: ['partial'],
};

const targetField = field(target, { requiredHint: TARGET_HINT });
const countField = field(integer(1, 9, 'a count'), { def: 1 });

const interruptShape = {
  target: targetField,
  count: countField,
  notice: field(durationMs({ min: 0, max: 3_600_000 }), { def: 120_000 }),
};
const kill9Shape = { target: targetField, count: countField, instanceGone: field(bool, { def: true }) };
const wipeShape = { target: targetField, count: countField };
const waitShape = {
  timeout: field(durationMs({ min: 1000 }), { def: 180_000 }),
  voters: optionalField(oddVoters),
};
const faultShape = {
  route: field(oneOf(FAULT_ROUTES), { def: 'all' as FaultRoute }),
  // `kind: 429` is a number in YAML.
  kind: field((v) => oneOf(FAULT_KINDS)(typeof v === 'number' ? String(v) : v), {
    requiredHint: `one of ${FAULT_KINDS.join(', ')}`,
  }),
  status: optionalField(integer(500, 599, 'an HTTP status')),
  delay: optionalField(durationMs({ min: 0, max: 60_000 })),
  resetAfter: optionalField(durationMs({ min: 0, max: 3_600_000 })),
  dropRandom: optionalField(integer(1, 9, 'a count')),
  count: optionalField(integer(1, 1_000_000, 'a request count')),
  instance: optionalField(target),
  duration: optionalField(durationMs({ min: 1 })),
};

function fraction(v: unknown): Parsed<number> {
  return typeof v === 'number' && v > 0 && v <= 1
    ? { ok: v }
    : fail(`expected a fraction above 0 and at most 1, e.g. 0.5 (got ${showValue(v)})`);
}

const partitionShape = {
  target: targetField,
  count: countField,
  direction: field(oneOf(['both', 'in', 'out'] as const), { def: 'both' as const }),
};
const latencyShape = {
  target: targetField,
  count: countField,
  delay: field(durationMs({ min: 0, max: 10_000 }), { requiredHint: "e.g. '200ms'" }),
  jitter: field(durationMs({ min: 0, max: 10_000 }), { def: 0 }),
};
const dropShape = {
  target: targetField,
  count: countField,
  fraction: field(fraction, { requiredHint: 'e.g. 0.5' }),
};
const pauseShape = {
  target: targetField,
  process: field(oneOf(['etcd', 'agent'] as const), { def: 'etcd' as const }),
};

const fillDiskShape = { target: targetField };
const clockStepShape = {
  target: targetField,
  by: field(durationMs({ min: 1, max: 7 * 86_400_000 }), { requiredHint: "how far to step, e.g. '5m'" }),
  backward: field(bool, { def: false }),
};

/** Step kinds whose value is required (a bare word is not enough), with what to write. */
const NEEDS_VALUE: Record<string, string> = {
  sleep: "write '- sleep: 5s'",
  scaleTo: "write '- scaleTo: 5'",
  interrupt: "write '- interrupt: { target: follower, notice: 15s }'",
  kill9: "write '- kill9: { target: random, instanceGone: true }'",
  wipe: "write '- wipe: { target: random }'",
  fault: "write '- fault: { route: all, kind: outage, duration: 20s }'",
  chaos: "write '- chaos: { for: 90s, choose: [...] }'",
  episode: "write '- episode: { name: partition-minority, steps: [...] }'",
  partition: "write '- partition: { target: follower, direction: both }'",
  latency: "write '- latency: { target: follower, delay: 200ms, jitter: 50ms }'",
  drop: "write '- drop: { target: follower, fraction: 0.5 }'",
  pause: "write '- pause: { target: follower, process: etcd }'",
  fillDisk: "write '- fillDisk: { target: follower }'",
  clockStep: "write '- clockStep: { target: follower, by: 5m, backward: false }'",
};

/** A count above 1 needs a role or random (an index names one instance). */
function checkCount(v: { target: Target; count: number }, ctx: z.RefinementCtx): void {
  if (typeof v.target === 'number' && v.count > 1)
    ctx.addIssue({
      code: 'custom',
      path: ['count'],
      message: 'a count above 1 needs target leader, follower or random (an index names one instance)',
    });
}

const disruptionSchemas = {
  interrupt: mapping(interruptShape).superRefine(checkCount),
  kill9: mapping(kill9Shape).superRefine(checkCount),
  wipe: mapping(wipeShape).superRefine(checkCount),
};
type DisruptionInput = {
  [K in keyof typeof disruptionSchemas]: { kind: K; value: z.output<(typeof disruptionSchemas)[K]> };
}[keyof typeof disruptionSchemas];

/** A bare word (`- waitConverged`) is the step with no value. */
function bareToMap(v: unknown): unknown {
  return typeof v === 'string' ? { [v]: null } : v;
}

/**
 * A list of one-key steps, each checked with its kind's schema: issues keep their paths
 * (`timeline[3].interrupt.notice`), and a malformed item says what a step looks like.
 */
function stepList<S extends Record<string, z.ZodType>>(schemas: S, what: string) {
  type Out = { [K in keyof S & string]: { kind: K; value: z.output<S[K]> } }[keyof S & string];
  const kinds = Object.keys(schemas);
  return z
    .array(z.unknown(), { error: `expected a list of ${what}, one '- ' line each` })
    .transform((items, ctx) => {
      const out: Out[] = [];
      items.forEach((raw, i) => {
        const issue = (message: string, path: (string | number)[] = []) =>
          ctx.issues.push({ code: 'custom', message, input: raw, path: [i, ...path] });
        const step = bareToMap(raw);
        if (typeof step !== 'object' || step === null || Array.isArray(step)) {
          issue(`expected a step such as 'sleep: 5s' (got ${showValue(raw)}); steps: ${kinds.join(', ')}`);
          return;
        }
        const keys = Object.keys(step);
        if (keys.length !== 1) {
          issue(
            keys.length === 0
              ? `empty step; expected one of: ${kinds.join(', ')}`
              : `one step per list item, found ${keys.join(' and ')}; start each step with its own '- '`,
          );
          return;
        }
        const kind = keys[0] as string;
        const value = (step as Record<string, unknown>)[kind];
        const schema = schemas[kind];
        if (schema === undefined) {
          const near = closest(kind, kinds);
          issue(
            `unknown step '${kind}'${near ? `; did you mean '${near}'?` : `; expected one of: ${kinds.join(', ')}`}`,
          );
          return;
        }
        if ((value === null || value === undefined) && NEEDS_VALUE[kind]) {
          issue(`needs a value; ${NEEDS_VALUE[kind]}`, [kind]);
          return;
        }
        const r = schema.safeParse(value);
        if (!r.success) {
          for (const iss of r.error.issues)
            ctx.issues.push({ ...iss, path: [i, kind, ...iss.path] } as Parameters<
              typeof ctx.issues.push
            >[0]);
          return;
        }
        out.push({ kind, value: r.data } as Out);
      });
      return out;
    });
}

/** Steps of a timeline, of a chaos step's choices and of an episode (all but chaos and episode). */
const basicStepSchemas = {
  waitConverged: mapping(waitShape),
  sleep: field(durationMs({ min: 1 })),
  ...disruptionSchemas,
  reuseIp: field(bool, { def: true }),
  fault: mapping(faultShape).superRefine((f, ctx) => {
    const at = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    for (const [key, kinds] of Object.entries(FAULT_FIELDS)) {
      if ((f as Record<string, unknown>)[key] !== undefined && !kinds.includes(f.kind))
        at(key, `only applies to kind ${kinds.join(' or ')} (this fault is ${f.kind}); remove it`);
    }
    if (f.kind === 'latency' && f.delay === undefined)
      at('delay', "is required for kind latency, e.g. 'delay: 2s'");
    if (f.kind === 'partial' && !PARTIAL_ROUTES.includes(f.route))
      at(
        'route',
        'kind partial only changes group lists; use route group-status (Spot.io) or autoscaling:DescribeAutoScalingGroups (AWS)',
      );
  }),
  clearFaults: z.null({ error: "takes no value; write '- clearFaults'" }),
  partition: mapping(partitionShape).superRefine(checkCount),
  latency: mapping(latencyShape).superRefine(checkCount),
  drop: mapping(dropShape).superRefine(checkCount),
  heal: z.null({ error: "takes no value; write '- heal'" }),
  pause: mapping(pauseShape),
  resume: z.null({ error: "takes no value; write '- resume'" }),
  fillDisk: mapping(fillDiskShape),
  freeDisk: z.null({ error: "takes no value; write '- freeDisk'" }),
  clockStep: mapping(clockStepShape),
  scaleTo: field(integer(1, 15, 'a group size')),
  // The value is the instance warmup (`- instanceRefresh` alone: 10 s).
  instanceRefresh: field(durationMs({ min: 0, max: 600_000 }), { def: 10_000 }),
};

const EPISODE_NAME = /^[a-z0-9][a-z0-9-]*$/;

const episodeShape = {
  name: field(
    (v) =>
      typeof v === 'string' && EPISODE_NAME.test(v)
        ? { ok: v }
        : fail(`expected lowercase letters, digits and '-', e.g. 'partition-minority' (got ${showValue(v)})`),
    { requiredHint: "the event's kind in the soak report, e.g. 'partition-minority'" },
  ),
  steps: stepList(basicStepSchemas, 'steps').prefault([]),
};

/** What a chaos step may draw: any basic step, or an episode (a named sequence of steps). */
const chaosChoiceSchemas = {
  ...basicStepSchemas,
  episode: mapping(episodeShape).superRefine((e, ctx) => {
    if (e.steps.length === 0)
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'is empty; list the steps of the episode' });
  }),
};

const chaosShape = {
  for: optionalField(durationMs({ min: 1000 })),
  events: optionalField(integer(1, 100_000, 'a count of events')),
  choose: stepList(chaosChoiceSchemas, 'steps or episodes').prefault([]),
  convergeTimeout: field(durationMs({ min: 1000 }), { def: 180_000 }),
};

const stepSchemas = {
  ...basicStepSchemas,
  chaos: mapping(chaosShape).superRefine((c, ctx) => {
    if (c.choose.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['choose'],
        message: 'is empty; list the disruptions to draw from',
      });
    if (c.for === undefined && c.events === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['for'],
        message:
          "is required without events; say how long to keep drawing (e.g. 'for: 90s') or how many times ('events: 200')",
      });
  }),
};
export const STEP_KINDS = Object.keys(stepSchemas);

const rootShape = {
  name: field(scenarioName, { requiredHint: "e.g. 'interrupt-leader' (the file name without .yaml)" }),
  description: field(text, { requiredHint: 'one line saying what the scenario does' }),
  seed: optionalField(seed),
  duration: field(durationMs({ min: 1000 }), { def: 10 * 60_000 }),
  group: section(groupShape),
  agent: section(agentShape),
  agentEnv: field(envMap, { def: {} }),
  // etcd and the agents over TLS: a CA and a certificate per instance, made for each run.
  tls: field(bool, { def: false }),
  workload: section(workloadShape),
  timeline: stepList(stepSchemas, 'steps').prefault(null as never),
};

const scenarioSchema = z.strictObject(rootShape);
type ScenarioInput = z.output<typeof scenarioSchema>;
type StepInput = ScenarioInput['timeline'][number];
type ChoiceInput = Extract<StepInput, { kind: 'chaos' }>['value']['choose'][number];

/** The keys allowed in the mapping at `path` (for "did you mean" hints), by path pattern. */
function allowedKeys(path: readonly (string | number)[]): string[] | undefined {
  const p = path.map((s) => (typeof s === 'number' ? '#' : s)).join('.');
  if (p === '') return Object.keys(rootShape);
  if (p === 'group') return Object.keys(groupShape);
  if (p === 'agent') return Object.keys(agentShape);
  if (p === 'workload') return Object.keys(workloadShape);
  const shapes: Record<string, object> = {
    waitConverged: waitShape,
    interrupt: interruptShape,
    kill9: kill9Shape,
    wipe: wipeShape,
    fault: faultShape,
    chaos: chaosShape,
    episode: episodeShape,
    partition: partitionShape,
    latency: latencyShape,
    drop: dropShape,
    pause: pauseShape,
    fillDisk: fillDiskShape,
    clockStep: clockStepShape,
  };
  const m = /^timeline\.#(?:\.chaos\.choose\.#)?(?:\.episode\.steps\.#)?\.(\w+)$/.exec(p);
  const shape = m ? shapes[m[1] as string] : undefined;
  return shape ? Object.keys(shape) : undefined;
}

// ------------------------------------------------------------------------------------ issues

type Path = (string | number)[];

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || '(top level)';
}

interface Issue {
  path: Path;
  text: string;
}

function describeIssue(issue: z.core.$ZodIssue): Issue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = formatPath(path);
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(path) ?? [];
    return issue.keys.map((key) => {
      const near = closest(key, allowed);
      const hint = near ? `; did you mean '${near}'?` : `; expected one of: ${allowed.join(', ')}`;
      return { path: [...path, key], text: `${formatPath([...path, key])}: unknown key${hint}` };
    });
  }
  if (issue.code === 'invalid_type') {
    const got = (issue as { input?: unknown }).input;
    const last = path[path.length - 1];
    const kind = typeof last === 'string' ? last : '';
    if (issue.expected === 'object') {
      const hint = NEEDS_VALUE[kind] ? `; ${NEEDS_VALUE[kind]}` : '';
      return [{ path, text: `${where}: expected a mapping of keys (got ${showValue(got)})${hint}` }];
    }
    return [{ path, text: `${where}: ${issue.message}` }];
  }
  return [{ path, text: `${where}: ${issue.message}` }];
}

/** A missing or empty timeline, said plainly (zod would only say "expected a list"). */
function timelineIssues(input: unknown): Issue[] {
  const timeline =
    typeof input === 'object' && input !== null ? (input as Record<string, unknown>).timeline : undefined;
  if (timeline === undefined || timeline === null)
    return [
      { path: ['timeline'], text: 'timeline: is required; list the steps, e.g. [waitConverged, sleep: 5s]' },
    ];
  if (Array.isArray(timeline) && timeline.length === 0)
    return [{ path: ['timeline'], text: 'timeline: is empty; list at least one step' }];
  return [];
}

/** The writers start at the first convergence: a timeline without one would never write. */
function convergeIssues(input: unknown): Issue[] {
  const timeline =
    typeof input === 'object' && input !== null ? (input as Record<string, unknown>).timeline : undefined;
  if (!Array.isArray(timeline) || timeline.length === 0) return [];
  const waits = timeline.some((raw) => {
    const step = bareToMap(raw);
    return typeof step === 'object' && step !== null && 'waitConverged' in step;
  });
  return waits
    ? []
    : [
        {
          path: ['timeline'],
          text: "timeline: has no waitConverged step; the writers start once the fleet first converges, so begin with '- waitConverged'",
        },
      ];
}

// ------------------------------------------------------------------------------------ to Scenario

function toFault(f: Extract<StepInput, { kind: 'fault' }>['value']): FaultSpec {
  const common = f.count !== undefined ? { count: f.count } : {};
  switch (f.kind) {
    case 'outage':
      return { kind: 'status', status: 503, ...common };
    case '5xx':
      return { kind: 'status', status: f.status ?? 500, ...common };
    case '429':
      return { kind: 'rate-limit', resetSec: Math.ceil((f.resetAfter ?? 1000) / 1000), ...common };
    case 'latency':
      return { kind: 'latency', ms: f.delay ?? 1000, ...common };
    case 'timeout':
      return { kind: 'timeout', ms: f.delay ?? 5000, ...common };
    case 'partial':
      return { kind: 'partial', dropRandom: f.dropRandom ?? 1, ...common };
    case 'stale':
    case 'malformed':
    case 'empty':
      return { kind: f.kind, ...common };
  }
}

function toDisruption(d: DisruptionInput): DisruptionStep {
  switch (d.kind) {
    case 'interrupt':
      return { kind: 'interrupt', target: d.value.target, count: d.value.count, noticeMs: d.value.notice };
    case 'kill9':
      return {
        kind: 'kill9',
        target: d.value.target,
        count: d.value.count,
        instanceGone: d.value.instanceGone,
      };
    case 'wipe':
      return { kind: 'wipe', target: d.value.target, count: d.value.count };
  }
}

function toStep(s: StepInput | ChoiceInput): Step {
  switch (s.kind) {
    case 'interrupt':
    case 'kill9':
    case 'wipe':
      return toDisruption(s as DisruptionInput);
    case 'waitConverged':
      return {
        kind: 'converge',
        timeoutMs: s.value.timeout,
        ...(s.value.voters !== undefined ? { voters: s.value.voters } : {}),
      };
    case 'sleep':
      return { kind: 'sleep', ms: s.value };
    case 'scaleTo':
      return { kind: 'scale', to: s.value };
    case 'instanceRefresh':
      return { kind: 'instance-refresh', warmupMs: s.value };
    case 'reuseIp':
      return { kind: 'reuse-ip', enabled: s.value };
    case 'clearFaults':
      return { kind: 'clear-faults' };
    case 'partition':
      return {
        kind: 'partition',
        target: s.value.target,
        count: s.value.count,
        direction: s.value.direction,
      };
    case 'latency':
      return {
        kind: 'latency',
        target: s.value.target,
        count: s.value.count,
        delayMs: s.value.delay,
        jitterMs: s.value.jitter,
      };
    case 'drop':
      return { kind: 'drop', target: s.value.target, count: s.value.count, fraction: s.value.fraction };
    case 'heal':
      return { kind: 'heal' };
    case 'pause':
      return { kind: 'pause', target: s.value.target, process: s.value.process };
    case 'resume':
      return { kind: 'resume' };
    case 'fillDisk':
      return { kind: 'fill-disk', target: s.value.target };
    case 'freeDisk':
      return { kind: 'free-disk' };
    case 'clockStep':
      return {
        kind: 'clock-step',
        target: s.value.target,
        byMs: s.value.backward ? -s.value.by : s.value.by,
      };
    case 'fault': {
      const f = s.value;
      return {
        kind: 'fault',
        route: f.route,
        fault: toFault(f),
        label: f.kind,
        ...(f.duration !== undefined ? { durationMs: f.duration } : {}),
        ...(f.instance !== undefined ? { instance: f.instance } : {}),
      };
    }
    case 'chaos':
      return {
        kind: 'chaos',
        ...(s.value.for !== undefined ? { forMs: s.value.for } : {}),
        ...(s.value.events !== undefined ? { events: s.value.events } : {}),
        choose: s.value.choose.map(toStep),
        convergeTimeoutMs: s.value.convergeTimeout,
      };
    case 'episode':
      return { kind: 'episode', name: s.value.name, steps: s.value.steps.map(toStep) };
  }
}

function toScenario(s: ScenarioInput, source: string): Scenario {
  const agent: Partial<Record<AgentSettingKey, string>> = {};
  for (const [k, v] of Object.entries(s.agent)) if (v !== undefined) agent[k as AgentSettingKey] = v;
  return {
    name: s.name,
    description: s.description,
    source,
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    durationMs: s.duration,
    group: {
      size: s.group.size,
      maxVoters: s.group.maxVoters,
      signalTimeoutMs: s.group.signalTimeout,
      ipReuse: s.group.ipReuse,
      bootAllAtOnce: s.group.bootAllAtOnce,
      provider: s.group.provider,
    },
    agent,
    agentEnv: s.agentEnv,
    tls: s.tls,
    workload: { ...s.workload },
    timeline: s.timeline.map(toStep),
  };
}

// ------------------------------------------------------------------------------------ entry points

function lineLabels(doc: ReturnType<typeof parseDocument>, lc: LineCounter): Map<string, number> {
  const lines = new Map<string, number>();
  const visit = (node: YamlNode | null | undefined, path: Path) => {
    if (!node) return;
    const start = node.range?.[0];
    if (start !== undefined && !lines.has(formatPath(path)))
      lines.set(formatPath(path), lc.linePos(start).line);
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
        if (keyStart !== undefined) lines.set(formatPath([...path, key]), lc.linePos(keyStart).line);
        visit(pair.value as YamlNode | null, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => visit(item as YamlNode, [...path, i]));
  };
  visit(doc.contents as YamlNode | null, []);
  return lines;
}

function lineOf(lines: Map<string, number>, path: Path): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const l = lines.get(formatPath(path.slice(0, n)));
    if (l !== undefined) return l;
  }
  return undefined;
}

/**
 * Validates a scenario given as plain data (what the YAML file holds) and returns it. Throws a
 * {@link ScenarioError} listing every problem; `source` names the data in the messages.
 */
export function parseScenarioData(data: unknown, source: string, lines?: Map<string, number>): Scenario {
  const where = (path: Path) => {
    const line = lines ? lineOf(lines, path) : undefined;
    return line !== undefined ? `${source} line ${line}` : source;
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ScenarioError(source, [
      `${source}: expected a mapping with name, description, group, workload and timeline (got ${showValue(data)})`,
    ]);
  const parsed = scenarioSchema.safeParse(data);
  const issues: Issue[] = [...timelineIssues(data), ...convergeIssues(data)];
  const plain = issues.length > 0;
  if (!parsed.success) {
    for (const i of parsed.error.issues.flatMap(describeIssue)) {
      if (plain && formatPath(i.path) === 'timeline') continue; // said plainly already
      issues.push(i);
    }
  }
  if (issues.length > 0 || !parsed.success) {
    const sorted = issues
      .map((i) => ({ ...i, line: lines ? (lineOf(lines, i.path) ?? 0) : 0 }))
      .sort((a, b) => a.line - b.line);
    throw new ScenarioError(
      source,
      sorted.map((i) => `${where(i.path)}: ${i.text}`),
    );
  }
  return toScenario(parsed.data, source);
}

/** Parses a scenario file's text; `source` (the file's path) names it in every message. */
export function parseScenarioText(text: string, source: string): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      source,
      doc.errors.map((e) => {
        const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
        const first = e.message.split('\n')[0] ?? e.message;
        return `${source} line ${line}: ${first.replace(/ at line \d+, column \d+:?$/, '')} (YAML syntax)`;
      }),
    );
  }
  return parseScenarioData(doc.toJS(), source, lineLabels(doc, lc));
}

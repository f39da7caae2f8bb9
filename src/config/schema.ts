/**
 * The one configuration schema. Keys are written as in etcd-spot.yaml (`cycleInterval: 5s`); after
 * parsing, every duration is a number of milliseconds under the same key with an `Ms` suffix
 * (`cycleIntervalMs: 5000`). Besides validating, the schema describes itself (see {@link configLeaves},
 * {@link shapeAt}) so that the environment-variable mapping and "did you mean" hints are derived from
 * it instead of being listed by hand.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.ts';
import { extraArgsIssues } from '../core/etcd-flags.ts';

/** How a leaf value is written; decides how env/flag strings are coerced. */
export type LeafKind = 'string' | 'number' | 'boolean' | 'duration' | 'enum' | 'string-list' | 'object-list';

type Shape = Record<string, z.ZodType>;
type SchemaNode =
  | { type: 'leaf'; kind: LeafKind; element?: Shape; secret?: boolean }
  | { type: 'section'; shape: Shape }
  | { type: 'union'; discriminator: string; variants: Map<string, Shape> };

const nodes = new WeakMap<z.ZodType, SchemaNode>();

declare const durationBrand: unique symbol;
/** Output type of a duration leaf before its key is renamed; never seen outside this module. */
type DurationMs = number & { readonly [durationBrand]: true };

/** Renames `foo: DurationMs` to `fooMs: number`. */
type WithMsKeys<T> = {
  [K in keyof T as K extends string ? (T[K] extends DurationMs ? `${K}Ms` : K) : K]: T[K] extends DurationMs
    ? number
    : T[K];
};

/** Longest rendering of a value in a message; longer values are cut with `...`. */
const SHOW_MAX = 60;

/** Renders a value the way a user wrote it: strings quoted, everything else as JSON; at most ~60 characters. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > SHOW_MAX ? `${v.slice(0, SHOW_MAX - 3)}...` : v}'`;
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > SHOW_MAX ? `${s.slice(0, SHOW_MAX - 3)}...` : s;
  } catch {
    return String(v);
  }
}

/**
 * Stands in for the value of a secret key in messages: its length (strings) or its type, never the value.
 * @example hiddenValue('abc') // '(hidden, 3 characters)'
 */
export function hiddenValue(v: unknown): string {
  if (typeof v === 'string') return `(hidden, ${v.length} character${v.length === 1 ? '' : 's'})`;
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  return `(hidden ${Array.isArray(v) ? 'list' : typeof v === 'object' ? 'mapping' : typeof v})`;
}

function leaf<T extends z.ZodType>(kind: LeafKind, schema: T, element?: Shape): T {
  nodes.set(schema, { type: 'leaf', kind, ...(element ? { element } : {}) });
  return schema;
}

/** A string leaf whose value must never appear in a message, a log or argv (see {@link hiddenValue}). */
function secretLeaf<T extends z.ZodType>(schema: T): T {
  nodes.set(schema, { type: 'leaf', kind: 'string', secret: true });
  return schema;
}

/** The fix for a value that is not a duration. */
export const DURATION_HINT = "expected a duration such as '500ms', '5s', '2m' or '1h30m'";

/** Node's timers fire after at most 2^31-1 ms; a longer delay is clamped to 1 ms (a busy loop). */
export const NODE_TIMER_MAX_MS = 2 ** 31 - 1;

/**
 * A duration leaf between `min` and `max` (both required to be sane: every duration ends up in a timer).
 * `maxText` replaces the formatted maximum and `why` explains the range in the message.
 */
function duration(def: string, limits: { min?: number; max: number; maxText?: string; why?: string }) {
  const min = limits.min ?? 1;
  if (limits.max > NODE_TIMER_MAX_MS)
    throw new Error(`duration maximum ${limits.max} exceeds Node's timer limit`);
  const schema = z
    .string({ error: (iss) => `${DURATION_HINT} (got ${showValue(iss.input)})` })
    .transform((text, ctx): DurationMs => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.issues.push({
          code: 'custom',
          message: `${DURATION_HINT} (got ${showValue(text)})`,
          input: text,
        });
        return z.NEVER;
      }
      if (ms < min || ms > limits.max) {
        const range = `between ${formatDuration(min)} and ${limits.maxText ?? formatDuration(limits.max)}`;
        const why = limits.why ? `: ${limits.why}` : '';
        ctx.issues.push({
          code: 'custom',
          message: `must be ${range}${why} (got ${showValue(text)})`,
          input: text,
        });
        return z.NEVER;
      }
      return ms as DurationMs;
    })
    .prefault(def);
  return leaf('duration', schema);
}

function int(def: number, min: number, max: number, what = 'a whole number') {
  return leaf(
    'number',
    z
      .number()
      .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
        error: (iss) => `must be ${what} between ${min} and ${max} (got ${showValue(iss.input)})`,
      })
      .default(def),
  );
}

const port = (def: number) => int(def, 1, 65535, 'a TCP port');

function text(what = 'must not be empty') {
  return z.string().refine((s) => s.trim().length > 0, { error: what });
}

function pattern(re: RegExp, example: string) {
  return z.string().refine((s) => re.test(s), {
    error: (iss) => `must look like '${example}' (got ${showValue(iss.input)})`,
  });
}

function httpUrl(def: string) {
  return leaf(
    'string',
    z
      .string()
      .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
        error: (iss) => `must be an http:// or https:// URL (got ${showValue(iss.input)})`,
      })
      .default(def),
  );
}

const absolutePathString = () =>
  z.string().refine((s) => s.startsWith('/'), {
    error: (iss) => `must be an absolute path (got ${showValue(iss.input)})`,
  });

function absolutePath(def: string) {
  return leaf('string', absolutePathString().default(def));
}

/** Shortest peer secret accepted, from the key or from agent.peerSecretFile. */
export const PEER_SECRET_MIN_LENGTH = 16;

function bool(def: boolean) {
  return leaf('boolean', z.boolean().default(def));
}

function stringList(def: string[], nonEmptyHint?: string) {
  const base = z.array(z.string());
  const checked = nonEmptyHint ? base.refine((a) => a.length > 0, { error: nonEmptyHint }) : base;
  return leaf('string-list', checked.default(def));
}

function strictSection<S extends Shape>(shape: S) {
  const durationKeys = new Set(
    Object.keys(shape).filter((k) => {
      const n = nodes.get(shape[k] as z.ZodType);
      return n?.type === 'leaf' && n.kind === 'duration';
    }),
  );
  const schema = z.strictObject(shape).transform((o) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (v !== undefined) out[durationKeys.has(k) ? `${k}Ms` : k] = v;
    }
    return out as WithMsKeys<typeof o>;
  });
  nodes.set(schema, { type: 'section', shape });
  return schema;
}

/** A section that may be left out entirely: it then takes every default. */
function section<S extends Shape>(shape: S) {
  const schema = strictSection(shape).prefault({} as never);
  nodes.set(schema, { type: 'section', shape });
  return schema;
}

const staticInstanceShape = {
  id: text('must be the instance id, e.g. i-0123456789abcdef0'),
  privateIp: z.string().refine((s) => isIP(s) !== 0, {
    error: (iss) => `must be an IPv4 or IPv6 address (got ${showValue(iss.input)})`,
  }),
  availabilityZone: z.string().optional(),
};

const staticInstances = leaf(
  'object-list',
  z.array(z.strictObject(staticInstanceShape)).superRefine((list, ctx) => {
    if (list.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'list at least one instance as { id, privateIp }' });
    }
    const seen = new Map<string, number>();
    list.forEach((inst, i) => {
      for (const key of ['id', 'privateIp'] as const) {
        const k = `${key}=${inst[key]}`;
        const first = seen.get(k);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [i, key],
            message: `duplicate ${showValue(inst[key])}, already used by instances[${first}]`,
          });
        } else seen.set(k, i);
      }
    });
  }),
  staticInstanceShape,
);

const elastigroupGroup = strictSection({
  provider: leaf('enum', z.literal('elastigroup')),
  groupId: leaf('string', pattern(/^sig-[0-9a-z]+$/i, 'sig-12345678').optional()),
  apiUrl: httpUrl('https://api.spotinst.io'),
  token: secretLeaf(
    text(
      'must not be empty; leave it out to use group.tokenFile, SPOTINST_TOKEN or the credentials file',
    ).optional(),
  ),
  tokenFile: leaf('string', absolutePathString().optional()),
  account: leaf('string', pattern(/^act-[0-9a-z]+$/i, 'act-12345678').optional()),
  requestTimeout: duration('5s', { min: 100, max: 120_000 }),
});

const staticGroup = strictSection({
  provider: leaf('enum', z.literal('static')),
  instances: staticInstances,
});

/** An optional http(s) URL (endpoint overrides, e.g. the emulator's). */
function optionalUrl() {
  return leaf(
    'string',
    z
      .string()
      .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
        error: (iss) => `must be an http:// or https:// URL (got ${showValue(iss.input)})`,
      })
      .optional(),
  );
}

/**
 * An AWS Auto Scaling group (issue 10). Every key may be left out on an instance of the group: the name
 * comes from the `aws:autoscaling:groupName` instance tag, the region from the instance metadata, the
 * hook from DescribeLifecycleHooks, and the credentials from the AWS SDK's default chain (the instance
 * profile): none are configured here.
 */
const asgGroup = strictSection({
  provider: leaf('enum', z.literal('asg')),
  groupName: leaf(
    'string',
    z
      .string()
      .refine((s) => s.trim().length > 0 && s.length <= 255, {
        error: (iss) =>
          `must be an Auto Scaling group name of 1 to 255 characters (got ${showValue(iss.input)})`,
      })
      .optional(),
  ),
  region: leaf('string', pattern(/^[a-z]{2}(-[a-z0-9]+)+-\d+$/, 'us-east-1').optional()),
  autoscalingEndpoint: optionalUrl(),
  ec2Endpoint: optionalUrl(),
  lifecycleHookName: leaf('string', pattern(/^[A-Za-z0-9\-_/]{1,255}$/, 'etcd-spot-leave').optional()),
  heartbeatInterval: duration('60s', {
    min: 1000,
    max: 3_600_000,
    why: 'RecordLifecycleActionHeartbeat restarts the hook timeout (30 s to 2 h): send it well within it',
  }),
  requestTimeout: duration('5s', { min: 100, max: 120_000 }),
});

const groupUnion = z.discriminatedUnion('provider', [elastigroupGroup, staticGroup, asgGroup]);
/** `provider` defaults to elastigroup, also when the whole `group` section is left out. */
const group = z.preprocess((v) => {
  if (v === undefined || v === null) return { provider: 'elastigroup' };
  if (typeof v === 'object' && !Array.isArray(v) && (v as { provider?: unknown }).provider === undefined) {
    return { ...v, provider: 'elastigroup' };
  }
  return v;
}, groupUnion);
nodes.set(group, {
  type: 'union',
  discriminator: 'provider',
  variants: new Map<string, Shape>([
    ['elastigroup', (nodes.get(elastigroupGroup) as { shape: Shape }).shape],
    ['static', (nodes.get(staticGroup) as { shape: Shape }).shape],
    ['asg', (nodes.get(asgGroup) as { shape: Shape }).shape],
  ]),
});

/** The three files of one TLS identity, under the keys they are written as. */
const TLS_SETS = [
  { what: 'client', keys: ['certFile', 'keyFile', 'caFile'] },
  { what: 'peer', keys: ['peerCertFile', 'peerKeyFile', 'peerCaFile'] },
] as const;

/**
 * Half-configured TLS (pure): each set (client: certFile/keyFile/caFile, peer: peerCertFile/…) is
 * all three files or none. One issue per set, naming what is missing and the fix.
 */
export function tlsConfigIssues(tls: Record<string, unknown>): { key: string; message: string }[] {
  const issues: { key: string; message: string }[] = [];
  for (const set of TLS_SETS) {
    const given = set.keys.filter((k) => tls[k] !== undefined);
    if (given.length === 0 || given.length === set.keys.length) continue;
    const missing = set.keys.filter((k) => tls[k] === undefined);
    issues.push({
      key: missing[0] as string,
      message: `${set.what} TLS is half configured: ${given.map((k) => `etcd.tls.${k}`).join(' and ')} ${given.length === 1 ? 'is' : 'are'} set but ${missing.map((k) => `etcd.tls.${k}`).join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not; set all three (certificate, its key, the CA that issued the group's certificates) or none`,
    });
  }
  return issues;
}

/**
 * `etcd.tls`: files only, never key material in the config. The client set secures etcd's client port,
 * the agent's own etcd calls and the agent's status server (2378); the peer set secures etcd's peer
 * port. Either set turns its URLs to https://. Files are re-read when they change (`reloadInterval`).
 */
function tlsSection() {
  const shape = {
    certFile: leaf('string', absolutePathString().optional()),
    keyFile: leaf('string', absolutePathString().optional()),
    caFile: leaf('string', absolutePathString().optional()),
    clientCertAuth: bool(true),
    peerCertFile: leaf('string', absolutePathString().optional()),
    peerKeyFile: leaf('string', absolutePathString().optional()),
    peerCaFile: leaf('string', absolutePathString().optional()),
    peerClientCertAuth: bool(true),
    reloadInterval: duration('10s', { min: 100, max: 3_600_000 }),
  };
  const schema = strictSection(shape)
    .superRefine((tls, ctx) => {
      for (const issue of tlsConfigIssues(tls)) {
        ctx.addIssue({ code: 'custom', path: [issue.key], message: issue.message, input: undefined });
      }
    })
    .prefault({} as never);
  nodes.set(schema, { type: 'section', shape });
  return schema;
}

/** The root schema: input is the file's shape, output is {@link Config}. */
export const configSchema = strictSection({
  group,
  metadata: section({
    url: httpUrl('http://169.254.169.254'),
    requireV2: bool(false),
    timeout: duration('2s', { min: 10, max: 60_000 }),
    tokenTtl: duration('6h', { min: 1000, max: 21_600_000 }),
  }),
  etcd: section({
    binary: leaf('string', text().default('etcd')),
    dataDir: absolutePath('/var/lib/etcd-spot/etcd'),
    clientPort: port(2379),
    peerPort: port(2380),
    mode: leaf('enum', z.enum(['supervise', 'systemd']).default('supervise')),
    systemd: section({
      dropInPath: absolutePath('/run/systemd/system/etcd.service.d/30-etcd-spot.conf'),
      startCommand: stringList(['systemctl', 'start', 'etcd'], 'list the command and its arguments'),
      stopCommand: stringList(['systemctl', 'stop', 'etcd'], 'list the command and its arguments'),
      checkCommand: stringList(
        ['systemctl', 'is-active', '--quiet', 'etcd'],
        'list the command and its arguments',
      ),
      // [] skips the reload (e.g. a dropInPath systemd does not read).
      reloadCommand: stringList(['systemctl', 'daemon-reload']),
    }),
    clusterToken: leaf('string', text().optional()),
    extraArgs: leaf(
      'string-list',
      z
        .array(z.string())
        .superRefine((args, ctx) =>
          extraArgsIssues(args).forEach((message) => ctx.addIssue({ code: 'custom', message, input: args })),
        )
        .default([]),
    ),
    callTimeout: duration('2s', { min: 10, max: 120_000 }),
    tls: tlsSection(),
  }),
  agent: section({
    stateDir: absolutePath('/var/lib/etcd-spot'),
    statusPort: port(2378),
    // GET /metrics on the status server (Prometheus text, no authentication; docs/metrics.md).
    metrics: bool(true),
    cycleInterval: duration('5s', { min: 100, max: 5 * 60_000 }),
    terminationPollInterval: duration('5s', {
      min: 100,
      max: 60_000,
      maxText: '60s',
      why: 'a spot instance gets a 2-minute notice and the leave (hand over leadership, remove the member) needs most of it',
    }),
    // The group list from the cloud while anything is under way (joining, leaving, bootstrapping, no
    // leader, and the leader's agent while a member is unreachable, unstarted or a learner).
    groupPollInterval: duration('10s', { min: 100, max: 10 * 60_000 }),
    // The leader's agent's own poll while the cluster is steady (every member a reachable started
    // voter, no notice): one cloud poller per cluster, sharing its list on GET /v1/group.
    steadyGroupPollInterval: duration('60s', { min: 100, max: 10 * 60_000 }),
    // A calm follower (a leader answers, its member runs, no notice) reads the leader's agent's list
    // every groupPollInterval; it asks the cloud itself this often only when that copy is unusable.
    followerGroupPollInterval: duration('60s', { min: 100, max: 10 * 60_000 }),
    // The cloud's own status of this instance (Spot: instance-status), at most this long apart: the
    // elastigroup provider polls 3 times per shutdown-signal timeout when that is shorter. Instance
    // metadata is polled at terminationPollInterval for free; the cloud API counts against the
    // organisation's rate limit.
    cloudStatusPollInterval: duration('60s', { min: 100, max: 5 * 60_000 }),
    memberDeadAfter: duration('60s', { min: 1000, max: 24 * 3_600_000 }),
    // The shorter wait once the cloud has said the member's instance is terminated (capped at memberDeadAfter).
    terminatedMemberDeadAfter: duration('5s', { min: 1000, max: 24 * 3_600_000 }),
    unstartedMemberTtl: duration('2m', { min: 1000, max: 24 * 3_600_000 }),
    // Leave after the replacement (design row B4a): with a notice's deadline more than leaveMargin away,
    // stay a voter until the replacement is a caught-up learner; replacementWait bounds the wait for
    // one to appear at all.
    leaveAfterReplacement: bool(true),
    leaveMargin: duration('15s', { min: 1000, max: 10 * 60_000 }),
    replacementWait: duration('15s', { min: 0, max: 10 * 60_000 }),
    maxVoters: leaf(
      'number',
      z
        .number()
        .refine((n) => Number.isInteger(n) && n >= 1 && n <= 9 && n % 2 === 1, {
          error: (iss) => `must be an odd number between 1 and 9 (got ${showValue(iss.input)})`,
        })
        .default(5),
    ),
    maxLearners: int(1, 1, 9),
    leaveOnRebalance: bool(false),
    peerSecret: secretLeaf(
      z
        .string()
        .refine((s) => s.trim().length >= PEER_SECRET_MIN_LENGTH, {
          error: (iss) =>
            `must be at least ${PEER_SECRET_MIN_LENGTH} characters (got ${hiddenValue(iss.input)}); generate one with 'openssl rand -hex 32'`,
        })
        .optional(),
    ),
    peerSecretFile: leaf('string', absolutePathString().optional()),
  }),
  // Quorum-loss recovery (src/core/recovery.ts, docs/design.md row Q).
  recovery: section({
    mode: leaf('enum', z.enum(['auto', 'manual']).default('auto')),
    noLeaderFor: duration('10s', { min: 1000, max: 24 * 3_600_000 }),
  }),
  // Snapshots (issue 8 §1-2): taken by the leader's agent, used by quorum-loss recovery. Credentials
  // for S3 come only from the AWS SDK's chain (environment, profile, instance role): no key here.
  snapshot: section({
    store: leaf('enum', z.enum(['none', 'fs', 's3']).default('none')),
    dir: leaf('string', absolutePathString().optional()),
    bucket: leaf('string', text().optional()),
    prefix: leaf('string', z.string().default('etcd-spot')),
    region: leaf('string', text().optional()),
    endpoint: leaf(
      'string',
      z
        .string()
        .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
          error: (iss) => `must be an http:// or https:// URL (got ${showValue(iss.input)})`,
        })
        .optional(),
    ),
    forcePathStyle: bool(false),
    interval: duration('15m', { min: 60_000, max: 24 * 3_600_000 }),
    timeout: duration('10m', { min: 1000, max: 6 * 3_600_000 }),
    keepLast: int(8, 1, 1000),
    hourlyDays: int(1, 0, 366),
    dailyDays: int(7, 0, 3660),
    tmpDir: leaf('string', absolutePathString().optional()),
  }),
  log: section({
    level: leaf('enum', z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info')),
  }),
});

/** The validated configuration; durations are in milliseconds under `…Ms` keys. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain (before defaults and duration parsing). */
export type ConfigInput = z.input<typeof configSchema>;
export type GroupConfig = Config['group'];
export type ElastigroupConfig = Extract<GroupConfig, { provider: 'elastigroup' }>;
export type StaticGroupConfig = Extract<GroupConfig, { provider: 'static' }>;
export type AsgGroupConfig = Extract<GroupConfig, { provider: 'asg' }>;
/** The group providers, by `group.provider`. */
export type ProviderName = GroupConfig['provider'];
export type MetadataConfig = Config['metadata'];
export type EtcdConfig = Config['etcd'];
export type EtcdTlsConfig = Config['etcd']['tls'];
export type AgentConfig = Config['agent'];
export type SnapshotConfig = Config['snapshot'];
export type LogLevel = Config['log']['level'];

/** One settable value of the schema, with the path as written in the file. */
export interface ConfigLeaf {
  path: string[];
  kind: LeafKind;
  /** Allowed values for an enum leaf. */
  values?: string[];
  /** The value is a secret: never shown in messages, refused on the command line. */
  secret?: boolean;
}

function rootShape(): Shape {
  return (nodes.get(configSchema) as { shape: Shape }).shape;
}

function enumValues(schema: z.ZodType): string[] | undefined {
  const walk = (s: unknown, depth: number): string[] | undefined => {
    if (!s || typeof s !== 'object' || depth > 4) return undefined;
    const def = (
      s as {
        def?: { type?: string; values?: unknown[]; entries?: Record<string, string>; innerType?: unknown };
      }
    ).def;
    if (!def) return undefined;
    if (def.type === 'enum' && def.entries) return Object.values(def.entries);
    if (def.type === 'literal' && def.values) return def.values.map(String);
    return walk(def.innerType, depth + 1);
  };
  return walk(schema, 0);
}

/** Every settable leaf, including both providers' group keys (for the env mapping and docs). */
export function configLeaves(): ConfigLeaf[] {
  const out: ConfigLeaf[] = [];
  const seen = new Set<string>();
  const visit = (shape: Shape, prefix: string[]) => {
    for (const [key, schema] of Object.entries(shape)) {
      const path = [...prefix, key];
      const node = nodes.get(schema);
      if (!node) continue;
      if (node.type === 'leaf') {
        const id = path.join('.');
        if (seen.has(id)) continue;
        seen.add(id);
        const values = node.kind === 'enum' ? enumValues(schema) : undefined;
        out.push({
          path,
          kind: node.kind,
          ...(values ? { values } : {}),
          ...(node.secret ? { secret: true } : {}),
        });
      } else if (node.type === 'section') visit(node.shape, path);
      else for (const variant of node.variants.values()) visit(variant, path);
    }
  };
  visit(rootShape(), []);
  return out;
}

/** The leaf at a file path, or undefined when there is none. */
export function leafAt(path: readonly string[]): ConfigLeaf | undefined {
  const id = path.join('.');
  return configLeaves().find((l) => l.path.join('.') === id);
}

/**
 * The keys allowed in the mapping at `path` (used for "did you mean" hints). For the group, the
 * variant is chosen by the provider in `input`; the root is `[]`. Undefined when `path` is no mapping.
 */
export function shapeAt(path: readonly (string | number)[], input: unknown): string[] | undefined {
  let shape: Shape | undefined = rootShape();
  let value: unknown = input;
  let pending: SchemaNode | undefined;
  for (const seg of path) {
    value = value && typeof value === 'object' ? (value as Record<string | number, unknown>)[seg] : undefined;
    if (pending?.type === 'leaf' && pending.kind === 'object-list' && typeof seg === 'number') {
      shape = pending.element;
      pending = undefined;
      continue;
    }
    const child: z.ZodType | undefined = shape ? shape[String(seg)] : undefined;
    const node = child ? nodes.get(child) : undefined;
    if (!node) return undefined;
    if (node.type === 'section') shape = node.shape;
    else if (node.type === 'union') {
      const disc =
        value && typeof value === 'object'
          ? (value as Record<string, unknown>)[node.discriminator]
          : undefined;
      shape =
        node.variants.get(typeof disc === 'string' ? disc : 'elastigroup') ?? [...node.variants.values()][0];
    } else {
      pending = node;
      shape = undefined;
    }
  }
  return shape ? Object.keys(shape) : undefined;
}

/**
 * Reads the configuration from its three sources and validates it once against the schema.
 * Precedence: overrides (CLI flags) > environment (`ETCD_SPOT_*`) > file > defaults. Every problem
 * is reported at once, each naming the field, what was expected and where the bad value came from.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { DURATION_HINT, configLeaves, configSchema, leafAt, shapeAt, showValue } from './schema.ts';
import type { Config, ConfigLeaf } from './schema.ts';

/** Prefix of the environment variables that set configuration values. */
export const ENV_PREFIX = 'ETCD_SPOT_';

/** `ETCD_SPOT_*` variables that are not settings and never reported as unknown. */
export const RESERVED_ENV_VARS: readonly string[] = ['ETCD_SPOT_CONFIG', 'ETCD_SPOT_NO_FORCE_EXIT'];

export interface LoadConfigOptions {
  /** Path of a YAML config file; left out → defaults, env and overrides only. */
  file?: string;
  /** The environment (the composition root passes process.env); only `ETCD_SPOT_*` names are read. */
  env?: Record<string, string | undefined>;
  /** Dotted file paths from CLI flags, e.g. `{ 'agent.maxVoters': '3' }`. */
  overrides?: Record<string, string>;
  /** More `ETCD_SPOT_*` names to ignore (in addition to {@link RESERVED_ENV_VARS}). */
  reservedEnv?: readonly string[];
}

export type LoadConfigResult = { ok: true; config: Config } | { ok: false; issues: string[] };

type Path = (string | number)[];
type Tree = Record<string, unknown>;

/** `agent.cycleInterval` → `ETCD_SPOT_AGENT_CYCLE_INTERVAL`. */
export function envVarFor(path: readonly string[]): string {
  return ENV_PREFIX + path.map((seg) => seg.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Every configuration environment variable with the leaf it sets, derived from the schema. */
export function configEnvVars(): Map<string, ConfigLeaf> {
  const out = new Map<string, ConfigLeaf>();
  for (const leaf of configLeaves()) {
    const name = envVarFor(leaf.path);
    const clash = out.get(name);
    if (clash) throw new Error(`${name} would set both ${clash.path.join('.')} and ${leaf.path.join('.')}`);
    out.set(name, leaf);
  }
  return out;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || '(top level)';
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The closest candidate when it is close enough to be a typo (case, `_`/`-` and a few letters). */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_\-.]/g, '');
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = norm(c) === norm(word) ? 0 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestScore <= limit ? best : undefined;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let t = tree;
  for (const seg of path.slice(0, -1)) {
    const next = t[seg];
    if (!isTree(next)) t[seg] = {};
    t = t[seg] as Tree;
  }
  t[path[path.length - 1] as string] = value;
}

/** Deep merge where `top` wins; lists and scalars are replaced, mappings merged; null means "not set". */
function merge(base: unknown, top: unknown): unknown {
  if (top === undefined || top === null) return base === null ? undefined : base;
  if (isTree(base) && isTree(top)) {
    const out: Tree = { ...base };
    for (const [k, v] of Object.entries(top)) {
      const m = merge(base[k], v);
      if (m === undefined) delete out[k];
      else out[k] = m;
    }
    return out;
  }
  return top;
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isTree(v)) return v;
  const out: Tree = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
  return out;
}

type Coerced = { value: unknown } | { issue: string };

/** Turns an env/flag string into the leaf's type; on failure keeps the string so the schema reports it. */
function coerce(raw: string, leaf: ConfigLeaf): Coerced {
  const s = raw.trim();
  switch (leaf.kind) {
    case 'number':
      return { value: s !== '' && Number.isFinite(Number(s)) ? Number(s) : raw };
    case 'boolean': {
      const t = s.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(t)) return { value: true };
      if (['false', 'no', 'off', '0'].includes(t)) return { value: false };
      return { value: raw };
    }
    case 'string-list':
    case 'object-list': {
      if (s.startsWith('[')) {
        try {
          return { value: JSON.parse(s) as unknown };
        } catch (err) {
          return { issue: `is not a valid JSON list (${(err as Error).message})` };
        }
      }
      if (leaf.kind === 'object-list') {
        return { issue: `expects a JSON list, e.g. [{"id":"i-0123456789abcdef0","privateIp":"10.0.1.11"}]` };
      }
      return { value: s === '' ? [] : s.split(',').map((x) => x.trim()) };
    }
    default:
      return { value: raw };
  }
}

interface Sources {
  /** Dotted path → where its value came from; the longest matching prefix names an issue's source. */
  labels: Map<string, string>;
  set(path: readonly (string | number)[], label: string): void;
  find(path: readonly PropertyKey[]): string | undefined;
}

function newSources(): Sources {
  const labels = new Map<string, string>();
  return {
    labels,
    set(path, label) {
      const id = formatPath(path);
      for (const k of [...labels.keys()])
        if (k.startsWith(`${id}.`) || k.startsWith(`${id}[`)) labels.delete(k);
      labels.set(id, label);
    },
    find(path) {
      for (let n = path.length; n > 0; n--) {
        const l = labels.get(formatPath(path.slice(0, n)));
        if (l) return l;
      }
      return undefined;
    },
  };
}

function readYaml(file: string, sources: Sources): { data: Tree; issues: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { data: {}, issues: [`${file}: cannot read the config file (${code}); check the path`] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      data: {},
      issues: doc.errors.map((e) => {
        const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
        const first = e.message.split('\n')[0] ?? e.message;
        return `${file} line ${line}: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    };
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { data: {}, issues: [] };
  if (!isTree(data)) {
    return { data: {}, issues: [`${file} line 1: expected a mapping of settings (got ${showValue(data)})`] };
  }
  const label = (node: YamlNode | null | undefined, path: Path) => {
    if (!node) return;
    const start = node.range?.[0];
    if (start !== undefined && path.length > 0)
      sources.set(path, `${file} line ${lineCounter.linePos(start).line}`);
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
        if (keyStart !== undefined)
          sources.set([...path, key], `${file} line ${lineCounter.linePos(keyStart).line}`);
        label(pair.value as YamlNode | null, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => label(item as YamlNode, [...path, i]));
    }
  };
  label(doc.contents as YamlNode | null, []);
  return { data: dropNulls(data) as Tree, issues: [] };
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): { text: string; path: PropertyKey[] }[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = formatPath(path);
  const got = 'input' in issue ? issue.input : undefined;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = shapeAt(path, input) ?? [];
      return issue.keys.map((key) => {
        let hint = '';
        const near = closest(key, allowed);
        if (near) hint = `; did you mean '${near}'?`;
        else if (formatPath(path) === 'group') {
          const provider = isTree(got) ? String(got.provider) : 'elastigroup';
          const other = provider === 'static' ? 'elastigroup' : 'static';
          const otherKeys = shapeAt(['group'], { group: { provider: other } }) ?? [];
          hint = otherKeys.includes(key)
            ? ` for provider '${provider}' (it belongs to provider '${other}')`
            : `; expected one of: ${allowed.join(', ')}`;
        } else hint = `; expected one of: ${allowed.join(', ')}`;
        return { text: `${formatPath([...path, key])}: unknown key${hint}`, path: [...path, key] };
      });
    }
    case 'invalid_type': {
      if (got === undefined) return [{ text: `${where}: is required`, path }];
      const leaf = leafAt(path.map(String));
      if (leaf?.kind === 'duration') {
        const unit = typeof got === 'number' ? `; write '${got}s' or '${got}ms'` : '';
        return [{ text: `${where}: ${DURATION_HINT} (got ${showValue(got)}${unit})`, path }];
      }
      const noun: Record<string, string> = {
        object: 'a mapping of keys',
        array: 'a list',
        number: 'a number',
        string: 'a string',
        boolean: 'true or false',
      };
      return [
        {
          text: `${where}: expected ${noun[issue.expected] ?? issue.expected} (got ${showValue(got)})`,
          path,
        },
      ];
    }
    case 'invalid_value': {
      const vals = issue.values.map((v) => showValue(v));
      const list = vals.length <= 2 ? vals.join(' or ') : `one of ${vals.join(', ')}`;
      return [{ text: `${where}: expected ${list} (got ${showValue(got)})`, path }];
    }
    case 'invalid_union': {
      const disc = (issue as { discriminator?: string }).discriminator;
      const options = (issue as { options?: unknown[] }).options;
      if (disc && options) {
        const value = isTree(got) ? got[disc] : got;
        const list = options.map((v) => showValue(v)).join(' or ');
        return [{ text: `${where}: expected ${list} (got ${showValue(value)})`, path }];
      }
      return [{ text: `${where}: ${issue.message}`, path }];
    }
    default:
      return [{ text: `${where}: ${issue.message}`, path }];
  }
}

function crossFieldIssues(merged: Tree): { text: string; path: string[] }[] {
  const pick = (section: string, key: string, def: number): number | undefined => {
    const s = merged[section];
    const v = isTree(s) ? s[key] : undefined;
    if (v === undefined) return def;
    return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
  };
  const ports: [string, number | undefined][] = [
    ['etcd.clientPort', pick('etcd', 'clientPort', 2379)],
    ['etcd.peerPort', pick('etcd', 'peerPort', 2380)],
    ['agent.statusPort', pick('agent', 'statusPort', 2378)],
  ];
  const issues: { text: string; path: string[] }[] = [];
  for (let i = 0; i < ports.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, pa] = ports[j] as [string, number | undefined];
      const [b, pb] = ports[i] as [string, number | undefined];
      if (pa !== undefined && pa === pb) {
        issues.push({ text: `${b}: must differ from ${a} (both are ${pa})`, path: b.split('.') });
      }
    }
  }
  return issues;
}

/**
 * Loads, merges and validates the configuration. Never throws for bad input: every problem is an
 * entry of `issues`, e.g. `agent.maxVoters: must be an odd number between 1 and 9 (got 4) [ETCD_SPOT_AGENT_MAX_VOTERS]`.
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadConfigResult {
  const issues: string[] = [];
  const sources = newSources();
  let syntaxBroken = false;

  let fileData: Tree = {};
  if (opts.file !== undefined) {
    const r = readYaml(opts.file, sources);
    fileData = r.data;
    if (r.issues.length > 0) {
      syntaxBroken = true;
      issues.push(...r.issues);
    }
  }

  const envData: Tree = {};
  const envVars = configEnvVars();
  const reserved = new Set([...RESERVED_ENV_VARS, ...(opts.reservedEnv ?? [])]);
  for (const [name, raw] of Object.entries(opts.env ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.startsWith(ENV_PREFIX) || reserved.has(name) || raw === undefined || raw === '') continue;
    const leaf = envVars.get(name);
    if (!leaf) {
      const near = closest(
        name.slice(ENV_PREFIX.length),
        [...envVars.keys()].map((n) => n.slice(ENV_PREFIX.length)),
      );
      issues.push(
        `${name}: unknown setting${near ? `; did you mean ${ENV_PREFIX}${near}?` : '; unset it or see etcd-spot.example.yaml for the settings'}`,
      );
      continue;
    }
    const c = coerce(raw, leaf);
    if ('issue' in c) {
      issues.push(`${leaf.path.join('.')}: ${c.issue} [${name}]`);
      continue;
    }
    setPath(envData, leaf.path, c.value);
    sources.set(leaf.path, name);
  }

  const flagData: Tree = {};
  for (const [dotted, raw] of Object.entries(opts.overrides ?? {})) {
    const path = dotted.split('.');
    const leaf = leafAt(path);
    if (!leaf) {
      const near = closest(
        dotted,
        configLeaves().map((l) => l.path.join('.')),
      );
      issues.push(`${dotted}: unknown setting${near ? `; did you mean '${near}'?` : ''} [flag]`);
      continue;
    }
    const c = coerce(raw, leaf);
    if ('issue' in c) {
      issues.push(`${dotted}: ${c.issue} [flag]`);
      continue;
    }
    setPath(flagData, path, c.value);
    sources.set(path, `flag ${dotted}`);
  }

  if (syntaxBroken) return { ok: false, issues };

  const merged = merge(merge(fileData, envData), flagData) as Tree;
  const parsed = configSchema.safeParse(merged, { reportInput: true });
  const found = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap((issue) => describeIssue(issue, merged))),
    ...crossFieldIssues(merged),
  ];
  for (const { text, path } of found) {
    const src = sources.find(path);
    issues.push(src ? `${text} [${src}]` : text);
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, config: parsed.data };
}

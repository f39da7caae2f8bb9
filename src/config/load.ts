/**
 * Reads the configuration from its three sources and validates it once against the schema.
 * Precedence: overrides (CLI flags) > environment (`ETCD_SPOT_*`) > file > defaults. Every problem
 * is reported at once, each naming the field, what was expected and where the bad value came from.
 */
import { posix } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { formatDuration } from './duration.ts';
import { MAX_CONFIG_FILE_BYTES, readFailure, readRegularFile } from './read-file.ts';
import {
  DURATION_HINT,
  configLeaves,
  configSchema,
  hiddenValue,
  leafAt,
  shapeAt,
  showValue,
} from './schema.ts';
import type { Config, ConfigLeaf } from './schema.ts';

/** Prefix of the environment variables that set configuration values. */
export const ENV_PREFIX = 'ETCD_SPOT_';

/** `ETCD_SPOT_*` variables that are not settings and never reported as unknown. */
export const RESERVED_ENV_VARS: readonly string[] = [
  'ETCD_SPOT_CONFIG',
  'ETCD_SPOT_NO_FORCE_EXIT',
  // The simulator's clock-step test hooks (src/adapters/local/system-clock.ts).
  'ETCD_SPOT_CLOCK_OFFSET_MS',
  'ETCD_SPOT_CLOCK_OFFSET_FILE',
];

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

/**
 * A valid config comes with `warnings` (legal but risky values, e.g. a termination poll that leaves little
 * of a spot notice); an invalid one with every issue, at most {@link MAX_ISSUES} of them plus a count.
 */
export type LoadConfigResult =
  { ok: true; config: Config; warnings: string[] } | { ok: false; issues: string[] };

/** Issues listed before the rest are summed up as `… and N more`. */
export const MAX_ISSUES = 20;
/** Longest issue line; longer ones (a huge key, a quoted binary) are cut. */
export const MAX_ISSUE_LENGTH = 400;
/** Longest text quoted from a YAML parser message. */
export const MAX_YAML_MESSAGE_LENGTH = 200;

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

/** Where each value came from; the deepest labelled prefix of a path names an issue's source. */
interface Sources {
  /** Labels `path`; a later source replaces the labels of everything below it too. */
  set(path: readonly (string | number)[], label: string): void;
  find(path: readonly PropertyKey[]): string | undefined;
}

interface SourceNode {
  label?: string;
  children?: Map<string, SourceNode>;
}

/** A trie over path segments: both operations cost the path's depth, not the number of labels (C15). */
function newSources(): Sources {
  const root: SourceNode = {};
  return {
    set(path, label) {
      let node = root;
      for (const seg of path) {
        node.children ??= new Map();
        let next = node.children.get(String(seg));
        if (!next) {
          next = {};
          node.children.set(String(seg), next);
        }
        node = next;
      }
      node.label = label;
      delete node.children;
    },
    find(path) {
      let node: SourceNode | undefined = root;
      let found: string | undefined;
      for (const seg of path) {
        node = node.children?.get(String(seg));
        if (!node) break;
        if (node.label) found = node.label;
      }
      return found;
    },
  };
}

/** Cuts a line to `max` characters, marking the cut. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Reads and parses the config file; `raw.text` receives its text (to blank secrets out of messages). */
function readYaml(file: string, sources: Sources, raw: { text?: string }): { data: Tree; issues: string[] } {
  let text: string;
  try {
    text = readRegularFile(file, MAX_CONFIG_FILE_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTREG')
      return { data: {}, issues: [`${file}: ${readFailure(err)}; point -c at a YAML file`] };
    if (code === 'EFBIG')
      return {
        data: {},
        issues: [`${file}: the config file ${readFailure(err)}; a config file is a few kB, check the path`],
      };
    return {
      data: {},
      issues: [`${file}: cannot read the config file (${readFailure(err)}); check the path`],
    };
  }
  raw.text = text;
  const lineCounter = new LineCounter();
  const line = (offset: number) => lineCounter.linePos(offset).line;
  // uniqueKeys costs a scan of the mapping per key (quadratic, C15): duplicates are found below instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length > 0) {
    return {
      data: {},
      issues: doc.errors.map((e) => {
        const at = e.linePos?.[0]?.line ?? line(e.pos[0]);
        if (e.code === 'MULTIPLE_DOCS')
          return `${file}: the config file must hold one YAML document; found a second one at line ${at}; remove the '---' and what follows, or merge the documents`;
        const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        return `${file} line ${at}: ${clip(first, MAX_YAML_MESSAGE_LENGTH)}`;
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // The yaml library refuses alias bombs ("billion laughs") here, with a message meant for its caller.
    const why = /excessive alias count/i.test((err as Error).message)
      ? 'uses too many YAML aliases (*name); write the values out'
      : `cannot be read as YAML data (${clip((err as Error).message, MAX_YAML_MESSAGE_LENGTH)})`;
    return { data: {}, issues: [`${file}: the config file ${why}`] };
  }
  if (data === null || data === undefined) return { data: {}, issues: [] };
  if (!isTree(data)) {
    return { data: {}, issues: [`${file} line 1: expected a mapping of settings (got ${showValue(data)})`] };
  }
  const duplicates: string[] = [];
  const label = (node: YamlNode | null | undefined, path: Path) => {
    if (!node) return;
    const start = node.range?.[0];
    if (start !== undefined && path.length > 0) sources.set(path, `${file} line ${line(start)}`);
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
        const keyLine = keyStart !== undefined ? line(keyStart) : undefined;
        const first = seen.get(key);
        if (first !== undefined) {
          duplicates.push(
            `${file} line ${keyLine ?? '?'}: ${clip(formatPath([...path, key]), 100)} is set twice (first at line ${first}); keep one`,
          );
          continue;
        }
        seen.set(key, keyLine ?? 0);
        if (keyLine !== undefined) sources.set([...path, key], `${file} line ${keyLine}`);
        label(pair.value as YamlNode | null, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => label(item as YamlNode, [...path, i]));
    }
  };
  label(doc.contents as YamlNode | null, []);
  if (duplicates.length > 0) return { data: {}, issues: duplicates };
  return { data: dropNulls(data) as Tree, issues: [] };
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): { text: string; path: PropertyKey[] }[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = formatPath(path);
  const got = 'input' in issue ? issue.input : undefined;
  // A secret key's value is never shown, not even when it has the wrong type (S1).
  const secret = path.length > 0 && leafAt(path.map(String))?.secret === true;
  const show = secret ? hiddenValue : showValue;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = shapeAt(path, input) ?? [];
      return issue.keys.map((key) => {
        let hint = '';
        const near = closest(key, allowed);
        if (near) hint = `; did you mean '${near}'?`;
        else if (formatPath(path) === 'group') {
          const provider = isTree(got) ? String(got.provider) : 'elastigroup';
          const other = (['elastigroup', 'static', 'asg'] as const).find(
            (p) => p !== provider && (shapeAt(['group'], { group: { provider: p } }) ?? []).includes(key),
          );
          hint =
            other !== undefined
              ? ` for provider '${provider}' (it belongs to provider '${other}')`
              : `; expected one of: ${allowed.join(', ')}`;
        } else hint = `; expected one of: ${allowed.join(', ')}`;
        return { text: `${clip(formatPath([...path, key]), 100)}: unknown key${hint}`, path: [...path, key] };
      });
    }
    case 'invalid_type': {
      if (got === undefined) return [{ text: `${where}: is required`, path }];
      const leaf = leafAt(path.map(String));
      if (leaf?.kind === 'duration') {
        const unit = typeof got === 'number' ? `; write '${got}s' or '${got}ms'` : '';
        return [{ text: `${where}: ${DURATION_HINT} (got ${show(got)}${unit})`, path }];
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
          text: `${where}: expected ${noun[issue.expected] ?? issue.expected} (got ${show(got)})`,
          path,
        },
      ];
    }
    case 'invalid_value': {
      const vals = issue.values.map((v) => showValue(v));
      const list = vals.length <= 2 ? vals.join(' or ') : `one of ${vals.join(', ')}`;
      return [{ text: `${where}: expected ${list} (got ${show(got)})`, path }];
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
  const issues: { text: string; path: string[] }[] = [...eitherOrIssues(merged), ...directoryIssues(merged)];
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

/** A secret may come from its key or from a file key, not both. */
function eitherOrIssues(merged: Tree): { text: string; path: string[] }[] {
  const pairs: [string, string, string][] = [
    ['group', 'token', 'tokenFile'],
    ['agent', 'peerSecret', 'peerSecretFile'],
  ];
  const issues: { text: string; path: string[] }[] = [];
  for (const [section, key, fileKey] of pairs) {
    const s = merged[section];
    if (isTree(s) && s[key] !== undefined && s[fileKey] !== undefined) {
      issues.push({
        text: `${section}.${fileKey}: set either ${section}.${key} or ${section}.${fileKey}, not both; remove one`,
        path: [section, fileKey],
      });
    }
  }
  return issues;
}

/**
 * Directories no agent may own: the agent deletes etcd.dataDir when its member was removed from the
 * cluster, and keeps its own record in agent.stateDir.
 */
const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/lost+found',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/snap',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/bin',
  '/usr/lib',
  '/usr/local',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/share',
  '/var',
  '/var/cache',
  '/var/lib',
  '/var/log',
  '/var/run',
  '/var/spool',
  '/var/tmp',
]);

function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent === '/' ? '/' : `${parent}/`) && child !== parent;
}

function directoryIssues(merged: Tree): { text: string; path: string[] }[] {
  const pick = (section: string, key: string, def: string): string | undefined => {
    const s = merged[section];
    const v = isTree(s) ? s[key] : undefined;
    if (v === undefined) return def;
    return typeof v === 'string' && v.startsWith('/') ? posix.resolve(v) : undefined;
  };
  const dataDir = pick('etcd', 'dataDir', '/var/lib/etcd-spot/etcd');
  const stateDir = pick('agent', 'stateDir', '/var/lib/etcd-spot');
  const issues: { text: string; path: string[] }[] = [];
  if (dataDir !== undefined && SYSTEM_DIRS.has(dataDir)) {
    issues.push({
      text: `etcd.dataDir: ${dataDir} is a system directory and the agent deletes etcd.dataDir when it wipes its member; use a directory of its own, e.g. /var/lib/etcd-spot/etcd`,
      path: ['etcd', 'dataDir'],
    });
  }
  if (stateDir !== undefined && SYSTEM_DIRS.has(stateDir)) {
    issues.push({
      text: `agent.stateDir: ${stateDir} is a system directory; use a directory of its own, e.g. /var/lib/etcd-spot`,
      path: ['agent', 'stateDir'],
    });
  }
  if (dataDir === undefined || stateDir === undefined) return issues;
  if (dataDir === stateDir) {
    issues.push({
      text: `etcd.dataDir: must differ from agent.stateDir (both are ${dataDir}): wiping the member's data would delete the agent's own record; use e.g. ${posix.join(stateDir, 'etcd')}`,
      path: ['etcd', 'dataDir'],
    });
  } else if (isInside(stateDir, dataDir)) {
    issues.push({
      text: `etcd.dataDir: must not contain agent.stateDir (${stateDir} is inside ${dataDir}): wiping the member's data would delete the agent's own record; put the state outside, e.g. agent.stateDir: ${posix.dirname(dataDir)}/etcd-spot-state`,
      path: ['etcd', 'dataDir'],
    });
  }
  return issues;
}

/** Legal but risky values of a valid config, each naming the key and why. */
function configWarnings(config: Config): { text: string; path: string[] }[] {
  const a = config.agent;
  const out: { text: string; path: string[] }[] = [];
  if (a.terminationPollIntervalMs > 30_000) {
    out.push({
      text: `agent.terminationPollInterval: ${formatDuration(a.terminationPollIntervalMs)} leaves little of a 2-minute spot notice for the leave; 30s or less is safer (default 5s)`,
      path: ['agent', 'terminationPollInterval'],
    });
  }
  if (a.memberDeadAfterMs < 2 * a.groupPollIntervalMs) {
    out.push({
      text: `agent.memberDeadAfter: ${formatDuration(a.memberDeadAfterMs)} is shorter than 2 × agent.groupPollInterval (${formatDuration(a.groupPollIntervalMs)}): one stale read of the group can get a member removed; make it at least ${formatDuration(2 * a.groupPollIntervalMs)}`,
      path: ['agent', 'memberDeadAfter'],
    });
  }
  if (a.terminatedMemberDeadAfterMs > a.memberDeadAfterMs) {
    out.push({
      text: `agent.terminatedMemberDeadAfter: ${formatDuration(a.terminatedMemberDeadAfterMs)} is longer than agent.memberDeadAfter (${formatDuration(a.memberDeadAfterMs)}); memberDeadAfter is used (the cloud's proof of a termination never makes the wait longer)`,
      path: ['agent', 'terminatedMemberDeadAfter'],
    });
  }
  return out;
}

/** Every string inside a value (a secret key may be mistyped as a list or a mapping). */
function stringsIn(v: unknown, out: string[]): void {
  if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) stringsIn(x, out);
  else if (isTree(v)) for (const x of Object.values(v)) stringsIn(x, out);
}

/** Shortest secret value that is searched for and blanked in messages (shorter ones would mangle text). */
const MIN_REDACTED_LENGTH = 6;

/**
 * The values of secret keys from every source, to blank them out of any message as a last line of
 * defence: the structured messages never show them, but a YAML parser message may quote a line.
 */
function secretValues(sources: Tree[], fileText: string | undefined): string[] {
  const secretLeaves = configLeaves().filter((l) => l.secret);
  const out: string[] = [];
  for (const tree of sources) {
    for (const l of secretLeaves) {
      let v: unknown = tree;
      for (const seg of l.path) v = isTree(v) ? v[seg] : undefined;
      stringsIn(v, out);
    }
  }
  if (fileText !== undefined) {
    const names = new Set(secretLeaves.map((l) => l.path[l.path.length - 1] as string));
    const re = /^[\s-]*["']?([A-Za-z]+)["']?\s*:(.*)$/gm;
    for (const m of fileText.matchAll(re)) {
      if (!names.has(m[1] as string)) continue;
      for (const piece of (m[2] as string).split(/[\s,[\]{}"'#*&!|>]+/)) out.push(piece);
    }
  }
  return [...new Set(out.map((x) => x.trim()))]
    .filter((x) => x.length >= MIN_REDACTED_LENGTH)
    .sort((x, y) => y.length - x.length);
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const sec of secrets) if (out.includes(sec)) out = out.split(sec).join('(hidden)');
  return out;
}

/** Bounds the issue list (first {@link MAX_ISSUES} + a count) and every line; blanks secret values. */
function finishIssues(issues: string[], secrets: readonly string[]): string[] {
  const shown = issues.slice(0, MAX_ISSUES).map((i) => clip(redact(i, secrets), MAX_ISSUE_LENGTH));
  if (issues.length > MAX_ISSUES) shown.push(`… and ${issues.length - MAX_ISSUES} more`);
  return shown;
}

/**
 * Loads, merges and validates the configuration. Never throws for bad input: every problem is an
 * entry of `issues` (secret values blanked, at most {@link MAX_ISSUES} and a count), e.g. `agent.maxVoters: must be an odd number between 1 and 9 (got 4) [ETCD_SPOT_AGENT_MAX_VOTERS]`.
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadConfigResult {
  const issues: string[] = [];
  const sources = newSources();
  let syntaxBroken = false;

  let fileData: Tree = {};
  const raw: { text?: string } = {};
  if (opts.file !== undefined) {
    const r = readYaml(opts.file, sources, raw);
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

  const secrets = () => secretValues([fileData, envData, flagData], raw.text);
  if (syntaxBroken) return { ok: false, issues: finishIssues(issues, secrets()) };

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
  if (issues.length > 0 || !parsed.success) return { ok: false, issues: finishIssues(issues, secrets()) };
  const warnings = configWarnings(parsed.data).map(({ text, path }) => {
    const src = sources.find(path);
    return src ? `${text} [${src}]` : text;
  });
  return { ok: true, config: parsed.data, warnings };
}

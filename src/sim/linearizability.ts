/**
 * A linearizability checker for key-value histories (pure): every client operation the simulator
 * recorded (put, get, compare-and-swap; invocation and response times from a monotonic clock; result)
 * is checked against a per-key register model with the Wing–Gong search as porcupine does it
 * (Lowe's memoization of (linearized set, state), P-compositionality: each key is checked alone).
 *
 * An operation that failed or timed out is "maybe applied": it may take effect at any time after its
 * start, or never (porcupine's return time = +∞). Two sound reductions keep such histories small:
 * - a maybe-applied write whose value no successful operation observed, on a key where no
 *   compare-and-swap failed after it started without saying what it found instead, is dropped
 *   ("never" explains everything "applied" could; the workload's txn reads the key in its else
 *   branch, so its failed compares are observations and this always applies);
 * - a maybe-applied write whose value was observed must be linearized before the earliest response
 *   among its observers, so that becomes its response time.
 * Values must be unique per write (the workload makes them so); a failed read is dropped.
 *
 * The search per key is bounded by a step budget: past it the key is reported `unknown`, never
 * passed and never hung on.
 */

/** One client operation on one key. Times are ms from any monotonic origin (fractions allowed). */
export interface KvOperation {
  /** Unique within the history (for reports). */
  id: number;
  /** The client (a sequential process) that issued it. */
  client: number;
  key: string;
  kind: 'put' | 'get' | 'cas';
  /** put / cas: the value written. */
  value?: string;
  /** cas: the value the key must hold for the write to happen (null: the key must be absent). */
  expected?: string | null;
  start: number;
  /** Response time; ignored for a failed operation. */
  end: number;
  /** `ok`: the response is known; `failed`: error or timeout, the effect is unknown. */
  status: 'ok' | 'failed';
  /**
   * get (ok): the value read, null when the key was absent. cas (ok, compare failed): the value the
   * key held instead, when the txn read it in its else branch (then the failure is an observation).
   */
  read?: string | null;
  /** cas (ok): whether the compare held (the write happened). */
  succeeded?: boolean;
  /** ok put / cas: the revision of the response header; ok get: the key's mod revision (0 = absent). */
  revision?: number;
}

export type KeyVerdict = 'ok' | 'violation' | 'unknown';

export interface KeyResult {
  key: string;
  verdict: KeyVerdict;
  /** Operations checked after the reductions. */
  operations: number;
  /** Search steps spent. */
  steps: number;
  /** For a violation: a small window of this key's operations that alone is not linearizable. */
  window?: KvOperation[];
  /** For a violation: the operation no linearization could place (e.g. the stale read). */
  culprit?: KvOperation;
}

export interface LinearizabilityResult {
  verdict: KeyVerdict;
  /** Operations in the history (all keys), before the reductions. */
  operations: number;
  keys: number;
  /** Maybe-applied operations dropped / bounded by the reductions. */
  droppedMaybe: number;
  boundedMaybe: number;
  violations: KeyResult[];
  /** Keys whose search ran out of budget. */
  unknown: string[];
  steps: number;
  elapsedMs: number;
}

export interface CheckOptions {
  /** Search steps allowed per key before it is `unknown` (default 2,000,000). */
  stepBudgetPerKey?: number;
  /** Stop after this many violating keys (default 5). */
  maxViolations?: number;
  /** The clock for `elapsedMs` (default performance.now). */
  now?: () => number;
}

/** The register's state; `WILD` = unknown (a window checked on its own starts there). */
const WILD = Symbol('any value');
type Value = string | null | typeof WILD;

interface Entry {
  op: KvOperation;
  /** Index into the key's operations (the bit in the linearized set). */
  idx: number;
  time: number;
  isCall: boolean;
  /** call → its return; return → undefined. */
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/**
 * One step of the register model: the state after `op`, or undefined when `op`'s result is impossible
 * in `state`. A failed (maybe-applied) operation is accepted in any state.
 */
export function stepRegister(state: Value, op: KvOperation): Value | undefined {
  if (op.kind === 'get') {
    if (op.status !== 'ok') return state;
    const read = op.read ?? null;
    if (state === WILD || state === read) return read;
    return undefined;
  }
  if (op.kind === 'put') return op.value ?? null;
  const holds = state === WILD ? undefined : state === (op.expected ?? null);
  if (op.status !== 'ok') return holds === false ? state : (op.value ?? null);
  if (op.succeeded) return holds === false ? undefined : (op.value ?? null);
  if (op.read !== undefined) {
    // The compare failed and the txn read what was there instead.
    if (op.read === (op.expected ?? null)) return undefined;
    if (state === WILD || state === op.read) return op.read;
    return undefined;
  }
  return holds === true ? undefined : state;
}

class Bits {
  readonly words: Uint32Array;
  constructor(words: Uint32Array) {
    this.words = words;
  }
  static of(n: number): Bits {
    return new Bits(new Uint32Array(Math.ceil(n / 32) || 1));
  }
  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31));
  }
  clear(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31));
  }
  clone(): Bits {
    return new Bits(this.words.slice());
  }
  hash(): number {
    let h = 0x811c9dc5;
    for (const w of this.words) h = Math.imul(h ^ w, 0x01000193);
    return h >>> 0;
  }
  equals(o: Bits): boolean {
    const a = this.words;
    const b = o.words;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

function stateKey(v: Value): string {
  return v === WILD ? '\u0000*' : v === null ? '\u0000' : v;
}

interface SearchResult {
  ok: boolean | 'unknown';
  steps: number;
  /** The return entry at which the deepest attempt got stuck. */
  stuckAt?: KvOperation;
}

/** Wing–Gong with memoization over one key's operations (times already final). */
function search(ops: readonly KvOperation[], initial: Value, budget: number): SearchResult {
  const n = ops.length;
  if (n === 0) return { ok: true, steps: 0 };
  const entries: Entry[] = [];
  ops.forEach((op, idx) => {
    const ret: Entry = {
      op,
      idx,
      time: op.end,
      isCall: false,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const call: Entry = {
      op,
      idx,
      time: op.start,
      isCall: true,
      match: ret,
      prev: undefined,
      next: undefined,
    };
    entries.push(call, ret);
  });
  // By time; a call before a return at the same instant (concurrent: the lenient reading).
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = {
    op: ops[0] as KvOperation,
    idx: -1,
    time: -Infinity,
    isCall: false,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  const lift = (call: Entry) => {
    const ret = call.match as Entry;
    (call.prev as Entry).next = call.next;
    if (call.next) call.next.prev = call.prev;
    (ret.prev as Entry).next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Entry) => {
    const ret = call.match as Entry;
    (ret.prev as Entry).next = ret;
    if (ret.next) ret.next.prev = ret;
    (call.prev as Entry).next = call;
    if (call.next) call.next.prev = call;
  };

  const cache = new Map<string, Bits[]>();
  const seen = (bits: Bits, state: Value): boolean => {
    const k = `${bits.hash()}|${stateKey(state)}`;
    const list = cache.get(k);
    if (list?.some((b) => b.equals(bits))) return true;
    if (list) list.push(bits);
    else cache.set(k, [bits]);
    return false;
  };
  const linearized = Bits.of(n);
  const calls: { entry: Entry; state: Value }[] = [];
  let state: Value = initial;
  let entry = head.next;
  let steps = 0;
  let deepest = -1;
  let stuckAt: KvOperation | undefined;
  while (head.next !== undefined) {
    if (++steps > budget) return { ok: 'unknown', steps, ...(stuckAt ? { stuckAt } : {}) };
    const e = entry as Entry;
    if (e.isCall) {
      const next = stepRegister(state, e.op);
      if (next !== undefined) {
        const bits = linearized.clone();
        bits.set(e.idx);
        if (!seen(bits, next)) {
          calls.push({ entry: e, state });
          state = next;
          linearized.set(e.idx);
          lift(e);
          entry = head.next;
          continue;
        }
      }
      entry = e.next;
    } else {
      if (calls.length >= deepest) {
        deepest = calls.length;
        stuckAt = e.op;
      }
      const top = calls.pop();
      if (top === undefined) return { ok: false, steps, ...(stuckAt ? { stuckAt } : {}) };
      state = top.state;
      linearized.clear(top.entry.idx);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { ok: true, steps };
}

/** The value a write puts. */
function written(op: KvOperation): string | undefined {
  return op.kind === 'get' ? undefined : op.value;
}

/**
 * The key's operations after the reductions (see the module comment): failed reads dropped,
 * unobserved maybe-writes dropped where that is sound, observed ones bounded by their first observer.
 */
export function prepareKey(ops: readonly KvOperation[]): {
  ops: KvOperation[];
  dropped: number;
  bounded: number;
} {
  const firstObservedAt = new Map<string, number>();
  let lastFailedCasEnd = -Infinity;
  const observe = (v: string | null | undefined, end: number) => {
    if (v === undefined || v === null) return;
    const t = firstObservedAt.get(v);
    if (t === undefined || end < t) firstObservedAt.set(v, end);
  };
  for (const op of ops) {
    if (op.status !== 'ok') continue;
    if (op.kind === 'get') observe(op.read, op.end);
    if (op.kind === 'cas') {
      if (op.succeeded) observe(op.expected, op.end);
      else if (op.read !== undefined) observe(op.read, op.end);
      else lastFailedCasEnd = Math.max(lastFailedCasEnd, op.end);
    }
  }
  const out: KvOperation[] = [];
  let dropped = 0;
  let bounded = 0;
  for (const op of ops) {
    if (op.status === 'ok') {
      out.push(op);
      continue;
    }
    if (op.kind === 'get') {
      dropped++;
      continue;
    }
    const v = written(op);
    const seenAt = v === undefined ? undefined : firstObservedAt.get(v);
    if (seenAt === undefined) {
      // Never observed: "never applied" explains every read; only a failed compare could need it.
      if (lastFailedCasEnd < op.start) {
        dropped++;
        continue;
      }
      out.push({ ...op, end: Infinity });
      continue;
    }
    bounded++;
    out.push({ ...op, end: Math.max(op.start, seenAt) });
  }
  return { ops: out, dropped, bounded };
}

/**
 * The smallest window of operations (overlapping [t, culprit's end] for the latest t found) that is
 * not linearizable even from an unknown initial value, or undefined when none of up to 64 tries is.
 */
function violationWindow(
  ops: readonly KvOperation[],
  culprit: KvOperation,
  budget: number,
): KvOperation[] | undefined {
  const before = ops.filter((o) => o.start <= culprit.end);
  const ends = [...new Set(before.map((o) => Math.min(o.end, culprit.end)))].sort((a, b) => b - a);
  const starts = [culprit.start, ...ends.filter((t) => t < culprit.start)];
  for (const t of starts.slice(0, 64)) {
    const window = before.filter((o) => o.end >= t || o === culprit);
    if (search(window, WILD, budget).ok === false) return window;
  }
  return undefined;
}

/** Groups operations by key, preserving order. */
function byKey(history: readonly KvOperation[]): Map<string, KvOperation[]> {
  const keys = new Map<string, KvOperation[]>();
  for (const op of history) {
    const list = keys.get(op.key);
    if (list) list.push(op);
    else keys.set(op.key, [op]);
  }
  return keys;
}

/**
 * Checks a history. Every key starts absent (the workload's keys are fresh in every run).
 *
 * @example
 * checkLinearizable([
 *   { id: 1, client: 0, key: 'k', kind: 'put', value: 'a', start: 0, end: 1, status: 'ok' },
 *   { id: 2, client: 1, key: 'k', kind: 'get', start: 2, end: 3, status: 'ok', read: null },
 * ]).verdict // 'violation': the read came after the acknowledged put and missed it
 */
export function checkLinearizable(
  history: readonly KvOperation[],
  opts: CheckOptions = {},
): LinearizabilityResult {
  const now = opts.now ?? (() => performance.now());
  const budget = opts.stepBudgetPerKey ?? 2_000_000;
  const maxViolations = opts.maxViolations ?? 5;
  const t0 = now();
  const violations: KeyResult[] = [];
  const unknown: string[] = [];
  let steps = 0;
  let droppedMaybe = 0;
  let boundedMaybe = 0;
  const keys = byKey(history);
  for (const [key, raw] of keys) {
    const { ops, dropped, bounded } = prepareKey(raw);
    droppedMaybe += dropped;
    boundedMaybe += bounded;
    // A key written once and read only after the write (the common case) needs no search.
    const r = search(ops, null, budget);
    steps += r.steps;
    if (r.ok === 'unknown') unknown.push(key);
    else if (!r.ok && violations.length < maxViolations) {
      const culprit = r.stuckAt;
      const window = culprit === undefined ? undefined : violationWindow(ops, culprit, budget);
      violations.push({
        key,
        verdict: 'violation',
        operations: ops.length,
        steps: r.steps,
        ...(window !== undefined ? { window } : { window: ops.slice(0, 50) }),
        ...(culprit !== undefined ? { culprit } : {}),
      });
    } else if (!r.ok) violations.push({ key, verdict: 'violation', operations: ops.length, steps: r.steps });
  }
  return {
    verdict: violations.length > 0 ? 'violation' : unknown.length > 0 ? 'unknown' : 'ok',
    operations: history.length,
    keys: keys.size,
    droppedMaybe,
    boundedMaybe,
    violations,
    unknown,
    steps,
    elapsedMs: Math.round((now() - t0) * 10) / 10,
  };
}

/** One line per operation, for a report: `#12 c3 get k → a  [10.0, 12.5] ms`. */
export function describeOperation(op: KvOperation, t0 = 0): string {
  const t = (x: number) => (Number.isFinite(x) ? (x - t0).toFixed(1) : '∞');
  let what: string;
  if (op.kind === 'get') what = `get → ${op.status === 'ok' ? JSON.stringify(op.read ?? null) : '?'}`;
  else if (op.kind === 'put') what = `put ${JSON.stringify(op.value)}`;
  else
    what = `cas ${JSON.stringify(op.expected ?? null)} → ${JSON.stringify(op.value)}${op.status === 'ok' ? (op.succeeded ? ' (done)' : ' (compare failed)') : ''}`;
  const rev = op.revision !== undefined ? ` rev ${op.revision}` : '';
  return `#${op.id} client ${op.client} ${what}${op.status === 'failed' ? ' (failed: maybe applied)' : ''}${rev}  [${t(op.start)}, ${t(op.end)}] ms`;
}

/** The linearizability check as the report carries it. */
export interface LinearizabilityReport {
  /** `ok`, `violation`, or `unknown` (the search ran out of its step budget on some key). */
  verdict: 'ok' | 'violation' | 'unknown';
  /** Operations checked: the writers' puts, the register clients' ops, the final read of every key. */
  operations: number;
  registerOperations: number;
  keys: number;
  checkMs: number;
  steps: number;
  /** Failed (maybe-applied) writes nobody observed, dropped; observed ones, bounded by their first observer. */
  droppedMaybe: number;
  boundedMaybe: number;
  /** Up to 5 keys: the operation no linearization could place, and a window of ops that alone fails. */
  violations: { key: string; culprit?: string; window: string[] }[];
  unknownKeys: string[];
  /** When the check did not pass: the history, one JSON operation a line (in the run dir). */
  historyFile?: string;
}

/** The checker's result as the report carries it (operations as one line each). */
export function linearizabilityReport(
  r: LinearizabilityResult,
  registerOperations: number,
): LinearizabilityReport {
  const t0 = Math.min(...r.violations.flatMap((v) => (v.window ?? []).map((o) => o.start)), Infinity);
  const origin = Number.isFinite(t0) ? t0 : 0;
  return {
    verdict: r.verdict,
    operations: r.operations,
    registerOperations,
    keys: r.keys,
    checkMs: r.elapsedMs,
    steps: r.steps,
    droppedMaybe: r.droppedMaybe,
    boundedMaybe: r.boundedMaybe,
    violations: r.violations.map((v) => ({
      key: v.key,
      ...(v.culprit ? { culprit: describeOperation(v.culprit, origin) } : {}),
      window: (v.window ?? []).map((o) => describeOperation(o, origin)),
    })),
    unknownKeys: r.unknown,
  };
}

/**
 * Reads the agents' decisions out of their log files: pino JSON lines on stderr, one line per decision
 * carrying `action` and `reason`. Files are read incrementally (byte offsets), so polling is cheap.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface AgentDecision {
  instanceId: string;
  /** ms since epoch (pino's `time`, epoch ms or ISO; else when it was read). */
  at: number;
  action: string;
  reason: string;
  /** pino level, as a number (30) or a label ('info'). */
  level: number | string | undefined;
  /** The member or instance the action is about, when the line names one. */
  target?: string;
  /** How executing it went, from the agent's following "action done" line. */
  outcome?: { progressed: boolean; at: number; detail?: string; code?: string };
}

/** A line reporting how an action went (`progressed`), to be attached to its decision. */
export interface ActionOutcome {
  instanceId: string;
  action: string;
  progressed: boolean;
  at: number;
  detail?: string;
  code?: string;
}

function timeOf(v: unknown, fallback: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return fallback;
}

/**
 * Classifies one log line: a decision (`action` + `reason`), an outcome (`action` + `progressed`), or
 * nothing (not JSON, or neither). `action` may be a string or an object with a `kind`/`type` field.
 */
export function parseLogLine(
  instanceId: string,
  line: string,
  fallbackAt: number,
): { decision: AgentDecision } | { outcome: ActionOutcome } | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(t) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const raw = obj.action;
  let action: string | undefined;
  let target: string | undefined;
  if (typeof raw === 'string') action = raw;
  else if (raw && typeof raw === 'object') {
    const a = raw as Record<string, unknown>;
    const k = a.kind ?? a.type;
    if (typeof k === 'string') action = k;
    const tgt = a.memberId ?? a.to ?? a.instanceId;
    if (typeof tgt === 'string') target = tgt;
  }
  if (action === undefined) return undefined;
  const at = timeOf(obj.time, fallbackAt);
  if (typeof obj.progressed === 'boolean') {
    return {
      outcome: {
        instanceId,
        action,
        progressed: obj.progressed,
        at,
        ...(typeof obj.detail === 'string' ? { detail: obj.detail } : {}),
        ...(typeof obj.code === 'string' ? { code: obj.code } : {}),
      },
    };
  }
  if (typeof obj.reason !== 'string') return undefined;
  for (const key of ['memberId', 'to', 'targetId', 'target']) {
    if (target === undefined && typeof obj[key] === 'string') target = obj[key] as string;
  }
  const level = typeof obj.level === 'number' || typeof obj.level === 'string' ? obj.level : undefined;
  return {
    decision: {
      instanceId,
      at,
      action,
      reason: obj.reason,
      level,
      ...(target !== undefined ? { target } : {}),
    },
  };
}

/** The decision in one log line, or undefined (see {@link parseLogLine}). */
export function parseDecisionLine(
  instanceId: string,
  line: string,
  fallbackAt: number,
): AgentDecision | undefined {
  const r = parseLogLine(instanceId, line, fallbackAt);
  return r && 'decision' in r ? r.decision : undefined;
}

/** Incremental reader of one instance's agent log. */
export class AgentLogTail {
  readonly instanceId: string;
  readonly path: string;
  private offset = 0;
  private partial = '';
  /** The last decision read, which an outcome line completes. */
  private last: AgentDecision | undefined;

  constructor(instanceId: string, path: string) {
    this.instanceId = instanceId;
    this.path = path;
  }

  /** New decision lines since the last call. Never throws (a missing file has no decisions yet). */
  poll(now = Date.now()): AgentDecision[] {
    let fd: number | undefined;
    const out: AgentDecision[] = [];
    try {
      fd = openSync(this.path, 'r');
      const size = fstatSync(fd).size;
      if (size < this.offset) this.offset = 0;
      const max = 4 * 1024 * 1024;
      while (this.offset < size) {
        const len = Math.min(size - this.offset, max);
        const buf = Buffer.alloc(len);
        const n = readSync(fd, buf, 0, len, this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + buf.subarray(0, n).toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) {
          const r = parseLogLine(this.instanceId, line, now);
          if (r === undefined) continue;
          if ('decision' in r) {
            out.push(r.decision);
            this.last = r.decision;
          } else if (
            this.last !== undefined &&
            this.last.action === r.outcome.action &&
            this.last.outcome === undefined
          ) {
            const o = r.outcome;
            this.last.outcome = {
              progressed: o.progressed,
              at: o.at,
              ...(o.detail !== undefined ? { detail: o.detail } : {}),
              ...(o.code !== undefined ? { code: o.code } : {}),
            };
          }
        }
      }
    } catch {
      // not there yet
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return out;
  }
}

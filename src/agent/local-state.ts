/**
 * The agent's durable record, `<stateDir>/state.json` (LocalRecord). Written atomically: a temporary
 * file in the same directory, fsync, rename, fsync of the directory. A file that exists but cannot be
 * understood is an error, never read as "empty": the agent then refuses destructive actions and never
 * overwrites the file until an operator fixes or deletes it.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EtcdSpotError } from '../core/errors.ts';
import { isMemberId } from '../core/ids.ts';
import { parseBootstrapPlan } from '../core/bootstrap-plan.ts';
import type { BootstrapPlan, LocalRecord } from '../core/observation.ts';

export class LocalStateError extends EtcdSpotError {
  readonly path: string;
  constructor(message: string, path: string, cause?: unknown) {
    super(message, { code: 'LOCAL_STATE_CORRUPT', retryable: false, cause });
    this.path = path;
  }
}

export type LocalStateRead =
  { ok: true; record: LocalRecord; exists: boolean } | { ok: false; error: LocalStateError };

/** Validates a parsed state.json; returns the problems (empty when valid). */
export function validateRecord(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not a JSON object'];
  const v = value as Record<string, unknown>;
  const issues: string[] = [];
  if (v.clusterId !== undefined && (typeof v.clusterId !== 'string' || v.clusterId === ''))
    issues.push('clusterId: expected a non-empty string');
  if (v.memberId !== undefined && (typeof v.memberId !== 'string' || !isMemberId(v.memberId)))
    issues.push('memberId: expected 16 lowercase hex digits');
  const timed = (key: 'left' | 'vote' | 'planStarted', textKey: 'reason' | 'candidate' | 'token'): void => {
    const o = v[key];
    if (o === undefined) return;
    if (typeof o !== 'object' || o === null) return void issues.push(`${key}: expected an object`);
    const r = o as Record<string, unknown>;
    if (typeof r.at !== 'number' || !Number.isFinite(r.at))
      issues.push(`${key}.at: expected a number (ms since epoch)`);
    if (typeof r[textKey] !== 'string') issues.push(`${key}.${textKey}: expected a string`);
  };
  timed('left', 'reason');
  timed('vote', 'candidate');
  timed('planStarted', 'token');
  const vote = v.vote as Record<string, unknown> | undefined;
  if (typeof vote === 'object' && vote !== null && vote.plan !== undefined) {
    const plan = parseBootstrapPlan(vote.plan, 'vote.plan');
    if (!plan.ok) issues.push(plan.error);
  }
  return issues;
}

export class LocalStateStore {
  readonly path: string;
  private readonly dir: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string) {
    this.dir = stateDir;
    this.path = join(stateDir, 'state.json');
  }

  /** Reads the record; a missing file is an empty record, an unreadable or invalid one an error. */
  async read(): Promise<LocalStateRead> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, record: {}, exists: false };
      return { ok: false, error: new LocalStateError(`cannot read ${this.path}`, this.path, err) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return {
        ok: false,
        error: new LocalStateError(`${this.path} is not valid JSON; fix or delete it`, this.path, err),
      };
    }
    const issues = validateRecord(parsed);
    if (issues.length > 0) {
      return {
        ok: false,
        error: new LocalStateError(
          `${this.path} is invalid (${issues.join('; ')}); fix or delete it`,
          this.path,
        ),
      };
    }
    return { ok: true, record: pick(parsed as LocalRecord), exists: true };
  }

  /** Replaces the record atomically. Throws LocalStateError (and leaves the file alone) when the current file is corrupt. */
  async write(record: LocalRecord): Promise<void> {
    await this.update(() => record);
  }

  /**
   * Reads, applies `change` and writes the result back, serialized with every other update of this
   * store (a vote and an action never interleave). `change` returning undefined writes nothing.
   * Throws when the current file is corrupt.
   */
  update(
    change: (r: LocalRecord) => LocalRecord | undefined | Promise<LocalRecord | undefined>,
  ): Promise<LocalRecord> {
    const run = async (): Promise<LocalRecord> => {
      const current = await this.read();
      if (!current.ok) throw current.error;
      const next = await change({ ...current.record });
      if (next === undefined) return current.record;
      await this.writeUnchecked(next);
      return pick(next);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async writeUnchecked(record: LocalRecord): Promise<void> {
    const issues = validateRecord(record);
    if (issues.length > 0)
      throw new LocalStateError(`refusing to write an invalid record: ${issues.join('; ')}`, this.path);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(pick(record), null, 2) + '\n', 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new LocalStateError(`cannot write ${this.path}`, this.path, err);
    }
    // The rename is durable only once the directory entry is.
    const dh = await open(this.dir, 'r').catch(() => undefined);
    if (dh) {
      await dh.sync().catch(() => undefined);
      await dh.close();
    }
  }
}

/** Only the known fields, in a stable order. */
function pick(r: LocalRecord): LocalRecord {
  const out: LocalRecord = {};
  if (r.clusterId !== undefined) out.clusterId = r.clusterId;
  if (r.memberId !== undefined) out.memberId = r.memberId;
  if (r.left !== undefined) out.left = { at: r.left.at, reason: r.left.reason };
  if (r.vote !== undefined)
    out.vote = {
      candidate: r.vote.candidate,
      at: r.vote.at,
      ...(r.vote.plan !== undefined ? { plan: pickPlan(r.vote.plan) } : {}),
    };
  if (r.planStarted !== undefined) out.planStarted = { token: r.planStarted.token, at: r.planStarted.at };
  return out;
}

function pickPlan(p: BootstrapPlan): BootstrapPlan {
  return {
    token: p.token,
    instances: [...p.instances],
    members: p.members.map((m) => ({ instanceId: m.instanceId, peerUrl: m.peerUrl })),
  };
}

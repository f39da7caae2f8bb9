/**
 * The operator's `etcd-spot drain` order: `<agent.stateDir>/drain.json`, written by the CLI on the
 * instance, read by the agent's termination watcher as one more termination source (`operator-drain`).
 * A drain is therefore a notice like the cloud's, and takes the same leave path (planner row B: promote
 * a spare, hand leadership over, remove self when quorum allows, mark left, signal ready to shutdown),
 * with no deadline (no cloud is waiting). While the order stands the agent stays out (row A: a left
 * instance with a notice never rejoins); `etcd-spot drain --cancel` deletes it, the notice is withdrawn
 * and the agent rejoins as a fresh member. Unlike a recovery order, a drain does not expire: an
 * instance taken out by hand stays out until the operator says otherwise.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TerminationNotice, TerminationSource } from '../ports/termination-source.ts';
import { parseOrderObject, writeOrderFile } from './order-file.ts';

export const DRAIN_FILE = 'drain.json';
export const DRAIN_SOURCE = 'operator-drain';
const MAX_REASON = 200;

export interface DrainOrder {
  /** When the operator ordered it (ms since epoch). */
  at: number;
  /** The operator's words, for the logs and `status`. */
  reason?: string;
}

export function drainPath(stateDir: string): string {
  return join(stateDir, DRAIN_FILE);
}

/** The order in `text`, or why it is not one (pure). */
export function parseDrainOrder(text: string): DrainOrder | string {
  const parsed = parseOrderObject(text);
  if (typeof parsed === 'string') return parsed;
  const o = parsed.fields;
  const order: DrainOrder = { at: parsed.at };
  if (o.reason !== undefined) {
    if (typeof o.reason !== 'string' || o.reason.length > MAX_REASON)
      return `"reason" must be a text of at most ${MAX_REASON} characters`;
    order.reason = o.reason;
  }
  return order;
}

/** The standing order, undefined when there is none; throws when the file cannot be read or parsed. */
export async function readDrainOrder(stateDir: string): Promise<DrainOrder | undefined> {
  let text: string;
  try {
    text = await readFile(drainPath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${drainPath(stateDir)}`, { cause: err });
  }
  const order = parseDrainOrder(text);
  if (typeof order === 'string')
    throw new Error(
      `${drainPath(stateDir)} is not a drain order (${order}); delete it or run etcd-spot drain again`,
    );
  return order;
}

/** Writes the order atomically (tmp + rename). */
export async function writeDrainOrder(stateDir: string, order: DrainOrder): Promise<string> {
  return writeOrderFile(drainPath(stateDir), order);
}

/** Deletes the order; true when there was one. */
export async function removeDrainOrder(stateDir: string): Promise<boolean> {
  try {
    await rm(drainPath(stateDir));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** The notice a standing order stands for (pure). */
export function drainNotice(order: DrainOrder): TerminationNotice {
  return {
    source: DRAIN_SOURCE,
    seenAt: order.at,
    detail: `etcd-spot drain at ${new Date(order.at).toISOString()}${order.reason ? `: ${order.reason}` : ''}; undo with etcd-spot drain --cancel`,
  };
}

/**
 * The termination source of the drain order. No file: no notice. An unreadable or invalid file throws,
 * so the watcher keeps its last answer (an error is never read as "no notice").
 */
export function createDrainOrderSource(stateDir: string): TerminationSource {
  return {
    name: DRAIN_SOURCE,
    async poll(): Promise<TerminationNotice | null> {
      const order = await readDrainOrder(stateDir);
      return order === undefined ? null : drainNotice(order);
    },
  };
}

/**
 * The operator's `etcd-spot recover` order: `<agent.stateDir>/recover.json`, written by the CLI on the
 * instance, read by the agent at every observation (src/core/recovery.ts decides what it allows). An
 * order never replaces the planner's proof of a quorum loss; it only lets manual mode act, picks the
 * survivor (`--from <instance>`), or allows an empty bootstrap over a stored snapshot (`--empty`). It
 * expires after {@link ORDER_TTL_MS}, so a forgotten order cannot act on a later, unrelated loss.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecoveryOrder } from '../core/observation.ts';
import { parseOrderObject, writeOrderFile } from './order-file.ts';

export const ORDER_FILE = 'recover.json';
/** An order older than this is ignored. */
export const ORDER_TTL_MS = 10 * 60_000;
const FROM = /^[A-Za-z0-9._/:-]{1,256}$/;

export function orderPath(stateDir: string): string {
  return join(stateDir, ORDER_FILE);
}

/** The order in `text`, or why it is not one (pure). */
export function parseRecoveryOrder(text: string): RecoveryOrder | string {
  const parsed = parseOrderObject(text);
  if (typeof parsed === 'string') return parsed;
  const o = parsed.fields;
  const order: RecoveryOrder = { at: parsed.at };
  if (o.from !== undefined) {
    if (typeof o.from !== 'string' || !FROM.test(o.from))
      return '"from" must be an instance id or a snapshot name';
    order.from = o.from;
  }
  if (o.empty !== undefined) {
    if (typeof o.empty !== 'boolean') return '"empty" must be true or false';
    if (o.empty) order.empty = true;
  }
  if (order.empty === true && order.from !== undefined) return '"from" and "empty" exclude each other';
  return order;
}

/**
 * The pending order, if a valid, unexpired one exists. `onProblem` hears about an unreadable,
 * invalid or expired file (the agent logs it); none of them is an order.
 */
export function readRecoveryOrder(
  stateDir: string,
  now: number,
  onProblem?: (problem: string) => void,
): RecoveryOrder | undefined {
  let text: string;
  try {
    text = readFileSync(orderPath(stateDir), { encoding: 'utf8', flag: 'r' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      onProblem?.(`cannot read ${orderPath(stateDir)}: ${(err as Error).message}`);
    return undefined;
  }
  const order = parseRecoveryOrder(text);
  if (typeof order === 'string') {
    onProblem?.(`ignoring ${orderPath(stateDir)}: ${order}`);
    return undefined;
  }
  if (order.at > now + 60_000 || now - order.at > ORDER_TTL_MS) {
    onProblem?.(`ignoring ${orderPath(stateDir)}: the order is expired or from the future`);
    return undefined;
  }
  return order;
}

/** Writes the order atomically (tmp + rename). */
export async function writeRecoveryOrder(stateDir: string, order: RecoveryOrder): Promise<string> {
  return writeOrderFile(orderPath(stateDir), order);
}

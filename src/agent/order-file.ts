import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * What the operator's order files in the agent's state dir (`recover.json`, `drain.json`) share: a small
 * JSON object with `at`, the time of the order in ms. Each order checks its own other fields.
 */

/** The largest order file read (a bigger file is not an order). */
export const ORDER_MAX_BYTES = 4096;

/** The object in `text` with its `at`, or why it is not an order (pure). */
export function parseOrderObject(text: string): { at: number; fields: Record<string, unknown> } | string {
  if (text.length > ORDER_MAX_BYTES) return `over ${ORDER_MAX_BYTES} bytes`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (typeof o.at !== 'number' || !Number.isFinite(o.at)) return '"at" must be a time in ms';
  return { at: o.at, fields: o };
}

/** Writes an order to `path` atomically (a 0600 temp file, then rename); a failed write leaves no temp file. */
export async function writeOrderFile(path: string, order: object): Promise<string> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, `${JSON.stringify(order)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  return path;
}

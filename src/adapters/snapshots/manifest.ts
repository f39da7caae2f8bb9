/**
 * The snapshot manifest on the wire (JSON next to the `.db`) and the key layout
 * `<prefix>/<group>/<cluster id>/<name>.{db,json}`, shared by every store.
 */
import { z } from 'zod';
import type { SnapshotManifest, SnapshotRef } from '../../ports/snapshot-store.ts';
import { parseSnapshotName } from '../../core/snapshot-policy.ts';
import { SnapshotError } from './verify.ts';

/** A group id or cluster id that can be one path segment (no `/`, no `..`). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const manifestSchema = z.object({
  schemaVersion: z.literal(1),
  name: z.string().refine((n) => parseSnapshotName(n) !== undefined, 'not a snapshot name'),
  groupId: z.string().regex(SEGMENT),
  clusterId: z.string().regex(/^[0-9a-f]{16}$/),
  revision: z.number().int().nonnegative(),
  raftIndex: z.number().int().nonnegative(),
  memberCount: z.number().int().nonnegative(),
  etcdVersion: z.string(),
  sizeBytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  takenAt: z.number().int(),
  takenBy: z.string(),
  reason: z.string(),
});

/** Throws SNAPSHOT_BAD_NAME when a group id cannot be a key segment. */
export function checkSegment(what: string, value: string): string {
  if (!SEGMENT.test(value) || value.includes('..'))
    throw new SnapshotError(
      `${what} ${JSON.stringify(value)} cannot name a snapshot folder (letters, digits, '.', '_', '-')`,
      'SNAPSHOT_BAD_NAME',
    );
  return value;
}

/** `<group>/<cluster id>/<name>` (without prefix or extension). */
export function refPath(ref: SnapshotRef): string {
  checkSegment('group id', ref.groupId);
  checkSegment('cluster id', ref.clusterId);
  if (parseSnapshotName(ref.name) === undefined)
    throw new SnapshotError(`${JSON.stringify(ref.name)} is not a snapshot name`, 'SNAPSHOT_BAD_NAME');
  return `${ref.groupId}/${ref.clusterId}/${ref.name}`;
}

export function refOf(m: Pick<SnapshotManifest, 'groupId' | 'clusterId' | 'name'>): SnapshotRef {
  return { groupId: m.groupId, clusterId: m.clusterId, name: m.name };
}

/**
 * Parses a manifest read from `key` (`…/<group>/<cluster>/<name>.json`) and checks that it describes
 * the snapshot at that key: a manifest copied from another cluster's folder is foreign (SNAPSHOT_FOREIGN).
 */
export function parseManifest(text: string, key: string): SnapshotManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new SnapshotError(`manifest ${key} is not JSON`, 'SNAPSHOT_BAD_MANIFEST', { cause });
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success)
    throw new SnapshotError(
      `manifest ${key} is not a snapshot manifest: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      'SNAPSHOT_BAD_MANIFEST',
    );
  const m = r.data as SnapshotManifest;
  const expected = `${m.groupId}/${m.clusterId}/${m.name}.json`;
  if (!key.endsWith(expected))
    throw new SnapshotError(
      `manifest ${key} describes ${expected} (cluster ${m.clusterId}): it belongs elsewhere`,
      'SNAPSHOT_FOREIGN',
    );
  return m;
}

export function manifestText(m: SnapshotManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

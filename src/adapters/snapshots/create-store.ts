/**
 * The snapshot store from config (`snapshot.*`). The S3 store is imported only when it is configured:
 * the AWS SDK costs the agent ~16 MB of RSS once loaded, and a group without S3 never pays it.
 */
import { ConfigError } from '../../core/errors.ts';
import type { SnapshotRetention } from '../../core/snapshot-policy.ts';
import type { SnapshotConfig } from '../../config/schema.ts';
import type { SnapshotStore } from '../../ports/snapshot-store.ts';
import { createFsSnapshotStore } from './fs-store.ts';

/** Problems with `snapshot.*` that the schema cannot see (a key required by the chosen store). */
export function snapshotConfigProblems(c: SnapshotConfig): string[] {
  if (c.store === 'fs' && c.dir === undefined)
    return ["snapshot.dir: required with snapshot.store 'fs' (an absolute directory, e.g. a mounted EFS)"];
  if (c.store === 's3' && c.bucket === undefined)
    return ["snapshot.bucket: required with snapshot.store 's3'"];
  return [];
}

export function retentionFromConfig(c: SnapshotConfig): SnapshotRetention {
  return { keepLast: c.keepLast, hourlyDays: c.hourlyDays, dailyDays: c.dailyDays };
}

/**
 * The configured store, or undefined for `store: none`. Throws ConfigError for a missing dir/bucket.
 *
 * @example
 * const store = await createSnapshotStore(config.snapshot);
 */
export async function createSnapshotStore(c: SnapshotConfig): Promise<SnapshotStore | undefined> {
  const problems = snapshotConfigProblems(c);
  if (problems.length > 0) throw new ConfigError(problems);
  switch (c.store) {
    case 'none':
      return undefined;
    case 'fs':
      return createFsSnapshotStore({ dir: c.dir as string });
    case 's3': {
      const { createS3SnapshotStore } = await import('./s3-store.ts');
      return createS3SnapshotStore({
        bucket: c.bucket as string,
        prefix: c.prefix,
        ...(c.region !== undefined ? { region: c.region } : {}),
        ...(c.endpoint !== undefined ? { endpoint: c.endpoint } : {}),
        forcePathStyle: c.forcePathStyle,
      });
    }
  }
}

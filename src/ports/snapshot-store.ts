import type { Readable } from 'node:stream';

/** Where snapshots go (a later issue: S3, a directory). Declared now so the agent can take one without touching the core. */
export interface SnapshotMeta {
  name: string;
  revision: number;
  takenAt: number;
  sizeBytes?: number;
}

export interface SnapshotStore {
  put(data: Readable, meta: Omit<SnapshotMeta, 'name'>, signal?: AbortSignal): Promise<SnapshotMeta>;
  list(signal?: AbortSignal): Promise<SnapshotMeta[]>;
  get(name: string, signal?: AbortSignal): Promise<Readable>;
  delete(name: string, signal?: AbortSignal): Promise<void>;
}

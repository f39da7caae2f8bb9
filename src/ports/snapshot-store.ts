import type { Readable } from 'node:stream';

/**
 * What is known about one stored snapshot: written next to it as a small JSON manifest, only after
 * the uploaded bytes were read back and matched `sizeBytes` and `sha256` (a manifest means "verified
 * when stored"; a restore checks it again).
 */
export interface SnapshotManifest {
  schemaVersion: 1;
  /** `<UTC time>-<revision>`, e.g. `20261130T120000.123Z-000000000042`: sorts oldest first. */
  name: string;
  groupId: string;
  /** 16-digit hex, as etcd reports it. */
  clusterId: string;
  /** The etcd revision (header.revision) when the snapshot was taken. */
  revision: number;
  raftIndex: number;
  memberCount: number;
  /** The server version of the member it came from, e.g. "3.4.23". */
  etcdVersion: string;
  sizeBytes: number;
  /** SHA-256 (hex) of the whole stored file, etcd's own trailer included. */
  sha256: string;
  /** Epoch ms. */
  takenAt: number;
  /** Who took it, e.g. `i-0abc (member 8e9e05c52164694d)` or `cli`. */
  takenBy: string;
  /** Why: `interval`, `before-remove …`, `on demand`. */
  reason: string;
}

/** Where a snapshot lives inside a store: `<group>/<cluster id>/<name>`. */
export interface SnapshotRef {
  groupId: string;
  clusterId: string;
  name: string;
}

/**
 * Where snapshots go: a directory (local disk, EFS/NFS) or an S3 bucket. Layout per cluster:
 * `<prefix>/<group>/<cluster id>/<name>.db` plus `<name>.json` (the manifest). Every call honours
 * `signal`; errors are `SnapshotError`s with a stable code (`SNAPSHOT_STORE_*`).
 */
export interface SnapshotStore {
  /** e.g. `s3://bucket/prefix` or `/mnt/efs/etcd-spot`, for messages. */
  readonly description: string;
  /** Stores the snapshot bytes (streamed, never buffered whole). Does not write the manifest. */
  putData(ref: SnapshotRef, data: Readable, sizeBytes: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: stores a local file's bytes without streaming them through JS buffers (a directory
   * store copies in the kernel). Used instead of putData when present.
   */
  putFile?(ref: SnapshotRef, file: string, sizeBytes: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: size and SHA-256 of the stored bytes, and whether etcd's trailer matches, read through
   * one reused buffer (no per-chunk garbage). Used instead of open() to verify when present.
   */
  digest?(
    ref: SnapshotRef,
    signal?: AbortSignal,
  ): Promise<{ sizeBytes: number; sha256: string; trailerOk: boolean; trailerProblem?: string }>;
  /** Writes the manifest: the snapshot then counts (list() returns it). */
  putManifest(manifest: SnapshotManifest, signal?: AbortSignal): Promise<void>;
  /** Manifests of the group (every cluster id), oldest first. Unreadable manifests are returned as `problems`. */
  list(
    groupId: string,
    signal?: AbortSignal,
  ): Promise<{ manifests: SnapshotManifest[]; problems: { key: string; error: string }[] }>;
  /** The stored size of the snapshot bytes, or undefined when there are none. */
  sizeOf(ref: SnapshotRef, signal?: AbortSignal): Promise<number | undefined>;
  /** Streams the snapshot bytes. */
  open(ref: SnapshotRef, signal?: AbortSignal): Promise<Readable>;
  /** Deletes the manifest first (so a half-deleted snapshot no longer counts), then the bytes. */
  delete(ref: SnapshotRef, signal?: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/**
 * etcd snapshot integrity, streamed (a snapshot is never held in memory). A `Maintenance.Snapshot`
 * stream (and `etcdctl snapshot save`) ends with the SHA-256 of everything before it, and bbolt pages
 * make the rest a multiple of 512 bytes: `size % 512 == 32` (field-notes-2026-11 §6). `etcdctl
 * snapshot restore` checks the trailer; `snapshot status` does not, so we check it ourselves before a
 * snapshot counts (gardener/etcd-backup-restore#749: trailer-less snapshots failed a quorum-loss restore).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { EtcdSpotError } from '../../core/errors.ts';
import type { SnapshotManifest } from '../../ports/snapshot-store.ts';

/** Stable codes: SNAPSHOT_TRUNCATED, SNAPSHOT_HASH_MISMATCH, SNAPSHOT_FOREIGN, SNAPSHOT_TOO_NEW, SNAPSHOT_STORE_*, … */
export class SnapshotError extends EtcdSpotError {
  constructor(message: string, code: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { code, retryable: opts.retryable ?? false, cause: opts.cause });
  }
}

const GC_EVERY_BYTES = 1024 * 1024;
let sinceGc = 0;

/**
 * Every chunk on a snapshot's way (a gRPC message, a socket read, a file read) is a fresh Buffer that
 * V8 gives back only at its next collection: tens of MB of RSS for a 100 MB snapshot (BENCHMARKS.md,
 * snapshot memory). When the process runs with `--expose-gc`, a young-generation collection every
 * 4 MB streamed returns them (~1 ms each); without it this does nothing.
 */
export function noteStreamed(bytes: number): void {
  sinceGc += bytes;
  if (sinceGc < GC_EVERY_BYTES) return;
  sinceGc = 0;
  const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc;
  gc?.({ type: 'minor' });
}

export interface StreamDigest {
  sizeBytes: number;
  /** SHA-256 (hex) of the whole stream. */
  sha256: string;
  /** Whether the last 32 bytes are the SHA-256 of everything before them, and size % 512 == 32. */
  trailerOk: boolean;
  /** Why `trailerOk` is false. */
  trailerProblem?: string;
}

/**
 * Hashes a stream once, keeping only the last 32 bytes aside: yields the whole file's SHA-256 and
 * etcd's trailer check in one pass, with O(chunk) memory.
 */
export async function digestStream(
  source: AsyncIterable<Buffer | Uint8Array>,
  onChunk?: (chunk: Buffer) => void | Promise<void>,
): Promise<StreamDigest> {
  const whole = createHash('sha256');
  const body = createHash('sha256');
  let tail = Buffer.alloc(0);
  let size = 0;
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (onChunk) await onChunk(chunk);
    whole.update(chunk);
    size += chunk.length;
    noteStreamed(chunk.length);
    // Everything except the (current) last 32 bytes goes into the body hash. No copy of the chunk:
    // the caller may reuse its buffer, and only the 32-byte tail is kept.
    if (chunk.length >= 32) {
      if (tail.length > 0) body.update(tail);
      body.update(chunk.subarray(0, chunk.length - 32));
      tail = Buffer.from(chunk.subarray(chunk.length - 32));
    } else {
      const joined = Buffer.concat([tail, chunk]);
      if (joined.length > 32) body.update(joined.subarray(0, joined.length - 32));
      tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 32)));
    }
  }
  const sha256 = whole.digest('hex');
  let trailerProblem: string | undefined;
  if (size < 32 + 512) trailerProblem = `only ${size} bytes: too short for an etcd snapshot`;
  else if (size % 512 !== 32)
    trailerProblem = `${size} bytes is not 512·n + 32: truncated, or not an etcd snapshot (no SHA-256 trailer)`;
  else if (!body.digest().equals(tail))
    trailerProblem =
      "its last 32 bytes are not the SHA-256 of the rest: corrupt (etcd's snapshot hash does not match)";
  return {
    sizeBytes: size,
    sha256,
    trailerOk: trailerProblem === undefined,
    ...(trailerProblem !== undefined ? { trailerProblem } : {}),
  };
}

/**
 * Digests a local file through ONE reused 64 KiB buffer: a stream would allocate a fresh buffer per
 * chunk, which V8 frees only at its next GC (tens of MB of RSS for a 100 MB file, measured).
 */
export async function digestFile(file: string, signal?: AbortSignal): Promise<StreamDigest> {
  const fh = await open(file, 'r');
  const buf = Buffer.allocUnsafe(64 * 1024);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  }
  try {
    return await digestStream(chunks());
  } finally {
    await fh.close();
  }
}

/** Checks a local snapshot file; throws SNAPSHOT_TRUNCATED / SNAPSHOT_CORRUPT naming the file. */
export async function verifySnapshotFile(file: string, signal?: AbortSignal): Promise<StreamDigest> {
  const d = await digestFile(file, signal);
  if (!d.trailerOk) throw trailerError(file, d);
  return d;
}

export function trailerError(what: string, d: StreamDigest): SnapshotError {
  return new SnapshotError(
    `${what} is not a valid etcd snapshot: ${d.trailerProblem ?? 'unknown problem'}`,
    d.sizeBytes % 512 !== 32 ? 'SNAPSHOT_TRUNCATED' : 'SNAPSHOT_CORRUPT',
  );
}

/** Checks a digest against a manifest: size, sha256 and etcd's trailer. Throws SnapshotError. */
export function checkAgainstManifest(what: string, d: StreamDigest, m: SnapshotManifest): void {
  if (d.sizeBytes !== m.sizeBytes)
    throw new SnapshotError(
      `${what}: ${d.sizeBytes} bytes stored, the manifest says ${m.sizeBytes}: truncated or replaced`,
      'SNAPSHOT_SIZE_MISMATCH',
    );
  if (d.sha256 !== m.sha256)
    throw new SnapshotError(
      `${what}: sha256 ${d.sha256.slice(0, 12)}… does not match the manifest's ${m.sha256.slice(0, 12)}…: corrupt`,
      'SNAPSHOT_HASH_MISMATCH',
    );
  if (!d.trailerOk) throw trailerError(what, d);
}

/** Drains a readable into the digest (used to re-read an upload). */
export function digestReadable(r: Readable): Promise<StreamDigest> {
  return digestStream(r as AsyncIterable<Buffer>);
}

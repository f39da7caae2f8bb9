/**
 * A {@link SnapshotStore} in an S3 bucket (or an S3-compatible store through `endpoint` +
 * `forcePathStyle`). Credentials come only from the AWS SDK's default chain (environment, shared
 * files, SSO, container/instance roles): never from etcd-spot's config.
 *
 * Checksums are `WHEN_REQUIRED`: with the SDK's defaults (since 3.729) a streamed PutObject goes out
 * `aws-chunked` with a trailing CRC32, which some S3-compatible stores (s3rver) store verbatim, chunk
 * framing included, with a 200 (field-notes-2026-11 §6.4; aws-sdk-js-v3#6810). The caller re-reads
 * every upload and compares size and SHA-256 anyway.
 *
 * Memory: up to `multipartThresholdBytes` the body is streamed in one PutObject (constant memory);
 * bigger files go through lib-storage's multipart Upload, one `partSizeBytes` part buffered at a time.
 *
 * Import this module lazily (see create-store.ts): the SDK costs ~16 MB of RSS once loaded.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { describeError } from '../../core/errors.ts';
import type { SnapshotManifest, SnapshotRef, SnapshotStore } from '../../ports/snapshot-store.ts';
import { checkSegment, manifestText, parseManifest, refPath } from './manifest.ts';
import { SnapshotError } from './verify.ts';

export interface S3SnapshotStoreOptions {
  bucket: string;
  /** Key prefix, e.g. `etcd-spot`; '' for the bucket root. */
  prefix: string;
  /** Else the SDK's (AWS_REGION, ~/.aws/config). */
  region?: string;
  /** S3-compatible endpoint, e.g. `http://127.0.0.1:4569`. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Socket idle/connect deadline of each request (default 30 s / 5 s). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  /** Tests only: explicit credentials instead of the SDK's chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK retries per call (default 2). */
  maxAttempts?: number;
}

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
  'AuthorizationHeaderMalformed',
]);

function s3Error(what: string, err: unknown, bucket: string, signal?: AbortSignal): SnapshotError {
  const name = (err as { name?: string; Code?: string }).Code ?? (err as { name?: string }).name ?? '';
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (
    signal?.aborted ||
    name === 'AbortError' ||
    name === 'TimeoutError' ||
    /timed? ?out|ETIMEDOUT/i.test(describeError(err))
  )
    return new SnapshotError(`${what}: the store timed out (s3://${bucket})`, 'SNAPSHOT_STORE_TIMEOUT', {
      retryable: true,
      cause: err,
    });
  if (name === 'NoSuchBucket')
    return new SnapshotError(
      `${what}: bucket ${bucket} does not exist; create it or fix snapshot.bucket`,
      'SNAPSHOT_STORE_MISSING',
      { cause: err },
    );
  if (AUTH_CODES.has(name) || status === 403 || /credential/i.test(describeError(err)))
    return new SnapshotError(
      `${what}: S3 refused the credentials (${name || `HTTP ${status ?? '?'}`}); check the AWS credentials chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, the instance role)`,
      'SNAPSHOT_STORE_AUTH',
      { cause: err },
    );
  return new SnapshotError(`${what}: ${describeError(err)}`, 'SNAPSHOT_STORE_FAILED', {
    retryable: true,
    cause: err,
  });
}

/**
 * @example
 * const store = createS3SnapshotStore({ bucket: 'backups', prefix: 'etcd-spot', region: 'eu-west-1' });
 */
export function createS3SnapshotStore(opts: S3SnapshotStoreOptions): SnapshotStore {
  const config: S3ClientConfig = {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: opts.maxAttempts ?? 2,
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      connectionTimeout: opts.connectTimeoutMs ?? 5000,
      // Without it the SDK only logs a warning and waits forever on a store that stopped answering.
      throwOnRequestTimeout: true,
    },
  };
  if (opts.region !== undefined) config.region = opts.region;
  if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
  if (opts.forcePathStyle !== undefined) config.forcePathStyle = opts.forcePathStyle;
  if (opts.credentials !== undefined) config.credentials = opts.credentials;
  const client = new S3Client(config);
  const bucket = opts.bucket;
  const prefix = opts.prefix.replace(/^\/+|\/+$/g, '');
  const keyOf = (path: string) => (prefix === '' ? path : `${prefix}/${path}`);
  const dataKey = (ref: SnapshotRef) => keyOf(`${refPath(ref)}.db`);
  const threshold = opts.multipartThresholdBytes ?? 256 * 1024 * 1024;
  const partSize = Math.max(5 * 1024 * 1024, opts.partSizeBytes ?? 8 * 1024 * 1024);

  return {
    description: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}${opts.endpoint !== undefined ? ` at ${opts.endpoint}` : ''}`,

    async putData(ref, data, sizeBytes, signal) {
      const Key = dataKey(ref);
      try {
        if (sizeBytes <= threshold) {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key,
              Body: data,
              ContentLength: sizeBytes,
              ContentType: 'application/octet-stream',
            }),
            { abortSignal: signal },
          );
        } else {
          const upload = new Upload({
            client,
            params: { Bucket: bucket, Key, Body: data, ContentType: 'application/octet-stream' },
            queueSize: 1,
            partSize,
            leavePartsOnError: false,
          });
          const abort = () => void upload.abort().catch(() => undefined);
          signal?.addEventListener('abort', abort, { once: true });
          try {
            await upload.done();
          } finally {
            signal?.removeEventListener('abort', abort);
          }
        }
      } catch (err) {
        data.destroy();
        throw s3Error(`cannot upload s3://${bucket}/${Key}`, err, bucket, signal);
      }
    },

    async putManifest(m, signal) {
      const Key = keyOf(`${refPath(m)}.json`);
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key,
            Body: manifestText(m),
            ContentType: 'application/json',
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw s3Error(`cannot upload s3://${bucket}/${Key}`, err, bucket, signal);
      }
    },

    async list(groupId, signal) {
      const Prefix = keyOf(`${checkSegment('group id', groupId)}/`);
      const manifests: SnapshotManifest[] = [];
      const problems: { key: string; error: string }[] = [];
      const keys: string[] = [];
      try {
        let token: string | undefined;
        do {
          const page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix, ContinuationToken: token }),
            { abortSignal: signal },
          );
          for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json') === true) keys.push(o.Key);
          token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (err) {
        throw s3Error(`cannot list s3://${bucket}/${Prefix}`, err, bucket, signal);
      }
      for (const Key of keys.sort()) {
        try {
          const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key }), { abortSignal: signal });
          const text = (await r.Body?.transformToString('utf8')) ?? '';
          manifests.push(parseManifest(text, Key));
        } catch (err) {
          if (signal?.aborted) throw s3Error(`cannot read s3://${bucket}/${Key}`, err, bucket, signal);
          problems.push({ key: `s3://${bucket}/${Key}`, error: describeError(err) });
        }
      }
      manifests.sort((a, b) => a.takenAt - b.takenAt || (a.name < b.name ? -1 : 1));
      return { manifests, problems };
    },

    async sizeOf(ref, signal) {
      const Key = dataKey(ref);
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }), { abortSignal: signal });
        return r.ContentLength;
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === 'NotFound' || name === 'NoSuchKey') return undefined;
        throw s3Error(`cannot read s3://${bucket}/${Key}`, err, bucket, signal);
      }
    },

    async open(ref, signal) {
      const Key = dataKey(ref);
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key }), { abortSignal: signal });
        if (r.Body === undefined) throw new Error('empty body');
        return r.Body as Readable;
      } catch (err) {
        throw s3Error(`cannot read s3://${bucket}/${Key}`, err, bucket, signal);
      }
    },

    async delete(ref, signal) {
      for (const Key of [keyOf(`${refPath(ref)}.json`), dataKey(ref)]) {
        try {
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }), { abortSignal: signal });
        } catch (err) {
          throw s3Error(`cannot delete s3://${bucket}/${Key}`, err, bucket, signal);
        }
      }
    },

    async close() {
      client.destroy();
    },
  };
}

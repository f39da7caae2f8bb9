/**
 * AWS credentials for the ASG provider. On an instance whose metadata URL is AWS's own, the AWS SDK's
 * default chain is used unchanged (environment, profile files, web identity, container, instance
 * profile). When `metadata.url` points elsewhere (the emulator, tests), the chain is the environment's
 * keys, then the instance profile read through that same metadata service: the SDK's own IMDS provider
 * would otherwise go to 169.254.169.254, which a test must never reach.
 */
import { CloudApiError } from '../../core/errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type { InstanceMetadata } from '../../ports/instance-metadata.ts';
import type { AwsCredentials } from './sigv4.ts';

export const AWS_IMDS_URL = 'http://169.254.169.254';

/** Refreshed this long before the instance-profile credentials expire (the SDK uses 5 minutes too). */
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * A credentials provider, or undefined for the SDK's default chain.
 * @example credentialsFor({ metadataUrl: 'http://127.0.85.10:1338', env, metadata, clock })
 */
export function credentialsFor(o: {
  metadataUrl: string;
  env: Record<string, string | undefined>;
  metadata: InstanceMetadata;
  clock: Clock;
}): (() => Promise<AwsCredentials>) | undefined {
  if (o.metadataUrl.replace(/\/+$/, '') === AWS_IMDS_URL) return undefined;
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = o.env;
  if (id && secret) {
    const fixed: AwsCredentials = {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(token ? { sessionToken: token } : {}),
    };
    return async () => fixed;
  }
  let cached: { creds: AwsCredentials; expiresAt: number } | undefined;
  return async () => {
    if (cached !== undefined && o.clock.now() < cached.expiresAt - REFRESH_MARGIN_MS) return cached.creds;
    const signal = AbortSignal.timeout(5000);
    const roles = await o.metadata.get('iam/security-credentials/', signal);
    const role = roles?.split('\n')[0]?.trim();
    if (!role)
      throw new CloudApiError(
        'no AWS credentials: the environment has none and the instance has no instance profile (iam/security-credentials/ in its metadata)',
        { retryable: true, code: 'AWS_NO_CREDENTIALS' },
      );
    const text = await o.metadata.get(`iam/security-credentials/${role}`, signal);
    let doc: { AccessKeyId?: unknown; SecretAccessKey?: unknown; Token?: unknown; Expiration?: unknown };
    try {
      doc = JSON.parse(text ?? '') as typeof doc;
    } catch (err) {
      throw new CloudApiError(`the instance profile ${role}'s credentials are not JSON`, {
        retryable: true,
        cause: err,
      });
    }
    if (typeof doc.AccessKeyId !== 'string' || typeof doc.SecretAccessKey !== 'string')
      throw new CloudApiError(`the instance profile ${role}'s credentials have no keys`, { retryable: true });
    const creds: AwsCredentials = {
      accessKeyId: doc.AccessKeyId,
      secretAccessKey: doc.SecretAccessKey,
      ...(typeof doc.Token === 'string' ? { sessionToken: doc.Token } : {}),
    };
    const exp = typeof doc.Expiration === 'string' ? Date.parse(doc.Expiration) : NaN;
    cached = { creds, expiresAt: Number.isFinite(exp) ? exp : o.clock.now() + 15 * 60_000 };
    return creds;
  };
}

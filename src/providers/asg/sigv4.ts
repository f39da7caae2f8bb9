/**
 * AWS Signature Version 4 for a form-encoded Query API POST (EC2 DescribeInstances), with node:crypto
 * only: the one EC2 call the ASG provider makes does not justify `@aws-sdk/client-ec2` (docs/deploy.md).
 * Algorithm: AWS General Reference, "Signature Version 4 signing process"; checked against
 * `@smithy/signature-v4` in sigv4.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface QueryRequestToSign {
  /** The endpoint URL (its path is the canonical URI; `/` when empty). */
  url: string;
  /** The form-encoded body. */
  body: string;
  region: string;
  /** The signing name, e.g. `ec2`. */
  service: string;
  credentials: AwsCredentials;
  /** Signing time, ms since epoch. */
  now: number;
}

const sha256hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();

/** `20150830T123600Z` */
export function amzDate(now: number): string {
  return new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The headers to send with the request: host, content type, date, content hash, token and authorization. */
export function signQueryRequest(r: QueryRequestToSign): Record<string, string> {
  const url = new URL(r.url);
  const date = amzDate(r.now);
  const day = date.slice(0, 8);
  const payloadHash = sha256hex(r.body);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: url.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': date,
  };
  if (r.credentials.sessionToken) headers['x-amz-security-token'] = r.credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names
    .map((n) => `${n}:${(headers[n] as string).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    'POST',
    url.pathname || '/',
    '',
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${r.region}/${r.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${r.credentials.secretAccessKey}`, day), r.region), r.service),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${r.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

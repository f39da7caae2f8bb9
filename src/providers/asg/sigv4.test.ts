import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { amzDate, signQueryRequest } from './sigv4.ts';

class NodeSha256 {
  private readonly h;
  constructor(secret?: unknown) {
    this.h =
      secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string | Uint8Array);
  }
  update(d: string | Uint8Array): void {
    this.h.update(d);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

test('amzDate is the basic ISO 8601 form SigV4 signs', () => {
  assert.equal(amzDate(Date.UTC(2015, 7, 30, 12, 36, 0)), '20150830T123600Z');
});

for (const sessionToken of [undefined, 'session-token-1']) {
  test(`signQueryRequest signs exactly like the AWS SDK's SignatureV4 (${sessionToken ? 'with' : 'without'} a session token)`, async () => {
    const now = Date.UTC(2026, 10, 30, 14, 0, 5);
    const body = 'Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-id&Filter.1.Value.1=i-1';
    const ours = signQueryRequest({
      url: 'http://127.0.0.1:4599/',
      body,
      region: 'eu-west-1',
      service: 'ec2',
      credentials: { ...credentials, sessionToken },
      now,
    });
    const signer = new SignatureV4({
      service: 'ec2',
      region: 'eu-west-1',
      credentials: { ...credentials, ...(sessionToken ? { sessionToken } : {}) },
      sha256: NodeSha256,
    });
    const { authorization: _a, ...unsigned } = ours;
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 4599,
        path: '/',
        headers: unsigned,
        body,
      },
      { signingDate: new Date(now) },
    );
    assert.equal(ours.authorization, signed.headers.authorization);
    assert.match(
      ours.authorization as string,
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261130\/eu-west-1\/ec2\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
  });
}

test('a different body gives a different signature (the payload hash is signed)', () => {
  const base = {
    url: 'https://ec2.us-east-1.amazonaws.com/',
    region: 'us-east-1',
    service: 'ec2',
    credentials,
    now: 0,
  };
  assert.notEqual(
    signQueryRequest({ ...base, body: 'Action=A' }).authorization,
    signQueryRequest({ ...base, body: 'Action=B' }).authorization,
  );
});

// What the ASG provider's AWS clients cost in RSS (issue 10 §2): `node bench/asg-sdk-rss.mjs`.
// A local server answers DescribeAutoScalingGroups and DescribeInstances; for each variant a fresh
// `node --expose-gc` child imports what the variant needs, makes its first call(s), and reports RSS
// after a GC: `asg` (@aws-sdk/client-auto-scaling only), `ec2` (+ @aws-sdk/client-ec2 and one
// DescribeInstances), `query` (+ the same call as a SigV4-signed Query POST through fetch, what the
// provider does). Numbers: docs/deploy.md §2b.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

const ASG_XML =
  '<?xml version="1.0"?><DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>g</AutoScalingGroupName><DesiredCapacity>3</DesiredCapacity><Instances><member><InstanceId>i-1</InstanceId><LifecycleState>InService</LifecycleState></member></Instances></member></AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>';
const EC2_XML =
  '<?xml version="1.0"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name></instanceState><privateIpAddress>10.0.0.1</privateIpAddress></item></instancesSet></item></reservationSet></DescribeInstancesResponse>';

/* global performance */
const child = async (variant, url) => {
  const rss = () => {
    globalThis.gc?.();
    globalThis.gc?.();
    return Math.round(process.memoryUsage().rss / 1e5) / 10;
  };
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
  const before = rss();
  const t0 = performance.now();
  const asg = await import('@aws-sdk/client-auto-scaling');
  const client = new asg.AutoScalingClient({ endpoint: url, region: 'us-east-1', credentials: creds });
  await client.send(new asg.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['g'] }));
  const afterAsg = rss();
  if (variant === 'ec2') {
    const ec2 = await import('@aws-sdk/client-ec2');
    const c = new ec2.EC2Client({ endpoint: url, region: 'us-east-1', credentials: creds });
    await c.send(new ec2.DescribeInstancesCommand({ InstanceIds: ['i-1'] }));
  } else if (variant === 'query') {
    // What src/providers/asg/sigv4.ts and xml.ts load: node:crypto and fetch (the TypeScript itself is
    // a few kB; importing it here would need tsx, whose own ~35 MB would swamp the measure).
    const { createHash, createHmac } = await import('node:crypto');
    const body = 'Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-id&Filter.1.Value.1=i-1';
    const hash = createHash('sha256').update(body).digest('hex');
    const signature = createHmac('sha256', `AWS4${creds.secretAccessKey}`).update(hash).digest('hex');
    const headers = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-amz-content-sha256': hash,
      authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/20261130/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
    };
    const text = await (await fetch(url, { method: 'POST', headers, body })).text();
    if (!text.includes('<privateIpAddress>10.0.0.1</privateIpAddress>')) throw new Error('unexpected answer');
  }
  const out = { variant, before, afterAsg, after: rss(), ms: Math.round(performance.now() - t0) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
};

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4]);
} else {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.setHeader('content-type', 'text/xml');
      res.end(body.includes('DescribeInstances') ? EC2_XML : ASG_XML);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://127.0.0.1:${port}/`;
  // Asynchronous: a synchronous spawn would block the server the child talks to.
  const runChild = (variant) =>
    new Promise((resolve) => {
      const p = spawn(
        process.execPath,
        ['--expose-gc', '--no-warnings', import.meta.filename, '--child', variant, url],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('close', () => resolve(out.trim()));
    });
  for (const variant of ['asg', 'ec2', 'query']) process.stdout.write(`${await runChild(variant)}\n`);
  server.close();
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepHintLines, shellWord } from './keep-hints.ts';

const fleet = {
  provider: 'elastigroup' as const,
  emulatorUrl: 'http://127.0.0.1:43165',
  groupId: 'sig-a0c1bb50',
  token: 'sim-1254926797-d8564aee20a1',
  clientUrls: ['http://127.0.150.10:2379', 'http://127.0.150.12:2379'],
};

test('--keep prints a status line with the token, the API and the group, and etcdctl tables', () => {
  assert.deepEqual(keepHintLines(fleet, 'npx etcd-spot'), [
    '--keep: the fleet keeps running until Ctrl-C. From another terminal:',
    '  SPOTINST_TOKEN=sim-1254926797-d8564aee20a1 npx etcd-spot status --api-url http://127.0.0.1:43165 --group-id sig-a0c1bb50 --endpoints http://127.0.150.10:2379,http://127.0.150.12:2379',
    '  etcdctl --endpoints=http://127.0.150.10:2379,http://127.0.150.12:2379 member list -w table',
    '  etcdctl --endpoints=http://127.0.150.10:2379,http://127.0.150.12:2379 endpoint status -w table',
    'emulator: http://127.0.0.1:43165 (group sig-a0c1bb50, token sim-1254926797-d8564aee20a1)',
  ]);
});

test('over TLS both tools get the certificate; an Auto Scaling group gets the AWS endpoints and credentials', () => {
  const tls = { cacert: '/r/tls/observer/ca.crt', cert: '/r/tls/observer/node.crt', key: '/r/a b/node.key' };
  const lines = keepHintLines({ ...fleet, tls });
  assert.match(
    lines[1] as string,
    / --cacert \/r\/tls\/observer\/ca\.crt --cert \/r\/tls\/observer\/node\.crt --key '\/r\/a b\/node\.key'$/,
  );
  assert.match(
    lines[2] as string,
    /^ {2}etcdctl --endpoints=\S+ --cacert \S+ --cert \S+ --key '\/r\/a b\/node\.key' member list -w table$/,
  );
  const asg = keepHintLines({
    ...fleet,
    provider: 'asg',
    groupId: 'etcd-asg',
    aws: { accessKeyId: 'AKIAEMU', secretAccessKey: 's/e+c', region: 'us-east-1' },
  });
  assert.equal(
    asg[1],
    '  AWS_ACCESS_KEY_ID=AKIAEMU AWS_SECRET_ACCESS_KEY=s/e+c etcd-spot status --set group.provider=asg --set group.region=us-east-1 --set group.autoscalingEndpoint=http://127.0.0.1:43165 --set group.ec2Endpoint=http://127.0.0.1:43165 --group-id etcd-asg --endpoints http://127.0.150.10:2379,http://127.0.150.12:2379',
  );
  assert.doesNotMatch(asg[4] as string, /token/, 'no Spot token for an AWS group');
});

test('shell words are quoted only when needed', () => {
  assert.equal(shellWord('http://127.0.0.1:1/x'), 'http://127.0.0.1:1/x');
  assert.equal(shellWord("it's"), `'it'\\''s'`);
  assert.equal(shellWord('a b'), "'a b'");
});

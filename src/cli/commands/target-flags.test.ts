import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetSets } from './target-flags.ts';

test('--group-id is the Elastigroup id, or the Auto Scaling group name with --set group.provider=asg', () => {
  assert.deepEqual(targetSets({ set: [], groupId: 'sig-1', apiUrl: 'http://e' }), [
    'group.groupId=sig-1',
    'group.apiUrl=http://e',
  ]);
  assert.deepEqual(targetSets({ set: ['group.provider=asg'], groupId: 'etcd' }), [
    'group.provider=asg',
    'group.groupName=etcd',
  ]);
});

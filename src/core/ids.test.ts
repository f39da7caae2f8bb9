import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memberIdFromDecimal, memberIdToDecimal, parseMemberId } from './ids.ts';

test('member ids round-trip between etcd3 decimal strings and etcdctl hex without precision loss', () => {
  const dec = '16128002158465310846';
  const hex = memberIdFromDecimal(dec);
  assert.equal(hex, 'dfd22c83680ee07e');
  assert.equal(memberIdToDecimal(hex), dec);
  assert.equal(memberIdFromDecimal('1'), '0000000000000001');
});

test('parseMemberId accepts etcdctl hex and rejects garbage', () => {
  assert.equal(parseMemberId('8E9E05C52164694D'), '8e9e05c52164694d');
  assert.equal(parseMemberId('1a'), '000000000000001a');
  assert.throws(() => parseMemberId('xyz'), /not a member id/);
  assert.throws(() => parseMemberId('12345678901234567'), /not a member id/);
});

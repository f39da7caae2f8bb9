import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudApiError,
  ConfigError,
  ExitError,
  describeError,
  errorChain,
  networkReason,
} from '../core/errors.ts';
import { cliRun, errorDocument, exitCodeOf, formatErrorText, reportError } from './output.ts';

test('an ExitError that repeats its ConfigError is printed once (C6), with no "caused by"', () => {
  const config = new ConfigError(['no Spot.io token found: set group.token']);
  const err = new ExitError(config.message, 2, { cause: config, code: 'CONFIG_INVALID' });
  assert.deepEqual(errorChain(err), ['invalid configuration:\n  - no Spot.io token found: set group.token']);
  assert.equal(describeError(err), 'invalid configuration:\n  - no Spot.io token found: set group.token');
  assert.equal(
    formatErrorText(err, true),
    'Error: invalid configuration:\n  - no Spot.io token found: set group.token\n',
  );
  assert.equal(exitCodeOf(err), 2);
});

test('without verbose only the message; with verbose one "caused by" line per cause that adds something', () => {
  const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const mid = new TypeError('fetch failed', { cause: inner });
  const api = new CloudApiError('cannot reach Spot.io at http://127.0.0.1:9 (ECONNREFUSED)', {
    retryable: true,
    cause: mid,
  });
  const err = new ExitError(`cannot list the instances: ${api.message}`, 3, { cause: api });
  assert.equal(
    formatErrorText(err, false),
    'Error: cannot list the instances: cannot reach Spot.io at http://127.0.0.1:9 (ECONNREFUSED)\n',
  );
  assert.equal(
    formatErrorText(err, true),
    [
      'Error: cannot list the instances: cannot reach Spot.io at http://127.0.0.1:9 (ECONNREFUSED)',
      '  caused by: fetch failed',
      '  caused by: connect ECONNREFUSED 127.0.0.1:9',
      '',
    ].join('\n'),
  );
  assert.equal(networkReason(err), 'connection refused');
});

test('the JSON error document: schemaVersion, code, message, exit code; issues of a configuration error', () => {
  const etcd = new ExitError('no etcd member answered at http://a:2379 (timed out)', 4, {
    code: 'ETCD_UNREACHABLE',
  });
  assert.deepEqual(errorDocument(etcd, 4, false), {
    schemaVersion: 1,
    error: {
      code: 'ETCD_UNREACHABLE',
      message: 'no etcd member answered at http://a:2379 (timed out)',
      exitCode: 4,
    },
  });
  const config = new ConfigError(['a: bad', 'b: worse']);
  const doc = errorDocument(config, exitCodeOf(config), false);
  assert.equal(doc.error.code, 'CONFIG_INVALID');
  assert.equal(doc.error.exitCode, 2);
  assert.deepEqual(doc.error.issues, ['a: bad', 'b: worse']);
  const loaded = errorDocument(new ExitError(config.message, 2), 2, false);
  assert.equal(loaded.error.code, 'CONFIG_INVALID');
  assert.deepEqual(loaded.error.issues, ['a: bad', 'b: worse']);
  const plain = errorDocument(new ExitError('boom', 3), 3, false);
  assert.equal(plain.error.code, 'CLOUD_UNAVAILABLE');
});

test('a huge message is clipped, not printed whole (C22)', () => {
  const text = formatErrorText(new Error(`unexpected scalar ${'x'.repeat(1_000_000)}`), false);
  assert.ok(text.length < 2100, `${text.length} characters`);
  assert.match(text, /… \(\d+ more characters\)\n$/);
});

test('reportError: JSON on stdout only when asked and not already written; nothing for an empty ExitError', () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
  const saved = { ...cliRun };
  try {
    Object.assign(cliRun, { json: false, verbose: false, jsonWritten: false });
    assert.equal(reportError(new ExitError('', 5), io), 5);
    assert.deepEqual([out, err], [[], []]);
    assert.equal(reportError(new Error('plain'), io), 1);
    assert.deepEqual([out, err], [[], ['Error: plain\n']]);
    cliRun.json = true;
    assert.equal(reportError(new ExitError('down', 4, { code: 'ETCD_UNREACHABLE' }), io), 4);
    assert.equal(JSON.parse(out[0]!).error.code, 'ETCD_UNREACHABLE');
    cliRun.jsonWritten = true;
    reportError(new ExitError('again', 3), io);
    assert.equal(out.length, 1);
  } finally {
    Object.assign(cliRun, saved);
  }
});

test('verbose output of an AggregateError names every inner failure (one etcd endpoint each)', () => {
  const a = new Error('member list via http://a:2379: 14 UNAVAILABLE: connect ECONNREFUSED');
  const b = new Error('member list via http://b:2379: deadline passed');
  const err = new ExitError('no etcd member answered at http://a:2379 (connection refused); …', 4, {
    cause: new AggregateError([a, b], 'member list failed at every endpoint'),
  });
  assert.equal(formatErrorText(err, false).split('\n').length, 2);
  assert.deepEqual(formatErrorText(err, true).trimEnd().split('\n').slice(1), [
    '  caused by: member list failed at every endpoint',
    `  caused by: ${a.message}`,
    `  caused by: ${b.message}`,
  ]);
});

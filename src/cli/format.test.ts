import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colourEnabled, outputFormat, painter, renderDocument, renderTable, siBytes } from './format.ts';

test('outputFormat: -o wins, --json is -o json, a bad value or a contradiction is a usage error', () => {
  assert.equal(outputFormat({}), 'table');
  assert.equal(outputFormat({ output: 'WIDE' }), 'wide');
  assert.equal(outputFormat({ json: true }), 'json');
  assert.equal(outputFormat({ json: true, output: 'json' }), 'json');
  assert.throws(
    () => outputFormat({ output: 'xml' }),
    /-o "xml": unknown output format; use one of table, wide, json, yaml/,
  );
  assert.throws(
    () => outputFormat({ output: 'yaml', json: true }),
    /--json and -o yaml contradict each other/,
  );
});

test('renderTable pads columns, trims line ends, drops the header with noHeaders', () => {
  const rows = [
    ['a', 'long value', ''],
    ['bbbb', 'x', 'z'],
  ];
  assert.equal(
    renderTable(['ID', 'V', 'Z'], rows),
    'ID    V           Z\na     long value\nbbbb  x           z\n',
  );
  assert.equal(renderTable(['ID', 'V', 'Z'], rows, true), 'a     long value\nbbbb  x           z\n');
});

test('renderDocument puts schemaVersion first in json and yaml', () => {
  assert.equal(renderDocument('json', { a: 1 }), '{\n  "schemaVersion": 1,\n  "a": 1\n}\n');
  assert.equal(renderDocument('yaml', { a: [1] }), 'schemaVersion: 1\na:\n  - 1\n');
});

test('colour only on a TTY and never with NO_COLOR', () => {
  assert.equal(colourEnabled({ isTTY: true }, {}), true);
  assert.equal(colourEnabled({ isTTY: false }, {}), false);
  assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(painter(false)('red', 'x'), 'x');
  assert.equal(painter(true)('red', 'x'), '\u001b[31mx\u001b[0m');
});

test('siBytes uses SI units like etcdctl', () => {
  assert.equal(siBytes(999), '999 B');
  assert.equal(siBytes(20_480), '20 kB');
  assert.equal(siBytes(2_500_000), '2.5 MB');
  assert.equal(siBytes(undefined), '');
});
